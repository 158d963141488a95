"""Measure this machine briefly for what the plan needs, and remember it.

Every figure comes from running the real code on a few rows of the real data
(:mod:`mathcls.plan.measure`): training and
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
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import write_json
from ..env import cache_dir, package_versions
from ..logs import say
from . import measure


class NotMeasured(Exception):
    """A measurement is not cached and the probe may take no new ones (its share of the time is spent)."""


@dataclass
class DataShape:
    """The sizes (and texts) of the data a plan is for."""

    train_texts: list
    y: np.ndarray
    test_texts: list
    cv: int
    n_extra: int = 0
    data_hash: str = ""

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


def forget_machine() -> Path | None:
    """Delete this machine's cached probe (e.g. one measured while the machine was busy), so that the
    next run measures again; returns the deleted file, or ``None`` when there was none."""
    path = cache_dir() / "probe" / f"{_digest(machine_info())}.json"
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path


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

    def __init__(self, data: DataShape, clock=None, echo=say):
        self.data = data
        self.clock = clock or time.perf_counter
        self.echo = echo
        self.real_clock = clock is None or clock in (time.perf_counter, time.monotonic)
        self.machine = machine_info()
        self.path = cache_dir() / "probe" / f"{_digest(self.machine)}.json"
        self.taken = 0
        self.allow_new = True
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
            if not self.allow_new:
                raise NotMeasured(what)
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
        fresh = (f"{self.taken} measured now" if self.taken
                 else "all from the cache; `mathcls run --reprobe` measures again")
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
                "predict_batch_size", "device", "body_dropout", "freeze_layers",
                "attn_implementation")
        key = {k: _plain(params.get(k)) for k in keep} | self.neural_device(params.get("device"))
        label = f"max_length={key['max_length']}, batch_size={key['batch_size']}, precision={key['precision']}"
        return self._cached("transformer", key,
                            lambda: measure.transformer_speed(params, self._long_texts, self.clock), label)

    def encoder(self, params: dict) -> dict:
        """Frozen sentence-embedding tokens/s of the model in ``params`` at its ``max_length``."""
        keep = ("model", "max_length", "predict_batch_size", "device")
        key = {k: _plain(params.get(k)) for k in keep} | self.neural_device(params.get("device"))
        return self._cached("encoder", key, lambda: measure.encoder_speed(params, self._long_texts, self.clock),
                            f"max_length={key['max_length']}")

    def token_lengths(self, model=None, normalize=True) -> tuple[np.ndarray, np.ndarray]:
        """Token counts (capped at 512) of the train and test questions under ``model``'s tokenizer."""
        from transformers import AutoTokenizer

        from ..embeddings import tokenize
        from ..models._hf import model_identity, resolve_model

        key = (str(model), normalize if isinstance(normalize, str) else bool(normalize))
        if key not in self._lengths:
            tok = AutoTokenizer.from_pretrained(str(resolve_model(model)), local_files_only=True)
            identity = "plan-lengths:" + model_identity(model)
            ids = tokenize(list(self.data.train_texts) + list(self.data.test_texts), tok, identity, 512, normalize)
            lengths = np.array([len(x) for x in ids])
            self._lengths[key] = (lengths[:self.data.n_train], lengths[self.data.n_train:])
        return self._lengths[key]

    def head(self, n_rows: int, dim: int, params: dict) -> dict:
        """Fit seconds of SetFit's logistic-regression head on ``n_rows`` embeddings."""
        key = {"rows": int(n_rows), "dim": int(dim), "C": params["head_C"],
               "class_weight": params["class_weight"], "max_iter": params["head_max_iter"]}
        return self._cached("head", key, lambda: measure.head_fit(key, len(np.unique(self.data.y)), self.clock), f"{key['rows']} rows")

    # ---- any family priced from timed fits ----
    def fitted(self, family, params: dict) -> dict:
        """Fit seconds on the family's ``probe_rows`` (the largest capped at a fold's rows), prediction
        rows/s and save seconds of ``family`` (a :class:`~mathcls.families.Family` or its name) with ``params``."""
        from ..families import get_family
        from ..persist import encode_param

        family = get_family(family) if isinstance(family, str) else family
        largest = max(family.probe_rows)
        top = int(min(largest, self.data.fold_train))
        sizes = sorted({max(1, round(r * top / largest)) for r in family.probe_rows})
        key = {"family": family.name, "params": {k: encode_param(v) for k, v in params.items() if k != "callbacks"},
               "rows": sizes, "data": self.data.data_hash}
        shown = ", ".join(f"{k}={v}" for k, v in key["params"].items() if k in ("epochs", "max_length"))
        return self._cached(family.name, key, lambda: self._fit_speed(family.name, params, sizes),
                            shown or f"fits on {' and '.join(map(str, sizes))} rows")

    def _fit_speed(self, family: str, params: dict, sizes: list[int]) -> dict:
        return measure.fit_speed(family, params, self.data.train_texts, self.data.y, sizes, self.clock)

    # ---- the stack ----
    def meta(self, n_models: int) -> dict:
        """Seconds of one meta-learner fit and one bias tuning on a table of the stack's size."""
        from ..features import FEATURE_NAMES

        n_classes = len(np.unique(self.data.y))
        key = {"rows": self.data.n_train, "cols": n_models * n_classes + len(FEATURE_NAMES), "classes": n_classes}
        return self._cached("meta", key, lambda: measure.meta_speed(key, self.data.train_texts, self.clock),
                            "stacking meta-learner")

    def neighbours(self) -> dict:
        """Seconds of the stack's nearest-neighbour features on a sample (``[stack] neighbour_features``)."""
        n_classes = len(np.unique(self.data.y))
        key = {"rows": min(2000, self.data.n_train), "classes": n_classes}
        return self._cached("neighbours", key, lambda: measure.neighbour_speed(self.data.train_texts, n_classes,
                                                                               self.clock), "neighbour features")

    def _long_texts(self, n: int, length: int) -> list[str]:
        return measure.long_texts(self.data.train_texts, n, length)


def _plain(value):
    return value if value is None or isinstance(value, (int, float, str, bool)) else str(value)
