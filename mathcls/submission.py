"""Writing and validating submissions (``id,label``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .data import ID, LABEL, read_csv
from .errors import DataError
from .labels import LABELS


def validate_submission(sub: pd.DataFrame, test_ids=None, sample_ids=None, where: str = "Submission") -> None:
    """Check a submission: columns ``id,label``, unique ids, labels in 0..7, and (when given) exactly
    the ids of the test file and of the sample submission. Raises :class:`DataError`."""
    missing = [c for c in (ID, LABEL) if c not in sub.columns]
    if missing:
        raise DataError(f"{where} has no column {missing[0]!r}; a submission needs columns id,label.")
    ids = sub[ID].astype(str).str.strip()
    if ids.duplicated().any():
        raise DataError(f"{where} has duplicate id {ids[ids.duplicated()].iloc[0]!r}; each id must appear once.")
    allowed = {str(v) for v in LABELS}
    labels = sub[LABEL].astype(str).str.strip()
    bad = ~labels.isin(allowed)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{where}: row {i + 1} has label {labels.iloc[i]!r}; labels must be integers 0..7.")
    for ref, name in ((test_ids, "test.csv"), (sample_ids, "sample_submission.csv")):
        if ref is None:
            continue
        ref = pd.Series(ref).astype(str).str.strip()
        missing_ids = set(ref) - set(ids)
        extra_ids = set(ids) - set(ref)
        if missing_ids:
            raise DataError(
                f"{where} lacks {len(missing_ids)} id(s) of {name} (e.g. {sorted(missing_ids)[0]!r}); every id needs a label."
            )
        if extra_ids:
            raise DataError(f"{where} has {len(extra_ids)} id(s) not in {name} (e.g. {sorted(extra_ids)[0]!r}).")


def write_csv_atomic(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a CSV through a temporary file and a rename: never a half-written file."""
    from .atomic import atomic_path

    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return Path(path)


def make_submission(ids, labels) -> pd.DataFrame:
    return pd.DataFrame({ID: pd.Series(ids).astype(str).to_numpy(), LABEL: np.asarray(labels)})


def write_submission(sub: pd.DataFrame, path, test_ids=None, sample_ids=None) -> Path:
    """Validate, then write atomically."""
    validate_submission(sub, test_ids, sample_ids)
    return write_csv_atomic(sub, path)


def read_submission(path) -> pd.DataFrame:
    return read_csv(path, [ID, LABEL], "Submission")
