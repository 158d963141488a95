"""The training loop of :class:`~mathcls.models.transformer.TransformerClassifier`.

:func:`setup` chooses device and precision and builds the model; :class:`Trainer` runs the epochs
(``fit`` -> ``_run_epoch`` -> ``_train_step``) and reports to the estimator's callbacks
(:mod:`mathcls.models.callbacks`). It is built for a small CPU first: texts arrive tokenised once,
batches are bucketed by length and padded only to their longest member (``DataCollatorWithPadding``).
Each fit autocasts in its own precision (bf16 on CPUs with native bf16 and on GPUs, fp16 with
gradient scaling on older GPUs); ``accelerate`` supplies gradient accumulation and, under
``accelerate launch``, data-parallel training.

The trainer writes its results on the estimator (``model_``, ``history_``, ``global_step_``,
``train_seconds_``...), where the callbacks read them.
"""

from __future__ import annotations

import math
import time
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from ._hfmodel import layer_depths, training_attention
from .callbacks import Checkpointing, EarlyStopping, PrintSpeed, ProgressBar, TensorBoardLogger
from .validation import Interval

#: The constraint-table entries of the parameters this loop reads (optimiser, schedule, loss, stopping).
TRAINING_CONSTRAINTS = {
    "epochs": [Interval(Integral, 1, None)],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 1, None)],
    "weight_decay": [Interval(Real, 0, None)],
    "warmup_ratio": [Interval(Real, 0, 1)],
    "gradient_accumulation_steps": [Interval(Integral, 1, None)],
    "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
    "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    "layer_decay": [Interval(Real, 0, 1, closed="right"), None],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 0.5, closed="left")],
    "n_iter_no_change": [Interval(Integral, 1, None)],
}


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


def layer_lr_scales(names, decay) -> dict[str, float]:
    """Learning-rate multiplier per parameter name for layer-wise decay: 1 for the head and whatever
    sits above the numbered layers, ``decay ** k`` for the layer ``k`` below the top, and the lowest
    for the embeddings (depths from :func:`layer_depths`); ``decay`` None or 1 is 1 everywhere."""
    if decay is None or float(decay) == 1.0:
        return {name: 1.0 for name in names}
    depth = layer_depths(names)
    top = max((d for d in depth.values() if d is not None), default=0) + 1
    return {name: float(decay) ** (top - (top if d is None else d)) for name, d in depth.items()}


def setup(est, classes) -> None:
    """Choose device and precision, then load tokenizer and pretrained weights and build the head
    (and LoRA adapters, quantisation, checkpointing: see :func:`mathcls.models._hfmodel.build`)."""
    import torch

    from ..embeddings import tokenize  # noqa: F401  (fail early if the cache module is broken)
    from ._hf import choose_precision, make_accelerator, resolve_model, seed_everything, select_device
    from ._hfmodel import build, tokenizer_identity

    seed_everything(est.seed)
    folder = resolve_model(est.model)
    device = select_device(est.device)
    mixed, est.precision_reason_ = choose_precision(est.precision, device, cpu_bf16=True)
    est.accelerator_ = make_accelerator(not device.startswith("cuda"), est.gradient_accumulation_steps)
    est.device_ = torch.device(est.device) if est.device not in (None, "auto") else est.accelerator_.device
    est.mixed_precision_ = mixed
    est.tokenizer_, est.model_ = build(est, folder, classes)
    est.tokenizer_identity_ = tokenizer_identity(folder)
    est.classes_ = classes
    est.history_ = []
    est.checkpoints_ = []
    est.best_epoch_ = None


