"""Loading generated rows and using them in training: extra rows join training folds only, and an
augmented copy of a validation row never trains that fold's model."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from mathcls.errors import DataError
from mathcls.folds import make_folds
from mathcls.generate import write_generated
from mathcls.generate.store import generated_dir, load_generated
from mathcls.models.tfidf import TfidfLogReg
from mathcls.training import cross_validate, train


def _gibberish_corpus(n_per_class=10, seed=0):
    """Rows of unique random tokens: nothing generalises from one row to another, so a model can
    only score above chance on a validation row if a copy of that very row trained it."""
    rng = random.Random(seed)
    texts, labels = [], []
    for label in range(8):
        for _ in range(n_per_class):
            texts.append(" ".join("".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(9)) for _ in range(6)))
            labels.append(label)
    return texts, np.asarray(labels)


def test_augmented_copy_of_a_validation_row_never_trains_its_fold():
    texts, y = _gibberish_corpus()
    fold = make_folds(y, 4, seed=0)
    copies = [t + " " + t.split()[0] for t in texts]  # a near-copy of every row, labelled like it
    est = TfidfLogReg(min_df=1, char_ngram_range=None)
    grouped = cross_validate(est, texts, y, fold, extra_texts=copies, extra_y=y, extra_source=np.arange(len(texts)))
    leaked = cross_validate(est, texts, y, fold, extra_texts=copies, extra_y=y, extra_source=np.full(len(texts), -1))
    assert np.mean(leaked) > 0.9, "the probe must be able to detect leakage"
    assert np.mean(grouped) < 0.4, grouped
    baseline = cross_validate(est, texts, y, fold)
    assert len(baseline) == len(grouped) == 4


def test_train_uses_generated_rows_grouped_by_source(tmp_path):
    texts, y = _gibberish_corpus(seed=1)
    data = tmp_path / "comp"
    data.mkdir()
    pd.DataFrame({"Question": texts, "label": y}).to_csv(data / "train.csv", index=False)
    gen = pd.DataFrame({"Question": [t + " " + t.split()[1] for t in texts], "label": y, "source": np.arange(len(texts))})
    write_generated(gen, tmp_path / "gen")
    params = {"min_df": 1, "char_ngram_range": None}
    res = train("tfidf", data, tmp_path / "model", overrides=params, cv=4, use_generation=True,
                generated_dir=tmp_path / "gen", echo=lambda *_: None)
    assert res.cv_mean < 0.4
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert json.dumps(manifest).count("n_generated_rows") == 1
    # the same rows without their sources (as if procedural) would leak into validation
    write_generated(gen.assign(source=-1), tmp_path / "gen_nosource")
    leaky = train("tfidf", data, tmp_path / "model2", overrides=params, cv=4, use_generation=True,
                  generated_dir=tmp_path / "gen_nosource", echo=lambda *_: None)
    assert leaky.cv_mean > 0.9


def test_train_with_generation_on_a_normal_corpus(tmp_path, competition_dir):
    from mathcls.generate import generate

    write_generated(generate(per_class=5, seed=0), tmp_path / "gen")
    lines = []
    res = train("tfidf", competition_dir, tmp_path / "m", cv=2, use_generation=True, generated_dir=tmp_path / "gen",
                echo=lines.append)
    assert any("Adding 40 generated rows" in line for line in lines)
    # The CV scores are those of a fold loop written here: generated rows (no source) train every fold.
    from mathcls.data import load_competition

    comp = load_competition(competition_dir, need_test=False)
    fold = np.asarray(json.loads((tmp_path / f".folds-{comp.data_hash}" / "folds.json").read_text())["fold"])
    texts, y = comp.train["Question"].tolist(), comp.train["label"].to_numpy()
    gen = load_generated(tmp_path / "gen")
    expected = []
    for k in range(2):
        train_rows = [t for t, f in zip(texts, fold) if f != k] + gen["Question"].tolist()
        train_y = np.concatenate([y[fold != k], gen["label"].to_numpy()])
        pred = TfidfLogReg().fit(train_rows, train_y).predict([t for t, f in zip(texts, fold) if f == k])
        expected.append((pred == y[fold == k]).mean())
    assert res.cv_scores == pytest.approx(expected, abs=1e-12)
    assert [line for line in lines if "fold " in line] == [f"  fold {k + 1}/2: F1-micro {s:.4f}" for k, s in enumerate(expected)]


def test_load_generated_errors_and_default_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("MATHCLS_GENERATED", raising=False)
    assert generated_dir() == generated_dir("data/generated")
    with pytest.raises(DataError, match="mathcls generate -g"):
        load_generated(tmp_path / "nowhere")
    folder = tmp_path / "g"
    folder.mkdir()
    pd.DataFrame({"Question": ["q one is here", "q two"], "label": [1, 9], "source": [-1, -1]}).to_csv(
        folder / "generated_train.csv", index=False)
    with pytest.raises(DataError, match="label"):
        load_generated(folder)
    pd.DataFrame({"Question": ["q one", "q two"], "label": [1, 2], "source": [-1, "x"]}).to_csv(
        folder / "generated_train.csv", index=False)
    with pytest.raises(DataError, match="source"):
        load_generated(folder)
    pd.DataFrame({"Question": ["q one", "q two"], "label": [1, 2], "source": [-1, 5]}).to_csv(
        folder / "generated_train.csv", index=False)
    monkeypatch.setenv("MATHCLS_GENERATED", str(folder))
    df = load_generated()
    assert df["source"].tolist() == [-1, 5] and df["label"].tolist() == [1, 2]
    with pytest.raises(DataError, match="source row 5"):
        load_generated(n_train=3)
    (folder / "generated.json").write_text(json.dumps({"train_sha256": "abc"}))
    with pytest.raises(DataError, match="different train.csv"):
        load_generated(train_sha256="def")
    assert len(load_generated(train_sha256="abc")) == 2


def test_cli_train_accepts_generated_folder(tmp_path, competition_dir):
    from click.testing import CliRunner

    from mathcls.cli import cli

    res = CliRunner().invoke(cli, ["train", "tfidf", "--data", str(competition_dir), "--out", str(tmp_path / "m"),
                                   "--use-generation", "--generated", str(tmp_path / "missing")])
    assert res.exit_code == 1 and "mathcls generate -g" in res.output
    assert "--generated" in CliRunner().invoke(cli, ["train", "--help"]).output
