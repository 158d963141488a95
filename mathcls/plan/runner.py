"""A run under a time limit: probe, plan, train the base models by priority, re-plan after each
fold, stop in time, and record planned against actual seconds (``<out>/plan.json``).

The pipeline hands :meth:`BudgetedRun.train` a function that fits one base model on all folds
(through the stack's resumable fold cache); this module decides which model runs next, with which
settings, and when to stop. ``plan.json`` remembers the settings each model ran with, so a rerun
(with a larger limit) keeps them for the models that have cached folds and resumes where it stopped.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pandas as pd

from ..atomic import write_json
from ..logs import say
from .budget import Budget, BudgetCallback, BudgetExhausted
from .costs import Cost, estimate, stack_seconds
from .duration import format_duration
from .planner import LATE_TOLERANCE, ModelPlan, Option, Planner, settings_text
from .probe import DataShape, NotMeasured, Probe
from .spec import ModelSpec, model_specs

PLAN_FILE = "plan.json"
#: New measurements are taken (most important model first) while the probe has used less than this
#: share of the limit, or a minute; models left unmeasured do not run.
PROBE_SHARE = 0.15


def make_run_plan(cfg: dict, names, data: DataShape, out, budget: Budget, seed: int = 0, echo=say) -> BudgetedRun:
    """Probe this machine, price every allowed setting of the models ``names`` and make the first plan."""
    from ..stacking import StackingEnsemble, name_list

    # The ensemble's own defaults fill what [stack] leaves out, so the plan prices what will run.
    stack = StackingEnsemble().set_params(**cfg.get("stack", {}))
    pseudo = set(name_list(stack.pseudo_label))
    specs = model_specs(cfg, names)
    probe = Probe(data, clock=None if budget.real_time else budget.clock, echo=echo)
    echo(f"Measuring this machine for the plan (cached in {probe.path.parent}):")
    t0, share = budget.now(), max(60.0, PROBE_SHARE * budget.limit)
    base = stack_seconds(data, probe, len(specs), stack)
    meta = stack_seconds(data, probe, len(specs), stack, int(stack.meta_n_trials or 0)) - base
    models = []
    for spec in sorted(specs, key=lambda s: (s.priority, s.order)):
        probe.allow_new = budget.now() - t0 < share
        if spec.name in pseudo:
            models.append(_left_out(spec, "pseudo-labelled models are not planned under a time limit"))
            continue
        try:
            models.append(ModelPlan(spec, _options(spec, spec.params, data, probe)))
        except NotMeasured:
            models.append(_left_out(spec, f"not measured: the probe used its {format_duration(share)}"))
    run = BudgetedRun(budget, Planner(models, data.cv, base, meta), data, probe, Path(out), echo,
                      {"data": data.data_hash, "cv": data.cv, "seed": seed, "extra": data.n_extra})
    run.resume()
    run.planner.choose(budget.remaining(), with_tuning=True)
    echo(probe.summary())
    echo(run.planner.table(budget.limit, budget.remaining()))
    if not any(m.choice is not None for m in run.planner.models):
        _try_the_cheapest(run, budget, echo)
    return run


def _left_out(spec: ModelSpec, why: str) -> ModelPlan:
    return ModelPlan(spec, [Option({}, Cost(0.0))], status="excluded", note=why)


def _try_the_cheapest(run: BudgetedRun, budget: Budget, echo) -> None:
    """Nothing fits: plan the cheapest model anyway when it needs at most twice the time left (the
    measurements may be pessimistic, and it is stopped at the limit), else stop here."""
    from ..errors import MathclsError

    planner = run.planner
    cheapest = planner.cheapest()
    need = float("inf") if cheapest is None else (planner.train_left(cheapest, 0) + planner.stack_share(cheapest, 0)
                                                  + planner.reserve())
    if need > 2 * budget.remaining():
        shown = "no model could be measured" if cheapest is None else f"the cheapest needs about {format_duration(need)}"
        raise MathclsError(f"No model fits in the time limit of {format_duration(budget.limit)} on this machine: "
                           f"{shown} with the stack; give a larger --time-limit.")
    planner.forced.add(cheapest.name)
    planner.choose(budget.remaining())
    echo(f"No model fits the plan; trying the cheapest, {cheapest.name} (about {format_duration(need)}), "
         f"which stops at the limit if it cannot finish.")


def _options(spec: ModelSpec, params: dict, data: DataShape, probe: Probe) -> list[Option]:
    from ..models import make_model

    combos = spec.combinations()
    options = []
    fulls = [make_model(spec.family, {**params, **combo}).get_params(deep=False) for combo in combos]
    lengths = [full.get("max_length") for full in fulls]  # the estimator's default where neither sets it
    longest = max(lengths) if None not in lengths else None
    for combo, full in zip(combos, fulls):
        options.append(Option(combo, estimate(spec.family, full, data, probe, probe_length=longest)))
    return sorted(options, key=lambda o: _order_key(o, options, data.cv))


def _order_key(option: Option, options: list[Option], cv: int):
    """Cheapest first, where an option costs at least any option whose settings it dominates.

    Larger settings never cost less; on a tiny model the measured costs are noise, and sorting by them
    alone could put the smaller settings last, where the planner reads "the largest that fits".
    """
    def dominates(a: dict, b: dict) -> bool:
        return all(a[k] >= b[k] for k in a)

    cost = max(o.cost.train(cv) + o.cost.stack for o in options if dominates(option.settings, o.settings))
    return cost, sorted(option.settings.items())


class BudgetedRun:
    """The base-model training of one ``mathcls run`` under a :class:`~mathcls.plan.budget.Budget`.

    Attributes
    ----------
    planner : Planner
    training_end : float or None
        When the base models' training ended, on the budget's clock (set by :meth:`train`).
    """

    def __init__(self, budget: Budget, planner: Planner, data: DataShape, probe: Probe, out: Path, echo, key: dict):
        self.budget = budget
        self.planner = planner
        self.data = data
        self.probe = probe
        self.out = out
        self.echo = echo
        self.key = key
        self.training_end = None
        # Fixed before tuning changes any parameter, so a rerun recognises the same models.
        self.fingerprints = {m.name: self.fingerprint(m) for m in planner.models}

    # ---- identity of a model's work, for resuming ----
    def fingerprint(self, m: ModelPlan) -> str:
        from ..persist import encode_param

        params = {k: encode_param(v) for k, v in m.spec.params.items() if k not in m.spec.ranges}
        payload = {"family": m.family, "params": params, **self.key}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def resume(self) -> None:
        """Keep the settings of models that ran in an earlier run of this folder (their folds are cached)."""
        path = self.out / PLAN_FILE
        try:
            saved = json.loads(path.read_text()).get("models", {})
        except (OSError, json.JSONDecodeError):
            return
        for m in self.planner.models:
            record = saved.get(m.name)
            if not record or record.get("fingerprint") != self.fingerprints[m.name] or not record.get("folds_done"):
                continue
            match = [o for o in m.options if o.settings == record.get("settings")]
            if match:
                m.options = match[:1]
                m.folds_done = min(int(record["folds_done"]), self.planner.cv)

    # ---- tuning ----
    def tuning_config(self, cfg: dict) -> dict:
        """``cfg`` with each model's tuning study cut to its planned seconds (or skipped), and the
        plan's settings in its parameters."""
        cfg = copy.deepcopy(cfg)
        for m in self.planner.models:
            entry = cfg["models"][m.name]
            if m.choice is not None:
                entry.setdefault("params", {}).update(m.settings)
            tune = entry.get("tune")
            if isinstance(tune, dict) and tune.get("n_trials"):
                if m.tune_seconds > 0:
                    tune["timeout"] = round(m.tune_seconds, 1)
                else:
                    tune["n_trials"] = 0
        return cfg

    def use_params(self, name: str, params: dict) -> None:
        """Price ``name`` again with tuned ``params`` (before it runs)."""
        m = self.planner.model(name)
        if not m.waiting or not params:
            return
        chosen = m.settings
        m.spec.params = {**m.spec.params, **{k: v for k, v in params.items() if k not in m.spec.ranges}}
        m.options = _options(m.spec, m.spec.params, self.data, self.probe)
        m.choice = next((i for i, o in enumerate(m.options) if o.settings == chosen), m.choice)

    # ---- training ----
    def train(self, fit_model) -> list[str]:
        """Train the planned models by priority with ``fit_model(name, settings, callbacks)``, which
        fits one base model on all folds and returns its OOF scores. Returns the names of the models
        that finished all their folds."""
        while self.budget.stop_reason is None:
            for line in self.planner.choose(self.budget.remaining()):
                self.echo(f"  re-planned: {line}")
            m = self.planner.next_model()
            if m is None:
                break
            self._run(m, fit_model)
        for m in self.planner.models:
            if m.status == "planned":
                m.status, m.note = "dropped", f"not started ({self.budget.stop_reason or 'no time left'})"
        self.training_end = self.budget.now()
        self.budget.reserve = self.planner.reserve()
        self.save()
        return [m.name for m in self.planner.models if m.status == "finished"]

    def _run(self, m: ModelPlan, fit_model) -> None:
        m.status = "running"
        m.planned_seconds = self.planner.train_left(m)
        self.budget.reserve = self.planner.reserve([m.name])
        self.echo(f"Training {m.name} ({settings_text(m.settings)}): planned {format_duration(m.planned_seconds)}, "
                  f"{format_duration(self.budget.training_left())} of training time left")
        tracker = _FoldTracker(self, m)
        callback = BudgetCallback(self.budget, tracker.begin, tracker.end, tracker.epoch)
        t0 = self.budget.now()
        try:
            with self.budget.guard():
                m.scores = dict(fit_model(m.name, m.settings, [("time_budget", callback)]) or {})
            m.status, m.folds_done = "finished", self.planner.cv
        except BudgetExhausted as exc:
            m.status, m.note = "stopped", exc.reason
            m.folds_done = min(self.planner.cv, tracker.initial + tracker.completed)
        m.actual_seconds = self.budget.now() - t0
        if m.status == "finished":
            if tracker.last is not None:
                m.fold_seconds.append(self.budget.now() - tracker.last)
            trained = self.planner.cv - tracker.initial
            if m.fold_seconds:
                self.planner.observe_folds(m, m.fold_seconds, tracker.initial == 0)
            elif trained > 0 and m.actual_seconds > 1.0:
                self.planner.observe(m, m.actual_seconds, trained, tracker.initial == 0)
        score = f", OOF F1-micro {m.scores['f1_micro']:.4f}" if "f1_micro" in m.scores else ""
        self.echo(f"  {m.name} {m.status} after {format_duration(m.actual_seconds)} "
                  f"(planned {format_duration(m.planned_seconds)}){score}" + (f": {m.note}" if m.note else ""))
        self.save()

    def settings(self, name: str) -> dict:
        return self.planner.model(name).settings

    def stack_config(self, cfg: dict) -> dict:
        """``cfg`` without the meta-learner's tuning trials when the plan had no room for them."""
        if self.planner.meta_on:
            return cfg
        cfg = copy.deepcopy(cfg)
        cfg["stack"]["meta_n_trials"] = 0
        return cfg

    # ---- records ----
    def save(self) -> None:
        models = {}
        for m in self.planner.models:
            models[m.name] = {"family": m.family, "priority": m.spec.priority, "settings": m.settings,
                              "status": m.status, "note": m.note, "folds_done": m.folds_done,
                              "planned_seconds": _round(m.planned_seconds), "actual_seconds": _round(m.actual_seconds),
                              "fold_seconds": [round(s, 1) for s in m.fold_seconds],
                              "fingerprint": self.fingerprints[m.name]}
        write_json(self.out / PLAN_FILE, {"limit_seconds": self.budget.limit,
                                          "elapsed_seconds": round(self.budget.elapsed(), 1),
                                          "stop_reason": self.budget.stop_reason, "speed_factors": self.planner.factors,
                                          "models": models})

    def leaderboard(self, board: pd.DataFrame) -> pd.DataFrame:
        """``board`` with each model's settings, status and planned/actual seconds; models that did
        not finish are listed too."""
        rows = {m.name: {"settings": settings_text(m.settings) if m.choice is not None else "",
                         "status": m.status, "planned_seconds": _round(m.planned_seconds),
                         "actual_seconds": _round(m.actual_seconds)} for m in self.planner.models}
        stack_actual = None if self.training_end is None else self.budget.now() - self.training_end
        rows["stack"] = {"settings": "", "status": "finished", "planned_seconds": _round(self.budget.reserve),
                         "actual_seconds": _round(stack_actual)}
        extra = pd.DataFrame([{"model": name, **row} for name, row in rows.items()])
        merged = board.merge(extra, on="model", how="outer")
        score = next(c for c in board.columns if c.startswith("oof_"))  # the run's metric comes first
        merged["_finished"] = merged[score].notna()
        merged = merged.sort_values(["_finished", score], ascending=[False, score == "oof_log_loss"])
        merged = merged.drop(columns="_finished")
        return merged.reset_index(drop=True)

    def report(self, board: pd.DataFrame) -> str:
        """Planned against actual seconds, one line per model and the stack."""
        lines = [f"Time budget: limit {format_duration(self.budget.limit)}, "
                 f"used {format_duration(self.budget.elapsed())}"
                 + (f", stopped by {self.budget.stop_reason}" if self.budget.stop_reason else "") + "."]
        table = board[["model", "settings", "status", "planned_seconds", "actual_seconds"]].copy()
        for col in ("planned_seconds", "actual_seconds"):
            table[col] = [format_duration(v) if v == v and v is not None else "-" for v in table[col]]
        table.columns = ["model", "settings", "status", "planned", "actual"]
        lines.append(table.to_string(index=False))
        return "\n".join(lines)


