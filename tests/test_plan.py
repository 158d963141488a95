"""Time budgets (mathcls.plan): durations, the budget and its signals, the planner, and whole
`mathcls run`s under a limit with a fake clock and a fake slow model (tests/fake_models.py)."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.errors import MathclsError
from mathcls.plan import Budget, BudgetCallback, BudgetExhausted, parse_duration, read_time_limit
from mathcls.plan.costs import Cost
from mathcls.plan.planner import FILL, ModelPlan, Option, Planner
from mathcls.plan.spec import ModelSpec, model_specs

from . import fake_models
from .conftest import make_corpus, write_competition

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


# ---------------------------------------------------------------------------------------- durations
@pytest.mark.parametrize("text, seconds", [
    ("90s", 90), ("45m", 2700), ("2h", 7200), ("1h30m", 5400), ("1.5h", 5400), (" 10M ", 600), (3600, 3600),
    (2.5, 2.5),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["none", "off", "None", None])
def test_parse_duration_no_limit(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize("text", ["45", "45x", "m", "-5m", "0s", "1h1h", "45 minutes", "1e3s", True, 0, -3])
def test_parse_duration_rejects_with_one_sentence(text):
    with pytest.raises(MathclsError) as info:
        parse_duration(text, "--time-limit")
    message = str(info.value)
    assert message.startswith("--time-limit") and "\n" not in message and "90s, 45m or 2h" in message


def test_time_limit_comes_from_the_cli_or_the_config():
    cfg = {"run": {"time_limit": "20m"}}
    assert read_time_limit(cfg) == 1200
    assert read_time_limit(cfg, "1h") == 3600
    assert read_time_limit(cfg, "none") is None
    assert read_time_limit({}) is None
    with pytest.raises(MathclsError, match=r"\[run\] time_limit 'soon' is not a duration"):
        read_time_limit({"run": {"time_limit": "soon"}})


def test_cli_bad_time_limit_is_one_line_before_any_work(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--data", str(tmp_path / "absent"), "--out", str(tmp_path / "o"),
                                      "--time-limit", "45x"])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
    assert lines == ["Error: --time-limit '45x' is not a duration; write a number with a unit: 90s, 45m or 2h."]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["run", "stack"])
def test_cli_reprobe_forgets_this_machines_measurements(tmp_path, command):
    from mathcls.plan import probe as probe_module

    texts, y = make_corpus(20)
    probe = probe_module.Probe(probe_module.DataShape(texts, y, texts[:10], cv=2), echo=lambda line: None)
    probe.fitted("tfidf", {"min_df": 1, "char_ngram_range": None})
    assert probe.path.is_file()
    args = [command, "--data", str(tmp_path / "absent"), "--out", str(tmp_path / "o")]
    CliRunner().invoke(cli, args)
    assert probe.path.is_file()  # kept without the flag
    result = CliRunner().invoke(cli, args + ["--reprobe"])
    assert "measures it again" in result.output and not probe.path.exists()


def test_shipped_cpu_config_plans_to_an_hour_and_the_default_follows_it():
    from mathcls.pipeline import resolve_config

    # experiments/cpu.toml is a link to the built-in default (mathcls/configs/cpu.toml).
    shipped = resolve_config(EXPERIMENTS / "cpu.toml")
    assert read_time_limit(shipped) == 3600
    assert read_time_limit(resolve_config(None)) == 3600
    assert shipped["run"] == resolve_config(None)["run"] == {"time_limit": "60m"}
    assert {name: (e["priority"], e.get("budget")) for name, e in shipped["models"].items()} == {
        "tfidf": (1, None), "embed": (2, {"max_length": [128, 256]}),
        "transformer": (3, {"epochs": [1, 2, 3], "max_length": [64, 96, 128]}),
        "transformer2": (4, {"epochs": [1, 2, 3], "max_length": [128, 192, 256]})}
    specs = model_specs(shipped, list(shipped["models"]))
    assert [s.name for s in sorted(specs, key=lambda s: s.priority)] == ["tfidf", "embed", "transformer",
                                                                          "transformer2"]
    assert {"epochs": 1, "max_length": 256} in specs[3].combinations()
    # A config that names its own models does not inherit the default time limit.
    assert read_time_limit(resolve_config(EXPERIMENTS / "smoke.toml")) is None


@pytest.mark.parametrize("entry, fragment", [
    ({"family": "tfidf", "priority": "high"}, "priority must be a whole number"),
    ({"family": "tfidf", "priority": True}, "priority must be a whole number"),
    ({"family": "transformer", "budget": {"learning_rate": [1, 2]}}, "cannot vary 'learning_rate'; use epochs"),
    ({"family": "tfidf", "budget": {"C": [1, 2]}}, "has no settings to plan"),
    ({"family": "transformer", "budget": {"epochs": [1.5, 2]}}, "must list whole numbers"),
    ({"family": "transformer", "budget": {"epochs": []}}, "must list whole numbers"),
    ({"family": "transformer", "budget": "epochs"}, "must be a table"),
    ({"family": "transformer", "budget": {"epochs": list(range(1, 6)), "max_length": [32, 64, 96, 128]}},
     "allows 20 combinations"),
])
def test_bad_priority_or_budget_table_is_one_sentence(entry, fragment):
    with pytest.raises(MathclsError, match=fragment) as info:
        model_specs({"models": {"m": entry}}, ["m"])
    assert "\n" not in str(info.value) and "[models.m" in str(info.value)


# ---------------------------------------------------------------------------------------- budget
class Ticking:
    """A fake clock that moves ``step`` seconds every time it is read."""

    def __init__(self, step):
        self.t, self.step = 0.0, step

    def __call__(self):
        self.t += self.step
        return self.t


def test_budget_counts_the_reserve_and_stops():
    clock = fake_models.FakeClock(100.0)
    budget = Budget(60, clock=clock)
    budget.reserve = 10
    clock.advance(45)
    assert budget.remaining() == 15 and budget.training_left() == 5
    budget.check()
    with pytest.raises(BudgetExhausted, match="time limit"):
        budget.check(upcoming=6)  # the next batch would end past the deadline
    clock.advance(5)
    with pytest.raises(BudgetExhausted, match="time limit reached mid-epoch"):
        budget.check("mid-epoch")
    budget = Budget(60, clock=clock)
    budget.request_stop("SIGTERM")
    with pytest.raises(BudgetExhausted, match="SIGTERM"):
        budget.check()


def test_signal_is_a_stop_request_then_an_abort():
    budget = Budget(3600, clock=fake_models.FakeClock())
    budget.handle_signal(signal.SIGTERM)  # outside a fit: only a request
    assert budget.stop_reason == "SIGTERM"
    with pytest.raises(KeyboardInterrupt):
        budget.handle_signal(signal.SIGINT)  # the second one aborts


def test_signal_stops_a_fit_without_batches_at_once_and_a_batched_fit_at_its_next_batch():
    budget = Budget(3600, clock=fake_models.FakeClock())
    with budget.guard():
        with pytest.raises(BudgetExhausted, match="SIGTERM"):
            budget.handle_signal(signal.SIGTERM)
    budget = Budget(3600, clock=fake_models.FakeClock())
    with budget.guard():
        budget.batch_checked = True
        budget.handle_signal(signal.SIGTERM)  # the fit will notice at its next batch
        with pytest.raises(BudgetExhausted):
            budget.check()


def test_signals_context_restores_the_handlers():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    budget = Budget(3600)
    with budget.signals(echo=lambda m: None):
        assert signal.getsignal(signal.SIGTERM) == budget.handle_signal
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_alarm_stops_a_fit_that_reports_no_batches_at_the_deadline():
    budget = Budget(0.4)
    t0 = time.monotonic()
    with pytest.raises(BudgetExhausted, match="time limit"):
        with budget.guard():
            while time.monotonic() - t0 < 5:  # a fit with no callbacks: only the alarm can stop it
                sum(range(1000))
    assert time.monotonic() - t0 < 1.5
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_budget_callback_is_shared_by_clones_and_stops_mid_epoch():
    from sklearn.base import clone

    texts, y = make_corpus(4)
    budget = Budget(30, clock=Ticking(1.0))
    callback = BudgetCallback(budget)
    est = fake_models.SlowClassifier(batch_size=2, batch_seconds=0, callbacks=[("time_budget", callback)])
    copy = clone(est)
    assert copy.callbacks[0][1] is callback
    with pytest.raises(BudgetExhausted, match="mid-epoch"):
        copy.fit(texts, y)
    record = fake_models.FITS[-1]
    assert record["ended"] == "BudgetExhausted"
    epoch, batch, n_batches = record["where"]
    assert epoch == 1 and 1 < batch < n_batches


# ---------------------------------------------------------------------------------------- planner
def plan_model(name, priority, costs, family="f", folds_done=0, tune_trials=0, tune_timeout=None):
    """A model whose options cost ``costs`` seconds per fold (settings: {"size": i})."""
    spec = ModelSpec(name=name, family=family, priority=priority, order=priority, params={},
                     ranges={"size": list(range(len(costs)))}, tune_trials=tune_trials, tune_timeout=tune_timeout)
    options = [Option({"size": i}, Cost(fold=c)) for i, c in enumerate(costs)]
    return ModelPlan(spec, options, folds_done=folds_done)


def test_plan_fits_the_limit_and_spends_slack_by_priority():
    models = [plan_model("c", 3, [50, 100]), plan_model("a", 1, [100, 200, 300]), plan_model("b", 2, [100, 200])]
    planner = Planner(models, cv=2, stack_base=0)
    time_left = 1000
    planner.choose(time_left)
    chosen = {m.name: m.settings["size"] for m in planner.models}
    # 2 folds each: minimums 200 + 200 + 100 = 500 of 920 - 5 (pad); "a" first takes the largest
    # that fits (+400 of the 415 left), so "b" and "c" stay at their cheapest
    assert chosen == {"a": 2, "b": 0, "c": 0}
    assert planner.planned_total() <= time_left * FILL
    assert [m.name for m in planner.models] == ["a", "b", "c"]
    assert planner.next_model().name == "a"


def test_plan_drops_the_lowest_priority_that_does_not_fit():
    models = [plan_model("a", 1, [100, 300]), plan_model("b", 2, [200]), plan_model("c", 3, [30])]
    planner = Planner(models, cv=2, stack_base=0)
    planner.choose(600)  # 552 - 5 to plan: a (200) + b (400) is too much; c (60) still fits
    assert [(m.name, m.status) for m in planner.models] == [("a", "planned"), ("b", "dropped"), ("c", "planned")]
    assert "needs" in planner.model("b").note
    assert planner.planned_total() <= 600 * FILL


def test_a_late_fold_trims_later_work_and_an_early_one_spends_the_slack():
    models = [plan_model("a", 1, [100]), plan_model("b", 2, [100, 150]), plan_model("c", 3, [50])]
    planner = Planner(models, cv=2, stack_base=0)
    planner.choose(1000)
    assert planner.model("b").settings == {"size": 1}
    a = planner.model("a")
    a.status = "running"
    # 700 s left for b and c, 639 to plan. Fold 1 of a took twice its plan: the family is slower,
    # b at size 1 (600 s) and c (200 s) no longer fit together, b is trimmed to size 0 (400 s).
    planner.observe(a, 200, folds=1, include_once=True)
    assert planner.factor("f") == 2.0
    assert planner.choose(700) == ["b size=1 -> size=0"]
    planner.observe(a, 300, folds=1, include_once=True)  # three times: b (600 s) fits, c (300 s) is dropped
    assert planner.choose(700) == ["c dropped (needs 5.0 min at the least)"]
    planner.observe(a, 50, folds=1, include_once=True)  # faster than measured: the slack goes to b first
    assert planner.choose(700) == ["b size=0 -> size=1", "c fits now: size=0"]


def test_a_family_not_seen_yet_gets_the_median_slowdown_of_the_others():
    planner = Planner([plan_model("a", 1, [100])], cv=2, stack_base=0)
    assert planner.factor("new") == 1.0
    planner.factors = {"tfidf": 0.7, "setfit": 1.25}  # one fast, one slow family: no evidence of a slow machine
    assert planner.factor("transformer") == 1.0
    planner.factors = {"tfidf": 1.5, "setfit": 1.25}
    assert planner.factor("transformer") == 1.375
    planner.factors = {"tfidf": 0.5, "setfit": 3.0, "lgbm": 4.0}  # a busy machine: capped at twice
    assert planner.factor("transformer") == 2.0
    assert planner.factor("tfidf") == 0.5  # a family's own speed is used as observed


def test_a_model_that_cannot_finish_is_late():
    models = [plan_model("a", 1, [100])]
    planner = Planner(models, cv=4, stack_base=0)
    planner.choose(1000)
    assert not planner.is_late(planner.model("a"), folds_left=3, training_left=300)
    planner.observe(planner.model("a"), 150, folds=1, include_once=True)
    assert planner.is_late(planner.model("a"), folds_left=3, training_left=300)


def test_cached_folds_are_not_planned_again():
    fresh = Planner([plan_model("a", 1, [100])], cv=4, stack_base=0)
    resumed = Planner([plan_model("a", 1, [100], folds_done=3)], cv=4, stack_base=0)
    assert fresh.train_left(fresh.models[0], 0) == 400
    assert resumed.train_left(resumed.models[0], 0) == 100


def test_tuning_is_planned_from_what_is_left():
    models = [plan_model("a", 1, [100], tune_trials=3)]
    planner = Planner(models, cv=2, stack_base=0)
    planner.choose(2000, with_tuning=True)
    assert planner.model("a").tune_seconds == 600  # 3 trials of 2 folds
    planner.choose(400, with_tuning=True)
    assert planner.model("a").tune_seconds == 0  # not even two trials fit


# ---------------------------------------------------------------------------------------- whole runs
@pytest.fixture()
def fake(monkeypatch):
    """The fake slow family, registered, on a fresh fake clock."""
    fake_models.register(monkeypatch)
    clock = fake_models.FakeClock()
    monkeypatch.setattr(fake_models, "CLOCK", clock)
    monkeypatch.setattr(fake_models, "FOLD_SLOWDOWN", 1.0)
    monkeypatch.setattr(fake_models, "ONE_OFF", {})
    fake_models.FITS.clear()
    return clock


@pytest.fixture()
def comp(tmp_path):
    """160 training rows (20 per topic) and 16 test rows."""
    return write_competition(tmp_path / "comp", n_per_class=20, empty_question=False)


def fake_config(cv=2, **slow):
    return {"seed": 0, "cv": cv, "stack": {"meta_n_trials": 0},
            "models": {"tfidf": {"family": "tfidf", "priority": 1, "params": {"min_df": 1}},
                       "slow": {"family": "slow", "priority": 2, **slow}}}


def run_fake(comp, out, cfg, limit, clock, lines=None):
    from mathcls.pipeline import build

    budget = Budget(limit, clock=clock)
    result = build(comp, out, config=cfg, budget=budget, echo=(lines.append if lines is not None else lambda m: None))
    return result, budget


def assert_valid_submission(out, comp):
    sub = pd.read_csv(out / "submission.csv", dtype=str)
    assert sub["id"].tolist() == pd.read_csv(comp / "test.csv", dtype=str)["id"].tolist()
    assert sub["label"].astype(int).between(0, 7).all()


def budgeted_fits():
    return [f for f in fake_models.FITS if f["budgeted"]]


def test_run_under_a_limit_plans_reports_and_keeps_it(comp, tmp_path, fake):
    cfg = fake_config(params={"batch_seconds": 2.0}, budget={"epochs": [1, 2, 3]})
    lines = []
    result, budget = run_fake(comp, tmp_path / "run", cfg, 300, fake, lines)
    text = "\n".join(lines)
    assert "Plan for a 5.0 min limit" in text
    # 80 rows per fold = 10 batches of 2 s: 40 s per epoch over two folds; 3 epochs (120 s) fit
    assert re.search(r"\n  slow +slow +epochs=3 ", text)
    assert [f["epochs"] for f in budgeted_fits()] == [3, 3]
    board = pd.read_csv(tmp_path / "run" / "leaderboard.csv").set_index("model")
    assert board.loc["slow", "status"] == "finished" and board.loc["slow", "settings"] == "epochs=3"
    assert board.loc["slow", "planned_seconds"] == pytest.approx(120, rel=0.01)
    assert board.loc["slow", "actual_seconds"] == pytest.approx(120, rel=0.01)
    assert {"tfidf", "slow", "stack"} == set(board.index)
    assert budget.elapsed() <= 300
    assert_valid_submission(tmp_path / "run", comp)
    assert "Time budget: limit 5.0 min" in result.extra["plan"]
    saved = json.loads((tmp_path / "run" / "plan.json").read_text())
    assert saved["models"]["slow"]["status"] == "finished" and saved["models"]["slow"]["folds_done"] == 2
    # The run report shows planned against actual time from the same records.
    times = pd.read_csv(tmp_path / "run" / "report" / "time.csv").set_index("model")
    assert times.loc["slow", ["planned_seconds", "actual_seconds"]].tolist() == pytest.approx([120, 120], rel=0.01)
    assert (tmp_path / "run" / "report" / "time.png").is_file()


def test_a_late_fold_trims_the_next_model_in_a_run(comp, tmp_path, fake, monkeypatch):
    # "fast" and "slow" are one family; its folds run 3x slower than measured. After fast's first
    # fold the run re-plans: slow gets 2 epochs instead of the 3 planned, and everything fits.
    monkeypatch.setattr(fake_models, "FOLD_SLOWDOWN", 3.0)
    cfg = fake_config(params={"batch_seconds": 10.0}, budget={"epochs": [1, 2, 3]})
    cfg["models"]["fast"] = {"family": "slow", "priority": 1, "params": {"batch_seconds": 1.0}}
    lines = []
    _, budget = run_fake(comp, tmp_path / "run", cfg, 1500, fake, lines)
    text = "\n".join(lines)
    assert re.search(r"\n  slow +slow +epochs=3 ", text)
    assert "re-planned after fold 1 of fast: slow epochs=3 -> epochs=2" in text
    assert [f["epochs"] for f in budgeted_fits()] == [1, 1, 2, 2]
    board = pd.read_csv(tmp_path / "run" / "leaderboard.csv").set_index("model")
    assert (board.loc[["tfidf", "fast", "slow"], "status"] == "finished").all()
    assert board.loc["fast", "actual_seconds"] == pytest.approx(3 * board.loc["fast", "planned_seconds"], rel=0.01)
    assert budget.elapsed() <= 1500


def test_limit_stops_a_model_mid_epoch_and_the_stack_uses_the_finished_ones(comp, tmp_path, fake, monkeypatch):
    from mathcls.persist import load_model

    # The probe says 20 s per fold; the folds run three times slower (a machine that got busy).
    monkeypatch.setattr(fake_models, "FOLD_SLOWDOWN", 3.0)
    cfg = fake_config(params={"batch_seconds": 2.0})
    lines = []
    _, budget = run_fake(comp, tmp_path / "run", cfg, 70, fake, lines)
    fits = budgeted_fits()
    assert len(fits) == 1 and fits[0]["ended"] == "BudgetExhausted"
    epoch, batch, n_batches = fits[0]["where"]
    assert epoch == 1 and 1 < batch < n_batches  # stopped mid-epoch
    assert budget.elapsed() <= 70  # no batch ends past the deadline
    board = pd.read_csv(tmp_path / "run" / "leaderboard.csv").set_index("model")
    assert board.loc["slow", "status"] == "stopped" and np.isnan(board.loc["slow", "oof_f1_micro"])
    assert "mid-epoch" in "\n".join(lines)
    assert_valid_submission(tmp_path / "run", comp)
    assert list(load_model(tmp_path / "run" / "model").estimators_) == ["tfidf"]


def test_sigint_stops_the_model_in_flight_and_still_writes_a_submission(comp, tmp_path, fake):
    cfg = fake_config(params={"batch_seconds": 1.0, "signal_at_batch": 3})
    budget = Budget(3600, clock=fake)
    lines = []
    from mathcls.pipeline import build

    with budget.signals(echo=lines.append):
        build(comp, tmp_path / "run", config=cfg, budget=budget, echo=lines.append)
    assert budget.stop_reason == "SIGINT"
    assert budgeted_fits()[0]["where"] == (1, 3, 10)  # stopped at the batch after the signal
    board = pd.read_csv(tmp_path / "run" / "leaderboard.csv").set_index("model")
    assert board.loc["slow", "status"] == "stopped"
    assert_valid_submission(tmp_path / "run", comp)
    assert any(line.startswith("SIGINT: stopping the model in flight") for line in lines)


def test_a_late_model_is_given_up_after_its_fold_and_a_rerun_with_more_time_resumes(comp, tmp_path, fake,
                                                                                    monkeypatch):
    # 4 folds of 120 rows: 15 batches of 4 s, 60 s per fold and epoch; the folds run 2.5x slower.
    monkeypatch.setattr(fake_models, "FOLD_SLOWDOWN", 2.5)
    cfg = fake_config(cv=4, params={"batch_seconds": 4.0}, budget={"epochs": [1, 2]})
    out = tmp_path / "run"
    lines = []
    run_fake(comp, out, cfg, 330, fake, lines)
    text = "\n".join(lines)
    assert re.search(r"\n  slow +slow +epochs=1 ", text)  # 2 epochs (480 s) do not fit, 1 (240 s) does
    first = budgeted_fits()
    assert len(first) == 2 and first[0]["ended"] == "finished" and first[1]["ended"] == "running"
    assert "slow stopped" in text and "late:" in text  # given up when fold 2 began, not at the deadline
    saved = json.loads((out / "plan.json").read_text())["models"]["slow"]
    assert saved["folds_done"] == 1 and saved["settings"] == {"epochs": 1}
    [cache] = (out / "cache" / "base").glob("slow-*")
    [tfidf_cache] = (out / "cache" / "base").glob("tfidf-*")
    stamps = {p: p.stat().st_mtime_ns for p in (cache / "fold-0" / "oof.npz", tfidf_cache / "done.json")}

    fake_models.FITS.clear()
    lines.clear()
    run_fake(comp, out, cfg, 3000, fake, lines)
    text = "\n".join(lines)
    assert "epochs=1 (1/4 folds cached)" in text  # the settings it started with, though 2 epochs fit now
    assert [f["epochs"] for f in budgeted_fits()] == [1, 1, 1]  # folds 2-4 only
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())
    board = pd.read_csv(out / "leaderboard.csv").set_index("model")
    assert board.loc["slow", "status"] == "finished" and board.loc["slow", "oof_f1_micro"] > 0.5
    assert_valid_submission(out, comp)


def test_a_model_dropped_after_a_one_off_slow_fold_comes_back_when_time_allows(comp, tmp_path, fake, monkeypatch):
    # 4 folds of 120 rows, 15 batches each: "first" 15 s per fold, "second" 60 s. The machine is
    # busy during first's fold 1 (5x: 75 s): at that pace second (1200 s) is dropped. Folds 2 and 3
    # run at the measured speed; the median of the folds prices second at its 240 s again, it comes
    # back and finishes, within the limit.
    monkeypatch.setattr(fake_models, "ONE_OFF", {0: 5.0})
    cfg = fake_config(cv=4, params={"batch_seconds": 4.0})
    cfg["models"]["second"] = cfg["models"].pop("slow") | {"priority": 3}
    cfg["models"]["first"] = {"family": "slow", "priority": 2, "params": {"batch_seconds": 1.0}}
    lines = []
    _, budget = run_fake(comp, tmp_path / "run", cfg, 600, fake, lines)
    text = "\n".join(lines)
    assert "re-planned after fold 1 of first: second dropped" in text
    assert re.search(r"re-planned after fold [23] of first: second fits now", text)
    board = pd.read_csv(tmp_path / "run" / "leaderboard.csv").set_index("model")
    assert (board.loc[["tfidf", "first", "second"], "status"] == "finished").all()
    assert len(budgeted_fits()) == 8
    assert budget.elapsed() <= 600


def test_the_planner_readmits_a_dropped_model_and_ignores_one_slow_fold():
    a, b = plan_model("a", 1, [100]), plan_model("b", 2, [300])
    planner = Planner([a, b], cv=4, stack_base=0)
    planner.choose(2000)
    a.status = "running"
    planner.observe_folds(a, [400], include_once=True)  # 4x: b needs 4800 s, dropped
    assert planner.choose(1500) == ["b dropped (needs 80.0 min at the least)"]
    planner.observe_folds(a, [400, 100, 100], include_once=True)  # the median fold ran as measured
    assert planner.factor("f") == 1.0
    assert planner.choose(1400) == ["b fits now: size=0"]


def test_a_first_fold_with_one_off_work_speaks_for_the_family_only_until_a_plain_fold():
    spec = ModelSpec(name="e", family="f", priority=1, order=1, params={})
    e = ModelPlan(spec, [Option({}, Cost(fold=10, once=100))], choice=0)
    planner = Planner([e], cv=4, stack_base=0)
    planner.observe_folds(e, [330], include_once=True)  # encoding every text took 3x its plan
    assert planner.factor("f") == 3.0
    planner.observe_folds(e, [330, 10], include_once=True)
    assert planner.factor("f") == 1.0


def test_folds_too_short_to_time_do_not_reprice_the_run():
    """The frozen-embedding model of a real 60-minute run: encoding took 188 s (136 planned), then
    three logistic-regression folds of 1.4 s each, planned at 0.25 s. Read as a fivefold slowdown,
    they once made the not-yet-seen transformers look twice as slow and shrank them."""
    spec = ModelSpec(name="embed", family="setfit", priority=1, order=1, params={})
    embed = ModelPlan(spec, [Option({}, Cost(fold=0.25, once=136.0))], choice=0)
    t = plan_model("t", 2, [300, 600])
    planner = Planner([embed, t], cv=4, stack_base=0)
    embed.status = "running"
    planner.observe_folds(embed, [187.8, 1.4, 1.5, 1.3], include_once=True)
    assert planner.factor("setfit") == pytest.approx(187.8 / 136.25)
    assert planner.factor("f") == pytest.approx(187.8 / 136.25)  # the unseen family: the machine's pace
    planner.choose(4000)
    assert planner.model("t").settings == {"size": 1}  # 4 x 600 x 1.38 = 3306 s still fits


def test_a_run_spends_most_of_its_limit_when_settings_can_fill_it(comp, tmp_path, fake):
    # 2 folds of 80 rows, 10 batches of 1 s: 20 s per epoch for both folds; any epoch count up to 40
    cfg = fake_config(params={"batch_seconds": 1.0}, budget={"epochs": [1, 2, 3, 4, 6, 8, 10, 12, 14, 16, 18]})
    cfg["models"]["slow2"] = {"family": "slow", "priority": 3, "params": {"batch_seconds": 1.0, "epochs": 1},
                              "budget": {"epochs": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16]}}
    _, budget = run_fake(comp, tmp_path / "run", cfg, 600, fake)
    assert 0.85 * 600 <= budget.elapsed() <= 600


def test_the_limit_is_in_no_stage_key_a_rerun_with_more_time_reuses_every_stage(comp, tmp_path, fake):
    cfg = fake_config(params={"batch_seconds": 2.0}, budget={"epochs": [1, 2, 3]})
    out = tmp_path / "run"
    run_fake(comp, out, cfg, 300, fake)
    assert [f["epochs"] for f in budgeted_fits()] == [3, 3]
    keys = json.loads((out / "state.json").read_text())["stages"]

    fake_models.FITS.clear()
    lines = []
    run_fake(comp, out, cfg, 3000, fake, lines)
    for stage in ("folds", "oof tfidf", "oof slow", "stack", "submission"):
        assert f"{stage}: reused" in lines, stage
    assert not budgeted_fits()  # the slow model's folds came from the cache
    assert json.loads((out / "state.json").read_text())["stages"] == keys
    assert_valid_submission(out, comp)


def test_no_model_fits_is_one_sentence_before_training(comp, tmp_path, fake):
    cfg = fake_config(params={"batch_seconds": 60.0})
    cfg["models"].pop("tfidf")
    with pytest.raises(MathclsError, match="No model fits in the time limit of 5.0 min") as info:
        run_fake(comp, tmp_path / "run", cfg, 300, fake)
    assert "\n" not in str(info.value)
    assert not budgeted_fits()


@pytest.mark.slow
def test_sigterm_to_a_running_mathcls_run_writes_a_submission(comp, tmp_path):
    import os
    import subprocess
    import sys

    config = tmp_path / "slow.toml"
    config.write_text('seed = 0\ncv = 2\n[run]\ntime_limit = "10m"\n[stack]\nmeta_n_trials = 0\n'
                      '[models.tfidf]\nfamily = "tfidf"\npriority = 1\n[models.tfidf.params]\nmin_df = 1\n'
                      '[models.slow]\nfamily = "slow"\npriority = 2\n[models.slow.params]\nbatch_seconds = 0.3\n'
                      'batch_size = 1\n')
    out = tmp_path / "run"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-m", "tests.fake_models", "run", "--data", str(comp), "--out", str(out),
                             "--config", str(config)], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("Training slow"):
            time.sleep(1.0)
            proc.send_signal(signal.SIGTERM)
            break
    rest, _ = proc.communicate(timeout=120)
    output = "".join(seen) + rest
    assert proc.returncode == 0, output
    assert "SIGTERM: stopping the model in flight" in output
    board = pd.read_csv(out / "leaderboard.csv").set_index("model")
    assert board.loc["slow", "status"] == "stopped" and board.loc["tfidf", "status"] == "finished"
    assert_valid_submission(out, comp)
    assert json.loads((out / "plan.json").read_text())["stop_reason"] == "SIGTERM"


# ---------------------------------------------------------------------------------------- the probe
def test_probe_is_cached_per_machine_and_never_from_a_fake_clock(monkeypatch):
    from mathcls.plan import probe as probe_module
    from mathcls.plan.probe import DataShape, Probe

    words = {"min_df": 1, "char_ngram_range": None}
    texts, y = make_corpus(20)
    data = DataShape(texts, y, texts[:10], cv=2, data_hash="h")
    lines = []
    first = Probe(data, echo=lines.append)
    measured = first.fitted("tfidf", words)
    assert [n for n, _ in measured["fits"]] == [40, 80]  # half a fold and a fold (80 rows)
    assert measured["predict_rows_per_s"] > 0 and first.taken == 1 and len(lines) == 1
    again = Probe(data, echo=lines.append)
    assert again.fitted("tfidf", words) == measured and again.taken == 0 and len(lines) == 1
    assert "all from the cache" in again.summary()
    assert again.fitted("tfidf", {**words, "min_df": 2}) != measured  # other parameters are measured on their own

    real = probe_module.machine_info
    other = dict(real(), cpu="another CPU")
    monkeypatch.setattr(probe_module, "machine_info", lambda: other)
    elsewhere = Probe(data, echo=lines.append)
    assert elsewhere.path != first.path
    elsewhere.fitted("tfidf", words)
    assert elsewhere.taken == 1

    monkeypatch.setattr(probe_module, "machine_info", real)
    faked = Probe(data, clock=fake_models.FakeClock(), echo=lines.append)
    faked.fitted("tfidf", words)
    assert faked.taken == 1  # measured again, and not written over the real figures
    assert Probe(data).fitted("tfidf", words) == measured

    # --reprobe: this machine's figures are forgotten (another machine's stay) and measured anew.
    assert probe_module.forget_machine() == first.path and not first.path.exists()
    assert elsewhere.path.exists() and probe_module.forget_machine() is None
    fresh = Probe(data, echo=lines.append)
    fresh.fitted("tfidf", words)
    assert fresh.taken == 1 and "measured now" in fresh.summary()


def test_the_stack_reserve_counts_neighbour_features_when_they_are_on():
    from mathcls.plan.costs import stack_seconds
    from mathcls.plan.probe import DataShape, Probe
    from mathcls.stacking import StackingEnsemble

    texts, y = make_corpus(30)
    data = DataShape(texts, y, texts[:40], cv=4, data_hash="h")
    probe = Probe(data, echo=lambda line: None)
    plain = stack_seconds(data, probe, 2, StackingEnsemble())
    assert "neighbours" not in " ".join(probe._store)  # measured only when asked for
    with_neighbours = stack_seconds(data, probe, 2, StackingEnsemble(neighbour_features=True))
    measured = next(v for k, v in probe._store.items() if k.startswith("neighbours"))
    assert measured["rows"] == len(texts) and measured["fit_seconds"] > 0
    assert with_neighbours > plain
    # The ensemble's defaults (bias tuning, text features) are priced when [stack] leaves them out.
    assert plain > stack_seconds(data, probe, 2, StackingEnsemble(bias_tuning=False, extra_features=False))


def test_neural_probe_measures_the_bundled_minilm_and_prices_settings():
    import torch

    from mathcls.plan.costs import estimate
    from mathcls.plan.probe import DataShape, Probe

    texts, y = make_corpus(10)
    data = DataShape(texts, y, texts[:8], cv=2, data_hash="h")
    probe = Probe(data, echo=lambda m: None)
    params = {"max_length": 32, "batch_size": 4, "progress_bar": False}
    m = probe.transformer(params)
    assert m["train_tokens_per_s"] > 0 and m["predict_tokens_per_s"] > 0 and m["setup_seconds"] > 0
    device = "cuda" if torch.cuda.is_available() else "cpu"
    assert m["key"]["device"].startswith(device) and m["precision"] in ("no", "bf16", "fp16")
    shown = "training precision " + {"no": "fp32"}.get(m["precision"], m["precision"])
    assert shown in probe.summary() and f"device {device}" in probe.summary()
    train_len, test_len = probe.token_lengths(None)
    assert len(train_len) == len(texts) and len(test_len) == 8 and train_len.min() > 3
    one, two = (estimate("transformer", {**params, "epochs": e}, data, probe) for e in (1, 2))
    assert two.fold > one.fold > 0 and one.stack > 0
    enc = probe.encoder({"max_length": 32})
    assert enc["dim"] == 384 and enc["encode_tokens_per_s"] > 0
    frozen = estimate("setfit", {"max_length": 32, "body_epochs": 0}, data, probe)
    assert frozen.once > 0 and frozen.fold > 0


def test_budget_stops_a_real_transformer_mid_epoch():
    from mathcls.models.transformer import TransformerClassifier

    class Tick:  # every batch takes 10 s on the fake clock
        def __init__(self, clock):
            self.clock = clock

        def on_batch_end(self, estimator, step, logs):
            self.clock.advance(10)

    texts, y = make_corpus(6)  # 48 rows: 12 batches of 4
    clock = fake_models.FakeClock()
    budget = Budget(55, clock=clock)
    est = TransformerClassifier(max_length=32, batch_size=4, epochs=1, progress_bar=False, logging_dir=None,
                                output_dir=None, validation_fraction=0.0,
                                callbacks=[("tick", Tick(clock)), ("time_budget", BudgetCallback(budget))])
    with pytest.raises(BudgetExhausted, match="mid-epoch"):
        est.fit(texts, y)
    # after batch 5 (50 s) a sixth would end past 55 s: stopped there, not after the epoch
    assert est.global_step_ == 5
    assert clock() - budget.start <= 55


def test_tuning_config_cuts_studies_to_the_plan(tmp_path):
    from mathcls.plan.runner import BudgetedRun

    models = [plan_model("a", 1, [100, 200], tune_trials=3), plan_model("b", 2, [100], tune_trials=3, tune_timeout=50)]
    planner = Planner(models, cv=2, stack_base=0)
    # 1375 s to plan: a (400 at size 1) and b (200) leave 775, less than two of a's 400-second
    # trials; b's study is capped by its timeout
    planner.choose(1500, with_tuning=True)
    run = BudgetedRun(Budget(1500, clock=fake_models.FakeClock()), planner, None, None, tmp_path, print, {})
    cfg = {"models": {"a": {"family": "f", "params": {"size": 0, "x": 1}, "tune": {"n_trials": 3}},
                      "b": {"family": "f", "tune": {"n_trials": 3, "timeout": 50.0}}}}
    tuned = run.tuning_config(cfg)
    a, b = planner.model("a"), planner.model("b")
    assert a.settings == {"size": 1} and a.tune_seconds == 0 and b.tune_seconds == 50
    assert tuned["models"]["a"]["tune"]["n_trials"] == 0 and tuned["models"]["a"]["params"] == {"size": 1, "x": 1}
    assert tuned["models"]["b"]["tune"] == {"n_trials": 3, "timeout": 50.0}
    assert cfg["models"]["a"]["tune"]["n_trials"] == 3  # the config itself is left alone


def test_meta_learner_trials_are_the_first_work_to_go(tmp_path):
    from mathcls.plan.runner import BudgetedRun

    planner = Planner([plan_model("a", 1, [100])], cv=2, stack_base=10, meta_seconds=100)
    planner.choose(1000)  # 920 - 5 - 12.5 (stack) - 200 (a) leaves room for 125 s of trials
    assert planner.meta_on and planner.reserve() == pytest.approx(110 * 1.25 + 5)
    assert planner.choose(350) == ["meta-learner tuning off"]  # 322 - 17.5 - 200 < 125
    assert planner.model("a").choice == 0  # the model stays
    run = BudgetedRun(Budget(400, clock=fake_models.FakeClock()), planner, None, None, tmp_path, print, {})
    cfg = {"stack": {"meta_n_trials": 10}, "models": {}}
    assert run.stack_config(cfg)["stack"]["meta_n_trials"] == 0 and cfg["stack"]["meta_n_trials"] == 10


def test_when_nothing_fits_the_cheapest_is_tried(comp, tmp_path, fake, monkeypatch):
    # 2 folds of 10 batches of 2 s: 40 s, more than the 33 s the plan has after the 8 s probe, but
    # the folds run twice as fast as measured, so it finishes.
    monkeypatch.setattr(fake_models, "FOLD_SLOWDOWN", 0.5)
    cfg = fake_config(params={"batch_seconds": 2.0})
    cfg["models"].pop("tfidf")
    lines = []
    _, budget = run_fake(comp, tmp_path / "run", cfg, 50, fake, lines)
    assert any(line.startswith("No model fits the plan; trying the cheapest, slow") for line in lines)
    assert budgeted_fits()[-1]["ended"] == "finished" and budget.elapsed() <= 50
    assert_valid_submission(tmp_path / "run", comp)


def test_the_probe_measures_the_most_important_models_within_its_share(comp, tmp_path, fake):
    # The limit's share for probing is a minute: measuring "first" (4 batches of 20 s) uses it up.
    cfg = {"seed": 0, "cv": 2, "stack": {"meta_n_trials": 0},
           "models": {"second": {"family": "slow", "priority": 2, "params": {"batch_seconds": 1.0}},
                      "first": {"family": "slow", "priority": 1, "params": {"batch_seconds": 20.0}}}}
    lines = []
    with pytest.raises(MathclsError, match="No model fits"):
        run_fake(comp, tmp_path / "run", cfg, 250, fake, lines)
    text = "\n".join(lines)
    assert re.search(r"\n  second +slow +dropped +not measured: the probe used its 60 s", text)
    assert sum(line.startswith("  probing slow") for line in lines) == 1


def test_options_put_larger_settings_last_even_when_they_measure_cheaper():
    from mathcls.plan.runner import _order_key

    # A tiny model: the 500-feature option happened to measure faster than the 50-feature one.
    options = [Option({"max_features": 500, "epochs": 1}, Cost(fold=0.9)),
               Option({"max_features": 50, "epochs": 1}, Cost(fold=1.0)),
               Option({"max_features": 50, "epochs": 2}, Cost(fold=5.0))]
    ordered = sorted(options, key=lambda o: _order_key(o, options, cv=2))
    assert [o.settings for o in ordered] == [{"max_features": 50, "epochs": 1}, {"max_features": 500, "epochs": 1},
                                            {"max_features": 50, "epochs": 2}]
