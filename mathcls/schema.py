"""A competition's schema: which columns hold the id, the text and the target, and its classes.

Kaggle ships a text-classification competition as ``train.csv`` (text columns and the target),
``test.csv`` (the id and the text columns) and ``sample_submission.csv`` (the id, then the target).
:func:`resolve_schema` reads that layout from the files' headers: the id and the target are the
sample submission's columns, the text is every other column of the test file that the training
file also has. ``[data] id``, ``[data] target`` and ``[data] text`` (or ``--text-column``) choose
where the guess would be wrong. Labels stay in the training file's own form (integers when every
label is one, else strings) and are ordered as scikit-learn's ``LabelEncoder`` orders them.

The Kasut Academy competition (``Question`` -> ``label`` 0..7) is one such schema; only
:attr:`Schema.kasut` knows its eight topic names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from .errors import DataError

SCHEMA_FILE = "schema.json"

#: Where several text columns are joined into one text per row.
TEXT_JOIN = "\n"


@dataclass(frozen=True)
class DataChoices:
    """What the user chose (``[data]`` table, ``--text-column``); ``None``: guess from the files."""

    id: str | None = None
    target: str | None = None
    text: tuple[str, ...] | None = None

    @classmethod
    def from_config(cls, cfg: dict | None, text_columns=()) -> DataChoices:
        data = (cfg or {}).get("data", {})
        text = tuple(text_columns) or data.get("text")
        if isinstance(text, str):
            text = (text,)
        return cls(data.get("id"), data.get("target"), tuple(text) if text else None)


@dataclass(frozen=True)
class Schema:
    """The resolved schema of one competition (see the module docstring).

    Attributes
    ----------
    id : name of the id column (test file and submission)
    target : name of the target column (training file and submission)
    text : the text columns, joined with a newline into one text per row
    classes : the labels in the training file's own form, sorted (``LabelEncoder`` order)
    submission_columns : the submission's columns in the sample submission's order
    """

    id: str = "id"
    target: str = "label"
    text: tuple = ("Question",)
    classes: tuple = ()
    submission_columns: tuple = ()
    names: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if not self.submission_columns:
            object.__setattr__(self, "submission_columns", (self.id, self.target))
        if not self.names:
            object.__setattr__(self, "names", _names(self.classes))

    @property
    def kasut(self) -> bool:
        """True for the Kasut Academy data: one ``Question`` column and the labels 0..7."""
        from .labels import LABELS

        return self.text == ("Question",) and list(self.classes) == LABELS and self.label_kind == "int"

    @property
    def label_kind(self) -> str:
        return "int" if self.classes and all(isinstance(c, int) for c in self.classes) else "str"

    @property
    def classes_array(self) -> np.ndarray:
        return np.asarray(self.classes, dtype=np.int64 if self.label_kind == "int" else object)

    def class_name(self, label) -> str:
        return self.names.get(_plain(label), str(label))

    def short_name(self, label) -> str:
        """A short name for plot axes (the Kasut topics up to their first " and ")."""
        name = self.class_name(label)
        return name.split(" and ")[0] if self.kasut else name

    def describe(self) -> str:
        """One line: ``Data: text Question -> target label (8 classes: 0 Algebra, ...); id id``."""
        shown = ", ".join(f"{c}" if self.class_name(c) == str(c) else f"{c} {self.class_name(c)}"
                          for c in self.classes[:12])
        more = f", ... {len(self.classes) - 12} more" if len(self.classes) > 12 else ""
        return (f"Data: text {' + '.join(self.text)} -> target {self.target} ({len(self.classes)} "
                f"{self.label_kind} classes: {shown}{more}); id {self.id}; submission columns "
                f"{','.join(self.submission_columns)}")

    def to_json(self) -> dict:
        return {"id": self.id, "target": self.target, "text": list(self.text), "classes": list(self.classes),
                "label_kind": self.label_kind, "submission_columns": list(self.submission_columns),
                "names": {str(k): v for k, v in self.names.items()}}

    @classmethod
    def from_json(cls, payload: dict) -> Schema:
        kind = payload.get("label_kind", "int")
        classes = tuple(int(c) for c in payload["classes"]) if kind == "int" else tuple(map(str, payload["classes"]))
        names = {(int(k) if kind == "int" else k): v for k, v in payload.get("names", {}).items()}
        return cls(payload["id"], payload["target"], tuple(payload["text"]), classes,
                   tuple(payload.get("submission_columns") or ()), names)

    def write(self, folder) -> None:
        from .atomic import write_json

        write_json(f"{folder}/{SCHEMA_FILE}", self.to_json())


def _plain(label):
    return label.item() if isinstance(label, np.generic) else label


def _names(classes) -> dict:
    from .labels import LABEL_NAMES, LABELS

    if list(classes) == LABELS:
        return dict(LABEL_NAMES)
    return {c: str(c) for c in classes}


def _kasut() -> Schema:
    from .labels import LABELS

    return Schema(classes=tuple(LABELS))


#: The layout of the Kasut files, used for files read without a competition (generated rows) and
#: for model folders saved before schemas were stored.
KASUT = _kasut()


def read_schema(folder) -> Schema | None:
    """The schema stored in a run or model folder (``schema.json`` or the manifest's ``extra``)."""
    from pathlib import Path

    for path, keys in ((Path(folder) / SCHEMA_FILE, ()), (Path(folder) / "manifest.json", ("extra", "schema"))):
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
            for key in keys:
                value = value[key]
            return Schema.from_json(value)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


# ---------------------------------------------------------------------------------------- labels
def parse_labels(values, where: str, kind: str | None = None) -> np.ndarray:
    """Labels as they are: integers when every label is one (or ``kind="int"``), else strings.

    An empty label is an error naming its row; so is a non-integer label where ``kind="int"``.
    """
    stripped = [str(v).strip() for v in values]
    empty = [i for i, s in enumerate(stripped) if not s]
    if empty:
        raise DataError(f"{where}: row {empty[0] + 1} has an empty label ({len(empty)} such row"
                        f"{'s' if len(empty) > 1 else ''}); fill or remove those rows.")
    ints = [_as_int(s) for s in stripped]
    if kind == "str" or (kind is None and any(v is None for v in ints)):
        return np.asarray(stripped, dtype=object)
    bad = next((i for i, v in enumerate(ints) if v is None), None)
    if bad is not None:
        raise DataError(f"{where}: row {bad + 1} has label {stripped[bad]!r}, but the model's labels are "
                        "integers; fix or remove that row.")
    return np.asarray(ints, dtype=np.int64)


def _as_int(s: str):
    """``int(s)`` when ``s`` is written as an integer in its own canonical form ("3", "-1"), else None:
    "03" or "3.0" stay strings so they are written back as they were."""
    try:
        value = int(s)
    except ValueError:
        return None
    return value if str(value) == s else None


# ---------------------------------------------------------------------------------------- resolution
def resolve_columns(train_cols, test_cols, sample_cols, choices: DataChoices, files: dict) -> tuple[str, str, tuple, tuple]:
    """``(id, target, text columns, submission columns)`` from the headers of the three files.

    ``test_cols`` / ``sample_cols`` are None when the file is absent. Raises one
    :class:`DataError` sentence for a layout that cannot be read and for a choice a file lacks.
    """
    train_cols, test_cols = list(train_cols), None if test_cols is None else list(test_cols)
    sample_cols = None if sample_cols is None else list(sample_cols)
    train_f, test_f, sample_f = files["train"], files.get("test"), files.get("sample")
    if sample_cols is not None and len(sample_cols) != 2 and not (choices.id and choices.target):
        raise DataError(f"{sample_f} has {len(sample_cols)} columns ({', '.join(sample_cols)}); mathcls predicts "
                        "one target, so a sample submission needs two (id, target), or set [data] id and target.")
    first, second = (sample_cols + [None, None])[:2] if sample_cols else (None, None)
    if (test_cols is not None and second in test_cols and second not in train_cols and first in train_cols
            and first not in test_cols):
        first, second = second, first  # a sample written target first: the id is the test file's column
    ident = choices.id or (choices.target is None and first) or next(
        (c for c in (sample_cols or []) if c != choices.target), None)
    target = choices.target or next((c for c in (sample_cols or []) if c != ident), None) or (
        second if choices.id is None else None)
    if target is None:  # no sample: the training column the test file lacks
        only_train = [c for c in train_cols if test_cols is None or c not in test_cols]
        target = "label" if "label" in only_train or len(only_train) != 1 else only_train[0]
    if ident is None:
        only_test = [c for c in (test_cols or []) if c not in train_cols]
        named = [c for c in (test_cols or []) if c.lower() == "id" or c.lower().endswith(("_id", "id"))]
        ident = only_test[0] if len(only_test) == 1 else (named[0] if named else "id")
    if sample_cols is not None and test_cols is not None and ident not in test_cols:
        raise DataError(f"{sample_f} names the id column {ident!r}, which {test_f} does not have (it has "
                        f"{', '.join(test_cols)}); use the files of one competition, or set [data] id.")
    if target not in train_cols:
        raise DataError(f"{train_f} has no target column {target!r} (found: {', '.join(train_cols)}); "
                        f"set [data] target to the column that holds the labels.")
    if test_cols is not None and ident not in test_cols:
        raise DataError(f"{test_f} has no id column {ident!r} (found: {', '.join(test_cols)}); set [data] id.")
    if choices.text:
        text = tuple(choices.text)
        for col in text:
            where = [f for f, cols in ((train_f, train_cols), (test_f, test_cols)) if cols is not None and col not in cols]
            if where:
                raise DataError(f"{where[0]} has no text column {col!r}; choose columns it has with [data] text "
                                "or --text-column.")
        if target in text or ident in text:
            raise DataError(f"[data] text names {target if target in text else ident!r}, which is the "
                            f"{'target' if target in text else 'id'} column; choose the text columns only.")
    else:
        pool = test_cols if test_cols is not None else train_cols
        text = tuple(c for c in pool if c not in (ident, target) and c in train_cols)
        if not text:
            raise DataError(f"{test_f or train_f} has no text column besides {ident!r} that {train_f} also has; "
                            "set [data] text (or --text-column) to the column holding the text.")
    columns = tuple(sample_cols) if sample_cols is not None and set(sample_cols) == {ident, target} else (ident, target)
    return ident, target, text, columns


def join_text(df, columns) -> list[str]:
    """One text per row: the ``columns`` of ``df`` joined with a newline (empty parts left out)."""
    if len(columns) == 1:
        return df[columns[0]].astype(str).tolist()
    parts = [df[c].astype(str).tolist() for c in columns]
    return [TEXT_JOIN.join(p for p in row if p.strip()) for row in zip(*parts)]


def check_text_columns(df, columns, where: str, guessed: bool) -> tuple:
    """The text columns that hold text: a column whose every non-empty cell is a number is not text.

    A numeric column the user chose is an error; a guessed one is left out (an error when none is left).
    """
    kept = []
    for col in columns:
        values = df[col].astype(str).str.strip()
        filled = values[values != ""]
        numeric = len(filled) > 0 and filled.str.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?").all()
        if numeric and not guessed:
            raise DataError(f"{where}: text column {col!r} holds only numbers; choose the column(s) that hold the "
                            "text with [data] text or --text-column.")
        if not numeric:
            kept.append(col)
    if not kept:
        raise DataError(f"{where}: the columns {', '.join(columns)} hold only numbers, so there is no text to "
                        "classify; set [data] text (or --text-column) to the text column.")
    return tuple(kept)
