"""Out-of-fold predictions: the one loop in mathcls that fits a model per fold.

:func:`out_of_fold_proba` works like scikit-learn's ``cross_val_predict(method="predict_proba")``:
for each ``(train, valid)`` split of ``cv`` it fits a clone of the estimator on the training part and
predicts probabilities for the validation part, with columns aligned to the classes of all rows.
``mathcls train --cv``, every tuning trial, the stack's base models, its meta-learner and its bias
tuning all get their out-of-fold predictions here.

Callers adapt the loop with :class:`FoldHook` objects: ``load`` hands back a finished fold instead
of fitting it (the stack's on-disk cache), ``before_fit`` adjusts a fold's clone (Optuna pruning
callbacks, a deadline), ``after_fold`` acts on each finished fold (save it, report its score, prune).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import check_cv

__all__ = ["FoldHook", "FoldResult", "OOFResult", "align_proba", "out_of_fold_proba"]


def align_proba(proba, model_classes, classes) -> np.ndarray:
    """Reorder probability columns from ``model_classes`` to ``classes`` (classes the model never saw are 0)."""
    proba = np.asarray(proba)
    out = np.zeros((proba.shape[0], len(classes)), dtype=np.float64)
    index = {c: i for i, c in enumerate(np.asarray(classes).tolist())}
    for j, c in enumerate(np.asarray(model_classes).tolist()):
        if c not in index:
            raise ValueError(f"The model predicts class {c!r}, which is not among the classes {list(index)}.")
        out[:, index[c]] = proba[:, j]
    return out


@dataclass
class FoldResult:
    """One finished fold: validation rows, their aligned probabilities, and what produced them.

    ``model`` is the fitted clone (kept only with ``keep_models``); ``unlabeled_proba`` its
    probabilities on the unlabeled rows, when asked for; ``loaded`` tells a fold handed back by a
    hook from one fitted now (only those time their predictions in ``predict_seconds``).
    """

    fold: int
    valid_index: np.ndarray
    proba: np.ndarray
    classes: np.ndarray
    model: object = None
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    unlabeled_proba: np.ndarray | None = None
    unlabeled_seconds: float = 0.0
    loaded: bool = False

    def f1_micro(self, y) -> float:
        """F1-micro (accuracy) of the fold's predicted labels against ``y[valid_index]``."""
        from sklearn.metrics import f1_score

        pred = self.classes[self.proba.argmax(1)]
        return float(f1_score(np.asarray(y)[self.valid_index], pred, average="micro"))

    def score(self, y, metric: str = "f1_micro") -> float:
        """The fold's ``metric`` (:mod:`mathcls.metrics`) against ``y[valid_index]``."""
        from .metrics import get_metric

        if get_metric(metric).name == "f1_micro":
            return self.f1_micro(y)
        y_idx = np.searchsorted(np.asarray(self.classes), np.asarray(y)[self.valid_index])
        return get_metric(metric).score(y_idx, self.proba)


@dataclass
class OOFResult:
    """All folds. ``proba`` has one row per row of ``X``; rows no fold validated (extra rows) are NaN."""

    proba: np.ndarray
    classes: np.ndarray
    folds: list[FoldResult] = field(default_factory=list)

    @property
    def models(self) -> list:
        return [f.model for f in self.folds]

    @property
    def unlabeled_proba(self) -> np.ndarray | None:
        """Each fold model's probabilities on the unlabeled rows: (folds, rows, classes), or None."""
        parts = [f.unlabeled_proba for f in self.folds]
        return None if not parts or any(p is None for p in parts) else np.stack(parts)


class FoldHook:
    """Adapts :func:`out_of_fold_proba` per fold; subclass and override what you need."""

    def load(self, fold: int, train_index: np.ndarray, valid_index: np.ndarray) -> FoldResult | None:
        """A finished fold to use instead of fitting one, or None to fit it."""
        return None

    def before_fit(self, fold: int, estimator):
        """Called with the fold's fresh clone before it is fitted; return the estimator to fit."""
        return estimator

    def after_fold(self, result: FoldResult) -> None:
        """Called after each fold, fitted or loaded (``result.model`` is set only with ``keep_models``)."""


