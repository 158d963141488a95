"""Evaluate every saved model under some folders on a labelled CSV.

:func:`find_model_folders` finds each folder holding a ``manifest.json`` (a TF-IDF model, a
transformer checkpoint, a SetFit model, an ensemble, ...); :func:`evaluate_models` loads each with
:func:`mathcls.persist.load_model`, scores it and returns one row per folder, best F1-micro first.
A folder that cannot be loaded or predicted gets a row with its ``error`` and no scores, and the
others are still evaluated.

Examples
--------
>>> from mathcls.evaluate import evaluate_models                              # doctest: +SKIP
>>> table = evaluate_models(["runs/"], "valid.csv", images="images/")         # doctest: +SKIP
>>> table[["model", "f1_micro", "rows_per_s"]]                                # doctest: +SKIP
"""

from __future__ import annotations

import gc
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .data import LABEL, TEXT, load_train
from .errors import MathclsError
from .persist import MANIFEST

#: Columns of the table, in order; per-class ``precision_<k>``, ``recall_<k>``, ``f1_<k>`` follow.
COLUMNS = ["rank", "model", "family", "f1_micro", "f1_macro", "accuracy", "rows", "train_overlap", "rows_per_s",
           "predict_s", "error", "confusion_png", "path"]

#: Share of evaluation rows seen in training from which a score is flagged as not held-out.
OVERLAP_WARNING = 0.1


def find_model_folders(paths) -> list[tuple[str, Path]]:
    """Every folder holding ``manifest.json`` under ``paths`` (each path itself included), recursively.

    Hidden folders (such as the ``.name.partial-*`` of an interrupted save) are skipped. Returns
    ``(name, folder)`` pairs in a stable order; ``name`` is the folder's path relative to the
    path it was found under (the folder name when a path is itself a model folder), prefixed with
    that path's name where two names would collide.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for root in map(Path, paths):
        if not root.exists():
            raise MathclsError(f"Model path {root} does not exist; pass folders that hold model folders (with {MANIFEST}).")
        if root.is_file():
            if root.name != MANIFEST:
                raise MathclsError(f"Model path {root} is a file; pass a model folder or a folder of model folders.")
            root = root.parent
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            if MANIFEST in files:
                key = Path(folder).resolve()
                if key not in seen:
                    seen.add(key)
                    found.append((root, Path(folder)))
    names = [_relative_name(root, folder) for root, folder in found]
    out = []
    for (root, folder), name in zip(found, names):
        if names.count(name) > 1:
            name = f"{root.resolve().name}/{name}"
        out.append((name, folder))
    return out


def _relative_name(root: Path, folder: Path) -> str:
    rel = folder.relative_to(root)
    return root.resolve().name if rel == Path(".") else rel.as_posix()


def image_name(model_name: str) -> str:
    """File name of a model's confusion-matrix plot: ``confusion_<name>.png``, path separators as ``__``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name.replace("/", "__")).strip("._") or "model"
    return f"confusion_{safe}.png"


def _align(pred, truth: np.ndarray) -> np.ndarray:
    """Predicted labels as the dtype of ``truth`` (models trained on string labels predict "3")."""
    pred = np.asarray(pred)
    if pred.dtype.kind in "iu":
        return pred.astype(np.int64)
    try:
        return np.asarray([int(str(p).strip()) for p in pred], dtype=np.int64)
    except ValueError:
        return pred.astype(str)


def _family(folder: Path) -> str | None:
    import json

    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("model")
    except (OSError, ValueError, AttributeError):
        return None


def _describe(exc: Exception) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, MathclsError):
        return message
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def evaluate_model(model, texts: list[str], truth: np.ndarray, schema=None) -> tuple[dict, np.ndarray]:
    """Score one fitted estimator: F1-micro/macro, accuracy, per-class precision/recall/F1, rows/s."""
    start = time.perf_counter()
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(texts)
        pred = np.asarray(model.classes_)[np.argmax(proba, axis=1)]
    else:
        pred = model.predict(texts)
    seconds = time.perf_counter() - start
    pred = _align(pred, truth)
    if pred.dtype.kind not in "iu":
        truth = truth.astype(str)
    row = classification_scores(truth, pred, _labels(truth, pred, schema))
    row.update({"rows": len(texts), "rows_per_s": len(texts) / seconds if seconds > 0 else float("inf"),
                "predict_s": seconds})
    return row, pred


