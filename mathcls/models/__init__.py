"""Estimator families, one module each, imported only when asked for (``import mathcls`` never
imports torch). What each family is (its class, space, budget settings, cost) is registered in
:mod:`mathcls.families`; these helpers look estimators up there.
"""

from __future__ import annotations

from ..families import family_names, family_of, get_family


def model_names() -> list[str]:
    return family_names()


def get_model_class(name: str):
    """Return the estimator class registered as ``name``."""
    return get_family(name).estimator_class()


def model_name_of(estimator) -> str:
    """The registry name of an estimator instance (or class)."""
    return family_of(estimator).name


def make_model(name: str, params: dict | None = None):
    """Build a registered estimator, rejecting unknown parameter names and bad values (before any data is read)."""
    return get_family(name).make(params)
