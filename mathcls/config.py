"""TOML run configs: the schema every config is checked against when it is read, the built-in configs
and merging a user's config over them. Environment variables live in :mod:`mathcls.env`, estimator
parameters' TOML values in :mod:`mathcls.params`, JSON writing in :mod:`mathcls.atomic`."""

from __future__ import annotations

import copy
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from .errors import ConfigError, MathclsError, did_you_mean
from .params import model_params

#: The seed of folds and models when a config or command gives none.
DEFAULT_SEED = 42
#: The folds of a run when a config or command gives no ``cv``.
DEFAULT_CV = 5


class ResolvedConfig(dict):
    """A run's config as :func:`resolve_config` made it: the user's config merged over the built-in one,
    checked, with every model's ``family``, ``cv`` and ``seed`` filled in.

    The CLI resolves a config once, before any data is read, and passes this object down;
    resolving it again returns it unchanged instead of reading and checking it again.
    """


# ---------------------------------------------------------------------------------------- schema
class Table:
    """The schema of one TOML table.

    ``keys`` maps every key the table may hold to a constraint list (the objects of
    :mod:`mathcls.models.validation`) or to the :class:`Table` of a sub-table; it may be a function
    returning that mapping, for keys that another part of mathcls declares. ``each`` instead gives the
    schema of every entry of a table of named entries (``[models.<name>]``). ``free`` leaves the
    keys to a later check (estimator parameters, search-space specs). ``what`` says in words what
    the table holds, for the message when a plain value stands where the table belongs.
    """

    def __init__(self, keys=None, each=None, free: bool = False, what: str = "a table"):
        self.keys, self.each, self.free, self.what = keys, each, free, what

    def key_schemas(self) -> dict:
        return self.keys() if callable(self.keys) else dict(self.keys or {})


class NameList:
    """A list of model names (strings)."""

    def accepts(self, value) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) and v for v in value)

    def __str__(self) -> str:
        return "a list of model names such as [\"tfidf\", \"embed\"]"


#: Keys of StackingEnsemble that ``mathcls run`` sets itself; a config's [stack] cannot.
STACK_KEYS_SET_BY_RUN = ("estimators", "final_estimator", "cv", "random_state", "cache_dir", "verbose", "metric")


class ColumnList:
    """A column name or a list of column names (``[data] text``)."""

    def accepts(self, value) -> bool:
        values = [value] if isinstance(value, str) else value
        return isinstance(values, list) and bool(values) and all(isinstance(v, str) and v for v in values)

    def __str__(self) -> str:
        return "a column name or a list of them such as [\"title\", \"body\"]"


def _metric_names() -> list[str]:
    from .metrics import METRICS

    return list(METRICS)


def _stack_keys() -> dict:
    # [stack] holds StackingEnsemble's own parameters, so its keys follow the estimator's table.
    from .models import get_model_class

    table = get_model_class("stack")._parameter_constraints
    return {k: v for k, v in table.items() if k not in STACK_KEYS_SET_BY_RUN}


def _families() -> list[str]:
    from .families import family_names

    return family_names(base_only=True)


def _schema() -> Table:
    from numbers import Integral, Real

    from .models.validation import Interval, Options

    tune = Table({
        "n_trials": [Interval(Integral, 0, None)],          # trials of the study run by `mathcls run`
        "timeout": [Interval(Real, 0, None, closed="neither")],  # seconds
        "pruner": [Options({"median", "hyperband", "none"})],
        "space": Table(free=True, what="a table of parameter = range"),
        "replace_space": ["boolean"],
    })
    model = Table({
        "family": [Options(_families())],
        "enabled": ["boolean"],
        "priority": [Interval(Real, None, None)],
        "params": Table(free=True, what="a table of parameter = value"),
        "tune": tune,
        # Checked per family by mathcls.plan.spec (see _check_model_entry).
        "budget": Table(free=True, what="a table of setting = [allowed values]"),
    })
    return Table({
        "seed": [Interval(Integral, 0, None)],
        "cv": [Interval(Integral, 2, None)],
        "run": Table({"models": [NameList()], "time_limit": [str], "metric": [Options(set(_metric_names()))]}),
        # Which columns hold what (mathcls.schema); unset: read from the files.
        "data": Table({"id": [str], "target": [str], "text": [ColumnList()]}),
        "models": Table(each=model, what="a table of [models.<name>] sections"),
        "stack": Table(_stack_keys),
        "generation": Table({"enabled": ["boolean"], "per_class": [Interval(Integral, 0, None)], "balance": ["boolean"],
                             "augment_per_row": [Interval(Integral, 0, None)],
                             # the data's classes -> the generator's Kasut topic ids (mathcls.generate)
                             "topics": Table(free=True, what="a table of \"<class>\" = <topic id 0..7>")}),
    }, what="a table")


