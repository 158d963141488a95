"""out_of_fold_proba: the one fold loop, checked against a loop written by hand, and its hooks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline

from mathcls.folds import SharedFolds
from mathcls.oof import FoldHook, FoldResult, out_of_fold_proba

from .conftest import make_corpus


def _tfidf():
    return make_pipeline(TfidfVectorizer(), LogisticRegression(C=5.0, max_iter=1000))


def test_equals_a_fold_loop_written_by_hand():
    texts, y = make_corpus(5, seed=1, classes=[0, 1, 2, 3])
    y = y.copy()
    y[[0, 1]] = 9  # class 9 has two rows, both in the first validation part: its fold never trains on it
    fold = np.array([0, 0] + [1, 2, 0] * 6)
    result = out_of_fold_proba(_tfidf(), texts, y, SharedFolds(fold))

    classes = [0, 1, 2, 3, 9]
    expected = np.zeros((len(y), 5))
    for k in range(3):
        train, valid = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        model = _tfidf().fit([texts[i] for i in train], y[train])
        proba = model.predict_proba([texts[i] for i in valid])
        for j, c in enumerate(model.classes_):
            expected[valid, classes.index(c)] = proba[:, j]
    np.testing.assert_array_equal(result.classes, classes)
    np.testing.assert_allclose(result.proba, expected, atol=1e-12)
    assert (result.proba[[0, 1], 4] == 0).all()  # a class the fold model never saw gets probability 0
    assert [f.fold for f in result.folds] == [0, 1, 2] and result.models == [None] * 3
    scores = [f.f1_micro(y) for f in result.folds]
    assert scores[0] == pytest.approx(np.mean(np.take(classes, expected[fold == 0].argmax(1)) == y[fold == 0]))


def test_takes_any_splitter_and_an_int_like_scikit_learn():
    from sklearn.model_selection import cross_val_predict

    texts, y = make_corpus(6, seed=2, classes=[0, 1, 2])
    X = np.asarray(texts, dtype=object)
    for cv in (KFold(3, shuffle=True, random_state=0), 3):
        ours = out_of_fold_proba(_tfidf(), X, y, cv).proba
        theirs = cross_val_predict(_tfidf(), X, y, cv=cv, method="predict_proba")
        np.testing.assert_allclose(ours, theirs, atol=1e-12)


class Recorder(FoldHook):
    def __init__(self, loaded=None):
        self.loaded, self.events = loaded or {}, []

    def load(self, fold, train_index, valid_index):
        return self.loaded.get(fold)

    def before_fit(self, fold, estimator):
        self.events.append(("before", fold))
        return estimator.set_params(logisticregression__C=0.01 * (fold + 1))

    def after_fold(self, result):
        self.events.append(("after", result.fold, result.loaded, result.model is not None))


def test_hooks_load_adjust_and_see_every_fold():
    texts, y = make_corpus(6, seed=3, classes=[0, 1, 2])
    fold = np.arange(len(y)) % 3
    valid = np.flatnonzero(fold == 1)
    stored = FoldResult(1, valid, np.full((len(valid), 3), 1 / 3), np.array([0, 1, 2]), loaded=True)
    hook = Recorder({1: stored})
    result = out_of_fold_proba(_tfidf(), texts, y, SharedFolds(fold), hooks=[hook], keep_models=True)
    # Fold 1 came from the hook, unfitted; folds 0 and 2 were fitted with the C the hook set.
    assert hook.events == [("before", 0), ("after", 0, False, True), ("after", 1, True, False),
                           ("before", 2), ("after", 2, False, True)]
    np.testing.assert_allclose(result.proba[valid], 1 / 3)
    assert [m.get_params()["logisticregression__C"] for m in (result.models[0], result.models[2])] == [0.01, 0.03]


def test_unlabeled_rows_and_per_fold_training_rows():
    texts, y = make_corpus(6, seed=4, classes=[0, 1, 2])
    unlabeled, _ = make_corpus(2, seed=5, classes=[0, 1, 2])
    fold = np.arange(len(y)) % 3
    extra = [([f"zzfold{k} {t}" for t in unlabeled[:k + 1]], np.zeros(k + 1, dtype=int)) for k in range(3)]
    result = out_of_fold_proba(_tfidf(), texts, y, SharedFolds(fold), keep_models=True, unlabeled_X=unlabeled,
                               fold_train_extra=extra)
    assert result.unlabeled_proba.shape == (3, len(unlabeled), 3)
    for k, model in enumerate(result.models):
        vocabulary = model.named_steps["tfidfvectorizer"].vocabulary_
        # Fold k trained on its own extra rows and on no other fold's.
        assert [f"zzfold{j}" in vocabulary for j in range(3)] == [j == k for j in range(3)]
        np.testing.assert_allclose(result.unlabeled_proba[k], model.predict_proba(unlabeled), atol=1e-12)


def test_a_fold_loaded_without_its_model_cannot_predict_unlabeled_rows():
    texts, y = make_corpus(4, seed=6, classes=[0, 1])
    fold = np.arange(len(y)) % 2
    valid = np.flatnonzero(fold == 0)
    stored = FoldResult(0, valid, np.full((len(valid), 2), 0.5), np.array([0, 1]), loaded=True)
    with pytest.raises(ValueError, match="loaded without its model"):
        out_of_fold_proba(_tfidf(), texts, y, SharedFolds(fold), hooks=[Recorder({0: stored})], unlabeled_X=["x"])
