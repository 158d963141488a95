"""``mathcls stack`` and ``mathcls run``: competition folder in, submission out.

:func:`build` runs these steps; each stage is keyed by what it depends on (see
:mod:`mathcls.stages`), recorded in ``<out>/state.json`` when it finishes, and reused on a rerun
while its key holds. Every stage prints one line: ``reused``, or ``run``/``rerun`` and why.

1. ``folds``: the shared folds, ``<out>/folds.json``
2. ``generate`` (with ``--use-generation``): procedural + augmented rows into ``<out>/generated``
3. ``tune NAME``: an Optuna study per model whose ``[models.NAME.tune]`` gives ``n_trials`` > 0
4. ``oof NAME`` and ``stack``: out-of-fold training of every base model on the shared folds (cached
   per model and fold in ``<out>/cache``), LightGBM meta-learner, bias tuning; ``<out>/model``
5. ``submission``: ``submission.csv``, ``test_proba.csv``, ``leaderboard.csv``
6. ``report``: confusion matrices, per-class F1, base-model correlation and time per model in
   ``<out>/report`` (from ``<out>/oof``, the out-of-fold tables the stack step writes; see :mod:`mathcls.report`)

With a time limit (``--time-limit`` or ``[run] time_limit``), :mod:`mathcls.plan` probes the machine
and plans before the tune steps, then trains the base models one at a time by priority within the
budget (each fills the fold cache the stack reads); the stack is built from the models that
finished all their folds. The limit is part of no stage key: a rerun with a larger limit reuses
every stage and fold whose settings it keeps.

The built-in default config is ``mathcls/configs/cpu.toml`` (package data).
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import write_json, write_text
from .config import builtin_config, resolve_config
from .data import DEMO_ANSWERS_FILE, ID, LABEL, SOURCE, TEXT, load_competition
from .env import package_versions
from .errors import MathclsError
from .folds import FOLDS_FILE, load_or_make_folds
from .lock import folder_lock
from .logs import say
from .params import model_params
from .persist import decode_param, encode_param
from .report import OOF_DIR, report_stage
from .stages import RunState, StageKey, digest, folds_key, generation_key, oof_keys, stack_key, submission_key, tune_key

__all__ = ["build", "demo", "summary", "resolve_config", "enabled_models", "time_budget", "RunResult"]


@dataclass
class RunResult:
    out: Path
    leaderboard: pd.DataFrame
    submission: Path | None = None
    model_dir: Path | None = None
    seconds: float = 0.0
    test_f1_micro: float | None = None
    metric: str = "f1_micro"
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------- config
def enabled_models(cfg: dict, only=None) -> list[str]:
    """The models a run trains: ``only`` (``--models``), else [run] models, else the enabled ones."""
    defined = cfg.get("models", {})
    names = [n for n, e in defined.items() if e.get("enabled", True)]
    if only:
        unknown = [m for m in only if m not in defined]
        if unknown:
            raise MathclsError(
                f"--models names {unknown[0]!r}, which the config does not define; defined: {', '.join(defined)}."
            )
        names = list(only)
    elif cfg.get("run", {}).get("models"):
        names = list(cfg["run"]["models"])
    if not names:
        raise MathclsError("No model is enabled; enable at least one in [models.<name>] or pass --models.")
    return names


def find_best_params(params_from, name: str, family: str) -> dict | None:
    """``best_params.json`` for ``name`` under ``params_from``: a folder named after the model wins,
    then any file whose ``model`` is the family."""
    from .training import read_params_file

    root = Path(params_from)
    if not root.exists():
        raise MathclsError(f"--params-from folder {root} does not exist; pass the folder `mathcls tune` wrote into.")
    candidates = sorted(root.rglob("best_params.json"))
    scored = []
    for path in candidates:
        try:
            payload = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if payload.get("model") != family:
            continue
        rank = 0 if name in path.parent.name.split("-") or path.parent.name == name else 1
        scored.append((rank, str(path)))
    if not scored:
        return None
    return read_params_file(sorted(scored)[0][1], family)


def _build_estimator(name, entry, out, tuned=None):
    from .models import make_model

    family = entry["family"]
    params = {**model_params({"models": {name: entry}}, name), **(tuned or {})}
    est = make_model(family, params)
    valid = est.get_params(deep=False)
    # Fold models of neural families: logs per model, no per-fold checkpoints unless asked.
    if "logging_dir" in valid and "logging_dir" not in params:
        est.set_params(logging_dir=str(out / "logs" / name))
    if "output_dir" in valid and "output_dir" not in params:
        est.set_params(output_dir=None)
    return est


def run_metric(cfg: dict, schema) -> str:
    """``[run] metric``, else the schema's default (F1-micro for the Kasut data, accuracy elsewhere)."""
    from .metrics import default_metric

    return cfg.get("run", {}).get("metric") or default_metric(schema)


