"""Loading the rows written by ``mathcls generate`` (``<folder>/generated_train.csv``) for
``--use-generation``: they join the training folds only, grouped with their source rows."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .config import env
from .data import LABEL, TEXT, load_train
from .errors import DataError

SOURCE = "source"
GENERATED_FILE = "generated_train.csv"
MANIFEST_FILE = "generated.json"
DEFAULT_GENERATED_DIR = "data/generated"


def generated_dir(path: str | os.PathLike | None = None) -> Path:
    """``path``, else ``MATHCLS_GENERATED``, else ``data/generated``."""
    return Path(path or env("GENERATED") or DEFAULT_GENERATED_DIR).expanduser()


def load_generated(path: str | os.PathLike | None = None, train_sha256: str | None = None,
                   n_train: int | None = None) -> pd.DataFrame:
    """Read ``<path>/generated_train.csv`` as ``Question`` (str), ``label`` (int 0..7) and
    ``source`` (int; ``-1`` for rows without a source row).

    With ``train_sha256``, augmented rows (``source >= 0``) must come from that training file
    (recorded in ``generated.json``); with ``n_train``, their source rows must exist.
    """
    folder = generated_dir(path)
    file = folder / GENERATED_FILE
    if not file.is_file():
        raise DataError(
            f"No generated rows at {file}; run `mathcls generate -g --out {folder}` first (or pass --generated DIR)."
        )
    df = load_train(file, "Generated")
    if SOURCE in df.columns:
        raw = df[SOURCE].astype(str).str.strip()
        bad = ~raw.str.fullmatch(r"-?\d+")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise DataError(f"Generated file {file}: row {row} has source {raw.iloc[row - 1]!r}; sources must be integers (-1: none).")
        source = raw.astype(np.int64).to_numpy()
    else:
        source = np.full(len(df), -1, dtype=np.int64)
    out = pd.DataFrame({TEXT: df[TEXT].to_numpy(), LABEL: df[LABEL].to_numpy(), SOURCE: source})
    augmented = source >= 0
    if augmented.any():
        if n_train is not None and source.max() >= n_train:
            raise DataError(
                f"Generated file {file} names source row {int(source.max())}, but train.csv has {n_train} rows; "
                "re-run `mathcls generate -a` on this training file."
            )
        if train_sha256 is not None:
            recorded = _manifest(folder).get("train_sha256")
            if recorded and recorded != train_sha256:
                raise DataError(
                    f"The augmented rows in {folder} were made from a different train.csv; "
                    f"re-run `mathcls generate -a --data DIR --out {folder}`."
                )
    return out


def _manifest(folder: Path) -> dict:
    p = folder / MANIFEST_FILE
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return {}
