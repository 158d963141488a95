"""Cross-validation folds: computed once (stratified, seeded, grouped by source row), saved, reused.

Every tuning trial, every base model's out-of-fold predictions and the stacking meta-learner use
the same folds, so out-of-fold rows line up across models.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from .config import write_json
from .errors import MathclsError

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


def iter_splits(fold: np.ndarray):
    """Yield ``(train_idx, valid_idx)`` for each fold id in order."""
    for k in range(int(fold.max()) + 1):
        yield np.flatnonzero(fold != k), np.flatnonzero(fold == k)


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


def splits_with_extra(fold: np.ndarray, extra_source=None):
    """Yield ``(train_idx, valid_idx)`` over real rows followed by extra (generated/augmented) rows.

    Indices ``0..n_real-1`` are the real rows (``fold`` gives their fold ids); index ``n_real + j``
    is extra row ``j``. Extra rows join training folds only, never validation. An extra row whose
    ``extra_source[j]`` is a real row index stays out of the training part of the fold that
    validates its source row, so a copy of a validation question never trains the model; a source
    of ``-1`` (procedurally generated, no source) joins every training fold.
    """
    fold = np.asarray(fold)
    n_real = len(fold)
    source = np.asarray([] if extra_source is None else extra_source, dtype=np.int64)
    if len(source) and source.max() >= n_real:
        raise MathclsError(f"An extra row names source row {int(source.max())}, but there are only {n_real} rows.")
    source_fold = np.where(source >= 0, fold[np.clip(source, 0, None)] if len(source) else source, -1)
    for k in range(int(fold.max()) + 1):
        train_real = np.flatnonzero(fold != k)
        train_extra = n_real + np.flatnonzero(source_fold != k)
        yield np.concatenate([train_real, train_extra]), np.flatnonzero(fold == k)
