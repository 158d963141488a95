"""Measure this machine briefly for what the plan needs, and remember it.

Every figure comes from running the real code on a few rows of the real data: training and
prediction speed of a neural family at its ``max_length``, precision and batch size (in tokens/s,
on questions long enough to fill ``max_length``), frozen-encoding speed, the fit time of TF-IDF on
two sample sizes (extrapolated to a fold), and the meta-learner's fit on a table of the stack's
size. Results are cached under ``<MATHCLS_CACHE>/probe/`` in one file per machine: CPU model, core
count and package versions; neural figures also carry the device, native bf16 support and the
precision used. A probe run on a fake clock (tests) is never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import cache_dir, package_versions, write_json

#: Batches a neural probe trains: the first warms up, the others are timed.
PROBE_BATCHES = 3
#: Rows the TF-IDF probe fits on (and half of it), capped by the fold size.
TFIDF_ROWS = 1200
#: Rows a neural probe predicts (and encodes) at full length.
PREDICT_ROWS = 32
#: Rows a probe of another family fits on.
GENERIC_ROWS = 32


@dataclass
class DataShape:
    """The sizes (and texts) of the data a plan is for."""

    train_texts: list
    y: np.ndarray
    test_texts: list
    cv: int
    n_extra: int = 0
    data_hash: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return len(self.train_texts)

    @property
    def n_test(self) -> int:
        return len(self.test_texts)

    @property
    def fold_train(self) -> float:
        """Rows one fold model trains on: the other folds plus the generated rows."""
        return self.n_train * (self.cv - 1) / self.cv + self.n_extra

    @property
    def fold_valid(self) -> float:
        return self.n_train / self.cv


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """What identifies this machine's speed (without importing torch)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "usable_cores": usable, "versions": package_versions()}