def _take(X, index):
    if isinstance(X, np.ndarray):
        return list(X[index]) if X.ndim == 1 else X[index]
    return [X[i] for i in index]


def _join(a, b):
    if isinstance(a, list):
        return a + list(b)
    return np.concatenate([a, np.asarray(b)])


def out_of_fold_proba(estimator, X, y, cv, *, groups=None, classes=None, hooks=(), keep_models=False,
                      unlabeled_X=None, fold_train_extra=None) -> OOFResult:
    """Out-of-fold probabilities of ``estimator`` on ``X``: one fitted clone per split of ``cv``.

    Parameters
    ----------
    estimator : classifier with ``fit`` and ``predict_proba``
        Cloned for every fold; never fitted itself.
    X : sequence of texts or 2-D array
        All rows the splits index (for :class:`~mathcls.folds.SharedFolds`: the real rows, then
        the extra rows).
    y : array
        Labels of the rows of ``X``.
    cv : int or splitter
        As scikit-learn's ``cv`` (an int means stratified k folds, unshuffled); each row should be
        validated at most once.
    groups : array, optional
        Passed to ``cv.split`` (group splitters need it).
    classes : array, optional
        Column order of the probabilities; default: the sorted labels of ``y``.
    hooks : sequence of FoldHook
        Called in order at each step of each fold.
    keep_models : bool
        Keep each fold's fitted clone in ``result.folds[k].model``; otherwise it is dropped as soon
        as the fold is predicted, so a large model (GPU memory) never outlives its fold.
    unlabeled_X : texts or array, optional
        Rows without labels that every fold model also predicts (``result.unlabeled_proba``).
    fold_train_extra : list of (X_k, y_k), optional
        Rows added to fold ``k``'s training part only (e.g. pseudo-labelled rows).

    Returns
    -------
    OOFResult
    """
    y = np.asarray(y)
    classes = np.unique(y) if classes is None else np.asarray(classes)
    splitter = check_cv(cv, y, classifier=True)
    proba = np.full((len(y), len(classes)), np.nan)
    result = OOFResult(proba, classes)
    for k, (train, valid) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
        fold = next((r for r in (h.load(k, train, valid) for h in hooks) if r is not None), None)
        if fold is None:
            fold = _fit_fold(estimator, X, y, k, train, valid, classes, hooks, fold_train_extra)
        if unlabeled_X is not None and fold.unlabeled_proba is None:
            if fold.model is None:
                raise ValueError(f"Fold {k} was loaded without its model, so it cannot predict the unlabeled rows.")
            t0 = time.perf_counter()
            fold.unlabeled_proba = align_proba(fold.model.predict_proba(unlabeled_X), fold.model.classes_, classes)
            fold.unlabeled_seconds = time.perf_counter() - t0
        if not keep_models:
            fold.model = None
        proba[fold.valid_index] = fold.proba
        result.folds.append(fold)
        for hook in hooks:
            hook.after_fold(fold)
    return result


def _fit_fold(estimator, X, y, k, train, valid, classes, hooks, fold_train_extra) -> FoldResult:
    model = clone(estimator)
    for hook in hooks:
        model = hook.before_fit(k, model)
    train_X, train_y = _take(X, train), y[train]
    if fold_train_extra is not None:
        extra_X, extra_y = fold_train_extra[k]
        train_X = _join(train_X, extra_X)
        train_y = np.concatenate([train_y, np.asarray(extra_y).astype(train_y.dtype)])
    try:
        t0 = time.perf_counter()
        model.fit(train_X, train_y)
        t1 = time.perf_counter()
        fold_proba = model.predict_proba(_take(X, valid))
        t2 = time.perf_counter()
    except BaseException:
        del model  # the traceback keeps this frame alive; it must not keep the model's (GPU) memory too
        raise
    return FoldResult(k, valid, align_proba(fold_proba, model.classes_, classes), classes, model,
                      fit_seconds=t1 - t0, predict_seconds=t2 - t1)