def _ensemble(cfg, names, out, tuned, metric=None):
    from .stacking import StackingEnsemble, name_list

    estimators = [(name, _build_estimator(name, cfg["models"][name], out, tuned.get(name))) for name in names]
    stack_cfg = dict(cfg.get("stack", {}))
    if "pseudo_label" in stack_cfg:
        # Only the models of this run: `--models` may have left a pseudo-labelled one out.
        stack_cfg["pseudo_label"] = [name for name in name_list(stack_cfg["pseudo_label"]) if name in names]
    if metric is not None:
        stack_cfg["metric"] = metric
    return StackingEnsemble(estimators=estimators, cv=int(cfg["cv"]), cache_dir=str(out / "cache"),
                            random_state=int(cfg["seed"]), verbose=True, **stack_cfg)


def leaderboard_metrics(metric: str) -> list[str]:
    """The leaderboard's score columns: the run's metric, then F1-macro (F1-micro when that is the metric)."""
    return [metric, "f1_macro" if metric != "f1_macro" else "f1_micro"]


#: Prefix of the leaderboard's per-class columns (``f1 Geometry``); the printed summary leaves them out.
PER_CLASS = "f1 "


def _leaderboard(scores: dict, test_rows_per_s: float | None, metric: str = "f1_micro", schema=None) -> pd.DataFrame:
    """One row per model: the metric and the other F1, seconds, speed, then each class's F1 by its name."""
    from .metrics import get_metric

    shown = leaderboard_metrics(metric)
    rows = []
    for name, s in scores.items():
        per_class = {f"{PER_CLASS}{schema.class_name(_as_label(c, schema)) if schema else c}": v
                     for c, v in (s.get("per_class_f1") or {}).items()}
        rows.append({"model": name, **{f"oof_{m}": round(s[m], 4) for m in shown}, "fit_seconds": s["fit_seconds"],
                     "predict_rows_per_s": test_rows_per_s if name == "stack" else s.get("predict_rows_per_s"),
                     **per_class})
    ascending = not get_metric(metric).greater_is_better
    return pd.DataFrame(rows).sort_values(f"oof_{metric}", ascending=ascending).reset_index(drop=True)


def _tensorboard(out: Path, board: pd.DataFrame):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return
    writer = SummaryWriter(log_dir=str(out / "logs" / "stack"))
    for _, row in board.iterrows():
        for column in [c for c in board.columns if c.startswith("oof_")]:
            writer.add_scalar(f"{column}/{row['model']}", row[column], 0)
    writer.add_text("leaderboard", "    " + board.to_string(index=False).replace("\n", "\n    "))
    writer.close()


# ---------------------------------------------------------------------------------------- time limit
def _time_budget(cfg: dict, time_limit=None):
    """A started :class:`mathcls.plan.Budget` for ``--time-limit`` or ``[run] time_limit``; ``None``
    without a limit. A bad duration is a one-line error before any data is read."""
    from .plan import Budget, read_time_limit

    limit = read_time_limit(cfg, time_limit)
    return None if limit is None else Budget(limit)


def time_budget(config=None, time_limit=None, base_config=None):
    """The budget ``build`` would use, started now; ``mathcls run`` takes it early to catch signals."""
    return _time_budget(resolve_config(config, base_config), time_limit)


def _plan_run(run: _Run, budget):
    """Probe this machine and plan the run's models within the budget (prints the plan)."""
    from .plan.probe import DataShape
    from .plan.runner import make_run_plan

    comp = run.comp
    data = DataShape(comp.train[TEXT].tolist(), comp.train[LABEL].to_numpy(), comp.test[TEXT].tolist(), run.cv,
                     n_extra=len(run.extra[0]) if run.extra else 0, data_hash=comp.data_hash)
    return make_run_plan(run.cfg, run.names, data, run.out, budget, seed=run.seed, echo=run.echo)


