"""Training callbacks: small objects with ``on_*`` hooks that the neural estimators call while they train.

The protocol (skorch's and Hugging Face's ``TrainerCallback`` in spirit). A callback defines any of

- ``on_train_begin(estimator)``
- ``on_epoch_begin(estimator, epoch, n_batches)``
- ``on_batch_end(estimator, step, logs)``: ``logs`` holds ``examples`` (rows in the batch), ``epoch``,
  ``batch`` and, for the transformer, ``loss``, ``learning_rate`` and ``optimizer_step``
- ``on_epoch_end(estimator, epoch, logs)``: ``logs`` holds ``epoch``, ``step``, ``loss``,
  ``learning_rate``, ``seconds``, ``examples_per_second`` and, with a validation split,
  ``val_f1_micro`` and ``val_f1_macro``
- ``on_train_end(estimator)``: also called when training ends in an exception, so bars and files close

and may set its attribute ``should_stop = True`` to end training after the current epoch. An
exception raised in a hook stops training and propagates out of ``fit`` (``optuna.TrialPruned``).

An estimator builds its built-in callbacks from its parameters (``progress_bar``, ``logging_dir``,
``early_stopping``, ``output_dir``) and merges the user's ``callbacks=[(name, obj)]`` into them by
name (:func:`merge_callbacks`): the same name replaces a built-in, ``(name, None)`` removes it, new
names run after the built-ins.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ..logs import quiet


class Callback:
    """A callback whose hooks do nothing: subclass it and override the hooks you need."""

    should_stop = False

    def on_train_begin(self, estimator):
        pass

    def on_epoch_begin(self, estimator, epoch, n_batches):
        pass

    def on_batch_end(self, estimator, step, logs):
        pass

    def on_epoch_end(self, estimator, epoch, logs):
        pass

    def on_train_end(self, estimator):
        pass


def _write(line: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(line)  # above any progress bar instead of through it


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running loss, and one summary line per epoch."""

    def __init__(self):
        self._bar = None

    def on_epoch_begin(self, estimator, epoch, n_batches):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=n_batches, desc=f"epoch {epoch}/{getattr(estimator, 'epochs', '?')}", unit="batch",
                         leave=False, disable=quiet())

    def on_batch_end(self, estimator, step, logs):
        if self._bar is not None:
            self._bar.update(1)
            if "loss" in logs:
                self._bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, estimator, epoch, logs):
        self.on_train_end(estimator)
        parts = [f"epoch {epoch}/{getattr(estimator, 'epochs', '?')}", f"loss {logs['loss']:.4f}"]
        if "val_f1_micro" in logs:
            parts.append(f"val F1-micro {logs['val_f1_micro']:.4f}")
        parts.append(f"{logs['examples_per_second']:.1f} examples/s")
        _write(" · ".join(parts))

    def on_train_end(self, estimator):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class PrintSpeed(Callback):
    """Say what runs: at the start one line with the device, the precision actually used and why,
    and the CPU threads; then the training speed, measured over ``after_batches`` batches after the
    first (or over the first epoch when it is shorter).

    Reads the estimator's ``device_``, ``mixed_precision_`` and ``precision_reason_``.
    """

    def __init__(self, after_batches: int = 20, unit: str = "examples"):
        self.after_batches = after_batches
        self.unit = unit

    def on_train_begin(self, estimator):
        import torch

        from ._hf import precision_name

        device = str(getattr(estimator, "device_", "cpu"))
        if device.startswith("cuda") and torch.cuda.is_available():
            device = f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
        precision = precision_name(getattr(estimator, "mixed_precision_", "no"))
        reason = getattr(estimator, "precision_reason_", None)
        _write(f"Training on {device}, {precision}{f' ({reason})' if reason else ''}, "
               f"{torch.get_num_threads()} CPU threads.")
        self._batches, self._examples, self._t0, self._done = 0, 0, None, False

    def on_batch_end(self, estimator, step, logs):
        if self._done:
            return
        self._batches += 1
        if self._batches == 1:  # the first batch pays for warm-up; time the ones after it
            self._t0 = time.perf_counter()
            return
        self._examples += int(logs.get("examples", 0))
        if self._batches > self.after_batches:
            self._report(self._examples / max(time.perf_counter() - self._t0, 1e-9), f"batches 2-{self._batches}")

    def on_epoch_end(self, estimator, epoch, logs):
        if not self._done and "examples_per_second" in logs:
            self._report(logs["examples_per_second"], f"epoch {epoch}")

    def _report(self, rate: float, over: str) -> None:
        self._done = True
        _write(f"Speed: {rate:.1f} {self.unit}/s ({over}).")


