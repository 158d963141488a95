"""The environment mathcls runs in: every ``MATHCLS_*`` variable, the cache folder, the variables
it sets or reads for the libraries (OpenMP, Accelerate, Kaggle credentials) and the package
versions a result depends on.

Nothing else in mathcls reads environment variables (besides the libraries' own, such as
``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

ENV_PREFIX = "MATHCLS_"


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