def validation_split(y_idx, fraction, seed) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, validation) row indices; no validation rows when ``fraction`` is 0 or a
    class is too small to split."""
    n = len(y_idx)
    all_idx = np.arange(n)
    frac = float(fraction or 0)
    if frac <= 0:
        return all_idx, np.empty(0, dtype=int)
    counts = np.bincount(y_idx)
    n_val = int(round(frac * n))
    if counts.min() < 2 or n_val < len(counts) or n - n_val < len(counts):
        return all_idx, np.empty(0, dtype=int)
    from sklearn.model_selection import train_test_split

    tr, va = train_test_split(all_idx, test_size=n_val, stratify=y_idx, random_state=int(seed or 0))
    return np.sort(tr), np.sort(va)


def default_callbacks(est) -> list:
    """The built-in callbacks the estimator's parameters switch on (console and files on the main
    process only)."""
    main = getattr(est, "is_main_process_", True)
    built_in = []
    if est.progress_bar and main:
        built_in += [("progress_bar", ProgressBar()), ("print_speed", PrintSpeed())]
    if est.logging_dir and main:
        import datetime as dt

        from ._hf import model_display_name

        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        run = f"{model_display_name(est.model)}-{stamp}-{id(est) % 10000:04d}"
        built_in.append(("tensorboard", TensorBoardLogger(Path(est.logging_dir) / run)))
    if est.early_stopping:
        built_in.append(("early_stopping", EarlyStopping("val_f1_micro", patience=int(est.n_iter_no_change))))
    if est.output_dir and main:
        built_in.append(("checkpoint", Checkpointing(est.output_dir, est.save_total_limit)))
    return built_in


class Trainer:
    """Fine-tunes ``est.model_`` (built by :func:`setup`) on tokenised texts, one epoch at a time."""

    def __init__(self, est):
        self.est = est
        self.acc = est.accelerator_
        self.device = est.device_

    def fit(self, ids, y_idx, train_idx, val_idx) -> None:
        import torch
        from torch.utils.data import DataLoader
        from transformers import DataCollatorWithPadding, get_linear_schedule_with_warmup

        est, acc = self.est, self.acc
        est.is_main_process_ = acc.is_main_process
        seed = int(est.seed or 0)
        # One pass of the loader is one epoch of length-bucketed batches, padded by the tokenizer's
        # collator; accelerate shards it across processes and tracks its end for accumulation.
        rows = [{"input_ids": np.asarray(ids[i], dtype=np.int64), "labels": int(y_idx[i])} for i in train_idx]
        loader = acc.prepare_data_loader(DataLoader(
            rows, batch_sampler=LengthBucketedBatchSampler([len(r["input_ids"]) for r in rows], est.batch_size, seed),
            collate_fn=DataCollatorWithPadding(est.tokenizer_, return_tensors="pt"),
            generator=torch.Generator().manual_seed(seed),  # keeps the global RNG (dropout) untouched
        ), device_placement=False)
        total_steps = max(1, math.ceil(len(loader) / est.gradient_accumulation_steps) * est.epochs)

        est.model_.to(self.device)
        self.optimizer = self._optimizer()
        self.scheduler = get_linear_schedule_with_warmup(
            self.optimizer, int(round(est.warmup_ratio * total_steps)), total_steps)
        # One process has nothing to wrap (and must not take a mixed precision that another library
        # left in accelerate's process-wide state); several get DistributedDataParallel.
        model = acc.prepare_model(est.model_) if acc.num_processes > 1 else est.model_
        self.scaler = torch.amp.GradScaler(self.device.type) if est.mixed_precision_ == "fp16" else None
        self.loss_fn = torch.nn.CrossEntropyLoss(weight=self._loss_weights(y_idx[train_idx]),
                                                 label_smoothing=float(est.label_smoothing))

        est.global_step_ = 0
        t_start = time.perf_counter()
        est._begin_callbacks()
        # eager attention while training on a CPU (see training_attention), the default again after
        with training_attention(est.model_.body, est.attn_implementation, self.device.type):
            try:
                for epoch in range(1, est.epochs + 1):
                    est._notify("on_epoch_begin", epoch, len(loader))
                    logs = self._run_epoch(model, loader, epoch)
                    est.model_ = acc.unwrap_model(model)
                    if len(val_idx):
                        logs.update(self._validation_scores([ids[i] for i in val_idx], y_idx[val_idx]))
                    est.history_.append(logs)
                    est._notify("on_epoch_end", epoch, logs)
                    acc.wait_for_everyone()  # checkpoints are written by the main process
                    if est._should_stop():
                        break
                est.model_ = acc.unwrap_model(model)
                est.best_epoch_ = len(est.history_)
                est.train_seconds_ = time.perf_counter() - t_start
                est.n_train_examples_ = sum(h["examples"] for h in est.history_)
                est.train_examples_per_second_ = est.n_train_examples_ / sum(h["seconds"] for h in est.history_)
            except BaseException:
                est._end_callbacks(failed=True)
                raise
            else:
                est._end_callbacks()  # early stopping puts the best epoch's weights back here
            finally:
                est.model_ = acc.unwrap_model(model).eval()
                est.model_.to(self.device)
                acc.free_memory()
                del est.accelerator_

    def _optimizer(self):
        import torch

        est = self.est
        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
        trainable = [(n, p) for n, p in est.model_.named_parameters() if p.requires_grad]  # LoRA: adapters + head
        scales = layer_lr_scales([n for n, _ in trainable], est.layer_decay)
        groups = {}
        for name, param in trainable:
            decay = 0.0 if name.endswith(no_decay) else float(est.weight_decay)
            group = groups.setdefault((decay, scales[name]), {
                "params": [], "weight_decay": decay, "lr": float(est.learning_rate) * scales[name]})
            group["params"].append(param)
        groups = list(groups.values())
        try:  # the fused kernel is several times faster than the default loop, on CPU as well as GPU
            return torch.optim.AdamW(groups, lr=float(est.learning_rate), fused=True)
        except (RuntimeError, TypeError):  # pragma: no cover - old torch or unsupported device
            return torch.optim.AdamW(groups, lr=float(est.learning_rate))

    def _loss_weights(self, y_train):
        import torch

        est = self.est
        if est.class_weight != "balanced":
            return None
        counts = np.bincount(y_train, minlength=len(est.classes_)).astype(float)
        weights = len(y_train) / (len(est.classes_) * np.maximum(counts, 1.0))
        return torch.tensor(weights, dtype=torch.float32, device=self.device)

    def _run_epoch(self, model, loader, epoch) -> dict:
        """One pass over the training batches; returns the epoch's logs."""
        est = self.est
        world = self.acc.num_processes
        model.train()
        t0 = time.perf_counter()
        loss_sum, n = 0.0, 0
        for b, batch in enumerate(loader):
            batch = {k: v.to(self.device) for k, v in batch.items()}
            loss, stepped = self._train_step(model, batch)
            size = len(batch["labels"])
            loss_sum += loss * size
            n += size
            est._notify("on_batch_end", est.global_step_, {
                "loss": loss, "learning_rate": max(self.scheduler.get_last_lr()), "optimizer_step": stepped,
                "epoch": epoch, "batch": b, "examples": size})
        seconds = time.perf_counter() - t0
        return {"epoch": epoch, "step": est.global_step_, "loss": loss_sum / max(n, 1),
                "learning_rate": float(max(self.scheduler.get_last_lr())), "seconds": seconds, "examples": n * world,
                "examples_per_second": n * world / seconds if seconds > 0 else float("inf")}

    def _train_step(self, model, batch) -> tuple[float, bool]:
        """Forward and backward on one batch, then an optimiser step when accelerate's gradient
        accumulation says the batch completes one; returns the loss and whether it stepped."""
        from ._hf import autocast

        est, acc, optimizer, scaler = self.est, self.acc, self.optimizer, self.scaler
        with acc.accumulate(model):
            with autocast(self.device.type, est.mixed_precision_):
                logits = model(batch["input_ids"], batch["attention_mask"])
            loss = self.loss_fn(logits.float(), batch["labels"])
            acc.backward(scaler.scale(loss) if scaler is not None else loss)  # divided by the accumulation steps
            stepped = acc.sync_gradients
            if stepped:
                if scaler is not None:
                    scaler.unscale_(optimizer)
                if est.max_grad_norm is not None:
                    acc.clip_grad_norm_(model.parameters(), float(est.max_grad_norm))
                skipped = False
                if scaler is None:
                    optimizer.step()
                else:  # fp16: a step with overflowing gradients is skipped and the scale lowered
                    scale = scaler.get_scale()
                    scaler.step(optimizer)
                    scaler.update()
                    skipped = scaler.get_scale() < scale
                if not skipped:
                    self.scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                est.global_step_ += 1
        return float(loss.detach()), stepped

    def _validation_scores(self, val_ids, y_val) -> dict:
        from sklearn.metrics import f1_score

        pred = np.argmax(self.est._predict_logits(val_ids), axis=1)
        return {"val_f1_micro": float(f1_score(y_val, pred, average="micro")),
                "val_f1_macro": float(f1_score(y_val, pred, average="macro"))}
