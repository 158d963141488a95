"""Search spaces: one function per estimator family (its :class:`~mathcls.families.Family` names
it), overridable from the TOML config.

A space is a dict ``parameter name -> spec``; a spec is one of::

    {"type": "float", "low": 1.0, "high": 100.0, "log": True}
    {"type": "int", "low": 1, "high": 5, "log": False, "step": 1}
    {"type": "categorical", "choices": [(1, 4), (2, 5), None]}
    {"type": "fixed", "value": 3000}

Parameter names are the estimator's ``__init__`` parameters. Categorical choices may be any value
the estimator accepts (tuples, ``None``); Optuna sees each non-primitive choice as a stable string
label and :func:`suggest` turns it back into the value.

Config overrides live in ``[models.<name>.tune.space]``: a table gives a spec (``type`` may be
left out: ``choices`` means categorical, ``value`` fixed, ``low``/``high`` float or int from
the bounds), a bare value fixes the parameter. ``replace_space = true`` in ``[models.<name>.tune]``
makes the config space replace the default one instead of updating it::

    [models.tfidf.tune.space]
    C = {low = 5.0, high = 50.0, log = true}
    char_ngram_range = {choices = [[2, 5], [3, 6]]}
    max_iter = 2000                      # fixed
    class_weight = {type = "fixed", value = "none"}

This module imports no heavy library; Optuna is imported inside :func:`suggest`'s caller.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from ..errors import MathclsError
from ..params import from_toml

TYPES = ("float", "int", "categorical", "fixed")
_KEYS = {
    "float": {"type", "low", "high", "log", "step"},
    "int": {"type", "low", "high", "log", "step"},
    "categorical": {"type", "choices"},
    "fixed": {"type", "value"},
}


def tfidf_space(params: dict | None = None) -> dict[str, dict]:
    """Search space of :class:`~mathcls.models.tfidf.TfidfLogReg`.

    ========================  ===========  =====================================================
    parameter                 type         range
    ========================  ===========  =====================================================
    ``C``                     float, log   5 .. 80
    ``char_ngram_range``      categorical  (2, 5), (1, 5), (2, 6), (1, 6), (3, 6)
    ``word_ngram_range``      categorical  (1, 2), (1, 3), (1, 1)
    ``min_df``                int          1 .. 3
    ``class_weight``          categorical  None, "balanced"
    ``char_max_features``     categorical  None, 200000
    ========================  ===========  =====================================================

    The ranges come from a wider study on the competition data (C 1..300, max_df, sublinear_tf,
    word-free and 4-gram variants): small C, unigram words, raw term counts and low max_df each lost
    F1-micro, so trials are better spent around the defaults. ``max_df``, ``sublinear_tf`` and
    ``max_features`` stay at the estimator's defaults; a config can put them back (see the module
    docstring). Character ranges stop at 6, so no trial is much slower than the defaults.
    """
    return {
        "C": {"type": "float", "low": 5.0, "high": 80.0, "log": True},
        "char_ngram_range": {"type": "categorical", "choices": [(2, 5), (1, 5), (2, 6), (1, 6), (3, 6)]},
        "word_ngram_range": {"type": "categorical", "choices": [(1, 2), (1, 3), (1, 1)]},
        "min_df": {"type": "int", "low": 1, "high": 3},
        "class_weight": {"type": "categorical", "choices": [None, "balanced"]},
        "char_max_features": {"type": "categorical", "choices": [None, 200000]},
    }


def setfit_space(params: dict | None = None) -> dict[str, dict]:
    """Search space of :class:`~mathcls.models.setfit.SetFitClassifier` (contrastive body + head).

    ========================  ===========  =====================================================
    parameter                 type         range
    ========================  ===========  =====================================================
    ``body_learning_rate``    float, log   5e-6 .. 1e-4
    ``body_epochs``           int          0 .. 2 (0: frozen body, head only)
    ``max_pairs``             categorical  2000, 4000, 8000 (pairs per body epoch)
    ``batch_size``            categorical  16, 32
    ``warmup_ratio``          float        0 .. 0.2
    ``head_C``                float, log   0.1 .. 100 (inverse regularisation of the head)
    ``class_weight``          categorical  None, "balanced"
    ========================  ===========  =====================================================

    Pairs cost time linearly (see the README's benchmarks for SetFit's pairs/s), so the range
    stops at the estimator's default cap. When the config's ``params`` set ``layer`` (frozen layer
    features, which need ``body_epochs=0``), only ``head_C`` and ``class_weight`` are searched.
    """
    if (params or {}).get("layer") is not None:
        return {"head_C": {"type": "float", "low": 0.01, "high": 100.0, "log": True},
                "class_weight": {"type": "categorical", "choices": [None, "balanced"]}}
    return {
        "body_learning_rate": {"type": "float", "low": 5e-6, "high": 1e-4, "log": True},
        "body_epochs": {"type": "int", "low": 0, "high": 2},
        "max_pairs": {"type": "categorical", "choices": [2000, 4000, 8000]},
        "batch_size": {"type": "categorical", "choices": [16, 32]},
        "warmup_ratio": {"type": "float", "low": 0.0, "high": 0.2},
        "head_C": {"type": "float", "low": 0.1, "high": 100.0, "log": True},
        "class_weight": {"type": "categorical", "choices": [None, "balanced"]},
    }


def transformer_space(params: dict | None = None) -> dict[str, dict]:
    """Search space of :class:`~mathcls.models.transformer.TransformerClassifier` (the LoRA space,
    :func:`lora_space`, when the config's ``params`` set ``lora_r``).

    ========================  ===========  =====================================================
    parameter                 type         range
    ========================  ===========  =====================================================
    ``learning_rate``         float, log   1e-5 .. 3e-4
    ``weight_decay``          float        0 .. 0.1
    ``warmup_ratio``          float        0 .. 0.2
    ``batch_size``            categorical  16, 32
    ``epochs``                int          2 .. 5 (pruned per epoch on validation F1-micro)
    ``dropout``               float        0 .. 0.3
    ``max_length``            categorical  128, 256
    ========================  ===========  =====================================================
    """
    if (params or {}).get("lora_r") is not None:
        return lora_space(params)
    return {
        "learning_rate": {"type": "float", "low": 1e-5, "high": 3e-4, "log": True},
        "weight_decay": {"type": "float", "low": 0.0, "high": 0.1},
        "warmup_ratio": {"type": "float", "low": 0.0, "high": 0.2},
        "batch_size": {"type": "categorical", "choices": [16, 32]},
        "epochs": {"type": "int", "low": 2, "high": 5},
        "dropout": {"type": "float", "low": 0.0, "high": 0.3},
        "max_length": {"type": "categorical", "choices": [128, 256]},
    }


def lora_space(params: dict | None = None) -> dict[str, dict]:
    """Search space of :class:`~mathcls.models.transformer.TransformerClassifier` with LoRA adapters
    (what :func:`transformer_space` gives when the config sets ``lora_r``).

    ========================  ===========  =====================================================
    parameter                 type         range
    ========================  ===========  =====================================================
    ``lora_r``                categorical  8, 16, 32 (``lora_alpha`` follows as ``2 * lora_r``)
    ``learning_rate``         float, log   3e-5 .. 5e-4
    ``epochs``                int          1 .. 4 (pruned per epoch on validation F1-micro)
    ``lora_dropout``          float        0 .. 0.2
    ``warmup_ratio``          float        0 .. 0.2
    ========================  ===========  =====================================================

    Adapters train at higher learning rates than full fine-tuning (public QLoRA runs on this
    competition used 1e-4 with rank 8 to 16). Batch size, length and quantisation stay as the
    config sets them: they decide whether a trial fits in GPU memory.
    """
    return {
        "lora_r": {"type": "categorical", "choices": [8, 16, 32]},
        "learning_rate": {"type": "float", "low": 3e-5, "high": 5e-4, "log": True},
        "epochs": {"type": "int", "low": 1, "high": 4},
        "lora_dropout": {"type": "float", "low": 0.0, "high": 0.2},
        "warmup_ratio": {"type": "float", "low": 0.0, "high": 0.2},
    }


def trial_settings(model: str, valid: list[str]) -> dict:
    """The family's trial settings (see :class:`~mathcls.families.Family`) that name parameters in ``valid``."""
    from ..families import get_family

    return {k: v for k, v in get_family(model).trial_settings.items() if k in valid}


def default_space(model: str, params: dict | None = None) -> dict[str, dict]:
    """The search space of family ``model`` given the config's fixed ``params``."""
    from ..families import tunable_family

    return tunable_family(model).search_space(params)


def valid_params(model: str) -> list[str]:
    """The parameter names of the registered estimator ``model``."""
    from ..families import get_family

    return sorted(get_family(model).defaults())


def space_from_config(model: str, config: dict | None = None, valid: list[str] | None = None) -> dict[str, dict]:
    """The default space of ``model`` updated (or replaced) by ``[models.<model>.tune.space]``.

    Every name is checked against the estimator's parameters (``valid``, default: those of the
    registered estimator) and every spec against its type; the space must keep at least one
    parameter to search.
    """
    section = _tune_section(config or {}, model)
    overrides = section.get("space", {})
    if not isinstance(overrides, dict):
        raise MathclsError(f"[models.{model}.tune.space] in the config must be a table of parameter = spec.")
    replace = section.get("replace_space", False)
    if not isinstance(replace, bool):
        raise MathclsError(f"replace_space in [models.{model}.tune] must be true or false; got {replace!r}.")
    params = (config or {}).get("models", {}).get(model, {}).get("params", {})
    default = default_space(model, params if isinstance(params, dict) else None)  # an untunable family: one sentence
    space = {} if replace else default
    for name, raw in overrides.items():
        space[name] = _spec_from_config(model, name, raw)
    return validate_space(model, space, valid)


def tune_settings(config: dict | None, model: str) -> dict[str, Any]:
    """Non-space settings of ``[models.<model>.tune]`` (``pruner``), validated."""
    section = _tune_section(config or {}, model)
    known = {"space", "replace_space", "pruner"}
    unknown = [k for k in section if k not in known]
    if unknown:
        raise MathclsError(
            f"Unknown key {unknown[0]!r} in [models.{model}.tune]; valid keys: {', '.join(sorted(known))}."
        )
    pruner = section.get("pruner", "median")
    if pruner not in ("median", "hyperband", "none"):
        raise MathclsError(f"pruner in [models.{model}.tune] must be 'median', 'hyperband' or 'none'; got {pruner!r}.")
    return {"pruner": pruner}


def _tune_section(config: dict, model: str) -> dict:
    section = config.get("models", {}).get(model, {})
    if not isinstance(section, dict):
        raise MathclsError(f"[models.{model}] in the config must be a table.")
    tune = section.get("tune", {})
    if not isinstance(tune, dict):
        raise MathclsError(f"[models.{model}.tune] in the config must be a table.")
    return tune


def _spec_from_config(model: str, name: str, raw) -> dict:
    if not isinstance(raw, dict):
        return {"type": "fixed", "value": from_toml(raw)}
    spec = dict(raw)
    if "type" not in spec:
        if "choices" in spec:
            spec["type"] = "categorical"
        elif "value" in spec:
            spec["type"] = "fixed"
        elif "low" in spec and "high" in spec:
            ints = all(isinstance(spec[k], int) and not isinstance(spec[k], bool) for k in ("low", "high"))
            spec["type"] = "int" if ints else "float"
        else:
            raise MathclsError(
                f"[models.{model}.tune.space] {name} needs a type (float, int, categorical, fixed) "
                "or low/high, choices or value."
            )
    if "choices" in spec and isinstance(spec["choices"], list):
        spec["choices"] = [from_toml(c) for c in spec["choices"]]
    if "value" in spec:
        spec["value"] = from_toml(spec["value"])
    return spec


def validate_space(model: str, space: dict, valid: list[str] | None = None) -> dict[str, dict]:
    """Check names and specs; return a normalised copy (``log``/``step`` filled in)."""
    if valid is None:
        valid = valid_params(model)
    out = {}
    for name, spec in space.items():
        if name not in valid:
            raise MathclsError(
                f"Unknown parameter {name!r} in the {model} search space; valid parameters: {', '.join(valid)}."
            )
        out[name] = _check_spec(model, name, spec)
    if not searchable(out):
        raise MathclsError(
            f"The {model} search space is empty (no parameter to search); give at least one parameter "
            f"a range or choices in [models.{model}.tune.space]."
        )
    return out


def _check_spec(model: str, name: str, spec) -> dict:
    where = f"Search space parameter {name!r} of {model}"
    if not isinstance(spec, dict):
        raise MathclsError(f"{where} must be a table with a type; got {spec!r}.")
    kind = spec.get("type")
    if kind not in TYPES:
        raise MathclsError(f"{where} has type {kind!r}; use one of: {', '.join(TYPES)}.")
    extra = sorted(set(spec) - _KEYS[kind])
    if extra:
        raise MathclsError(f"{where} has unknown key {extra[0]!r} for type {kind}; allowed: {', '.join(sorted(_KEYS[kind]))}.")
    out = copy.deepcopy(spec)
    if kind in ("float", "int"):
        num = int if kind == "int" else (int, float)
        for key in ("low", "high"):
            if key not in spec:
                raise MathclsError(f"{where} needs {key} for type {kind}.")
            value = spec[key]
            if isinstance(value, bool) or not isinstance(value, num):
                raise MathclsError(f"{where}: {key} must be {'an integer' if kind == 'int' else 'a number'}; got {value!r}.")
        if not spec["low"] < spec["high"]:
            raise MathclsError(f"{where}: low ({spec['low']}) must be below high ({spec['high']}); use type fixed for one value.")
        out["log"] = bool(spec.get("log", False))
        if out["log"] and spec["low"] <= 0:
            raise MathclsError(f"{where}: a log scale needs low > 0; got {spec['low']}.")
        step = spec.get("step")
        if step is not None and (out["log"] or isinstance(step, bool) or not isinstance(step, num) or step <= 0):
            raise MathclsError(f"{where}: step must be a positive number and cannot be used with log; got {step!r}.")
        out["step"] = step if step is not None else (1 if kind == "int" else None)
        if kind == "float":
            out["low"], out["high"] = float(spec["low"]), float(spec["high"])
    elif kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, (list, tuple)) or not choices:
            raise MathclsError(f"{where} needs a non-empty list of choices.")
        labels = [choice_label(c) for c in choices]
        if len(set(map(repr, labels))) != len(labels):
            raise MathclsError(f"{where} lists a choice twice; each choice must be different.")
        out["choices"] = list(choices)
    elif kind == "fixed":
        if "value" not in spec:
            raise MathclsError(f"{where} needs a value for type fixed.")
    return out


