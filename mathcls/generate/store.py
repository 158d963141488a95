"""The generated folder written by ``mathcls generate`` and read by ``--use-generation``:
``<folder>/<topic>.csv`` per class, ``<folder>/generated_train.csv`` with every row
(``Question,label,source``) and ``<folder>/generated.json`` (counts and how the rows were made).

Generated rows join the training folds only, grouped with their source rows
(:class:`mathcls.folds.SharedFolds`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import write_json
from ..data import LABEL, SOURCE, TEXT, load_train
from ..env import env
from ..errors import DataError
from ..labels import LABEL_NAMES
from ..text import normalize_text

GENERATED_FILE = "generated_train.csv"
MANIFEST_FILE = "generated.json"
DEFAULT_GENERATED_DIR = "data/generated"


def generated_dir(path: str | os.PathLike | None = None) -> Path:
    """``path``, else ``MATHCLS_GENERATED``, else ``data/generated``."""
    return Path(path or env("GENERATED") or DEFAULT_GENERATED_DIR).expanduser()


def topic_slug(label: int) -> str:
    """``1`` -> ``"geometry_and_trigonometry"``: the per-class file name without ``.csv``."""
    return LABEL_NAMES[int(label)].lower().replace(" ", "_")


def _key(text) -> str:
    return normalize_text(text).lower()


def dedupe(df: pd.DataFrame, against=()) -> pd.DataFrame:
    """Drop rows whose normalised, case-folded question repeats an earlier row or a text in
    ``against`` (e.g. the training and test questions)."""
    seen = {_key(t) for t in against}
    keep = []
    for text in df[TEXT]:
        k = _key(text)
        keep.append(bool(k) and k not in seen)
        seen.add(k)
    return df.loc[np.asarray(keep, dtype=bool)].reset_index(drop=True)


def write_generated(df: pd.DataFrame, out_dir, against=(), manifest: dict | None = None) -> dict[str, Path]:
    """Deduplicate ``df`` (against itself and ``against``) and write ``<out>/<topic>.csv`` per
    class, ``<out>/generated_train.csv`` with all rows and ``<out>/generated.json`` (counts plus
    ``manifest``). Every file is written atomically. Returns ``{name: path}``."""
    from ..submission import write_csv_atomic

    out = Path(out_dir)
    clean = dedupe(df[[TEXT, LABEL, SOURCE]], against)
    clean[LABEL] = clean[LABEL].astype("int64")
    clean[SOURCE] = clean[SOURCE].astype("int64")
    paths: dict[str, Path] = {}
    for label in sorted(LABEL_NAMES):
        part = clean[clean[LABEL] == label]
        paths[topic_slug(label)] = write_csv_atomic(part, out / f"{topic_slug(label)}.csv")
    paths["generated_train"] = write_csv_atomic(clean, out / GENERATED_FILE)
    counts = {int(k): int(v) for k, v in clean[LABEL].value_counts().sort_index().items()}
    record = {"n_rows": len(clean), "per_class": counts,
              "n_augmented": int((clean[SOURCE] >= 0).sum()), "n_dropped_duplicates": len(df) - len(clean)}
    record.update(manifest or {})
    write_json(out / MANIFEST_FILE, record)
    paths["manifest"] = out / MANIFEST_FILE
    return paths


def load_generated(path: str | os.PathLike | None = None, train_sha256: str | None = None,
                   n_train: int | None = None, schema=None, topics=None) -> pd.DataFrame:
    """Read ``<path>/generated_train.csv`` as ``Question`` (str), ``label`` (int 0..7) and
    ``source`` (int; ``-1`` for rows without a source row); with ``topics`` (``[generation]
    topics``) the labels become ``schema``'s classes (see :func:`mathcls.generate.relabel_topics`).

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
    if topics:
        out = relabel_topics(out, schema, topics)
    return out


def relabel_topics(df: pd.DataFrame, schema, topics: dict | None) -> pd.DataFrame:
    """Generated rows with topic ids turned into the data's classes by ``topics``; rows of topics
    no class maps to are dropped. Without ``topics`` the rows are returned unchanged."""
    if not topics:
        return df
    to_class = {int(t): next(c for c in schema.classes if str(c) == str(cls)) for cls, t in topics.items()}
    labels = pd.Series(df[LABEL]).map(lambda v: to_class.get(int(v)) if str(v).lstrip("-").isdigit() else None)
    keep = labels.notna().to_numpy()
    out = df.loc[keep].copy()
    out[LABEL] = np.asarray(labels[keep].tolist(), dtype=schema.classes_array.dtype)
    return out.reset_index(drop=True)


def _manifest(folder: Path) -> dict:
    p = folder / MANIFEST_FILE
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return {}
