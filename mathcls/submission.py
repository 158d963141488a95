"""Writing and validating submissions: the sample submission's columns, in its order, with the
labels in the training file's own form (see :mod:`mathcls.schema`; default the Kasut ``id,label``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .data import read_csv
from .errors import DataError


def _schema(schema):
    from .schema import KASUT

    return KASUT if schema is None else schema


def validate_submission(sub: pd.DataFrame, test_ids=None, sample_ids=None, where: str = "Submission",
                        schema=None) -> None:
    """Check a submission: the schema's columns, unique ids, labels among the schema's classes, and
    (when given) exactly the ids of the test file and of the sample submission. Raises :class:`DataError`."""
    schema = _schema(schema)
    id_col, target = schema.id, schema.target
    missing = [c for c in schema.submission_columns if c not in sub.columns]
    if missing:
        raise DataError(f"{where} has no column {missing[0]!r}; a submission needs columns "
                        f"{','.join(schema.submission_columns)}.")
    ids = sub[id_col].astype(str).str.strip()
    if ids.duplicated().any():
        raise DataError(f"{where} has duplicate id {ids[ids.duplicated()].iloc[0]!r}; each id must appear once.")
    allowed = {str(v) for v in schema.classes}
    labels = sub[target].astype(str).str.strip()
    bad = ~labels.isin(allowed)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        shown = ", ".join(sorted(allowed)[:10]) + (", ..." if len(allowed) > 10 else "")
        raise DataError(f"{where}: row {i + 1} has label {labels.iloc[i]!r}; labels must be one of the training "
                        f"classes ({shown}).")
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


def make_submission(ids, labels, schema=None) -> pd.DataFrame:
    """A submission frame: the schema's columns in the sample's order, labels as the model predicts them."""
    schema = _schema(schema)
    columns = {schema.id: pd.Series(ids).astype(str).to_numpy(), schema.target: np.asarray(labels)}
    return pd.DataFrame({c: columns[c] for c in schema.submission_columns})


def write_submission(sub: pd.DataFrame, path, test_ids=None, sample_ids=None, schema=None) -> Path:
    """Validate, then write atomically."""
    validate_submission(sub, test_ids, sample_ids, schema=schema)
    return write_csv_atomic(sub, path)


def read_submission(path, schema=None) -> pd.DataFrame:
    schema = _schema(schema)
    return read_csv(path, list(schema.submission_columns), "Submission")
