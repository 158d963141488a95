"""The tuning objective: the mean of a metric (F1-micro by default, see :mod:`mathcls.metrics`) over
the shared folds, with pruning and a deadline. The study maximises; a metric where lower is better
(log-loss) is negated.

:class:`CVObjective` holds the data and the folds. For each trial it samples the parameters from
the search space, clones the estimator, applies them with ``set_params`` and gets its out-of-fold
predictions from :func:`mathcls.oof.out_of_fold_proba` (one clone per fold), with :class:`_TrialFolds`
as the fold hook: before each fold it checks the worker's deadline, after each fold it reports the
running mean to the trial (the pruner may stop it). Estimators that take ``callbacks`` (the
transformer) also get :class:`PruningCallback` and :class:`DeadlineCallback`, which do the same after
every epoch on the validation F1. Per-fold scores and fit seconds go into the trial's user attributes.
"""

from __future__ import annotations

import gc
import sys
import time

import numpy as np
from sklearn.base import clone

from ..folds import SharedFolds
from ..oof import FoldHook, out_of_fold_proba
from ..persist import encode_param
from .spaces import suggest


class DeadlineReached(Exception):
    """The worker's ``--timeout`` ran out while a trial was running; the trial is stopped."""

    def __init__(self, trial_number: int | None = None, where: str = ""):
        self.trial_number = trial_number
        super().__init__(f"time budget ran out during trial {trial_number}{' ' + where if where else ''}")


def free_memory() -> None:
    """Collect garbage and, when torch is already loaded, empty the CUDA cache."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # pragma: no cover - depends on the device
            pass


class PruningCallback:
    """Epoch callback: report ``logs[key]`` (``val_f1_micro``) to the trial and prune when told.

    The step is ``fold * stride + epoch``, so each (fold, epoch) is compared with the same
    (fold, epoch) of earlier trials.
    """

    def __init__(self, trial, fold: int, stride: int, key: str = "val_f1_micro"):
        self.trial = trial
        self.fold = fold
        self.stride = stride
        self.key = key

    def on_epoch_end(self, estimator, epoch, logs=None):
        import optuna

        value = (logs or {}).get(self.key)
        if value is None:
            return
        step = self.fold * self.stride + int(epoch)
        self.trial.report(float(value), step)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at fold {self.fold + 1}, epoch {epoch} (validation F1 {value:.4f})")


class DeadlineCallback:
    """Batch and epoch callback: stop the fit when the worker's deadline has passed."""

    def __init__(self, deadline: float | None, trial_number: int | None = None):
        self.deadline = deadline
        self.trial_number = trial_number

    def on_batch_end(self, estimator, step, logs=None):
        # Checked per batch too: an epoch of a transformer on a CPU can outlast a time budget's slack.
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise DeadlineReached(self.trial_number, "mid-epoch")

    def on_epoch_end(self, estimator, epoch, logs=None):
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise DeadlineReached(self.trial_number, f"after epoch {epoch}")


class CVObjective:
    """Callable Optuna objective: mean ``metric`` of the estimator over fixed folds (higher is better).

    Parameters
    ----------
    estimator : estimator
        Base estimator (already holding any configured parameters); cloned for every fold.
    space : dict
        Search space (see :mod:`mathcls.tuning.spaces`).
    texts, y : sequence of str, array
        The real training rows.
    fold : array of int
        Fold id of each real row (``mathcls.folds.load_or_make_folds``).
    extra_texts, extra_y, extra_source : optional
        Generated/augmented rows added to training folds only; ``extra_source[j]`` is the real
        row a copy came from (or -1), see :class:`mathcls.folds.SharedFolds`.
    deadline : float or None
        ``time.monotonic()`` value after which a running trial stops at its next fold or epoch.
    epoch_stride : int or None
        With estimators that take ``callbacks``, the step stride of per-epoch reports (more than
        the largest number of epochs); ``None`` reports per fold.
    metric : str, default "f1_micro"
        A metric of :mod:`mathcls.metrics`; one where lower is better is negated.

    Attributes
    ----------
    current_trial_number : int or None
        The trial being evaluated (so an interrupted trial can be requeued).
    """

    def __init__(self, estimator, space, texts, y, fold, extra_texts=None, extra_y=None, extra_source=None,
                 deadline=None, epoch_stride=None, metric="f1_micro"):
        self.estimator = estimator
        self.space = space
        self.texts = np.asarray(list(texts) + list(extra_texts or []), dtype=object)
        y = np.asarray(y)
        self.y = np.concatenate([y, np.asarray(extra_y if extra_y is not None else [], dtype=y.dtype)])
        self.fold = np.asarray(fold)
        self.extra_source = None if extra_texts is None else np.asarray(
            extra_source if extra_source is not None else [-1] * len(extra_texts), dtype=np.int64)
        self.deadline = deadline
        self.epoch_stride = epoch_stride
        self.metric = metric
        self.current_trial_number = None
        self._takes_callbacks = "callbacks" in estimator.get_params(deep=False)

    def __call__(self, trial) -> float:
        self.current_trial_number = trial.number
        params = suggest(trial, self.space)
        trial.set_user_attr("estimator_params", {k: encode_param(v) for k, v in params.items()})
        base = clone(self.estimator).set_params(**params)
        hook = _TrialFolds(trial, self.y, int(self.fold.max()) + 1, self.deadline,
                           self.epoch_stride if self._takes_callbacks else None, self._takes_callbacks, self.metric)
        try:
            out_of_fold_proba(base, self.texts, self.y, SharedFolds(self.fold, self.extra_source), hooks=[hook])
        finally:
            free_memory()
        return float(np.mean(hook.scores))


class _TrialFolds(FoldHook):
    """Per fold of a trial: deadline check and callbacks before fitting; score, report, prune after."""

    def __init__(self, trial, y, n_folds, deadline, epoch_stride, takes_callbacks, metric="f1_micro"):
        from ..metrics import get_metric

        self.trial, self.y, self.n_folds, self.metric = trial, y, n_folds, get_metric(metric)
        self.deadline, self.epoch_stride, self.takes_callbacks = deadline, epoch_stride, takes_callbacks
        self.scores, self.seconds = [], []

    def before_fit(self, fold, estimator):
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise DeadlineReached(self.trial.number, f"before fold {fold + 1}")
        if self.takes_callbacks:
            callbacks = list(estimator.get_params(deep=False).get("callbacks") or [])
            callbacks.append(("tune_deadline", DeadlineCallback(self.deadline, self.trial.number)))
            if self.epoch_stride is not None:
                key = "val_f1_macro" if self.metric.name == "f1_macro" else "val_f1_micro"
                callbacks.append(("tune_pruning", PruningCallback(self.trial, fold, self.epoch_stride, key)))
            estimator.set_params(callbacks=callbacks)
        return estimator

    def after_fold(self, result):
        import optuna

        free_memory()  # the fold's model is already dropped
        score = result.score(self.y, self.metric.name)
        self.scores.append(score if self.metric.greater_is_better else -score)
        self.seconds.append(round(result.fit_seconds, 3))
        self.trial.set_user_attr("fold_scores", self.scores)
        self.trial.set_user_attr("fit_seconds", self.seconds)
        if self.epoch_stride is None:  # no per-epoch reports: report per fold
            k, mean = result.fold, float(np.mean(self.scores))
            self.trial.report(mean, k)
            if k < self.n_folds - 1 and self.trial.should_prune():
                raise optuna.TrialPruned(f"pruned after fold {k + 1} (mean {self.metric.title} {abs(mean):.4f})")
