"""The stack's default meta-learner: LightGBM boosting from the base models' average, with bias tuning.

:class:`MetaLGBMClassifier` is a scikit-learn classifier on a numeric table whose first columns are
the base models' probabilities (one block of ``n_classes`` columns per model) and whose other columns
are free features. Its trees start from the average of the probability blocks (LightGBM init
scores) and learn small corrections. It keeps the plain average when the trees do not beat it on
rows they were not fitted on, and adds per-class bias offsets (:mod:`._bias`) when they pay off.
Any other classifier can replace it in ``StackingEnsemble(final_estimator=...)``.
"""

from __future__ import annotations

import json
import logging
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..errors import ModelFolderError, ParameterError
from ..folds import SharedFolds, fold_ids
from ..metrics import DEFAULT, METRICS, get_metric
from ..models.base import softmax
from ..models.validation import HasMethods, Interval, Options, validate_params
from ..oof import out_of_fold_proba
from ._bias import apply_bias, cross_fit_bias

_BOOSTER_FILE = "meta_lightgbm.txt"
_STATE_FILE = "meta.json"

#: The default LightGBM parameters; also the first trial of ``n_trials`` tuning.
META_DEFAULTS = dict(
    n_estimators=100, learning_rate=0.01, num_leaves=15, min_child_samples=20, subsample=0.8,
    subsample_freq=1, colsample_bytree=0.7, reg_lambda=1.0,
)
_TUNED = ("n_estimators", "learning_rate", "num_leaves", "min_child_samples", "reg_lambda", "colsample_bytree")


def _init_scores(average: np.ndarray) -> np.ndarray:
    """LightGBM init scores that reproduce ``average``: log-probabilities (binary: the logit)."""
    logp = np.log(np.clip(average, 1e-9, 1.0))
    return logp[:, 1] - logp[:, 0] if average.shape[1] == 2 else logp


def _from_raw(raw: np.ndarray) -> np.ndarray:
    if raw.ndim == 1:  # binary
        p1 = 1.0 / (1.0 + np.exp(-raw))
        return np.column_stack([1 - p1, p1])
    return softmax(raw)


def _booster_proba(booster, X32, average) -> np.ndarray:
    """Class probabilities of a fitted booster; with ``average``, boosting started from it."""
    if average is not None:
        return _from_raw(booster.predict(X32, raw_score=True) + _init_scores(average))
    proba = np.asarray(booster.predict(X32))
    return np.column_stack([1 - proba, proba]) if proba.ndim == 1 else proba


class _Booster(ClassifierMixin, BaseEstimator):
    """One LightGBM fit on class indices ``0..n_classes-1``: the unit the meta-learner cross-fits.

    ``lgbm_params`` are complete (nothing left to resolve); ``n_base_models`` is None for boosting
    from scratch. One thread: on a small table OpenMP threads cost more than they save, badly so
    on a shared CPU.
    """

    def __init__(self, lgbm_params=None, n_base_models=None, random_state=None):
        self.lgbm_params = lgbm_params
        self.n_base_models = n_base_models
        self.random_state = random_state

    def fit(self, X, y):
        from lightgbm import LGBMClassifier

        self.classes_ = np.unique(y)
        model = LGBMClassifier(**self.lgbm_params, random_state=self.random_state, n_jobs=1, verbose=-1)
        average = _average(X, self.n_base_models, len(self.classes_))
        if average is None:
            model.fit(_float32(X), y)
        else:
            model.fit(_float32(X), y, init_score=_init_scores(average))
        self.booster_ = model.booster_
        return self

    def predict_proba(self, X):
        return _booster_proba(self.booster_, _float32(X), _average(X, self.n_base_models, len(self.classes_)))


def _float32(X) -> np.ndarray:
    # LightGBM bins its features anyway; float32 halves the table. The init average is taken from
    # the table as given (float64 probabilities), so it is exact.
    return np.asarray(X, dtype=np.float32)


def _average(X, n_base_models, n_classes) -> np.ndarray | None:
    """Mean of the first ``n_base_models`` blocks of ``n_classes`` columns (None: no average)."""
    if n_base_models is None:
        return None
    X = np.asarray(X, dtype=np.float64)
    return np.mean([X[:, i * n_classes:(i + 1) * n_classes] for i in range(n_base_models)], axis=0)


