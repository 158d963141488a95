"""Declarative parameter checks, in the spirit of scikit-learn's ``_parameter_constraints``.

Each estimator declares a class attribute ``_parameter_constraints``: a dict mapping every
``__init__`` parameter to a list of the values it may take. An entry of the list is a constraint
object below, a type (``str``, ``dict``), ``None`` (the value ``None`` itself) or ``"boolean"``.
:func:`validate_params` checks an estimator against its table and raises one
:class:`~mathcls.errors.ParameterError` (a ``MathclsError`` and a ``ValueError``) naming the
parameter, what it may be and what it got. Rules that tie two parameters together stay as code in
the estimator's ``_check_param_relations``.

Numpy scalars count as the Python numbers they stand for (``np.float32(1e-4)``, ``np.int64(2)``);
booleans are never numbers, so ``C=True`` is refused.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from ..errors import ParameterError

__all__ = ["Interval", "Options", "Pair", "Strings", "Callbacks", "HasMethods", "validate_params", "describe",
           "satisfies"]


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not _is_bool(value)


def _is_real(value) -> bool:
    # nan and inf pass every comparison or none, and no model parameter means them: both are refused.
    return isinstance(value, (int, float, np.integer, np.floating)) and not _is_bool(value) and math.isfinite(value)


class Interval:
    """A number in a range: ``Interval(Integral, 1, None)`` is an integer >= 1,
    ``Interval(Real, 0, 1, closed="left")`` a number in [0, 1)."""

    def __init__(self, kind, left, right, closed: str = "both"):
        if kind not in (Integral, Real) or closed not in ("both", "left", "right", "neither"):
            raise TypeError("Interval(kind=Integral|Real, left, right, closed='both'|'left'|'right'|'neither')")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def accepts(self, value) -> bool:
        if not (_is_int(value) if self.kind is Integral else _is_real(value)):
            return False
        lo_ok = self.left is None or (value >= self.left if self.closed in ("both", "left") else value > self.left)
        hi_ok = self.right is None or (value <= self.right if self.closed in ("both", "right") else value < self.right)
        return lo_ok and hi_ok

    def __str__(self) -> str:
        noun = "an integer" if self.kind is Integral else "a number"
        lo_in, hi_in = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.right is None:
            return f"{noun} {'>=' if lo_in else '>'} {self.left}" if self.left is not None else noun
        if self.left is None:
            return f"{noun} {'<=' if hi_in else '<'} {self.right}"
        return f"{noun} in {'[' if lo_in else '('}{self.left}, {self.right}{']' if hi_in else ')'}"


class Options:
    """One of a fixed set of values (strings mostly): ``Options({"mean", "cls"})``."""

    def __init__(self, values):
        self.values = tuple(values)

    def accepts(self, value) -> bool:
        return isinstance(value, str | None) and value in self.values

    def __str__(self) -> str:
        words = [repr(v) for v in sorted(self.values, key=str)]
        return words[0] if len(words) == 1 else "one of " + ", ".join(words)


class Pair:
    """An n-gram-style integer pair ``(lo, hi)`` with ``low <= lo <= hi``; a list is taken too."""

    def __init__(self, low: int = 1):
        self.low = low

    def accepts(self, value) -> bool:
        return (isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value)
                and self.low <= value[0] <= value[1])

    def __str__(self) -> str:
        return f"a pair (lo, hi) of integers with {self.low} <= lo <= hi"


class Strings:
    """A string or a non-empty list (or tuple) of strings, e.g. layer names."""

    def accepts(self, value) -> bool:
        if isinstance(value, str):
            return True
        return isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(v, str) for v in value)

    def __str__(self) -> str:
        return "a string or a list of strings"


class Callbacks:
    """A list of ``(name, callback)`` pairs, as skorch takes them."""

    def accepts(self, value) -> bool:
        return isinstance(value, (list, tuple)) and all(
            isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) for item in value)

    def __str__(self) -> str:
        return "a list of (name, callback) pairs"


class HasMethods:
    """An object with the named methods: ``HasMethods("fit", "predict_proba")`` for an estimator."""

    def __init__(self, *methods: str):
        self.methods = methods

    def accepts(self, value) -> bool:
        return not isinstance(value, type) and all(callable(getattr(value, m, None)) for m in self.methods)

    def __str__(self) -> str:
        return "an object with " + " and ".join(self.methods)


class _Type:
    def __init__(self, kind):
        self.kind = kind

    def accepts(self, value) -> bool:
        return isinstance(value, self.kind) and not (_is_bool(value) and self.kind is not bool)

    def __str__(self) -> str:
        return {str: "a string", dict: "a dict", list: "a list"}.get(self.kind, f"a {self.kind.__name__}")


class _Exactly:
    def __init__(self, value):
        self.value = value

    def accepts(self, value) -> bool:
        return value is self.value

    def __str__(self) -> str:
        return repr(self.value)


class _Boolean:
    def accepts(self, value) -> bool:
        return _is_bool(value)

    def __str__(self) -> str:
        return "True or False"


def _as_constraint(spec):
    if spec is None:
        return _Exactly(None)
    if spec == "boolean":
        return _Boolean()
    if isinstance(spec, type):
        return _Type(spec)
    if hasattr(spec, "accepts"):
        return spec
    raise TypeError(f"unknown parameter constraint {spec!r}")


def describe(allowed) -> str:
    """``allowed`` (a constraint list) in words: 'an integer >= 1 or None'."""
    words = [str(_as_constraint(c)) for c in allowed]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def satisfies(value, allowed) -> bool:
    """Whether ``value`` meets one of the constraints in ``allowed`` (a constraint list)."""
    return any(_as_constraint(c).accepts(value) for c in allowed)


def validate_params(est, constraints: dict | None = None) -> None:
    """Check every parameter of ``est`` against its constraint table; one ParameterError for the first bad one.

    A parameter missing from the table is a programming error (``TypeError``), so a new parameter
    cannot slip in unchecked.
    """
    table = type(est)._parameter_constraints if constraints is None else constraints
    params = est.get_params(deep=False)
    missing = sorted(set(params) - set(table))
    if missing:
        raise TypeError(f"{type(est).__name__}._parameter_constraints lacks {missing}")
    for name, value in params.items():
        allowed = table[name]
        if allowed == "no_validation":
            continue
        if not satisfies(value, allowed):
            raise ParameterError(f"{name} must be {describe(allowed)}; got {value!r}.")