def _round(value):
    return None if value is None else round(float(value), 1)


class _FoldTracker:
    """Fold events of the model in flight: learn its speed, re-plan the rest, stop it when it is late."""

    def __init__(self, run: BudgetedRun, m: ModelPlan):
        self.run = run
        self.m = m
        self.initial = m.folds_done
        self.completed = 0
        self.last = None

    def begin(self) -> None:
        run, m, planner = self.run, self.m, self.run.planner
        now = run.budget.now()
        if self.last is not None:
            m.fold_seconds.append(now - self.last)
            planner.observe_folds(m, m.fold_seconds, self.initial == 0)
            folds_left = planner.cv - self.initial - len(m.fold_seconds)
            left = run.budget.training_left()
            if planner.is_late(m, folds_left, left):
                raise BudgetExhausted(f"late: {folds_left} more fold(s) need about "
                                      f"{format_duration(planner.projected_left(m, folds_left))}, "
                                      f"{format_duration(left)} left")
            others = run.budget.remaining() - planner.projected_left(m, folds_left) - planner.stack_share(m)
            for line in planner.choose(others):
                run.echo(f"  re-planned after fold {len(m.fold_seconds)} of {m.name}: {line}")
            run.budget.reserve = planner.reserve([m.name])
        self.last = now

    def epoch(self, estimator, epoch: int) -> None:
        """Mid-fold: give up at once if, at this epoch's pace, the model cannot finish in time."""
        epochs = getattr(estimator, "epochs", None)
        if self.last is None or not isinstance(epochs, int) or epoch >= epochs:
            return
        run, planner = self.run, self.run.planner
        spent = run.budget.now() - self.last
        fold = spent * epochs / epoch
        folds_after = planner.cv - self.initial - len(self.m.fold_seconds) - 1
        need = fold - spent + folds_after * fold
        left = run.budget.training_left()
        if need * (1 - LATE_TOLERANCE) > left:
            raise BudgetExhausted(f"late: at this pace the model needs about {format_duration(need)} more, "
                                  f"{format_duration(left)} left")

    def end(self) -> None:
        self.completed += 1
