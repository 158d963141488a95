"""`mathcls run` / `mathcls stack` end to end on small data: outputs, resume, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.persist import load_model
from mathcls.pipeline import build, resolve_config

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
SMOKE = EXPERIMENTS / "smoke.toml"


def test_shipped_configs_are_valid():
    from mathcls.models import make_model

    for name in ("cpu.toml", "gpu.toml", "smoke.toml"):
        cfg = resolve_config(EXPERIMENTS / name)
        for entry in cfg["models"].values():
            make_model(entry["family"], {k: v for k, v in entry.get("params", {}).items()
                                         if not (isinstance(v, str) and v.lower() == "none")})


def test_default_config_follows_cpu_toml():
    """`mathcls run` without --config trains what experiments/cpu.toml trains."""
    from mathcls.pipeline import DEFAULT_CONFIG

    shipped = resolve_config(EXPERIMENTS / "cpu.toml")
    assert list(DEFAULT_CONFIG["models"]) == list(shipped["models"])
    for name, entry in DEFAULT_CONFIG["models"].items():
        params = shipped["models"][name].get("params", {})
        for key, value in entry["params"].items():
            assert params[key] == (list(value) if isinstance(value, tuple) else value), (name, key)
    assert DEFAULT_CONFIG["cv"] == shipped["cv"]
    assert DEFAULT_CONFIG["stack"] == shipped["stack"]


def test_run_writes_everything_and_resumes(competition_dir, tmp_path, capsys):
    out = tmp_path / "run"
    lines = []
    result = build(competition_dir, out, config=SMOKE, echo=lines.append)
    for name in ("submission.csv", "test_proba.csv", "leaderboard.csv", "config.resolved.toml", "run.json",
                 "state.json", "folds.json"):
        assert (out / name).is_file(), name
    sub = pd.read_csv(out / "submission.csv", dtype=str)
    test = pd.read_csv(competition_dir / "test.csv", dtype=str)
    assert sub["id"].tolist() == test["id"].tolist()
    board = pd.read_csv(out / "leaderboard.csv")
    assert set(board["model"]) == {"word", "char", "stack"}
    assert board["oof_f1_micro"].between(0, 1).all()
    assert list(board["oof_f1_micro"]) == sorted(board["oof_f1_micro"], reverse=True)
    run = json.loads((out / "run.json").read_text())
    assert run["versions"]["scikit-learn"] and run["train_sha256"]
    assert (out / "tune" / "word" / "best_params.json").is_file()  # the smoke config tunes `word`
    state = json.loads((out / "state.json").read_text())["done"]
    assert {"tune:word", "stack", "predict"} <= set(state)
    model = load_model(out / "model")
    assert model.predict(test["Question"].tolist()[:3]).shape == (3,)
    assert result.leaderboard.equals(board)

    lines.clear()
    capsys.readouterr()
    build(competition_dir, out, config=SMOKE, echo=lines.append)
    text = "\n".join(lines) + capsys.readouterr().out
    assert "from the earlier run" in text  # tuning is not repeated
    assert text.count("loaded from cache") == 2  # neither base model is refitted
    assert pd.read_csv(out / "submission.csv", dtype=str).equals(sub)


def test_run_with_generation(competition_dir, tmp_path):
    out = tmp_path / "gen"
    build(competition_dir, out, config=SMOKE, use_generation=True, models=None, tune_models=False, echo=lambda m: None)
    gen = pd.read_csv(out / "generated" / "generated_train.csv")
    assert len(gen) == 40 and set(gen["label"]) == set(range(8))
    assert (out / "submission.csv").is_file()


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
    (["stack", "--data", "D", "--out", "X", "--config", "BADFAMILY"], "unknown model family 'nosuch'"),
    (["stack", "--data", "D", "--out", "X", "--config", "BADPARAM"], "Unknown parameter 'bogus'"),
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
