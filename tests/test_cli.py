"""CLI behaviour through click's CliRunner: help for every command, the happy path on a small
competition folder, and one clear line with a non-zero exit for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
                                 "--out", str(out), "--proba"])
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
    ("missing column", "Question,topic\na,0\n", None, "no target column 'label'"),
    ("header only", "Question,label\n", None, "header but no rows"),
    # labels are taken as they are ("x", 8): only an empty one is wrong
    ("empty label", "Question,label\na,0\nb,\n", None, "row 2 has an empty label"),
    ("one class", "Question,label\na,x\nb,x\n", None, "has only 1 class"),
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
        assert_one_line_error(runner.invoke(cli, ["predict", *args, "--out", str(out)]), fragment)
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
    assert_one_line_error(runner.invoke(cli, ["submit", str(bad), "-M", "x", "--data", str(competition_dir)]), "lacks")
    good = tmp_path / "good.csv"
    ids = pd.read_csv(competition_dir / "test.csv", dtype=str)["id"]
    pd.DataFrame({"id": ids, "label": 1}).to_csv(good, index=False)
    result = runner.invoke(cli, ["submit", str(good), "-M", "x", "--data", str(competition_dir)])
    assert_one_line_error(result, "No Kaggle credentials found")
    assert_one_line_error(runner.invoke(cli, ["submit", str(tmp_path / "none.csv"), "-M", "x"]), "does not exist")


def test_console_script_error_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mathcls", "train", "tfidf", "--data", str(tmp_path / "x"),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "does not exist" in proc.stderr


# ---- every bad input: one `Error:` line, no traceback, no output written ------------------------
@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    """Paths the bad-input table refers to: a good competition folder and model, broken variants."""
    from tests.conftest import make_corpus

    root = tmp_path_factory.mktemp("bad-inputs")
    comp = root / "comp"
    comp.mkdir()
    texts, labels = make_corpus(8, seed=1)
    pd.DataFrame({"Question": texts, "label": labels}).to_csv(comp / "train.csv", index=False)
    test_texts, _ = make_corpus(2, seed=2)
    ids = [str(1000 + i) for i in range(len(test_texts))]
    pd.DataFrame({"id": ids, "Question": test_texts}).to_csv(comp / "test.csv", index=False)
    pd.DataFrame({"id": ids, "label": 0}).to_csv(comp / "sample_submission.csv", index=False)
    paths = {"comp": comp, "file": root / "notes.txt", "mine": root / "mine", "model": root / "model"}
    paths["file"].write_text("not a folder\n")
    paths["mine"].mkdir()
    (paths["mine"] / "thesis.tex").write_text("mine\n")

    def variant(name, edit):
        d = root / name
        d.mkdir()
        for f in comp.iterdir():
            (d / f.name).write_bytes(f.read_bytes())
        edit(d)
        paths[name] = d

    variant("badsample", lambda d: (d / "sample_submission.csv").write_text(
        "id,label\n" + "".join(f"{i},0\n" for i in ids[:-1]) + "999999,0\n"))
    variant("oneclass", lambda d: pd.DataFrame({"Question": texts, "label": 3}).to_csv(d / "train.csv", index=False))
    variant("latin", lambda d: (d / "train.csv").write_bytes("Question,label\nSolve x,0\nintégrale,2\n".encode("latin-1")))
    result = CliRunner().invoke(cli, ["train", "tfidf", "--data", str(comp), "--out", str(paths["model"]), "-p", "min_df=1"])
    assert result.exit_code == 0, result.output

    def broken(name, edit):
        d = root / name
        d.mkdir()
        for f in paths["model"].iterdir():
            (d / f.name).write_bytes(f.read_bytes())
        manifest = json.loads((d / "manifest.json").read_text())
        edit(d, manifest)
        if manifest is not None:
            (d / "manifest.json").write_text(json.dumps(manifest))
        paths[name] = d

    broken("reordered", lambda d, m: m["classes"].reverse())
    broken("three", lambda d, m: m.update(classes=m["classes"][:3]))
    broken("noclasses", lambda d, m: m.pop("classes"))
    broken("paramslist", lambda d, m: m.update(params=list(m["params"])))
    broken("truncated", lambda d, m: (d / "tfidf.skops").write_bytes((d / "tfidf.skops").read_bytes()[:500]))
    (root / "list.json").write_text("[1, 2]\n")
    (root / "latin.json").write_bytes('{"C": "é"}'.encode("latin-1"))
    (root / "embed.toml").write_text('[models.embed]\nfamily = "setfit"\n[models.embed2]\nfamily = "setfit"\n')
    (root / "bad_sub.csv").write_text("id,label\n1000,0\n")
    (root / "subs").mkdir()  # not beside the model folder, whose manifest records the data folder
    (root / "subs" / "sub.csv").write_text("id,label\n" + "".join(f"{i},1\n" for i in ids))
    proba_dir = root / "pd"
    (proba_dir / "sub_proba.csv").mkdir(parents=True)
    return {k: str(v) for k, v in paths.items()} | {"root": str(root)}


# (command line with {placeholders}, fragment of the one Error line, extra environment)
BAD_INPUTS = [
    # train
    ("train tfidf --data {comp} --out {file}/m", "is a file, not a folder", None),
    ("train tfidf --data {comp} --out {mine}", "is not a model folder", None),
    ("train tfidf --data {comp} --out {out} -p bogus=1", "Unknown parameter 'bogus' for model 'tfidf'", None),
    ("train tfidf --data {oneclass} --out {out}", "has only 1 class (3)", None),
    ("train tfidf --data {latin} --out {out}", "not UTF-8 (first bad byte on line 3", None),
    ("train tfidf --data {comp} --out {out} -p min_df=-3", "min_df must be an integer >= 1", None),
    ("train tfidf --data {comp} --out {out} -p max_iter=0", "max_iter must be an integer >= 1; got 0", None),
    ("train tfidf --data {comp} --out {out} -p word_ngram_range=none -p char_ngram_range=none",
     "cannot both be None", None),
    ("train tfidf --data {comp} --out {out} -p C=abc", "C must be a number > 0; got 'abc'", None),
    ("train stack --data {comp} --out {out}", "Unknown model 'stack'", None),
    ("train setfit --data {comp} --out {out} --config {root}/embed.toml", "defines several setfit models (embed, embed2)",
     None),
    ("train tfidf --data {comp} --out {out} --params {root}/list.json", "must hold a JSON object", None),
    ("train tfidf --data {comp} --out {out} --params {root}/latin.json", "is not UTF-8", None),
    ("train setfit --data {comp} --out {out} -p body_epochs=0", "Cache folder (MATHCLS_CACHE)",
     {"MATHCLS_CACHE": "{file}/cache"}),
    ("train setfit --data {comp} --out {out} -p body_epochs=0 -p device=gpu", "device='gpu' is not a torch device",
     None),
    # predict
    ("predict -m {model} --input {comp}/test.csv --output {file}/sub.csv", "is a file, not a folder", None),
    ("predict -m {model} --input {badsample}/test.csv --output {out}", "do not hold the same ids", None),
    ("predict -m {reordered} --input {comp}/test.csv --output {out}", "class order", None),
    ("predict -m {three} --input {comp}/test.csv --output {out}", "lists 3 classes", None),
    ("predict -m {noclasses} --input {comp}/test.csv --output {out}", "no 'classes' field", None),
    ("predict -m {paramslist} --input {comp}/test.csv --output {out}", "'params' must be an object", None),
    ("predict -m {truncated} --input {comp}/test.csv --output {out}", "does not match its sha256", None),
    ("predict -m {model} --input {comp}/train.csv --output {out}", "no column 'id'", None),
    ("predict -m {model} --input {comp}/test.csv --output {root}/pd/sub.csv --proba", "Probability file", None),
    ("predict -m {comp} --input {comp}/test.csv --output {out}", "not a mathcls model folder", None),
    # stack and run
    ("stack --data {badsample} --out {out} --models tfidf", "do not hold the same ids", None),
    ("stack --data {comp} --out {mine} --models tfidf", "is not a run folder", None),
    ("stack --data {comp} --out {file}/run --models tfidf", "is a file, not a folder", None),
    ("stack --data {oneclass} --out {out} --models tfidf", "has only 1 class", None),
    ("stack --data {comp} --out {out} --models nosuch", "names 'nosuch', which the config does not define", None),
    ("run --data {badsample} --out {out}", "do not hold the same ids", None),
    ("run --data {comp} --out {mine}", "is not a run folder", None),
    ("run --data {comp} --out {file}/run", "is a file, not a folder", None),
    ("run --demo --out {mine}", "is not a run folder", None),
    ("run --demo --data {comp} --out {out}", "--demo makes its own data", None),
    # explore
    ("explore --data {comp} --json {file}/r.json", "is a file, not a folder", None),
    ("explore --data {comp} --images {file}/img", "is a file, not a folder", None),
    ("explore --data {latin} --json {out}", "not UTF-8", None),
    # evaluate
    ("evaluate --models {model} --input {comp}/train.csv --out {file}/e.csv", "is a file, not a folder", None),
    ("evaluate --models {model} --input {comp}/train.csv --out {out} --images {file}/img", "Images folder", None),
    ("evaluate --models {model} --input {comp}/test.csv --out {out}", "no column 'label'", None),
    ("evaluate --models {root}/nosuch --input {comp}/train.csv --out {out}", "does not exist", None),
    # submit (no Kaggle call is reached: the id check comes first)
    ("submit {root}/subs/sub.csv -M x", "Found no test.csv", None),
    ("submit {root}/subs/sub.csv -M x --data {root}/nosuch", "--data folder", None),
    ("submit {root}/subs/sub.csv -M x", "MATHCLS_DATA folder", {"MATHCLS_DATA": "{root}/nosuch"}),
    ("submit {root}/bad_sub.csv -M x --data {comp}", "lacks", None),
    # tune
    ("tune tfidf --data {comp} --out {file}/t --n-trials 1", "is a file, not a folder", None),
    ("tune tfidf --data {comp} --out {mine} --n-trials 1", "is not a tuning folder", None),
    ("tune nosuch --data {comp} --out {out}", "Unknown model family 'nosuch'", None),
    ("tune tfidf --data {oneclass} --out {out} --n-trials 1", "has only 1 class", None),
    # generate
    ("generate -g --per-class 2 --out {file}/g", "is a file, not a folder", None),
    ("generate -g --per-class 2 --out {mine}", "is not a folder from `mathcls generate`", None),
    ("generate -a --out {out}", "need the training data", None),
    ("generate -g --per-class 2 --data {oneclass} --out {out}", "has only 1 class", None),
    # explain and download
    ("explain -m {reordered}", "class order", None),
    ("download --out {file}/data", "is a file, not a folder", None),
]


def _fill(text, paths, out):
    return text.format(out=out, **paths)


@pytest.mark.parametrize("line, fragment, env", BAD_INPUTS, ids=[b[0].split(" --")[0] + f"-{i}" for i, b in enumerate(BAD_INPUTS)])
def test_bad_input_is_one_error_line(bad_inputs, tmp_path, monkeypatch, line, fragment, env):
    import shlex

    monkeypatch.chdir(tmp_path)  # submit looks for ./data; nothing must land in the working folder
    out = tmp_path / "out"
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, _fill(value, bad_inputs, out))
    before = {p: p.stat().st_mtime_ns for p in map(Path, [bad_inputs["file"], *Path(bad_inputs["mine"]).iterdir()])}
    result = CliRunner().invoke(cli, shlex.split(_fill(line, bad_inputs, out)))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output, result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert sorted(p.name for p in Path(bad_inputs["mine"]).iterdir()) == ["thesis.tex"]
    assert {p: p.stat().st_mtime_ns for p in before} == before


@pytest.fixture(scope="module")
def real_bad(tmp_path_factory):
    """The full competition data with a sample submission that lacks one test id, and with one class."""
    from tests.conftest import REAL_DATA as real_data

    if not (real_data / "train.csv").is_file():
        pytest.skip(f"real competition data not found at {real_data}")
    root = tmp_path_factory.mktemp("real-bad")
    sample = pd.read_csv(real_data / "sample_submission.csv", dtype=str)
    badsample = root / "badsample"
    badsample.mkdir()
    for name in ("train.csv", "test.csv"):
        (badsample / name).write_bytes((real_data / name).read_bytes())
    sample.iloc[:-1].to_csv(badsample / "sample_submission.csv", index=False)
    oneclass = root / "oneclass"
    oneclass.mkdir()
    train = pd.read_csv(real_data / "train.csv")
    train.assign(label=0).to_csv(oneclass / "train.csv", index=False)
    (oneclass / "test.csv").write_bytes((real_data / "test.csv").read_bytes())
    return {"real": str(real_data), "real_badsample": str(badsample), "real_oneclass": str(oneclass)}


# Checks of principle 1 on the full competition data: each fails before any model is fitted.
EARLY = [
    ("stack --data {real_badsample} --out {out}", "do not hold the same ids"),
    ("run --data {real_badsample} --out {out}", "do not hold the same ids"),
    ("predict -m {model} --input {real_badsample}/test.csv --output {out}", "do not hold the same ids"),
    ("train tfidf --data {real_oneclass} --out {out}", "has only 1 class"),
    ("stack --data {real_oneclass} --out {out} --models tfidf", "has only 1 class"),
    ("train tfidf --data {real} --out {mine}", "is not a model folder"),
    ("train tfidf --data {real} --out {file}/m --cv 5", "is a file, not a folder"),
    ("stack --data {real} --out {mine}", "is not a run folder"),
    ("run --data {real} --out {file}/run", "is a file, not a folder"),
    ("tune tfidf --data {real} --out {mine}", "is not a tuning folder"),
    ("explore --data {real} --json {file}/report.json", "is a file, not a folder"),
    ("evaluate --models {model} --input {real}/train.csv --out {file}/e.csv", "is a file, not a folder"),
    ("predict -m {model} --input {real}/test.csv --output {file}/sub.csv", "is a file, not a folder"),
]


@pytest.mark.parametrize("line, fragment", EARLY, ids=[e[0].split(" {")[0] + f"-{i}" for i, e in enumerate(EARLY)])
def test_checks_fail_fast_on_the_full_data(bad_inputs, real_bad, tmp_path, line, fragment):
    import shlex
    import time

    out = tmp_path / "out"
    t0 = time.perf_counter()
    result = CliRunner().invoke(cli, shlex.split(line.format(out=out, **bad_inputs, **real_bad)))
    seconds = time.perf_counter() - t0
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
    assert not out.exists()
    assert seconds < 5, f"{line}: failed after {seconds:.1f} s"


# Mistakes click itself reports: exit code 2, the usage line, then one `Error:` line.
USAGE_ERRORS = [
    ("train tfidf --data {comp} --out {out} --seed -1", "'--seed': -1 is not in the range"),
    ("train tfidf --data {comp} --out {file}", "is a file"),
    ("train nosuch --data {comp} --out {out}", "unknown model 'nosuch'"),
    ("predict -m {model} --input {comp} --output {out}", "is a directory"),
    ("predict -m {model} --input {comp}/test.csv --output {out} --batch-size 0", "'--batch-size': 0"),
    ("tune tfidf --data {comp} --out {out} --cv 1", "'--cv': 1 is not in the range"),
    ("generate -g --per-class 0 --out {out}", "'--per-class': 0"),
    ("run --out {out}", "pass --data DIR"),
    ("explain -m {model} -n 0", "'-n' / '--top': 0"),
]


@pytest.mark.parametrize("line, fragment", USAGE_ERRORS, ids=[u[0].split(" {")[0] + f"-{i}" for i, u in enumerate(USAGE_ERRORS)])
def test_usage_error_is_exit_2_with_one_error_line(bad_inputs, tmp_path, line, fragment):
    import shlex

    out = tmp_path / "out"
    result = CliRunner().invoke(cli, shlex.split(_fill(line, bad_inputs, out)))
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and fragment in errors[0] and result.stderr.startswith("Usage:"), result.stderr
    assert not out.exists()


def test_one_name_per_meaning_across_commands(competition_dir, tmp_path):
    """-m is a model everywhere (submit's message is -M), files written go to --out, earlier
    spellings (predict/evaluate --output, evaluate --data FILE) still work but are not shown."""
    runner = CliRunner()
    for command in ("predict", "explain"):
        assert "-m, --model" in runner.invoke(cli, [command, "--help"]).output
    submit = runner.invoke(cli, ["submit", "--help"]).output
    assert "-M, --message" in submit and "-m," not in submit
    for command in ("predict", "evaluate"):
        shown = runner.invoke(cli, [command, "--help"]).output
        assert "--out " in shown and "--output" not in shown
    assert "--input FILE" in runner.invoke(cli, ["evaluate", "--help"]).output
    model = tmp_path / "m"
    assert runner.invoke(cli, ["train", "tfidf", "--data", str(competition_dir), "--out", str(model),
                               "-p", "min_df=1"]).exit_code == 0
    test = str(competition_dir / "test.csv")
    for flag, name in (("--out", "new.csv"), ("--output", "old.csv")):
        result = runner.invoke(cli, ["predict", "-m", str(model), "--input", test, flag, str(tmp_path / name)])
        assert result.exit_code == 0 and (tmp_path / name).is_file(), result.output
    train = str(competition_dir / "train.csv")
    for flags in (["--input", train, "--out"], ["--data", train, "--output"]):
        table = tmp_path / f"eval{len(flags[0])}.csv"
        result = runner.invoke(cli, ["evaluate", "--models", str(model), *flags, str(table)])
        assert result.exit_code == 0 and table.is_file(), result.output
    assert_one_line_error(runner.invoke(cli, ["evaluate", "--models", str(model)]), "--input FILE")


@pytest.mark.parametrize("value, fragment", [("0", "positive duration"), ("-3", "positive duration"),
                                             ("soon", "is not a duration")])
def test_tune_timeout_takes_a_duration(competition_dir, tmp_path, value, fragment):
    result = CliRunner().invoke(cli, ["tune", "tfidf", "--data", str(competition_dir), "--out", str(tmp_path / "t"),
                                      "--timeout", value])
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "t").exists()


def test_duration_seconds_reads_units_and_bare_seconds():
    from mathcls.cli.common import duration_seconds

    assert [duration_seconds(v, "--timeout") for v in ("90s", "20m", "1h", "45", "2.5", None)] == \
        [90, 1200, 3600, 45, 2.5, None]


def test_every_command_takes_quiet_and_verbose():
    runner = CliRunner()
    for command in COMMANDS:
        shown = runner.invoke(cli, [command, "--help"]).output
        assert "--quiet" in shown and "-v, --verbose" in shown, command


def test_run_logs_to_run_log_and_quiet_keeps_the_console_to_warnings(competition_dir, tmp_path):
    smoke = Path(__file__).resolve().parents[1] / "experiments" / "smoke.toml"
    out = tmp_path / "run"
    args = ["stack", "--data", str(competition_dir), "--out", str(out), "--config", str(smoke), "--models", "char"]
    loud = CliRunner().invoke(cli, args)
    assert loud.exit_code == 0, loud.output
    assert "stack: run (no earlier result)" in loud.output and "Leaderboard" in loud.output
    log = (out / "run.log").read_text()
    assert "stack: run (no earlier result)" in log and "Leaderboard" in log and " INFO mathcls" in log
    assert "char folds" in loud.output  # the progress bar
    quiet = CliRunner().invoke(cli, [*args, "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert "stack: reused" not in quiet.output and "Leaderboard" not in quiet.output
    assert "stack: reused" in (out / "run.log").read_text()  # the file keeps every line, appended
    fresh = CliRunner().invoke(cli, [*args[:4], str(tmp_path / "run2"), *args[5:], "-q"])
    assert fresh.exit_code == 0 and fresh.output.strip() == "", fresh.output  # no lines, no progress bars
    assert "stack: run" in (tmp_path / "run2" / "run.log").read_text()
