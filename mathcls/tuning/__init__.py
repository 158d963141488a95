"""Optuna tuning: one search space per estimator family, a cross-validated objective over the
shared folds, storages for one or many workers, and :func:`tune` that runs one worker.

Importing this package does not import Optuna; :func:`tune` does when it runs.
"""

from __future__ import annotations

from .spaces import lora_space, setfit_space, space_from_config, tfidf_space, transformer_space

__all__ = ["tfidf_space", "setfit_space", "transformer_space", "lora_space", "space_from_config", "tune", "TuneResult"]


def __getattr__(name):
    if name in ("tune", "TuneResult"):
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
