"""`mathcls run` / `mathcls stack` end to end on small data: outputs, resume, bad input."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.persist import load_model
from mathcls.pipeline import build, resolve_config

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
SMOKE = EXPERIMENTS / "smoke.toml"


def test_shipped_configs_are_valid():
    """Every shipped config passes the load-time checks (keys, types, each model's parameters)."""
    from mathcls.config import builtin_config

    for name in ("gpu.toml", "smoke.toml"):
        assert resolve_config(EXPERIMENTS / name)["models"]
    assert list(builtin_config("demo")["models"]) == ["tfidf", "tfidf_char", "embed"]


# ------------------------------------------------------------------ a run that knows what changed
@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One `mathcls run` of the smoke config with generated rows; tests rerun copies of it."""
    from .conftest import write_competition

    root = tmp_path_factory.mktemp("smoke-run")
    data = write_competition(root / "comp")
    out = root / "run"
    lines = []
    build(data, out, config=_config(root, SMOKE.read_text()), use_generation=True, echo=lines.append)
    return data, out, lines


def _config(folder: Path, text: str) -> Path:
    path = folder / "config.toml"
    path.write_text(text)
    return path


class _StartsWith(str):
    """Equal to any string that starts with it (the leaderboard's seconds change too, or not)."""

    def __eq__(self, other):
        return isinstance(other, str) and other.startswith(str(self))

    __hash__ = str.__hash__


REPORT_RERUN = _StartsWith("report: rerun (stack")


def _rerun(smoke_run, tmp_path, text: str, capsys) -> tuple[Path, list[str], str]:
    """Rerun a copy of the smoke run with config ``text``; returns the run folder, the stage lines
    and everything printed."""
    data, out, _ = smoke_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    lines = []
    capsys.readouterr()
    logged = _Collect()
    logger = logging.getLogger("mathcls")  # the stack's verbose lines are logged
    logger.addHandler(logged)
    level, logger.level = logger.level, logging.DEBUG
    try:
        build(data, copy, config=_config(tmp_path, text), use_generation=True, echo=lines.append)
    finally:
        logger.removeHandler(logged)
        logger.setLevel(level)
    lines_and_logs = lines + logged.lines
    stage_lines = [ln for ln in lines if re.match(r"^[\w ]+: (reused|run|rerun)\b", ln)]
    return copy, stage_lines, "\n".join(lines_and_logs) + capsys.readouterr().out


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_run_writes_everything(smoke_run):
    data, out, lines = smoke_run
    for name in ("submission.csv", "test_proba.csv", "leaderboard.csv", "config.resolved.toml", "run.json",
                 "state.json", "folds.json"):
        assert (out / name).is_file(), name
    assert "tune word: run (no earlier result)" in lines
    sub = pd.read_csv(out / "submission.csv", dtype=str)
    test = pd.read_csv(data / "test.csv", dtype=str)
    assert sub["id"].tolist() == test["id"].tolist()
    board = pd.read_csv(out / "leaderboard.csv")
    assert set(board["model"]) == {"word", "char", "stack"}
    assert list(board["oof_f1_micro"]) == sorted(board["oof_f1_micro"], reverse=True)
    run = json.loads((out / "run.json").read_text())
    assert run["versions"]["scikit-learn"] and run["train_sha256"]
    assert (out / "tune" / "word" / "best_params.json").is_file()  # the smoke config tunes `word`
    gen = pd.read_csv(out / "generated" / "generated_train.csv")
    assert len(gen) == 40 and set(gen["label"]) == set(range(8))  # [generation] per_class = 5
    stages = json.loads((out / "state.json").read_text())["stages"]
    assert set(stages) == {"folds", "generate", "tune word", "oof word", "oof char", "stack", "submission", "report"}
    model = load_model(out / "model")
    assert model.predict(test["Question"].tolist()[:3]).shape == (3,)
    # The resolved config replays: the same models, checked like any config.
    assert list(resolve_config(out / "config.resolved.toml")["run"]["models"]) == ["word", "char"]


def test_run_writes_oof_tables_and_a_report_that_agree_with_them(smoke_run):
    """oof/<model>.csv hold every training row once with its true label; the report's confusion
    matrices, per-class F1 and correlations are what sklearn computes from those files."""
    from sklearn.metrics import confusion_matrix, f1_score

    data, out, lines = smoke_run
    train = pd.read_csv(data / "train.csv")
    classes = [str(c) for c in sorted(train["label"].unique())]
    proba_cols = [f"proba_{c}" for c in classes]
    report = out / "report"
    per_class = pd.read_csv(report / "per_class_f1.csv", dtype={"class": str})
    flat = {}
    for name in ("word", "char", "stack"):
        oof = pd.read_csv(out / "oof" / f"{name}.csv")
        assert oof["row"].tolist() == list(range(len(train)))
        assert oof["label"].tolist() == train["label"].tolist()
        assert list(oof.columns) == ["row", "fold", "label", *proba_cols]
        assert sorted(oof["fold"].unique()) == [0, 1, 2]  # the smoke config's cv = 3
        assert np.allclose(oof[proba_cols].sum(axis=1), 1)
        truth = oof["label"].astype(str).to_numpy()
        pred = np.asarray(classes)[oof[proba_cols].to_numpy().argmax(1)]
        counts = pd.read_csv(report / f"confusion_{name}.csv", dtype={"true": str}).set_index("true")
        assert counts.to_numpy().sum() == len(train)
        assert np.array_equal(counts.to_numpy(), confusion_matrix(truth, pred, labels=classes))
        assert (report / f"confusion_{name}.png").stat().st_size > 1000
        mine = per_class[per_class["model"] == name].set_index("class").loc[classes]
        assert np.allclose(mine["f1"], f1_score(truth, pred, labels=classes, average=None))
        assert mine["support"].tolist() == train["label"].value_counts().sort_index().tolist()
        flat[name] = oof[proba_cols].to_numpy().ravel()
    corr = pd.read_csv(report / "correlation.csv").set_index("model")
    assert list(corr.index) == ["char", "word"]  # base models only
    assert corr.loc["word", "char"] == pytest.approx(np.corrcoef(flat["word"], flat["char"])[0, 1])
    times = pd.read_csv(report / "time.csv").set_index("model")
    board = pd.read_csv(out / "leaderboard.csv").set_index("model")
    assert times.loc["word", "actual_seconds"] == board.loc["word", "fit_seconds"]
    for png in ("per_class_f1.png", "correlation.png", "time.png"):
        assert (report / png).stat().st_size > 1000, png
    test = pd.read_csv(out / "oof" / "test" / "word.csv", dtype={"id": str})
    assert test["id"].tolist() == pd.read_csv(data / "test.csv", dtype={"id": str})["id"].tolist()
    assert np.allclose(test[proba_cols].sum(axis=1), 1)
    assert "report: run (no earlier result)" in lines


def test_a_deleted_report_is_rebuilt_without_fitting(smoke_run, tmp_path, capsys):
    data, out, _ = smoke_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    shutil.rmtree(copy / "report")
    lines = []
    build(data, copy, config=_config(tmp_path, SMOKE.read_text()), use_generation=True, echo=lines.append)
    assert "stack: reused" in lines and "report: rerun (report is missing)" in lines
    assert (copy / "report" / "confusion_stack.png").is_file()


def test_rerun_without_changes_reuses_every_stage(smoke_run, tmp_path, capsys):
    out, lines, text = _rerun(smoke_run, tmp_path, SMOKE.read_text(), capsys)
    assert lines == ["folds: reused", "generate: reused", "tune word: reused", "oof word: reused",
                          "oof char: reused", "stack: reused", "submission: reused", "report: reused"]
    # Nothing was fitted or loaded: no study, no fold progress bar, no cached fold models.
    assert "Tuning" not in text and not re.search(r"(word|char) folds", text) and "loaded from cache" not in text
    before = pd.read_csv(smoke_run[1] / "submission.csv", dtype=str)
    assert pd.read_csv(out / "submission.csv", dtype=str).equals(before)


def test_editing_the_tune_table_reruns_tuning_and_the_stack(smoke_run, tmp_path, capsys):
    # Fixing C outside the default range (5..80) makes the tuned parameters differ for sure.
    text = SMOKE.read_text() + "\n[models.word.tune.space]\nC = 3.25\n"
    out, lines, printed = _rerun(smoke_run, tmp_path, text, capsys)
    assert lines == ["folds: reused", "generate: reused", "tune word: rerun ([models.word.tune] changed)",
                          "oof word: rerun (tuned parameters changed)", "oof char: reused",
                          "stack: rerun (oof word changed)", "submission: rerun (stack changed)",
                          REPORT_RERUN]
    assert json.loads((out / "tune" / "word" / "best_params.json").read_text())["params"]["C"] == 3.25
    manifest = json.loads((out / "model" / "manifest.json").read_text())
    bases = {name: params for name, _, params in _decode(manifest["params"]["estimators"])}
    assert bases["word"]["C"] == 3.25  # the stack was rebuilt with the new tuned parameters
    assert re.search(r"char\s+loaded from cache", printed) and not re.search(r"word\s+loaded from cache", printed)


def test_editing_generation_reruns_generation_and_what_trains_on_it(smoke_run, tmp_path, capsys):
    text = SMOKE.read_text().replace("per_class = 5", "per_class = 6")
    out, lines, _ = _rerun(smoke_run, tmp_path, text, capsys)
    assert lines[:3] == ["folds: reused", "generate: rerun ([generation] changed)",
                         "tune word: rerun (generated rows changed)"]
    assert lines[3].startswith("oof word: rerun (generated rows")
    assert lines[4:] == ["oof char: rerun (generated rows changed)", "stack: rerun (oof word, oof char changed)",
                         "submission: rerun (stack changed)", REPORT_RERUN]
    assert len(pd.read_csv(out / "generated" / "generated_train.csv")) == 48


def test_generation_enabled_in_the_config_does_what_the_flag_does(smoke_run, tmp_path):
    """``[generation] enabled = true`` without ``--use-generation``: the same rows, so nothing retrains;
    without either, the models retrain on the real rows alone."""
    data, out, _ = smoke_run
    text = SMOKE.read_text().replace("[generation]\n", "[generation]\nenabled = true\n")
    assert "enabled = true" in text
    for enabled, expected in ((True, "reused"), (False, "rerun")):
        copy = tmp_path / f"run-{enabled}"
        shutil.copytree(out, copy)
        lines = []
        build(data, copy, config=_config(tmp_path, text if enabled else SMOKE.read_text()), echo=lines.append)
        assert ("Using 40 generated rows in the training folds." in lines) is enabled
        assert ("generate: reused" in lines) is enabled
        assert any(ln.startswith(f"oof word: {expected}") for ln in lines), lines
        assert any(ln.startswith(f"stack: {expected}") for ln in lines), lines


def test_editing_model_params_reruns_that_model_only(smoke_run, tmp_path, capsys):
    text = SMOKE.read_text().replace('char_ngram_range = [2, 4]', 'char_ngram_range = [2, 3]')
    _, lines, _ = _rerun(smoke_run, tmp_path, text, capsys)
    assert lines == ["folds: reused", "generate: reused", "tune word: reused",
                          "oof word: reused", "oof char: rerun ([models.char.params] changed)",
                          "stack: rerun (oof char changed)", "submission: rerun (stack changed)",
                          REPORT_RERUN]


def test_run_state_reason_names_every_changed_part(tmp_path):
    from mathcls.stages import RunState, StageKey

    state = RunState(tmp_path)
    state.record("stack", StageKey({"oof a": "1", "oof b": "2", "[stack]": "3"}))
    reread = RunState(tmp_path)  # from state.json
    assert reread.reason_to_run("stack", StageKey({"oof a": "1", "oof b": "2", "[stack]": "3"})) is None
    assert reread.reason_to_run("stack", StageKey({"oof a": "9", "oof c": "2", "[stack]": "3"})) == \
        "oof a changed; oof c added; oof b removed"
    assert reread.reason_to_run("tune x", StageKey({})) == "no earlier result"
    assert reread.reason_to_run("stack", StageKey({"oof a": "1", "oof b": "2", "[stack]": "3"}),
                                outputs=[tmp_path / "model"]) == "model is missing"
    (tmp_path / "state.json").write_text('{"key": "old-format", "done": {"stack": true}}')
    assert RunState(tmp_path).reason_to_run("stack", StageKey({})) == "no earlier result"


def test_stack_command_uses_params_from(competition_dir, tmp_path):
    tuned = tmp_path / "tuned" / "word"
    tuned.mkdir(parents=True)
    (tuned / "best_params.json").write_text(json.dumps({"model": "tfidf", "params": {"C": 3.5}}))
    out = tmp_path / "stack"
    result = CliRunner().invoke(cli, ["stack", "--data", str(competition_dir), "--out", str(out), "--config", str(SMOKE),
                                      "--models", "word", "--params-from", str(tmp_path / "tuned")])
    assert result.exit_code == 0, result.output
    assert "Leaderboard" in result.output
    manifest = json.loads((out / "model" / "manifest.json").read_text())
    (name, family, params), = [tuple(e) for e in _decode(manifest["params"]["estimators"])]
    assert name == "word" and params["C"] == 3.5


def _decode(value):
    from mathcls.persist import decode_param

    return decode_param(value)


@pytest.mark.parametrize("args, fragment", [
    (["run", "--out", "X"], "pass --data DIR"),
    (["run", "--demo", "--data", "D", "--out", "X"], "--demo makes its own data"),
    (["stack", "--data", "D", "--out", "X", "--config", "CFG", "--models", "nope"], "--models names 'nope'"),
    (["stack", "--data", "D", "--out", "X", "--config", "BADFAMILY"], "family must be one of 'setfit', 'tfidf', 'transformer'; got 'nosuch'"),
    (["stack", "--data", "D", "--out", "X", "--config", "BADPARAM"], "unknown parameter 'bogus' for family tfidf"),
    (["stack", "--data", "D", "--out", "X", "--config", "CFG", "--params-from", "NOWHERE"], "does not exist"),
    (["stack", "--data", "D", "--out", "X", "--config", "PSEUDO", "--models", "char"], "lists every base model"),
    (["stack", "--data", "D", "--out", "X", "--config", "PSEUDO_TYPO"], "pseudo_label names 'chr'"),
])
def test_bad_input(competition_dir, tmp_path, args, fragment):
    bad_family = tmp_path / "family.toml"
    bad_family.write_text('[models.x]\nfamily = "nosuch"\n')
    bad_param = tmp_path / "param.toml"
    bad_param.write_text('[models.tfidf.params]\nbogus = 1\n')
    pseudo = tmp_path / "pseudo.toml"
    pseudo.write_text(SMOKE.read_text().replace("meta_n_trials = 0", 'meta_n_trials = 0\npseudo_label = ["char"]'))
    pseudo_typo = tmp_path / "pseudo_typo.toml"
    pseudo_typo.write_text(pseudo.read_text().replace('["char"]', '["chr"]'))
    out = tmp_path / "out"
    subst = {"D": str(competition_dir), "X": str(out), "CFG": str(SMOKE), "BADFAMILY": str(bad_family),
             "BADPARAM": str(bad_param), "NOWHERE": str(tmp_path / "nowhere"), "PSEUDO": str(pseudo),
             "PSEUDO_TYPO": str(pseudo_typo)}
    result = CliRunner().invoke(cli, [subst.get(a, a) for a in args])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert fragment in result.output.strip().splitlines()[-1]
    assert not out.exists()


@pytest.mark.slow
def test_demo_runs_without_data_or_network(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "Demo test F1-micro" in result.output
    board = pd.read_csv(tmp_path / "demo" / "leaderboard.csv")
    assert {"tfidf", "embed", "stack"} <= set(board["model"])
    assert board.set_index("model").loc["stack", "oof_f1_micro"] > 0.5
    # The demo pseudo-labels its test questions for tfidf_char, and the run records it.
    assert "pseudo-labelled rows per fold" in result.output
    assert load_model(tmp_path / "demo" / "model").pseudo_label == ["tfidf_char"]
