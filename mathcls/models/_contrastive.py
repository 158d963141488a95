"""Contrastive training of a SetFit body: pairs sampled per class (capped, not all ``n(n-1)/2``), the
``setfit`` trainer on them, and an adapter that reports the trainer's epochs and steps to mathcls's
callback protocol (:mod:`mathcls.models.callbacks`)."""

from __future__ import annotations

import tempfile
import time

import numpy as np


def sample_pairs(y_idx, n_pairs: int, rng, samples_per_class: int | None = None):
    """``n_pairs`` (i, j, same) index pairs, alternating positive and negative, sampled per class.

    Each pair picks a class uniformly (rare classes get as many pairs as common ones), then for a
    positive pair two different rows of that class, for a negative pair one row of it and one of
    another class. With ``samples_per_class``, only that many rows per class (drawn once) take part.
    Cost is O(n_pairs), whatever the size of the data.
    """
    y_idx = np.asarray(y_idx)
    pools = {}
    for c in np.unique(y_idx):
        rows = np.flatnonzero(y_idx == c)
        if samples_per_class and len(rows) > samples_per_class:
            rows = rng.choice(rows, samples_per_class, replace=False)
        pools[int(c)] = rows
    classes = np.array(sorted(pools))
    can_pos = np.array([len(pools[c]) >= 2 for c in classes])
    pairs = []
    for k in range(n_pairs):
        positive = k % 2 == 0 and can_pos.any()
        if positive:
            c = rng.choice(classes[can_pos])
            i, j = rng.choice(pools[c], 2, replace=False)
        else:
            c, d = rng.choice(classes, 2, replace=False)
            i, j = rng.choice(pools[c]), rng.choice(pools[d])
        pairs.append((int(i), int(j), 1.0 if positive else 0.0))
    return pairs


def train_body(est, texts, y_idx):
    """Fine-tune ``est``'s sentence-transformer body contrastively on pairs sampled by
    :func:`sample_pairs`, with the ``setfit`` trainer; returns the body (in eval mode)."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from setfit import SetFitModel, Trainer, TrainingArguments

    from ..text import prepare_text
    from ._hf import resolve_model

    device = est.device_
    use_amp = est.mixed_precision_ != "no"
    body = SentenceTransformer(str(resolve_model(est.model)), device=device, local_files_only=True)
    pair_length = int(est.pair_max_length or est.max_length)
    body.max_seq_length = pair_length
    prepared = [prepare_text(t, est.normalize) for t in texts]
    rng = np.random.default_rng(int(est.seed or 0))
    n_pairs = est._n_pairs(len(texts))
    pairs = sample_pairs(y_idx, n_pairs, rng, est.samples_per_class)
    est.n_pairs_ = n_pairs
    pair_data = Dataset.from_dict({
        "sentence_1": [prepared[i] for i, _, _ in pairs],
        "sentence_2": [prepared[j] for _, j, _ in pairs],
        "label": [s for _, _, s in pairs],
    })

    class _PairTrainer(Trainer):
        # The pairs are sampled above (capped, per class) instead of SetFit's all-pairs sampler.
        def get_dataset(self, x, y, args, max_pairs=-1):
            return pair_data, args.loss(self.model.model_body)

    with tempfile.TemporaryDirectory(prefix="mathcls-setfit-") as tmp:
        args = TrainingArguments(
            output_dir=tmp, batch_size=int(est.batch_size), num_epochs=int(est.body_epochs),
            body_learning_rate=float(est.body_learning_rate), warmup_proportion=float(est.warmup_ratio),
            seed=int(est.seed or 0), use_amp=use_amp, max_length=pair_length,
            report_to="none", save_strategy="no", logging_strategy="steps",
            logging_steps=max(1, len(pairs) // int(est.batch_size) // 2),  # two losses per epoch
            show_progress_bar=bool(est.progress_bar),
        )
        setfit_model = SetFitModel(model_body=body)
        trainer = _PairTrainer(model=setfit_model, args=args, callbacks=[protocol_adapter(est)])
        trainer.st_trainer.args.dataloader_pin_memory = device.startswith("cuda")
        if not est.progress_bar:
            from transformers.trainer_callback import ProgressCallback

            trainer.pop_callback(ProgressCallback)
        trainer.train_embeddings(prepared, list(y_idx), args=args)
    body.eval()
    return body


def protocol_adapter(est):
    """A Hugging Face ``TrainerCallback`` that speaks mathcls's callback protocol for the body's
    training: its epochs and steps are the trainer's own."""
    from transformers import TrainerCallback

    batch_size = int(est.batch_size)

    class _Adapter(TrainerCallback):
        def on_epoch_begin(self, args, state, control, **kw):
            self.t0, self.first_log = time.perf_counter(), len(state.log_history)
            self.steps = max(1, state.max_steps // max(1, int(args.num_train_epochs)))
            self.epoch = len(est.history_) + 1
            est._notify("on_epoch_begin", self.epoch, self.steps)

        def on_step_end(self, args, state, control, **kw):
            est._notify("on_batch_end", state.global_step, {
                "epoch": self.epoch, "batch": state.global_step - (self.epoch - 1) * self.steps,
                "examples": batch_size, "optimizer_step": True})

        def on_epoch_end(self, args, state, control, **kw):
            logged = state.log_history[self.first_log:]
            losses = [h["embedding_loss"] for h in logged if "embedding_loss" in h]
            rates = [h["learning_rate"] for h in state.log_history if "learning_rate" in h]
            seconds = time.perf_counter() - self.t0
            logs = {"epoch": self.epoch, "step": state.global_step,
                    "loss": float(np.mean(losses)) if losses else float("nan"),
                    "learning_rate": float(rates[-1]) if rates else float("nan"), "seconds": seconds,
                    "examples_per_second": self.steps * batch_size / seconds if seconds > 0 else float("inf")}
            est.history_.append(logs)
            est._notify("on_epoch_end", self.epoch, logs)
            if est._should_stop():
                control.should_training_stop = True

    return _Adapter()
