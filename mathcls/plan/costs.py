"""What one model costs with given settings, in seconds, from the probe's measurements.

A :class:`Cost` has three parts: ``fold`` (fitting one fold model and predicting its held-out
rows, then caching it), ``once`` (work done once per model whatever the folds, such as frozen
embeddings of every question) and ``stack`` (what the final stack still spends on this model:
loading its fold models, predicting the test rows with each, saving them into the ensemble).

Neural costs scale with the tokens a fold really processes: the mean of ``min(length,
max_length)`` over the questions, measured with the model's tokenizer, divided by the probe's
tokens/s at that ``max_length`` and precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .probe import DataShape, Probe

#: Bucketed batches still pad each batch to its longest member: a few percent more tokens.
PADDING = 1.05


@dataclass
class Cost:
    fold: float
    once: float = 0.0
    stack: float = 0.0
    predict: float = 0.0  # the part of ``fold`` spent predicting the held-out rows

    def train(self, folds: int) -> float:
        """Seconds to train ``folds`` fold models (plus the one-off part)."""
        return self.once + folds * self.fold

    def scaled(self, factor: float) -> Cost:
        return Cost(self.fold * factor, self.once * factor, self.stack * factor, self.predict * factor)

    def as_dict(self) -> dict:
        return {"fold": round(self.fold, 2), "once": round(self.once, 2), "stack": round(self.stack, 2)}


def estimate(family: str, params: dict, data: DataShape, probe: Probe, probe_length: int | None = None) -> Cost:
    """The cost of one model of ``family`` with ``params`` (all settings applied) on ``data``, by the
    family's cost model (see :class:`~mathcls.families.Family`); the estimator's defaults fill what
    ``params`` leave out.

    Neural speeds are measured at ``probe_length`` tokens (the largest ``max_length`` the model may
    get; default its own) and applied to shorter lengths per token, which slightly overestimates
    them (attention grows faster than the length) but measures each model once.
    """
    from ..families import get_family

    return get_family(family).price(params, data, probe, probe_length)


def fitted_cost(family, params: dict, data: DataShape, probe: Probe, probe_length=None) -> Cost:
    """Any family: fits timed on the family's ``probe_rows`` of the data, extrapolated to a fold."""
    if isinstance(params.get("epochs"), int) and params["epochs"] > 1:
        # Measured once at one epoch; training time grows with the epochs, prediction does not.
        one = _fitted(probe.fitted(family, {**params, "epochs": 1}), data)
        fit = one.fold - one.predict
        return Cost(fold=fit * params["epochs"] + one.predict, stack=one.stack, predict=one.predict)
    return _fitted(probe.fitted(family, params), data)


def _mean_tokens(lengths: np.ndarray, max_length: int) -> float:
    return float(np.minimum(lengths, max_length).mean()) * PADDING if len(lengths) else float(max_length)


def transformer_cost(family, params: dict, data: DataShape, probe: Probe, probe_length=None) -> Cost:
    """:class:`~mathcls.models.transformer.TransformerClassifier`: tokens per epoch over the measured tokens/s."""
    m = probe.transformer({**params, "max_length": probe_length or params["max_length"]})
    length = int(params["max_length"])
    train_len, test_len = probe.token_lengths(params["model"], params["normalize"])
    tokens = _mean_tokens(train_len, length)
    epochs = int(params["epochs"])
    fit = m["setup_seconds"] + epochs * data.fold_train * tokens / m["train_tokens_per_s"]
    valid = data.fold_valid * tokens / m["predict_tokens_per_s"]
    test = data.n_test * _mean_tokens(test_len, length) / m["predict_tokens_per_s"]
    return Cost(fold=fit + valid + m["save_seconds"],
                stack=data.cv * (m["setup_seconds"] + test + m["save_seconds"]))


