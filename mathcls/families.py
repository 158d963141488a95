"""Model families: everything mathcls knows about a kind of estimator, in one descriptor per family.

A :class:`Family` names the estimator class (imported on first use, so ``import mathcls`` imports
no torch) and holds what the rest of mathcls asks about it: the parameter constraints (the
estimator's own ``_parameter_constraints`` table), the search space tuning starts from, the settings
the planner may vary under a time limit, the cost model that prices them, the rows the machine probe
fits on, and how tuning trials run. Config checks, tuning, the planner, the stack's fold cache and
model folders read this registry and nothing else, so a new family is one module that defines its
estimator and registers its descriptor::

    from mathcls.families import Family, register

    register(Family("nb", "mypackage.nb:NaiveBayesText", space=lambda params: {
        "alpha": {"type": "float", "low": 0.01, "high": 1.0, "log": True}}, budget_keys=()))

References to code (``estimator``, ``space``, ``cost``) are ``"module:attribute"`` strings, imported
when first used, or the objects themselves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .errors import MathclsError, did_you_mean

Ref = str | Callable


def _load(ref: Ref):
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Family:
    """One estimator family.

    Parameters
    ----------
    name : str
        What configs (``family = ...``), the CLI and model folders call it.
    estimator : str or type
        ``"module:Class"`` (imported on first use) or the class.
    space : str, callable or None
        ``space(params) -> search space`` (see :mod:`mathcls.tuning.spaces`); ``params`` are the
        config's fixed parameters, so a space may depend on them. ``None``: the family is not tuned.
    budget_keys : tuple of str or None
        Parameters ``[models.<name>.budget]`` may vary under a time limit; ``None`` allows any
        whole-number parameter (each combination measured on its own).
    cost : str or callable
        ``cost(family, params, data, probe, probe_length) -> Cost`` (see :mod:`mathcls.plan.costs`);
        ``params`` hold every parameter of the estimator. The default times fits on a few rows.
    probe_rows : tuple of int
        Sample sizes the default cost model fits on (the largest is capped at a fold's rows, the
        others shrink with it); two sizes give the fit time's growth with the rows.
    trial_settings : mapping
        Parameters every tuning trial's estimator gets but ``best_params.json`` does not (no
        checkpoints, logs or progress bars from trials).
    epoch_pruned : bool
        Trials report validation F1-micro per epoch through ``callbacks`` and are pruned per epoch
        (otherwise per fold).
    uses_cache : bool
        Whether the family writes mathcls's on-disk cache (tokenised texts, frozen embeddings), so
        commands check that the cache folder is writable before any work.
    base : bool
        Whether a config model (``[models.<name>]``) may be of this family; the stack and its
        meta-learner are families of model folders only.
    """

    name: str
    estimator: str | type
    space: Ref | None = None
    budget_keys: tuple[str, ...] | None = None
    cost: Ref = "mathcls.plan.costs:fitted_cost"
    probe_rows: tuple[int, ...] = (32,)
    trial_settings: Mapping = field(default_factory=dict)
    epoch_pruned: bool = False
    uses_cache: bool = False
    base: bool = True

    # ---- the estimator ----
    def estimator_class(self) -> type:
        return _load(self.estimator)

    @property
    def class_path(self) -> str:
        """``module.Class`` of the estimator, as model folders record it."""
        if isinstance(self.estimator, str):
            return self.estimator.replace(":", ".")
        return f"{self.estimator.__module__}.{self.estimator.__qualname__}"

    @property
    def constraints(self) -> dict:
        """The estimator's parameter constraint table (see :mod:`mathcls.models.validation`)."""
        return dict(self.estimator_class()._parameter_constraints)

    def defaults(self) -> dict:
        """Every parameter of the estimator with its default value (``get_params()`` of a new one)."""
        return self.estimator_class()().get_params(deep=False)

    def make(self, params: dict | None = None):
        """A new estimator with ``params``; an unknown name or a bad value is refused in one sentence
        before any data is read."""
        est = self.estimator_class()()
        if params:
            valid = sorted(est.get_params(deep=False))
            unknown = [k for k in params if k not in valid]
            if unknown:
                raise MathclsError(
                    f"Unknown parameter {unknown[0]!r} for model {self.name!r}{did_you_mean(unknown[0], valid)}; "
                    f"valid parameters: {', '.join(valid)}."
                )
            est.set_params(**params)
        est._validate_params()
        return est

    # ---- tuning ----
    @property
    def tunable(self) -> bool:
        return self.space is not None

    def search_space(self, params: dict | None = None) -> dict:
        """The default search space, given the config's fixed ``params``."""
        if self.space is None:
            tunable_family(self.name)  # raises: names the families that can be tuned
        return _load(self.space)(dict(params or {}))

    # ---- planning ----
    def price(self, params: dict, data, probe, probe_length: int | None = None):
        """The :class:`~mathcls.plan.costs.Cost` of one model with ``params`` (defaults filled in)."""
        return _load(self.cost)(self, {**self.defaults(), **params}, data, probe, probe_length)


