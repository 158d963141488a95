"""Reading and validating competition files.

A competition folder holds ``train.csv``, ``test.csv`` and optionally ``sample_submission.csv``,
exactly as Kaggle ships them; :mod:`mathcls.schema` reads which columns hold what. Loaded frames use
the internal column names :data:`TEXT`, :data:`LABEL` and :data:`ID` whatever the files call them. Every problem is
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

# Internal column names of loaded frames (the Kasut layout's); the files' own names are in the schema.
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


def load_train(path: str | os.PathLike, labelled_what: str = "Training", schema=None) -> pd.DataFrame:
    """Load a labelled file: one ``Question`` text per row (``schema.text`` joined) and its label in the
    file's own form (``schema.label_kind``; by default the Kasut layout ``Question,label``).

    Extra columns are kept as they are (``source`` of generated rows)."""
    from .schema import KASUT, join_text

    schema = KASUT if schema is None else schema
    df = read_csv(path, [*schema.text, schema.target], labelled_what)
    where = f"{labelled_what} file {path}"
    out = _labelled_frame(df, schema.text, schema.target, where, kind=schema.label_kind if schema.classes else None,
                          join=join_text)
    if schema.classes:
        unknown = np.flatnonzero(~pd.Series(out[LABEL]).isin(list(schema.classes)).to_numpy())
        if len(unknown):
            i = int(unknown[0])
            shown = ", ".join(map(str, schema.classes[:10])) + (", ..." if len(schema.classes) > 10 else "")
            raise DataError(f"{where}: row {i + 1} has label {str(df[schema.target].iloc[i]).strip()!r}, which is not "
                            f"one of the classes ({shown}); fix or remove that row.")
    return out


def _labelled_frame(df, text_cols, target, where, kind, join) -> pd.DataFrame:
    from .schema import parse_labels

    questions = pd.Series(join(df, text_cols), dtype=object).astype(str)
    empty = np.flatnonzero(questions.str.strip().eq("").to_numpy())
    if len(empty):
        raise DataError(
            f"{where}: row {empty[0] + 1} has an empty {' + '.join(text_cols)} "
            f"({len(empty)} such row{'s' if len(empty) > 1 else ''}); remove or fill those rows."
        )
    labels = parse_labels(df[target].to_numpy(), where, kind)
    out = pd.DataFrame({TEXT: questions.to_numpy(), LABEL: labels})
    for c in df.columns:
        if c not in (*text_cols, target, TEXT, LABEL):
            out[c] = df[c].to_numpy()
    return out


def load_test(path: str | os.PathLike, schema=None) -> pd.DataFrame:
    """Load an unlabelled file (``schema.id`` and its text columns; default ``id,Question``) as
    ``id`` and ``Question``. Empty texts are kept: every id gets a label."""
    from .schema import KASUT, join_text

    schema = KASUT if schema is None else schema
    df = read_csv(path, [schema.id, *schema.text], "Test")
    return _test_frame(df, schema.id, schema.text, path, join_text)


def _test_frame(df, id_col, text_cols, path, join) -> pd.DataFrame:
    ids = df[id_col].astype(str).str.strip()
    if ids.eq("").any():
        row = int(np.flatnonzero(ids.eq("").to_numpy())[0]) + 1
        raise DataError(f"Test file {path}: row {row} has an empty {id_col}; every row needs a unique id.")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise DataError(
            f"Test file {path} has duplicate {id_col} {dup.iloc[0]!r} ({len(dup)} duplicate rows); ids must be unique."
        )
    return pd.DataFrame({ID: ids.to_numpy(), TEXT: np.asarray(join(df, text_cols), dtype=object)})


def load_sample_submission(path: str | os.PathLike, schema=None) -> pd.DataFrame:
    """A sample submission as ``id`` and ``label`` (its labels as strings)."""
    from .schema import KASUT

    schema = KASUT if schema is None else schema
    df = read_csv(path, [schema.id, schema.target], "Sample submission")
    return pd.DataFrame({ID: df[schema.id].astype(str).str.strip().to_numpy(),
                         LABEL: df[schema.target].astype(str).str.strip().to_numpy()})


@dataclass
class Competition:
    """The files of one competition folder, loaded and validated.

    Attributes
    ----------
    root : Path
    schema : :class:`mathcls.schema.Schema`, the columns and classes read from the files
    train : DataFrame with ``Question`` (str: the text columns joined) and ``label`` (the labels as they are)
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
    schema: object = None

    @property
    def data_hash(self) -> str:
        """Short identity of the training data, used in cache keys and manifests: the file's hash, and
        the columns read from it unless they are the Kasut layout's (whose hash stays what it was)."""
        s = self.schema
        if s is None or (s.text == ("Question",) and s.target == "label"):
            return self.train_sha256[:16]
        return hashlib.sha256(f"{self.train_sha256}|{s.target}|{'|'.join(s.text)}".encode()).hexdigest()[:16]


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
            f"at least {min_classes}, so add rows of the other classes."
        )


