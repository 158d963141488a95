"""``mathcls stack`` and ``mathcls run``: competition folder in, submission out.

Stages of ``run`` (each writes a marker in ``<out>/state.json``; a rerun skips finished stages,
and base models resume fold by fold from ``<out>/cache``):

1. ``generate`` (with ``--use-generation``): procedural + augmented rows into ``<out>/generated``
2. ``tune:<name>``: an Optuna study per enabled model whose config gives ``tune.n_trials`` > 0
3. ``stack``: out-of-fold training of every base model on the shared folds, LightGBM meta-learner,
   bias tuning; the ensemble is saved to ``<out>/model``
4. ``predict``: ``submission.csv``, ``test_proba.csv``, ``leaderboard.csv`` and a summary

With a time limit (``--time-limit`` or ``[run] time_limit``), :mod:`mathcls.plan` probes the machine
and plans before stage 2, and stage 3 first trains the base models one at a time by priority within
the budget; the stack is then built from the models that finished all their folds.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import write_text
from .config import DEFAULT_SEED, load_config, merge, model_params, package_versions, write_json
from .data import ID, LABEL, TEXT, load_competition
from .errors import MathclsError
from .folds import load_or_make_folds
from .persist import decode_param, encode_param

#: Used when no --config is given: the same as experiments/cpu.toml, planned to its 60-minute limit.
DEFAULT_CONFIG: dict = {
    "seed": DEFAULT_SEED,
    "cv": 4,
    "run": {"time_limit": "60m"},
    "models": {
        "tfidf": {"family": "tfidf", "enabled": True, "priority": 1,
                  "params": {"C": 50.5, "char_ngram_range": (2, 6), "min_df": 1, "class_weight": "balanced",
                             "char_max_features": 200000}},
        "embed": {"family": "setfit", "enabled": True, "priority": 2, "params": {"body_epochs": 0, "max_length": 256},
                  "budget": {"max_length": [128, 256]}},
        "transformer": {"family": "transformer", "enabled": True, "priority": 3,
                        "params": {"epochs": 2, "max_length": 128, "validation_fraction": 0.0},
                        "budget": {"epochs": [1, 2], "max_length": [128]}},
        "transformer2": {"family": "transformer", "enabled": True, "priority": 4,
                         "params": {"epochs": 2, "max_length": 256, "seed": 1, "validation_fraction": 0.0},
                         "budget": {"epochs": [1, 2], "max_length": [128, 256]}},
    },
    "stack": {"test_strategy": "fold-average", "bias_tuning": True, "extra_features": True, "meta_n_trials": 10,
              "pseudo_label": []},
    "generation": {"per_class": 200, "balance": False, "augment_per_row": 0},
}

#: ``mathcls run --demo``: small and fast on a CPU, on a generated data set.
DEMO_CONFIG: dict = {
    "seed": DEFAULT_SEED,
    "cv": 4,
    "models": {
        "tfidf": {"family": "tfidf", "enabled": True, "params": {"min_df": 1}, "tune": {"n_trials": 4}},
        "tfidf_char": {"family": "tfidf", "enabled": True, "params": {"word_ngram_range": "none", "min_df": 1}},
        "embed": {"family": "setfit", "enabled": True, "params": {"body_epochs": 0, "max_length": 64}},
    },
    "stack": {"test_strategy": "fold-average", "bias_tuning": True, "extra_features": True, "meta_n_trials": 0,
              "pseudo_label": ["tfidf_char"]},
}

STAGES = ("generate", "tune", "stack", "predict")


@dataclass
class RunResult:
    out: Path
    leaderboard: pd.DataFrame
    submission: Path | None = None
    model_dir: Path | None = None
    seconds: float = 0.0
    test_f1_micro: float | None = None
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------- config
def resolve_config(config=None, base: dict | None = None) -> dict:
    """Defaults merged with the user's TOML (a path or a dict); checked for unknown families."""
    from .models import MODELS

    user = config if isinstance(config, dict) else load_config(config)
    if user.get("models"):
        # A config that lists models replaces the default model list (and the time limit planned for it).
        cfg = merge({k: v for k, v in (base or DEFAULT_CONFIG).items() if k not in ("models", "run")}, user)
    else:
        cfg = merge(base or DEFAULT_CONFIG, user)
    for name, entry in cfg.get("models", {}).items():
        if not isinstance(entry, dict):
            raise MathclsError(f"[models.{name}] in the config must be a table.")
        family = entry.setdefault("family", name)
        if family not in MODELS or family == "stack":
            raise MathclsError(
                f"[models.{name}] names unknown model family {family!r}; use one of: "
                f"{', '.join(m for m in MODELS if m != 'stack')}."
            )
    return cfg


