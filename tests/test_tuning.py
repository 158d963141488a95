"""mathcls.tuning: search spaces, config overrides, the objective, storages, bad input, resume, and
real worker processes sharing one study (journal file and PostgreSQL)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.errors import MathclsError
from mathcls.tuning import spaces
from mathcls.tuning.spaces import (
    choice_label,
    decode_trial_params,
    default_trial,
    searchable,
    space_from_config,
    suggest,
    validate_space,
)

from .conftest import make_corpus

ROOT = Path(__file__).resolve().parents[1]
NO_PRUNING = "[models.tfidf.tune]\npruner = \"none\"\n"


# ---------------------------------------------------------------- helpers
@pytest.fixture()
def tiny_comp(tmp_path):
    """A competition folder big enough for 3 folds, small enough for sub-second trials."""
    texts, labels = make_corpus(12, seed=1)
    d = tmp_path / "comp"
    d.mkdir()
    pd.DataFrame({"Question": texts, "label": labels}).to_csv(d / "train.csv", index=False)
    return d


def write_config(tmp_path, text, name="tune.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def run_cli(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


def load_journal_study(path, name=None):
    import optuna
    from optuna.storages.journal import JournalFileBackend

    storage = optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    if not names:
        return None
    return optuna.load_study(study_name=name or names[0], storage=storage)


def worker_cmd(comp, out, n_trials=3, extra=()):
    return [sys.executable, "-m", "mathcls", "tune", "tfidf", "--data", str(comp), "--out", str(out),
            "--n-trials", str(n_trials), "--cv", "3", "--quiet", *map(str, extra)]


def worker_env(tmp_path):
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", MATHCLS_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    return env


def states(study):
    out = {}
    for t in study.trials:
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


# ---------------------------------------------------------------- spaces
@pytest.mark.parametrize("model", ["tfidf", "setfit", "transformer"])
def test_space_functions_return_valid_specs(model):
    from mathcls.families import get_family

    function = getattr(spaces, f"{model}_space")
    assert get_family(model).space == f"mathcls.tuning.spaces:{model}_space"
    space = function()
    assert space and searchable(space)
    for name, spec in space.items():
        assert spec["type"] in spaces.TYPES, name
        # every spec passes the same checks a config override gets
        spaces._check_spec(model, name, spec)
    assert function.__doc__ and all(name in function.__doc__ for name in space)
    from mathcls.models import get_model_class

    try:
        get_model_class(model)
    except ImportError:
        pytest.skip(f"the {model} estimator is not available yet")
    validate_space(model, space)  # the names must be parameters of the registered estimator


def test_suggest_and_decode_round_trip_tuples_and_none():
    import optuna

    space = validate_space("tfidf", {
        "char_ngram_range": {"type": "categorical", "choices": [(2, 5), (1, 4)]},
        "word_ngram_range": {"type": "categorical", "choices": [None, (1, 2)]},
        "C": {"type": "float", "low": 1.0, "high": 10.0, "log": True},
        "min_df": {"type": "int", "low": 1, "high": 3},
        "max_iter": {"type": "fixed", "value": 500},
    })
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    params = suggest(trial, space)
    assert params["char_ngram_range"] in [(2, 5), (1, 4)] and isinstance(params["char_ngram_range"], tuple)
    assert params["word_ngram_range"] in [None, (1, 2)]
    assert 1.0 <= params["C"] <= 10.0 and params["min_df"] in (1, 2, 3) and params["max_iter"] == 500
    assert decode_trial_params(space, trial.params) == params
    # Optuna only sees primitive labels
    assert all(isinstance(v, (int, float, str, type(None))) for v in trial.params.values())


def test_default_trial_expresses_the_defaults():
    from mathcls.models.tfidf import TfidfLogReg

    space = spaces.tfidf_space()
    first = default_trial(space, TfidfLogReg().get_params())
    assert set(first) == set(searchable(space))  # every default value is inside the default space
    assert decode_trial_params(space, first)["char_ngram_range"] == (2, 5)
    assert first["char_ngram_range"] == choice_label((2, 5)) == "[2, 5]"


def test_config_overrides_update_fix_and_replace():
    cfg = {"models": {"tfidf": {"tune": {"space": {
        "C": {"low": 5.0, "high": 50.0, "log": True},
        "char_ngram_range": {"choices": [[2, 5], [3, 6]]},
        "max_iter": 2000,
        "class_weight": {"type": "fixed", "value": "none"},
        "min_df": {"low": 1, "high": 2},
    }}}}}
    space = space_from_config("tfidf", cfg)
    assert space["C"] == {"type": "float", "low": 5.0, "high": 50.0, "log": True, "step": None}
    assert space["char_ngram_range"]["choices"] == [(2, 5), (3, 6)]
    assert space["max_iter"] == {"type": "fixed", "value": 2000}
    assert space["class_weight"]["value"] is None
    assert space["min_df"]["type"] == "int"
    assert "word_ngram_range" in space  # defaults kept
    cfg["models"]["tfidf"]["tune"]["replace_space"] = True
    replaced = space_from_config("tfidf", cfg)
    assert set(replaced) == {"C", "char_ngram_range", "max_iter", "class_weight", "min_df"}


@pytest.mark.parametrize("space_cfg, match", [
    ({"no_such_param": {"low": 1, "high": 2}}, r"Unknown parameter 'no_such_param'.*valid parameters: C, "),
    ({"C": {"type": "float", "low": 5.0, "high": 1.0}}, r"low \(5.0\) must be below high"),
    ({"C": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}, r"log scale needs low > 0"),
    ({"C": {"type": "gaussian"}}, r"type 'gaussian'"),
    ({"C": {"type": "categorical", "choices": []}}, r"non-empty list of choices"),
    ({"C": {"type": "float", "low": 1.0, "high": 2.0, "bogus": 1}}, r"unknown key 'bogus'"),
    ({"C": {"log": True}}, r"needs a type"),
])
def test_bad_space_entries_are_one_sentence(space_cfg, match):
    with pytest.raises(MathclsError, match=match):
        space_from_config("tfidf", {"models": {"tfidf": {"tune": {"space": space_cfg}}}})


def test_all_fixed_space_is_empty():
    cfg = {"models": {"tfidf": {"tune": {"replace_space": True, "space": {"C": 3.0, "min_df": 1}}}}}
    with pytest.raises(MathclsError, match="search space is empty"):
        space_from_config("tfidf", cfg)


# ---------------------------------------------------------------- objective
def _objective(deadline=None, space=None):
    from mathcls.folds import make_folds
    from mathcls.models.tfidf import TfidfLogReg
    from mathcls.tuning.objective import CVObjective

    texts, y = make_corpus(9, seed=3)
    space = space or validate_space("tfidf", {"C": {"type": "float", "low": 1.0, "high": 10.0}})
    return CVObjective(TfidfLogReg(min_df=1), space, texts, y, make_folds(y, 3, 0), deadline=deadline)


@pytest.mark.slow
def test_objective_scores_folds_and_records_user_attrs():
    import optuna

    study = optuna.create_study(direction="maximize")
    study.optimize(_objective(), n_trials=2)
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        folds = trial.user_attrs["fold_scores"]
        assert len(folds) == 3 and len(trial.user_attrs["fit_seconds"]) == 3
        assert trial.value == pytest.approx(np.mean(folds))
        assert set(trial.intermediate_values) == {0, 1, 2}
        assert trial.user_attrs["estimator_params"]["C"] == trial.params["C"]


def test_objective_honours_the_pruner():
    import optuna

    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=1.1))
    study.optimize(_objective(), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert len(trial.user_attrs["fold_scores"]) == 1  # stopped after the first fold


def test_deadline_stops_the_trial_and_requeue_puts_it_back():
    import optuna

    from mathcls.tuning.objective import DeadlineReached
    from mathcls.tuning.run import _requeue

    study = optuna.create_study(direction="maximize")
    objective = _objective(deadline=time.monotonic() - 1)
    with pytest.raises(DeadlineReached):
        study.optimize(objective, n_trials=1)
    assert study.trials[0].state == optuna.trial.TrialState.FAIL
    _requeue(study, objective.current_trial_number, "test")
    assert study.trials[1].state == optuna.trial.TrialState.WAITING
    assert study.trials[1].params == study.trials[0].params


def test_epoch_callbacks_report_and_stop():
    import optuna

    from mathcls.tuning.objective import DeadlineCallback, DeadlineReached, PruningCallback

    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.5))
    trial = study.ask()
    cb = PruningCallback(trial, fold=1, stride=1000)
    cb.on_epoch_end(None, 2, {"val_f1_micro": 0.9})
    assert study.trials[0].intermediate_values == {1002: 0.9}
    with pytest.raises(optuna.TrialPruned):
        cb.on_epoch_end(None, 3, {"val_f1_micro": 0.1})
    DeadlineCallback(time.monotonic() + 60).on_epoch_end(None, 0, {})
    with pytest.raises(DeadlineReached):
        DeadlineCallback(time.monotonic() - 1).on_epoch_end(None, 0, {})
    DeadlineCallback(time.monotonic() + 60).on_batch_end(None, 5, {})
    with pytest.raises(DeadlineReached, match="mid-epoch"):  # a long epoch does not outlast the budget
        DeadlineCallback(time.monotonic() - 1, trial_number=4).on_batch_end(None, 5, {})


# ---------------------------------------------------------------- storage
def test_storage_urls_and_masking(tmp_path):
    from mathcls.tuning.storage import mask_url, open_storage

    assert mask_url("postgresql://me:s3cret@db:5432/x") == "postgresql://me:***@db:5432/x"
    opened = open_storage(None, tmp_path / "o")
    assert opened.kind == "journal" and opened.location == str(tmp_path / "o" / "study.journal")
    sqlite = open_storage(f"sqlite:///{tmp_path / 's.db'}", tmp_path)
    assert sqlite.kind == "rdb" and "parallel workers will conflict" in sqlite.warning
    with pytest.raises(MathclsError, match="unsupported scheme 'redis'"):
        open_storage("redis://localhost", tmp_path)
    with pytest.raises(MathclsError, match="is a folder"):
        open_storage(str(tmp_path), tmp_path)


# ---------------------------------------------------------------- the command
@pytest.mark.slow
def test_tune_writes_outputs_resumes_and_feeds_train(tiny_comp, tmp_path):
    out = tmp_path / "tune"
    result = run_cli("tune", "tfidf", "--data", tiny_comp, "--out", out, "--n-trials", 2, "--cv", 3, "--quiet")
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("Trial ")]
    assert len(lines) == 2 and "F1-micro" in lines[0] and "C=20" in lines[0]  # trial 0 = the defaults
    assert "INFO mathcls" in (out / "run.log").read_text() and lines[0] in (out / "run.log").read_text()
    for name in ("best_params.json", "trials.csv", "folds.json", "study.journal", "optimization_history.png",
                 "param_importances.png"):
        assert (out / name).is_file(), name
    best = json.loads((out / "best_params.json").read_text())
    assert best["model"] == "tfidf" and best["cv"] == 3 and best["n_trials"] == 2
    assert len(best["fold_scores"]) == 3 and best["value"] == pytest.approx(np.mean(best["fold_scores"]))
    assert best["params"]["char_ngram_range"]["__tuple__"]  # tuples survive JSON
    assert len(pd.read_csv(out / "trials.csv")) == 2

    # rerunning the same command resumes the study
    again = run_cli("tune", "tfidf", "--data", tiny_comp, "--out", out, "--n-trials", 2, "--cv", 3, "--quiet")
    assert again.exit_code == 0, again.output
    assert "2 complete trials so far" in again.output
    study = load_journal_study(out / "study.journal")
    assert states(study) == {"COMPLETE": 4}
    assert study.trials[0].user_attrs["note"] == "defaults"
    assert json.loads((out / "best_params.json").read_text())["n_trials"] == 4

    # mathcls train reads best_params.json
    model_dir = tmp_path / "model"
    trained = run_cli("train", "tfidf", "--data", tiny_comp, "--out", model_dir, "--params", out / "best_params.json")
    assert trained.exit_code == 0, trained.output
    manifest = json.loads((model_dir / "manifest.json").read_text())
    from mathcls.persist import decode_param

    params = {k: decode_param(v) for k, v in manifest["params"].items()}
    tuned = {k: decode_param(v) for k, v in json.loads((out / "best_params.json").read_text())["params"].items()}
    for k, v in tuned.items():
        assert params[k] == (pytest.approx(v) if isinstance(v, float) else v), k


def test_sqlite_storage_warns_but_works(tiny_comp, tmp_path):
    out = tmp_path / "t"
    result = run_cli("tune", "tfidf", "--data", tiny_comp, "--out", out, "--n-trials", 1, "--cv", 3, "--quiet",
                     "--storage", f"sqlite:///{tmp_path / 'study.db'}")
    assert result.exit_code == 0, result.output
    assert "parallel workers will conflict" in result.stderr
    assert (out / "best_params.json").is_file()


def _existing_study(tiny_comp, tmp_path):
    """A finished 1-trial study in tmp_path/existing; returns (out, journal bytes)."""
    out = tmp_path / "existing"
    result = run_cli("tune", "tfidf", "--data", tiny_comp, "--out", out, "--n-trials", 1, "--cv", 3, "--quiet",
                     "--study-name", "s1")
    assert result.exit_code == 0, result.output
    return out, (out / "study.journal").read_bytes()


BAD = [
    ("unknown model", ["tune", "xgboost"], r"Unknown model family 'xgboost'"),
    ("unknown param", ["tune", "tfidf", "--config", "{cfg_param}"], r"Unknown parameter 'alpha' in the tfidf search space"),
    ("empty space", ["tune", "tfidf", "--config", "{cfg_empty}"], r"search space is empty"),
    ("unknown tune key", ["tune", "tfidf", "--config", "{cfg_key}"],
     r"unknown key 'trials' in \[models.tfidf.tune\] \(did you mean 'n_trials'\?\)"),
    ("unreachable storage", ["tune", "tfidf", "--storage", "postgresql://u:pw@127.0.0.1:9/none"],
     r"Cannot open storage postgresql://u:\*\*\*@127.0.0.1:9/none"),
    ("bad scheme", ["tune", "tfidf", "--storage", "ftp://host/x"], r"unsupported scheme 'ftp'"),
    ("missing data", ["tune", "tfidf", "--data", "{tmp}/nowhere"], r"Data folder .*nowhere does not exist"),
]


@pytest.mark.parametrize("case, args, match", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_and_nonzero(case, args, match, tiny_comp, tmp_path):
    cfgs = {
        "cfg_param": write_config(tmp_path, "[models.tfidf.tune.space]\nalpha = {low = 0.1, high = 1.0}\n"),
        "cfg_empty": write_config(tmp_path, "[models.tfidf.tune]\nreplace_space = true\n[models.tfidf.tune.space]\nC = 3.0\n", "e.toml"),
        "cfg_key": write_config(tmp_path, "[models.tfidf.tune]\ntrials = 3\n", "k.toml"),
        "tmp": tmp_path,
    }
    args = [a.format(**cfgs) for a in args]
    if "--data" not in args:
        args += ["--data", str(tiny_comp)]
    out = tmp_path / "out"
    result = run_cli(*args, "--out", out, "--n-trials", 1, "--cv", 3, "--quiet")
    assert result.exit_code != 0
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in result.output, message
    assert re.search(match, message), message
    assert not (out / "best_params.json").exists()


@pytest.mark.parametrize("case", ["direction", "space", "cv"])
def test_existing_study_with_other_settings_is_left_alone(case, tiny_comp, tmp_path):
    import optuna

    if case == "direction":
        out = tmp_path / "existing"
        out.mkdir()
        from mathcls.tuning.storage import open_storage

        optuna.create_study(storage=open_storage(None, out).storage, study_name="s1", direction="minimize")
        before = (out / "study.journal").read_bytes()
        extra, match = [], "exists with direction minimize, not maximize"
    else:
        out, before = _existing_study(tiny_comp, tmp_path)
        if case == "space":
            cfg = write_config(tmp_path, "[models.tfidf.tune.space]\nC = {low = 2.0, high = 3.0}\n")
            extra, match = ["--config", cfg, "--cv", 3], "exists with a different search space"
        else:
            extra, match = ["--cv", 4], "exists with a different fold count"
    best_before = (out / "best_params.json").read_bytes() if (out / "best_params.json").exists() else None
    args = ["tune", "tfidf", "--data", tiny_comp, "--out", out, "--n-trials", 1, "--study-name", "s1", "--quiet"]
    result = run_cli(*args, *(extra or ["--cv", 3]))
    assert result.exit_code != 0
    assert match in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert (out / "study.journal").read_bytes() == before  # nothing written over the study
    if best_before is not None:
        assert (out / "best_params.json").read_bytes() == best_before


def test_tune_help_and_registry():
    result = run_cli("tune", "--help")
    assert result.exit_code == 0 and "--storage" in result.output and "--n-trials" in result.output
    assert "tune" in run_cli("--help").output


# ---------------------------------------------------------------- real workers
def _two_workers(comp, tmp_path, storage=None, study_name=None):
    cfg = write_config(tmp_path, NO_PRUNING)
    out = tmp_path / "shared"
    extra = ["--config", cfg]
    if storage:
        extra += ["--storage", storage]
    if study_name:
        extra += ["--study-name", study_name]
    env = worker_env(tmp_path)
    procs = [subprocess.Popen(worker_cmd(comp, out, 3, extra), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=240) for p in procs]
    for p, (stdout, stderr) in zip(procs, outputs):
        assert p.returncode == 0, stdout + stderr
        assert sum(ln.startswith("Trial ") for ln in stdout.splitlines()) == 3
    best = json.loads((out / "best_params.json").read_text())
    assert best["model"] == "tfidf" and 0 < best["value"] <= 1
    from mathcls.training import read_params_file

    assert read_params_file(out / "best_params.json", "tfidf")  # a valid params file
    return out


@pytest.mark.slow
def test_two_workers_share_one_journal_study(tiny_comp, tmp_path):
    out = _two_workers(tiny_comp, tmp_path)
    study = load_journal_study(out / "study.journal")
    assert states(study) == {"COMPLETE": 6}
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2
    assert json.loads((out / "best_params.json").read_text())["n_trials"] == 6


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_share_one_postgres_study(tiny_comp, tmp_path):
    import optuna

    url = os.environ["MATHCLS_TEST_POSTGRES_URL"]
    name = f"two-workers-{os.getpid()}-{time.time_ns()}"
    _two_workers(tiny_comp, tmp_path, storage=url, study_name=name)
    from mathcls.tuning.storage import open_storage

    study = optuna.load_study(study_name=name, storage=open_storage(url, tmp_path).storage)
    assert states(study) == {"COMPLETE": 6}
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2


def _freeze_mid_trial(proc, load, lock=None, timeout=120):
    """Stop ``proc`` (SIGSTOP) at a moment when it runs a trial and holds no journal lock; returns
    that trial's number. Retries (SIGCONT) until such a moment is caught. ``load()`` returns the
    study (or None before it exists)."""
    from mathcls.tuning._heartbeat import OWNER_KEY

    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        assert proc.poll() is None, "the worker finished before it could be stopped mid-trial"
        study = load()
        running = [t for t in study.trials if t.state.name == "RUNNING"] if study else []
        if running:
            os.kill(proc.pid, signal.SIGSTOP)
            time.sleep(0.05)
            caught = [t for t in load().trials if t.state.name == "RUNNING" and OWNER_KEY in t.system_attrs
                      and t.user_attrs.get("fold_scores")]
            if caught and not (lock and lock.exists()):
                return caught[0].number
            os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError("could not stop the worker in the middle of a trial")


def _kill_and_rerun(tmp_path, extra, load, lock=None):
    texts, labels = make_corpus(40, seed=5)  # ~1 s per trial, so a trial can be caught mid-way
    comp = tmp_path / "comp"
    comp.mkdir()
    pd.DataFrame({"Question": texts, "label": labels}).to_csv(comp / "train.csv", index=False)
    out = tmp_path / "t"
    cmd = worker_cmd(comp, out, 3, ["--config", write_config(tmp_path, NO_PRUNING), *extra])
    env = worker_env(tmp_path)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        killed = _freeze_mid_trial(proc, load, lock)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    before = load()
    assert before.trials[killed].state.name == "RUNNING"  # stuck until someone notices
    n_complete_before = states(before).get("COMPLETE", 0)

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    study = load()
    counts = states(study)
    assert "RUNNING" not in counts and "WAITING" not in counts
    assert study.trials[killed].state.name == "FAIL"
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retried) == 1 and retried[0].state.name == "COMPLETE"
    assert retried[0].params == study.trials[killed].params  # the lost trial ran again, same parameters
    assert counts["COMPLETE"] == n_complete_before + 3  # the rerun finished the 3 trials it was asked for
    assert json.loads((out / "best_params.json").read_text())["n_trials"] == counts["COMPLETE"]


@pytest.mark.slow
def test_killed_worker_loses_nothing_and_rerun_completes(tmp_path):
    journal = tmp_path / "t" / "study.journal"
    _kill_and_rerun(tmp_path, [], lambda: load_journal_study(journal) if journal.exists() else None,
                    lock=Path(str(journal) + ".lock"))


@pytest.mark.postgres
@pytest.mark.slow
def test_killed_worker_rerun_completes_on_postgres(tmp_path):
    import optuna

    from mathcls.tuning.storage import open_storage

    url = os.environ["MATHCLS_TEST_POSTGRES_URL"]
    name = f"kill-{os.getpid()}-{time.time_ns()}"
    storage = open_storage(url, tmp_path).storage

    def load():
        try:
            return optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            return None

    _kill_and_rerun(tmp_path, ["--storage", url, "--study-name", name], load)


def test_use_generation_adds_rows_to_training_folds_only(tiny_comp, tmp_path):
    from mathcls.folds import make_folds
    from mathcls.models.tfidf import TfidfLogReg
    from mathcls.tuning.objective import CVObjective

    gen_texts, gen_labels = make_corpus(2, seed=9)
    gen = tmp_path / "generated"
    gen.mkdir()
    source = [-1] * (len(gen_texts) - 2) + [0, 5]  # two augmented copies of real rows 0 and 5
    pd.DataFrame({"Question": gen_texts, "label": gen_labels, "source": source}).to_csv(gen / "generated_train.csv",
                                                                                        index=False)
    out = tmp_path / "t"
    args = ["tune", "tfidf", "--data", tiny_comp, "--out", out, "--n-trials", 1, "--cv", 3, "--quiet",
            "--study-name", "g"]
    result = run_cli(*args, "--use-generation", "--generated", gen)
    assert result.exit_code == 0, result.output
    assert f"Adding {len(gen_texts)} generated rows" in result.output
    # the same study without the generated rows would mix two experiments
    plain = run_cli(*args)
    assert plain.exit_code != 0 and "different set of generated rows" in plain.stderr

    # inside the objective the extra rows join training folds only
    texts, y = make_corpus(12, seed=1)
    fold = make_folds(y, 3, 42)
    seen = []

    class Recording(TfidfLogReg):
        def fit(self, X, y):
            seen.append(len(X))
            return super().fit(X, y)

    space = validate_space("tfidf", {"C": {"type": "float", "low": 1.0, "high": 2.0}})
    import optuna

    objective = CVObjective(Recording(min_df=1), space, texts, y, fold, extra_texts=gen_texts, extra_y=gen_labels,
                            extra_source=source)
    optuna.create_study(direction="maximize").optimize(objective, n_trials=1)
    n_free = len(gen_texts) - 2
    for k in range(3):
        expected = int((fold != k).sum()) + n_free + sum(1 for s in (0, 5) if fold[s] != k)
        assert seen[k] == expected


@pytest.mark.slow
def test_transformer_trials_are_pruned_per_epoch_on_validation_f1(tmp_path, monkeypatch):
    """The real bundled MiniLM, tiny: 2 folds x 1 epoch at max_length 32; per-epoch validation F1
    reaches the pruner, and trials write no checkpoints or logs."""
    pytest.importorskip("torch")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    from mathcls.tuning.run import MAX_EPOCHS_STRIDE, tune

    texts, labels = make_corpus(5, seed=4)
    comp = tmp_path / "comp"
    comp.mkdir()
    pd.DataFrame({"Question": texts, "label": labels}).to_csv(comp / "train.csv", index=False)
    cfg = {"models": {"transformer": {
        "params": {"validation_fraction": 0.4, "max_length": 32, "batch_size": 8, "device": "cpu"},
        "tune": {"replace_space": True, "pruner": "none",
                 "space": {"learning_rate": {"low": 1e-4, "high": 3e-4, "log": True}, "epochs": 1}}}}}
    result = tune("transformer", comp, tmp_path / "t", n_trials=1, cv=2, config=cfg, progress=False,
                  echo=lambda m: None)
    assert result.n_complete == 1 and 0 <= result.best_value <= 1
    study = load_journal_study(tmp_path / "t" / "study.journal")
    steps = sorted(study.trials[0].intermediate_values)
    assert steps == [1, MAX_EPOCHS_STRIDE + 1]  # fold * stride + epoch
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()
    best = json.loads((tmp_path / "t" / "best_params.json").read_text())
    assert best["params"]["epochs"] == 1 and "output_dir" not in best["params"]


@pytest.mark.slow
def test_timeout_is_a_wall_clock_budget(tmp_path):
    """The worker stops within 10% of --timeout (plus writing the outputs); a trial in flight is
    stopped at its next fold and queued again, so nothing is left RUNNING."""
    from mathcls.tuning.run import tune

    texts, labels = make_corpus(40, seed=5)
    comp = tmp_path / "comp"
    comp.mkdir()
    pd.DataFrame({"Question": texts, "label": labels}).to_csv(comp / "train.csv", index=False)
    lines = []
    config = {"models": {"tfidf": {"tune": {"pruner": "none"}}}}
    # Size the budget to this machine: several trials must fit, even when the CPU is busy.
    t0 = time.monotonic()
    tune("tfidf", comp, tmp_path / "probe", n_trials=1, cv=3, progress=False, echo=lines.append, config=config)
    one_trial = time.monotonic() - t0
    budget = max(6.0, 5 * one_trial)
    t0 = time.monotonic()
    result = tune("tfidf", comp, tmp_path / "t", n_trials=1000, timeout=budget, cv=3, progress=False,
                  echo=lines.append, config=config)
    assert time.monotonic() - t0 < budget * 1.1 + 3.0 + one_trial  # budget + 10% + writing csv/plots
    assert result.n_complete >= 1
    counts = states(load_journal_study(tmp_path / "t" / "study.journal"))
    assert "RUNNING" not in counts
    assert counts.get("FAIL", 0) == counts.get("WAITING", 0)  # a stopped trial is queued again