def classification_scores(truth, pred, labels) -> dict:
    """F1-micro/macro, accuracy, and per-class ``precision_<k>``, ``recall_<k>`` and ``f1_<k>`` for
    each class ``k`` of ``labels`` (F1-macro over the classes ``truth`` holds)."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    precision, recall, f1, _ = precision_recall_fscore_support(truth, pred, labels=labels, zero_division=0)
    row = {
        "f1_micro": f1_score(truth, pred, average="micro"),
        "f1_macro": f1_score(truth, pred, average="macro", labels=np.unique(truth), zero_division=0),
        "accuracy": accuracy_score(truth, pred),
    }
    for k, p, r, f in zip(labels, precision, recall, f1):
        row[f"precision_{k}"], row[f"recall_{k}"], row[f"f1_{k}"] = float(p), float(r), float(f)
    return row


def _labels(truth, pred, schema=None) -> list:
    present = set(np.unique(truth).tolist()) | set(np.unique(pred).tolist())
    if all(isinstance(v, (int, np.integer)) for v in present):
        known = {c for c in (schema.classes if schema is not None else ()) if isinstance(c, int)}
        return sorted(known | present)
    return sorted(present, key=str)


def data_schema(folders):
    """The schema of the first model folder that records one (the Kasut layout when none does):
    the evaluation file has the training file's columns."""
    from .schema import KASUT, read_schema

    return next((s for s in (read_schema(folder) for _, folder in folders) if s is not None), KASUT)


def training_share(folder: Path, texts, data_sha256: str) -> float | None:
    """Share of the evaluation rows that the model in ``folder`` was trained on: 1.0 when the file
    is its training file (same sha256 as the manifest's ``train_sha256``), else from the row
    fingerprints saved with the model; ``None`` when the folder records neither."""
    import json

    from .persist import training_overlap

    try:
        if json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("train_sha256") == data_sha256:
            return 1.0
    except (OSError, ValueError, AttributeError):
        pass
    return training_overlap(folder, texts)


def evaluate_models(paths, data_csv, images=None, output=None, echo=None, warn=None) -> pd.DataFrame:
    """Evaluate every model folder under ``paths`` on the labelled CSV ``data_csv`` (``Question,label``).

    Parameters
    ----------
    paths : a folder or a list of folders searched with :func:`find_model_folders`.
    data_csv : labelled CSV, read with :func:`mathcls.data.load_train`.
    images : folder for one confusion-matrix PNG per model (``confusion_<name>.png``), or None.
    output : CSV path to write the table to (atomically), or None.
    echo : callable for progress lines (``click.echo``), or None.
    warn : callable for warnings (default ``echo``): one line per model evaluated on rows it was
        trained on (:data:`OVERLAP_WARNING` or more of them), whose F1 is no held-out score.

    Returns
    -------
    DataFrame with :data:`COLUMNS` and per-class ``precision_<k>``, ``recall_<k>``, ``f1_<k>``,
    ranked by F1-micro (rank 1 is best); folders that failed come last with ``error`` set;
    ``train_overlap`` is the share of rows the model was trained on (see :func:`training_share`).
    """
    from .checks import check_output_file, check_output_folder
    from .data import file_sha256
    from .persist import load_model

    say = echo or (lambda *_: None)
    warn = warn or say
    if output is not None:
        check_output_file(output, "Output file")
    if images is not None:
        check_output_folder(images, None, "Images folder")
    folders = find_model_folders(paths)
    if not folders:
        shown = ", ".join(str(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths))
        raise MathclsError(f"No model folders (with {MANIFEST}) found under {shown}; train one with `mathcls train`.")
    schema = data_schema(folders)
    say(schema.describe())
    data = load_train(data_csv, "Validation", schema)
    texts = data[TEXT].astype(str).tolist()
    truth = data[LABEL].to_numpy()
    data_sha256 = file_sha256(data_csv)
    rows = []
    for name, folder in folders:
        row = {"model": name, "family": _family(folder), "path": str(folder), "error": None}
        say(f"Evaluating {name} ({folder}) ...")
        try:
            model = load_model(folder)
            scores, pred = evaluate_model(model, texts, truth, schema)
        except Exception as exc:  # noqa: BLE001 - a broken folder must not stop the others
            row["error"] = _describe(exc)
            say(f"  skipped: {row['error']}")
            rows.append(row)
            continue
        finally:
            model = None
            gc.collect()
        row.update(scores)
        row["train_overlap"] = training_share(folder, texts, data_sha256)
        if row["train_overlap"] is not None and row["train_overlap"] >= OVERLAP_WARNING:
            warn(f"Warning: {row['train_overlap']:.0%} of the rows of {data_csv} were in the training data of "
                 f"{name}, so its F1-micro {scores['f1_micro']:.4f} is not a held-out score.")
        if images is not None:
            from .plots import plot_confusion

            title = f"{name}: F1-micro {scores['f1_micro']:.4f}, {len(texts)} rows of {Path(data_csv).name}"
            y_true = truth if pred.dtype.kind in "iu" else truth.astype(str)
            row["confusion_png"] = str(plot_confusion(y_true, pred, _labels(y_true, pred, schema),
                                                      Path(images) / image_name(name), title, class_names=schema.short_name))
        say(f"  F1-micro {scores['f1_micro']:.4f}, {scores['rows_per_s']:.0f} rows/s")
        rows.append(row)
    table = pd.DataFrame(rows)
    for col in COLUMNS:
        if col not in table:
            table[col] = None if col in ("error", "confusion_png", "family") else np.nan
    table = table.sort_values(["f1_micro", "f1_macro"], ascending=False, na_position="last", kind="stable")
    table["rank"] = np.where(table["error"].isna(), np.arange(1, len(table) + 1), np.nan)
    table["rank"] = table["rank"].astype("Int64")
    per_class = [c for c in table.columns if c not in COLUMNS]
    per_class = sorted(per_class, key=lambda c: (c.split("_")[0] != "precision", c.split("_")[0] != "recall",
                                                 _sort_key(c.rsplit("_", 1)[1])))
    table = table[COLUMNS + per_class].reset_index(drop=True)
    if output is not None:
        from .submission import write_csv_atomic

        write_csv_atomic(table, output)
    table.attrs["schema"] = schema
    return table


