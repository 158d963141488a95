"""The stack's fold runner: each base model's out-of-fold probabilities, with a resumable on-disk cache.

Layout of a cache entry, ``<cache_dir>/base/<name>-<family>-<key>/``, where the key covers the
model's family and parameters, the training rows and labels, the folds and the test strategy::

    fold-<k>/oof.npz     validation rows, their probabilities, fit seconds  (written after each fold)
    fold-<k>/model/      the fold's model folder  (fold-average only)
    full/                the model refitted on all rows  (refit only)
    done.json            the entry is complete: model folders and scores  (written last)

Every file is written atomically, so an interrupted run resumes at the next unfinished fold and a
crash never leaves a marker that cannot be read.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.metrics import f1_score

from ..atomic import atomic_path, write_json
from ..data import texts_sha256
from ..logs import quiet
from ..oof import FoldHook, FoldResult, align_proba, out_of_fold_proba

_CACHE_VERSION = 1
_DONE = "done.json"


def cache_folder(cache_dir, name: str, est, data_key: str, fold: np.ndarray, strategy: str) -> Path | None:
    """The cache entry of base model ``name``, or None without a cache or for an unregistered model."""
    if not cache_dir:
        return None
    from ..models import model_name_of
    from ..persist import encode_param

    try:
        family = model_name_of(est)
        params = {k: encode_param(v) for k, v in est._manifest_params().items()}
    except Exception:  # not a registered mathcls family, or parameters a manifest cannot hold: no cache
        return None
    key = json.dumps({"v": _CACHE_VERSION, "family": family, "params": params, "data": data_key,
                      "fold": hashlib.sha256(fold.tobytes()).hexdigest(), "strategy": strategy}, sort_keys=True)
    return Path(cache_dir) / "base" / f"{name}-{family}-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


class FoldCache(FoldHook):
    """Fold hook that loads finished folds from a cache entry and stores each new one at once."""

    def __init__(self, folder: Path, classes, keep_models: bool):
        self.folder, self.classes, self.keep_models = folder, classes, keep_models

    def done(self) -> dict | None:
        """The entry's ``done.json``, or None when the entry is unfinished."""
        try:
            return json.loads((self.folder / _DONE).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None  # written atomically, so a damaged marker predates that; redo the entry

    def load(self, fold, train_index, valid_index):
        part = self.folder / f"fold-{fold}"
        if not (part / "oof.npz").is_file():
            return None
        from ..persist import load_model

        saved = np.load(part / "oof.npz")
        model = load_model(part / "model") if self.keep_models else None
        return FoldResult(fold, saved["index"], saved["proba"], self.classes, model,
                          fit_seconds=float(saved["fit_seconds"]), loaded=True)

    def after_fold(self, result):
        if result.loaded:
            return
        from ..persist import save_model

        part = self.folder / f"fold-{result.fold}"
        if self.keep_models:
            save_model(result.model, part / "model")
        part.mkdir(parents=True, exist_ok=True)
        with atomic_path(part / "oof.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, index=result.valid_index, proba=result.proba, fit_seconds=result.fit_seconds)

    def finish(self, stats: dict, model_names: list[str]) -> None:
        write_json(self.folder / _DONE, {"models": model_names, "stats": stats})


class _Progress(FoldHook):
    def __init__(self, name, n_folds):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=n_folds, desc=f"{name} folds", unit="fold", leave=False, disable=quiet())

    def after_fold(self, result):
        self.bar.update()


@dataclass
class BaseModelFit:
    """One base model in the stack: its models for prediction, OOF probabilities, scores, and the
    fold models' probabilities on the unlabeled rows ((folds, rows, classes), or None)."""

    models: list
    oof: np.ndarray
    stats: dict
    unlabeled_proba: np.ndarray | None
    unlabeled_seconds: float


def fit_base_model(name, est, X, y_all, y_real, splitter, classes, *, strategy, cache=None, unlabeled=None,
                   pseudo_rows=None, verbose=False) -> BaseModelFit:
    """Out-of-fold probabilities of one base model on the real rows, fold models or a refitted model.

    ``X``/``y_all`` are the real rows then the extra rows that ``splitter`` indexes; ``pseudo_rows``
    (per fold: texts and labels) join each fold's training part; ``unlabeled`` rows are predicted by
    every fold model (fold-average) or by the refitted model (refit).
    """
    keep_models = strategy == "fold-average"
    hooks = [] if cache is None else [FoldCache(cache, classes, keep_models)]
    done = hooks[0].done() if hooks else None
    if verbose and done is None:
        hooks.append(_Progress(name, splitter.get_n_splits()))
    result = out_of_fold_proba(est, X, y_all, splitter, classes=classes, hooks=hooks, keep_models=keep_models,
                               unlabeled_X=unlabeled if keep_models else None, fold_train_extra=pseudo_rows)
    if verbose and done is None:
        hooks[-1].bar.close()
    oof = result.proba[:len(y_real)]
    models, unlabeled_proba = result.models, result.unlabeled_proba
    unlabeled_seconds = sum(f.unlabeled_seconds for f in result.folds)
    fit_seconds = sum(f.fit_seconds for f in result.folds)
    if not keep_models:
        models, fit_seconds = _refit(est, X, y_all, cache, done, fit_seconds)
        if unlabeled is not None:
            t0 = time.perf_counter()
            unlabeled_proba = align_proba(models[0].predict_proba(unlabeled), models[0].classes_, classes)[None]
            unlabeled_seconds = time.perf_counter() - t0
    if done is not None:
        stats = dict(done["stats"])
    else:
        fresh = [f for f in result.folds if not f.loaded]
        pred_rows, pred_seconds = sum(len(f.valid_index) for f in fresh), sum(f.predict_seconds for f in fresh)
        pred = classes[oof.argmax(1)]
        stats = {
            "f1_micro": float(f1_score(y_real, pred, average="micro")),
            "f1_macro": float(f1_score(y_real, pred, average="macro")),
            "fit_seconds": round(fit_seconds, 2),
            "predict_rows_per_s": round(pred_rows / pred_seconds, 1) if pred_seconds > 0 else None,
        }
        if cache is not None:
            n_folds = len(result.folds)
            hooks[0].finish(stats, [f"fold-{k}/model" for k in range(n_folds)] if keep_models else ["full"])
    from ..metrics import all_scores

    # Every metric of the registry, from the probabilities (a cached fold's record may predate some).
    stats.update({k: v for k, v in all_scores(y_real, oof, classes).items() if k not in stats})
    return BaseModelFit(models, oof, stats, unlabeled_proba, unlabeled_seconds)


def _refit(est, X, y_all, cache, done, fit_seconds):
    """The refit strategy's one model on all rows: from the cache when the entry is done."""
    from ..persist import load_model, save_model

    if done is not None:
        return [load_model(cache / "full")], fit_seconds
    model = clone(est)
    t0 = time.perf_counter()
    model.fit(list(X), y_all)
    fit_seconds += time.perf_counter() - t0
    if cache is not None:
        save_model(model, cache / "full")
    return [model], fit_seconds


def pseudo_data_key(data_key: str, pseudo_rows) -> str:
    """Extend a cache data key by the pseudo-labelled rows: the texts and every fold's labels."""
    digest = hashlib.sha256(data_key.encode())
    for texts, labels in pseudo_rows:
        digest.update(texts_sha256(texts, labels.tolist()).encode())
    return data_key + "-pseudo-" + digest.hexdigest()
