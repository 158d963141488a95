"""Durations as people write them: ``90s``, ``45m``, ``2h``, ``1h30m``, ``1.5h``."""

from __future__ import annotations

import math
import re

from ..errors import MathclsError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smh])")
_OFF = {"none", "off", "no", ""}


def parse_duration(value, what: str = "--time-limit") -> float | None:
    """Seconds in ``value``: a string with units (``"90s"``, ``"45m"``, ``"2h"``, ``"1h30m"``) or a
    number of seconds (TOML ``time_limit = 3600``). ``"none"``/``"off"`` and ``None`` mean no limit.

    Raises :class:`~mathcls.errors.MathclsError` (one sentence) for anything else.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise MathclsError(f"{what} must be a duration such as 90s, 45m or 2h; got {value!r}.")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        if text in _OFF:
            return None
        compact = text.replace(" ", "")
        parts = _PART.findall(compact)
        if not parts or "".join(n + u for n, u in parts) != compact or len({u for _, u in parts}) != len(parts):
            raise MathclsError(f"{what} {value!r} is not a duration; write a number with a unit: 90s, 45m or 2h.")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise MathclsError(f"{what} must be a positive duration such as 90s, 45m or 2h; got {value!r}.")
    return seconds


def format_duration(seconds: float) -> str:
    """A short human form: ``45 s``, ``12.5 min``, ``2.1 h``."""
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
