"""Storages whose heartbeats also know which process runs each trial, so trials of killed
workers go back in the queue at once.

Optuna's :class:`~optuna.storages.JournalStorage` has no heartbeat (only ``RDBStorage`` has), so a
worker killed mid-trial would leave its trial RUNNING for ever. :class:`HeartbeatJournalStorage`
implements Optuna's heartbeat interface: while a trial runs, a thread records the time in the
trial's system attributes every ``heartbeat_interval`` seconds; before each new trial Optuna's
optimize loop asks for stale trials, fails them and calls the retry callback, which enqueues the
same parameters again.

Both storages here also record the trial's owner (``host``, ``pid``, process start time) with the
first heartbeat. A trial is stale when its worker ran on this host and that process is gone
(detected at once: rerunning a killed worker's command resumes without waiting), or when its last
heartbeat is older than ``grace_period`` (any host).

Imported only by :mod:`mathcls.tuning.storage`, because it imports Optuna at module level.
"""

from __future__ import annotations

import datetime as _dt
import os
import socket
import time

import optuna
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import TrialState

HEARTBEAT_KEY = "mathcls:heartbeat"
OWNER_KEY = "mathcls:owner"


def _process_start(pid: int) -> float | None:
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def this_owner() -> dict:
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "started": _process_start(pid)}


def owner_alive(owner: dict) -> bool | None:
    """Whether the process that owns a trial still runs; ``None`` when it ran on another host."""
    if owner.get("host") != socket.gethostname():
        return None
    started = _process_start(int(owner.get("pid", -1)))
    if started is None:
        return False
    # A reused pid belongs to a process started later than the owner.
    return owner.get("started") is None or abs(started - float(owner["started"])) < 1.0


def _dead_owner_trials(storage, study_id: int) -> list[int]:
    """RUNNING trials whose owner process ran on this host and is gone."""
    dead = []
    for trial in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.system_attrs.get(OWNER_KEY)
        if owner and owner_alive(owner) is False:
            dead.append(trial._trial_id)
    return dead


class OwnerAwareRDBStorage(RDBStorage):
    """:class:`~optuna.storages.RDBStorage` whose stale trials include those of dead local workers."""

    def record_heartbeat(self, trial_id: int) -> None:
        if trial_id not in self.__dict__.setdefault("_owner_written", set()):
            self.set_trial_system_attr(trial_id, OWNER_KEY, this_owner())
            self._owner_written.add(trial_id)
        super().record_heartbeat(trial_id)

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        stale = list(super()._get_stale_trial_ids(study_id))
        return stale + [t for t in _dead_owner_trials(self, study_id) if t not in stale]


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """:class:`~optuna.storages.JournalStorage` plus Optuna's heartbeat interface."""

    def __init__(self, backend, heartbeat_interval: int = 30, grace_period: int | None = None,
                 heartbeat_stale_trial_callback=None) -> None:
        super().__init__(backend)
        self._heartbeat_interval = heartbeat_interval
        self._grace_period = grace_period if grace_period is not None else 2 * heartbeat_interval
        self._stale_callback = heartbeat_stale_trial_callback
        self._owner = this_owner()
        self._owner_written: set[int] = set()

    # ---- BaseHeartbeat ----
    def record_heartbeat(self, trial_id: int) -> None:
        if trial_id not in self._owner_written:
            self.set_trial_system_attr(trial_id, OWNER_KEY, self._owner)
            self._owner_written.add(trial_id)
        try:
            self.set_trial_system_attr(trial_id, HEARTBEAT_KEY, time.time())
        except optuna.exceptions.UpdateFinishedTrialError:
            pass

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        stale = []
        for trial in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            owner = trial.system_attrs.get(OWNER_KEY)
            alive = owner_alive(owner) if owner else None
            if alive is False:
                stale.append(trial._trial_id)
                continue
            if alive is True:
                continue
            last = trial.system_attrs.get(HEARTBEAT_KEY)
            if last is None and trial.datetime_start is not None:
                start = trial.datetime_start
                if start.tzinfo is None:
                    start = start.replace(tzinfo=_dt.UTC)
                last = start.timestamp()
            if last is not None and now - float(last) > self._grace_period:
                stale.append(trial._trial_id)
        return stale

    def get_heartbeat_interval(self) -> int | None:
        return self._heartbeat_interval

    def get_heartbeat_stale_trial_callback(self):
        return self._stale_callback