def _where(path: list[str], table: bool = False) -> str:
    """``["models", "tfidf"]`` -> ``[models.tfidf]`` (a table), ``["stack", "cv"]`` -> ``[stack] cv``."""
    if table:
        return f"[{'.'.join(path)}]"
    return path[-1] if len(path) == 1 else f"[{'.'.join(path[:-1])}] {path[-1]}"


def _expected(allowed) -> str:
    from .models.validation import describe

    return describe(allowed).replace("True or False", "true or false")  # TOML spells them in lower case


def _check_table(value, schema: Table, path: list[str]) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{_where(path)} must be {schema.what}; got {value!r}.")
    if schema.free:
        return
    if schema.each is not None:
        for name, entry in value.items():
            if not _MODEL_NAME.fullmatch(name):
                raise ConfigError(f"{_where(path + [name], table=True)}: a model name may hold letters, digits, "
                                  "'_' and '-' only; rename the section.")
            if not isinstance(entry, dict):
                raise ConfigError(f"{_where(path + [name], table=True)} must be a table; got {name} = {entry!r}.")
            _check_table(entry, schema.each, path + [name])
        return
    keys = schema.key_schemas()
    for key, item in value.items():
        if key not in keys:
            where = f"in {_where(path, table=True)}" if path else "at the top level"
            raise ConfigError(f"unknown key {key!r} {where}{did_you_mean(key, keys)}; "
                              f"valid keys: {', '.join(sorted(keys))}.")
        spec = keys[key]
        if isinstance(spec, Table):
            _check_table(item, spec, path + [key])
        else:
            _check_value(item, spec, path + [key])


def _check_value(value, allowed, path: list[str]) -> None:
    from .models.validation import Options, satisfies

    if satisfies(value, allowed):
        return
    options = [v for c in allowed if isinstance(c, Options) for v in c.values]
    hint = did_you_mean(value, options) if isinstance(value, str) and options else ""
    raise ConfigError(f"{_where(path)} must be {_expected(allowed)}{hint}; got {value!r}.")


def _check_model_entry(name: str, entry: dict) -> None:
    """A model section's family, its parameters (names and values, by building the estimator) and
    its search space."""
    from .models import get_model_class, make_model

    family = entry.get("family", name)
    if family not in _families():
        raise ConfigError(f"[models.{name}] has no family and {name!r} is not one; add family = "
                          f"one of {', '.join(map(repr, _families()))}.")
    params = model_params({"models": {name: entry}}, name)
    valid = sorted(get_model_class(family)().get_params(deep=False))
    for key in params:
        if key not in valid:
            raise ConfigError(f"[models.{name}.params] has unknown parameter {key!r} for family {family}"
                              f"{did_you_mean(key, valid)}; valid parameters: {', '.join(valid)}.")
    try:
        make_model(family, params)
    except MathclsError as exc:
        raise ConfigError(f"[models.{name}.params] {exc}") from None
    if "priority" in entry or "budget" in entry:
        from .plan.spec import model_specs

        try:  # the planner's own checks: a whole-number priority, allowed budget settings and values
            model_specs({"models": {name: {**entry, "family": family}}}, [name])
        except MathclsError as exc:
            raise ConfigError(str(exc)) from None
    tune = entry.get("tune", {})
    if "space" in tune or "replace_space" in tune:
        from .tuning.spaces import space_from_config

        searched = {k: v for k, v in tune.items() if k in ("space", "replace_space")}
        try:
            space_from_config(family, {"models": {family: {"tune": searched}}}, valid)
        except MathclsError as exc:
            raise ConfigError(f"[models.{name}.tune] {exc}") from None


def _check_stack(stack: dict) -> None:
    from .models import get_model_class
    from .models.validation import validate_params

    cls = get_model_class("stack")
    try:
        validate_params(cls(**stack))
    except MathclsError as exc:
        raise ConfigError(f"[stack] {exc}") from None


def check_config(cfg: dict, source) -> dict:
    """Check a config read from ``source`` against the schema: unknown keys, value types, model
    families, each model's parameters and search space, and the [stack] parameters.

    Raises one :class:`~mathcls.errors.ConfigError` naming ``source``, the key and what it must be;
    nothing is read but the config. Returns ``cfg`` unchanged.
    """
    try:
        _check_table(cfg, _schema(), [])
        if "time_limit" in cfg.get("run", {}):
            from .plan.duration import parse_duration

            try:
                parse_duration(cfg["run"]["time_limit"], "[run] time_limit")
            except MathclsError as exc:
                raise ConfigError(str(exc)) from None
        for name, entry in cfg.get("models", {}).items():
            _check_model_entry(name, entry)
        if "stack" in cfg:
            _check_stack(cfg["stack"])
    except ConfigError as exc:
        raise ConfigError(f"Config {source}: {exc}") from None
    return cfg


