"""StackingEnsemble: base text classifiers, their leak-free out-of-fold probabilities, a meta-learner.

The meta-learner never sees a prediction made on a row its base model trained on: every base model
is fitted once per fold on the other folds (:mod:`._fold_runner`), and only its predictions on the
held-out fold enter the out-of-fold (OOF) table. The stack's own CV score is computed the same way,
with the meta-learner cross-fitted on the OOF table over the same folds.
"""

from __future__ import annotations

import logging
import os
import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.metrics import f1_score
from sklearn.utils.metaestimators import _BaseComposition

from ..data import texts_sha256
from ..errors import ParameterError
from ..features import text_features
from ..folds import SharedFolds, fold_ids
from ..metrics import DEFAULT, METRICS, all_scores, get_metric
from ..models.base import TextClassifierMixin, check_texts
from ..models.validation import HasMethods, Interval, Options
from ..oof import align_proba, out_of_fold_proba
from . import _folder
from ._fold_runner import cache_folder, fit_base_model, pseudo_data_key
from ._meta_learner import MetaLGBMClassifier
from ._neighbours import NeighbourFeatures
from ._pseudo_label import check_pseudo_label, name_list, pseudo_rows

STRATEGIES = ("fold-average", "refit")


log = logging.getLogger(__name__)


def _log(verbose: bool, msg: str) -> None:
    if verbose:
        log.info(msg)


def meta_table(probas, texts, extra_features: bool, neighbours=None) -> np.ndarray:
    """The meta-learner's input: each base model's probabilities, then (optionally) the text features
    and the nearest-neighbour features (an array, see :mod:`._neighbours`)."""
    parts = [np.asarray(p, dtype=np.float64) for p in probas]
    if extra_features:
        parts.append(text_features(texts))
    if neighbours is not None:
        parts.append(neighbours)
    return np.hstack(parts)


def check_base_list(bases, param_names) -> list[str]:
    """The names of the ``(name, estimator)`` base models, once they are known to be usable."""
    if not bases:
        raise ParameterError("estimators is empty; give at least one (name, estimator) pair.")
    names = [n for n, _ in bases]
    if len(set(names)) != len(names):
        raise ParameterError(f"estimator names must be unique; got {names}.")
    clash = [n for n in names if "__" in n or n in param_names]
    if clash:
        raise ParameterError(f"estimator name {clash[0]!r} contains '__' or is a parameter name; rename it.")
    unfit = [name for name, est in bases if not (hasattr(est, "fit") and hasattr(est, "predict_proba"))]
    if unfit:
        raise ParameterError(f"estimator {unfit[0]!r} needs fit and predict_proba.")
    return names


def scores_text(stats: dict, metric: str) -> str:
    """The run's metric and then the other F1, each as its title and value, for one log line."""
    first = get_metric(metric)
    second = get_metric("f1_macro" if first.name != "f1_macro" else "f1_micro")
    return f"{first.title} {stats[first.name]:.4f}  {second.title} {stats[second.name]:.4f}"


def _stack_scores(y, proba, classes, fit_seconds, meta) -> dict:
    pred = classes[proba.argmax(1)]
    scores = {"f1_micro": float(f1_score(y, pred, average="micro")), "f1_macro": float(f1_score(y, pred, average="macro")),
              "fit_seconds": fit_seconds, "predict_rows_per_s": None, "meta": meta}
    return {**scores, **{k: v for k, v in all_scores(y, proba, classes).items() if k not in scores}}