def _train_within_budget(run: _Run, run_plan, fold, tuned: dict):
    """Train the base models one at a time, by priority, within the budget. Each fills the fold cache
    the stack reads, so the stack step then loads the finished ones without training again.
    Returns those models (config order) and their parameters with the plan's settings."""
    from sklearn.dummy import DummyClassifier

    from .stacking import StackingEnsemble

    cfg = run.cfg
    texts, y = run.comp.train[TEXT].tolist(), run.comp.train[LABEL].to_numpy()
    extra_rows = dict(zip(("extra_X", "extra_y", "extra_source"), run.extra)) if run.extra else {}

    def fit_model(name, settings, callbacks):
        est = _build_estimator(name, cfg["models"][name], run.out, {**tuned.get(name, {}), **settings})
        if "callbacks" in est.get_params(deep=False):
            est.set_params(callbacks=list(est.callbacks or []) + callbacks)
        # A one-model stack with a trivial meta-learner: the base model's folds land in the shared cache
        # (with the run's test strategy: [stack]'s, else the ensemble's own default).
        alone = StackingEnsemble([(name, est)], final_estimator=DummyClassifier(), meta_init="none",
                                 extra_features=False, bias_tuning=False, cv=run.cv,
                                 **{k: v for k, v in cfg.get("stack", {}).items() if k == "test_strategy"},
                                 cache_dir=str(run.out / "cache"), random_state=run.seed)
        alone.fit(texts, y, fold=fold, **extra_rows)
        return alone.scores_[name]

    finished = set(run_plan.train(fit_model))
    if not finished:
        why = f"{run_plan.budget.stop_reason} came" if run_plan.budget.stop_reason else "The time limit ran out"
        raise MathclsError(f"{why} before any model finished all its folds; rerun with a larger --time-limit "
                           f"(finished folds are cached and resume).")
    kept = [name for name in run.names if name in finished]
    return kept, {**tuned, **{name: {**tuned.get(name, {}), **run_plan.settings(name)} for name in kept}}


# ---------------------------------------------------------------------------------------- steps
@dataclass
class _Run:
    """What the steps of :func:`build` share: the data, the resolved config, the run folder."""

    comp: object
    cfg: dict
    names: list
    out: Path
    state: RunState
    echo: object
    metric: str = "f1_micro"
    generated_dir: Path | None = None
    extra: tuple | None = None  # generated rows: (texts, labels, source rows)
    rows: str | None = None  # digest of the generated rows, part of the keys that train on them

    @property
    def seed(self) -> int:
        return int(self.cfg["seed"])

    @property
    def cv(self) -> int:
        return int(self.cfg["cv"])


def _check_before_data(config, base_config, models, params_from, out: Path, text_columns=()):
    """The resolved config and model names; every config, model and stack parameter checked."""
    cfg = resolve_config(config, base_config)
    if text_columns:  # --text-column wins over [data] text (the resolved config records it for a replay)
        cfg = copy.deepcopy(cfg)
        cfg.setdefault("data", {})["text"] = list(text_columns)
    names = enabled_models(cfg, models)
    _ensemble(cfg, names, out, {})._validate_params()
    if params_from and not Path(params_from).is_dir():
        raise MathclsError(f"--params-from folder {params_from} does not exist; pass the folder `mathcls tune` wrote into.")
    from .checks import check_cache_folder, check_output_folder
    from .families import get_family

    check_output_folder(out, "run", "Run folder")
    if any(get_family(cfg["models"][name]["family"]).uses_cache for name in names):
        check_cache_folder()
    return cfg, names


