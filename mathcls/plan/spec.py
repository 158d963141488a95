"""What a config says about time: ``[run] time_limit``, each model's ``priority`` and the ranges the
planner may choose settings from (``[models.<name>.budget]``).

.. code-block:: toml

    [run]
    time_limit = "60m"          # or --time-limit; "none" runs without a limit

    [models.transformer]
    family = "transformer"
    priority = 3                # 1 runs first and is dropped last; default: the order in the file
    [models.transformer.budget] # allowed values; the planner takes the largest that fit
    epochs = [1, 2]
    max_length = [128, 256]

Without a ``budget`` table a model runs with its ``params`` or not at all. Under a time limit the
budget table wins over ``params`` for the keys it lists. Which settings a family lets the planner
vary is its descriptor's ``budget_keys`` (:mod:`mathcls.families`); every allowed value must be one
the estimator accepts, which is checked when the config is read.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from numbers import Integral

from ..errors import MathclsError
from .duration import parse_duration

#: At most this many combinations of settings per model (each is priced, some are measured).
MAX_OPTIONS = 16


@dataclass
class ModelSpec:
    """One model of the config, as the planner sees it."""

    name: str
    family: str
    priority: int
    order: int
    params: dict
    ranges: dict = field(default_factory=dict)
    tune_trials: int = 0
    tune_timeout: float | None = None

    def combinations(self) -> list[dict]:
        """Every allowed combination of the budget settings (``[{}]`` without a budget table)."""
        keys = list(self.ranges)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.ranges[k] for k in keys))]


def read_time_limit(cfg: dict, override=None) -> float | None:
    """Seconds from ``--time-limit`` (``override``, wins) or ``[run] time_limit``; ``None``: no limit."""
    if override is not None:
        return parse_duration(override, "--time-limit")
    run = cfg.get("run", {})
    if not isinstance(run, dict):
        raise MathclsError("[run] in the config must be a table, e.g. [run] time_limit = \"60m\".")
    return parse_duration(run.get("time_limit"), "[run] time_limit")


def model_specs(cfg: dict, names) -> list[ModelSpec]:
    """The specs of the models ``names`` (the run's models, in config order); checks priorities and ranges."""
    from ..params import model_params

    specs = []
    for order, name in enumerate(names):
        entry = cfg["models"][name]
        family = entry["family"]
        priority = entry.get("priority", order + 1)
        if isinstance(priority, bool) or not isinstance(priority, Integral) or priority < 0:
            raise MathclsError(f"[models.{name}] priority must be a whole number ≥ 0 (1 runs first); got {priority!r}.")
        tune = entry.get("tune", {}) or {}
        specs.append(ModelSpec(name=name, family=family, priority=int(priority), order=order,
                               params=model_params(cfg, name),
                               ranges=_ranges(name, family, entry.get("budget"), model_params(cfg, name)),
                               tune_trials=int(tune.get("n_trials", 0) or 0),
                               tune_timeout=float(tune["timeout"]) if tune.get("timeout") else None))
    return specs


def _ranges(name: str, family: str, table, params: dict) -> dict:
    from ..families import get_family

    if table is None:
        return {}
    if not isinstance(table, dict):
        raise MathclsError(f"[models.{name}.budget] must be a table of setting = [allowed values].")
    descriptor = get_family(family)
    allowed = descriptor.budget_keys
    ranges = {}
    for key, values in table.items():
        if allowed is not None and key not in allowed:
            hint = f"use {', '.join(allowed)}" if allowed else f"the {family} family has no settings to plan; remove it"
            raise MathclsError(f"[models.{name}.budget] cannot vary {key!r}; {hint}.")
        values = values if isinstance(values, list) else [values]
        if not values or any(isinstance(v, bool) or not isinstance(v, Integral) or v < 0 for v in values):
            raise MathclsError(f"[models.{name}.budget] {key} must list whole numbers, e.g. {key} = [1, 2]; "
                               f"got {table[key]!r}.")
        ranges[key] = sorted(set(int(v) for v in values))
        for value in ranges[key]:  # each allowed value must be one the estimator accepts
            try:
                descriptor.make({**params, key: value})
            except MathclsError as exc:
                raise MathclsError(f"[models.{name}.budget] {exc}") from None
    count = 1
    for values in ranges.values():
        count *= len(values)
    if count > MAX_OPTIONS:
        raise MathclsError(f"[models.{name}.budget] allows {count} combinations; list at most {MAX_OPTIONS}.")
    return ranges

