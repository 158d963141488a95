"""Reading and validating competition files.

A competition folder holds ``train.csv`` (``Question,label``), ``test.csv`` (``id,Question``) and
optionally ``sample_submission.csv`` (``id,label``), exactly as Kaggle ships them. Every problem is
reported as one :class:`~mathcls.errors.DataError` sentence naming the file, the row and the fix.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .labels import LABELS

TEXT = "Question"
LABEL = "label"
ID = "id"
SOURCE = "source"  # generated rows: the 0-based train.csv row an augmented row was made from; -1: none

TRAIN_FILE = "train.csv"
TEST_FILE = "test.csv"
SAMPLE_FILE = "sample_submission.csv"
DEMO_ANSWERS_FILE = "test_labels.csv"  # the hidden test labels of a demo competition (mathcls.generate)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def texts_sha256(texts, labels=None) -> str:
    """sha256 of a sequence of texts (and labels): the identity of an in-memory data set."""
    h = hashlib.sha256()
    for i, t in enumerate(texts):
        h.update(str(t).encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
        if labels is not None:
            h.update(str(labels[i]).encode())
        h.update(b"\x1e")
    return h.hexdigest()


def row_fingerprints(texts, unique: bool = True) -> np.ndarray:
    """8-byte hashes of whitespace-stripped texts (sorted and unique unless ``unique=False``):
    enough to tell whether rows were among a model's training rows, without storing the rows."""
    out = np.fromiter(
        (int.from_bytes(hashlib.blake2b(str(t).strip().encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
         for t in texts), dtype=np.uint64, count=len(texts))
    return np.unique(out) if unique else out


def read_csv(path: str | os.PathLike, columns: list[str], what: str) -> pd.DataFrame:
    """Read a CSV as strings and check that it has ``columns`` and at least one row.

    Missing cells become empty strings. Raises :class:`DataError` for a missing file, a file that
    is not UTF-8 or not CSV, a missing column and a header-only file.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{what} file {p} does not exist; check the path (expected columns: {','.join(columns)}).")
    if not p.is_file():
        raise DataError(f"{what} path {p} is not a file; pass the CSV file itself.")
    try:
        raw = p.read_bytes()
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{what} file {p} is not UTF-8 (first bad byte on line {line}, byte offset {exc.start}); "
            "re-save it as UTF-8."
        ) from None
    if not raw.strip():
        raise DataError(f"{what} file {p} is empty; it needs a header ({','.join(columns)}) and rows.")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, csv.Error) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise DataError(f"{what} file {p} is not valid CSV ({first}); fix the file and retry.") from None
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"{what} file {p} has no column {missing[0]!r} (found: {', '.join(map(str, df.columns))}); "
            f"expected columns {','.join(columns)}."
        )
    if len(df) == 0:
        raise DataError(f"{what} file {p} has a header but no rows; it needs at least one row.")
    return df


def parse_labels(values, where: str) -> np.ndarray:
    """Parse label strings to integers 0..7, naming the first bad row."""
    allowed = {str(v) for v in LABELS}
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        s = str(v).strip()
        if s not in allowed:
            raise DataError(
                f"{where}: row {i + 1} has label {v!r}, but labels must be integers {LABELS[0]}..{LABELS[-1]}; "
                "fix or remove that row."
            )
        out[i] = int(s)
    return out


def load_train(path: str | os.PathLike, labelled_what: str = "Training") -> pd.DataFrame:
    """Load a labelled file (``Question,label``): questions as strings, labels as int 0..7."""
    df = read_csv(path, [TEXT, LABEL], labelled_what)
    questions = df[TEXT].astype(str)
    empty = np.flatnonzero(questions.str.strip().eq("").to_numpy())
    if len(empty):
        raise DataError(
            f"{labelled_what} file {path}: row {empty[0] + 1} has an empty Question "
            f"({len(empty)} such row{'s' if len(empty) > 1 else ''}); remove or fill those rows."
        )
    labels = parse_labels(df[LABEL].to_numpy(), f"{labelled_what} file {path}")
    extra = [c for c in df.columns if c not in (TEXT, LABEL)]
    out = pd.DataFrame({TEXT: questions.to_numpy(), LABEL: labels})
    for c in extra:
        out[c] = df[c].to_numpy()
    return out


def load_test(path: str | os.PathLike) -> pd.DataFrame:
    """Load an unlabelled file (``id,Question``). Empty questions are kept: every id gets a label."""
    df = read_csv(path, [ID, TEXT], "Test")
    ids = df[ID].astype(str).str.strip()
    if ids.eq("").any():
        row = int(np.flatnonzero(ids.eq("").to_numpy())[0]) + 1
        raise DataError(f"Test file {path}: row {row} has an empty id; every row needs a unique id.")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise DataError(
            f"Test file {path} has duplicate id {dup.iloc[0]!r} ({len(dup)} duplicate rows); ids must be unique."
        )
    return pd.DataFrame({ID: ids.to_numpy(), TEXT: df[TEXT].astype(str).to_numpy()})


def load_sample_submission(path: str | os.PathLike) -> pd.DataFrame:
    df = read_csv(path, [ID, LABEL], "Sample submission")
    return pd.DataFrame({ID: df[ID].astype(str).str.strip().to_numpy(), LABEL: df[LABEL].to_numpy()})


@dataclass
class Competition:
    """The files of one competition folder, loaded and validated.

    Attributes
    ----------
    root : Path
    train : DataFrame with ``Question`` (str) and ``label`` (int 0..7)
    test : DataFrame with ``id`` (str) and ``Question`` (str), or None
    sample_submission : DataFrame with ``id`` and ``label``, or None
    train_sha256 : sha256 of ``train.csv``
    """

    root: Path
    train: pd.DataFrame
    test: pd.DataFrame | None = None
    sample_submission: pd.DataFrame | None = None
    train_sha256: str = ""
    files: dict = field(default_factory=dict)

    @property
    def data_hash(self) -> str:
        """Short identity of the training data, used in cache keys and manifests."""
        return self.train_sha256[:16]


def check_sample_ids(test_ids, sample_ids, test_path, sample_path) -> None:
    """The ids of ``sample_submission.csv`` must be exactly those of ``test.csv``: a submission is
    checked against both, so a mismatch found only after training would waste the run."""
    test_set = set(pd.Series(test_ids).astype(str))
    sample_set = set(pd.Series(sample_ids).astype(str))
    missing, extra = sorted(test_set - sample_set), sorted(sample_set - test_set)
    if missing or extra:
        first = f"e.g. {missing[0]!r} is in {test_path} only" if missing else f"e.g. {extra[0]!r} is in {sample_path} only"
        raise DataError(
            f"{test_path} and {sample_path} do not hold the same ids ({len(missing)} only in the test file, "
            f"{len(extra)} only in the sample submission; {first}); use the files of one competition download."
        )


def check_classes(labels, where, min_classes: int = 2) -> None:
    """A training set needs at least ``min_classes`` distinct labels for a classifier to learn anything."""
    present = np.unique(np.asarray(labels))
    if len(present) < min_classes:
        raise DataError(
            f"{where} has only {len(present)} class ({', '.join(map(str, present.tolist()))}); a classifier needs "
            f"at least {min_classes}, so add rows of the other topics."
        )


def load_competition(root: str | os.PathLike, need_test: bool = True, min_classes: int = 2) -> Competition:
    """Load and validate a competition folder.

    Checked before any training: every file's format (see :func:`read_csv`), at least
    ``min_classes`` classes in ``train.csv`` and, when ``need_test`` (the commands that write a
    submission) and ``sample_submission.csv`` is present, that its ids are those of ``test.csv``.
    """
    r = Path(root)
    if not r.exists():
        raise DataError(
            f"Data folder {r} does not exist; pass --data DIR with train.csv and test.csv "
            "(get them with `mathcls download`)."
        )
    if not r.is_dir():
        raise DataError(f"Data path {r} is not a folder; pass the folder that holds train.csv and test.csv.")
    train_path = r / TRAIN_FILE
    if not train_path.exists():
        raise DataError(f"Data folder {r} has no {TRAIN_FILE}; download it with `mathcls download --out {r}`.")
    train = load_train(train_path)
    check_classes(train[LABEL], f"Training file {train_path}", min_classes)
    test = None
    test_path = r / TEST_FILE
    if test_path.exists():
        test = load_test(test_path)
    elif need_test:
        raise DataError(f"Data folder {r} has no {TEST_FILE}; download it with `mathcls download --out {r}`.")
    sample = None
    sample_path = r / SAMPLE_FILE
    if sample_path.exists():
        sample = load_sample_submission(sample_path)
        if need_test and test is not None:
            check_sample_ids(test[ID], sample[ID], test_path, sample_path)
    files = {name: str(r / name) for name in (TRAIN_FILE, TEST_FILE, SAMPLE_FILE) if (r / name).exists()}
    return Competition(r, train, test, sample, file_sha256(train_path), files)