def _start(data_dir, out: Path, cfg, names, use_generation, echo, budget=None) -> _Run:
    from .schema import DataChoices

    # Also checks test.csv against sample_submission.csv, and reads which columns hold what.
    comp = load_competition(data_dir, choices=DataChoices.from_config(cfg))
    metric = run_metric(cfg, comp.schema)
    echo(comp.schema.describe())
    echo(f"Metric: {metric}" + ("" if cfg.get("run", {}).get("metric") else " (set [run] metric to change it)"))
    out.mkdir(parents=True, exist_ok=True)
    run = _Run(comp, cfg, names, out, RunState(out), echo, metric=metric)
    comp.schema.write(out)
    write_json(out / "run.json", {"data_dir": str(comp.root), "train_sha256": comp.train_sha256, "seed": run.seed,
                                  "cv": run.cv, "models": names, "use_generation": use_generation,
                                  "metric": metric, "schema": comp.schema.to_json(), "versions": package_versions()})
    _write_resolved_config(out, cfg, names, budget)
    return run


def _folds_step(run: _Run):
    key = folds_key(run.comp, run.cfg)
    run.state.announce("folds", key, run.echo, outputs=[run.out / FOLDS_FILE])
    fold = load_or_make_folds(run.out, run.comp.train[LABEL].to_numpy(), run.cv, run.seed, run.comp.data_hash)
    run.state.record("folds", key)
    return fold, key


def _generation_step(run: _Run, generated_dir) -> None:
    """With ``--use-generation``: make the rows (unless ``generated_dir`` is given), load them."""
    from .data import texts_sha256
    from .generate.store import GENERATED_FILE, load_generated

    if generated_dir is None:
        generated_dir = run.out / "generated"
        key = generation_key(run.comp, run.cfg)
        if run.state.announce("generate", key, run.echo, outputs=[generated_dir / GENERATED_FILE]):
            _generate(run, generated_dir)
            run.state.record("generate", key)
    gen = load_generated(generated_dir, train_sha256=run.comp.train_sha256, n_train=len(run.comp.train),
                         schema=run.comp.schema, topics=_topics(run.cfg))
    run.generated_dir = Path(generated_dir)
    run.extra = (gen[TEXT].tolist(), gen[LABEL].to_numpy(), gen[SOURCE].to_numpy())
    run.rows = digest([texts_sha256(run.extra[0], run.extra[1].tolist()), run.extra[2].tolist()])
    run.echo(f"Using {len(run.extra[0])} generated rows in the training folds.")


def _generate(run: _Run, folder: Path) -> None:
    from .generate import build_generated
    from .schema import DataChoices

    gen_cfg = run.cfg.get("generation", {})
    per_class = int(gen_cfg.get("per_class", 0) or 0)
    balance = bool(gen_cfg.get("balance", False))
    build_generated(folder, procedural=bool(per_class) or balance, per_class=per_class or None, balance=balance,
                    augment_per_row=int(gen_cfg.get("augment_per_row", 0) or 0), data_dir=run.comp.root,
                    seed=run.seed, echo=run.echo, choices=DataChoices.from_config(run.cfg), topics=_topics(run.cfg))


def _topics(cfg: dict) -> dict | None:
    """``[generation] topics``: the data's classes -> the generator's topic ids, or None."""
    return cfg.get("generation", {}).get("topics") or None


def _params_step(run: _Run, folds: StageKey, params_from, tune_models: bool, run_plan=None) -> dict:
    """Each model's parameters beyond its config: from ``--params-from``, then from its tune stage.
    Under a time limit each study gets the seconds the plan gave it (none: it waits for a later run)."""
    tuned = {}
    for name in run.names:
        entry = run.cfg["models"][name]
        if params_from:
            best = find_best_params(params_from, name, entry["family"])
            if best:
                tuned[name] = best
                run.echo(f"{name}: parameters from {params_from}: {best}")
        if tune_models and int(entry.get("tune", {}).get("n_trials", 0) or 0) > 0:
            best = _tune_step(run, name, folds, run_plan)
            if best:
                tuned[name] = best
    if run_plan is not None:  # tuned parameters cost what they cost: price them again
        for name, best in tuned.items():
            run_plan.use_params(name, best)
    return tuned


