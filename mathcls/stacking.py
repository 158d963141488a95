"""Stacking ensemble: base models' out-of-fold probabilities (+ cheap text features) feed a
LightGBM meta-learner; optional per-class bias tuning; fold-average or refit test predictions.

The meta-learner never sees a prediction made on a row its base model trained on: every base model
is fitted once per fold on the other folds, and only its predictions on the held-out fold enter the
out-of-fold (OOF) table. The stack's own CV score is computed the same way, with the meta-learner
cross-fitted on the OOF table over the same folds.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import f1_score

from .atomic import atomic_path
from .config import write_json
from .data import texts_sha256
from .errors import ModelFolderError, ParameterError
from .features import FEATURE_NAMES, text_features
from .folds import make_folds, splits_with_extra
from .models.base import TextClassifierMixin, check_texts, softmax
from .models.validation import HasMethods, Interval, Options

STRATEGIES = ("fold-average", "refit")
_META_FILE = "stack.json"
_BOOSTER_FILE = "meta_lightgbm.txt"
_META_SKOPS = "meta.skops"
_CACHE_VERSION = 1


#: The default meta-learner's LightGBM parameters; also the first trial of ``meta_n_trials`` tuning.
META_DEFAULTS = dict(
    n_estimators=100, learning_rate=0.01, num_leaves=15, min_child_samples=20, subsample=0.8,
    subsample_freq=1, colsample_bytree=0.7, reg_lambda=1.0,
)


def default_meta_learner(random_state=0, **overrides):
    """LightGBM with small-data defaults: shallow trees, slow learning rate, row/column sampling.

    With ``meta_init="average"`` the trees start from the average of the base models and learn
    small corrections to it, hence the few trees at a low learning rate (on the competition's OOF
    table: 0.842 CV F1-micro, against 0.840 for the plain average and 0.833 for LightGBM from scratch).

    One thread: on a small table OpenMP threads cost more than they save, and badly so when the
    CPU is shared (measured 4 s with one thread vs 69 s with two on a busy 2-core machine).
    """
    from lightgbm import LGBMClassifier

    params = dict(META_DEFAULTS, random_state=random_state, n_jobs=1, verbose=-1)
    params.update(overrides)
    return LGBMClassifier(**params)


def _align(proba: np.ndarray, model_classes, classes) -> np.ndarray:
    """Reorder probability columns from ``model_classes`` to ``classes`` (missing ones are 0)."""
    out = np.zeros((proba.shape[0], len(classes)), dtype=np.float64)
    index = {c: i for i, c in enumerate(classes.tolist())}
    for j, c in enumerate(np.asarray(model_classes).tolist()):
        out[:, index[c]] = proba[:, j]
    return out


def name_list(value) -> list[str]:
    """A ``pseudo_label`` setting (None, one name or a sequence of names) as a list of names."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _fold_probas(models, texts, classes) -> np.ndarray:
    """Each model's probabilities on ``texts``, columns in ``classes`` order: (models, rows, classes)."""
    return np.stack([_align(np.asarray(m.predict_proba(texts)), m.classes_, classes) for m in models])


def tune_bias(proba: np.ndarray, y_idx: np.ndarray, n_rounds: int = 3, grid=None) -> np.ndarray:
    """Per-class additive offsets on log-probabilities that maximise F1-micro (coordinate ascent)."""
    grid = np.linspace(-2.0, 2.0, 41) if grid is None else grid
    logp = np.log(np.clip(proba, 1e-12, 1.0))
    bias = np.zeros(proba.shape[1])
    best = (np.argmax(logp + bias, axis=1) == y_idx).mean()
    for _ in range(n_rounds):
        improved = False
        for k in range(proba.shape[1]):
            for value in grid:
                trial = bias.copy()
                trial[k] = value
                score = (np.argmax(logp + trial, axis=1) == y_idx).mean()
                if score > best + 1e-12:
                    best, bias, improved = score, trial, True
        if not improved:
            break
    return bias


