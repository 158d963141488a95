"""The measurements behind the probe: each runs real code on a few rows and times it on ``clock``.

:mod:`mathcls.plan.probe` decides what to measure, keys and caches the results.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import numpy as np

#: Batches a neural probe trains: the first warms up, the others are timed.
PROBE_BATCHES = 3
#: Rows a neural probe predicts (and encodes) at full length.
PREDICT_ROWS = 32


def transformer_speed(params: dict, long_texts, clock) -> dict:
    """Training and prediction tokens/s, setup and save seconds of a transformer on full-length texts."""
    import accelerate  # noqa: F401  (imported once per process: not part of a fold's setup time)
    import transformers  # noqa: F401

    from ..models.transformer import TransformerClassifier

    settings = {k: v for k, v in params.items() if k != "callbacks"}
    timer = _BatchTimer(clock)
    est = TransformerClassifier(**{**settings, "epochs": 1, "validation_fraction": 0.0, "early_stopping": False,
                                   "output_dir": None, "logging_dir": None, "progress_bar": False,
                                   "callbacks": [("probe", timer)]})
    length, bs = int(est.max_length), int(est.batch_size)
    texts = long_texts(bs * PROBE_BATCHES, length)
    t0 = clock()
    est.fit(texts, np.arange(len(texts)) % 2)
    per_batch = statistics.median(timer.batch_seconds()[1:])
    rows = long_texts(min(PREDICT_ROWS, int(est.predict_batch_size)), length)
    est.predict_proba(rows[:8])  # warm up the inference path
    predict, save = _predict_and_save_seconds(est, rows, clock)
    return {"train_tokens_per_s": bs * length / max(per_batch, 1e-9),
            "predict_tokens_per_s": len(rows) * length / max(predict, 1e-9),
            "setup_seconds": timer.begin - t0, "save_seconds": save,
            "precision": est.mixed_precision_, "examples_per_s": bs / max(per_batch, 1e-9)}


def _predict_and_save_seconds(est, rows, clock) -> tuple[float, float]:
    """Seconds a fitted estimator takes to predict ``rows`` and to save itself as a model folder."""
    from ..persist import save_model

    t0 = clock()
    est.predict_proba(rows)
    predict = clock() - t0
    with tempfile.TemporaryDirectory(prefix="mathcls-probe-") as tmp:
        t1 = clock()
        save_model(est, Path(tmp) / "m")
        save = clock() - t1
    return predict, save


def encoder_speed(params: dict, long_texts, clock) -> dict:
    """Frozen-encoding tokens/s, embedding width and load seconds of a sentence-transformer."""
    from ..embeddings import encode, load_sentence_transformer
    from ..models.setfit import SetFitClassifier

    # What the family leaves out of params, its estimator's defaults fill.
    defaults = SetFitClassifier().get_params(deep=False)
    length = int(params.get("max_length", defaults["max_length"]))
    bs = int(params.get("predict_batch_size", defaults["predict_batch_size"]))
    t0 = clock()
    load_sentence_transformer(params.get("model"), params.get("device"))
    setup = clock() - t0
    texts = long_texts(min(PREDICT_ROWS, bs), length)
    kw = dict(model=params.get("model"), max_length=length, batch_size=bs, device=params.get("device"), cache=False)
    encode(texts[:8], **kw)
    t1 = clock()
    X = encode(texts, **kw)
    seconds = clock() - t1
    return {"encode_tokens_per_s": len(texts) * length / max(seconds, 1e-9), "dim": int(X.shape[1]),
            "setup_seconds": setup}


def head_fit(key: dict, n_classes: int, clock) -> dict:
    """Fit seconds of a logistic-regression head on synthetic embeddings of the fold's size."""
    from sklearn.linear_model import LogisticRegression

    X, y = _blobs(key["rows"], key["dim"], n_classes)
    t0 = clock()
    LogisticRegression(C=float(key["C"]), class_weight=key["class_weight"], max_iter=int(key["max_iter"])).fit(X, y)
    return {"fit_seconds": clock() - t0}