class TensorBoardLogger(Callback):
    """Loss and learning rate every ``every`` optimiser steps, and the epoch logs (validation F1),
    written to ``log_dir`` for ``tensorboard --logdir``."""

    def __init__(self, log_dir, every: int = 10):
        self.log_dir = Path(log_dir)
        self.every = every
        self._writer = None

    def on_train_begin(self, estimator):
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(log_dir=str(self.log_dir))

    def on_batch_end(self, estimator, step, logs):
        if self._writer is not None and logs.get("optimizer_step") and "loss" in logs and step % self.every == 0:
            self._writer.add_scalar("train/loss", logs["loss"], step)
            self._writer.add_scalar("train/learning_rate", logs["learning_rate"], step)

    def on_epoch_end(self, estimator, epoch, logs):
        if self._writer is None:
            return
        self._writer.add_scalar("epoch/loss", logs["loss"], epoch)
        self._writer.add_scalar("epoch/learning_rate", logs["learning_rate"], epoch)
        for key in ("val_f1_micro", "val_f1_macro"):
            if key in logs:
                self._writer.add_scalar(f"val/{key[4:]}", logs[key], epoch)
        self._writer.flush()

    def on_train_end(self, estimator):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class EarlyStopping(Callback):
    """Stop when ``monitor`` (in the epoch logs) has not improved for ``patience`` epochs and, with
    ``restore_best_weights``, put back the weights of the best epoch (``estimator.best_epoch_``).

    Epochs whose logs lack ``monitor`` (no validation split) are ignored.
    """

    def __init__(self, monitor: str = "val_f1_micro", patience: int = 1, restore_best_weights: bool = True):
        self.monitor = monitor
        self.patience = patience
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, estimator):
        self.should_stop = False
        self.best, self.best_epoch, self.stale, self._state = None, None, 0, None

    def on_epoch_end(self, estimator, epoch, logs):
        score = logs.get(self.monitor)
        if score is None:
            return
        if self.best is None or score > self.best:
            self.best, self.best_epoch, self.stale = score, epoch, 0
            # the weights of a last epoch that is also the best are the ones training ends with
            if self.restore_best_weights and epoch < getattr(estimator, "epochs", epoch + 1):
                self._state = {k: v.detach().to("cpu", copy=True) for k, v in estimator.model_.state_dict().items()}
        else:
            self.stale += 1
            self.should_stop = self.stale >= self.patience

    def on_train_end(self, estimator):
        if self._state is not None and self.best_epoch != len(estimator.history_):
            estimator.model_.load_state_dict(self._state)
            estimator.best_epoch_ = self.best_epoch
        self._state = None


class Checkpointing(Callback):
    """After each epoch, save the estimator as a model folder ``<output_dir>/checkpoint-<step>`` and
    keep only the newest ``save_total_limit`` of this fit (``estimator.checkpoints_``)."""

    def __init__(self, output_dir, save_total_limit: int | None = None):
        self.output_dir = Path(output_dir)
        self.save_total_limit = save_total_limit

    def on_train_begin(self, estimator):
        estimator.checkpoints_ = []

    def on_epoch_end(self, estimator, epoch, logs):
        from ..persist import save_model

        step = estimator.global_step_
        model = estimator.model_
        was_training = model.training
        model.eval()
        path = save_model(estimator, self.output_dir / f"checkpoint-{step}", extra={
            "checkpoint": True, "epoch": epoch, "step": step, "history": estimator.history_})
        model.train(was_training)
        estimator.checkpoints_.append(path)
        while self.save_total_limit and len(estimator.checkpoints_) > self.save_total_limit:
            shutil.rmtree(estimator.checkpoints_.pop(0), ignore_errors=True)


def merge_callbacks(built_in, user) -> list[tuple[str, object]]:
    """Built-in ``(name, callback)`` pairs with the user's merged in by name (see the module docstring)."""
    merged = dict(built_in)
    for name, callback in user or []:
        merged.pop(name, None)  # a replacement runs where the user put it, after the built-ins
        merged[name] = callback
    return [(name, cb) for name, cb in merged.items() if cb is not None]


class CallbackMixin:
    """The callback protocol of the neural estimators: one place that merges, calls and stops.

    A family implements ``_default_callbacks()`` (its built-ins, from its parameters), calls
    ``_begin_callbacks()`` when training starts, ``_notify(event, ...)`` at each event, checks
    ``_should_stop()`` after each epoch and calls ``_end_callbacks()`` at the end, also when training
    fails (``_end_callbacks(failed=True)``).
    ``callbacks_`` holds the callbacks of the last fit.
    """

    def _default_callbacks(self) -> list[tuple[str, object]]:
        return []

    def _begin_callbacks(self) -> None:
        self.callbacks_ = merge_callbacks(self._default_callbacks(), self.callbacks)
        for _, cb in self.callbacks_:
            if getattr(cb, "should_stop", False):
                cb.should_stop = False  # left over from an earlier fit
        self._notify("on_train_begin")

    def _notify(self, event: str, *args) -> None:
        for _, cb in getattr(self, "callbacks_", []):
            hook = getattr(cb, event, None)
            if hook is not None:
                hook(self, *args)

    def _should_stop(self) -> bool:
        return any(getattr(cb, "should_stop", False) for _, cb in getattr(self, "callbacks_", []))

    def _end_callbacks(self, failed: bool = False) -> None:
        """``on_train_end`` for every callback; when training ``failed``, errors here are swallowed so
        that the exception that stopped training is the one reported."""
        if not failed:
            self._notify("on_train_end")
            return
        for _, cb in getattr(self, "callbacks_", []):
            hook = getattr(cb, "on_train_end", None)
            if hook is not None:
                try:
                    hook(self)
                except Exception:  # noqa: BLE001
                    pass
