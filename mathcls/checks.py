"""Checks on output paths that run before any work starts.

Every command checks where it will write right after reading its options, so that a path it
cannot write ends in one sentence within a second instead of a traceback after an hour of
training. Data files are checked in :mod:`mathcls.data`, parameters by the estimators' constraint
tables, configs in :mod:`mathcls.config`.

Writability is tested by creating (and removing) a temporary file, not with ``os.access``: the
superuser passes ``os.access`` on a read-only folder, and network file systems answer it wrongly.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import MathclsError

#: Files that mark a folder as one that a command may write into again (a rerun replaces or
#: resumes it). Any other non-empty folder is the user's and is left alone.
FOLDER_KINDS: dict[str, tuple[str, ...]] = {
    "model": ("manifest.json",),
    "run": ("run.json", "state.json", "demo-data", ".lock"),
    "tune": ("best_params.json", "study.journal", "trials.csv", "folds.json"),
    "generated": ("generated.json", "generated_train.csv"),
}

_KIND_WORDS = {
    "model": "a model folder (from `mathcls train`)",
    "run": "a run folder (from `mathcls run` or `mathcls stack`)",
    "tune": "a tuning folder (from `mathcls tune`)",
    "generated": "a folder from `mathcls generate`",
}


def _existing_ancestor(path: Path) -> Path:
    current = path
    while not current.exists() and not current.is_symlink():
        if current.parent == current:
            break
        current = current.parent
    return current


def _check_can_create_in(folder: Path, target: Path, what: str) -> None:
    """``target`` is to be created under ``folder`` (its nearest existing ancestor)."""
    if not folder.is_dir():
        raise MathclsError(f"{what} {target} cannot be created: {folder} is a file, not a folder; choose another path.")
    try:
        fd, probe = tempfile.mkstemp(prefix=".mathcls-write-check-", dir=folder)
    except OSError as exc:
        raise MathclsError(
            f"{what} {target} cannot be written: folder {folder} is not writable ({exc.strerror}); choose another path."
        ) from None
    os.close(fd)
    os.unlink(probe)


def check_output_file(path: str | os.PathLike, what: str = "Output file") -> Path:
    """Check that the file ``path`` can be written: it is not a folder, and its parent is a folder
    (or can be created as one) in which a file can be created. Returns ``Path(path)``."""
    target = Path(path)
    if target.is_dir():
        raise MathclsError(f"{what} {target} is a folder, not a file; pass another path or move the folder away.")
    parent = target.parent
    _check_can_create_in(_existing_ancestor(parent) if not parent.is_dir() else parent, target, what)
    return target


def check_output_folder(path: str | os.PathLike, kind: str | None = None, what: str = "Output folder") -> Path:
    """Check that the folder ``path`` can be written by a command that writes ``kind`` folders.

    It must be absent, empty, or (when ``kind`` is given) a folder of that kind, as recognised by
    :data:`FOLDER_KINDS`; and it, or the folder it will be created in, must be writable.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise MathclsError(f"{what} {target} is a file; pass a folder path.")
    if target.is_dir():
        entries = [p.name for p in target.iterdir()]
        if entries and kind is not None and not any(marker in entries for marker in FOLDER_KINDS[kind]):
            raise MathclsError(
                f"{what} {target} is not empty and is not {_KIND_WORDS[kind]}; pass a new or empty folder "
                "so that nothing of yours is overwritten."
            )
        _check_can_create_in(target, target, what)
    else:
        _check_can_create_in(_existing_ancestor(target), target, what)
    return target


def check_writable_folder(path: str | os.PathLike, what: str) -> Path:
    """A folder that mathcls fills over time (the cache): it exists or can be created, and is writable."""
    return check_output_folder(path, None, what)


def check_cache_folder() -> Path:
    """The on-disk cache of the neural families (``MATHCLS_CACHE``, default ``~/.cache/mathcls``)."""
    from .env import cache_dir

    return check_writable_folder(cache_dir(), "Cache folder (MATHCLS_CACHE)")
