"""Turn the models of a config and the time left into a plan, and re-plan as the run goes.

The rule, applied to the models that have not run yet each time a model finishes:

1. Most important first (``priority``, then config order), each model at its cheapest allowed
   settings joins the plan if it fits in what is left; a model that does not fit is dropped.
2. The slack goes to the planned models in the same order: each takes the largest allowed
   settings that still fit (the costliest combination, as more epochs or tokens cost more).
3. What is still left pays for tuning studies (``[models.<name>.tune]``), in the same order,
   and last for the meta-learner's tuning trials (``[stack] meta_n_trials``).

A model's cost includes what the final stack spends on it. Only :data:`FILL` of the time left is
planned, and the stack's share is counted with :data:`STACK_SAFETY`, because measurements on a
shared machine vary. After every fold the run compares actual with planned time: a family that
runs slower (or faster) than measured has its later estimates scaled by the median observed ratio
of its folds (robust to one slow fold), and the model in flight is stopped at once when it can no
longer finish before the deadline. Each re-plan starts again from every model that has not run:
one dropped earlier comes back as soon as it fits in what is left.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from .costs import Cost
from .duration import format_duration
from .spec import ModelSpec

#: Share of the time left that a plan fills.
FILL = 0.92
#: The stack's estimated seconds are multiplied by this, plus :data:`STACK_PAD` seconds.
STACK_SAFETY = 1.25
STACK_PAD = 5.0
#: A model in flight is stopped when its projected finish is later than the deadline by this share.
LATE_TOLERANCE = 0.03
#: Folds planned shorter than this say nothing about a family's speed: their time is mostly fixed
#: overhead (loading, a logistic-regression head on cached embeddings), and a second of it would
#: read as a fivefold slowdown that also reprices the families not seen yet.
MIN_EVIDENCE_SECONDS = 10.0


@dataclass
class Option:
    """One allowed combination of settings and what it costs (as measured, before corrections)."""

    settings: dict
    cost: Cost


@dataclass
class ModelPlan:
    """A model's place in the plan and what became of it."""

    spec: ModelSpec
    options: list
    choice: int | None = None
    folds_done: int = 0
    status: str = "planned"
    note: str = ""
    tune_seconds: float = 0.0
    planned_seconds: float | None = None
    actual_seconds: float | None = None
    fold_seconds: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def family(self) -> str:
        return self.spec.family

    @property
    def option(self) -> Option | None:
        return None if self.choice is None else self.options[self.choice]

    @property
    def settings(self) -> dict:
        return dict(self.option.settings) if self.option else {}

    @property
    def waiting(self) -> bool:
        """Not run yet in this run (planned or dropped for now)."""
        return self.status in ("planned", "dropped")


def settings_text(settings: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in settings.items()) or "as configured"


