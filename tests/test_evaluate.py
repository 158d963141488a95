"""mathcls.evaluate: finding model folders, scoring them, confusion matrices, broken folders."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.evaluate import evaluate_models, find_model_folders, format_table, image_name
from mathcls.models.tfidf import TfidfLogReg
from mathcls.persist import save_model

from .conftest import make_corpus


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two real tiny models (a good one and a weaker one), a broken folder and a validation CSV."""
    root = tmp_path_factory.mktemp("evaluate")
    texts, labels = make_corpus(8, seed=3)
    good = TfidfLogReg(min_df=1).fit(texts, labels)
    save_model(good, root / "runs" / "good")
    # The weaker model never saw classes 6 and 7 and uses words only.
    keep = labels < 6
    weak = TfidfLogReg(min_df=1, char_ngram_range=None, C=0.05).fit(
        [t for t, k in zip(texts, keep) if k], labels[keep])
    save_model(weak, root / "runs" / "results" / "weak_results" / "checkpoint-10")
    broken = root / "runs" / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{ this is not json", encoding="utf-8")
    (root / "runs" / "notes").mkdir()  # a folder without a manifest is not a model
    valid_texts, valid_labels = make_corpus(4, seed=11)
    valid = root / "valid.csv"
    pd.DataFrame({"Question": valid_texts, "label": valid_labels}).to_csv(valid, index=False)
    return root


def test_find_model_folders_recurses_and_names(runs):
    found = find_model_folders([runs / "runs"])
    assert [name for name, _ in found] == ["broken", "good", "results/weak_results/checkpoint-10"]
    # A model folder passed directly is named after itself.
    assert find_model_folders(runs / "runs" / "good") == [("good", runs / "runs" / "good")]


def test_find_model_folders_names_collisions_by_root(runs, tmp_path):
    other = tmp_path / "other"
    (other / "good").mkdir(parents=True)
    (other / "good" / "manifest.json").write_text("{}")
    names = [name for name, _ in find_model_folders([runs / "runs" / "good", other])]
    assert names == ["good/good", "other/good"]


def test_evaluate_ranks_models_and_reports_broken_folder(runs, tmp_path):
    images = tmp_path / "images"
    output = tmp_path / "evaluation.csv"
    table = evaluate_models([runs / "runs"], runs / "valid.csv", images=images, output=output)
    assert len(table) == 3
    assert table["model"].tolist() == ["good", "results/weak_results/checkpoint-10", "broken"]
    assert table["rank"].tolist()[:2] == [1, 2] and pd.isna(table["rank"].iloc[2])
    good, weak, broken = (table.iloc[i] for i in range(3))
    assert good["f1_micro"] > weak["f1_micro"]
    assert good["f1_micro"] >= 0.8  # separable templates
    assert weak["recall_6"] == 0.0 and weak["recall_7"] == 0.0  # never predicts unseen classes
    assert good["rows"] == 32 and good["rows_per_s"] > 0 and good["family"] == "tfidf"
    assert good["accuracy"] == pytest.approx(good["f1_micro"])
    assert "not valid JSON" in broken["error"] and pd.isna(broken["f1_micro"])
    assert pd.isna(good["error"]) and pd.isna(weak["error"])
    # One confusion matrix per evaluated model, named after the model.
    pngs = sorted(p.name for p in images.iterdir())
    assert pngs == sorted([image_name("good"), image_name("results/weak_results/checkpoint-10")])
    assert pngs == ["confusion_good.png", "confusion_results__weak_results__checkpoint-10.png"]
    for p in images.iterdir():
        assert p.read_bytes()[:4] == b"\x89PNG" and p.stat().st_size > 10_000
    saved = pd.read_csv(output)
    assert saved["model"].tolist() == table["model"].tolist()
    assert {"f1_micro", "f1_macro", "accuracy", "rows_per_s", "error", "precision_0", "recall_7", "f1_3"} <= set(saved)
    text = format_table(table)
    assert "ERROR" in text and "Per-class F1" in text and "Geometry" in text


def test_per_class_scores_match_sklearn(runs):
    from sklearn.metrics import f1_score

    from mathcls.persist import load_model

    table = evaluate_models([runs / "runs" / "good"], runs / "valid.csv")
    valid = pd.read_csv(runs / "valid.csv")
    pred = load_model(runs / "runs" / "good").predict(valid["Question"].tolist())
    per_class = f1_score(valid["label"], pred, average=None, labels=list(range(8)))
    assert np.allclose(table.loc[0, [f"f1_{k}" for k in range(8)]].astype(float), per_class)
    assert table.loc[0, "f1_macro"] == pytest.approx(f1_score(valid["label"], pred, average="macro"))


def test_missing_payload_is_reported(runs, tmp_path):
    import shutil

    folder = tmp_path / "nopayload"
    shutil.copytree(runs / "runs" / "good", folder)
    for p in folder.iterdir():
        if p.name != "manifest.json":
            p.unlink()
    table = evaluate_models([folder], runs / "valid.csv")
    assert "incomplete" in table.loc[0, "error"] or "missing" in table.loc[0, "error"]


def test_cli_evaluate(runs, tmp_path):
    images = tmp_path / "images"
    output = tmp_path / "evaluation.csv"
    result = CliRunner().invoke(cli, ["evaluate", "--models", str(runs / "runs"), "--input", str(runs / "valid.csv"),
                                      "--images", str(images), "--out", str(output)])
    assert result.exit_code == 0, result.output
    assert "broken" in result.output and "ERROR" in result.output
    assert "1 of 3 model folders could not be evaluated" in result.output
    assert len(list(images.glob("*.png"))) == 2 and output.is_file()


def test_cli_folders_as_arguments(runs, tmp_path):
    result = CliRunner().invoke(cli, ["evaluate", "--models", str(runs / "runs" / "good"),
                                      str(runs / "runs" / "results"), "--input", str(runs / "valid.csv"),
                                      "--out", str(tmp_path / "e.csv")])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "e.csv")) == 2


