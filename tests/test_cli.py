"""CLI behaviour through click's CliRunner: help for every command, the happy path on a small
competition folder, and one clear line with a non-zero exit for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from mathcls.cli import COMMANDS, cli


@pytest.fixture()
def runner():
    return CliRunner()


def assert_one_line_error(result, fragment):
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    err = result.stderr if result.stderr else result.output
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert lines and fragment in lines[-1], err
    assert lines[-1].startswith("Error:") or "Usage:" in err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_for_every_command(runner, command):
    result = runner.invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and "Example" in result.output


def test_top_level_help_lists_commands(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_help_and_import_do_not_import_torch():
    code = (
        "import sys, mathcls; from mathcls.cli import cli; from click.testing import CliRunner; "
        "CliRunner().invoke(cli, ['--help']); "
        "heavy = [m for m in ('torch', 'transformers', 'setfit', 'sentence_transformers', 'optuna', 'lightgbm', 'matplotlib') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_train_predict_explain(runner, competition_dir, tmp_path):
    model = tmp_path / "runs" / "tfidf"
    result = runner.invoke(cli, ["train", "tfidf", "--data", str(competition_dir), "--out", str(model),
                                 "-p", "min_df=1", "-p", "word_ngram_range=(1,1)", "--cv", "3"])
    assert result.exit_code == 0, result.output
    assert "CV F1-micro" in result.output and (model / "manifest.json").is_file()
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["params"]["word_ngram_range"] == {"__tuple__": [1, 1]}
    assert manifest["extra"]["cv_f1_micro"] > 0.5

    out = tmp_path / "submission.csv"
    result = runner.invoke(cli, ["predict", "-m", str(model), "--input", str(competition_dir / "test.csv"),
                                 "--output", str(out), "--proba"])
    assert result.exit_code == 0, result.output
    sub = pd.read_csv(out, dtype=str)
    test = pd.read_csv(competition_dir / "test.csv", dtype=str)
    assert sub["id"].tolist() == test["id"].tolist()  # every id, input order, the empty question too
    assert set(sub["label"].astype(int)) <= set(range(8))
    proba = pd.read_csv(tmp_path / "submission_proba.csv")
    assert proba.shape == (len(test), 9)
    assert (proba.iloc[:, 1:].sum(axis=1) - 1).abs().max() < 1e-5

    result = runner.invoke(cli, ["explain", "-m", str(model), "-n", "3"])
    assert result.exit_code == 0
    assert "Linear Algebra" in result.output and "weight" in result.output


def test_train_from_config_and_params_file(runner, competition_dir, tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[models.tfidf.params]\nmin_df = 1\nC = 3.0\nchar_ngram_range = [2, 4]\n")
    params = tmp_path / "best_params.json"
    params.write_text(json.dumps({"model": "tfidf", "params": {"C": 7.0}}))
    out = tmp_path / "m"
    result = runner.invoke(cli, ["train", "tfidf", "--data", str(competition_dir), "--out", str(out),
                                 "--config", str(cfg), "--params", str(params), "-p", "max_iter=500"])
    assert result.exit_code == 0, result.output
    p = json.loads((out / "manifest.json").read_text())["params"]
    assert p["C"] == 7.0 and p["min_df"] == 1 and p["max_iter"] == 500
    assert p["char_ngram_range"] == {"__tuple__": [2, 4]}


def _comp(tmp_path, train=None, test=None):
    d = tmp_path / "bad"
    d.mkdir(exist_ok=True)
    if train is not None:
        (d / "train.csv").write_bytes(train.encode("latin-1") if isinstance(train, tuple) else train.encode())
    if test is not None:
        (d / "test.csv").write_text(test)
    return d


TRAIN_OK = "Question,label\n" + "".join(f"Solve x+{i}=0,{i % 2}\n" for i in range(6))

# (case, train.csv, test.csv, expected fragment)
BAD_DATA = [
    ("missing train", None, "id,Question\n1,a\n", "has no train.csv"),
    ("missing column", "Question,topic\na,0\n", None, "no column 'label'"),
    ("header only", "Question,label\n", None, "header but no rows"),
    ("bad label", "Question,label\na,0\nb,x\n", None, "row 2 has label 'x'"),
    ("label out of range", "Question,label\na,0\nb,8\n", None, "row 2 has label '8'"),
    ("empty question", "Question,label\na,0\n,1\n", None, "row 2 has an empty Question"),
]


@pytest.mark.parametrize("case, train, test, fragment", BAD_DATA, ids=[b[0] for b in BAD_DATA])
def test_train_bad_data(runner, tmp_path, case, train, test, fragment):
    d = _comp(tmp_path, train, test)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["train", "tfidf", "--data", str(d), "--out", str(out)])
    assert_one_line_error(result, fragment)
    assert not out.exists()


def test_train_not_utf8(runner, tmp_path):
    d = tmp_path / "latin"
    d.mkdir()
    (d / "train.csv").write_bytes("Question,label\nintégrale,2\n".encode("latin-1"))
    assert_one_line_error(runner.invoke(cli, ["train", "tfidf", "--data", str(d), "--out", str(tmp_path / "o")]), "not UTF-8")


def test_train_missing_folder(runner, tmp_path):
    result = runner.invoke(cli, ["train", "tfidf", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert_one_line_error(result, "does not exist")


@pytest.mark.parametrize("args, fragment", [
    (["train", "nosuchmodel"], "unknown model 'nosuchmodel'"),
    (["train", "tfidf", "-p", "bogus=1"], "Unknown parameter 'bogus'"),
    (["train", "tfidf", "-p", "C"], "is not NAME=VALUE"),
    (["train", "tfidf", "-p", "C=-1"], "C must be a number > 0"),
    (["train", "tfidf", "--config", "missing.toml"], "does not exist"),
    (["train", "tfidf", "--params", "missing.json"], "does not exist"),
])
def test_train_bad_options(runner, competition_dir, tmp_path, args, fragment):
    result = runner.invoke(cli, args + ["--data", str(competition_dir), "--out", str(tmp_path / "o")])
    assert_one_line_error(result, fragment)


def test_predict_bad_inputs(runner, competition_dir, tmp_path):
    model = tmp_path / "m"
    assert runner.invoke(cli, ["train", "tfidf", "--data", str(competition_dir), "--out", str(model)]).exit_code == 0
    out = tmp_path / "sub.csv"
    dup = tmp_path / "dup.csv"
    dup.write_text("id,Question\n1,a\n1,b\n")
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("ident,Question\n1,a\n")
    cases = [
        (["-m", str(tmp_path / "nomodel"), "--input", str(competition_dir / "test.csv")], "does not exist"),
        (["-m", str(competition_dir), "--input", str(competition_dir / "test.csv")], "not a mathcls model folder"),
        (["-m", str(model), "--input", str(dup)], "duplicate id '1'"),
        (["-m", str(model), "--input", str(nocol)], "no column 'id'"),
        (["-m", str(model), "--input", str(tmp_path / "none.csv")], "does not exist"),
    ]
    for args, fragment in cases:
        assert_one_line_error(runner.invoke(cli, ["predict", *args, "--output", str(out)]), fragment)
        assert not out.exists()


@pytest.fixture()
def no_kaggle_credentials(monkeypatch, tmp_path):
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "kaggle-config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_download_without_credentials(runner, no_kaggle_credentials, tmp_path):
    result = runner.invoke(cli, ["download", "--out", str(tmp_path / "data")])
    assert_one_line_error(result, "No Kaggle credentials found")
    assert "kaggle.json" in result.output


def test_submit_validates_then_needs_credentials(runner, no_kaggle_credentials, competition_dir, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,label\n1000,0\n")
    assert_one_line_error(runner.invoke(cli, ["submit", str(bad), "-m", "x", "--data", str(competition_dir)]), "lacks")
    good = tmp_path / "good.csv"
    ids = pd.read_csv(competition_dir / "test.csv", dtype=str)["id"]
    pd.DataFrame({"id": ids, "label": 1}).to_csv(good, index=False)
    result = runner.invoke(cli, ["submit", str(good), "-m", "x", "--data", str(competition_dir)])
    assert_one_line_error(result, "No Kaggle credentials found")
    assert_one_line_error(runner.invoke(cli, ["submit", str(tmp_path / "none.csv"), "-m", "x"]), "does not exist")


def test_console_script_error_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mathcls", "train", "tfidf", "--data", str(tmp_path / "x"),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "does not exist" in proc.stderr