def fit_speed(family: str, params: dict, texts, y, sizes: list[int], clock) -> dict:
    """Fit seconds on samples of ``sizes`` rows, prediction rows/s and save seconds of ``family``."""
    from ..models import make_model

    rng = np.random.default_rng(0)
    texts = np.asarray(texts, dtype=object)
    y = np.asarray(y)
    fits = []
    for n in sizes:
        rows = _sample_rows(y, n, rng)
        est = make_model(family, {k: v for k, v in params.items() if k != "callbacks"})
        t0 = clock()
        est.fit(list(texts[rows]), y[rows])
        fits.append([int(len(rows)), clock() - t0])
    pred_rows = list(texts[rng.choice(len(texts), min(len(texts), 1000), replace=False)])
    predict, save = _predict_and_save_seconds(est, pred_rows, clock)
    return {"fits": fits, "predict_rows_per_s": len(pred_rows) / max(predict, 1e-9), "save_seconds": save}


def meta_speed(key: dict, texts, clock) -> dict:
    """Seconds of one meta-learner fit and one bias tuning on a random table of the stack's size."""
    from ..features import text_features
    from ..stacking import META_DEFAULTS, tune_bias
    from ..stacking._meta_learner import _Booster  # one LightGBM fit, the unit the meta-learner repeats

    rng = np.random.default_rng(0)
    n, k = key["rows"], key["classes"]
    y = np.arange(n) % k
    proba = rng.dirichlet(np.ones(k), size=n)
    X = np.hstack([proba, rng.random((n, key["cols"] - k))]).astype(np.float32)
    t0 = clock()
    params = {**META_DEFAULTS, "min_child_samples": int(min(20, max(2, n // 40)))}
    _Booster(lgbm_params=params, n_base_models=1, random_state=0).fit(X, y)
    t1 = clock()
    tune_bias(proba, y)
    t2 = clock()
    text_features(list(texts[:2000]))
    t3 = clock()
    return {"fit_seconds": t1 - t0, "bias_seconds": t2 - t1,
            "features_rows_per_s": min(2000, len(texts)) / max(t3 - t2, 1e-9)}


def neighbour_speed(texts, n_classes: int, clock, rows: int = 2000) -> dict:
    """Seconds of the stack's neighbour features on ``rows`` texts (2 folds), and of looking up half as
    many new texts; both grow with rows x training rows (:func:`mathcls.plan.costs.stack_seconds`)."""
    from ..stacking._neighbours import NeighbourFeatures

    texts = list(texts[:rows])
    n = len(texts)
    y, fold = np.arange(n) % n_classes, np.arange(n) % 2
    t0 = clock()
    features = NeighbourFeatures(n_classes).fit(texts, y, fold)
    t1 = clock()
    features.transform(texts[:n // 2])
    t2 = clock()
    return {"rows": n, "fit_seconds": t1 - t0, "lookup_seconds": t2 - t1}


def long_texts(pool, n: int, length: int) -> list[str]:
    """``n`` texts made of real questions joined until each is long enough to fill ``length`` tokens."""
    rng = np.random.default_rng(0)
    pool = [t for t in pool if t]
    out = []
    for _ in range(n):
        parts, size = [], 0
        while size < 8 * length:
            text = pool[int(rng.integers(len(pool)))]
            parts.append(text)
            size += len(text) + 1
        out.append(" ".join(parts))
    return out


class _BatchTimer:
    """Probe callback: when the fit began and when each batch ended."""

    def __init__(self, clock):
        self.clock = clock
        self.begin = None
        self.ends: list[float] = []

    def on_train_begin(self, estimator):
        self.begin = self.clock()

    def on_batch_end(self, estimator, step, logs=None):
        self.ends.append(self.clock())

    def batch_seconds(self) -> list[float]:
        marks = [self.begin] + self.ends
        return [b - a for a, b in zip(marks, marks[1:])]


def _sample_rows(y, n: int, rng) -> np.ndarray:
    """``n`` row indices with every class present where possible."""
    y = np.asarray(y)
    first = [int(rng.choice(np.flatnonzero(y == c))) for c in np.unique(y)]
    rest = rng.permutation(np.setdiff1d(np.arange(len(y)), first))[:max(0, n - len(first))]
    return np.concatenate([first, rest]).astype(int)


def _blobs(n: int, dim: int, n_classes: int):
    rng = np.random.default_rng(0)
    y = np.arange(n) % max(2, n_classes)
    centers = rng.normal(size=(max(2, n_classes), dim)) * 0.3
    X = centers[y] + rng.normal(size=(n, dim))
    return X / np.linalg.norm(X, axis=1, keepdims=True), y
