"""The run's deadline: a clock, a reserve kept for stacking and writing, and stop requests.

A :class:`Budget` starts when ``mathcls run`` starts. Training may go on until the limit minus the
*reserve* (the measured time the stack and the output files still need); past that point, or after
SIGTERM or Ctrl-C, the model in flight stops and the stack is built from the models that finished
all their folds.

Neural estimators stop at their next batch through :class:`BudgetCallback`. A model that reports no
batches (TF-IDF, frozen embeddings) is stopped by the signal itself: inside :meth:`Budget.guard` a
stop request raises :class:`BudgetExhausted` at once, and an alarm fires at the training deadline.
The clock is injectable, so tests drive the budget with a fake one (alarms need the real clock).
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager

from ..logs import say


class BudgetExhausted(Exception):
    """The time limit or a stop signal ended the training of the model in flight."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class Budget:
    """A time limit measured from ``start`` on ``clock``.

    Parameters
    ----------
    limit : float
        Seconds the whole run may take.
    clock : callable, default ``time.monotonic``
        Returns the current time in seconds; tests pass a fake one.
    start : float, optional
        When the run started on ``clock`` (default: now).

    Attributes
    ----------
    reserve : float
        Seconds kept back at the end for stacking and writing (set by the run as models finish).
    stop_reason : str or None
        Why training must stop now (a signal), or ``None``.
    batch_checked : bool
        Whether the fit in flight has reported a batch, so it will notice a stop request by itself.
    """

    def __init__(self, limit: float, clock=None, start: float | None = None):
        self.limit = float(limit)
        self.clock = clock or time.monotonic
        self.start = self.clock() if start is None else float(start)
        self.reserve = 0.0
        self.stop_reason: str | None = None
        self.batch_checked = False
        self._in_fit = False
        self._echo = print

    # ---- time ----
    def now(self) -> float:
        return float(self.clock())

    def elapsed(self) -> float:
        return self.now() - self.start

    def remaining(self) -> float:
        """Seconds until the limit."""
        return self.limit - self.elapsed()

    def training_left(self) -> float:
        """Seconds training may still take: the limit minus the reserve."""
        return self.remaining() - self.reserve

    # ---- stopping ----
    def request_stop(self, reason: str) -> None:
        """Stop the model in flight at its next check and start no other one."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def check(self, where: str = "", upcoming: float = 0.0) -> None:
        """Raise :class:`BudgetExhausted` when a stop was requested or the training time is spent
        (or would be, by a next step expected to take ``upcoming`` seconds)."""
        if self.stop_reason is not None:
            raise BudgetExhausted(self.stop_reason)
        if self.training_left() <= upcoming:
            raise BudgetExhausted("time limit reached" + (f" {where}" if where else ""))

    @property
    def real_time(self) -> bool:
        return self.clock is time.monotonic

    # ---- signals ----
    def handle_signal(self, signum, frame=None) -> None:
        """SIGTERM/SIGINT: first a stop request, a second one aborts. SIGALRM: the training deadline."""
        if signum == getattr(signal, "SIGALRM", None):
            if self._in_fit and not self.batch_checked:
                raise BudgetExhausted("time limit reached")
            return
        name = signal.Signals(signum).name
        if self.stop_reason is not None:
            _restore_default(signum)
            raise KeyboardInterrupt
        self.request_stop(name)
        self._echo(f"{name}: stopping the model in flight; the stack is built from the models that finished "
                   f"(send it again to abort).")
        if self._in_fit and not self.batch_checked:
            raise BudgetExhausted(name)

    @contextmanager
    def signals(self, echo=say):
        """Inside, SIGTERM and SIGINT (Ctrl-C) become stop requests (main thread only)."""
        self._echo = echo
        installed = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                installed[sig] = signal.signal(sig, self.handle_signal)
        try:
            yield self
        finally:
            for sig, previous in installed.items():
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)

    @contextmanager
    def guard(self):
        """Around one model's training: a stop request raises at once while the fit reports no
        batches, and (on the real clock) an alarm raises at the training deadline."""
        self._in_fit = True
        self.batch_checked = False
        alarm = self.real_time and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        previous = None
        if alarm:
            previous = signal.signal(signal.SIGALRM, self.handle_signal)
            signal.setitimer(signal.ITIMER_REAL, max(0.01, self.training_left()))
        try:
            yield self
        finally:
            self._in_fit = False
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)


def _restore_default(signum) -> None:
    signal.signal(signum, signal.SIG_DFL if signum != signal.SIGINT else signal.default_int_handler)


class BudgetCallback:
    """A training callback (the mathcls protocol) that keeps a neural fit within the budget.

    It checks the budget after every batch and epoch and before a fold starts, raising
    :class:`BudgetExhausted` to stop the fit, and stops one batch early when the next batch (as
    long as the last one) would end past the deadline. ``on_fold_begin``, ``on_epoch`` and
    ``on_fold_end`` tell the run how the fold goes, so it can re-plan or give up on a model that
    can no longer finish. The same object is shared by every clone of the estimator
    (scikit-learn's ``clone`` deep-copies parameters), since it is a handle on the run.
    """

    def __init__(self, budget: Budget, on_fold_begin=None, on_fold_end=None, on_epoch=None):
        self.budget = budget
        self.on_fold_begin = on_fold_begin
        self.on_fold_end = on_fold_end
        self.on_epoch = on_epoch
        self._last = None
        self._batch = 0.0

    def __deepcopy__(self, memo):
        return self

    def on_train_begin(self, estimator):
        self.budget.batch_checked = False
        self._last, self._batch = self.budget.now(), 0.0
        if self.on_fold_begin is not None:
            self.on_fold_begin()
        self.budget.check("before a fold")

    def on_batch_end(self, estimator, step, logs=None):
        now = self.budget.now()
        if self.budget.batch_checked:  # the first batch's time includes loading the model
            self._batch = now - self._last
        self._last = now
        self.budget.batch_checked = True
        self.budget.check("mid-epoch", upcoming=self._batch)

    def on_epoch_end(self, estimator, epoch, logs=None):
        if self.on_epoch is not None:
            self.on_epoch(estimator, epoch)
        self.budget.check(f"after epoch {epoch}", upcoming=self._batch)

    def on_train_end(self, estimator):
        if self.on_fold_end is not None:
            self.on_fold_end()