def apply_bias(proba: np.ndarray, bias) -> np.ndarray:
    if bias is None:
        return proba
    return softmax(np.log(np.clip(proba, 1e-12, 1.0)) + bias)


def _init_scores(average: np.ndarray) -> np.ndarray:
    """LightGBM init scores that reproduce ``average``: log-probabilities (binary: the logit)."""
    logp = np.log(np.clip(average, 1e-9, 1.0))
    return logp[:, 1] - logp[:, 0] if average.shape[1] == 2 else logp


def _from_raw(raw: np.ndarray) -> np.ndarray:
    if raw.ndim == 1:  # binary
        p1 = 1.0 / (1.0 + np.exp(-raw))
        return np.column_stack([1 - p1, p1])
    return softmax(raw)


class StackingEnsemble(TextClassifierMixin, ClassifierMixin, BaseEstimator):
    """Stack text classifiers with a meta-learner trained on leak-free out-of-fold probabilities.

    Parameters
    ----------
    estimators : list of (name, estimator), default None
        Base models; ``None`` means ``[("tfidf", TfidfLogReg())]``. Any scikit-learn classifier
        on texts works; registered mathcls families can also be cached and saved.
    final_estimator : classifier or None
        Meta-learner; ``None`` gives LightGBM with small-data defaults (:func:`default_meta_learner`).
    cv : int, default 5
        Number of stratified folds when ``fit`` gets no ``fold`` array.
    extra_features : bool, default True
        Add cheap text features (:mod:`mathcls.features`) to the meta-learner's input.
    test_strategy : {"fold-average", "refit"}, default "fold-average"
        Predict new rows with the average of the fold models, or with one model per family refitted
        on all rows.
    bias_tuning : bool, default True
        Fit per-class logit offsets on the meta-learner's OOF predictions to maximise F1-micro; kept
        only when they improve the cross-fitted score.
    meta_init : {"average", "none"}, default "average"
        ``"average"``: the LightGBM meta-learner boosts from the average of the base models'
        probabilities (init scores) and learns corrections; ``"none"``: it starts from scratch.
    meta_n_trials : int, default 0
        Trials of a small Optuna study over the meta-learner's parameters, scored by CV on the OOF
        table (0: keep the defaults).
    pseudo_label : list of str, default ()
        Names of base models that also train on the unlabeled rows given to ``fit`` as
        ``unlabeled_X`` (e.g. the test questions), labelled by the average of the other base models.
        Fold ``k``'s pseudo-labels come from those models' fold-``k`` models, which never saw fold
        ``k``, so the OOF table stays honest. The other models are fitted first. Needs
        ``test_strategy="fold-average"``.
    pseudo_label_threshold : float, default 0.0
        Keep only unlabeled rows whose averaged top probability reaches this value.
    random_state : int, default 42
    cache_dir : str or None
        Folder where each base model's OOF probabilities and fold models are cached, keyed by
        (model, parameters, data, folds); adding a model or re-tuning the meta-learner does not
        retrain the others.
    verbose : bool, default False
        Print one line per base model and a progress bar per fold.

    Attributes
    ----------
    classes_ : ndarray
    estimators_ : dict name -> list of fitted models (one per fold, or one refitted)
    final_estimator_ : fitted meta-learner, or None when the plain average scored better
    meta_kind_ : "learned" or "average", whichever had the better cross-fitted OOF score
    oof_proba_ : dict name -> ndarray (n_samples, n_classes), out-of-fold probabilities
    stack_oof_proba_ : ndarray, cross-fitted OOF probabilities of the stack (after bias)
    bias_ : ndarray or None, per-class logit offsets
    pseudo_label_counts_ : dict name -> list of pseudo-labelled rows per fold (pseudo-labelled models)
    scores_ : dict name -> {f1_micro, f1_macro, fit_seconds, predict_rows_per_s}, including "stack"
    fold_ : ndarray, fold id per training row

    Examples
    --------
    >>> from mathcls import StackingEnsemble, TfidfLogReg
    >>> stack = StackingEnsemble([("word", TfidfLogReg(char_ngram_range=None)),
    ...                           ("char", TfidfLogReg(word_ngram_range=None))], cv=5)
    """

    _parameter_constraints = {
        "estimators": [list, tuple, None],
        "final_estimator": [HasMethods("fit", "predict_proba"), None],
        "cv": [Interval(Integral, 2, None)],
        "extra_features": ["boolean"],
        "test_strategy": [Options(STRATEGIES)],
        "bias_tuning": ["boolean"],
        "meta_init": [Options({"average", "none"})],
        "meta_n_trials": [Interval(Integral, 0, None)],
        "pseudo_label": [str, list, tuple],
        "pseudo_label_threshold": [Interval(Real, 0, 1, closed="left")],
        "random_state": [Interval(Integral, 0, None), None],
        "cache_dir": [str, os.PathLike, None],
        "verbose": ["boolean"],
    }

    def __init__(self, estimators=None, final_estimator=None, cv=5, extra_features=True,
                 test_strategy="fold-average", bias_tuning=True, meta_init="average", meta_n_trials=0,
                 pseudo_label=(), pseudo_label_threshold=0.0, random_state=42, cache_dir=None, verbose=False):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.cv = cv
        self.extra_features = extra_features
        self.test_strategy = test_strategy
        self.bias_tuning = bias_tuning
        self.meta_init = meta_init
        self.meta_n_trials = meta_n_trials
        self.pseudo_label = pseudo_label
        self.pseudo_label_threshold = pseudo_label_threshold
        self.random_state = random_state
        self.cache_dir = cache_dir
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _base_list(self):
        if self.estimators is None:
            from .models.tfidf import TfidfLogReg

            return [("tfidf", TfidfLogReg())]
        return list(self.estimators)

    def _check_param_relations(self):
        bases = self._base_list()
        if not bases:
            raise ParameterError("estimators is empty; give at least one (name, estimator) pair.")
        names = [n for n, _ in bases]
        if len(set(names)) != len(names):
            raise ParameterError(f"estimator names must be unique; got {names}.")
        for name, est in bases:
            if not (hasattr(est, "fit") and hasattr(est, "predict_proba")):
                raise ParameterError(f"estimator {name!r} needs fit and predict_proba.")
        if self.meta_init == "average" and self.final_estimator is not None:
            raise ParameterError("meta_init='average' needs the default LightGBM meta-learner; set meta_init='none'.")
        pseudo = name_list(self.pseudo_label)
        unknown = [n for n in pseudo if n not in names]
        if unknown:
            raise ParameterError(f"pseudo_label names {unknown[0]!r}, which is not a base model; base models: {names}.")
        if pseudo and len(pseudo) == len(names):
            raise ParameterError("pseudo_label lists every base model; leave at least one to label the unlabeled rows.")
        if pseudo and self.test_strategy != "fold-average":
            raise ParameterError("pseudo_label needs test_strategy='fold-average' (each fold is labelled by its own fold models).")

    def _log(self, msg):
        if self.verbose:
            print(msg, flush=True)

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, fold=None, extra_X=None, extra_y=None, extra_source=None, unlabeled_X=None):
        """Fit base models per fold, the meta-learner on their OOF probabilities, and the bias.

        Parameters
        ----------
        X, y : texts and labels
        fold : array of fold ids per row, optional
            Shared folds (e.g. the ones tuning used); default: stratified ``cv`` folds.
        extra_X, extra_y, extra_source : optional
            Generated or augmented rows that join the training folds only; ``extra_source[j]`` is
            the index of the row that extra row ``j`` was derived from (or -1), so it never trains
            the fold that validates its source.
        unlabeled_X : texts, optional
            Rows without labels, usually the test questions: the models named in ``pseudo_label``
            also train on them (see there). Every base model's predictions on them are kept, so
            ``predict_proba`` on the same texts right after ``fit`` does not predict them again.
        """
        self._validate_params()
        pseudo = name_list(self.pseudo_label)
        unlabeled = check_texts(unlabeled_X, "unlabeled_X") if unlabeled_X is not None and len(unlabeled_X) else []
        if pseudo and not unlabeled:
            raise ParameterError(f"pseudo_label={pseudo} needs unlabeled rows; pass unlabeled_X to fit "
                                 "(mathcls run passes the test questions).")
        texts, classes, y_idx = self._check_fit_input(X, y)
        y = np.asarray(y)
        if fold is None:
            fold = make_folds(y_idx, self.cv, self.random_state)
        fold = np.asarray(fold, dtype=np.int64)
        if len(fold) != len(texts):
            raise ParameterError(f"fold has {len(fold)} entries but there are {len(texts)} rows.")
        extra_texts = check_texts(extra_X, "extra_X") if extra_X is not None and len(extra_X) else []
        extra_y = np.asarray(extra_y) if extra_texts else np.empty(0, dtype=y.dtype)
        extra_source = (np.asarray(extra_source, dtype=np.int64) if extra_source is not None
                        else np.full(len(extra_texts), -1, dtype=np.int64))
        self.classes_ = classes
        self.fold_ = fold

        all_texts = np.asarray(texts + extra_texts, dtype=object)
        all_y = np.concatenate([y, extra_y]) if len(extra_y) else y
        data_key = texts_sha256(all_texts.tolist(), all_y.tolist()) + texts_sha256([str(s) for s in extra_source])
        bases = self._base_list()
        # Models that label come first, then the pseudo-labelled ones; estimators_ keeps the given order.
        order = [b for b in bases if b[0] not in pseudo] + [b for b in bases if b[0] in pseudo]
        fitted, fold_unlabeled, unlabeled_seconds = {}, {}, 0.0
        self.pseudo_label_counts_ = {}
        self._unlabeled_memo = None
        for name, est in order:
            pseudo_rows = None
            if name in pseudo:
                pseudo_rows = self._pseudo_rows(unlabeled, fold_unlabeled)
                self.pseudo_label_counts_[name] = [int(len(p[1])) for p in pseudo_rows]
                self._log(f"  {name:<14} + {min(self.pseudo_label_counts_[name])}-{max(self.pseudo_label_counts_[name])} "
                          f"pseudo-labelled rows per fold")
            models, oof, stats = self._fit_base(name, est, all_texts, all_y, y, fold, extra_source, data_key,
                                                pseudo_rows)
            fitted[name] = (models, oof, stats)
            if unlabeled:
                t0 = time.perf_counter()
                fold_unlabeled[name] = _fold_probas(models, unlabeled, self.classes_)
                unlabeled_seconds += time.perf_counter() - t0
            self._log(f"  {name:<14} OOF F1-micro {stats['f1_micro']:.4f}  F1-macro {stats['f1_macro']:.4f}  "
                      f"fit {stats['fit_seconds']:.0f}s")
        self.estimators_ = {name: fitted[name][0] for name, _ in bases}
        self.oof_proba_ = {name: fitted[name][1] for name, _ in bases}
        self.scores_ = {name: fitted[name][2] for name, _ in bases}
        if unlabeled:
            self._unlabeled_memo = (texts_sha256(unlabeled), {name: fold_unlabeled[name].mean(0) for name, _ in bases})

        meta_X = self._meta_features(list(self.oof_proba_.values()), texts)
        self._fit_meta(meta_X, y_idx, fold)
        if unlabeled and unlabeled_seconds > 0:
            # The base models' share of prediction time, measured on the unlabeled rows.
            self.scores_["stack"]["predict_rows_per_s"] = round(len(unlabeled) / unlabeled_seconds, 1)
        return self

    def _cache_folder(self, name, est, data_key, fold):
        if not self.cache_dir:
            return None
        from .models import MODELS, model_name_of
        from .persist import encode_param

        try:
            family = model_name_of(est)
        except Exception:
            return None
        if family not in MODELS:
            return None
        try:
            params = {k: encode_param(v) for k, v in est._manifest_params().items()}
        except (TypeError, AttributeError):
            return None
        key = json.dumps({"v": _CACHE_VERSION, "family": family, "params": params, "data": data_key,
                          "fold": hashlib.sha256(fold.tobytes()).hexdigest(), "strategy": self.test_strategy},
                         sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return Path(self.cache_dir) / "base" / f"{name}-{family}-{digest}"

    def _pseudo_rows(self, unlabeled, fold_unlabeled) -> list[tuple[list[str], np.ndarray]]:
        """Per fold: (texts, labels) of the unlabeled rows, labelled by the average of the labelling
        models' fold-``k`` predictions, keeping rows whose top probability reaches the threshold."""
        sources = [name for name in fold_unlabeled if name not in name_list(self.pseudo_label)]
        average = np.mean([fold_unlabeled[name] for name in sources], axis=0)  # (folds, rows, classes)
        rows = []
        for proba in average:
            keep = np.flatnonzero(proba.max(1) >= self.pseudo_label_threshold)
            rows.append(([unlabeled[i] for i in keep], self.classes_[proba[keep].argmax(1)]))
        return rows

    def _fit_base(self, name, est, all_texts, all_y, y, fold, extra_source, data_key, pseudo_rows=None):
        """OOF probabilities and fitted models of one base model. With a cache, each finished fold
        is stored at once, so an interrupted run resumes at the next fold. ``pseudo_rows`` (per fold:
        texts and labels) join each fold's training rows."""
        from .persist import load_model, save_model

        n = len(y)
        if pseudo_rows is not None:
            # The cache key covers exactly what the model trains on: the texts and every fold's labels.
            digest = hashlib.sha256(data_key.encode())
            for pseudo_texts, labels in pseudo_rows:
                digest.update(texts_sha256(pseudo_texts, labels.tolist()).encode())
            data_key = data_key + "-pseudo-" + digest.hexdigest()
        cache = self._cache_folder(name, est, data_key, fold)
        if cache is not None and (cache / "done.json").is_file():
            info = json.loads((cache / "done.json").read_text())
            models = [load_model(cache / m) for m in info["models"]]
            self._log(f"  {name:<14} loaded from cache {cache}")
            return models, np.load(cache / "oof.npy"), info["stats"]

        oof = np.zeros((n, len(self.classes_)))
        models, fit_seconds, pred_rows, pred_seconds = [], 0.0, 0, 0.0
        splits = list(splits_with_extra(fold, extra_source))
        keep_models = self.test_strategy == "fold-average"
        iterator = enumerate(splits)
        if self.verbose:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, total=len(splits), desc=f"{name} folds", unit="fold", leave=False)
        for k, (train_idx, valid_idx) in iterator:
            part = cache / f"fold-{k}" if cache is not None else None
            if part is not None and (part / "oof.npz").is_file():
                saved = np.load(part / "oof.npz")
                oof[saved["index"]] = saved["proba"]
                fit_seconds += float(saved["fit_seconds"])
                if keep_models:
                    models.append(load_model(part / "model"))
                continue
            model = clone(est)
            train_texts, train_y = list(all_texts[train_idx]), all_y[train_idx]
            if pseudo_rows is not None:
                pseudo_texts, labels = pseudo_rows[k]
                train_texts += pseudo_texts
                train_y = np.concatenate([train_y, labels.astype(train_y.dtype)])
            t0 = time.perf_counter()
            model.fit(train_texts, train_y)
            t1 = time.perf_counter()
            proba = model.predict_proba(list(all_texts[valid_idx]))
            t2 = time.perf_counter()
            oof[valid_idx] = _align(np.asarray(proba), model.classes_, self.classes_)
            fit_seconds += t1 - t0
            pred_seconds += t2 - t1
            pred_rows += len(valid_idx)
            if keep_models:
                models.append(model)
            if part is not None:
                if keep_models:
                    save_model(model, part / "model")
                part.mkdir(parents=True, exist_ok=True)
                with atomic_path(part / "oof.npz") as tmp, open(tmp, "wb") as fh:
                    np.savez(fh, index=valid_idx, proba=oof[valid_idx], fit_seconds=t1 - t0)
        if self.test_strategy == "refit":
            model = clone(est)
            t0 = time.perf_counter()
            model.fit(list(all_texts), all_y)
            fit_seconds += time.perf_counter() - t0
            models = [model]
            if cache is not None:
                save_model(model, cache / "full")
        pred = self.classes_[oof.argmax(1)]
        stats = {
            "f1_micro": float(f1_score(y, pred, average="micro")),
            "f1_macro": float(f1_score(y, pred, average="macro")),
            "fit_seconds": round(fit_seconds, 2),
            "predict_rows_per_s": round(pred_rows / pred_seconds, 1) if pred_seconds > 0 else None,
        }
        if cache is not None:
            names = [f"fold-{k}/model" for k in range(len(splits))] if keep_models else ["full"]
            with atomic_path(cache / "oof.npy") as tmp, open(tmp, "wb") as fh:
                np.save(fh, oof)
            write_json(cache / "done.json", {"models": names, "stats": stats})
        return models, oof, stats

    def _meta_features(self, probas, texts) -> np.ndarray:
        parts = [np.asarray(p, dtype=np.float32) for p in probas]
        if self.extra_features:
            parts.append(text_features(texts))
        return np.hstack(parts)

    def _meta_feature_names(self):
        names = [f"{name}_p{c}" for name in self.estimators_ for c in self.classes_]
        return names + (list(FEATURE_NAMES) if self.extra_features else [])

    def _new_meta(self, **params):
        if self.final_estimator is None:
            return default_meta_learner(self.random_state, **params)
        return clone(self.final_estimator).set_params(**params) if params else clone(self.final_estimator)

    def _fit_one_meta(self, meta_X, y_idx, average, params):
        meta = self._new_meta(**(params or {}))
        if self.meta_init == "average":
            return meta.fit(meta_X, y_idx, init_score=_init_scores(average))
        return meta.fit(meta_X, y_idx)

    def _meta_proba(self, meta, meta_X, average) -> np.ndarray:
        if self.meta_init == "average":
            return _from_raw(meta.booster_.predict(meta_X, raw_score=True) + _init_scores(average))
        return _align(meta.predict_proba(meta_X), meta.classes_, np.arange(len(self.classes_)))

    def _cross_fit_meta(self, meta_X, y_idx, fold, average, params=None):
        proba = np.zeros((len(y_idx), len(self.classes_)))
        for k in range(int(fold.max()) + 1):
            tr, va = fold != k, fold == k
            if len(np.unique(y_idx[tr])) < len(self.classes_):
                return None  # a class missing from a training part: too little data to learn a meta-model
            meta = self._fit_one_meta(meta_X[tr], y_idx[tr], average[tr], params)
            proba[va] = self._meta_proba(meta, meta_X[va], average[va])
        return proba

    def _fit_meta(self, meta_X, y_idx, fold):
        # The plain average of the base models needs no training, so its OOF score is honest too.
        # On small data it can beat any learned meta-model; the better of the two is kept.
        average = np.mean(list(self.oof_proba_.values()), axis=0)
        params = {}
        if self.final_estimator is None:
            # Leaves need enough rows: LightGBM's default of 20 cannot split a few hundred rows.
            params["min_child_samples"] = int(min(20, max(2, len(y_idx) // 40)))
            if self.meta_n_trials:
                params = self._tune_meta(meta_X, y_idx, fold, average)
        self.meta_params_ = params
        t0 = time.perf_counter()
        averaged = (average.argmax(1) == y_idx).mean()
        meta_oof = self._cross_fit_meta(meta_X, y_idx, fold, average, params)
        learned = -1.0 if meta_oof is None else (meta_oof.argmax(1) == y_idx).mean()
        self.meta_kind_ = "learned" if learned >= averaged else "average"
        self._log(f"  meta-learner CV F1-micro {learned:.4f}, plain average {averaged:.4f}: using the "
                  + ("meta-learner" if self.meta_kind_ == "learned" else "average"))
        if self.meta_kind_ == "average":
            meta_oof = average
        raw_score = max(learned, averaged)
        self.bias_ = None
        if self.bias_tuning:
            # Cross-fit the offsets too: fitted on the other folds, scored on each held-out fold.
            biased = np.zeros_like(meta_oof)
            for k in range(int(fold.max()) + 1):
                tr, va = fold != k, fold == k
                biased[va] = apply_bias(meta_oof[va], tune_bias(meta_oof[tr], y_idx[tr]))
            if (biased.argmax(1) == y_idx).mean() > raw_score:
                self.bias_ = tune_bias(meta_oof, y_idx)
                meta_oof = biased
                self._log(f"  bias tuning kept: F1-micro {raw_score:.4f} -> {(biased.argmax(1) == y_idx).mean():.4f}")
            else:
                self._log("  bias tuning did not improve CV; not used")
        self.stack_oof_proba_ = meta_oof
        y = self.classes_[y_idx]
        pred = self.classes_[meta_oof.argmax(1)]
        self.final_estimator_ = (self._fit_one_meta(meta_X, y_idx, average, params)
                                 if self.meta_kind_ == "learned" else None)
        self.scores_["stack"] = {
            "f1_micro": float(f1_score(y, pred, average="micro")),
            "f1_macro": float(f1_score(y, pred, average="macro")),
            "fit_seconds": round(time.perf_counter() - t0, 2),
            "predict_rows_per_s": None,
            "meta": self.meta_kind_,
        }
        self._log(f"  {'stack':<14} OOF F1-micro {self.scores_['stack']['f1_micro']:.4f}  "
                  f"F1-macro {self.scores_['stack']['f1_macro']:.4f}")

    def _tune_meta(self, meta_X, y_idx, fold, average) -> dict:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)

        def objective(trial):
            params = {
                "n_estimators": trial.suggest_int("n_estimators", 50, 400, step=25),
                "learning_rate": trial.suggest_float("learning_rate", 0.003, 0.05, log=True),
                "num_leaves": trial.suggest_int("num_leaves", 4, 31),
                "min_child_samples": trial.suggest_int("min_child_samples", 5, int(max(10, min(60, len(y_idx) // 20)))),
                "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
                "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            }
            proba = self._cross_fit_meta(meta_X, y_idx, fold, average, params)
            return -1.0 if proba is None else float((proba.argmax(1) == y_idx).mean())

        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=self.random_state))
        tuned = ("n_estimators", "learning_rate", "num_leaves", "reg_lambda", "colsample_bytree")
        study.enqueue_trial({**{k: META_DEFAULTS[k] for k in tuned},
                             "min_child_samples": int(min(20, max(5, len(y_idx) // 40)))})
        study.optimize(objective, n_trials=int(self.meta_n_trials))
        self._log(f"  meta-learner tuned: CV {study.best_value:.4f} with {study.best_params}")
        return study.best_params

    # ------------------------------------------------------------------ prediction
    def base_predict_proba(self, X) -> dict:
        """Each base model's probabilities on ``X`` (fold-averaged or refitted), ``classes_`` order."""
        self._check_fitted()
        texts = check_texts(X)
        memo = getattr(self, "_unlabeled_memo", None)
        if memo is not None and len(texts) == len(next(iter(memo[1].values()))) and texts_sha256(texts) == memo[0]:
            return dict(memo[1])
        return {name: _fold_probas(models, texts, self.classes_).mean(0) for name, models in self.estimators_.items()}

    def predict_proba(self, X):
        """Meta-learner probabilities (after bias), columns in ``classes_`` order."""
        self._check_fitted()
        texts = check_texts(X)
        base = list(self.base_predict_proba(texts).values())
        if self.final_estimator_ is None:  # meta_kind_ == "average"
            proba = np.mean(base, axis=0)
        else:
            proba = self._meta_proba(self.final_estimator_, self._meta_features(base, texts), np.mean(base, axis=0))
        return apply_bias(proba, self.bias_)

    # ------------------------------------------------------------------ persistence
    def _manifest_params(self) -> dict:
        from .models import model_name_of

        params = self.get_params(deep=False)
        bases = []
        for name, est in self._base_list():
            bases.append([name, model_name_of(est), est._manifest_params()])
        params["estimators"] = bases
        if self.final_estimator is not None:
            raise ModelFolderError("Only the default LightGBM meta-learner can be saved; use final_estimator=None.")
        params["cache_dir"] = None
        return params

    @classmethod
    def _from_manifest(cls, params, folder, manifest):
        from .models import make_model

        bases = [(name, make_model(family, p)) for name, family, p in params.pop("estimators")]
        return cls(estimators=bases, **params)

    def _save_payload(self, folder: Path) -> None:
        from .persist import save_model

        names = {}
        for name, models in self.estimators_.items():
            names[name] = []
            for k, model in enumerate(models):
                sub = f"base/{name}/{'fold-' + str(k) if self.test_strategy == 'fold-average' else 'full'}"
                save_model(model, folder / sub)
                names[name].append(sub)
        if self.final_estimator_ is not None:
            self.final_estimator_.booster_.save_model(str(folder / _BOOSTER_FILE))
        meta = {
            "meta_kind": self.meta_kind_,
            "models": names, "bias": None if self.bias_ is None else self.bias_.tolist(),
            "meta_classes": None if self.final_estimator_ is None else np.asarray(self.final_estimator_.classes_).tolist(),
            "feature_names": self._meta_feature_names(), "scores": self.scores_,
            "meta_params": self.meta_params_, "n_classes": len(self.classes_),
        }
        (folder / _META_FILE).write_text(json.dumps(meta, indent=2))

    def _load_payload(self, folder: Path, manifest: dict) -> None:
        import lightgbm as lgb

        from .persist import load_model

        meta_path = folder / _META_FILE
        if not meta_path.is_file():
            raise ModelFolderError(f"{folder} is missing {_META_FILE}; the ensemble folder is incomplete.")
        meta = json.loads(meta_path.read_text())
        self.estimators_ = {name: [load_model(folder / sub) for sub in subs] for name, subs in meta["models"].items()}
        self.bias_ = None if meta["bias"] is None else np.asarray(meta["bias"])
        self.scores_ = meta["scores"]
        self.meta_params_ = meta.get("meta_params", {})
        self.meta_kind_ = meta.get("meta_kind", "learned")
        self.final_estimator_ = None
        if self.meta_kind_ == "learned":
            self.final_estimator_ = _BoosterClassifier(lgb.Booster(model_file=str(folder / _BOOSTER_FILE)),
                                                       np.asarray(meta["meta_classes"]), meta["n_classes"])


class _BoosterClassifier:
    """A loaded LightGBM booster with the ``predict_proba``/``classes_``/``booster_`` of LGBMClassifier."""

    def __init__(self, booster, classes, n_classes):
        self.booster_ = booster
        self.classes_ = classes
        self.n_classes = n_classes

    def predict_proba(self, X):
        proba = np.asarray(self.booster_.predict(X))
        if proba.ndim == 1:  # binary
            proba = np.column_stack([1 - proba, proba])
        return proba
