"""Predict a CSV with a saved model and write a validated submission."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .data import ID, SAMPLE_FILE, TEST_FILE, TEXT, load_sample_submission, load_test
from .errors import MathclsError
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


def proba_frame(ids, proba: np.ndarray, classes) -> pd.DataFrame:
    df = pd.DataFrame(proba, columns=[f"proba_{c}" for c in classes])
    df.insert(0, ID, pd.Series(ids).astype(str).to_numpy())
    return df


def predict_file(model_dir, input_path, output_path, proba: bool = False, sample_path=None,
                 batch_size: int | None = None) -> PredictResult:
    """Predict every row of ``input_path`` (``id,Question``) and write ``id,label`` to ``output_path``.

    Rows keep the input order; empty questions are predicted too. With ``proba``, per-class
    probabilities go to ``<output stem>_proba.csv``. Both files are validated and written atomically.
    """
    from .persist import load_model

    model = load_model(model_dir)  # fail on a bad model before reading a large input
    test = load_test(input_path)
    sample_ids = None
    sample = Path(sample_path) if sample_path else Path(input_path).with_name(SAMPLE_FILE)
    if sample_path or sample.is_file():
        sample_ids = load_sample_submission(sample)[ID]
    if batch_size and "predict_batch_size" in model.get_params():
        model.set_params(predict_batch_size=batch_size)
    t0 = time.perf_counter()
    probabilities = model.predict_proba(test[TEXT].tolist())
    seconds = time.perf_counter() - t0
    labels = model.classes_[np.argmax(probabilities, axis=1)]
    sub = make_submission(test[ID], labels)
    validate_submission(sub, test[ID], sample_ids, where=f"Predictions of {model_dir}")
    proba_out = None
    if proba:
        out = Path(output_path)
        proba_out = out.with_name(f"{out.stem}_proba.csv")
        write_csv_atomic(proba_frame(test[ID], probabilities, model.classes_), proba_out)
    write_csv_atomic(sub, output_path)
    return PredictResult(Path(output_path), proba_out, len(sub), seconds)


def validate_submission_file(path, data_dir=None) -> pd.DataFrame:
    """Validate a submission file, against ``data_dir``'s test.csv and sample_submission.csv when present."""
    p = Path(path)
    if not p.is_file():
        raise MathclsError(f"Submission file {p} does not exist; write one with `mathcls predict`.")
    sub = read_submission(p)
    test_ids = sample_ids = None
    if data_dir is not None:
        d = Path(data_dir)
        if (d / TEST_FILE).is_file():
            test_ids = load_test(d / TEST_FILE)[ID]
        if (d / SAMPLE_FILE).is_file():
            sample_ids = load_sample_submission(d / SAMPLE_FILE)[ID]
    validate_submission(sub, test_ids, sample_ids, where=f"Submission {p}")
    return sub