def load_competition(root: str | os.PathLike, need_test: bool = True, min_classes: int = 2,
                     choices=None) -> Competition:
    """Load and validate a competition folder, reading its schema from the files (see :mod:`mathcls.schema`).

    Checked before any training: every file's format (see :func:`read_csv`), the columns the schema
    names, at least ``min_classes`` classes in ``train.csv``, labels of the sample submission that
    ``train.csv`` has, and, when ``need_test`` (the commands that write a submission) and
    ``sample_submission.csv`` is present, that its ids are those of ``test.csv``. ``choices``
    (:class:`mathcls.schema.DataChoices`) overrides the guessed columns.
    """
    from .schema import DataChoices, Schema, check_text_columns, join_text, resolve_columns

    choices = choices or DataChoices()
    r = Path(root)
    if not r.exists():
        raise DataError(
            f"Data folder {r} does not exist; pass --data DIR with train.csv and test.csv "
            "(get them with `mathcls download`)."
        )
    if not r.is_dir():
        raise DataError(f"Data path {r} is not a folder; pass the folder that holds train.csv and test.csv.")
    train_path, test_path, sample_path = r / TRAIN_FILE, r / TEST_FILE, r / SAMPLE_FILE
    if not train_path.exists():
        raise DataError(f"Data folder {r} has no {TRAIN_FILE}; download it with `mathcls download --out {r}`.")
    if not test_path.exists() and need_test:
        raise DataError(f"Data folder {r} has no {TEST_FILE}; download it with `mathcls download --out {r}`.")
    train_raw = read_csv(train_path, [], "Training")
    test_raw = read_csv(test_path, [], "Test") if test_path.exists() else None
    sample_raw = read_csv(sample_path, [], "Sample submission") if sample_path.exists() else None
    ident, target, text, columns = resolve_columns(
        train_raw.columns, None if test_raw is None else test_raw.columns,
        None if sample_raw is None else sample_raw.columns, choices,
        {"train": train_path, "test": test_path if test_raw is not None else None,
         "sample": sample_path if sample_raw is not None else None})
    text = check_text_columns(train_raw, text, f"Training file {train_path}", guessed=not choices.text)
    train = _labelled_frame(train_raw, text, target, f"Training file {train_path}", None, join_text)
    check_classes(train[LABEL], f"Training file {train_path}", min_classes)
    classes = tuple(np.unique(train[LABEL].to_numpy()).tolist())
    schema = Schema(ident, target, text, classes, columns)
    test = None if test_raw is None else _test_frame(test_raw, ident, text, test_path, join_text)
    sample = None
    if sample_raw is not None:
        sample = pd.DataFrame({ID: sample_raw[ident].astype(str).str.strip().to_numpy(),
                               LABEL: sample_raw[target].astype(str).str.strip().to_numpy()})
        known = {str(c) for c in classes}
        unknown = sample[LABEL][~sample[LABEL].isin(known)]
        if len(unknown):
            raise DataError(f"{sample_path} has label {unknown.iloc[0]!r} (row {int(unknown.index[0]) + 1}), which "
                            f"{train_path} never has in {target!r}; use the files of one competition, or set "
                            "[data] target.")
        if need_test and test is not None:
            check_sample_ids(test[ID], sample[ID], test_path, sample_path)
    files = {name: str(r / name) for name in (TRAIN_FILE, TEST_FILE, SAMPLE_FILE) if (r / name).exists()}
    return Competition(r, train, test, sample, file_sha256(train_path), files, schema)
