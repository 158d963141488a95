"""Opening the study storage: a journal file on one machine, an RDB (PostgreSQL, MySQL) across many.

* no ``--storage``: ``<out>/study.journal`` (Optuna's ``JournalStorage`` over a file), safe for
  several worker processes on one machine;
* a file path: a journal file at that path;
* ``postgresql://user:pass@host:5432/db`` or ``mysql+pymysql://...``: an ``RDBStorage`` for
  workers on several machines;
* ``sqlite:///file.db`` works for one worker but is not safe for parallel workers (Optuna's own
  advice), so it prints a warning.

Every storage runs heartbeats: a worker killed mid-trial has that trial failed and its parameters
queued again (``RetryHeartbeatStaleTrialCallback``), by the next trial any worker starts.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import MathclsError, OptionalDependencyError

JOURNAL_FILE = "study.journal"
HEARTBEAT_INTERVAL = 30  # seconds between heartbeats of a running trial
GRACE_PERIOD = 120  # seconds without heartbeat before another worker fails and requeues the trial
MAX_RETRY = 3  # times one trial's parameters are requeued after its worker died

_RDB_SCHEMES = ("postgresql", "postgres", "mysql", "sqlite", "mariadb", "oracle", "mssql")


@dataclass
class OpenedStorage:
    storage: object  # an optuna BaseStorage
    kind: str  # "journal" or "rdb"
    location: str  # journal path or URL with the password masked
    dashboard_arg: str  # what to pass to `optuna-dashboard`
    warning: str | None = None


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def is_url(storage: str) -> bool:
    return "://" in storage


def open_storage(storage: str | os.PathLike | None, out: str | os.PathLike) -> OpenedStorage:
    """Open (and create when needed) the storage named by ``--storage``; see the module docstring.

    Raises :class:`~mathcls.errors.MathclsError` with one sentence when the storage cannot be
    reached or the URL's scheme is not supported.
    """
    if storage is None or str(storage) == "":
        path = Path(out) / JOURNAL_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        return _journal(path)
    text = str(storage)
    if not is_url(text):
        return _journal(Path(text).expanduser())
    scheme = text.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme not in _RDB_SCHEMES:
        raise MathclsError(
            f"Storage {mask_url(text)!r} has an unsupported scheme {scheme!r}; pass a journal file path or an "
            "RDB URL such as postgresql://user:pass@host:5432/db."
        )
    return _rdb(text, scheme)


def _retry_callback():
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)


def _journal(path: Path) -> OpenedStorage:
    from optuna.storages.journal import JournalFileBackend

    from ._heartbeat import HeartbeatJournalStorage

    if path.is_dir():
        raise MathclsError(f"Storage path {path} is a folder; pass a journal file path such as {path / JOURNAL_FILE}.")
    if not path.parent.is_dir():
        raise MathclsError(f"Storage path {path} cannot be created: folder {path.parent} does not exist.")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise MathclsError(f"Storage path {path} is not writable; pass a journal file path you can write.")
    try:
        backend = JournalFileBackend(str(path))
        storage = HeartbeatJournalStorage(
            backend, heartbeat_interval=HEARTBEAT_INTERVAL, grace_period=GRACE_PERIOD,
            heartbeat_stale_trial_callback=_retry_callback(),
        )
    except (OSError, ValueError, KeyError) as exc:
        raise MathclsError(f"Storage file {path} could not be read as an Optuna journal ({exc}); pass another path.") from None
    return OpenedStorage(storage, "journal", str(path), str(path))


def _driver_url(url: str) -> str:
    """Pick an installed PostgreSQL driver for a bare ``postgresql://`` (or ``postgres://``) URL.

    SQLAlchemy 2.1 maps a bare URL to psycopg 3; ``mathcls[postgres]`` installs psycopg2, so use
    whichever is importable.
    """
    import importlib.util

    head, sep, rest = url.partition("://")
    if head.lower() not in ("postgresql", "postgres"):
        return url
    for module, dialect in (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return dialect + sep + rest
    raise OptionalDependencyError(
        "No PostgreSQL driver is installed; install it with `pip install 'mathcls[postgres]'`."
    )


def _is_creation_race(exc: Exception) -> bool:
    try:
        from sqlalchemy.exc import IntegrityError, ProgrammingError
    except ImportError:  # pragma: no cover - sqlalchemy comes with optuna
        return False
    return isinstance(exc, (IntegrityError, ProgrammingError)) and (
        "duplicate" in str(exc).lower() or "already exists" in str(exc).lower())


def _rdb(url: str, scheme: str) -> OpenedStorage:
    import warnings

    import optuna

    from ._heartbeat import OwnerAwareRDBStorage

    masked = mask_url(url)
    url = _driver_url(url)
    warning = None
    if scheme == "sqlite":
        warning = (
            f"Warning: SQLite storage ({masked}) is fine for one worker, but parallel workers will conflict; "
            "use a journal file (one machine) or PostgreSQL/MySQL (several machines)."
        )
    engine_kwargs = {"pool_pre_ping": True}
    if scheme in ("postgresql", "postgres"):
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    elif scheme in ("mysql", "mariadb"):
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        for attempt in range(5):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    storage = OwnerAwareRDBStorage(
                        url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_INTERVAL,
                        grace_period=GRACE_PERIOD, heartbeat_stale_trial_callback=_retry_callback(),
                    )
                break
            except Exception as exc:
                # Workers starting together on an empty database race to create Optuna's tables;
                # the losers see "duplicate key" / "already exists" and succeed on a retry.
                if attempt == 4 or not _is_creation_race(exc):
                    raise
                time.sleep(0.5 + attempt)
    except ImportError as exc:
        raise OptionalDependencyError(
            f"The database driver for {scheme} is not installed ({exc}); for PostgreSQL install `mathcls[postgres]`."
        ) from None
    except Exception as exc:  # sqlalchemy's OperationalError, ArgumentError, ...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MathclsError(
            f"Cannot open storage {masked} ({mask_url(reason)}); check the host, port, database and credentials."
        ) from None
    return OpenedStorage(storage, "rdb", masked, url, warning)