#: The registry: family name -> descriptor. Read it through the functions below.
FAMILIES: dict[str, Family] = {}


def register(family: Family, replace: bool = False) -> Family:
    """Add ``family`` to the registry (``replace`` lets a name be registered again)."""
    if family.name in FAMILIES and not replace:
        raise ValueError(f"A model family named {family.name!r} is already registered.")
    FAMILIES[family.name] = family
    return family


def unregister(name: str) -> None:
    FAMILIES.pop(name, None)


def get_family(name: str) -> Family:
    """The descriptor of family ``name``; an unknown name is one sentence naming the known ones."""
    if name not in FAMILIES:
        raise MathclsError(f"Unknown model {name!r}{did_you_mean(name, list(FAMILIES))}; "
                           f"choose one of: {', '.join(FAMILIES)}.")
    return FAMILIES[name]


def family_names(base_only: bool = False) -> list[str]:
    """Registered family names (``base_only``: those a config model may use)."""
    return [n for n, f in FAMILIES.items() if f.base or not base_only]


def tunable_families() -> list[str]:
    return [n for n, f in FAMILIES.items() if f.tunable]


def tunable_family(name: str) -> Family:
    """The descriptor of family ``name`` when it has a search space; else one sentence naming those that do."""
    tunable = tunable_families()
    if name not in tunable:
        raise MathclsError(f"Unknown model family {name!r} for tuning{did_you_mean(name, tunable)}; "
                           f"choose one of: {', '.join(tunable)}.")
    return FAMILIES[name]


def family_of(estimator) -> Family:
    """The descriptor of an estimator instance (or class)."""
    cls = estimator if isinstance(estimator, type) else type(estimator)
    path = f"{cls.__module__}.{cls.__qualname__}"
    for family in FAMILIES.values():
        if family.estimator is cls or family.class_path == path:
            return family
    raise MathclsError(f"{cls.__name__} is not a registered mathcls model; it cannot be saved as a model folder.")


# ---------------------------------------------------------------------------------------- built-in families
_SPACES = "mathcls.tuning.spaces"
_COSTS = "mathcls.plan.costs"

for _family in (
    Family("tfidf", "mathcls.models.tfidf:TfidfLogReg", space=f"{_SPACES}:tfidf_space", budget_keys=(),
           probe_rows=(600, 1200)),
    Family("transformer", "mathcls.models.transformer:TransformerClassifier", space=f"{_SPACES}:transformer_space",
           budget_keys=("epochs", "max_length"), cost=f"{_COSTS}:transformer_cost",
           trial_settings={"output_dir": None, "logging_dir": None, "progress_bar": False}, epoch_pruned=True,
           uses_cache=True),
    Family("setfit", "mathcls.models.setfit:SetFitClassifier", space=f"{_SPACES}:setfit_space",
           budget_keys=("max_length", "body_epochs", "max_pairs"), cost=f"{_COSTS}:setfit_cost",
           trial_settings={"progress_bar": False}, uses_cache=True),
    Family("stack", "mathcls.stacking._ensemble:StackingEnsemble", base=False),
    Family("meta-lgbm", "mathcls.stacking._meta_learner:MetaLGBMClassifier", base=False),
):
    register(_family)
del _family
