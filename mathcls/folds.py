"""Cross-validation folds: computed once (stratified, seeded, grouped by source row), saved, reused.

Every tuning trial, every base model's out-of-fold predictions and the stacking meta-learner use
the same folds, so out-of-fold rows line up across models. :class:`SharedFolds` turns the saved
fold ids into a scikit-learn splitter that also places generated/augmented rows in training parts.
"""

from __future__ import annotations

import json
import os
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from .atomic import write_json
from .errors import MathclsError, ParameterError

FOLDS_FILE = "folds.json"


def make_folds(y, n_splits: int = 5, seed: int = 42, groups=None) -> np.ndarray:
    """Assign each row a fold id in ``0..n_splits-1``.

    Stratified by ``y`` and shuffled with ``seed``. With ``groups``, rows of one group (a source
    question and its augmented copies) always share a fold.
    """
    y = np.asarray(y)
    if n_splits < 2:
        raise MathclsError(f"cv must be at least 2 folds; got {n_splits}.")
    counts = np.unique(y, return_counts=True)[1]
    if counts.min() < n_splits:
        raise MathclsError(
            f"The smallest class has {counts.min()} rows, fewer than the {n_splits} folds asked for; use fewer folds."
        )
    fold = np.full(len(y), -1, dtype=np.int64)
    if groups is None:
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(len(y)), y)
    else:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(len(y)), y, groups)
    for k, (_, valid) in enumerate(splits):
        fold[valid] = k
    return fold


def save_folds(fold: np.ndarray, path: str | os.PathLike, data_hash: str, seed: int) -> Path:
    p = Path(path)
    write_json(p, {"data_hash": data_hash, "seed": seed, "n_splits": int(fold.max()) + 1, "fold": fold.tolist()})
    return p


def load_or_make_folds(folder: str | os.PathLike, y, n_splits: int, seed: int, data_hash: str, groups=None) -> np.ndarray:
    """Reuse ``folder/folds.json`` when it matches the data, fold count and seed; else make and save."""
    p = Path(folder) / FOLDS_FILE
    if p.is_file():
        try:
            saved = json.loads(p.read_text())
            if (saved.get("data_hash") == data_hash and saved.get("seed") == seed
                    and saved.get("n_splits") == n_splits and len(saved.get("fold", [])) == len(y)):
                return np.asarray(saved["fold"], dtype=np.int64)
        except (json.JSONDecodeError, OSError):
            pass
    fold = make_folds(y, n_splits, seed, groups)
    save_folds(fold, p, data_hash, seed)
    return fold




class SharedFolds:
    """The saved folds as a scikit-learn splitter; extra rows train only, grouped with their source.

    Follows scikit-learn's cv contract (``split(X, y, groups)`` yields ``(train_idx, valid_idx)``,
    ``get_n_splits``), so it can be passed wherever scikit-learn takes ``cv``.

    Parameters
    ----------
    fold : array of int
        Fold id of each real row, ``0..n_splits-1`` (see :func:`make_folds`).
    extra_source : array of int, optional
        One entry per extra (generated or augmented) row: the index of the real row it was derived
        from, or -1 when it has none (procedurally generated).

    Indices ``0..n_real-1`` are the real rows and ``n_real + j`` is extra row ``j``, so ``X`` holds
    the real rows followed by the extra rows. Extra rows join training parts only, never
    validation. An extra row derived from real row ``i`` stays out of the training part of the fold
    that validates row ``i``, so a copy of a validation question never trains its fold's model;
    an extra row without a source joins every training part.

    Examples
    --------
    >>> folds = SharedFolds([0, 1, 0, 1], extra_source=[2, -1])
    >>> [(tr.tolist(), va.tolist()) for tr, va in folds.split()]
    [([1, 3, 5], [0, 2]), ([0, 2, 4, 5], [1, 3])]
    """

    def __init__(self, fold, extra_source=None):
        self.fold = fold
        self.extra_source = extra_source

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        fold = np.asarray(self.fold)
        if fold.ndim != 1 or not len(fold) or fold.dtype.kind not in "iu":
            raise ParameterError("fold must be a 1-D array of integer fold ids, one per row.")
        n_splits = int(fold.max()) + 1
        if fold.min() < 0 or n_splits < 2 or len(np.unique(fold)) != n_splits:
            raise ParameterError(f"fold ids must be 0..k-1 with k >= 2 and every id used; got {np.unique(fold).tolist()}.")
        source = np.asarray([] if self.extra_source is None else self.extra_source, dtype=np.int64)
        if len(source) and (source.max() >= len(fold) or source.min() < -1):
            bad = int(source.max() if source.max() >= len(fold) else source.min())
            raise ParameterError(f"An extra row names source row {bad}, but there are only {len(fold)} rows "
                                 "(use -1 for a row without a source).")
        return fold.astype(np.int64), source

    @property
    def n_rows(self) -> int:
        """Rows that ``split`` indexes: the real rows plus the extra rows."""
        fold, source = self._arrays()
        return len(fold) + len(source)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return int(self._arrays()[0].max()) + 1

    def split(self, X=None, y=None, groups=None):
        """Yield ``(train_idx, valid_idx)`` per fold id in order; ``X``, when given, must have
        ``n_rows`` rows (``y`` and ``groups`` are not needed: the folds are fixed)."""
        fold, source = self._arrays()
        n_real = len(fold)
        if X is not None and len(X) != n_real + len(source):
            raise ParameterError(f"X has {len(X)} rows but the folds cover {n_real + len(source)} "
                                 f"({n_real} real + {len(source)} extra).")
        source_fold = np.where(source >= 0, fold[np.clip(source, 0, None)], -1) if len(source) else source
        for k in range(int(fold.max()) + 1):
            train_real = np.flatnonzero(fold != k)
            train_extra = n_real + np.flatnonzero(source_fold != k)
            yield np.concatenate([train_real, train_extra]), np.flatnonzero(fold == k)

    def __repr__(self) -> str:
        fold, source = self._arrays()
        return f"SharedFolds(n_splits={int(fold.max()) + 1}, n_real={len(fold)}, n_extra={len(source)})"


def fold_ids(cv, y, X=None, seed: int = 42) -> np.ndarray:
    """One fold id per row from ``cv``: an int gives stratified, seeded folds (:func:`make_folds`);
    a splitter (``split``/``get_n_splits``) must put every row in exactly one validation part."""
    if isinstance(cv, Integral):
        return make_folds(y, int(cv), seed)
    n = len(y)
    fold = np.full(n, -1, dtype=np.int64)
    for k, (_, valid) in enumerate(cv.split(np.zeros(n) if X is None else X, y)):
        twice = np.asarray(valid)[fold[valid] >= 0]
        if len(twice):
            raise ParameterError(f"cv puts row {int(twice[0])} in two validation parts; out-of-fold predictions "
                                 "need each row validated exactly once (a KFold-style splitter).")
        fold[valid] = k
    missing = np.flatnonzero(fold < 0)
    if len(missing):
        raise ParameterError(f"cv leaves row {int(missing[0])} out of every validation part; out-of-fold "
                             "predictions need each row validated exactly once (a KFold-style splitter).")
    return fold