_MODEL_NAME = re.compile(r"[A-Za-z0-9_-]+")


# ---------------------------------------------------------------------------------------- loading
def _parse(text: str, source) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {source} is not valid TOML ({exc}); fix the file and retry.") from None


def load_config(path: str | os.PathLike | None) -> dict[str, Any]:
    """Read and check a TOML config (see :func:`check_config`); ``None`` gives an empty config."""
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Config file {p} does not exist; pass the path of a TOML file.")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"Config file {p} is not UTF-8 text; save it as UTF-8 and retry.") from None
    return check_config(_parse(text, p), p)


#: The configs shipped inside the package (mathcls/configs/<name>.toml).
BUILTIN_CONFIGS = ("cpu", "demo")


def builtin_config(name: str = "cpu") -> dict[str, Any]:
    """A config shipped as package data: ``cpu`` (the default of ``mathcls run``) or ``demo``."""
    from importlib import resources

    if name not in BUILTIN_CONFIGS:
        raise ConfigError(f"No built-in config {name!r}; built-in configs: {', '.join(BUILTIN_CONFIGS)}.")
    resource = resources.files("mathcls.configs") / f"{name}.toml"
    source = f"mathcls/configs/{name}.toml"
    return check_config(_parse(resource.read_text(encoding="utf-8"), source), source)


def resolve_config(config=None, base: dict | None = None) -> dict:
    """The built-in ``cpu`` config (or ``base``) merged with the user's config (a path or a dict).

    A user config that lists models replaces the default model list instead of adding to it, and
    the default [run] table with it (its time limit was planned for the default models).
    Names that [run] models and [stack] pseudo_label give must be defined models. Every model
    entry gets its ``family`` (default: its name). Returns a :class:`ResolvedConfig`; ``config``
    that already is one comes back as it is.
    """
    if isinstance(config, ResolvedConfig):
        return config
    source = "(given as a dict)" if isinstance(config, dict) else config
    user = check_config(copy.deepcopy(config), source) if isinstance(config, dict) else load_config(config)
    base = builtin_config("cpu") if base is None else base
    if user.get("models"):
        cfg = merge({k: v for k, v in base.items() if k not in ("models", "run")}, user)
    else:
        cfg = merge(base, user)
    models = cfg.setdefault("models", {})
    for name, entry in models.items():
        entry.setdefault("family", name)
    references = [("[run] models", cfg.get("run", {}).get("models", [])),
                  ("[stack] pseudo_label", _names(cfg.get("stack", {}).get("pseudo_label", [])))]
    for where, names in references:
        unknown = [n for n in names if n not in models]
        if unknown:
            raise ConfigError(f"Config {source}: {where} names {unknown[0]!r}{did_you_mean(unknown[0], models)}, "
                              f"which the config does not define; defined: {', '.join(models)}.")
    cfg.setdefault("cv", DEFAULT_CV)
    cfg.setdefault("seed", DEFAULT_SEED)
    return ResolvedConfig(cfg)


def _names(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def model_entry(cfg: dict, model: str, source=None) -> tuple[str, str, dict]:
    """``(name, family, entry)`` of the config model that ``mathcls train/tune MODEL`` means.

    ``model`` is a config model name (``word``) or a family (``tfidf``): a family picks the entry of
    that name or else the only entry of that family. A config that defines models but none that
    ``model`` names, or several of its family, is refused rather than silently ignored. Without
    models in the config the entry is empty.
    """
    models = cfg.get("models", {})
    families = _families()
    if model in models and (model not in families or models[model].get("family", model) == model):
        return model, models[model].get("family", model), models[model]
    if model not in families:
        raise ConfigError(f"Unknown model {model!r}{did_you_mean(model, families + list(models))}; pass a family "
                          f"({', '.join(families)}) or a model the config defines ({', '.join(models) or 'none'}).")
    same = [n for n, e in models.items() if e.get("family", n) == model]
    where = f"Config {source}" if source else "The config"
    if len(same) > 1:
        raise ConfigError(f"{where} defines several {model} models ({', '.join(same)}); pass one of their names "
                          f"instead of {model!r}.")
    if same:
        return same[0], model, models[same[0]]
    if models:
        raise ConfigError(f"{where} defines no {model} model (it defines {', '.join(models)}); pass one of those "
                          "names, or leave out --config.")
    return model, model, {}


def merge(base: dict, override: dict) -> dict:
    """Deep-merge ``override`` into a copy of ``base``."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
