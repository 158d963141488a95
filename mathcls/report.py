"""What a run leaves for its user to read, or to blend by hand: ``oof/`` and ``report/``.

The stack stage of ``mathcls run`` writes, with :func:`write_oof`::

    oof/<model>.csv        one row per training row: row (its position in train.csv), fold, label,
                           proba_<class>... out-of-fold; one file per base model and stack.csv
    oof/test/<model>.csv   id, proba_<class>...: each base model's test probabilities (the stack's
                           are test_proba.csv)

and the report stage builds ``report/`` from those files and ``leaderboard.csv`` alone
(:func:`write_report`), so it can be rebuilt without fitting anything::

    confusion_<model>.png/.csv   true class (rows) against predicted class (columns), stack and each base model
    per_class_f1.csv/.png        precision, recall, F1 and support per model and class
    correlation.csv/.png         Pearson correlation of the base models' OOF probabilities
    time.csv/.png                seconds per model: planned (under a time limit) and actual
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path
from .data import ID, LABEL

OOF_DIR = "oof"
REPORT_DIR = "report"
STACK = "stack"
PROBA = "proba_"


def write_oof(folder, stack, y, test_ids=None, id_column: str = ID) -> Path:
    """Write the fitted ``stack``'s out-of-fold probabilities (each base model's and its own) and,
    when it predicted test rows at fit (``unlabeled_base_proba_``) and ``test_ids`` are given,
    each base model's test probabilities, into ``folder`` (replaced whole, atomically)."""
    from .prediction import proba_frame
    from .submission import write_csv_atomic

    classes = stack.classes_
    tables = {**stack.oof_proba_, STACK: stack.stack_oof_proba_}
    test = getattr(stack, "unlabeled_base_proba_", None) if test_ids is not None else None
    with atomic_path(folder) as tmp:
        tmp.mkdir(parents=True)
        for name, proba in tables.items():
            frame = proba_frame(np.arange(len(proba)), proba, classes).rename(columns={ID: "row"})
            frame["row"] = frame["row"].astype(int)
            frame.insert(1, "fold", np.asarray(stack.fold_))
            frame.insert(2, LABEL, np.asarray(y))
            write_csv_atomic(frame, tmp / f"{name}.csv")
        for name, proba in (test or {}).items():
            write_csv_atomic(proba_frame(test_ids, proba, classes, id_column), tmp / "test" / f"{name}.csv")
    return Path(folder)


def read_oof(folder) -> dict[str, pd.DataFrame]:
    """The ``oof/<model>.csv`` tables of a run, base models first (by name), then the stack; labels
    are read as text, the way the probability columns name the classes."""
    paths = sorted(Path(folder).glob("*.csv"), key=lambda p: (p.stem == STACK, p.stem))
    return {p.stem: pd.read_csv(p, dtype={LABEL: str}) for p in paths}


def classes_of(frame: pd.DataFrame) -> list[str]:
    """The classes of an OOF table, in the order of its probability columns."""
    return [c[len(PROBA):] for c in frame.columns if c.startswith(PROBA)]


def predictions(frame: pd.DataFrame) -> np.ndarray:
    """The predicted class of each row of an OOF table (its most probable column)."""
    classes = np.asarray(classes_of(frame), dtype=object)
    return classes[frame[[PROBA + c for c in classes]].to_numpy().argmax(1)]


def report_stage(state, out: Path, stacked, echo) -> None:
    """The ``report`` stage of a run: rebuilt when the stack's key (``stacked``) or the leaderboard changed."""
    from .data import file_sha256
    from .stages import StageKey

    key = StageKey({"stack": stacked.digest, "leaderboard": file_sha256(out / "leaderboard.csv")[:16]})
    if state.announce("report", key, echo, outputs=[out / REPORT_DIR]):
        write_report(out)
        state.record("report", key)


