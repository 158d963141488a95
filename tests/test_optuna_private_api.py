"""The private Optuna API that mathcls.tuning._heartbeat leans on is still where and what it was.

pyproject pins ``optuna<6`` for this reason. When one of these tests fails after an Optuna
upgrade, the heartbeat storages (requeueing trials of killed workers) no longer plug into Optuna:
read the new ``optuna/storages/_heartbeat.py`` and adapt ``mathcls/tuning/_heartbeat.py`` before
raising the pin.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

optuna = pytest.importorskip("optuna")

MOVED = "Optuna's private heartbeat API changed (optuna {version}): {what}; adapt mathcls/tuning/_heartbeat.py."

#: The abstract methods of BaseHeartbeat that HeartbeatJournalStorage implements, with their parameters.
HEARTBEAT_METHODS = {
    "record_heartbeat": ["self", "trial_id"],
    "_get_stale_trial_ids": ["self", "study_id"],
    "get_heartbeat_interval": ["self"],
    "get_heartbeat_stale_trial_callback": ["self"],
}


def _moved(what: str) -> str:
    return MOVED.format(version=optuna.__version__, what=what)


def _heartbeat_module():
    try:
        return importlib.import_module("optuna.storages._heartbeat")
    except ImportError as exc:
        pytest.fail(_moved(f"optuna.storages._heartbeat cannot be imported ({exc})"))


def test_base_heartbeat_has_the_methods_we_implement():
    module = _heartbeat_module()
    base = getattr(module, "BaseHeartbeat", None)
    assert inspect.isclass(base), _moved("optuna.storages._heartbeat.BaseHeartbeat is gone")
    assert set(base.__abstractmethods__) == set(HEARTBEAT_METHODS), _moved(
        f"BaseHeartbeat's abstract methods are now {sorted(base.__abstractmethods__)}, "
        f"not {sorted(HEARTBEAT_METHODS)}")
    for name, params in HEARTBEAT_METHODS.items():
        got = list(inspect.signature(getattr(base, name)).parameters)
        assert got == params, _moved(f"BaseHeartbeat.{name} now takes {got}, not {params}")


def test_optimize_loop_sees_our_journal_storage_as_heartbeat_storage(tmp_path):
    """The optimize loop decides with ``is_heartbeat_enabled`` whether to run heartbeats and fail
    stale trials; our journal storage must count, or killed workers' trials stay RUNNING."""
    module = _heartbeat_module()
    enabled = getattr(module, "is_heartbeat_enabled", None)
    assert callable(enabled), _moved("optuna.storages._heartbeat.is_heartbeat_enabled is gone")
    from optuna.storages.journal import JournalFileBackend

    from mathcls.tuning._heartbeat import HeartbeatJournalStorage

    storage = HeartbeatJournalStorage(JournalFileBackend(str(tmp_path / "study.journal")), heartbeat_interval=5)
    assert enabled(storage) is True, _moved("is_heartbeat_enabled no longer accepts a BaseHeartbeat subclass")
    assert storage.get_heartbeat_interval() == 5


def test_rdb_storage_pieces_we_override_or_read():
    rdb = optuna.storages.RDBStorage
    method = getattr(rdb, "_get_stale_trial_ids", None)
    assert method is not None, _moved("RDBStorage._get_stale_trial_ids is gone (OwnerAwareRDBStorage extends it)")
    assert list(inspect.signature(method).parameters) == ["self", "study_id"], _moved(
        "RDBStorage._get_stale_trial_ids changed its parameters")
    init = inspect.signature(rdb.__init__).parameters
    for name in ("heartbeat_interval", "grace_period", "heartbeat_stale_trial_callback"):
        assert name in init, _moved(f"RDBStorage() no longer takes {name}")
    # Stale trials are reported by storage id (FrozenTrial._trial_id), not by number.
    trial = optuna.trial.create_trial(value=1.0)
    assert hasattr(trial, "_trial_id"), _moved("FrozenTrial._trial_id is gone")