@pytest.mark.parametrize("case, message", [
    ("no_models", "No model folders"),
    ("missing_path", "does not exist"),
    ("all_broken", "None of the 1 model folders"),
    ("bad_csv", "Validation file"),
])
def test_cli_user_errors(runs, tmp_path, case, message):
    models, data = str(runs / "runs"), str(runs / "valid.csv")
    if case == "no_models":
        models = str(runs / "runs" / "notes")
    elif case == "missing_path":
        models = str(tmp_path / "nothing")
    elif case == "all_broken":
        models = str(runs / "runs" / "broken")
    else:
        data = str(tmp_path / "valid.csv")
        (tmp_path / "valid.csv").write_text("Question,label\nWhat is x?,nine\n")
    result = CliRunner().invoke(cli, ["evaluate", "--models", models, "--input", data,
                                      "--out", str(tmp_path / "e.csv")])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_manifest_family_shown_for_broken_payload(runs, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    manifest = json.loads((runs / "runs" / "good" / "manifest.json").read_text())
    manifest["model"] = "no-such-family"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    table = evaluate_models([folder], runs / "valid.csv")
    assert table.loc[0, "family"] == "no-such-family"
    assert "unknown family" in table.loc[0, "error"]


def test_training_rows_are_flagged_not_presented_as_a_score(runs, tmp_path):
    from mathcls.data import file_sha256

    texts, labels = make_corpus(8, seed=3)
    train_csv = tmp_path / "train.csv"
    pd.DataFrame({"Question": texts, "label": labels}).to_csv(train_csv, index=False)
    folder = save_model(TfidfLogReg(min_df=1).fit(texts, labels), tmp_path / "m",
                        train_sha256=file_sha256(train_csv), train_texts=texts)
    subset = tmp_path / "split.csv"  # a split of the training file: other bytes, training rows
    pd.DataFrame({"Question": texts[::3], "label": labels[::3]}).to_csv(subset, index=False)
    valid_texts = pd.read_csv(runs / "valid.csv")["Question"].tolist()
    held_out = float(np.mean([t in set(texts) for t in valid_texts]))
    assert held_out < 0.1

    for csv, share in ((train_csv, 1.0), (subset, 1.0), (runs / "valid.csv", held_out)):
        warnings = []
        table = evaluate_models([folder], csv, warn=warnings.append)
        assert table.loc[0, "train_overlap"] == pytest.approx(share)
        if share >= 0.1:
            assert len(warnings) == 1 and f"{share:.0%} of the rows of {csv}" in warnings[0]
            assert "is not a held-out score" in warnings[0]
            assert "(trained on 100% of these rows)" in format_table(table)
        else:
            assert warnings == [] and "trained on" not in format_table(table)

    result = CliRunner().invoke(cli, ["evaluate", "--models", str(folder), "--input", str(train_csv),
                                      "--out", str(tmp_path / "e.csv")])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Warning: 100% of the rows") and result.stderr.count("\n") == 1


def test_model_trained_by_the_cli_records_its_rows(tmp_path, competition_dir):
    out = tmp_path / "m"
    assert CliRunner().invoke(cli, ["train", "tfidf", "--data", str(competition_dir), "--out", str(out),
                                    "-p", "min_df=1"]).exit_code == 0
    assert (out / "train_rows.npy").is_file()
    split = tmp_path / "split.csv"
    pd.read_csv(competition_dir / "train.csv").iloc[::2].to_csv(split, index=False)
    table = evaluate_models([out], split)
    assert table.loc[0, "train_overlap"] == 1.0 and table.loc[0, "f1_micro"] > 0.9
