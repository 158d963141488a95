"""Estimator parameters as a config gives them: ``[models.<name>.params]`` turned into Python values.

TOML has no tuples and no null, so a list of two numbers becomes a tuple and ``"none"`` becomes
``None``; search-space specs (:mod:`mathcls.tuning.spaces`) use the same conversion.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError


def model_params(config: dict, model: str) -> dict[str, Any]:
    """The estimator parameters of ``model`` in a config (``[models.<model>.params]``)."""
    section = config.get("models", {}).get(model, {})
    params = section.get("params", {})
    if not isinstance(params, dict):
        raise ConfigError(f"[models.{model}.params] in the config must be a table of parameter = value.")
    return {k: from_toml(v) for k, v in params.items()}


def from_toml(value):
    # TOML has no tuples or None: lists of two numbers become tuples, "none" becomes None.
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return tuple(value)
    if isinstance(value, str) and value.lower() in {"none", "null"}:
        return None
    return value