class MetaLGBMClassifier(ClassifierMixin, BaseEstimator):
    """LightGBM meta-learner on base-model probabilities, boosting from their average, with bias tuning.

    Parameters
    ----------
    init : {"average", "none"}, default "average"
        ``"average"``: the trees start from the average of the probability blocks and learn
        corrections; ``"none"``: they start from scratch (the average is still the fallback).
    n_base_models : int or None, default None
        Number of leading probability blocks (``n_classes`` columns each, in ``classes_`` order).
        None: every column is a probability block.
    n_estimators, learning_rate, num_leaves, subsample, subsample_freq, colsample_bytree, reg_lambda
        LightGBM parameters; the defaults (shallow trees, slow learning, row and column sampling)
        suit a small out-of-fold table.
    min_child_samples : int or None, default None
        None: ``min(20, max(2, n_rows // 40))``, since LightGBM's 20 cannot split a few hundred rows.
    n_trials : int, default 0
        Trials of an Optuna study over the LightGBM parameters, scored by cross-fitting over ``cv``
        (0: keep the parameters given).
    bias_tuning : bool, default True
        Fit per-class logit offsets; kept only when they improve the cross-fitted ``metric``. Not
        done for a metric of probabilities (log-loss), which offsets cannot serve.
    metric : str, default "f1_micro"
        A metric of :mod:`mathcls.metrics`: what the tuning, the average-or-trees choice and the bias
        tuning maximise.
    cv : int or splitter, default 5
        Folds for cross-fitting (tuning, the average-or-trees choice, bias); an int means stratified
        folds seeded with ``random_state``. The stack passes its own folds.
    random_state : int or None, default 0
    verbose : bool, default False

    Attributes
    ----------
    classes_ : ndarray
    kind_ : "learned" or "average", whichever cross-fitted better; with "average" no trees are kept
    booster_ : lightgbm.Booster or None
    lgbm_params_ : dict, the LightGBM parameters used
    bias_ : ndarray or None, per-class logit offsets
    oof_proba_ : ndarray, cross-fitted probabilities of the training rows (after bias)
    n_features_in_ : int

    Examples
    --------
    >>> meta = MetaLGBMClassifier(n_base_models=2)   # doctest: +SKIP
    >>> meta.fit(np.hstack([proba_a, proba_b]), y).predict_proba(np.hstack([new_a, new_b]))  # doctest: +SKIP
    """

    _parameter_constraints = {
        "init": [Options({"average", "none"})],
        "n_base_models": [Interval(Integral, 1, None), None],
        "n_estimators": [Interval(Integral, 1, None)],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "num_leaves": [Interval(Integral, 2, None)],
        "min_child_samples": [Interval(Integral, 1, None), None],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "subsample_freq": [Interval(Integral, 0, None)],
        "colsample_bytree": [Interval(Real, 0, 1, closed="right")],
        "reg_lambda": [Interval(Real, 0, None)],
        "n_trials": [Interval(Integral, 0, None)],
        "bias_tuning": ["boolean"],
        "metric": [Options(set(METRICS))],
        "cv": [Interval(Integral, 2, None), HasMethods("split", "get_n_splits")],
        "random_state": [Interval(Integral, 0, None), None],
        "verbose": ["boolean"],
    }

    def __init__(self, init="average", n_base_models=None, n_estimators=100, learning_rate=0.01, num_leaves=15,
                 min_child_samples=None, subsample=0.8, subsample_freq=1, colsample_bytree=0.7, reg_lambda=1.0,
                 n_trials=0, bias_tuning=True, cv=5, random_state=0, verbose=False, metric=DEFAULT):
        self.init = init
        self.n_base_models = n_base_models
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.subsample_freq = subsample_freq
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.n_trials = n_trials
        self.bias_tuning = bias_tuning
        self.cv = cv
        self.random_state = random_state
        self.verbose = verbose
        self.metric = metric

    def _validate_params(self):
        validate_params(self)

    def _log(self, msg):
        if self.verbose:
            logging.getLogger(__name__).info(msg)

    def _check_table(self, X, n_classes) -> tuple[np.ndarray, int]:
        X = np.asarray(X)
        if X.ndim != 2 or X.dtype.kind not in "biuf":
            raise ValueError(f"{type(self).__name__} takes a 2-D numeric table (the base models' out-of-fold "
                             "probabilities), not texts.")
        blocks = self.n_base_models or X.shape[1] // n_classes
        if blocks < 1 or blocks * n_classes > X.shape[1] or (self.n_base_models is None and X.shape[1] % n_classes):
            raise ParameterError(f"The table has {X.shape[1]} columns, which do not hold "
                                 f"{self.n_base_models or 'whole'} blocks of {n_classes} class probabilities; "
                                 "set n_base_models to the number of base models.")
        return X, blocks

    def _booster(self, params, blocks) -> _Booster:
        return _Booster(params, blocks if self.init == "average" else None, self.random_state)

    def _cross_fit(self, X, y_idx, splitter, fold, params, blocks):
        """Cross-fitted probabilities of the trees, or None when a training part misses a class."""
        n_classes = int(y_idx.max()) + 1
        if any(len(np.unique(y_idx[fold != k])) < n_classes for k in range(int(fold.max()) + 1)):
            return None
        return out_of_fold_proba(self._booster(params, blocks), X, y_idx, splitter,
                                 classes=np.arange(n_classes)).proba

    def fit(self, X, y):
        """Fit on ``X`` (probability blocks, then free features) and labels ``y``."""
        self._validate_params()
        self.classes_, y_idx = np.unique(np.asarray(y), return_inverse=True)
        X, blocks = self._check_table(X, len(self.classes_))
        self.n_features_in_ = X.shape[1]
        fold = fold_ids(self.cv, y_idx, seed=self.random_state or 0)
        splitter = SharedFolds(fold)
        params = {k: getattr(self, k) for k in META_DEFAULTS}
        params["min_child_samples"] = (int(min(20, max(2, len(y_idx) // 40))) if self.min_child_samples is None
                                       else self.min_child_samples)
        if self.n_trials:
            params.update(self._tune(X, y_idx, splitter, fold, params, blocks))
        self.lgbm_params_ = params
        # The plain average needs no training, so its out-of-fold score is honest too; on small
        # data it can beat the trees, and the better of the two is kept.
        metric = get_metric(self.metric)
        average = _average(X, blocks, len(self.classes_))
        averaged = metric.score(y_idx, average)
        learned_oof = self._cross_fit(X, y_idx, splitter, fold, params, blocks)
        learned = None if learned_oof is None else metric.score(y_idx, learned_oof)
        self.kind_ = ("learned" if learned is not None and metric.gain(y_idx, learned_oof) >= metric.gain(y_idx, average)
                      else "average")
        self._log(f"  meta-learner CV {metric.title} {'-' if learned is None else f'{learned:.4f}'}, plain average "
                  f"{averaged:.4f}: using the " + ("meta-learner" if self.kind_ == "learned" else "average"))
        oof = learned_oof if self.kind_ == "learned" else average
        self.bias_ = None
        if self.bias_tuning and metric.bias_tuning:
            self.bias_, biased = cross_fit_bias(oof, y_idx, splitter, metric.name)
            self._log(f"  bias tuning kept: {metric.title} {metric.score(y_idx, oof):.4f} -> "
                      f"{metric.score(y_idx, biased):.4f}" if self.bias_ is not None
                      else "  bias tuning did not improve CV; not used")
            oof = biased
        elif self.bias_tuning:
            self._log(f"  bias tuning skipped: offsets change only the argmax, which {metric.title} does not score")
        self.oof_proba_ = oof
        self.booster_ = (self._booster(params, blocks).fit(X, y_idx).booster_ if self.kind_ == "learned" else None)
        return self

    def _tune(self, X, y_idx, splitter, fold, params, blocks) -> dict:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        n = len(y_idx)

        def objective(trial):
            trial_params = dict(params, **{
                "n_estimators": trial.suggest_int("n_estimators", 50, 400, step=25),
                "learning_rate": trial.suggest_float("learning_rate", 0.003, 0.05, log=True),
                "num_leaves": trial.suggest_int("num_leaves", 4, 31),
                "min_child_samples": trial.suggest_int("min_child_samples", 5, int(max(10, min(60, n // 20)))),
                "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
                "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            })
            proba = self._cross_fit(X, y_idx, splitter, fold, trial_params, blocks)
            return (-1.0 if metric.greater_is_better else -1e9) if proba is None else float(metric.gain(y_idx, proba))

        metric = get_metric(self.metric)
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=self.random_state))
        study.enqueue_trial({**{k: params[k] for k in _TUNED}, "min_child_samples": int(min(20, max(5, n // 40)))})
        study.optimize(objective, n_trials=int(self.n_trials))
        self._log(f"  meta-learner tuned: CV {metric.title} {abs(study.best_value):.4f} with {study.best_params}")
        return study.best_params

    def predict_proba(self, X):
        """Probabilities (after bias), columns in ``classes_`` order."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "kind_")
        X, blocks = self._check_table(X, len(self.classes_))
        average = _average(X, blocks, len(self.classes_))
        if self.kind_ == "average":
            proba = average
        else:
            proba = _booster_proba(self.booster_, _float32(X), average if self.init == "average" else None)
        return apply_bias(proba, self.bias_)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # ---- persistence hooks (see mathcls.persist)
    def _manifest_params(self) -> dict:
        params = self.get_params(deep=False)
        if not isinstance(params["cv"], Integral):
            params["cv"] = int(params["cv"].get_n_splits())  # a splitter is saved as its number of folds
        return params

    def _save_payload(self, folder: Path) -> None:
        if self.booster_ is not None:
            self.booster_.save_model(str(folder / _BOOSTER_FILE))
        state = {"kind": self.kind_, "bias": None if self.bias_ is None else self.bias_.tolist(),
                 "lgbm_params": self.lgbm_params_, "n_features_in": self.n_features_in_}
        (folder / _STATE_FILE).write_text(json.dumps(state, indent=2))

    def _load_payload(self, folder: Path, manifest: dict) -> None:
        path = folder / _STATE_FILE
        if not path.is_file():
            raise ModelFolderError(f"{folder} is missing {_STATE_FILE}; the meta-learner folder is incomplete.")
        state = json.loads(path.read_text())
        self._set_fitted(state["kind"], state["bias"], state["lgbm_params"], state["n_features_in"],
                         folder / _BOOSTER_FILE)

    def _set_fitted(self, kind, bias, lgbm_params, n_features_in, booster_file) -> None:
        """Fitted state from saved parts (a meta-learner folder, or an old stack folder's files)."""
        import lightgbm as lgb

        self.kind_ = kind
        self.bias_ = None if bias is None else np.asarray(bias)
        self.lgbm_params_ = lgbm_params
        self.n_features_in_ = n_features_in
        self.booster_ = lgb.Booster(model_file=str(booster_file)) if kind == "learned" else None
