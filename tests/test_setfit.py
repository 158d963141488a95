"""SetFitClassifier on the real bundled MiniLM with tiny data: capped per-class pair sampling,
the frozen-embedding fast path and its cache, body training, save/load and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mathcls import embeddings
from mathcls.cli import cli
from mathcls.embeddings import cache_info, reset_cache_info
from mathcls.errors import ParameterError
from mathcls.models import make_model
from mathcls.models._contrastive import sample_pairs
from mathcls.models.setfit import SetFitClassifier
from mathcls.persist import load_model, save_model

from .conftest import make_corpus


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embeddings._MEMO.clear()


def test_sample_pairs_are_capped_balanced_and_labelled_correctly():
    y = np.array([0] * 500 + [1] * 30 + [2] * 5)
    pairs = sample_pairs(y, 1000, np.random.default_rng(0))
    assert len(pairs) == 1000
    same = np.array([s for _, _, s in pairs])
    assert same[::2].all() and not same[1::2].any()  # alternating positive / negative
    for i, j, s in pairs:
        assert i != j and (y[i] == y[j]) == bool(s)
    # Classes are drawn uniformly: the 5-row class anchors about a third of the positive pairs.
    anchors = np.array([y[i] for i, _, s in pairs if s])
    assert 0.2 < (anchors == 2).mean() < 0.45


def test_sample_pairs_per_class_cap_limits_rows_used():
    y = np.repeat(np.arange(4), 100)
    pairs = sample_pairs(y, 2000, np.random.default_rng(0), samples_per_class=10)
    used = {i for i, _, _ in pairs} | {j for _, j, _ in pairs}
    assert len(used) <= 40
    assert {int(y[i]) for i in used} == {0, 1, 2, 3}


@pytest.mark.slow
def test_frozen_fast_path_and_cache_hit_on_second_fit(corpus, tmp_path):
    texts, y = corpus
    reset_cache_info()
    first = SetFitClassifier(body_epochs=0, max_length=32, progress_bar=False).fit(texts, y)
    assert first.body_ is None and first.history_ == []
    assert cache_info() == {"hits": 0, "misses": len(set(texts))}
    embeddings._MEMO.clear()  # the second fit reads the shards from disk, as a new process would
    second = SetFitClassifier(body_epochs=0, max_length=32, progress_bar=False).fit(texts, y)
    assert cache_info() == {"hits": len(set(texts)), "misses": len(set(texts))}
    np.testing.assert_array_equal(first.head_.coef_, second.head_.coef_)
    assert (second.predict(texts) == y).mean() > 0.8
    folder = save_model(second, tmp_path / "frozen")
    assert not (folder / "body").exists()  # the pretrained body is not copied
    np.testing.assert_array_equal(load_model(folder).predict_proba(texts), second.predict_proba(texts))
    # the class order lives in setfit.json too; a folder whose two lists disagree is refused
    from mathcls.errors import ModelFolderError
    from tests.conftest import rehash_payload

    info = json.loads((folder / "setfit.json").read_text())
    assert info["classes"] == list(range(8))
    info["classes"] = info["classes"][::-1]
    (folder / "setfit.json").write_text(json.dumps(info))
    rehash_payload(folder)
    with pytest.raises(ModelFolderError, match="class order"):
        load_model(folder)


def test_class_weight_reaches_the_head(corpus):
    texts, y = corpus
    clf = SetFitClassifier(body_epochs=0, max_length=32, class_weight="balanced", head_C=0.5,
                           progress_bar=False).fit(texts, y)
    assert clf.head_.class_weight == "balanced" and clf.head_.C == 0.5


@pytest.mark.slow
def test_body_training_save_load_and_callbacks(tmp_path):
    """The callback protocol over the body's real epochs: 16 pairs in batches of 8 are 2 steps per
    epoch; a callback's ``should_stop`` ends training after epoch 2 of 3."""
    from mathcls.models.callbacks import Callback

    texts, y = make_corpus(4)

    class Recorder(Callback):
        def __init__(self):
            self.events = []

        def on_train_begin(self, est):
            self.events.append(("begin",))

        def on_epoch_begin(self, est, epoch, n_batches):
            self.events.append(("epoch_begin", epoch, n_batches))

        def on_batch_end(self, est, step, logs):
            self.events.append(("batch", step, logs["examples"]))

        def on_epoch_end(self, est, epoch, logs):
            self.events.append(("epoch_end", epoch, logs["step"], logs["loss"] > 0))
            self.should_stop = epoch == 2

        def on_train_end(self, est):
            self.events.append(("end",))

    recorder = Recorder()
    clf = SetFitClassifier(body_epochs=3, max_pairs=16, batch_size=8, max_length=32, progress_bar=False,
                           callbacks=[("rec", recorder)]).fit(texts, y)
    assert clf.n_pairs_ == 16 and clf.body_ is not None
    assert recorder.events == [
        ("begin",), ("epoch_begin", 1, 2), ("batch", 1, 8), ("batch", 2, 8), ("epoch_end", 1, 2, True),
        ("epoch_begin", 2, 2), ("batch", 3, 8), ("batch", 4, 8), ("epoch_end", 2, 4, True), ("end",)]
    assert [h["epoch"] for h in clf.history_] == [1, 2]
    proba = clf.predict_proba(texts)
    folder = save_model(clf, tmp_path / "sf")
    assert (folder / "body" / "model.safetensors").is_file()
    assert not list(folder.rglob("*.pkl")) and not list(folder.rglob("*.bin"))
    assert "callbacks" not in json.loads((folder / "manifest.json").read_text())["params"]
    loaded = load_model(folder)
    np.testing.assert_allclose(loaded.predict_proba(texts), proba, atol=1e-6)
    assert loaded.history_ == clf.history_


