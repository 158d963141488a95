"""The callback protocol: built-ins merged with the user's by name, early stopping that stops and
restores, and a callback that ends training through ``should_stop``."""

from __future__ import annotations

import numpy as np
import pytest

from mathcls.models.callbacks import Callback, EarlyStopping, PrintSpeed, ProgressBar, merge_callbacks
from mathcls.models.transformer import TransformerClassifier

from .conftest import make_corpus

SMALL = dict(max_length=16, batch_size=16, learning_rate=5e-4, progress_bar=False, validation_fraction=0.25)


def test_merge_replaces_removes_and_appends_by_name():
    bar, speed, mine, other = ProgressBar(), PrintSpeed(), Callback(), Callback()
    built_in = [("progress_bar", bar), ("print_speed", speed)]
    assert merge_callbacks(built_in, None) == built_in
    merged = merge_callbacks(built_in, [("progress_bar", mine), ("print_speed", None), ("other", other)])
    assert merged == [("progress_bar", mine), ("other", other)]
    # a replacement runs where the user put it, after the remaining built-ins
    assert [n for n, _ in merge_callbacks(built_in, [("progress_bar", mine)])] == ["print_speed", "progress_bar"]


class ScriptedScore(Callback):
    """Writes a scripted ``score`` into each epoch's logs and keeps a copy of the weights per epoch."""

    def __init__(self, scores):
        self.scores = scores
        self.weights = {}

    def on_epoch_end(self, estimator, epoch, logs):
        logs["score"] = self.scores[epoch - 1]
        self.weights[epoch] = {k: v.detach().clone() for k, v in estimator.model_.state_dict().items()}


@pytest.mark.slow
def test_early_stopping_replaced_by_name_stops_and_restores_the_best_epoch():
    texts, y = make_corpus(3)
    scripted = ScriptedScore([0.5, 0.9, 0.1, 0.1, 0.95, 0.95])
    stopper = EarlyStopping(monitor="score", patience=2)
    est = TransformerClassifier(**SMALL, epochs=6, early_stopping=True,
                                callbacks=[("score", scripted), ("early_stopping", stopper)]).fit(texts, y)
    assert [name for name, _ in est.callbacks_] == ["score", "early_stopping"]
    assert est.callbacks_[1][1] is stopper
    assert len(est.history_) == 4 and est.best_epoch_ == 2  # two epochs without a better score after epoch 2
    restored = est.model_.state_dict()
    for name, value in scripted.weights[2].items():
        np.testing.assert_array_equal(restored[name].cpu().numpy(), value.cpu().numpy())
    assert any(not np.array_equal(restored[n].cpu().numpy(), v.cpu().numpy()) for n, v in scripted.weights[4].items())


@pytest.mark.slow
def test_a_callback_ends_training_with_should_stop():
    class StopAt(Callback):
        def __init__(self, epoch):
            self.epoch = epoch

        def on_epoch_end(self, estimator, epoch, logs):
            if epoch == self.epoch:
                self.should_stop = True

    texts, y = make_corpus(3)
    callback = StopAt(1)
    est = TransformerClassifier(**SMALL, epochs=3, callbacks=[("stop", callback)]).fit(texts, y)
    assert len(est.history_) == 1 and est.best_epoch_ == 1
    callback.epoch = None
    est.set_params(epochs=2).fit(texts, y)  # the flag left by the first fit is reset
    assert len(est.history_) == 2
