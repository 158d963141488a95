"""Saving and loading a fitted stack inside its model folder (see :mod:`mathcls.persist`).

Layout, version 2::

    stack.json              {"version": 2, "models": {name: [sub-folders]}, "meta": "meta",
                             "feature_names": [...], "scores": {...}, "n_classes": n}
    base/<name>/fold-<k>/   each base model's fold models (``full/`` with test_strategy="refit")
    meta/                   the fitted meta-learner's model folder
    neighbours/             with neighbour_features: the char TF-IDF and the training rows' vectors and labels

Version 1 (``stack.json`` without "version") kept the default meta-learner's booster in
``meta_lightgbm.txt`` and its kind, bias and parameters in ``stack.json``; it still loads.
"""

from __future__ import annotations

import json
from numbers import Integral
from pathlib import Path

import numpy as np

from ..errors import ModelFolderError
from ..features import FEATURE_NAMES
from ._neighbours import NeighbourFeatures

STACK_FILE = "stack.json"
VERSION = 2
_V1_BOOSTER = "meta_lightgbm.txt"


def manifest_params(stack) -> dict:
    """The stack's parameters for its manifest: base models and meta-learner as [family, params]."""
    from ..models import model_name_of

    params = stack.get_params(deep=False)
    params["estimators"] = [[name, model_name_of(est), est._manifest_params()] for name, est in stack._base_list()]
    final = stack.final_estimator
    if final is not None:
        try:
            params["final_estimator"] = [model_name_of(final), final._manifest_params()]
        except Exception:
            raise ModelFolderError(f"final_estimator {type(final).__name__} is not a registered mathcls model, so "
                                   "the stack cannot be saved; use the default meta-learner or register it.") from None
    if not isinstance(params["cv"], Integral):
        params["cv"] = int(params["cv"].get_n_splits())  # a splitter is saved as its number of folds
    params["cache_dir"] = None
    return params


def params_from_manifest(params: dict) -> dict:
    from ..models import make_model

    params = dict(params)
    params["estimators"] = [(name, make_model(family, p)) for name, family, p in params.pop("estimators")]
    if params.get("final_estimator") is not None:
        family, p = params["final_estimator"]
        params["final_estimator"] = make_model(family, p)
    return params


def save_payload(stack, folder: Path) -> None:
    from ..persist import save_model

    names = {}
    for name, models in stack.estimators_.items():
        names[name] = []
        for k, model in enumerate(models):
            sub = f"base/{name}/{'fold-' + str(k) if stack.test_strategy == 'fold-average' else 'full'}"
            save_model(model, folder / sub)
            names[name].append(sub)
    save_model(stack.final_estimator_, folder / "meta")
    features = [f"{name}_p{c}" for name in stack.estimators_ for c in stack.classes_]
    features += list(FEATURE_NAMES) if stack.extra_features else []
    if stack.neighbours_ is not None:
        stack.neighbours_.save(folder / "neighbours")
        features += stack.neighbours_.feature_names()
    info = {"version": VERSION, "models": names, "meta": "meta", "feature_names": features,
            "scores": stack.scores_, "n_classes": len(stack.classes_),
            "neighbours": None if stack.neighbours_ is None else "neighbours"}
    (folder / STACK_FILE).write_text(json.dumps(info, indent=2))  # inside the folder save_model writes atomically


def load_payload(stack, folder: Path) -> None:
    from ..persist import load_model

    path = folder / STACK_FILE
    if not path.is_file():
        raise ModelFolderError(f"{folder} is missing {STACK_FILE}; the ensemble folder is incomplete.")
    info = json.loads(path.read_text())
    version = info.get("version", 1)
    if version not in (1, VERSION):
        raise ModelFolderError(f"{folder} holds a stack of folder version {version}, newer than this mathcls "
                               f"reads ({VERSION}); upgrade mathcls.")
    stack.estimators_ = {name: [load_model(folder / sub) for sub in subs] for name, subs in info["models"].items()}
    stack.scores_ = info["scores"]
    stack.neighbours_ = NeighbourFeatures.load(folder / info["neighbours"]) if info.get("neighbours") else None
    stack.final_estimator_ = load_model(folder / info["meta"]) if version == VERSION else _v1_meta(stack, folder, info)


def _v1_meta(stack, folder: Path, info: dict):
    """The default meta-learner of a version-1 folder, rebuilt from its booster file and stack.json."""
    from ._meta_learner import MetaLGBMClassifier

    meta = MetaLGBMClassifier(init=stack.meta_init, n_base_models=len(info["models"]), n_trials=stack.meta_n_trials,
                              bias_tuning=stack.bias_tuning, cv=stack.cv, random_state=stack.random_state)
    meta.classes_ = np.asarray(stack.classes_)
    meta._set_fitted(info.get("meta_kind", "learned"), info.get("bias"), info.get("meta_params", {}),
                     len(info["feature_names"]), folder / _V1_BOOSTER)
    return meta
