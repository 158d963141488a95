"""Configuration: TOML run configs, ``MATHCLS_*`` environment variables and the record of a run.

Nothing else in mathcls reads environment variables.
"""

from __future__ import annotations

import copy
import json
import os
import platform
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

from .errors import MathclsError

ENV_PREFIX = "MATHCLS_"

DEFAULT_SEED = 42


def env(name: str, default: str | None = None) -> str | None:
    """Read ``MATHCLS_<name>`` from the environment."""
    return os.environ.get(ENV_PREFIX + name, default)


def cache_dir() -> Path:
    """The on-disk cache folder: ``MATHCLS_CACHE`` or ``~/.cache/mathcls``."""
    value = env("CACHE")
    path = Path(value) if value else Path.home() / ".cache" / "mathcls"
    return path.expanduser()


def quiet_openmp_threads() -> None:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless the user chose a policy.

    OpenMP threads that busy-wait between parallel regions (the default) slow torch down about
    three times on a small CPU shared with other work. OpenMP reads the variable once, when torch
    loads, so this runs before any torch import: in the CLI's entry point and when the neural
    model modules are imported.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def launcher_mixed_precision() -> str | None:
    """The mixed precision ``accelerate launch`` was started with (``ACCELERATE_MIXED_PRECISION``), if any."""
    value = os.environ.get("ACCELERATE_MIXED_PRECISION")
    return value.lower() if value else None


def load_config(path: str | os.PathLike | None) -> dict[str, Any]:
    """Read a TOML config; ``None`` gives an empty config."""
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise MathclsError(f"Config file {p} does not exist; pass the path of a TOML file.")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise MathclsError(f"Config file {p} is not valid TOML ({exc}); fix the file and retry.") from None


def merge(base: dict, override: dict) -> dict:
    """Deep-merge ``override`` into a copy of ``base``."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def model_params(config: dict, model: str) -> dict[str, Any]:
    """The estimator parameters of ``model`` in a config (``[models.<model>.params]``)."""
    section = config.get("models", {}).get(model, {})
    params = section.get("params", {})
    if not isinstance(params, dict):
        raise MathclsError(f"[models.{model}.params] in the config must be a table of parameter = value.")
    return {k: _from_toml(v) for k, v in params.items()}


def _from_toml(value):
    # TOML has no tuples or None: lists of two numbers become tuples, "none" becomes None.
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return tuple(value)
    if isinstance(value, str) and value.lower() in {"none", "null"}:
        return None
    return value


def package_versions(names=("mathcls", "numpy", "pandas", "scikit-learn", "lightgbm", "optuna",
                            "torch", "transformers", "sentence-transformers", "setfit")) -> dict[str, str]:
    """Installed versions of the packages a result depends on (``None`` when absent)."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def to_jsonable(value):
    """Turn tuples, numpy scalars and paths into JSON-friendly values."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


def write_json(path: str | os.PathLike, payload) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    from .atomic import write_text

    write_text(path, json.dumps(to_jsonable(payload), indent=2, sort_keys=False) + "\n")


def kaggle_credentials_source() -> str | None:
    """Where Kaggle credentials would come from, or ``None`` when there are none.

    Looks at ``KAGGLE_USERNAME``/``KAGGLE_KEY``, ``KAGGLE_API_TOKEN`` and ``kaggle.json`` or
    ``access_token`` in ``KAGGLE_CONFIG_DIR`` (default ``~/.kaggle``).
    """
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME/KAGGLE_KEY"
    if os.environ.get("KAGGLE_API_TOKEN"):
        return "KAGGLE_API_TOKEN"
    folder = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle").expanduser()
    for name in ("kaggle.json", "access_token"):
        if (folder / name).is_file():
            return str(folder / name)
    return None
