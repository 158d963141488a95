"""StackingEnsemble: OOF discipline, caching, bias tuning, persistence."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from mathcls.models.base import TextClassifierMixin
from mathcls.models.tfidf import TfidfLogReg
from mathcls.persist import load_model, save_model
from mathcls.stacking import StackingEnsemble, apply_bias, tune_bias

from .conftest import make_corpus


class ExactMemorizer(TextClassifierMixin, ClassifierMixin, BaseEstimator):
    """1-nearest-neighbour on exact text: perfect on its training rows, uniform elsewhere."""

    def fit(self, X, y):
        texts, classes, y_idx = self._check_fit_input(X, y)
        self.classes_ = classes
        self.table_ = dict(zip(texts, y_idx))
        return self

    def predict_proba(self, X):
        self._check_fitted()
        out = np.full((len(X), len(self.classes_)), 1.0 / len(self.classes_))
        for i, t in enumerate(X):
            if t in self.table_:
                out[i] = 0.0
                out[i, self.table_[t]] = 1.0
        return out


def noisy_corpus(n_per_class, seed, exclude=()):
    """Unique texts from separable templates, 30% of labels flipped: no model is perfect on new rows."""
    texts, y = make_corpus(n_per_class, seed=seed)
    seen, keep = set(exclude), []
    for i, t in enumerate(texts):
        if t not in seen:
            seen.add(t)
            keep.append(i)
    texts, y = [texts[i] for i in keep], y[keep]
    rng = np.random.default_rng(seed)
    flip = rng.random(len(y)) < 0.3
    y = y.copy()
    y[flip] = rng.integers(0, 8, flip.sum())
    return texts, y


def test_memorising_base_model_does_not_fool_the_meta_learner():
    texts, y = noisy_corpus(30, seed=3)
    test_texts, test_y = noisy_corpus(15, seed=4, exclude=texts)
    stack = StackingEnsemble([("memo", ExactMemorizer()), ("tfidf", TfidfLogReg(min_df=1))], cv=4,
                             extra_features=False, bias_tuning=False, random_state=0)
    stack.fit(texts, y)
    # The memoriser's out-of-fold predictions carry no information...
    assert stack.scores_["memo"]["f1_micro"] < 0.25
    np.testing.assert_allclose(stack.oof_proba_["memo"], 1 / 8)
    # ...while in-sample it is perfect: had the meta-learner seen in-sample predictions it would
    # trust the memoriser and fail on new rows.
    assert (ExactMemorizer().fit(texts, y).predict(texts) == y).mean() == 1.0
    # The stack's CV estimate stays honest: close to its score on genuinely new rows.
    cv_score = stack.scores_["stack"]["f1_micro"]
    holdout = (stack.predict(test_texts) == test_y).mean()
    assert cv_score < 0.95
    assert abs(cv_score - holdout) < 0.15, (cv_score, holdout)
    alone = (TfidfLogReg(min_df=1).fit(texts, y).predict(test_texts) == test_y).mean()
    assert holdout >= alone - 0.1


def test_stack_beats_or_matches_its_bases_and_round_trips(tmp_path):
    texts, y = noisy_corpus(20, seed=5)
    stack = StackingEnsemble([("word", TfidfLogReg(min_df=1, char_ngram_range=None)),
                              ("char", TfidfLogReg(min_df=1, word_ngram_range=None))], cv=3, random_state=1)
    stack.fit(texts, y)
    assert set(stack.scores_) == {"word", "char", "stack"}
    assert len(stack.estimators_["word"]) == 3  # fold-average keeps one model per fold
    proba = stack.predict_proba(texts[:10])
    assert proba.shape == (10, 8)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-6)
    folder = save_model(stack, tmp_path / "stack")
    loaded = load_model(folder)
    assert isinstance(loaded, StackingEnsemble)
    np.testing.assert_allclose(loaded.predict_proba(texts[:10]), proba, atol=1e-6)
    np.testing.assert_array_equal(loaded.predict(texts), stack.predict(texts))


def test_refit_strategy_and_shared_folds():
    texts, y = make_corpus(8, seed=6)
    fold = np.arange(len(y)) % 4
    stack = StackingEnsemble([("tfidf", TfidfLogReg(min_df=1))], test_strategy="refit", bias_tuning=False)
    stack.fit(texts, y, fold=fold)
    np.testing.assert_array_equal(stack.fold_, fold)
    assert len(stack.estimators_["tfidf"]) == 1
    assert stack.predict(texts[:3]).shape == (3,)


def test_cache_reuses_base_models(tmp_path):
    texts, y = make_corpus(8, seed=7)
    cache = tmp_path / "cache"
    first = StackingEnsemble([("tfidf", TfidfLogReg(min_df=1))], cv=3, cache_dir=str(cache), bias_tuning=False)
    first.fit(texts, y)
    entries = list((cache / "base").iterdir())
    assert len(entries) == 1 and (entries[0] / "done.json").is_file()
    stamp = (entries[0] / "oof.npy").stat().st_mtime_ns
    # Adding a model trains only the new one; the cached one is loaded, not refitted.
    second = StackingEnsemble([("tfidf", TfidfLogReg(min_df=1)), ("word", TfidfLogReg(min_df=1, char_ngram_range=None))],
                              cv=3, cache_dir=str(cache), bias_tuning=False)
    second.fit(texts, y)
    assert (entries[0] / "oof.npy").stat().st_mtime_ns == stamp
    assert len(list((cache / "base").iterdir())) == 2
    np.testing.assert_allclose(second.oof_proba_["tfidf"], first.oof_proba_["tfidf"])
    # Other parameters are another cache entry.
    StackingEnsemble([("tfidf", TfidfLogReg(min_df=1, C=1.0))], cv=3, cache_dir=str(cache), bias_tuning=False).fit(texts, y)
    assert len(list((cache / "base").iterdir())) == 3


def test_extra_rows_join_training_folds_only():
    texts, y = make_corpus(6, seed=8)
    extra_texts = [t + " (copy)" for t in texts]
    source = np.arange(len(texts))
    stack = StackingEnsemble([("memo", ExactMemorizer())], cv=3, extra_features=False, bias_tuning=False)
    stack.fit(texts, y, extra_X=extra_texts, extra_y=y, extra_source=source)
    # Each validation row's own copy never trained the model that predicted it: still uniform.
    np.testing.assert_allclose(stack.oof_proba_["memo"], 1 / 8)


def test_bias_tuning_fixes_a_shifted_class():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    proba = np.full((600, 3), 0.2)
    proba[np.arange(600), y] = 0.6
    proba[:, 2] *= 0.3  # class 2 systematically under-predicted
    proba /= proba.sum(1, keepdims=True)
    before = (proba.argmax(1) == y).mean()
    bias = tune_bias(proba, y)
    after = (apply_bias(proba, bias).argmax(1) == y).mean()
    assert after > before + 0.2 and bias[2] > bias[0]


@pytest.mark.parametrize("kwargs, message", [
    ({"estimators": []}, "estimators is empty"),
    ({"test_strategy": "vote"}, "test_strategy must be one of"),
    ({"cv": 1}, "cv must be an integer >= 2"),
    ({"meta_init": "zero"}, "meta_init must be"),
    ({"final_estimator": TfidfLogReg()}, "meta_init='average' needs the default LightGBM"),
    ({"estimators": [("a", TfidfLogReg()), ("a", TfidfLogReg())]}, "must be unique"),
])
def test_bad_parameters(kwargs, message):
    from mathcls.errors import ParameterError

    texts, y = make_corpus(4)
    with pytest.raises(ParameterError, match=message):
        StackingEnsemble(**kwargs).fit(texts, y)


class Crash(Exception):
    pass


_FLAKY_CALLS = {"n": 0}


class FlakyTfidf(TfidfLogReg):
    """Crashes on its third fit, like a run killed during the third fold."""

    def fit(self, X, y):
        _FLAKY_CALLS["n"] += 1
        if _FLAKY_CALLS["n"] == 3:
            raise Crash
        return super().fit(X, y)


def test_interrupted_base_model_resumes_at_the_next_fold(tmp_path):
    texts, y = make_corpus(8, seed=9)
    cache = tmp_path / "cache"

    calls = _FLAKY_CALLS
    calls["n"] = 0
    from mathcls import models

    models.MODELS["flaky"] = "tests.test_stacking:FlakyTfidf"
    try:
        stack = StackingEnsemble([("flaky", FlakyTfidf(min_df=1))], cv=4, cache_dir=str(cache), bias_tuning=False)
        with pytest.raises(Crash):
            stack.fit(texts, y)
        assert calls["n"] == 3  # two folds finished and were stored
        stack.fit(texts, y)
        assert calls["n"] == 5  # only folds 3 and 4 ran again
        full = StackingEnsemble([("tfidf", TfidfLogReg(min_df=1))], cv=4, bias_tuning=False).fit(texts, y)
        np.testing.assert_allclose(stack.oof_proba_["flaky"], full.oof_proba_["tfidf"], atol=1e-6)
    finally:
        del models.MODELS["flaky"]


@pytest.mark.parametrize("k", [2, 5])
def test_init_scores_reproduce_the_average(k):
    from mathcls.stacking import _from_raw, _init_scores

    rng = np.random.default_rng(k)
    avg = rng.dirichlet(np.ones(k), size=20)
    np.testing.assert_allclose(_from_raw(_init_scores(avg)), avg, atol=1e-9)


def test_stack_never_scores_below_the_plain_average():
    texts, y = noisy_corpus(40, seed=11)
    stack = StackingEnsemble([("word", TfidfLogReg(min_df=1, char_ngram_range=None)),
                              ("char", TfidfLogReg(min_df=1, word_ngram_range=None))], cv=4, random_state=0)
    stack.fit(texts, y)
    assert stack.meta_kind_ in ("learned", "average")
    # Whichever meta-model is kept, the stack's OOF score is never below the plain average's.
    average = np.mean(list(stack.oof_proba_.values()), axis=0)
    assert stack.scores_["stack"]["f1_micro"] >= (stack.classes_[average.argmax(1)] == y).mean() - 1e-12
    proba = stack.predict_proba(texts[:7])
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-6)


def test_pseudo_labels_of_a_fold_come_from_models_that_never_saw_it():
    # The unlabeled rows are exact copies of the training rows, with labels that no model can
    # guess (pure noise). A memorising labeller trained on all rows would hand each validation
    # row its true label through its copy, and a memorising pseudo-labelled model would score 1.0.
    rng = np.random.default_rng(0)
    texts = [f"question number {i}" for i in range(160)]
    y = rng.integers(0, 8, len(texts))
    stack = StackingEnsemble([("labeller", ExactMemorizer()), ("student", ExactMemorizer())], cv=4,
                             pseudo_label=["student"], extra_features=False, bias_tuning=False)
    stack.fit(texts, y, unlabeled_X=list(texts))
    # Every fold got all unlabeled rows (threshold 0), and the student's OOF score is chance level.
    assert stack.pseudo_label_counts_ == {"student": [160] * 4}
    assert stack.scores_["student"]["f1_micro"] < 0.3
    assert list(stack.estimators_) == ["labeller", "student"]
    # The student did learn the pseudo-labels: its fold models know every unlabeled text.
    assert all(len(m.table_) == 160 for m in stack.estimators_["student"])
    # A threshold above the labeller's uniform 1/8 keeps only the copies of the rows each fold's
    # labeller trained on: the validation rows' copies stay unlabeled, and the student knows nothing.
    strict = StackingEnsemble([("labeller", ExactMemorizer()), ("student", ExactMemorizer())], cv=4,
                              pseudo_label=["student"], pseudo_label_threshold=0.5, extra_features=False,
                              bias_tuning=False).fit(texts, y, unlabeled_X=list(texts))
    assert strict.pseudo_label_counts_ == {"student": [120] * 4}
    np.testing.assert_allclose(strict.oof_proba_["student"], 1 / 8)


def test_pseudo_labelled_model_learns_from_unlabeled_rows_and_is_cached(tmp_path):
    texts, y = make_corpus(6, seed=11)
    unlabeled, unlabeled_y = make_corpus(30, seed=12)
    cache = tmp_path / "cache"

    def make():
        return StackingEnsemble([("tfidf", TfidfLogReg(min_df=1)), ("student", TfidfLogReg(min_df=1, C=50.0))],
                                cv=3, pseudo_label="student", cache_dir=str(cache), bias_tuning=False)

    stack = make().fit(texts, y, unlabeled_X=unlabeled)
    plain = StackingEnsemble([("student", TfidfLogReg(min_df=1, C=50.0))], cv=3, bias_tuning=False).fit(texts, y)
    # Five times more (pseudo-labelled) rows help the student on its validation folds.
    assert stack.scores_["student"]["f1_micro"] >= plain.scores_["student"]["f1_micro"]
    assert stack.pseudo_label_counts_["student"] == [len(unlabeled)] * 3
    # predict_proba on the unlabeled rows reuses the predictions made during fit, and they equal
    # a fresh prediction; new texts are predicted as usual.
    memo = stack.predict_proba(unlabeled)
    assert stack.scores_["stack"]["predict_rows_per_s"] > 0
    stack._unlabeled_memo = None
    np.testing.assert_allclose(stack.predict_proba(unlabeled), memo, atol=1e-9)
    # A rerun loads both models from the cache; other unlabeled rows retrain the student only.
    entries = sorted(p.name for p in (cache / "base").iterdir())
    assert len(entries) == 2
    again = make().fit(texts, y, unlabeled_X=unlabeled)
    np.testing.assert_allclose(again.oof_proba_["student"], stack.oof_proba_["student"])
    assert sorted(p.name for p in (cache / "base").iterdir()) == entries
    make().fit(texts, y, unlabeled_X=unlabeled[:60])
    after = sorted(p.name for p in (cache / "base").iterdir())
    assert len(after) == 3 and [e for e in after if e.startswith("tfidf")] == [e for e in entries if e.startswith("tfidf")]


def test_pseudo_label_ensemble_round_trips(tmp_path):
    texts, y = make_corpus(6, seed=13)
    unlabeled, _ = make_corpus(4, seed=14)
    stack = StackingEnsemble([("tfidf", TfidfLogReg(min_df=1)), ("student", TfidfLogReg(min_df=1, C=50.0))],
                             cv=3, pseudo_label=["student"], bias_tuning=False).fit(texts, y, unlabeled_X=unlabeled)
    loaded = load_model(save_model(stack, tmp_path / "model"))
    assert loaded.pseudo_label == ["student"]
    np.testing.assert_allclose(loaded.predict_proba(unlabeled), stack.predict_proba(unlabeled), atol=1e-6)


@pytest.mark.parametrize("kwargs, fit_kwargs, message", [
    ({"pseudo_label": ["nope"]}, {"unlabeled_X": ["x"]}, "pseudo_label names 'nope'"),
    ({"pseudo_label": ["a", "b"]}, {"unlabeled_X": ["x"]}, "lists every base model"),
    ({"pseudo_label": ["b"], "test_strategy": "refit"}, {"unlabeled_X": ["x"]}, "needs test_strategy='fold-average'"),
    ({"pseudo_label": ["b"], "pseudo_label_threshold": 1.0}, {"unlabeled_X": ["x"]}, "pseudo_label_threshold must be"),
    ({"pseudo_label": ["b"]}, {}, "needs unlabeled rows"),
])
def test_bad_pseudo_label_parameters(kwargs, fit_kwargs, message):
    from mathcls.errors import ParameterError

    texts, y = make_corpus(4)
    stack = StackingEnsemble([("a", TfidfLogReg()), ("b", TfidfLogReg())], **kwargs)
    with pytest.raises(ParameterError, match=message):
        stack.fit(texts, y, **fit_kwargs)