def _tune_step(run: _Run, name: str, folds: StageKey, run_plan=None) -> dict | None:
    stage = f"tune {name}"
    # Keyed by the config, not by the time the plan gave the study, so a larger limit reuses it.
    key = tune_key(name, run.cfg, folds, run.rows, run.metric)
    cfg = run_plan.tuning_config(run.cfg) if run_plan is not None else run.cfg
    if run.state.reason_to_run(stage, key) is not None and not cfg["models"][name]["tune"].get("n_trials"):
        run.echo(f"{stage}: skipped (the time limit leaves no room for the study; a later run may tune)")
        return None
    if run.state.announce(stage, key, run.echo):
        best = _tune(run, name, key, cfg)
        run.state.record(stage, key, {k: encode_param(v) for k, v in (best or {}).items()})
        return best
    best = {k: decode_param(v) for k, v in (run.state.info(stage) or {}).items()} or None
    run.echo(f"  {name}: tuned parameters {best}")
    return best


def _tune(run: _Run, name: str, key: StageKey, cfg: dict) -> dict | None:
    from .schema import DataChoices
    from .training import read_params_file
    from .tuning.run import tune

    entry = cfg["models"][name]
    settings, family = entry.get("tune", {}), entry["family"]
    # [models.<name>.tune]: n_trials/timeout are the run's budget; the rest (space, pruner) goes to tune().
    section = {k: v for k, v in entry.items() if k not in ("family", "enabled", "priority", "budget")}
    section["tune"] = {k: v for k, v in settings.items() if k not in ("n_trials", "timeout")}
    tune_out = run.out / "tune" / name
    run.echo(f"Tuning {name} ({family}): {settings['n_trials']} trials"
             + (f", {settings['timeout']} s" if settings.get("timeout") else ""))
    # One study per key: a changed config starts a new study instead of clashing with the old one.
    result = tune(family, run.comp.root, tune_out, n_trials=int(settings["n_trials"]),
                  timeout=settings.get("timeout") or None, study_name=f"{name}-{key.digest[:12]}", cv=run.cv,
                  config={"models": {family: section}}, use_generation=run.extra is not None,
                  generated_dir=run.generated_dir, seed=run.seed, echo=run.echo, progress=False,
                  choices=DataChoices.from_config(run.cfg), metric=run.metric, topics=_topics(run.cfg))
    best = tune_out / "best_params.json"
    if not best.is_file():
        return None
    run.echo(f"  best {name}: CV {getattr(result, 'best_value', float('nan')):.4f}")
    return read_params_file(best, family)


def _stack_step(run: _Run, fold, tuned: dict, oof: dict, key: StageKey, cfg: dict):
    """Fit the stack (config ``cfg``) when its key changed (base models whose ``oof`` key held load
    from the cache); returns ``(fitted stack or None when reused, scores)``."""
    from .persist import save_model
    from .report import write_oof

    for name in run.names:
        run.state.announce(f"oof {name}", oof[name], run.echo)
    if not run.state.announce("stack", key, run.echo, outputs=[run.out / "model", run.out / OOF_DIR]):
        return None, run.state.info("stack")["scores"]
    texts = run.comp.train[TEXT].tolist()
    run.echo(f"Stage stack: {len(run.names)} base model(s) × {run.cv} folds on {len(texts)} rows")
    stack = _ensemble(cfg, run.names, run.out, tuned, run.metric)
    extra_rows = dict(zip(("extra_X", "extra_y", "extra_source"), run.extra)) if run.extra else {}
    stack.fit(texts, run.comp.train[LABEL].to_numpy(), fold=fold, unlabeled_X=run.comp.test[TEXT].tolist(),
              **extra_rows)
    save_model(stack, run.out / "model", train_sha256=run.comp.train_sha256, train_texts=texts,
               extra={"cv_f1_micro": stack.scores_["stack"]["f1_micro"], f"cv_{run.metric}": stack.scores_["stack"][run.metric],
                      "data_dir": str(run.comp.root), "schema": run.comp.schema.to_json()})
    write_oof(run.out / OOF_DIR, stack, run.comp.train[LABEL].to_numpy(), run.comp.test[ID], run.comp.schema.id)
    for name in run.names:
        run.state.record(f"oof {name}", oof[name])
    run.state.record("stack", key, {"scores": stack.scores_})
    return stack, stack.scores_