class Planner:
    """The plan of one run: models, their options, observed speeds.

    Parameters
    ----------
    models : list of ModelPlan
        Options sorted cheapest first.
    cv : int
        Folds per model.
    stack_base : float
        Seconds the stack needs whatever the models (meta-learner, bias, features).
    meta_seconds : float, default 0
        Seconds the meta-learner's tuning trials add; they run only when the plan has room.

    Attributes
    ----------
    meta_on : bool
        Whether the plan keeps the meta-learner's tuning trials.
    forced : set of str
        Models planned although they do not fit (the cheapest, when nothing else would run).
    """

    def __init__(self, models: list[ModelPlan], cv: int, stack_base: float, meta_seconds: float = 0.0):
        self.models = sorted(models, key=lambda m: (m.spec.priority, m.spec.order))
        self.cv = int(cv)
        self.stack_base = float(stack_base)
        self.meta_seconds = float(meta_seconds)
        self.meta_on = self.meta_seconds == 0
        self.forced: set[str] = set()
        self.factors: dict[str, float] = {}
        self.ratios: dict[str, dict[str, list[float]]] = {}  # family -> model -> observed/planned per fold

    def model(self, name: str) -> ModelPlan:
        return next(m for m in self.models if m.name == name)

    # ---- costs ----
    def factor(self, family: str) -> float:
        """Observed/planned time of ``family``; a family not seen yet gets the machine's slowdown: the
        median of the others (averaging the middle two, so one slow family of two does not speak for
        the machine), between 1 and 2, never a speed-up."""
        if family in self.factors:
            return self.factors[family]
        if not self.factors:
            return 1.0
        return min(2.0, max(1.0, statistics.median(self.factors.values())))

    def cost(self, m: ModelPlan, index: int | None = None) -> Cost:
        index = m.choice if index is None else index
        return m.options[index].cost.scaled(self.factor(m.family))

    def train_left(self, m: ModelPlan, index: int | None = None) -> float:
        """Training seconds ``m`` still needs (its cached folds are not trained again)."""
        cost = self.cost(m, index)
        left = max(0, self.cv - m.folds_done)
        return (cost.once if m.folds_done == 0 else 0.0) + left * cost.fold

    def stack_share(self, m: ModelPlan, index: int | None = None) -> float:
        return self.cost(m, index).stack * STACK_SAFETY

    def reserve(self, names=None) -> float:
        """Seconds kept for the stack of the finished models (and ``names``)."""
        names = set(names or ())
        shares = sum(self.stack_share(m) for m in self.models
                     if m.choice is not None and (m.status == "finished" or m.name in names))
        base = self.stack_base + (self.meta_seconds if self.meta_on else 0.0)
        return base * STACK_SAFETY + STACK_PAD + shares

    # ---- choosing ----
    def choose(self, time_left: float, with_tuning: bool = False) -> list[str]:
        """(Re-)plan the models that have not run yet for ``time_left`` seconds; returns the changes."""
        before = {m.name: m.choice for m in self.models}  # to report changes
        meta_before, self.meta_on = self.meta_on, self.meta_seconds == 0
        avail = time_left * FILL - self.reserve()
        waiting = [m for m in self.models if m.waiting]
        for m in waiting:  # 1. cheapest settings, most important first
            need = self.train_left(m, 0) + self.stack_share(m, 0)
            if need <= avail or m.name in self.forced:
                m.choice, m.status, m.note = 0, "planned", ""
                avail -= need
            else:
                m.choice, m.status = None, "dropped"
                m.note = f"needs {format_duration(need)} at the least"
        for m in waiting:  # 2. the slack, most important first
            if m.choice is None:
                continue
            base = self.train_left(m, 0) + self.stack_share(m, 0)
            for i in range(len(m.options) - 1, 0, -1):
                extra = self.train_left(m, i) + self.stack_share(m, i) - base
                if extra <= avail:
                    m.choice = i
                    avail -= extra
                    break
        for m in waiting:  # 3. tuning studies with what is left
            m.tune_seconds = 0.0
            if with_tuning and m.choice is not None and m.spec.tune_trials:
                trial = self.cost(m).train(self.cv)
                wanted = min(m.spec.tune_timeout or float("inf"), m.spec.tune_trials * trial)
                if avail >= min(wanted, 2 * trial):
                    m.tune_seconds = min(wanted, avail)
                    avail -= m.tune_seconds
        if not self.meta_on and avail >= self.meta_seconds * STACK_SAFETY:  # 4. the meta-learner's trials
            self.meta_on = True
        changes = [line for m in self.models if (line := self._change(m, before[m.name]))]
        if self.meta_on != meta_before and self.meta_seconds:
            changes.append("meta-learner tuning " + ("on" if self.meta_on else "off"))
        return changes

    def cheapest(self) -> ModelPlan | None:
        """The waiting model that needs the least time at its cheapest settings."""
        waiting = [m for m in self.models if m.waiting]
        return min(waiting, key=lambda m: self.train_left(m, 0) + self.stack_share(m, 0), default=None)

    @staticmethod
    def _change(m: ModelPlan, old_choice) -> str:
        if m.choice == old_choice:
            return ""
        if m.choice is None:
            return f"{m.name} dropped ({m.note})"
        if old_choice is None:
            return f"{m.name} fits now: {settings_text(m.settings)}"
        return f"{m.name} {settings_text(m.options[old_choice].settings)} -> {settings_text(m.settings)}"

    def next_model(self) -> ModelPlan | None:
        return next((m for m in self.models if m.status == "planned" and m.choice is not None), None)

    # ---- observing ----
    def observe(self, m: ModelPlan, seconds: float, folds: int, include_once: bool) -> None:
        """Record that ``folds`` folds of ``m`` took ``seconds`` together (their times one by one
        unknown), and learn its family's speed."""
        planned = m.option.cost.fold * folds + (m.option.cost.once if include_once else 0.0)
        if planned >= MIN_EVIDENCE_SECONDS and seconds > 0 and folds > 0:
            self._record(m, [seconds / planned])

    def observe_folds(self, m: ModelPlan, fold_seconds, include_once: bool) -> None:
        """Record the seconds each finished fold of ``m`` took (the first one with the model's
        one-off work when ``include_once``), and learn its family's speed.

        The family's factor is the median of its folds' observed/planned ratios, so one fold slowed
        by a briefly busy machine does not reprice the rest of the run. A first fold carrying one-off
        work (frozen embeddings of every question) speaks for the family only until a plain fold is
        seen: its time mostly measures the encoder, not what the later folds cost. Folds planned
        under :data:`MIN_EVIDENCE_SECONDS` are not evidence.
        """
        cost = m.option.cost
        ratios = []
        for i, seconds in enumerate(fold_seconds):
            planned = cost.fold + (cost.once if i == 0 and include_once else 0.0)
            if planned >= MIN_EVIDENCE_SECONDS and seconds > 0:
                ratios.append((i, seconds / planned))
        if include_once and cost.once > 0 and len(ratios) > 1:
            ratios = [(i, r) for i, r in ratios if i > 0]
        if ratios:
            self._record(m, [r for _, r in ratios])

    def _record(self, m: ModelPlan, ratios: list[float]) -> None:
        self.ratios.setdefault(m.family, {})[m.name] = ratios
        seen = [r for model_ratios in self.ratios[m.family].values() for r in model_ratios]
        self.factors[m.family] = min(5.0, max(0.2, statistics.median(seen)))

    def projected_left(self, m: ModelPlan, folds_left: int) -> float:
        return folds_left * self.cost(m).fold

    def is_late(self, m: ModelPlan, folds_left: int, training_left: float) -> bool:
        """Whether ``m`` cannot finish its ``folds_left`` folds in ``training_left`` seconds."""
        return self.projected_left(m, folds_left) * (1 - LATE_TOLERANCE) > training_left

    # ---- reporting ----
    def planned_total(self) -> float:
        chosen = [m for m in self.models if m.choice is not None and m.status != "stopped"]
        return (sum(self.train_left(m) + m.tune_seconds for m in chosen if m.status != "finished")
                + self.reserve([m.name for m in chosen]))

    def table(self, limit: float, time_left: float) -> str:
        rows = [("model", "family", "settings", "planned")]
        for m in self.models:
            if m.choice is None:
                rows.append((m.name, m.family, "dropped", m.note))
                continue
            text = settings_text(m.settings)
            if m.folds_done:
                text += f" ({min(m.folds_done, self.cv)}/{self.cv} folds cached)"
            planned = format_duration(self.train_left(m))
            if m.tune_seconds:
                planned += f" + tuning {format_duration(m.tune_seconds)}"
            rows.append((m.name, m.family, text, planned))
        meta = "tuned meta-learner" if self.meta_seconds and self.meta_on else "meta-learner"
        rows.append(("stack", "", f"{meta}, test predictions, files",
                     format_duration(self.reserve([m.name for m in self.models if m.choice is not None]))))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"Plan for a {format_duration(limit)} limit ({format_duration(time_left)} left):"]
        lines += ["  " + "  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
        lines.append(f"  planned total {format_duration(self.planned_total())} of {format_duration(time_left)} left")
        return "\n".join(lines)
