"""SetFit: a sentence-transformer body tuned contrastively on text pairs, then a logistic-regression head.

The body is trained with the ``setfit`` library's trainer (cosine-similarity loss on positive and
negative pairs); pair generation is capped and sampled per class here, so the cost grows with
``max_pairs``, not with the square of the data. ``body_epochs=0`` skips the body training: the
head is fitted on frozen, cached embeddings (:func:`mathcls.embeddings.encode`); with ``layer`` those
are the pooled token states of one layer of any transformers model, e.g. a decoder LLM such as
``model="smollm2-135m"``.
"""

from __future__ import annotations

import json
import time
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..errors import ModelFolderError, ParameterError
from ._hf import SHARED_CONSTRAINTS
from ._hidden import HIDDEN_POOLINGS
from .base import TextClassifierMixin, check_texts
from .callbacks import CallbackMixin, PrintSpeed
from .validation import Interval, Options

_HEAD = "head.skops"
_INFO = "setfit.json"
_BODY = "body"


class SetFitClassifier(CallbackMixin, TextClassifierMixin, ClassifierMixin, BaseEstimator):
    """SetFit on a sentence-transformer body (default: the bundled all-MiniLM-L6-v2).

    Training has two phases. (1) The body is fine-tuned contrastively with the ``setfit``
    trainer: pairs of questions of the same topic are pulled together and pairs of different topics
    pushed apart (cosine-similarity loss). (2) Every training question is embedded with the tuned
    body and a logistic regression is fitted on the embeddings.

    SetFit's own pair generation enumerates all ``n(n-1)/2`` pairs, hopeless on thousands of rows
    and a CPU; here pairs are sampled per class (:func:`mathcls.models._contrastive.sample_pairs`),
    ``max_pairs`` per body epoch (or ``2 * num_iterations * n``, whichever is smaller). Each pair
    costs two forward and backward passes, so time grows linearly with the cap; more pairs improve
    the embedding slowly. ``body_epochs=0`` skips phase 1: a head on frozen, cached embeddings.

    Parameters
    ----------
    model : str or None, default None
        Sentence-transformer folder or cached hub id; ``None`` is the bundled MiniLM.
    max_length : int, default 256
        Tokens per question when embedding for the head and for prediction.
    pair_max_length : int or None, default 128
        Tokens per question while tuning the body on pairs (``None``: ``max_length``); shorter
        is faster, and most questions fit in 128 tokens.
    body_epochs : int, default 1
        Passes over the sampled pairs (the same pairs each epoch, as in SetFit); ``0`` keeps the
        body frozen.
    max_pairs : int, default 4000
        Pairs sampled per body epoch.
    num_iterations : int or None, default None
        SetFit's knob: ``2 * num_iterations * n_rows`` pairs, still capped by ``max_pairs``.
    samples_per_class : int or None, default None
        Draw pairs only from this many rows per class (``None``: all rows).
    body_learning_rate : float, default 3e-5
    batch_size : int, default 16
        Pairs per step in phase 1.
    warmup_ratio : float, default 0.1
    head_C : float, default 10.0
        Inverse regularisation of the logistic-regression head.
    class_weight : None or "balanced", default None
        Class weights of the head.
    head_max_iter : int, default 3000
    layer : int or None, default None
        Frozen body only (``body_epochs=0``): the token states after this layer of ``model`` (1 is
        the first, -1 the last), from any transformers model (decoders too), standardised for the
        head, instead of its sentence-transformers pipeline.
    pooling : {"mean", "last"}, default "mean"
        With ``layer``: the mean of the token states, or the last token's.
    normalize : bool or "verbalize", default True
        Apply :func:`mathcls.text.normalize_text` first; ``"verbalize"`` then also reads LaTeX
        aloud in words (:func:`mathcls.text.verbalize_latex`).
    precision : {"auto", "fp32", "fp16", "bf16"}, default "auto"
        ``"auto"`` is fp32 on CPU and mixed precision (AMP) on a GPU.
    seed : int, default 0
    predict_batch_size : int, default 64
        Batch size when embedding texts (head features and prediction).
    progress_bar : bool, default True
        Show the trainer's progress bar and say what runs (callback ``"print_speed"``: device,
        precision and why, threads, then pairs/s).
    callbacks : list of (name, object) or None
        The protocol of :mod:`mathcls.models.callbacks`; its epochs and steps are the body's (epoch
        logs count pairs), and ``should_stop = True`` ends body training after the current epoch.
    device : str or None, default None

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    body_ : SentenceTransformer or None (``None`` when the body is frozen: the pretrained model is used)
    head_ : fitted LogisticRegression
    n_pairs_ : int, pairs trained on per epoch
    history_ : list of dict, body-epoch logs
    callbacks_ : list of (name, object), the callbacks of the last fit
    mixed_precision_, precision_reason_ : str, the body training's precision ("no", "fp16", "bf16") and why
    train_seconds_ : float

    Examples
    --------
    >>> from mathcls.models.setfit import SetFitClassifier
    >>> clf = SetFitClassifier(body_epochs=0).fit(texts, labels)   # doctest: +SKIP
    >>> clf.predict_proba(["Find the area of the circle."])         # doctest: +SKIP
    """

    _parameter_constraints = {
        **SHARED_CONSTRAINTS,
        "max_length": [Interval(Integral, 1, None)],
        "pair_max_length": [Interval(Integral, 1, None), None],
        "body_epochs": [Interval(Integral, 0, None)],
        "max_pairs": [Interval(Integral, 2, None)],
        "num_iterations": [Interval(Integral, 1, None), None],
        "samples_per_class": [Interval(Integral, 2, None), None],
        "body_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None)],
        "warmup_ratio": [Interval(Real, 0, 1)],
        "head_C": [Interval(Real, 0, None, closed="neither")],
        "head_max_iter": [Interval(Integral, 1, None)],
        "layer": [Interval(Integral, None, None), None],
        "pooling": [Options(HIDDEN_POOLINGS)],
    }

    def __init__(
        self,
        model=None,
        max_length=256,
        pair_max_length=128,
        body_epochs=1,
        max_pairs=4000,
        num_iterations=None,
        samples_per_class=None,
        body_learning_rate=3e-5,
        batch_size=16,
        warmup_ratio=0.1,
        head_C=10.0,
        class_weight=None,
        head_max_iter=3000,
        layer=None,
        pooling="mean",
        normalize=True,
        precision="auto",
        seed=0,
        predict_batch_size=64,
        progress_bar=True,
        callbacks=None,
        device=None,
    ):
        self.model = model
        self.max_length = max_length
        self.pair_max_length = pair_max_length
        self.body_epochs = body_epochs
        self.max_pairs = max_pairs
        self.num_iterations = num_iterations
        self.samples_per_class = samples_per_class
        self.body_learning_rate = body_learning_rate
        self.batch_size = batch_size
        self.warmup_ratio = warmup_ratio
        self.head_C = head_C
        self.class_weight = class_weight
        self.head_max_iter = head_max_iter
        self.layer = layer
        self.pooling = pooling
        self.normalize = normalize
        self.precision = precision
        self.seed = seed
        self.predict_batch_size = predict_batch_size
        self.progress_bar = progress_bar
        self.callbacks = callbacks
        self.device = device

    # ---- fit ----
    def fit(self, X, y):
        """Tune the body on sampled pairs (unless ``body_epochs=0``), then fit the head; returns ``self``."""
        from ._hf import choose_precision, seed_everything, select_device

        self._validate_params()
        if self.layer is not None and self.body_epochs > 0:
            raise ParameterError(f"layer={self.layer} reads a frozen body; set body_epochs=0 with it, or layer=None "
                                 f"to tune the body on pairs.")
        texts, classes, y_idx = self._check_fit_input(X, y)
        seed_everything(self.seed)
        t0 = time.perf_counter()
        self.classes_ = classes
        self.history_ = []
        self.body_ = None
        self.body_identity_ = None
        self.n_pairs_ = 0
        self.device_ = select_device(self.device)
        self.mixed_precision_, self.precision_reason_ = choose_precision(self.precision, self.device_)
        self._begin_callbacks()
        try:
            if self.body_epochs > 0:
                from ._contrastive import train_body

                self.body_ = train_body(self, texts, y_idx)
            features = self._embed(texts)
            self.head_ = self._fit_head(features, y_idx)
        except BaseException:
            self._end_callbacks(failed=True)
            raise
        self.train_seconds_ = time.perf_counter() - t0
        self._end_callbacks()
        return self

    def _default_callbacks(self) -> list:
        return [("print_speed", PrintSpeed(unit="pairs"))] if self.progress_bar and self.body_epochs > 0 else []

    def _n_pairs(self, n_rows: int) -> int:
        n = int(self.max_pairs)
        if self.num_iterations:
            n = min(n, 2 * int(self.num_iterations) * n_rows)
        return n

    def _embed(self, texts) -> np.ndarray:
        from ..embeddings import encode

        if self.layer is not None and self.body_ is None:
            return encode(texts, model=self.model, max_length=int(self.max_length), normalize=self.normalize,
                          batch_size=int(self.predict_batch_size), device=self.device, layer=int(self.layer),
                          pooling=self.pooling, precision=self.precision)
        return encode(texts, model=self.model, max_length=int(self.max_length), normalize=self.normalize,
                      batch_size=int(self.predict_batch_size), device=self.device, body=self.body_,
                      identity=self.body_identity_ if self.body_ is not None else None,
                      show_progress_bar=bool(self.progress_bar) and len(texts) > 4 * int(self.predict_batch_size))

    def _fit_head(self, features, y_idx):
        from sklearn.linear_model import LogisticRegression

        head = LogisticRegression(C=float(self.head_C), class_weight=self.class_weight,
                                  max_iter=int(self.head_max_iter), random_state=int(self.seed or 0))
        if self.layer is not None:
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            # a decoder's token states have a few dimensions far larger than the rest
            head = make_pipeline(StandardScaler(), head)
        return head.fit(features, y_idx)

    # ---- prediction ----
    def predict_proba(self, X):
        """Class probabilities, columns in ``classes_`` order."""
        self._check_fitted()
        features = self._embed(check_texts(X))
        proba = np.zeros((features.shape[0], len(self.classes_)), dtype=np.float64)
        proba[:, self.head_.classes_] = self.head_.predict_proba(features)
        return proba

    def transform(self, X) -> np.ndarray:
        """The embeddings the head sees (one row per text)."""
        self._check_fitted()
        return self._embed(check_texts(X))

    # ---- persistence ----
    def _save_payload(self, folder: Path) -> None:
        import zipfile

        import skops.io as sio

        from ..data import file_sha256
        from ..persist import encode_classes

        sio.dump(self.head_, folder / _HEAD, compression=zipfile.ZIP_DEFLATED)
        info = {"body_saved": self.body_ is not None, "body_sha256": None, "n_pairs": self.n_pairs_,
                "history": self.history_, "classes": encode_classes(self.classes_)[0]}
        if self.body_ is not None:
            self.body_.save(str(folder / _BODY), safe_serialization=True)
            weights = folder / _BODY / "model.safetensors"
            info["body_sha256"] = file_sha256(weights) if weights.is_file() else None
            if info["body_sha256"]:
                self.body_identity_ = "setfit-body:" + info["body_sha256"]
        (folder / _INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")

    def _load_payload(self, folder: Path, manifest: dict) -> None:
        _load_payload(self, folder)


def _load_payload(est, folder: Path) -> None:
    """Restore ``est``'s head (and tuned body, when one was saved) from a model folder."""
    from ..persist import check_payload_classes, safe_skops_load

    if not (folder / _INFO).is_file():
        raise ModelFolderError(f"{folder} is missing {_INFO}; the model folder is incomplete, retrain it.")
    info = json.loads((folder / _INFO).read_text(encoding="utf-8"))
    check_payload_classes(folder, est.classes_, info.get("classes"), _INFO)
    est.head_ = safe_skops_load(folder / _HEAD)
    if len(est.head_.classes_) and int(np.max(est.head_.classes_)) >= len(est.classes_):
        check_payload_classes(folder, est.classes_, np.arange(int(np.max(est.head_.classes_)) + 1),
                              f"the head in {_HEAD}")
    est.history_ = info.get("history", [])
    est.n_pairs_ = info.get("n_pairs", 0)
    est.body_ = None
    est.body_identity_ = None
    if info.get("body_saved"):
        from sentence_transformers import SentenceTransformer

        from ._hf import select_device

        if not (folder / _BODY).is_dir():
            raise ModelFolderError(f"{folder} is missing {_BODY}/; the model folder is incomplete, retrain it.")
        est.body_ = SentenceTransformer(str(folder / _BODY), device=select_device(est.device),
                                         local_files_only=True)
        est.body_.max_seq_length = int(est.max_length)
        if info.get("body_sha256"):
            est.body_identity_ = "setfit-body:" + info["body_sha256"]
