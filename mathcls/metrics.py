"""The metrics a run can be judged by (``[run] metric``): one registry for tuning, the meta-learner's
choice, bias tuning and the leaderboard.

Every metric scores class-index labels ``y_idx`` (``0..n_classes-1``) against a probability table whose
columns are those classes; label metrics score its argmax. :attr:`Metric.gain` turns any score
into "higher is better", so a caller never branches on the direction.

Examples
--------
>>> import numpy as np
>>> proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]])
>>> round(get_metric("accuracy").score(np.array([0, 1, 1]), proba), 4)
0.6667
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError, did_you_mean


def _accuracy(y_idx, proba) -> float:
    return float(np.mean(np.argmax(proba, axis=1) == y_idx))


def f1_macro_labels(y_idx, pred, n_classes: int) -> float:
    """Macro F1 over the classes present in ``y_idx`` or ``pred`` (scikit-learn's default), from counts."""
    tp = np.bincount(y_idx[pred == y_idx], minlength=n_classes)
    true = np.bincount(y_idx, minlength=n_classes)
    predicted = np.bincount(pred, minlength=n_classes)
    present = (true + predicted) > 0
    f1 = np.divide(2 * tp, true + predicted, out=np.zeros(n_classes), where=present)
    return float(f1[present].mean()) if present.any() else 0.0


def _f1_macro(y_idx, proba) -> float:
    return f1_macro_labels(np.asarray(y_idx), np.argmax(proba, axis=1), proba.shape[1])


def _log_loss(y_idx, proba) -> float:
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-15, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(y_idx)), y_idx])))


@dataclass(frozen=True)
class Metric:
    """One metric: its name, how it is shown, its direction and whether bias tuning serves it.

    ``bias_tuning``: per-class offsets on log-probabilities change only the argmax, so they can help
    a label metric and never a probability metric (log-loss).
    """

    name: str
    title: str
    fn: Callable
    greater_is_better: bool = True
    bias_tuning: bool = True

    def score(self, y_idx, proba) -> float:
        return self.fn(np.asarray(y_idx), np.asarray(proba))

    def gain(self, y_idx, proba) -> float:
        """The score with "higher is better" (log-loss negated)."""
        value = self.score(y_idx, proba)
        return value if self.greater_is_better else -value

    @property
    def direction(self) -> str:
        return "maximize" if self.greater_is_better else "minimize"


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("f1_micro", "F1-micro", _accuracy),  # one label per row: F1-micro is accuracy
    Metric("f1_macro", "F1-macro", _f1_macro),
    Metric("accuracy", "accuracy", _accuracy),
    Metric("log_loss", "log-loss", _log_loss, greater_is_better=False, bias_tuning=False),
)}

#: The metric of the Kasut competition, and of every estimator that is given none.
DEFAULT = "f1_micro"


def get_metric(name) -> Metric:
    """The registered metric ``name`` (a :class:`Metric` passes through)."""
    if isinstance(name, Metric):
        return name
    if name not in METRICS:
        raise ConfigError(f"Unknown metric {name!r}{did_you_mean(name, METRICS)}; choose one of "
                          f"{', '.join(METRICS)}.")
    return METRICS[name]


def default_metric(schema) -> str:
    """F1-micro for the Kasut data (the competition's metric), accuracy for any other schema."""
    return DEFAULT if schema is not None and schema.kasut else "accuracy"


def all_scores(y, proba, classes) -> dict:
    """Every registered metric of ``proba`` (columns = ``classes``) against the labels ``y``, and
    ``per_class_f1``: each class's F1 (keyed by the class as text)."""
    y_idx = np.searchsorted(np.asarray(classes), np.asarray(y)) if len(classes) else np.asarray(y)
    scores = {name: round(m.score(y_idx, proba), 6) for name, m in METRICS.items()}
    pred = np.argmax(proba, axis=1)
    tp = np.bincount(y_idx[pred == y_idx], minlength=len(classes))
    both = np.bincount(y_idx, minlength=len(classes)) + np.bincount(pred, minlength=len(classes))
    f1 = np.divide(2 * tp, both, out=np.zeros(len(classes)), where=both > 0)
    scores["per_class_f1"] = {str(c): round(float(v), 4) for c, v in zip(np.asarray(classes).tolist(), f1)}
    return scores
