"""The ``mathcls`` logger: library code reports through it and never prints; the CLI decides
where lines go (console at the verbosity asked, ``OUT/run.log``; see :mod:`mathcls.cli.logs`).

Functions that report progress take an ``echo`` callable; its default, :func:`say`, logs at INFO.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("mathcls")


def say(message: str) -> None:
    """Log one progress line at INFO on the ``mathcls`` logger (the default ``echo``)."""
    logger.info(message)


_quiet = False


def set_quiet(quiet: bool) -> None:
    """``mathcls -q``: no progress bars (the CLI sets it with the console's verbosity)."""
    global _quiet
    _quiet = bool(quiet)


def quiet() -> bool:
    """Whether progress bars are off (every ``tqdm`` in mathcls passes ``disable=quiet()``)."""
    return _quiet
