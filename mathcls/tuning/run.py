"""``tune()``: one worker of an Optuna study for one estimator family.

Any number of workers may run the same command at once against one storage (a journal file on one
machine, PostgreSQL/MySQL across machines); rerunning the command resumes the study. Each worker:

1. checks the model family, the config's parameters and search space, and the data;
2. opens the storage and the study (``load_if_exists``), refusing a study of the same name made
   for another direction, search space, data set, fold count or seed, before writing anything;
3. loads or makes the shared folds (``<out>/folds.json``);
4. runs ``n_trials`` trials (the defaults are queued as the first trial of a new study), printing
   one line per finished trial, until done or until ``timeout`` seconds have passed since it
   started; a trial in flight at the deadline stops at its next fold or epoch and is queued again;
5. writes ``best_params.json``, ``trials.csv`` and the plots from the whole study.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, write_json
from ..config import DEFAULT_SEED, load_config
from ..data import LABEL, SOURCE, TEXT, load_competition
from ..errors import MathclsError
from ..logs import quiet, say
from ..params import model_params
from ..persist import encode_param
from ..submission import write_csv_atomic
from .spaces import (
    decode_trial_params,
    default_trial,
    space_from_config,
    space_signature,
    trial_settings,
    tune_settings,
    valid_params,
)

BEST_PARAMS = "best_params.json"
TRIALS_CSV = "trials.csv"
HISTORY_PNG = "optimization_history.png"
IMPORTANCE_PNG = "param_importances.png"
ATTR_PREFIX = "mathcls:"
MAX_EPOCHS_STRIDE = 1000  # step stride of per-epoch reports: fold * stride + epoch


@dataclass
class TuneResult:
    """What one worker leaves behind.

    Attributes
    ----------
    study_name : str
    storage : str            journal path or URL with the password masked
    best_value : float or None   best mean of the metric in the study (negated for log-loss)
    metric : str             what the study maximises (:mod:`mathcls.metrics`)
    best_params : dict       estimator parameters of the best trial (config params included)
    n_complete : int         COMPLETE trials in the study
    n_run : int              trials this worker finished (any state)
    out : Path
    files : dict             name -> path of best_params.json, trials.csv and plots
    """

    study_name: str
    storage: str
    best_value: float | None
    best_params: dict
    n_complete: int
    n_run: int
    out: Path
    files: dict = field(default_factory=dict)
    dashboard_arg: str = ""
    metric: str = "f1_micro"


def _stderr(message: str) -> None:
    logging.getLogger(__name__).warning(message)


def tune(model: str, data_dir, out, n_trials: int | None = 20, timeout: float | None = None, storage=None,
         study_name: str | None = None, cv: int = 5, config=None, use_generation: bool = False,
         seed: int = DEFAULT_SEED, echo=say, progress: bool = True, warn=_stderr,
         generated_dir=None, choices=None, metric=None, topics=None) -> TuneResult:
    """Run one tuning worker; see the module docstring. Returns a :class:`TuneResult`.

    With ``use_generation``, the rows of ``generated_dir/generated_train.csv`` (see
    :func:`mathcls.generate.store.load_generated`) join the training part of every fold, never
    the validation part; copies of a validation row stay out of that fold's training part.
    ``choices`` (:class:`mathcls.schema.DataChoices`, default the config's ``[data]``) picks the
    columns; ``metric`` (default ``[run] metric``, else the data's default) is what trials maximise.
    """
    t_start = time.monotonic()
    deadline = None if timeout is None else t_start + float(timeout)
    if timeout is not None and timeout <= 0:
        raise MathclsError(f"--timeout must be a positive number of seconds; got {timeout}.")
    if n_trials is not None and n_trials < 0:
        raise MathclsError(f"--n-trials must be 0 or more; got {n_trials}.")

    # 1. everything that can be checked without touching the storage
    from ..families import tunable_family

    family = tunable_family(model)  # unknown or untunable family -> one sentence
    cfg = config if isinstance(config, dict) else load_config(config)
    from ..models import make_model

    base_params = model_params(cfg, model)
    estimator = make_model(model, base_params)
    valid = valid_params(model)
    estimator.set_params(**trial_settings(model, valid))  # no checkpoints or logs from trials
    settings = tune_settings(cfg, model)
    space = space_from_config(model, cfg, valid)
    from ..metrics import default_metric, get_metric
    from ..schema import DataChoices

    comp = load_competition(data_dir, need_test=False, choices=choices or DataChoices.from_config(cfg))
    metric = get_metric(metric or cfg.get("run", {}).get("metric") or default_metric(comp.schema)).name
    echo(comp.schema.describe())
    texts = comp.train[TEXT].tolist()
    y = comp.train[LABEL].to_numpy()
    extra, generation = None, "none"
    if use_generation:
        from ..data import texts_sha256
        from ..generate.store import load_generated

        gen = load_generated(generated_dir, train_sha256=comp.train_sha256, n_train=len(texts), schema=comp.schema,
                             topics=topics or cfg.get("generation", {}).get("topics"))
        extra = (gen[TEXT].tolist(), gen[LABEL].to_numpy(), gen[SOURCE].to_numpy())
        generation = texts_sha256(extra[0], extra[1])[:16]
        echo(f"Adding {len(extra[0])} generated rows to the training folds ({int((extra[2] >= 0).sum())} augmented).")
    from ..folds import make_folds

    fold = make_folds(y, cv, seed)  # in memory first: nothing is written before the study checks pass
    folds_sha = hashlib.sha256(fold.astype(np.int64).tobytes()).hexdigest()[:16]

    # 2. storage and study
    import optuna

    from .storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    opened = open_storage(storage, out)
    if opened.warning:
        warn(opened.warning)
    name = study_name or f"{model}-{comp.data_hash[:8]}"
    attrs = {
        "model": model, "space": space_signature(space), "data_hash": comp.data_hash, "cv": cv, "seed": seed,
        "folds_sha": folds_sha, "generation": generation, "metric": metric,
        "base_params": json.dumps({k: encode_param(v) for k, v in base_params.items()}, sort_keys=True),
    }
    study, created = _open_study(opened.storage, name, attrs, opened.location, seed, settings["pruner"])

    # 3. folds on disk, shared with stacking
    from ..folds import load_or_make_folds

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fold = load_or_make_folds(out, y, cv, seed, comp.data_hash)
    if created:
        first = default_trial(space, estimator.get_params(deep=False))
        if first:
            study.enqueue_trial(first, user_attrs={"note": "defaults"})

    # 4. trials
    from .objective import CVObjective, DeadlineReached

    objective = CVObjective(
        estimator, space, texts, y, fold,
        extra_texts=extra[0] if extra else None, extra_y=extra[1] if extra else None,
        extra_source=extra[2] if extra else None, deadline=deadline,
        # Epochs log F1 only: a probability metric is reported per fold.
        epoch_stride=MAX_EPOCHS_STRIDE if family.epoch_pruned and metric != "log_loss" else None,
        metric=metric,
    )
    worker = f"{os.uname().nodename}:{os.getpid()}"
    reporter = _Reporter(n_trials, echo, progress, worker, space, get_metric(metric).title)
    echo(f"Study {name!r} in {opened.location}: {_count(study, 'COMPLETE')} complete trials so far; "
         f"running {n_trials if n_trials is not None else 'unlimited'} trials"
         f"{f' within {timeout:g}s' if timeout else ''} ({cv} folds, {len(texts)} rows).")

    remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
    interrupted = None
    if n_trials != 0 and (remaining is None or remaining > 0):
        try:
            study.optimize(
                _Tagged(objective, worker), n_trials=n_trials, timeout=remaining, callbacks=[reporter],
                catch=(ValueError, RuntimeError), gc_after_trial=True,
            )
        except DeadlineReached:
            reporter.close()
            _requeue(study, objective.current_trial_number, "the worker's time budget ran out")
            echo(f"Time budget ({timeout:g}s) ran out during trial {objective.current_trial_number}; "
                 "it was stopped and queued again.")
        except KeyboardInterrupt as exc:
            reporter.close()
            _requeue(study, objective.current_trial_number, "the worker was interrupted")
            interrupted = exc
        finally:
            reporter.close()
    n_run = sum(1 for t in study.get_trials(deepcopy=False)
                if t.user_attrs.get("worker") == worker and t.state.is_finished())

    # 5. outputs
    result = write_outputs(study, space, base_params, model, out, cv, comp.data_hash, opened)
    result.n_run = n_run
    result.metric = metric
    if interrupted is not None:
        raise interrupted
    if result.best_value is None:
        raise MathclsError(
            f"No trial of study {name!r} has completed yet"
            f"{f' within --timeout {timeout:g}s' if timeout else ''}; give more time or trials and rerun to resume."
        )
    return result


class _Tagged:
    """Wrap the objective to record which worker ran each trial."""

    def __init__(self, objective, worker: str):
        self.objective = objective
        self.worker = worker

    def __call__(self, trial):
        trial.set_user_attr("worker", self.worker)
        return self.objective(trial)


def _count(study, state: str) -> int:
    import optuna

    return len(study.get_trials(deepcopy=False, states=(getattr(optuna.trial.TrialState, state),)))


def _make_pruner(kind: str):
    import optuna

    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource="auto")
    return optuna.pruners.NopPruner()


def _open_study(storage, name: str, attrs: dict, location: str, seed: int, pruner: str):
    """Load study ``name`` or create it; check direction and the recorded attributes first."""
    import optuna

    created = False
    try:
        summaries = {s.study_name: s for s in optuna.get_all_study_summaries(storage, include_best_trial=False)}
    except Exception as exc:  # a storage that answers nothing sensible
        raise MathclsError(f"Cannot read studies from {location} ({exc}); check the storage.") from None
    existing = summaries.get(name)
    if existing is not None:
        _check_existing(existing, name, attrs, location)
    if existing is None:
        try:
            # The worker that creates the study samples with the seed; joiners sample unseeded so
            # that parallel workers do not propose the same parameters.
            study = optuna.create_study(storage=storage, study_name=name, direction="maximize",
                                        sampler=optuna.samplers.TPESampler(seed=seed, constant_liar=True),
                                        pruner=_make_pruner(pruner))
            created = True
            for key, value in attrs.items():
                study.set_user_attr(ATTR_PREFIX + key, value)
            return study, created
        except optuna.exceptions.DuplicatedStudyError:  # another worker created it just now
            time.sleep(0.5)
            existing = {s.study_name: s for s in optuna.get_all_study_summaries(storage)}.get(name)
            if existing is not None:
                _check_existing(existing, name, attrs, location)
    sampler = optuna.samplers.TPESampler(constant_liar=True)
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=_make_pruner(pruner))
    return study, created


def _check_existing(summary, name: str, attrs: dict, location: str) -> None:
    import optuna

    directions = summary.directions
    if len(directions) != 1 or directions[0] != optuna.study.StudyDirection.MAXIMIZE:
        got = ", ".join(d.name.lower() for d in directions)
        raise MathclsError(
            f"Study {name!r} in {location} exists with direction {got}, not maximize; pass another --study-name."
        )
    stored = {k[len(ATTR_PREFIX):]: v for k, v in summary.user_attrs.items() if k.startswith(ATTR_PREFIX)}
    if not stored:
        if summary.n_trials:
            raise MathclsError(
                f"Study {name!r} in {location} was not made by mathcls tune; pass another --study-name."
            )
        return
    labels = {"model": "model family", "space": "search space", "data_hash": "training data", "cv": "fold count",
              "seed": "seed", "folds_sha": "folds", "generation": "set of generated rows (--use-generation)",
              "base_params": "config parameters", "metric": "metric"}
    for key, label in labels.items():
        if key in stored and stored[key] != attrs[key]:
            raise MathclsError(
                f"Study {name!r} in {location} exists with a different {label}; rerun with the same settings to "
                "resume it, or pass another --study-name."
            )


def _requeue(study, trial_number: int | None, why: str) -> None:
    """Queue again the parameters of a trial that was stopped (it is already marked FAIL)."""
    import warnings

    import optuna

    if trial_number is None:
        return
    for trial in study.get_trials(deepcopy=False):
        if trial.number == trial_number:
            if trial.state != optuna.trial.TrialState.FAIL:
                return
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.RetryHeartbeatStaleTrialCallback()(study, trial)
            return


class _Reporter:
    """Study callback: one line per finished trial and a tqdm progress bar on stderr."""

    def __init__(self, total, echo, progress: bool, worker: str, space: dict, title: str = "F1-micro"):
        self.echo = echo
        self.title = title
        self.worker = worker
        self.space = space
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="trials", unit="trial", file=sys.stderr, leave=False,
                            disable=True if quiet() else None, dynamic_ncols=True)

    def __call__(self, study, trial):
        import optuna

        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds() \
            if trial.datetime_complete and trial.datetime_start else 0.0
        params = decode_trial_params(self.space, trial.params)
        shown = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
        state = trial.state
        if state == optuna.trial.TrialState.COMPLETE:
            try:
                best = study.best_value
            except ValueError:
                best = trial.value
            # a lower-is-better metric is maximised negated; shown as itself
            head = f"Trial {trial.number}: {self.title} {abs(trial.value):.4f} (best {abs(best):.4f})"
        elif state == optuna.trial.TrialState.PRUNED:
            scores = trial.user_attrs.get("fold_scores", [])
            head = f"Trial {trial.number}: pruned after {len(scores)} folds" + (
                f" (mean {np.mean(scores):.4f})" if scores else "")
        else:
            head = f"Trial {trial.number}: {state.name.lower()}"
        line = f"{head} in {seconds:.1f}s; {shown}"
        if self.bar is not None:
            self.bar.clear()
        self.echo(line)
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _short(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value) if isinstance(value, str) else str(value)


def write_outputs(study, space: dict, base_params: dict, model: str, out: Path, cv: int, data_hash: str,
                  opened) -> TuneResult:
    """Write ``best_params.json`` (when a trial completed), ``trials.csv`` and the plots."""
    import optuna

    out = Path(out)
    files = {}
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    best_value, best_params = None, {}
    if complete:
        best = study.best_trial
        best_value = float(best.value)
        best_params = dict(base_params)
        best_params.update(decode_trial_params(space, best.params))
        payload = {
            "model": model,
            "params": {k: encode_param(v) for k, v in best_params.items()},
            "value": best_value,
            "study_name": study.study_name,
            "n_trials": len(complete),
            "cv": cv,
            "data_hash": data_hash,
            "best_trial": best.number,
            "fold_scores": best.user_attrs.get("fold_scores"),
            "storage": opened.location,
        }
        write_json(out / BEST_PARAMS, payload)
        files["best_params"] = out / BEST_PARAMS
    df = study.trials_dataframe()
    if len(df):
        write_csv_atomic(df, out / TRIALS_CSV)
        files["trials"] = out / TRIALS_CSV
    files.update(write_plots(study, out))
    return TuneResult(study.study_name, opened.location, best_value, best_params, len(complete), 0, out, files,
                      opened.dashboard_arg)


def write_plots(study, out: Path) -> dict:
    """Optimisation history and parameter importances as PNG; skipped when there is too little data."""
    import warnings

    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return {}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    files = {}
    jobs = [("history", HISTORY_PNG, ovm.plot_optimization_history)]
    varied = {n for t in complete for n in t.params if len({str(u.params.get(n)) for u in complete}) > 1}
    if len(complete) >= 2 and varied:
        jobs.append(("importances", IMPORTANCE_PNG, ovm.plot_param_importances))
    for key, filename, plot in jobs:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = plot(study)
            fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
            fig.set_size_inches(8, 5)
            fig.tight_layout()
            with atomic_path(out / filename, suffix=".png") as tmp:
                fig.savefig(tmp, dpi=100)
            plt.close(fig)
            files[key] = out / filename
        except (ValueError, RuntimeError, ZeroDivisionError, IndexError):
            plt.close("all")
    return files
