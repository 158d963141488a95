"""Predict a CSV with a saved model and write a validated submission."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .data import ID, SAMPLE_FILE, TEST_FILE, TEXT, load_sample_submission, load_test
from .errors import DataError, MathclsError
from .submission import make_submission, read_submission, validate_submission, write_csv_atomic


@dataclass
class PredictResult:
    output: Path
    proba_output: Path | None
    n_rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.n_rows / self.seconds if self.seconds > 0 else float("inf")


def proba_frame(ids, proba: np.ndarray, classes, id_column: str = ID) -> pd.DataFrame:
    df = pd.DataFrame(proba, columns=[f"proba_{c}" for c in classes])
    df.insert(0, id_column, pd.Series(ids).astype(str).to_numpy())
    return df


def model_schema(model_dir):
    """The schema a model folder was trained with (the Kasut layout for folders that record none)."""
    from .schema import KASUT, read_schema

    return read_schema(model_dir) or KASUT


def predict_file(model_dir, input_path, output_path, proba: bool = False, sample_path=None,
                 batch_size: int | None = None) -> PredictResult:
    """Predict every row of ``input_path`` (the model's id and text columns, see
    :mod:`mathcls.schema`) and write a submission (the sample's columns) to ``output_path``.

    Rows keep the input order; empty questions are predicted too. With ``proba``, per-class
    probabilities go to ``<output stem>_proba.csv`` beside ``output_path``. Both files are
    validated and written atomically. The output paths, the model folder, the input and its ids
    (against ``sample_path``, default the ``sample_submission.csv`` beside the input) are all
    checked before anything is predicted.
    """
    from .checks import check_output_file
    from .data import check_sample_ids
    from .persist import load_model

    out = check_output_file(output_path, "Output file")
    proba_out = proba_path(out) if proba else None
    if proba_out is not None:
        check_output_file(proba_out, "Probability file")
    model = load_model(model_dir)  # fail on a bad model before reading a large input
    schema = model_schema(model_dir)
    test = load_test(input_path, schema)
    sample_ids = None
    sample = Path(sample_path) if sample_path else Path(input_path).with_name(SAMPLE_FILE)
    if sample_path or sample.is_file():
        sample_ids = load_sample_submission(sample, schema)[ID]
        check_sample_ids(test[ID], sample_ids, input_path, sample)
    if batch_size and "predict_batch_size" in model.get_params():
        model.set_params(predict_batch_size=batch_size)
    t0 = time.perf_counter()
    probabilities = model.predict_proba(test[TEXT].tolist())
    seconds = time.perf_counter() - t0
    labels = model.classes_[np.argmax(probabilities, axis=1)]
    sub = make_submission(test[ID], labels, schema)
    validate_submission(sub, test[ID], sample_ids, where=f"Predictions of {model_dir}", schema=schema)
    if proba_out is not None:
        write_csv_atomic(proba_frame(test[ID], probabilities, model.classes_, schema.id), proba_out)
    write_csv_atomic(sub, out)
    return PredictResult(out, proba_out, len(sub), seconds)


def proba_path(output_path) -> Path:
    """Where ``predict --proba`` writes probabilities: ``<output stem>_proba.csv`` beside the output."""
    out = Path(output_path)
    return out.with_name(f"{out.stem}_proba.csv")


def find_competition_folder(submission, data_dir=None) -> Path:
    """The competition folder whose ``test.csv`` a submission's ids are checked against.

    In order: ``data_dir`` (``--data``), ``MATHCLS_DATA``, the data folder recorded beside the
    submission (``run.json`` of the run folder that wrote it, or a model folder's manifest), and
    ``./data``. An id check is never skipped: when none of these holds ``test.csv``, this raises.
    """
    import json

    from .env import env

    sub = Path(submission)
    if data_dir is not None or env("DATA"):
        d = Path(data_dir if data_dir is not None else env("DATA"))
        source = "--data" if data_dir is not None else "MATHCLS_DATA"
        if not (d / TEST_FILE).is_file():
            raise DataError(f"{source} folder {d} has no {TEST_FILE} to check {sub}'s ids against; "
                            "pass the competition folder (with test.csv and sample_submission.csv).")
        return d
    looked = []
    for record, keys in ((sub.parent / "run.json", ("data_dir",)), (sub.parent / "model" / "manifest.json", ("extra", "data_dir")),
                         (sub.parent / "manifest.json", ("extra", "data_dir"))):
        try:
            value = json.loads(record.read_text(encoding="utf-8"))
            for key in keys:
                value = value[key]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(value, str):
            looked.append(value)
            if (Path(value) / TEST_FILE).is_file():
                return Path(value)
    looked.append("data")
    if (Path("data") / TEST_FILE).is_file():
        return Path("data")
    raise DataError(f"Found no {TEST_FILE} to check {sub}'s ids against (looked in {', '.join(looked)}); "
                    "pass the competition folder with --data DIR or set MATHCLS_DATA.")


def validate_submission_file(path, data_dir=None) -> pd.DataFrame:
    """Validate a submission file against ``data_dir``'s test.csv (and sample_submission.csv when present).

    ``data_dir=None`` validates the format only; :func:`find_competition_folder` finds the folder
    for a command that must not skip the id check.
    """
    p = Path(path)
    if not p.is_file():
        raise MathclsError(f"Submission file {p} does not exist; write one with `mathcls predict`.")
    from .schema import KASUT, read_schema

    schema = read_schema(p.parent)
    if schema is None and data_dir is not None and (Path(data_dir) / "train.csv").is_file():
        from .data import load_competition

        schema = load_competition(data_dir, need_test=False).schema
    schema = schema or KASUT
    sub = read_submission(p, schema)
    test_ids = sample_ids = None
    if data_dir is not None:
        d = Path(data_dir)
        if (d / TEST_FILE).is_file():
            test_ids = load_test(d / TEST_FILE, schema)[ID]
        if (d / SAMPLE_FILE).is_file():
            sample_ids = load_sample_submission(d / SAMPLE_FILE, schema)[ID]
    validate_submission(sub, test_ids, sample_ids, where=f"Submission {p}", schema=schema)
    return sub
