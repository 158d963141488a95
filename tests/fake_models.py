"""A fake neural family for the time-budget tests: trains in "batches" that each take
``batch_seconds`` on a fake clock (or really sleep), reports them to callbacks like the transformer,
and predicts with a small naive Bayes so its OOF scores and submissions are real.

``python -m tests.fake_models run ...`` runs the ``mathcls`` CLI with the family registered as
``slow`` (the SIGTERM test starts it in a subprocess).
"""

from __future__ import annotations

import math
import os
import signal
import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from mathcls.models.base import TextClassifierMixin, check_texts
from mathcls.models.validation import Callbacks, Interval

FAMILY = "slow"
TARGET = "tests.fake_models:SlowClassifier"


class FakeClock:
    """A clock that only moves when told; ``CLOCK`` below makes SlowClassifier advance it."""

    def __init__(self, start: float = 1000.0):
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


#: When set (by a test), batches advance this clock instead of sleeping.
CLOCK: FakeClock | None = None
#: Fits under the budget (the folds, not the probe) run this many times slower, as on a machine that
#: got busier after it was measured.
FOLD_SLOWDOWN = 1.0
#: A one-off slowdown of single fits under the budget: {index among those fits: factor}, as when
#: the machine is briefly shared.
ONE_OFF: dict[int, float] = {}
#: One entry per fit: rows, whether a budget callback was attached, batches run, how it ended.
FITS: list[dict] = []


def register(monkeypatch=None) -> None:
    from mathcls.families import FAMILIES, Family

    family = Family(FAMILY, TARGET)  # any whole-number parameter may be budgeted; priced from timed fits
    if monkeypatch is not None:
        monkeypatch.setitem(FAMILIES, FAMILY, family)
    else:
        FAMILIES[FAMILY] = family


class SlowClassifier(TextClassifierMixin, ClassifierMixin, BaseEstimator):
    """Multinomial naive Bayes on hashed words, trained in timed batches that report to callbacks."""

    _parameter_constraints = {
        "epochs": [Interval(Integral, 1, None)],
        "batch_size": [Interval(Integral, 1, None)],
        "batch_seconds": [Interval(Real, 0, None)],
        "signal_at_batch": [Interval(Integral, 1, None), None],  # send SIGINT to this process (fold fits only)
        "callbacks": [Callbacks(), None],
    }

    def __init__(self, epochs=1, batch_size=8, batch_seconds=1.0, signal_at_batch=None, callbacks=None):
        self.epochs = epochs
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.signal_at_batch = signal_at_batch
        self.callbacks = callbacks

    def _notify(self, event, *args):
        for _, cb in self.callbacks or []:
            hook = getattr(cb, event, None)
            if hook is not None:
                hook(self, *args)

    def fit(self, X, y):
        self._validate_params()
        texts, classes, y_idx = self._check_fit_input(X, y)
        record = {"rows": len(texts), "budgeted": any(n == "time_budget" for n, _ in self.callbacks or []),
                  "batches": 0, "epochs": self.epochs, "ended": "running"}
        index = sum(f["budgeted"] for f in FITS)
        FITS.append(record)
        self._notify("on_train_begin")
        n_batches = math.ceil(len(texts) / self.batch_size)
        seconds = self.batch_seconds * (FOLD_SLOWDOWN * ONE_OFF.get(index, 1.0) if record["budgeted"] else 1.0)
        step = 0
        try:
            for epoch in range(1, self.epochs + 1):
                for b in range(n_batches):
                    if CLOCK is not None:
                        CLOCK.advance(seconds)
                    else:
                        time.sleep(seconds)
                    step += 1
                    record["batches"] = step
                    record["where"] = (epoch, b + 1, n_batches)
                    if self.signal_at_batch == step and record["budgeted"]:
                        os.kill(os.getpid(), signal.SIGINT)
                    self._notify("on_batch_end", step, {"loss": 0.0})
                self._notify("on_epoch_end", epoch, {"loss": 0.0})
        except BaseException as exc:
            record["ended"] = type(exc).__name__
            raise
        counts = self._counts(texts)
        per_class = np.vstack([counts[y_idx == k].sum(0) for k in range(len(classes))]) + 1.0
        self.classes_ = classes
        self.log_prob_ = np.log(per_class / per_class.sum(1, keepdims=True))
        self.log_prior_ = np.log(np.bincount(y_idx, minlength=len(classes)) / len(y_idx))
        record["ended"] = "finished"
        self._notify("on_train_end")
        return self

    @staticmethod
    def _counts(texts):
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(n_features=2**12, alternate_sign=False, norm=None).transform(texts).toarray()

    def predict_proba(self, X):
        self._check_fitted()
        logits = self._counts(check_texts(X)) @ self.log_prob_.T + self.log_prior_
        from mathcls.models.base import softmax

        return softmax(logits)

    def _save_payload(self, folder):
        np.savez(folder / "slow.npz", log_prob=self.log_prob_, log_prior=self.log_prior_)

    def _load_payload(self, folder, manifest):
        with np.load(folder / "slow.npz") as data:
            self.log_prob_, self.log_prior_ = data["log_prob"], data["log_prior"]


if __name__ == "__main__":
    import sys

    from mathcls.cli import main

    register()
    sys.exit(main(sys.argv[1:]))