def setfit_cost(family, params: dict, data: DataShape, probe: Probe, probe_length=None) -> Cost:
    """:class:`~mathcls.models.setfit.SetFitClassifier`: contrastive pairs through the body, then the
    embeddings and the head (a frozen body embeds each question once, into the on-disk cache)."""
    enc = probe.encoder({**params, "max_length": probe_length or params["max_length"]})
    length = int(params["max_length"])
    train_len, test_len = probe.token_lengths(params["model"], params["normalize"])
    train_tokens, test_tokens = _mean_tokens(train_len, length), _mean_tokens(test_len, length)
    rate = enc["encode_tokens_per_s"]
    head = probe.head(int(data.fold_train), enc["dim"], params)["fit_seconds"]
    body_epochs = int(params["body_epochs"])
    if body_epochs == 0:
        # Frozen body: every question is embedded once and cached, whichever fold needs it first.
        new_train, new_test = _uncached(params, data)
        return Cost(fold=head, once=enc["setup_seconds"] + new_train * train_tokens / rate,
                    stack=new_test * test_tokens / rate + data.cv * 0.5)
    pair_length = int(params.get("pair_max_length") or length)
    body = probe.transformer({"model": params["model"], "max_length": pair_length,
                              "batch_size": params["batch_size"], "device": params["device"],
                              "precision": _setfit_precision(params, probe)})
    pairs = int(params["max_pairs"])
    if params.get("num_iterations"):
        pairs = min(pairs, 2 * int(params["num_iterations"]) * int(data.fold_train))
    pair_tokens = _mean_tokens(train_len, pair_length)
    tune = body_epochs * pairs * 2 * pair_tokens / body["train_tokens_per_s"]
    embed = (data.fold_train + data.fold_valid) * train_tokens / rate
    return Cost(fold=body["setup_seconds"] + tune + embed + head + body["save_seconds"],
                stack=data.cv * (body["setup_seconds"] + data.n_test * test_tokens / rate + body["save_seconds"]))


def _setfit_precision(params: dict, probe: Probe) -> str:
    # SetFit trains its body in mixed precision on a GPU only ("auto" is fp32 on a CPU).
    precision = params["precision"]
    on_gpu = probe.neural_device(params["device"])["device"].startswith("cuda")
    return precision if on_gpu else "fp32"


def _uncached(params: dict, data: DataShape) -> tuple[int, int]:
    """Train and test questions whose frozen embeddings are not in the on-disk cache yet."""
    from ..embeddings import ShardStore, layer_store
    from ..models._hf import model_identity, resolve_precision, select_device

    if params.get("layer") is not None:  # frozen layer features (encode_layers) have their own cache
        bf16 = resolve_precision(params["precision"], select_device(params["device"]), cpu_bf16=True) == "bf16"
        store = layer_store(params["model"], params["layer"], params["pooling"], params["max_length"],
                            params["normalize"], bf16)
    else:
        store = ShardStore("embeddings", model_identity(params["model"]), int(params["max_length"]),
                           params["normalize"])
    counts = []
    for texts in (data.train_texts, data.test_texts):
        keys = list(dict.fromkeys(store.key(t) for t in texts))
        counts.append(len(keys) - len(store.get_many(keys)))
    return counts[0], counts[1]


def _fitted(m: dict, data: DataShape) -> Cost:
    """Extrapolate fit seconds measured on samples to a fold: ``t = a * n^b`` through the two
    largest samples (``b`` between 1 and 2), linear with one sample."""
    (n_small, t_small), (n_big, t_big) = (m["fits"][0], m["fits"][-1])
    power = 1.0
    if n_big > n_small and t_small > 0 and t_big > t_small:
        power = min(2.0, max(1.0, math.log(t_big / t_small) / math.log(n_big / n_small)))
    fit = t_big * (data.fold_train / max(n_big, 1)) ** power
    rate = max(m["predict_rows_per_s"], 1e-9)
    return Cost(fold=fit + data.fold_valid / rate + m["save_seconds"],
                stack=data.cv * (data.n_test / rate + 2 * m["save_seconds"]), predict=data.fold_valid / rate)


def stack_seconds(data: DataShape, probe: Probe, n_models: int, stack, meta_trials: int = 0) -> float:
    """What the stack itself costs once the base models are done: the meta-learner cross-fitted on
    the folds (plus ``meta_trials`` tuning trials, about twice as many trees on average), bias
    tuning, text features, neighbour features and the final fit, as ``stack`` (an unfitted
    :class:`~mathcls.stacking.StackingEnsemble`, read for its settings only) will do them."""
    bias_tuning, extra_features, neighbour_features = stack.bias_tuning, stack.extra_features, stack.neighbour_features
    m = probe.meta(max(1, n_models))
    fits = data.cv * (1 + 2.25 * meta_trials) + 1
    seconds = fits * m["fit_seconds"]
    if bias_tuning:
        seconds += (data.cv + 2) * m["bias_seconds"]
    if extra_features:
        seconds += 2 * (data.n_train + data.n_test) / m["features_rows_per_s"]
    if neighbour_features:  # similarities: every training row against the other folds, new rows against all
        nb = probe.neighbours()
        n = nb["rows"]
        seconds += nb["fit_seconds"] * (data.n_train / n) ** 2 * (data.cv - 1) / data.cv * 2
        seconds += nb["lookup_seconds"] * (data.n_test * data.n_train) / (n / 2 * n)
    return seconds
