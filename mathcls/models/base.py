"""What every mathcls estimator shares: input checks, label encoding, ``predict`` from
``predict_proba``, scikit-learn tags for text input, and the save/load hooks used by
:mod:`mathcls.persist`.

A family subclasses ``TextClassifierMixin, ClassifierMixin, BaseEstimator``, declares its
``_parameter_constraints`` table (see :mod:`mathcls.models.validation`) and implements ``fit``,
``predict_proba``, ``_save_payload(folder)`` and ``_load_payload(folder, manifest)``. ``fit`` starts
with ``self._validate_params()``, which checks the table and then ``_check_param_relations()``, the
rules that tie two parameters together; both raise :class:`~mathcls.errors.ParameterError`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .validation import validate_params


def check_texts(X, name: str = "X") -> list[str]:
    """Turn a list, tuple, 1-D array or Series of texts into a list of ``str``.

    Raises ``ValueError`` for 2-D input, a bare string and an empty collection.
    """
    if isinstance(X, (str, bytes)):
        raise ValueError(f"{name} must be a sequence of texts, not a single string; wrap it in a list.")
    if hasattr(X, "ndim") and X.ndim != 1:
        shape = getattr(X, "shape", None)
        raise ValueError(f"{name} must be 1-D (one text per row); got an array of shape {shape}.")
    try:
        texts = ["" if x is None or (isinstance(x, float) and x != x) else str(x) for x in X]
    except TypeError:
        raise ValueError(f"{name} must be a sequence of texts; got {type(X).__name__}.") from None
    if not texts:
        raise ValueError(f"{name} is empty; pass at least one text.")
    return texts


class TextClassifierMixin:
    """Shared behaviour of text classifiers. Put it first in the bases."""

    _parameter_constraints: dict = {}

    def _validate_params(self):
        """Check the constraint table, then the cross-parameter rules; called first by ``fit``."""
        validate_params(self)
        self._check_param_relations()

    def _check_param_relations(self):
        """Rules that tie parameters together; a family overrides this when it has any."""

    def _check_fit_input(self, X, y):
        texts = check_texts(X)
        if y is None:
            raise ValueError(f"{type(self).__name__} needs labels y to fit.")
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D; got shape {y.shape}.")
        if len(y) != len(texts):
            raise ValueError(f"X has {len(texts)} texts but y has {len(y)} labels; they must match.")
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y; got {len(classes)} ({classes.tolist()})."
            )
        return texts, classes, y_idx

    def predict(self, X):
        """Predict the label of each text: ``classes_[argmax(predict_proba(X))]``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def _check_fitted(self):
        check_is_fitted(self, "classes_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.non_deterministic = False
        return tags

    # ---- persistence hooks (see mathcls.persist) ----
    def _manifest_params(self) -> dict:
        """Parameters stored in the manifest; the estimator is rebuilt as ``cls(**params)``.

        ``callbacks`` (live objects such as progress hooks or Optuna pruners) are not settings and
        are left out.
        """
        params = self.get_params(deep=False)
        params.pop("callbacks", None)
        return params

    def _save_payload(self, folder: Path) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _load_payload(self, folder: Path, manifest: dict) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
