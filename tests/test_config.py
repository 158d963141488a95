"""Configs: the schema every config is checked against when it is loaded, the built-in configs
shipped as package data, and `train`/`tune --config` finding the config's model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.config import builtin_config, model_entry, resolve_config
from mathcls.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "experiments" / "smoke.toml"
TWO_MODELS = '[models.word]\nfamily = "tfidf"\n[models.char]\nfamily = "tfidf"\n'

#: (case, config text, the end of the one-line message after "Config FILE: ").
BAD_CONFIGS = [
    ("misspelt table", '[models.tfidf.parms]\nC = 1.0\n',
     "unknown key 'parms' in [models.tfidf] (did you mean 'params'?); valid keys: budget, enabled, family, "
     "params, priority, tune."),
    ("misspelt top-level key", "cvv = 3\n", "unknown key 'cvv' at the top level (did you mean 'cv'?); valid keys: "
     "cv, data, generation, models, run, seed, stack."),
    ("unknown stack key", "[stack]\nmeta_trials = 3\n", "unknown key 'meta_trials' in [stack] (did you mean "
     "'meta_n_trials'?)"),
    ("misspelt stack key", "[stack]\nbias_tunning = true\n", "unknown key 'bias_tunning' in [stack] (did you mean "
     "'bias_tuning'?)"),
    ("stack key the run sets", "[stack]\ncache_dir = 'x'\n", "unknown key 'cache_dir' in [stack]"),
    ("cv as a word", 'cv = "five"\n', "cv must be an integer >= 2; got 'five'."),
    ("cv of one", "cv = 1\n", "cv must be an integer >= 2; got 1."),
    ("seed not an integer", "seed = 1.5\n", "seed must be an integer >= 0; got 1.5."),
    ("models as a string", 'models = "tfidf"\n', "models must be a table of [models.<name>] sections; got 'tfidf'."),
    ("run models as a string", '[run]\nmodels = "tfidf"\n', "[run] models must be a list of model names"),
    ("run models unknown", '[run]\nmodels = ["tfdf"]\n', "[run] models names 'tfdf' (did you mean 'tfidf'?), which "
     "the config does not define"),
    ("time limit as a number", "[run]\ntime_limit = 45\n", "[run] time_limit must be a string; got 45."),
    ("time limit not a duration", '[run]\ntime_limit = "soon"\n',
     "[run] time_limit 'soon' is not a duration; write a number with a unit: 90s, 45m or 2h."),
    ("budget setting the family lacks", '[models.tfidf]\nfamily = "tfidf"\n[models.tfidf.budget]\nepochs = [1, 2]\n',
     "[models.tfidf.budget] cannot vary 'epochs'"),
    ("budget values not whole numbers", '[models.t]\nfamily = "transformer"\n[models.t.budget]\nepochs = ["one"]\n',
     "[models.t.budget] epochs must list whole numbers"),
    ("enabled as a word", '[models.embed]\nfamily = "setfit"\nenabled = "no"\n',
     "[models.embed] enabled must be true or false; got 'no'."),
    ("unknown family", '[models.embed]\nfamily = "nope"\n',
     "[models.embed] family must be one of 'setfit', 'tfidf', 'transformer'; got 'nope'."),
    ("no family", "[models.x]\nenabled = true\n", "[models.x] has no family and 'x' is not one"),
    ("model section a value", 'models.embed = "setfit"\n', "[models.embed] must be a table; got embed = 'setfit'."),
    ("params a value", '[models.tfidf]\nparams = "C=3"\n', "[models.tfidf] params must be a table of parameter = "
     "value; got 'C=3'."),
    ("unknown parameter", "[models.tfidf.params]\nCc = 3.0\n", "[models.tfidf.params] has unknown parameter 'Cc' for "
     "family tfidf (did you mean 'C'?)"),
    ("min_df the library rejects", "[models.tfidf.params]\nmin_df = -3\n",
     "[models.tfidf.params] min_df must be an integer >= 1 or a number in (0, 1]; got -3."),
    ("useless max_iter", "[models.tfidf.params]\nmax_iter = 0\n", "[models.tfidf.params] max_iter must be an integer "
     ">= 1; got 0."),
    ("both n-gram ranges none", '[models.tfidf.params]\nword_ngram_range = "none"\nchar_ngram_range = "none"\n',
     "[models.tfidf.params] word_ngram_range and char_ngram_range cannot both be None"),
    ("neural parameter", '[models.embed]\nfamily = "setfit"\n[models.embed.params]\nmax_length = 0\n',
     "[models.embed.params] max_length must be an integer >= 1; got 0."),
    ("misspelt tune key", "[models.tfidf.tune]\nn_trial = 3\n", "unknown key 'n_trial' in [models.tfidf.tune] (did "
     "you mean 'n_trials'?)"),
    ("negative timeout", "[models.tfidf.tune]\ntimeout = -5\n", "[models.tfidf.tune] timeout must be a number > 0"),
    ("unknown pruner", '[models.tfidf.tune]\npruner = "medain"\n', "[models.tfidf.tune] pruner must be one of "
     "'hyperband', 'median', 'none' (did you mean 'median'?); got 'medain'."),
    ("search space parameter", "[models.tfidf.tune.space]\nalpha = {low = 0.1, high = 1.0}\n",
     "[models.tfidf.tune] Unknown parameter 'alpha' in the tfidf search space"),
    ("stack value", '[stack]\ntest_strategy = "refitt"\n', "[stack] test_strategy must be one of 'fold-average', "
     "'refit' (did you mean 'refit'?); got 'refitt'."),
    ("pseudo label typo", TWO_MODELS + '[stack]\npseudo_label = ["chr"]\n',
     "[stack] pseudo_label names 'chr' (did you mean 'char'?), which the config does not define; defined: word, char."),
    ("generation type", '[generation]\nper_class = "many"\n', "[generation] per_class must be an integer >= 0; "
     "got 'many'."),
    ("unknown generation key", "[generation]\naugment = 2\n", "unknown key 'augment' in [generation]"),
    ("not TOML", "cv = \n", "is not valid TOML"),
]


@pytest.fixture(scope="module")
def imported():
    """Import what checking a config imports (every family's module), so the timing below measures
    the checks, not the one-off imports of a loaded test machine."""
    import mathcls.cli.run  # noqa: F401
    import mathcls.pipeline  # noqa: F401

    resolve_config(None)


@pytest.mark.parametrize("command", ["run", "stack"])
@pytest.mark.parametrize("case, text, message", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_is_one_line_before_any_data_is_read(imported, tmp_path, command, case, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    out = tmp_path / "out"
    started = time.perf_counter()
    # The data folder does not exist: an error about the config proves nothing was read before it.
    result = CliRunner().invoke(cli, [command, "--data", str(tmp_path / "no-data"), "--out", str(out),
                                      "--config", str(config)])
    seconds = time.perf_counter() - started
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    if case == "not TOML":
        assert lines[0].startswith(f"Error: Config file {config} ") and message in lines[0]
    else:
        assert lines[0].startswith(f"Error: Config {config}: {message}"), lines[0]
    assert not out.exists()
    assert seconds < 5, f"{case}: {seconds:.1f} s"


def test_bad_config_from_a_real_process_has_no_traceback(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('cv = "five"\n')
    proc = subprocess.run([sys.executable, "-m", "mathcls", "run", "--data", str(tmp_path), "--out",
                           str(tmp_path / "out"), "--config", str(config)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr == f"Error: Config {config}: cv must be an integer >= 2; got 'five'.\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["train", "tfidf"], ["tune", "tfidf"]])
def test_train_and_tune_check_the_config_too(tmp_path, competition_dir, args):
    config = tmp_path / "bad.toml"
    config.write_text("[models.tfidf.parms]\nC = 1.0\n")
    result = CliRunner().invoke(cli, args + ["--data", str(competition_dir), "--out", str(tmp_path / "o"),
                                             "--config", str(config)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"Error: Config {config}: unknown key 'parms' in [models.tfidf] (did you mean "
                                      "'params'?); valid keys: budget, enabled, family, params, priority, tune.")


def test_param_override_names_the_closest_parameter(tmp_path, competition_dir):
    result = CliRunner().invoke(cli, ["train", "tfidf", "--data", str(competition_dir), "--out", str(tmp_path / "o"),
                                      "-p", "max_itr=5"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Unknown parameter 'max_itr' for model 'tfidf' (did you mean 'max_iter'?)")


def test_reserved_and_optional_keys_are_accepted():
    cfg = resolve_config({"run": {"time_limit": "45m", "models": ["tfidf"]},
                          "models": {"tfidf": {"priority": 2, "enabled": True, "tune": {"n_trials": 0}}}})
    assert cfg["run"] == {"time_limit": "45m", "models": ["tfidf"]}
    assert cfg["models"]["tfidf"]["family"] == "tfidf"  # filled in from the name
    with pytest.raises(ConfigError, match=r"^Config \(given as a dict\): cv must be an integer >= 2; got 'x'\.$"):
        resolve_config({"cv": "x"})


# ------------------------------------------------------------------ the built-in configs
# gpu-llm.toml asks for 4-bit QLoRA, which the checks refuse without a GPU: test_lora covers it.
@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "experiments").glob("*.toml") if p.name != "gpu-llm.toml"),
                         ids=lambda p: p.name)
def test_every_example_config_passes_the_config_checks(path):
    """A config shipped in experiments/ never ends a user's run with a config error."""
    cfg = resolve_config(path)
    assert cfg["models"] and all("family" in entry for entry in cfg["models"].values())


def test_default_config_is_the_shipped_cpu_toml():
    """`mathcls run` without --config trains mathcls/configs/cpu.toml, read as package data."""
    shipped = tomllib.loads((ROOT / "mathcls" / "configs" / "cpu.toml").read_text())
    assert builtin_config("cpu") == shipped
    resolved = resolve_config(None)
    assert list(resolved["models"]) == ["tfidf", "embed", "transformer", "transformer2"]
    assert {k: v for k, v in resolved.items() if k != "models"} == {k: v for k, v in shipped.items() if k != "models"}
    for name, entry in shipped["models"].items():
        assert resolved["models"][name]["params"] == entry["params"]
    # A user config without models keeps them and changes only what it sets.
    assert resolve_config({"cv": 3})["models"] == resolved["models"]


def test_pipeline_holds_no_python_copy_of_a_config():
    import mathcls.pipeline as pipeline

    assert not hasattr(pipeline, "DEFAULT_CONFIG") and not hasattr(pipeline, "DEMO_CONFIG")
    # One home: mathcls/configs/cpu.toml; experiments/cpu.toml is only a link to it.
    link = ROOT / "experiments" / "cpu.toml"
    assert link.is_symlink() and link.resolve() == (ROOT / "mathcls" / "configs" / "cpu.toml").resolve()


@pytest.mark.slow
def test_wheel_ships_the_builtin_configs(tmp_path):
    """The configs are package data: a wheel built from the sources holds them byte for byte."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "mathcls", src / "mathcls", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True)
    if proc.returncode != 0 and "No module named" in proc.stderr:
        pytest.skip(f"cannot build a wheel here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    wheel, = (tmp_path / "dist").glob("mathcls-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        for name in ("cpu", "demo"):
            assert zf.read(f"mathcls/configs/{name}.toml") == (ROOT / "mathcls" / "configs" / f"{name}.toml").read_bytes()


# ------------------------------------------------------------------ train/tune --config find the model
def test_model_entry_by_name_or_family():
    cfg = resolve_config(SMOKE)
    assert model_entry(cfg, "char")[:2] == ("char", "tfidf")
    with pytest.raises(ConfigError, match=r"defines several tfidf models \(word, char\); pass one of their names"):
        model_entry(cfg, "tfidf", SMOKE)
    with pytest.raises(ConfigError, match=r"defines no setfit model \(it defines word, char\)"):
        model_entry(cfg, "setfit", SMOKE)
    one = {"models": {"embed": {"family": "setfit", "params": {"max_length": 64}}}}
    assert model_entry(one, "setfit") == ("embed", "setfit", one["models"]["embed"])
    assert model_entry({}, "tfidf") == ("tfidf", "tfidf", {})


def test_train_uses_the_named_config_model(tmp_path, competition_dir):
    out = tmp_path / "char"
    result = CliRunner().invoke(cli, ["train", "char", "--config", str(SMOKE), "--data", str(competition_dir),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == "tfidf"
    assert manifest["params"]["word_ngram_range"] is None
    assert manifest["params"]["char_ngram_range"] == {"__tuple__": [2, 4]}


@pytest.mark.parametrize("model, message", [
    ("tfidf", "defines several tfidf models (word, char); pass one of their names instead of 'tfidf'."),
    ("setfit", "defines no setfit model (it defines word, char); pass one of those names, or leave out --config."),
    ("wrod", "Unknown model 'wrod' (did you mean 'word'?); pass a family (tfidf, transformer, setfit) or a model "
             "the config defines (word, char)."),
])
def test_train_refuses_a_config_model_it_cannot_find(tmp_path, competition_dir, model, message):
    out = tmp_path / "o"
    result = CliRunner().invoke(cli, ["train", model, "--config", str(SMOKE), "--data", str(competition_dir),
                                      "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].endswith(message), result.stderr
    assert not out.exists()


# ---------------------------------------------------------------- resolved once, checked on load
@pytest.mark.parametrize("command", ["run", "stack"])
def test_cli_refuses_a_budget_value_the_estimator_refuses_before_reading_data(tmp_path, command):
    config = tmp_path / "bad.toml"
    config.write_text('[models.t]\nfamily = "transformer"\n[models.t.budget]\nepochs = [0, 1]\n')
    result = CliRunner().invoke(cli, [command, "--data", str(tmp_path / "absent"), "--out", str(tmp_path / "o"),
                                      "--config", str(config)])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
    assert lines == [f"Error: Config {config}: [models.t.budget] epochs must be an integer >= 1; got 0."]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["run", "stack"])
def test_cli_reads_and_checks_the_config_once(tmp_path, monkeypatch, command):
    from mathcls import config as config_module

    reads = []
    real = config_module.load_config
    monkeypatch.setattr(config_module, "load_config", lambda path: reads.append(path) or real(path))
    config = tmp_path / "one.toml"
    config.write_text('cv = 3\n[models.word]\nfamily = "tfidf"\n')
    # the data folder is absent: the run stops at the data, after every config step it has before it
    result = CliRunner().invoke(cli, [command, "--data", str(tmp_path / "absent"), "--out", str(tmp_path / "o"),
                                      "--config", str(config)])
    assert result.exit_code == 1 and "absent" in result.output
    assert reads == [str(config)]
    resolved = resolve_config(config)
    assert resolve_config(resolved) is resolved and resolved["cv"] == 3 and resolved["seed"] == 42
