"""The contract every estimator family passes: clone, NotFittedError before fit, probabilities of
shape (n, n_classes) summing to 1 in classes_ order, string and integer labels, and a save/load
round trip with identical predictions. Families add themselves to ESTIMATORS."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from mathcls.persist import load_model, save_model


def _tfidf():
    from mathcls.models.tfidf import TfidfLogReg

    return TfidfLogReg(min_df=1, C=10.0)


def _transformer():
    from mathcls.models.transformer import TransformerClassifier

    return TransformerClassifier(epochs=2, max_length=32, batch_size=16, learning_rate=5e-4, validation_fraction=0,
                                 output_dir=None, logging_dir=None, progress_bar=False)


def _transformer_lora():
    from mathcls.models.transformer import TransformerClassifier

    return TransformerClassifier(lora_r=8, epochs=3, max_length=32, batch_size=16, learning_rate=3e-3,
                                 validation_fraction=0, output_dir=None, logging_dir=None, progress_bar=False)


def _setfit():
    from mathcls.models.setfit import SetFitClassifier

    return SetFitClassifier(body_epochs=1, max_pairs=16, batch_size=8, max_length=32, progress_bar=False)


def _setfit_frozen():
    from mathcls.models.setfit import SetFitClassifier

    return SetFitClassifier(body_epochs=0, max_length=32, progress_bar=False)


# name -> factory of a small, fast configuration. Neural families register here too.
ESTIMATORS = {
    "tfidf": _tfidf,
    "transformer": _transformer,
    "transformer-lora": _transformer_lora,
    "setfit": _setfit,
    "setfit-frozen": _setfit_frozen,
}

SLOW = {"transformer", "transformer-lora", "setfit", "setfit-frozen"}  # names whose fits take more than a few seconds


def _params():
    return [pytest.param(name, marks=[pytest.mark.slow] if name in SLOW else []) for name in ESTIMATORS]


@pytest.fixture(scope="module")
def fitted(request):
    return {}


def _fit_once(cache, name, corpus):
    if name not in cache:
        texts, y = corpus
        cache[name] = ESTIMATORS[name]().fit(texts, y)
    return cache[name]


@pytest.mark.parametrize("name", _params())
def test_clone_gives_equal_unfitted_estimator(name):
    est = ESTIMATORS[name]()
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "classes_")


@pytest.mark.parametrize("name", _params())
def test_not_fitted_error_before_fit(name, corpus):
    est = ESTIMATORS[name]()
    with pytest.raises(NotFittedError, match=type(est).__name__):
        est.predict_proba(corpus[0][:2])
    with pytest.raises(NotFittedError):
        est.predict(corpus[0][:2])


@pytest.mark.parametrize("name", _params())
def test_proba_shape_sum_and_order(name, corpus, fitted):
    texts, y = corpus
    est = _fit_once(fitted, name, corpus)
    proba = est.predict_proba(texts)
    assert isinstance(proba, np.ndarray)
    assert proba.shape == (len(texts), len(np.unique(y)))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert list(est.classes_) == sorted(set(y.tolist()))
    pred = est.predict(texts)
    np.testing.assert_array_equal(pred, est.classes_[proba.argmax(axis=1)])
    # A fitted model must learn the training data of this separable corpus reasonably.
    assert (pred == y).mean() > 0.5


@pytest.mark.parametrize("name", _params())
def test_string_labels(name, corpus):
    texts, y = corpus
    names = np.array(["alg", "geo", "calc", "prob", "nt", "comb", "linalg", "abstract"])
    ys = names[y]
    est = ESTIMATORS[name]().fit(texts, ys)
    assert set(est.classes_) == set(names)
    pred = est.predict(texts[:5])
    assert pred.dtype.kind in "UO" and set(pred) <= set(names)
    proba = est.predict_proba(texts[:5])
    np.testing.assert_array_equal(est.classes_[proba.argmax(1)], pred)


@pytest.mark.parametrize("name", _params())
def test_save_load_round_trip(name, corpus, fitted, tmp_path):
    texts, _ = corpus
    est = _fit_once(fitted, name, corpus)
    folder = save_model(est, tmp_path / "model")
    loaded = load_model(folder)
    assert type(loaded) is type(est)
    assert loaded.get_params().keys() == est.get_params().keys()
    np.testing.assert_array_equal(loaded.classes_, est.classes_)
    np.testing.assert_allclose(loaded.predict_proba(texts), est.predict_proba(texts), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(loaded.predict(texts), est.predict(texts))


@pytest.mark.parametrize("name", _params())
def test_refit_starts_from_scratch(name, corpus):
    texts, y = corpus
    est = ESTIMATORS[name]()
    keep = np.isin(y, [0, 1, 2])
    est.fit([t for t, k in zip(texts, keep) if k], y[keep])
    assert list(est.classes_) == [0, 1, 2]
    est.fit(texts, y)
    assert list(est.classes_) == sorted(set(y.tolist()))


# scikit-learn's own checks that need no 2-D numeric input. check_estimator() itself skips text
# estimators, so these are called one by one. Skipped, with reasons:
#   check_fit2d_*, check_fit1d, check_dtype_object, check_estimators_nan_inf, check_methods_*:
#       feed numeric 2-D arrays; our input is a 1-D sequence of texts.
#   check_classifiers_train, check_supervised_y_2d, check_classifiers_regression_target:
#       build numeric X with make_blobs.
#   check_n_features_in: text estimators have no n_features_in_.
#   check_estimators_pickle: model folders, not pickle, are the persistence format (tested above).
SKLEARN_CHECKS = [
    check_parameters_default_constructible,
    check_no_attributes_set_in_init,
    check_get_params_invariance,
    check_set_params,
]


@pytest.mark.parametrize("check", SKLEARN_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", _params())
def test_sklearn_checks(name, check):
    est = ESTIMATORS[name]()
    check(type(est).__name__, est)


def test_tfidf_inside_pipeline_and_grid_search(corpus):
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import Pipeline

    from mathcls.models.tfidf import TfidfLogReg
    from mathcls.text import TextNormalizer

    texts, y = corpus
    pipe = Pipeline([("norm", TextNormalizer()), ("clf", TfidfLogReg(min_df=1, normalize=False))])
    scores = cross_val_score(pipe, texts, y, cv=3)
    assert scores.mean() > 0.5
    grid = GridSearchCV(TfidfLogReg(min_df=1), {"C": [1.0, 10.0]}, cv=3).fit(texts, y)
    assert grid.best_params_["C"] in (1.0, 10.0)
    assert grid.predict(texts[:3]).shape == (3,)
