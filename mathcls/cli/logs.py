"""Where the ``mathcls`` logger's lines go when a command runs: the console (stdout for progress,
stderr for warnings) at the verbosity of ``-q``/``-v``, and ``OUT/run.log`` for ``run`` and ``stack``."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import click

from ..logs import logger, set_quiet

LOG_FILE = "run.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ClickHandler(logging.Handler):
    """Echo records through click, so the stream is the one in use when the line is written."""

    def emit(self, record):
        try:
            click.echo(self.format(record), err=record.levelno >= logging.WARNING)
        except Exception:  # noqa: BLE001 - a log line must never stop the work
            self.handleError(record)


def configure_console(quiet: bool = False, verbose: int = 0) -> None:
    """One console handler on the ``mathcls`` logger: warnings only with ``quiet`` (and no progress
    bars), INFO by default, DEBUG with ``-v``."""
    set_quiet(quiet)
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    for handler in [h for h in logger.handlers if isinstance(h, ClickHandler)]:
        logger.removeHandler(handler)
    console = ClickHandler(level)
    logger.addHandler(console)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False


class _FolderFileHandler(logging.FileHandler):
    """A file handler that creates its folder when it opens the file (at the first line)."""

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


@contextlib.contextmanager
def log_file(folder):
    """Also write every line (DEBUG and up, with times) to ``<folder>/run.log``, appended; the file
    is opened at the first line, so a command refused before any work leaves nothing behind."""
    handler = _FolderFileHandler(Path(folder) / LOG_FILE, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
