"""Bias tuning: per-class offsets on log-probabilities that maximise a label metric (F1-micro by default).

A meta-learner trained for log-loss can still under-predict a class; shifting each class's
log-probability by a constant fixes that without touching the ranking within a class. The offsets
are kept only when they also help on rows they were not tuned on (:func:`cross_fit_bias`).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..metrics import DEFAULT, f1_macro_labels, get_metric
from ..models.base import softmax
from ..oof import out_of_fold_proba


def _label_score(metric: str, n_classes: int):
    """``score(pred, y_idx)`` of a label metric on predicted class indices (fast: no probabilities)."""
    if get_metric(metric).name == "f1_macro":
        return lambda pred, y_idx: f1_macro_labels(y_idx, pred, n_classes)
    return lambda pred, y_idx: (pred == y_idx).mean()


def tune_bias(proba: np.ndarray, y_idx: np.ndarray, n_rounds: int = 3, grid=None, metric: str = DEFAULT) -> np.ndarray:
    """Per-class additive offsets on log-probabilities that maximise the label ``metric`` (coordinate ascent)."""
    grid = np.linspace(-2.0, 2.0, 41) if grid is None else grid
    score_of = _label_score(metric, proba.shape[1])
    logp = np.log(np.clip(proba, 1e-12, 1.0))
    bias = np.zeros(proba.shape[1])
    best = score_of(np.argmax(logp + bias, axis=1), y_idx)
    for _ in range(n_rounds):
        improved = False
        for k in range(proba.shape[1]):
            for value in grid:
                trial = bias.copy()
                trial[k] = value
                score = score_of(np.argmax(logp + trial, axis=1), y_idx)
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

    def __init__(self, metric=DEFAULT):
        self.metric = metric

    def fit(self, X, y):
        X = np.asarray(X)
        self.classes_ = np.arange(X.shape[1])
        self.bias_ = tune_bias(X, np.asarray(y), metric=self.metric)
        return self

    def predict_proba(self, X):
        return apply_bias(np.asarray(X), self.bias_)


def cross_fit_bias(proba: np.ndarray, y_idx: np.ndarray, cv, metric: str = DEFAULT):
    """Offsets for ``proba`` (out-of-fold probabilities, columns = class indices) if they pay off.

    The offsets are cross-fitted over ``cv`` (tuned on the other folds, applied to each held-out
    fold); when that beats the unbiased ``metric`` (a label metric), returns ``(offsets tuned on all
    rows, the cross-fitted probabilities)``, else ``(None, proba)``.
    """
    score_of = _label_score(metric, proba.shape[1])
    biased = out_of_fold_proba(ClassBias(metric), proba, y_idx, cv, classes=np.arange(proba.shape[1])).proba
    if score_of(biased.argmax(1), y_idx) > score_of(proba.argmax(1), y_idx):
        return tune_bias(proba, y_idx, metric=metric), biased
    return None, proba