def enabled_models(cfg: dict, only=None) -> list[str]:
    names = [n for n, e in cfg.get("models", {}).items() if e.get("enabled", True)]
    if only:
        unknown = [m for m in only if m not in cfg.get("models", {})]
        if unknown:
            raise MathclsError(
                f"--models names {unknown[0]!r}, which the config does not define; "
                f"defined: {', '.join(cfg.get('models', {}))}."
            )
        names = list(only)
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


def _plan_run(comp, cfg, names, out, seed, cv, extra, budget, echo):
    """Probe this machine and plan the run's models within the budget (prints the plan)."""
    from .plan.probe import DataShape
    from .plan.runner import make_run_plan

    data = DataShape(comp.train[TEXT].tolist(), comp.train[LABEL].to_numpy(), comp.test[TEXT].tolist(), cv,
                     n_extra=len(extra[0]) if extra else 0, data_hash=comp.data_hash)
    return make_run_plan(cfg, names, data, out, budget, seed=seed, echo=echo)


def _train_within_budget(run_plan, cfg, names, out, tuned, texts, y, fold, extra_rows):
    """Train the base models one at a time, by priority, within the budget. Each fills the fold cache
    the stack reads, so the stack is then built from the finished ones without training again.
    Returns those models (config order) and their parameters with the plan's settings."""
    from sklearn.dummy import DummyClassifier

    from .stacking import StackingEnsemble

    stack_cfg = cfg.get("stack", {})

    def fit_model(name, settings, callbacks):
        est = _build_estimator(name, cfg["models"][name], out, {**tuned.get(name, {}), **settings})
        if "callbacks" in est.get_params(deep=False):
            est.set_params(callbacks=list(est.callbacks or []) + callbacks)
        # A one-model stack with a trivial meta-learner: the base model's folds land in the shared cache.
        alone = StackingEnsemble([(name, est)], final_estimator=DummyClassifier(), meta_init="none",
                                 extra_features=False, bias_tuning=False, cv=int(cfg.get("cv", 5)),
                                 test_strategy=stack_cfg.get("test_strategy", "fold-average"),
                                 cache_dir=str(out / "cache"), random_state=int(cfg.get("seed", DEFAULT_SEED)))
        alone.fit(texts, y, fold=fold, **extra_rows)
        return alone.scores_[name]

    finished = set(run_plan.train(fit_model))
    if not finished:
        why = f"{run_plan.budget.stop_reason} came" if run_plan.budget.stop_reason else "The time limit ran out"
        raise MathclsError(f"{why} before any model finished all its folds; rerun with a larger --time-limit "
                           f"(finished folds are cached and resume).")
    kept = [name for name in names if name in finished]
    return kept, {**tuned, **{name: {**tuned.get(name, {}), **run_plan.settings(name)} for name in kept}}


# ---------------------------------------------------------------------------------------- state
class RunState:
    """Finished stages of a run, in ``<out>/state.json``."""

    def __init__(self, out: Path, key: str):
        self.path = out / "state.json"
        self.key = key
        self.done: dict = {}
        if self.path.is_file():
            try:
                saved = json.loads(self.path.read_text())
                if saved.get("key") == key:
                    self.done = saved.get("done", {})
            except json.JSONDecodeError:
                pass

    def finished(self, stage: str):
        return self.done.get(stage)

    def mark(self, stage: str, info=None):
        self.done[stage] = info if info is not None else True
        write_json(self.path, {"key": self.key, "done": self.done})