class StackingEnsemble(TextClassifierMixin, ClassifierMixin, _BaseComposition):
    """Stack text classifiers with a meta-learner trained on leak-free out-of-fold probabilities.

    Parameters
    ----------
    estimators : list of (name, estimator), default None
        Base models; ``None`` means ``[("tfidf", TfidfLogReg())]``. Any scikit-learn classifier on
        texts works; registered mathcls families can also be cached and saved. Their parameters
        are nested parameters of the stack: ``set_params(tfidf__C=3)``.
    final_estimator : classifier or None
        Meta-learner on the OOF table (each base model's probabilities, then the text features).
        ``None``: :class:`MetaLGBMClassifier` built from ``meta_init``, ``meta_n_trials`` and
        ``bias_tuning``, which then apply to it only.
    cv : int or splitter, default 5
        Folds when ``fit`` gets no ``fold`` array: an int gives stratified folds seeded with
        ``random_state``; a splitter (``KFold(3)``, :class:`~mathcls.folds.SharedFolds`) must
        validate every row exactly once.
    extra_features : bool, default True
        Add cheap text features (:mod:`mathcls.features`) to the meta-learner's input.
    neighbour_features : bool, default False
        Add each row's nearest training questions' labels and similarity (:mod:`._neighbours`, leak-free).
    test_strategy : {"fold-average", "refit"}, default "fold-average"
        Predict new rows with the average of the fold models, or with one refitted on all rows.
    bias_tuning, meta_init, meta_n_trials
        Settings of the default meta-learner (its ``bias_tuning``, ``init`` and ``n_trials``).
    metric : str, default "f1_micro"
        The metric (:mod:`mathcls.metrics`) the default meta-learner's choices maximise and
        ``scores_`` leads with.
    pseudo_label : list of str, default ()
        Base models that also train on the ``unlabeled_X`` given to ``fit`` (the test questions),
        labelled by the average of the other base models' fold models (see :mod:`._pseudo_label`).
        Needs ``test_strategy="fold-average"``.
    pseudo_label_threshold : float, default 0.0
        Keep only unlabeled rows whose averaged top probability reaches this value.
    random_state : int, default 42
    cache_dir : str or None
        Folder of the base models' resumable per-fold cache (see :mod:`._fold_runner`).
    verbose : bool, default False
        Print one line per base model and a progress bar per fold.

    Attributes
    ----------
    classes_ : ndarray
    estimators_ : dict name -> list of fitted models (one per fold, or one refitted)
    final_estimator_ : the fitted meta-learner
    oof_proba_ : dict name -> ndarray (n_samples, n_classes), out-of-fold probabilities
    stack_oof_proba_ : ndarray, cross-fitted OOF probabilities of the stack
    unlabeled_base_proba_ : dict name -> ndarray, or None
        Each base model's probabilities on the ``unlabeled_X`` of ``fit``; ``predict_proba`` never
        reuses them, ``predict_proba_from_base`` does.
    pseudo_label_counts_ : dict name -> list of pseudo-labelled rows per fold (pseudo-labelled models)
    scores_ : dict name -> {every metric of :mod:`mathcls.metrics`, fit_seconds, predict_rows_per_s}, including "stack"
    fold_ : ndarray, fold id per training row
    neighbours_ : NeighbourFeatures or None, the fitted neighbour features

    Examples
    --------
    >>> from mathcls import StackingEnsemble, TfidfLogReg
    >>> stack = StackingEnsemble([("word", TfidfLogReg(char_ngram_range=None)),
    ...                           ("char", TfidfLogReg(word_ngram_range=None))], cv=5)
    >>> stack.set_params(word__C=3.0)  # doctest: +ELLIPSIS
    StackingEnsemble(...)
    """

    _parameter_constraints = {
        "estimators": [list, tuple, None],
        "final_estimator": [HasMethods("fit", "predict_proba"), None],
        "cv": [Interval(Integral, 2, None), HasMethods("split", "get_n_splits")],
        "extra_features": ["boolean"],
        "neighbour_features": ["boolean"],
        "test_strategy": [Options(STRATEGIES)],
        "bias_tuning": ["boolean"],
        "meta_init": [Options({"average", "none"})],
        "meta_n_trials": [Interval(Integral, 0, None)],
        "metric": [Options(set(METRICS))],
        "pseudo_label": [str, list, tuple],
        "pseudo_label_threshold": [Interval(Real, 0, 1, closed="left")],
        "random_state": [Interval(Integral, 0, None), None],
        "cache_dir": [str, os.PathLike, None],
        "verbose": ["boolean"],
    }

    def __init__(self, estimators=None, final_estimator=None, cv=5, extra_features=True,
                 test_strategy="fold-average", bias_tuning=True, meta_init="average", meta_n_trials=0,
                 pseudo_label=(), pseudo_label_threshold=0.0, random_state=42, cache_dir=None, verbose=False,
                 neighbour_features=False, metric=DEFAULT):
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
        self.neighbour_features = neighbour_features
        self.metric = metric

    def get_params(self, deep=True):
        """Parameters, with each base model's as ``<name>__<param>`` when ``deep``."""
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters, a base model by its name, or a base model's parameter as ``<name>__<param>``."""
        return self._set_params("estimators", **params)

    def _base_list(self):
        if self.estimators is None:
            from ..models.tfidf import TfidfLogReg

            return [("tfidf", TfidfLogReg())]
        return list(self.estimators)

    def _check_param_relations(self):
        names = check_base_list(self._base_list(), self.get_params(deep=False))
        if self.final_estimator is not None and self.meta_n_trials:
            raise ParameterError("meta_n_trials tunes the default meta-learner; with final_estimator given, "
                                 "set meta_n_trials=0 (or tune final_estimator yourself).")
        check_pseudo_label(name_list(self.pseudo_label), names, self.test_strategy)

    def fit(self, X, y, fold=None, extra_X=None, extra_y=None, extra_source=None, unlabeled_X=None):
        """Fit base models per fold, then the meta-learner on their OOF probabilities (texts ``X``, labels ``y``).

        Parameters
        ----------
        fold : array of fold ids per row, optional. Shared folds: the same as ``cv=SharedFolds(fold)``.
        extra_X, extra_y, extra_source : optional
            Generated or augmented rows that join training folds only; ``extra_source[j]``, the row
            extra row ``j`` came from (or -1), keeps it out of the fold that validates its source.
        unlabeled_X : texts, optional
            Rows without labels (the test questions): ``pseudo_label`` models also train on them;
            every base model's probabilities on them are kept (``unlabeled_base_proba_``).
        """
        self._validate_params()
        pseudo = name_list(self.pseudo_label)
        unlabeled = check_texts(unlabeled_X, "unlabeled_X") if unlabeled_X is not None and len(unlabeled_X) else None
        if pseudo and not unlabeled:
            raise ParameterError(f"pseudo_label={pseudo} needs unlabeled rows; pass unlabeled_X to fit "
                                 "(mathcls run passes the test questions).")
        texts, classes, y_idx = self._check_fit_input(X, y)
        y = np.asarray(y)
        fold = np.asarray(fold_ids(self.cv, y_idx, np.asarray(texts, dtype=object), self.random_state)
                          if fold is None else fold, dtype=np.int64)
        if len(fold) != len(texts):
            raise ParameterError(f"fold has {len(fold)} entries but there are {len(texts)} rows.")
        extra_texts = check_texts(extra_X, "extra_X") if extra_X is not None and len(extra_X) else []
        extra_y = np.asarray(extra_y) if extra_texts else np.empty(0, dtype=y.dtype)
        extra_source = (np.asarray(extra_source, dtype=np.int64) if extra_source is not None
                        else np.full(len(extra_texts), -1, dtype=np.int64))
        self.classes_, self.fold_ = classes, fold
        unlabeled_seconds = self._fit_bases(texts, y, fold, extra_texts, extra_y, extra_source, unlabeled, pseudo)
        self._fit_final(texts, y, fold)
        if unlabeled and unlabeled_seconds > 0:  # the base models' share of prediction time
            self.scores_["stack"]["predict_rows_per_s"] = round(len(unlabeled) / unlabeled_seconds, 1)
        return self

    def _fit_bases(self, texts, y, fold, extra_texts, extra_y, extra_source, unlabeled, pseudo):
        all_texts = np.asarray(texts + extra_texts, dtype=object)
        all_y = np.concatenate([y, extra_y]) if len(extra_y) else y
        data_key = texts_sha256(all_texts.tolist(), all_y.tolist()) + texts_sha256([str(s) for s in extra_source])
        splitter = SharedFolds(fold, extra_source)
        bases = self._base_list()
        # Models that label come first, then the pseudo-labelled ones; estimators_ keeps the given order.
        order = [b for b in bases if b[0] not in pseudo] + [b for b in bases if b[0] in pseudo]
        fitted, self.pseudo_label_counts_ = {}, {}
        for name, est in order:
            rows, key = None, data_key
            if name in pseudo:
                labellers = [fitted[n].unlabeled_proba for n, _ in order if n in fitted and n not in pseudo]
                rows = pseudo_rows(unlabeled, labellers, self.classes_, self.pseudo_label_threshold)
                key = pseudo_data_key(data_key, rows)
                counts = self.pseudo_label_counts_[name] = [int(len(labels)) for _, labels in rows]
                _log(self.verbose, f"  {name:<14} + {min(counts)}-{max(counts)} pseudo-labelled rows per fold")
            cache = cache_folder(self.cache_dir, name, est, key, fold, self.test_strategy)
            if cache is not None and (cache / "done.json").is_file():
                _log(self.verbose, f"  {name:<14} loaded from cache {cache}")
            fitted[name] = fit_base_model(name, est, all_texts, all_y, y, splitter, self.classes_,
                                          strategy=self.test_strategy, cache=cache, unlabeled=unlabeled,
                                          pseudo_rows=rows, verbose=self.verbose)
            stats = fitted[name].stats
            _log(self.verbose, f"  {name:<14} OOF {scores_text(stats, self.metric)}  fit {stats['fit_seconds']:.0f}s")
        self.estimators_ = {name: fitted[name].models for name, _ in bases}
        self.oof_proba_ = {name: fitted[name].oof for name, _ in bases}
        self.scores_ = {name: fitted[name].stats for name, _ in bases}
        self.unlabeled_base_proba_ = ({name: fitted[name].unlabeled_proba.mean(0) for name, _ in bases}
                                      if unlabeled else None)
        return sum(f.unlabeled_seconds for f in fitted.values())

    def _fit_final(self, texts, y, fold):
        self.neighbours_ = (NeighbourFeatures(len(self.classes_)).fit(texts, np.searchsorted(self.classes_, y), fold)
                            if self.neighbour_features else None)
        meta_X = meta_table(self.oof_proba_.values(), texts, self.extra_features,
                            None if self.neighbours_ is None else self.neighbours_.oof_)
        t0 = time.perf_counter()
        if self.final_estimator is None:
            final = MetaLGBMClassifier(init=self.meta_init, n_base_models=len(self.oof_proba_),
                                       n_trials=self.meta_n_trials, bias_tuning=self.bias_tuning,
                                       cv=SharedFolds(fold), random_state=self.random_state, verbose=self.verbose,
                                       metric=self.metric)
            self.final_estimator_ = final.fit(meta_X, y)
            # It cross-fitted itself on the same folds: the stack's honest OOF probabilities.
            self.stack_oof_proba_ = final.oof_proba_
        else:
            self.stack_oof_proba_ = out_of_fold_proba(self.final_estimator, meta_X, y, SharedFolds(fold),
                                                      classes=self.classes_).proba
            self.final_estimator_ = clone(self.final_estimator).fit(meta_X, y)
        self.scores_["stack"] = _stack_scores(y, self.stack_oof_proba_, self.classes_, round(time.perf_counter() - t0, 2),
                                              getattr(self.final_estimator_, "kind_", type(self.final_estimator_).__name__))
        _log(self.verbose, f"  {'stack':<14} OOF {scores_text(self.scores_['stack'], self.metric)}")

    def base_predict_proba(self, X) -> dict:
        """Each base model's probabilities on ``X`` (fold-averaged or refitted), ``classes_`` order."""
        self._check_fitted()
        texts = check_texts(X)
        return {name: np.mean([align_proba(m.predict_proba(texts), m.classes_, self.classes_) for m in models], axis=0)
                for name, models in self.estimators_.items()}

    def predict_proba(self, X):
        """The meta-learner's probabilities on ``X``, columns in ``classes_`` order."""
        texts = check_texts(X)
        return self.predict_proba_from_base(self.base_predict_proba(texts), texts)

    def predict_proba_from_base(self, base_proba: dict, X):
        """The meta-learner's probabilities given each base model's on ``X`` (as ``base_predict_proba``
        or ``unlabeled_base_proba_`` hold them), without predicting with the base models again."""
        self._check_fitted()
        texts = check_texts(X)
        near = None if self.neighbours_ is None else self.neighbours_.transform(texts)
        meta_X = meta_table([base_proba[name] for name in self.estimators_], texts, self.extra_features, near)
        return align_proba(self.final_estimator_.predict_proba(meta_X), self.final_estimator_.classes_, self.classes_)

    # ---- persistence hooks (see mathcls.persist and ._folder)
    def _manifest_params(self) -> dict:
        return _folder.manifest_params(self)

    @classmethod
    def _from_manifest(cls, params, folder, manifest):
        return cls(**_folder.params_from_manifest(params))

    def _save_payload(self, folder):
        _folder.save_payload(self, folder)

    def _load_payload(self, folder, manifest):
        _folder.load_payload(self, folder)
