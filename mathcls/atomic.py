"""The one way mathcls writes a file or folder: under a temporary name beside it, renamed into place.

A crash, Ctrl-C or full disk never leaves a half-written file: readers see the old version or the
new one. Every writer in mathcls (JSON, CSV, PNG, model folders, cache shards and markers) goes
through :func:`atomic_path`.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    Write a file or build a folder at the yielded path. ``suffix`` keeps an extension that a writer
    reads (``".png"`` for matplotlib). An existing folder at ``path`` is replaced whole.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = target.with_name(f".{target.name}.{token}.tmp{suffix}")
    try:
        yield tmp
        if tmp.is_dir() and target.is_dir():
            old = target.with_name(f".{target.name}.{token}.old")
            os.replace(target, old)
            os.replace(tmp, target)
            _remove(old)
        else:
            os.replace(tmp, target)
    finally:
        _remove(tmp)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def to_jsonable(value):
    """Turn tuples, numpy scalars and paths into JSON-friendly values."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


def write_json(path: str | os.PathLike, payload) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    write_text(path, json.dumps(to_jsonable(payload), indent=2, sort_keys=False) + "\n")