def _submission_step(run: _Run, stack, scores: dict, key: StageKey, run_plan=None) -> pd.DataFrame:
    """Predict the test rows and write submission.csv, test_proba.csv and leaderboard.csv (under a
    time limit with each model's settings, status and planned/actual seconds)."""
    from .persist import load_model
    from .prediction import proba_frame
    from .submission import make_submission, validate_submission, write_csv_atomic

    out, comp = run.out, run.comp
    files = [out / "submission.csv", out / "test_proba.csv", out / "leaderboard.csv"]
    if not run.state.announce("submission", key, run.echo, outputs=files):
        return pd.read_csv(out / "leaderboard.csv")
    test_texts = comp.test[TEXT].tolist()
    t0 = time.perf_counter()
    if stack is not None and stack.unlabeled_base_proba_ is not None:
        # fit just predicted the test rows (its unlabeled rows) with every base model: reuse that.
        run.echo(f"Stage predict: {len(comp.test)} test rows (base models' predictions from the stack stage)")
        proba = stack.predict_proba_from_base(stack.unlabeled_base_proba_, test_texts)
    else:
        stack = load_model(out / "model")
        run.echo(f"Stage predict: {len(comp.test)} test rows")
        proba = stack.predict_proba(test_texts)
    # fit already predicted the test rows with every base model and timed that; use its figure.
    rows_per_s = (scores["stack"].get("predict_rows_per_s")
                  or round(len(comp.test) / max(time.perf_counter() - t0, 1e-9), 1))
    sub = make_submission(comp.test[ID], stack.classes_[proba.argmax(1)], comp.schema)
    sample_ids = comp.sample_submission[ID] if comp.sample_submission is not None else None
    validate_submission(sub, comp.test[ID], sample_ids, schema=comp.schema)
    write_csv_atomic(proba_frame(comp.test[ID], proba, stack.classes_, comp.schema.id), out / "test_proba.csv")
    write_csv_atomic(sub, out / "submission.csv")
    board = _leaderboard(scores, rows_per_s, run.metric, comp.schema)
    if run_plan is not None:  # planned vs actual seconds, and the models that did not finish
        board = run_plan.leaderboard(board)
    write_csv_atomic(board, out / "leaderboard.csv")
    _tensorboard(out, board)
    run.state.record("submission", key)
    return board


def _demo_score(comp, submission: Path) -> float | None:
    """F1-micro on the hidden labels of a demo data set (``DEMO_ANSWERS_FILE``, Kasut layout), else ``None``."""
    labels_file = Path(comp.root) / DEMO_ANSWERS_FILE
    if not labels_file.is_file():
        return None
    truth = pd.read_csv(labels_file, dtype=str)
    merged = pd.read_csv(submission, dtype=str).merge(truth, on=ID, suffixes=("", "_true"))
    return float((merged[LABEL].str.strip() == merged[f"{LABEL}_true"].str.strip()).mean())