def _digest(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Probe:
    """Measurements of this machine, each taken once and cached.

    Parameters
    ----------
    data : DataShape
        The run's data (texts are sampled for the measurements).
    clock : callable, default ``time.perf_counter``
        A fake clock in tests; results are then not cached.
    echo : callable
        Prints one line per measurement taken.
    """

    def __init__(self, data: DataShape, clock=None, echo=print):
        self.data = data
        self.clock = clock or time.perf_counter
        self.echo = echo
        self.real_clock = clock is None or clock in (time.perf_counter, time.monotonic)
        self.machine = machine_info()
        self.path = cache_dir() / "probe" / f"{_digest(self.machine)}.json"
        self.taken = 0
        self._lengths: dict = {}
        self._store = self._read()

    def _read(self) -> dict:
        if not self.real_clock:
            return {}
        try:
            saved = json.loads(self.path.read_text())
            return saved.get("measures", {}) if saved.get("machine") == json.loads(json.dumps(self.machine)) else {}
        except (OSError, json.JSONDecodeError):
            return {}

    def _cached(self, what: str, key: dict, measure, label: str = "") -> dict:
        name = f"{what}-{_digest(key)}"
        if name not in self._store:
            self.echo(f"  probing {what}" + (f" ({label})" if label else ""))
            self._store[name] = {"key": key, **measure()}
            self.taken += 1
            if self.real_clock:
                write_json(self.path, {"machine": self.machine, "measures": self._store})
        return self._store[name]

    def summary(self) -> str:
        """One line: the machine and, for neural families, the device and precision measured."""
        parts = [f"{self.machine['cpu']}, {self.machine['usable_cores']} cores"]
        neural = [v for v in self._store.values() if "device" in v.get("key", {})]
        if neural:
            key = neural[0]["key"]
            parts.append(f"device {key['device']}")
            parts.append("native bf16" if key["cpu_bf16"] else "no native bf16 on this CPU")
            used = sorted({v["precision"] for v in neural if "precision" in v})
            if used:
                parts.append("training precision " + "/".join("fp32" if p == "no" else p for p in used))
        fresh = f"{self.taken} measured now" if self.taken else "all from the cache"
        return f"Machine: {'; '.join(parts)} ({fresh})."

    # ---- neural ----
    def neural_device(self, device=None) -> dict:
        """Device, GPU name and native CPU bf16 support (imports torch)."""
        from ..models._hf import cpu_supports_bf16, select_device

        chosen = select_device(device)
        name = chosen
        if chosen.startswith("cuda"):
            import torch

            name = f"{chosen} ({torch.cuda.get_device_name(0)})"
        return {"device": name, "cpu_bf16": cpu_supports_bf16()}

    def transformer(self, params: dict) -> dict:
        """Training and prediction tokens/s of :class:`TransformerClassifier` with ``params``."""
        keep = ("model", "max_length", "batch_size", "precision", "gradient_accumulation_steps", "pooling",
                "predict_batch_size", "device")
        key = {k: _plain(params.get(k)) for k in keep} | self.neural_device(params.get("device"))
        label = f"max_length={key['max_length']}, batch_size={key['batch_size']}, precision={key['precision']}"
        return self._cached("transformer", key, lambda: self._measure_transformer(params), label)

    def _measure_transformer(self, params: dict) -> dict:
        from ..models.transformer import TransformerClassifier
        from ..persist import save_model

        settings = {k: v for k, v in params.items() if k != "callbacks"}
        length = int(settings.get("max_length", 256))
        bs = int(settings.get("batch_size", 16))
        texts = self._long_texts(bs * PROBE_BATCHES, length)
        timer = _BatchTimer(self.clock)
        est = TransformerClassifier(**{**settings, "epochs": 1, "validation_fraction": 0.0, "early_stopping": False,
                                       "output_dir": None, "logging_dir": None, "progress_bar": False,
                                       "callbacks": [("probe", timer)]})
        t0 = self.clock()
        est.fit(texts, np.arange(len(texts)) % 2)
        per_batch = statistics.median(timer.batch_seconds()[1:])
        rows = self._long_texts(min(PREDICT_ROWS, int(settings.get("predict_batch_size", 64))), length)
        est.predict_proba(rows[:8])  # warm up the inference path
        t1 = self.clock()
        est.predict_proba(rows)
        predict = self.clock() - t1
        with tempfile.TemporaryDirectory(prefix="mathcls-probe-") as tmp:
            t2 = self.clock()
            save_model(est, Path(tmp) / "m")
            save = self.clock() - t2
        return {"train_tokens_per_s": bs * length / max(per_batch, 1e-9),
                "predict_tokens_per_s": len(rows) * length / max(predict, 1e-9),
                "setup_seconds": timer.begin - t0, "save_seconds": save,
                "precision": est.mixed_precision_, "examples_per_s": bs / max(per_batch, 1e-9)}

    def encoder(self, params: dict) -> dict:
        """Frozen sentence-embedding tokens/s of the model in ``params`` at its ``max_length``."""
        keep = ("model", "max_length", "predict_batch_size", "device")
        key = {k: _plain(params.get(k)) for k in keep} | self.neural_device(params.get("device"))
        return self._cached("encoder", key, lambda: self._measure_encoder(params), f"max_length={key['max_length']}")

    def _measure_encoder(self, params: dict) -> dict:
        from ..embeddings import encode, load_sentence_transformer

        length = int(params.get("max_length", 256))
        bs = int(params.get("predict_batch_size", 64))
        t0 = self.clock()
        load_sentence_transformer(params.get("model"), params.get("device"))
        setup = self.clock() - t0
        texts = self._long_texts(min(PREDICT_ROWS, bs), length)
        kw = dict(model=params.get("model"), max_length=length, batch_size=bs, device=params.get("device"), cache=False)
        encode(texts[:8], **kw)
        t1 = self.clock()
        X = encode(texts, **kw)
        seconds = self.clock() - t1
        return {"encode_tokens_per_s": len(texts) * length / max(seconds, 1e-9), "dim": int(X.shape[1]),
                "setup_seconds": setup}

    def token_lengths(self, model=None, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Token counts (capped at 512) of the train and test questions under ``model``'s tokenizer."""
        from transformers import AutoTokenizer

        from ..embeddings import tokenize
        from ..models._hf import model_identity, resolve_model

        key = (str(model), bool(normalize))
        if key not in self._lengths:
            tok = AutoTokenizer.from_pretrained(str(resolve_model(model)), local_files_only=True)
            identity = "plan-lengths:" + model_identity(model)
            ids = tokenize(list(self.data.train_texts) + list(self.data.test_texts), tok, identity, 512, normalize)
            lengths = np.array([len(x) for x in ids])
            self._lengths[key] = (lengths[:self.data.n_train], lengths[self.data.n_train:])
        return self._lengths[key]

    def head(self, n_rows: int, dim: int, params: dict) -> dict:
        """Fit seconds of SetFit's logistic-regression head on ``n_rows`` embeddings."""
        key = {"rows": int(n_rows), "dim": int(dim), "C": params.get("head_C", 10.0),
               "class_weight": params.get("class_weight"), "max_iter": params.get("head_max_iter", 3000)}
        return self._cached("head", key, lambda: self._measure_head(key), f"{key['rows']} rows")

    def _measure_head(self, key: dict) -> dict:
        from sklearn.linear_model import LogisticRegression

        X, y = _blobs(key["rows"], key["dim"], len(np.unique(self.data.y)))
        t0 = self.clock()
        LogisticRegression(C=float(key["C"]), class_weight=key["class_weight"], max_iter=int(key["max_iter"])).fit(X, y)
        return {"fit_seconds": self.clock() - t0}

    # ---- TF-IDF and any other family ----
    def tfidf(self, params: dict) -> dict:
        """Fit seconds on two sample sizes, prediction rows/s and save seconds of TF-IDF with ``params``."""
        from ..persist import encode_param

        n2 = int(min(TFIDF_ROWS, self.data.fold_train))
        key = {"params": {k: encode_param(v) for k, v in params.items()}, "rows": n2, "data": self.data.data_hash}
        return self._cached("tfidf", key, lambda: self._measure_fit("tfidf", params, [n2 // 2, n2]),
                            f"fits on {n2 // 2} and {n2} rows")

    def generic(self, family: str, params: dict) -> dict:
        """Fit seconds on a few rows and prediction rows/s of any registered family."""
        from ..persist import encode_param

        n = int(min(GENERIC_ROWS, self.data.fold_train))
        key = {"family": family, "params": {k: encode_param(v) for k, v in params.items() if k != "callbacks"},
               "rows": n, "data": self.data.data_hash}
        shown = ", ".join(f"{k}={v}" for k, v in key["params"].items() if k in ("epochs", "max_length"))
        return self._cached(family, key, lambda: self._measure_fit(family, params, [n]), shown or f"fit on {n} rows")

    def _measure_fit(self, family: str, params: dict, sizes: list[int]) -> dict:
        from ..models import make_model
        from ..persist import save_model

        rng = np.random.default_rng(0)
        texts = np.asarray(self.data.train_texts, dtype=object)
        fits = []
        for n in sizes:
            rows = _sample_rows(self.data.y, n, rng)
            est = make_model(family, {k: v for k, v in params.items() if k != "callbacks"})
            t0 = self.clock()
            est.fit(list(texts[rows]), self.data.y[rows])
            fits.append([int(len(rows)), self.clock() - t0])
        pred_rows = list(texts[rng.choice(len(texts), min(len(texts), 1000), replace=False)])
        t1 = self.clock()
        est.predict_proba(pred_rows)
        predict = self.clock() - t1
        with tempfile.TemporaryDirectory(prefix="mathcls-probe-") as tmp:
            t2 = self.clock()
            save_model(est, Path(tmp) / "m")
            save = self.clock() - t2
        return {"fits": fits, "predict_rows_per_s": len(pred_rows) / max(predict, 1e-9), "save_seconds": save}

    # ---- the stack ----
    def meta(self, n_models: int) -> dict:
        """Seconds of one meta-learner fit and one bias tuning on a table of the stack's size."""
        from ..features import FEATURE_NAMES

        n_classes = len(np.unique(self.data.y))
        key = {"rows": self.data.n_train, "cols": n_models * n_classes + len(FEATURE_NAMES), "classes": n_classes}
        return self._cached("meta", key, lambda: self._measure_meta(key), "stacking meta-learner")

    def _measure_meta(self, key: dict) -> dict:
        from ..features import text_features
        from ..stacking import default_meta_learner, tune_bias

        rng = np.random.default_rng(0)
        n, k = key["rows"], key["classes"]
        y = np.arange(n) % k
        proba = rng.dirichlet(np.ones(k), size=n)
        X = np.hstack([rng.random((n, key["cols"] - k)), proba]).astype(np.float32)
        t0 = self.clock()
        default_meta_learner(0, min_child_samples=int(min(20, max(2, n // 40)))).fit(
            X, y, init_score=np.log(np.clip(proba, 1e-9, 1)))
        t1 = self.clock()
        tune_bias(proba, y)
        t2 = self.clock()
        text_features(list(self.data.train_texts[:2000]))
        t3 = self.clock()
        return {"fit_seconds": t1 - t0, "bias_seconds": t2 - t1,
                "features_rows_per_s": min(2000, self.data.n_train) / max(t3 - t2, 1e-9)}

    # ---- texts ----
    def _long_texts(self, n: int, length: int) -> list[str]:
        """``n`` texts made of real questions joined until each is long enough to fill ``length`` tokens."""
        rng = np.random.default_rng(0)
        pool = [t for t in self.data.train_texts if t]
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


def _plain(value):
    return value if value is None or isinstance(value, (int, float, str, bool)) else str(value)