def write_report(out) -> Path:
    """Build ``<out>/report`` (replaced whole) from ``<out>/oof`` and ``<out>/leaderboard.csv``."""
    from .schema import KASUT, read_schema

    out = Path(out)
    tables = read_oof(out / OOF_DIR)
    schema = read_schema(out) or KASUT
    with atomic_path(out / REPORT_DIR) as tmp:
        tmp.mkdir(parents=True)
        _confusion_and_f1(tables, tmp, schema)
        bases = {name: frame for name, frame in tables.items() if name != STACK}
        if bases:
            _correlation(bases, tmp)
        if (out / "leaderboard.csv").is_file():
            _times(pd.read_csv(out / "leaderboard.csv"), tmp)
    return out / REPORT_DIR


def _confusion_and_f1(tables: dict, folder: Path, schema) -> None:
    from sklearn.metrics import confusion_matrix

    from .evaluate import classification_scores, image_name
    from .plots import plot_confusion, plot_per_class_f1
    from .submission import write_csv_atomic

    # The CSV names classes as text; the schema's classes name them in the run's own form (names on axes).
    as_label = int if schema.label_kind == "int" else str
    rows, f1 = [], {}
    for name, frame in tables.items():
        classes = [as_label(c) for c in classes_of(frame)]
        truth = np.asarray([as_label(v) for v in frame[LABEL]])
        pred = np.asarray([as_label(v) for v in predictions(frame)])
        png = folder / image_name(name)
        counts = confusion_matrix(truth, pred, labels=classes)
        write_csv_atomic(pd.DataFrame(counts, index=pd.Index(classes, name="true"), columns=classes).reset_index(),
                         png.with_suffix(".csv"))
        scores = classification_scores(truth, pred, classes)
        plot_confusion(truth, pred, classes, png, f"{name}: out-of-fold F1-micro {scores['f1_micro']:.4f}, "
                                                  f"{len(frame)} rows", class_names=schema.short_name)
        support = pd.Series(truth).value_counts()
        for k in classes:
            rows.append({"model": name, "class": k, "name": schema.class_name(k), "precision": scores[f"precision_{k}"],
                         "recall": scores[f"recall_{k}"], "f1": scores[f"f1_{k}"], "support": int(support.get(k, 0))})
        f1[name] = [scores[f"f1_{k}"] for k in classes]
    write_csv_atomic(pd.DataFrame(rows), folder / "per_class_f1.csv")
    plot_per_class_f1(f1, classes, folder / "per_class_f1.png", class_names=schema.short_name)


def _correlation(bases: dict, folder: Path) -> None:
    """Pearson correlation between base models of their OOF probabilities, all classes flattened:
    models that err alike add little to a stack."""
    from .plots import plot_correlation
    from .submission import write_csv_atomic

    names = list(bases)
    flat = np.vstack([frame[[PROBA + c for c in classes_of(frame)]].to_numpy(dtype=float).ravel()
                      for frame in bases.values()])
    matrix = np.atleast_2d(np.corrcoef(flat))
    write_csv_atomic(pd.DataFrame(matrix, index=pd.Index(names, name="model"), columns=names).reset_index(),
                     folder / "correlation.csv")
    plot_correlation(matrix, names, folder / "correlation.png",
                     "Correlation of the base models' out-of-fold probabilities")


def _times(board: pd.DataFrame, folder: Path) -> None:
    """Seconds per model from the leaderboard: planned and actual under a time limit, else the
    fit time the stack recorded."""
    from .plots import plot_times
    from .submission import write_csv_atomic

    planned = board["planned_seconds"] if "planned_seconds" in board else pd.Series(np.nan, index=board.index)
    actual = board["actual_seconds"] if "actual_seconds" in board else board["fit_seconds"]
    table = pd.DataFrame({"model": board["model"], "planned_seconds": planned.astype(float),
                          "actual_seconds": actual.astype(float)})
    if "status" in board:
        table["status"] = board["status"]
    write_csv_atomic(table, folder / "time.csv")
    plot_times(table["model"].tolist(), table["planned_seconds"], table["actual_seconds"], folder / "time.png")
