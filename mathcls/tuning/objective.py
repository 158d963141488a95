"""The tuning objective: mean F1-micro over the shared folds, with pruning and a deadline.

:class:`CVObjective` holds the data and the folds. For each trial it samples the parameters from
the search space, clones the estimator, applies them with ``set_params`` and fits one clone per
fold. After every fold it reports the running mean to the trial (the pruner may stop it) and checks
the worker's deadline; estimators that take ``callbacks`` (the transformer) also get
:class:`PruningCallback` and :class:`DeadlineCallback`, which do the same after every epoch on the
validation F1. Per-fold scores and fit seconds go into the trial's user attributes.
"""

from __future__ import annotations

import gc
import sys
import time

import numpy as np
from sklearn.base import clone
from sklearn.metrics import f1_score

from ..folds import splits_with_extra
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
    """Epoch callback: report ``logs["val_f1_micro"]`` to the trial and prune when told.

    The step is ``fold * stride + epoch``, so each (fold, epoch) is compared with the same
    (fold, epoch) of earlier trials.
    """

    def __init__(self, trial, fold: int, stride: int):
        self.trial = trial
        self.fold = fold
        self.stride = stride

    def on_epoch_end(self, estimator, epoch, logs=None):
        import optuna

        value = (logs or {}).get("val_f1_micro")
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
    """Callable Optuna objective: mean F1-micro of the estimator over fixed folds.

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
        row a copy came from (or -1), see :func:`mathcls.folds.splits_with_extra`.
    deadline : float or None
        ``time.monotonic()`` value after which a running trial stops at its next fold or epoch.
    epoch_stride : int or None
        With estimators that take ``callbacks``, the step stride of per-epoch reports (more than
        the largest number of epochs); ``None`` reports per fold.

    Attributes
    ----------
    current_trial_number : int or None
        The trial being evaluated (so an interrupted trial can be requeued).
    """

    def __init__(self, estimator, space, texts, y, fold, extra_texts=None, extra_y=None, extra_source=None,
                 deadline=None, epoch_stride=None):
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
        self.current_trial_number = None
        self._takes_callbacks = "callbacks" in estimator.get_params(deep=False)

    def _check_deadline(self, trial, where):
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise DeadlineReached(trial.number, where)

    def __call__(self, trial) -> float:
        import optuna

        self.current_trial_number = trial.number
        params = suggest(trial, self.space)
        trial.set_user_attr("estimator_params", {k: encode_param(v) for k, v in params.items()})
        base = clone(self.estimator).set_params(**params)
        n_folds = int(self.fold.max()) + 1
        scores, seconds = [], []
        for k, (train_idx, valid_idx) in enumerate(splits_with_extra(self.fold, self.extra_source)):
            self._check_deadline(trial, f"before fold {k + 1}")
            est = clone(base)
            per_epoch = self._takes_callbacks and self.epoch_stride is not None
            if self._takes_callbacks:
                callbacks = list(est.get_params(deep=False).get("callbacks") or [])
                callbacks.append(("tune_deadline", DeadlineCallback(self.deadline, trial.number)))
                if per_epoch:
                    callbacks.append(("tune_pruning", PruningCallback(trial, k, self.epoch_stride)))
                est.set_params(callbacks=callbacks)
            try:
                t0 = time.perf_counter()
                est.fit(list(self.texts[train_idx]), self.y[train_idx])
                seconds.append(round(time.perf_counter() - t0, 3))
                pred = est.predict(list(self.texts[valid_idx]))
                scores.append(float(f1_score(self.y[valid_idx], pred, average="micro")))
            finally:
                del est
                free_memory()
            trial.set_user_attr("fold_scores", scores)
            trial.set_user_attr("fit_seconds", seconds)
            if not per_epoch:
                trial.report(float(np.mean(scores)), k)
                if k < n_folds - 1 and trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after fold {k + 1} (mean F1-micro {np.mean(scores):.4f})")
        return float(np.mean(scores))
