"""Bias tuning: per-class offsets on log-probabilities that maximise F1-micro.

A meta-learner trained for log-loss can still under-predict a class; shifting each class's
log-probability by a constant fixes that without touching the ranking within a class. The offsets
are kept only when they also help on rows they were not tuned on (:func:`cross_fit_bias`).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..models.base import softmax
from ..oof import out_of_fold_proba


def tune_bias(proba: np.ndarray, y_idx: np.ndarray, n_rounds: int = 3, grid=None) -> np.ndarray:
    """Per-class additive offsets on log-probabilities that maximise F1-micro (coordinate ascent)."""
    grid = np.linspace(-2.0, 2.0, 41) if grid is None else grid
    logp = np.log(np.clip(proba, 1e-12, 1.0))
    bias = np.zeros(proba.shape[1])
    best = (np.argmax(logp + bias, axis=1) == y_idx).mean()
    for _ in range(n_rounds):
        improved = False
        for k in range(proba.shape[1]):
            for value in grid:
                trial = bias.copy()
                trial[k] = value
                score = (np.argmax(logp + trial, axis=1) == y_idx).mean()
                if score > best + 1e-12:
                    best, bias, improved = score, trial, True
        if not improved:
            break
    return bias


def apply_bias(proba: np.ndarray, bias) -> np.ndarray:
    """``proba`` with the offsets added to its log-probabilities, renormalised (``None``: unchanged)."""
    if bias is None:
        return proba
    return softmax(np.log(np.clip(proba, 1e-12, 1.0)) + bias)


class ClassBias(ClassifierMixin, BaseEstimator):
    """:func:`tune_bias` as a classifier on a probability table: ``fit(proba, y_idx)`` learns the
    offsets, ``predict_proba(proba)`` applies them. Column ``j`` of the table is class ``j``, so
    ``classes_`` is ``0..n_columns-1`` even when a class is missing from ``y_idx``."""

    def fit(self, X, y):
        X = np.asarray(X)
        self.classes_ = np.arange(X.shape[1])
        self.bias_ = tune_bias(X, np.asarray(y))
        return self

    def predict_proba(self, X):
        return apply_bias(np.asarray(X), self.bias_)


def cross_fit_bias(proba: np.ndarray, y_idx: np.ndarray, cv):
    """Offsets for ``proba`` (out-of-fold probabilities, columns = class indices) if they pay off.

    The offsets are cross-fitted over ``cv`` (tuned on the other folds, applied to each held-out
    fold); when that beats the unbiased F1-micro, returns ``(offsets tuned on all rows, the
    cross-fitted probabilities)``, else ``(None, proba)``.
    """
    biased = out_of_fold_proba(ClassBias(), proba, y_idx, cv, classes=np.arange(proba.shape[1])).proba
    if (biased.argmax(1) == y_idx).mean() > (proba.argmax(1) == y_idx).mean():
        return tune_bias(proba, y_idx), biased
    return None, proba