# ---------------------------------------------------------------------------------------- stages
def _generation_stage(comp, cfg, out: Path, seed: int, echo) -> Path:
    from .generate import build_generated

    gen_cfg = cfg.get("generation", {})
    folder = out / "generated"
    per_class = int(gen_cfg.get("per_class", 0) or 0)
    balance = bool(gen_cfg.get("balance", False))
    build_generated(folder, procedural=bool(per_class) or balance, per_class=per_class or None, balance=balance,
                    augment_per_row=int(gen_cfg.get("augment_per_row", 0) or 0), data_dir=comp.root, seed=seed,
                    echo=echo)
    return folder


def _load_extra(comp, generated_dir):
    from .generation_data import SOURCE, load_generated

    gen = load_generated(generated_dir, train_sha256=comp.train_sha256, n_train=len(comp.train))
    return gen[TEXT].tolist(), gen[LABEL].to_numpy(), gen[SOURCE].to_numpy()


def _tune_stage(comp, cfg, name, entry, out: Path, seed, cv, use_generation, generated_dir, echo) -> dict | None:
    from .tuning.run import tune

    settings = entry.get("tune", {})
    n_trials = int(settings.get("n_trials", 0) or 0)
    if n_trials <= 0:
        return None
    family = entry["family"]
    # [models.<name>.tune]: n_trials/timeout are the run's budget; the rest (space, pruner) goes to tune().
    section = {k: v for k, v in entry.items() if k not in ("family", "enabled")}
    section["tune"] = {k: v for k, v in settings.items() if k not in ("n_trials", "timeout")}
    sub_cfg = {"models": {family: section}}
    tune_out = out / "tune" / name
    echo(f"Tuning {name} ({family}): {n_trials} trials" + (f", {settings['timeout']} s" if settings.get("timeout") else ""))
    result = tune(family, comp.root, tune_out, n_trials=n_trials, timeout=settings.get("timeout") or None,
                  cv=cv, config=sub_cfg, use_generation=use_generation, generated_dir=generated_dir, seed=seed,
                  echo=echo, progress=False)
    best = tune_out / "best_params.json"
    if not best.is_file():
        return None
    from .training import read_params_file

    echo(f"  best {name}: CV {getattr(result, 'best_value', float('nan')):.4f}")
    return read_params_file(best, family)


def _ensemble(cfg, names, out, tuned):
    from .stacking import StackingEnsemble, name_list

    estimators = [(name, _build_estimator(name, cfg["models"][name], out, tuned.get(name))) for name in names]
    stack_cfg = dict(cfg.get("stack", {}))
    if "pseudo_label" in stack_cfg:
        pseudo = name_list(stack_cfg["pseudo_label"])
        unknown = [name for name in pseudo if name not in cfg["models"]]
        if unknown:
            raise MathclsError(f"[stack] pseudo_label names {unknown[0]!r}, which the config does not define; "
                               f"defined: {', '.join(cfg['models'])}.")
        # Only the models of this run: `--models` may have left a pseudo-labelled one out.
        stack_cfg["pseudo_label"] = [name for name in pseudo if name in names]
    return StackingEnsemble(estimators=estimators, cv=int(cfg.get("cv", 5)), cache_dir=str(out / "cache"),
                            random_state=int(cfg.get("seed", DEFAULT_SEED)), verbose=True, **stack_cfg)


def _leaderboard(stack, test_rows_per_s: float | None) -> pd.DataFrame:
    rows = []
    for name, s in stack.scores_.items():
        rows.append({"model": name, "oof_f1_micro": round(s["f1_micro"], 4), "oof_f1_macro": round(s["f1_macro"], 4),
                     "fit_seconds": s["fit_seconds"],
                     "predict_rows_per_s": test_rows_per_s if name == "stack" else s.get("predict_rows_per_s")})
    return pd.DataFrame(rows).sort_values("oof_f1_micro", ascending=False).reset_index(drop=True)


