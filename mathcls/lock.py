"""One command at a time per output folder: an OS lock on ``<folder>/.lock``.

``mathcls run``, ``stack`` and ``tune`` hold the lock of their ``--out`` while they work, so a second
command on the same folder refuses in one sentence instead of racing on ``state.json``. The lock is
``fcntl.flock``: the system drops it when the holder exits, crashed or killed, so a lock left by a
dead process is simply taken over. The file records who holds it, for the refusal message.
"""

from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import MathclsError

LOCK_FILE = ".lock"


@contextmanager
def folder_lock(folder, command: str, what: str = "Output folder"):
    """Hold ``<folder>/.lock`` while the block runs; raise :class:`MathclsError` naming the holder
    (command, pid, host, start time) when another process holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no flock, no lock
        yield
        return
    path = Path(folder) / LOCK_FILE
    created = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MathclsError(f"{what} {folder} is in use by {_holder(fd)}; wait for it to finish or pass "
                               "another --out.") from None
        info = {"command": command, "pid": os.getpid(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
        if created:
            _remove_if_only_lock(path)


def _remove_if_only_lock(path: Path) -> None:
    """A command that stopped before writing anything leaves no folder behind (only the lock was in it)."""
    try:
        if [p.name for p in path.parent.iterdir()] == [LOCK_FILE]:
            path.unlink()
            path.parent.rmdir()
    except OSError:
        pass


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode())
        return (f"`mathcls {info['command']}` (pid {info['pid']} on {info['host']}, started "
                f"{info['started']})")
    except (OSError, ValueError, KeyError, TypeError):
        return "another mathcls command"
