"""Estimator families and the registry ``name -> class`` used by the CLI and configs.

Each family lives in its own module and is imported only when asked for, so that
``import mathcls`` never imports torch.
"""

from __future__ import annotations

import importlib

from ..errors import MathclsError, did_you_mean

#: Registry of estimator families: CLI/config name -> "module:Class".
MODELS: dict[str, str] = {
    "tfidf": "mathcls.models.tfidf:TfidfLogReg",
    "stack": "mathcls.stacking._ensemble:StackingEnsemble",
    "meta-lgbm": "mathcls.stacking._meta_learner:MetaLGBMClassifier",
    "transformer": "mathcls.models.transformer:TransformerClassifier",
    "setfit": "mathcls.models.setfit:SetFitClassifier",
}


def model_names() -> list[str]:
    return list(MODELS)


def get_model_class(name: str):
    """Return the estimator class registered as ``name``."""
    if name not in MODELS:
        raise MathclsError(f"Unknown model {name!r}; choose one of: {', '.join(MODELS)}.")
    module, _, cls = MODELS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def model_name_of(estimator) -> str:
    """The registry name of an estimator instance (or class)."""
    cls = estimator if isinstance(estimator, type) else type(estimator)
    path = f"{cls.__module__}:{cls.__qualname__}"
    for name, target in MODELS.items():
        if target == path:
            return name
    raise MathclsError(f"{cls.__name__} is not a registered mathcls model; it cannot be saved as a model folder.")


def make_model(name: str, params: dict | None = None):
    """Build a registered estimator, rejecting unknown parameter names with the valid ones."""
    cls = get_model_class(name)
    est = cls()
    if params:
        valid = sorted(est.get_params(deep=False))
        unknown = [k for k in params if k not in valid]
        if unknown:
            raise MathclsError(
                f"Unknown parameter {unknown[0]!r} for model {name!r}{did_you_mean(unknown[0], valid)}; "
                f"valid parameters: {', '.join(valid)}."
            )
        est.set_params(**params)
    est._validate_params()  # fail on bad values before any data is read
    return est