def searchable(space: dict) -> list[str]:
    """Names of the parameters that are searched (not fixed, and not a single choice)."""
    return [n for n, s in space.items()
            if s["type"] != "fixed" and not (s["type"] == "categorical" and len(s["choices"]) == 1)]


def fixed_params(space: dict) -> dict:
    return {n: s["value"] for n, s in space.items() if s["type"] == "fixed"}


def choice_label(value):
    """What Optuna stores for a categorical choice: the value itself if primitive, else JSON text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(_jsonable(value))


def _jsonable(value):
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "item"):
        return value.item()
    return value


def suggest(trial, space: dict) -> dict:
    """Sample every parameter of ``space`` from an Optuna trial; returns estimator values."""
    params = {}
    for name, spec in space.items():
        kind = spec["type"]
        if kind == "fixed":
            params[name] = spec["value"]
        elif kind == "float":
            params[name] = trial.suggest_float(name, spec["low"], spec["high"], log=spec["log"], step=spec["step"])
        elif kind == "int":
            params[name] = trial.suggest_int(name, spec["low"], spec["high"], log=spec["log"], step=spec["step"])
        else:
            choices = spec["choices"]
            labels = [choice_label(c) for c in choices]
            picked = trial.suggest_categorical(name, labels)
            params[name] = choices[labels.index(picked)]
    return params


def decode_trial_params(space: dict, trial_params: dict) -> dict:
    """Turn a finished trial's ``params`` (Optuna labels) into estimator values, plus fixed ones."""
    out = fixed_params(space)
    for name, value in trial_params.items():
        spec = space.get(name)
        if spec is not None and spec["type"] == "categorical":
            labels = [choice_label(c) for c in spec["choices"]]
            out[name] = spec["choices"][labels.index(value)] if value in labels else value
        else:
            out[name] = value
    return out


def default_trial(space: dict, defaults: dict) -> dict:
    """The estimator's current values as Optuna trial params, for those the space can express.

    Used to enqueue the defaults as the first trial of a new study, so the tuned result is never
    worse than the defaults on the same folds.
    """
    out = {}
    for name in searchable(space):
        spec, value = space[name], defaults.get(name)
        if spec["type"] == "categorical":
            labels = [choice_label(c) for c in spec["choices"]]
            label = choice_label(value)
            if label in labels:
                out[name] = label
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and spec["low"] <= value <= spec["high"]:
            out[name] = int(value) if spec["type"] == "int" else float(value)
    return out


def space_signature(space: dict) -> str:
    """Canonical JSON of a space, stored in the study to detect a changed search space."""
    canon = {}
    for name in sorted(space):
        spec = space[name]
        item = {"type": spec["type"]}
        if spec["type"] in ("float", "int"):
            item.update(low=spec["low"], high=spec["high"], log=spec["log"], step=spec["step"])
        elif spec["type"] == "categorical":
            item["choices"] = [choice_label(c) for c in spec["choices"]]
        else:
            item["value"] = choice_label(spec["value"])
        canon[name] = item
    return json.dumps(canon, sort_keys=True)