def test_num_iterations_caps_pairs():
    clf = SetFitClassifier(max_pairs=1000, num_iterations=2)
    assert clf._n_pairs(20) == 80
    assert clf._n_pairs(10_000) == 1000


@pytest.mark.parametrize("params, fragment", [
    ({"body_epochs": -1}, "body_epochs must be an integer >= 0"),
    ({"max_pairs": 1}, "max_pairs must be an integer >= 2"),
    ({"head_C": 0}, "head_C must be a number > 0"),
    ({"class_weight": {"0": 2}}, "class_weight must be 'balanced' or None"),
    ({"samples_per_class": 1}, "samples_per_class must be an integer >= 2 or None"),
    ({"normalize": "verbalise"}, "normalize must be True or False or 'verbalize'; got 'verbalise'."),
])
def test_bad_parameters_fail_before_any_data_is_read(params, fragment):
    with pytest.raises(ParameterError) as info:
        make_model("setfit", params)
    assert fragment in str(info.value)


def test_cli_train_frozen_setfit_and_predict(competition_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["train", "setfit", "--data", str(competition_dir), "--out", "runs/sf",
                                 "-p", "body_epochs=0", "-p", "max_length=32", "-p", "progress_bar=False"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["predict", "-m", "runs/sf", "--input", str(competition_dir / "test.csv"),
                                 "--output", "sub.csv"])
    assert result.exit_code == 0, result.output
    sub = pd.read_csv("sub.csv")
    assert len(sub) == len(pd.read_csv(competition_dir / "test.csv"))
    assert set(sub["label"]) <= set(range(8))


def test_frozen_body_reads_verbalised_text_when_asked():
    texts = ["Compute $\\binom{10}{3}$.", "Find $\\int_0^1 x^2\\,dx$.", "Compute $\\binom{8}{2}$.", "Find $\\int_0^2 x\\,dx$."]
    y = np.array([5, 2, 5, 2])
    clf = SetFitClassifier(body_epochs=0, max_length=32, normalize="verbalize", progress_bar=False).fit(texts, y)
    spoken = ["Compute binomial 10 choose 3 .", "Find integral from 0 to 1 x squared dx .",
              "Compute binomial 8 choose 2 .", "Find integral from 0 to 2 x dx ."]
    expected = embeddings.encode(spoken, max_length=32, normalize=False, cache=False)
    np.testing.assert_allclose(clf._embed(texts), expected, atol=1e-5)
    assert list(clf.predict(texts)) == list(y)