def build(data_dir, out, config=None, models=None, params_from=None, use_generation=False, generated_dir=None,
          tune_models=True, base_config=None, time_limit=None, budget=None, echo=say, text_columns=()) -> RunResult:
    """Folds, [generate], tune, stack and predict, each stage rerun only when what it depends on changed.

    ``mathcls run`` and ``mathcls stack`` (``tune_models=False``) both call this. ``config`` is a
    TOML path or a dict merged over ``base_config`` (default: the built-in ``cpu`` config).
    ``time_limit`` (``"45m"``; ``"none"`` for no limit) overrides the config's ``[run] time_limit``;
    ``budget`` (a started :class:`mathcls.plan.Budget`) overrides both. ``use_generation`` or the
    config's ``[generation] enabled = true`` adds generated rows to every model's training folds.
    """
    t_start = time.perf_counter()
    out = Path(out)
    cfg, names = _check_before_data(config, base_config, models, params_from, out, text_columns)
    # One command per run folder at a time: a second one would race on state.json and the cache.
    with folder_lock(out, "run" if tune_models else "stack", "Run folder"):
        use_generation = use_generation or bool(cfg.get("generation", {}).get("enabled", False))
        budget = budget if budget is not None else _time_budget(cfg, time_limit)
        run = _start(data_dir, out, cfg, names, use_generation, echo, budget)
        if use_generation:
            from .generate import why_generation_is_off

            off = why_generation_is_off(run.comp.schema, _topics(cfg))
            gen_cfg = cfg.get("generation", {})
            if _topics(cfg) and not off and (gen_cfg.get("balance") or gen_cfg.get("augment_per_row")):
                off = "[generation] topics relabels procedural rows only; set balance = false and augment_per_row = 0"
            if off and _topics(cfg):  # a mapping the user wrote that cannot work: an error, before any work
                raise MathclsError(f"Config: {off}.")
            if off:
                echo(f"Generation: off ({off}).")
                use_generation = False
        fold, folds = _folds_step(run)
        if use_generation:
            _generation_step(run, generated_dir)
        run_plan = _plan_run(run, budget) if budget is not None else None
        tuned = _params_step(run, folds, params_from, tune_models, run_plan)
        stack_cfg = cfg
        if run_plan is not None:
            run.names, tuned = _train_within_budget(run, run_plan, fold, tuned)
            stack_cfg = run_plan.stack_config(cfg)
        # Keys hold the settings the models ran with (and the meta-learner's trials), never the limit.
        oof = oof_keys(run.comp, stack_cfg, run.names, tuned, folds, run.rows)
        stacked = stack_key(stack_cfg, oof, run.metric)
        stack, scores = _stack_step(run, fold, tuned, oof, stacked, stack_cfg)
        board = _submission_step(run, stack, scores, submission_key(run.comp, stacked), run_plan)
        report_stage(run.state, run.out, stacked, run.echo)
        result = RunResult(out, board, out / "submission.csv", out / "model", time.perf_counter() - t_start,
                           metric=run.metric)
        if run_plan is not None:
            result.extra["plan"] = run_plan.report(board)
        result.test_f1_micro = _demo_score(run.comp, result.submission)
        write_json(out / "run.json", {**json.loads((out / "run.json").read_text()), "seconds": round(result.seconds, 1),
                                      "scores": scores, "test_f1_micro": result.test_f1_micro})
        return result


def _write_resolved_config(out: Path, cfg: dict, names, budget=None):
    import tomli_w

    resolved = copy.deepcopy(cfg)
    resolved["run"] = {**cfg.get("run", {}), "models": list(names)}  # replaying the file trains the same models
    if budget is not None:  # the limit in force (--time-limit wins over the config's)
        resolved["run"]["time_limit"] = f"{budget.limit:g}s"
    else:
        resolved["run"].pop("time_limit", None)
    write_text(out / "config.resolved.toml", tomli_w.dumps(_tomlable(resolved)))


def _tomlable(value):
    if isinstance(value, dict):
        return {str(k): _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_tomlable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def demo(out, echo=say, n_per_class: int = 60, n_test: int = 240, config=None, **build_options) -> RunResult:
    """Generate a synthetic 8-topic competition and run the whole pipeline on it (with ``config``, a
    config resolved over the built-in ``demo`` one, or that config itself)."""
    from .checks import check_output_folder
    from .generate import make_demo_competition

    out = check_output_folder(out, "run", "Run folder")
    data = out / "demo-data"
    if not (data / "train.csv").is_file():
        echo(f"Generating a synthetic competition in {data}")
        make_demo_competition(data, n_per_class=n_per_class, n_test=n_test, seed=0)
    return build(data, out, config=config, base_config=builtin_config("demo"), echo=echo, **build_options)


def _as_label(text: str, schema):
    """A class as text (a JSON key) back in the schema's form."""
    return int(text) if schema.label_kind == "int" else text


def summary(result: RunResult) -> str:
    board = result.leaderboard[[c for c in result.leaderboard.columns if not str(c).startswith(PER_CLASS)]]
    lines = ["", "Leaderboard (out-of-fold, same folds for every model; per-class F1 in leaderboard.csv):",
             board.to_string(index=False), ""]
    if "plan" in result.extra:
        lines += [result.extra["plan"], ""]
    if result.test_f1_micro is not None:
        lines.append(f"Demo test F1-micro (hidden labels): {result.test_f1_micro:.4f}")
    lines += [f"Submission: {result.submission}", f"Model:      {result.model_dir}",
              f"Report:     {result.out / 'report'} (out-of-fold probabilities in {result.out / OOF_DIR})",
              f"Logs:       tensorboard --logdir {result.out / 'logs'}",
              f"Finished in {result.seconds / 60:.1f} min."]
    return "\n".join(lines)