def _label_of(text: str, schema):
    """A per-class column's label back in the schema's form (``"3"`` -> 3 for integer labels)."""
    if schema is not None and schema.label_kind == "int" and text.lstrip("-").isdigit():
        return int(text)
    return text


def _sort_key(label: str):
    return (0, int(label)) if label.lstrip("-").isdigit() else (1, label)


def format_table(table: pd.DataFrame, schema=None) -> str:
    """The ranked table and a per-class F1 table (class names from ``schema``, default the table's), as text."""
    schema = schema or table.attrs.get("schema")
    short = schema.short_name if schema is not None else str
    lines = [f"{'rank':>4}  {'model':<40} {'family':<12} {'F1-micro':>8} {'F1-macro':>8} {'accuracy':>8} {'rows/s':>9}"]
    for _, r in table.iterrows():
        rank = "-" if pd.isna(r["rank"]) else str(int(r["rank"]))
        family = str(r["family"]) if isinstance(r["family"], str) else "?"
        if isinstance(r["error"], str):
            lines.append(f"{rank:>4}  {r['model']:<40} {family:<12} ERROR: {r['error']}")
            continue
        seen = r.get("train_overlap")
        note = f"  (trained on {seen:.0%} of these rows)" if pd.notna(seen) and seen >= OVERLAP_WARNING else ""
        lines.append(f"{rank:>4}  {r['model']:<40} {family:<12} {r['f1_micro']:>8.4f} {r['f1_macro']:>8.4f} "
                     f"{r['accuracy']:>8.4f} {r['rows_per_s']:>9.0f}{note}")
    f1_cols = [c for c in table.columns if c.startswith("f1_") and c not in ("f1_micro", "f1_macro")]
    ok = table[table["error"].isna()]
    if f1_cols and len(ok):
        labels = [c[3:] for c in f1_cols]
        lines += ["", "Per-class F1", f"{'':<46}" + " ".join(f"{short(_label_of(k, schema))[:13]:>13}"
                                                            for k in labels)]
        for _, r in ok.iterrows():
            lines.append(f"{r['model'][:45]:<46}" + " ".join(
                f"{r[c]:>13.3f}" if pd.notna(r[c]) else f"{'':>13}" for c in f1_cols))
    return "\n".join(lines)