def _tensorboard(out: Path, board: pd.DataFrame):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return
    writer = SummaryWriter(log_dir=str(out / "logs" / "stack"))
    for _, row in board.iterrows():
        writer.add_scalar(f"oof_f1_micro/{row['model']}", row["oof_f1_micro"], 0)
        writer.add_scalar(f"oof_f1_macro/{row['model']}", row["oof_f1_macro"], 0)
    writer.add_text("leaderboard", "    " + board.to_string(index=False).replace("\n", "\n    "))
    writer.close()


def build(data_dir, out, config=None, models=None, params_from=None, use_generation=False, generated_dir=None,
          tune_models=True, base_config=None, time_limit=None, budget=None, echo=print) -> RunResult:
    """Tune (optionally), stack and predict. ``mathcls run`` and ``mathcls stack`` both call this.

    ``time_limit`` (``"45m"``; ``"none"`` for no limit) overrides the config's ``[run] time_limit``;
    ``budget`` (a started :class:`mathcls.plan.Budget`) overrides both.
    """
    from .persist import save_model
    from .submission import make_submission, validate_submission, write_csv_atomic

    t_start = time.perf_counter()
    out = Path(out)
    cfg = resolve_config(config, base_config)
    names = enabled_models(cfg, models)
    seed, cv = int(cfg.get("seed", DEFAULT_SEED)), int(cfg.get("cv", 5))
    budget = budget if budget is not None else _time_budget(cfg, time_limit)
    # Reject bad model or stack parameters before any data is read or anything is written.
    _ensemble(cfg, names, out, {})._validate_params()
    if params_from and not Path(params_from).is_dir():
        raise MathclsError(f"--params-from folder {params_from} does not exist; pass the folder `mathcls tune` wrote into.")
    comp = load_competition(data_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = RunState(out, f"{comp.data_hash}-{seed}-{cv}")
    write_json(out / "run.json", {"data_dir": str(comp.root), "train_sha256": comp.train_sha256, "seed": seed,
                                  "cv": cv, "models": names, "use_generation": use_generation,
                                  "versions": package_versions()})
    _write_resolved_config(out, cfg, names, budget)

    extra = None
    if use_generation:
        if generated_dir is None:
            if not state.finished("generate"):
                echo("Stage generate: procedural and augmented rows")
                _generation_stage(comp, cfg, out, seed, echo)
                state.mark("generate")
            generated_dir = out / "generated"
        extra = _load_extra(comp, generated_dir)
        echo(f"Using {len(extra[0])} generated rows in the training folds.")

    run_plan = _plan_run(comp, cfg, names, out, seed, cv, extra, budget, echo) if budget is not None else None
    tune_cfg = run_plan.tuning_config(cfg) if run_plan is not None else cfg
    tuned = {}
    for name in names:
        entry = cfg["models"][name]
        if params_from:
            best = find_best_params(params_from, name, entry["family"])
            if best:
                tuned[name] = best
                echo(f"{name}: parameters from {params_from}: {best}")
        if tune_models and entry.get("tune", {}).get("n_trials"):
            stage = f"tune:{name}"
            done = state.finished(stage)
            if done is None and not tune_cfg["models"][name]["tune"].get("n_trials"):
                best = None  # the time limit leaves no room for this study; a later run may tune
            elif done is None:
                best = _tune_stage(comp, tune_cfg, name, tune_cfg["models"][name], out, seed, cv, use_generation,
                                   generated_dir, echo)
                state.mark(stage, {k: encode_param(v) for k, v in (best or {}).items()})
            else:
                best = {k: decode_param(v) for k, v in done.items()} or None
                echo(f"{name}: tuned parameters from the earlier run: {best}")
            if best:
                tuned[name] = best
    if run_plan is not None:  # tuned parameters cost what they cost: price them again
        for name, best in tuned.items():
            run_plan.use_params(name, best)

    texts = comp.train[TEXT].tolist()
    y = comp.train[LABEL].to_numpy()
    fold = load_or_make_folds(out, y, cv, seed, comp.data_hash)
    extra_rows = dict(zip(("extra_X", "extra_y", "extra_source"), extra)) if extra else {}
    if run_plan is not None:
        names, tuned = _train_within_budget(run_plan, cfg, names, out, tuned, texts, y, fold, extra_rows)
    echo(f"Stage stack: {len(names)} base model(s) × {cv} folds on {len(texts)} rows")
    stack = _ensemble(run_plan.stack_config(cfg) if run_plan is not None else cfg, names, out, tuned)
    test_texts = comp.test[TEXT].tolist()
    stack.fit(texts, y, fold=fold, unlabeled_X=test_texts, **extra_rows)
    model_dir = save_model(stack, out / "model", train_sha256=comp.train_sha256,
                           extra={"cv_f1_micro": stack.scores_["stack"]["f1_micro"], "data_dir": str(comp.root)})
    state.mark("stack", {k: v["f1_micro"] for k, v in stack.scores_.items()})

    echo(f"Stage predict: {len(comp.test)} test rows")
    t0 = time.perf_counter()
    proba = stack.predict_proba(test_texts)
    # fit already predicted the test rows with every base model and timed that; use its figure.
    rows_per_s = (stack.scores_["stack"].get("predict_rows_per_s")
                  or round(len(comp.test) / max(time.perf_counter() - t0, 1e-9), 1))
    labels = stack.classes_[proba.argmax(1)]
    sub = make_submission(comp.test[ID], labels)
    sample_ids = comp.sample_submission[ID] if comp.sample_submission is not None else None
    validate_submission(sub, comp.test[ID], sample_ids)
    from .prediction import proba_frame

    write_csv_atomic(proba_frame(comp.test[ID], proba, stack.classes_), out / "test_proba.csv")
    submission = write_csv_atomic(sub, out / "submission.csv")
    board = _leaderboard(stack, rows_per_s)
    if run_plan is not None:  # planned vs actual seconds, and the models that did not finish
        board = run_plan.leaderboard(board)
    write_csv_atomic(board, out / "leaderboard.csv")
    _tensorboard(out, board)
    result = RunResult(out, board, submission, model_dir, time.perf_counter() - t_start)
    if run_plan is not None:
        result.extra["plan"] = run_plan.report(board)
    labels_file = Path(comp.root) / "test_labels.csv"  # present in demo data sets
    if labels_file.is_file():
        truth = pd.read_csv(labels_file, dtype={ID: str})
        merged = sub.merge(truth, on=ID, suffixes=("", "_true"))
        result.test_f1_micro = float((merged[LABEL].astype(int) == merged[f"{LABEL}_true"].astype(int)).mean())
    state.mark("predict", {"seconds": round(result.seconds, 1)})
    write_json(out / "run.json", {**json.loads((out / "run.json").read_text()), "seconds": round(result.seconds, 1),
                                  "scores": stack.scores_, "test_f1_micro": result.test_f1_micro})
    return result


def _write_resolved_config(out: Path, cfg: dict, names, budget=None):
    import tomli_w

    resolved = copy.deepcopy(cfg)
    resolved["run"] = {**resolved.get("run", {}), "models": list(names)}
    if budget is not None:
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


def demo(out, echo=print, n_per_class: int = 60, n_test: int = 240, **build_options) -> RunResult:
    """Generate a synthetic 8-topic competition and run the whole pipeline on it."""
    from .generate import make_demo_competition

    out = Path(out)
    data = out / "demo-data"
    if not (data / "train.csv").is_file():
        echo(f"Generating a synthetic competition in {data}")
        make_demo_competition(data, n_per_class=n_per_class, n_test=n_test, seed=0)
    return build(data, out, config=None, base_config=DEMO_CONFIG, echo=echo, **build_options)


def summary(result: RunResult) -> str:
    lines = ["", "Leaderboard (out-of-fold, same folds for every model):",
             result.leaderboard.to_string(index=False), ""]
    if "plan" in result.extra:
        lines += [result.extra["plan"], ""]
    if result.test_f1_micro is not None:
        lines.append(f"Demo test F1-micro (hidden labels): {result.test_f1_micro:.4f}")
    lines += [f"Submission: {result.submission}", f"Model:      {result.model_dir}",
              f"Logs:       tensorboard --logdir {result.out / 'logs'}",
              f"Finished in {result.seconds / 60:.1f} min."]
    return "\n".join(lines)
