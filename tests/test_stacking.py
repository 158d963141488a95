"""StackingEnsemble: OOF discipline, folds, nested parameters, caching, bias tuning, the meta-learner,
persistence."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from mathcls.models.base import TextClassifierMixin
from mathcls.models.tfidf import TfidfLogReg
from mathcls.persist import load_model, save_model
from mathcls.stacking import MetaLGBMClassifier, StackingEnsemble, apply_bias, tune_bias

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
    stamps = {p: p.stat().st_mtime_ns for p in entries[0].rglob("*") if p.is_file()}
    # Adding a model trains only the new one; the cached one is loaded, not refitted or rewritten.
    second = StackingEnsemble([("tfidf", TfidfLogReg(min_df=1)), ("word", TfidfLogReg(min_df=1, char_ngram_range=None))],
                              cv=3, cache_dir=str(cache), bias_tuning=False)
    second.fit(texts, y)
    assert {p: p.stat().st_mtime_ns for p in entries[0].rglob("*") if p.is_file()} == stamps
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
    ({"cv": 1}, "cv must be an integer >= 2 or"),
    ({"meta_init": "zero"}, "meta_init must be"),
    ({"final_estimator": TfidfLogReg(), "meta_n_trials": 3}, "meta_n_trials tunes the default meta-learner"),
    ({"estimators": [("a", TfidfLogReg()), ("a", TfidfLogReg())]}, "must be unique"),
    ({"estimators": [("cv", TfidfLogReg())]}, "is a parameter name"),
    ({"estimators": [("a__b", TfidfLogReg())]}, "contains '__'"),
    ({"cv": "five"}, "cv must be an integer >= 2 or an object with split and get_n_splits"),
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
    from mathcls.families import Family, register, unregister

    register(Family("flaky", "tests.test_stacking:FlakyTfidf"))
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
        unregister("flaky")


@pytest.mark.parametrize("k", [2, 5])
def test_init_scores_reproduce_the_average(k):
    from mathcls.stacking._meta_learner import _from_raw, _init_scores

    rng = np.random.default_rng(k)
    avg = rng.dirichlet(np.ones(k), size=20)
    np.testing.assert_allclose(_from_raw(_init_scores(avg)), avg, atol=1e-9)


def test_stack_never_scores_below_the_plain_average():
    texts, y = noisy_corpus(40, seed=11)
    stack = StackingEnsemble([("word", TfidfLogReg(min_df=1, char_ngram_range=None)),
                              ("char", TfidfLogReg(min_df=1, word_ngram_range=None))], cv=4, random_state=0)
    stack.fit(texts, y)
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
    # fit kept every base model's predictions on the unlabeled rows; they equal fresh predictions.
    fresh = stack.base_predict_proba(unlabeled)
    assert set(stack.unlabeled_base_proba_) == {"tfidf", "student"}
    for name, proba in stack.unlabeled_base_proba_.items():
        np.testing.assert_allclose(proba, fresh[name], atol=1e-12)
    assert stack.scores_["stack"]["predict_rows_per_s"] > 0
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


# ---------------------------------------------------------------- folds given as cv
def test_cv_accepts_an_int_or_any_splitter():
    from sklearn.model_selection import KFold

    from mathcls.folds import make_folds

    texts, y = make_corpus(6, seed=15)
    splitter = KFold(3, shuffle=True, random_state=0)
    stack = StackingEnsemble([("tfidf", TfidfLogReg(min_df=1))], cv=splitter, bias_tuning=False).fit(texts, y)
    expected = np.empty(len(y), dtype=np.int64)
    for k, (_, valid) in enumerate(splitter.split(texts)):
        expected[valid] = k
    np.testing.assert_array_equal(stack.fold_, expected)
    assert len(stack.estimators_["tfidf"]) == 3
    by_int = StackingEnsemble([("tfidf", TfidfLogReg(min_df=1))], cv=4, random_state=3, bias_tuning=False).fit(texts, y)
    np.testing.assert_array_equal(by_int.fold_, make_folds(y, 4, 3))


def test_a_splitter_that_validates_a_row_twice_is_refused():
    from sklearn.model_selection import ShuffleSplit

    from mathcls.errors import ParameterError

    texts, y = make_corpus(6, seed=15)
    stack = StackingEnsemble([("tfidf", TfidfLogReg(min_df=1))], cv=ShuffleSplit(3, test_size=0.5, random_state=0))
    with pytest.raises(ParameterError, match="validated exactly once"):
        stack.fit(texts, y)


# ---------------------------------------------------------------- nested parameters
def test_base_model_parameters_are_nested_parameters():
    stack = StackingEnsemble([("tfidf", TfidfLogReg(min_df=1)), ("word", TfidfLogReg(min_df=1, char_ngram_range=None))],
                             cv=3, bias_tuning=False)
    params = stack.get_params(deep=True)
    assert params["tfidf__C"] == TfidfLogReg().C and params["word__char_ngram_range"] is None
    assert "tfidf__C" not in stack.get_params(deep=False)
    stack.set_params(tfidf__C=3.0, word=TfidfLogReg(min_df=1, C=0.5, char_ngram_range=None))
    assert dict(stack.estimators)["tfidf"].C == 3.0 and dict(stack.estimators)["word"].C == 0.5
    texts, y = make_corpus(6, seed=16)
    stack.fit(texts, y)
    assert {m.C for m in stack.estimators_["tfidf"]} == {3.0}
    assert {m.C for m in stack.estimators_["word"]} == {0.5}


# ---------------------------------------------------------------- no hidden state
class CountingTfidf(TfidfLogReg):
    """Counts fits and predict_proba calls of every clone (class attributes)."""

    calls = []
    fits = []

    def fit(self, X, y):
        CountingTfidf.fits.append(len(X))
        return super().fit(X, y)

    def predict_proba(self, X):
        CountingTfidf.calls.append(len(X))
        return super().predict_proba(X)


def test_predict_proba_after_fit_predicts_again():
    texts, y = make_corpus(6, seed=17)
    unlabeled = make_corpus(2, seed=18)[0][:5]  # a length no validation fold has
    CountingTfidf.calls = []
    stack = StackingEnsemble([("tfidf", CountingTfidf(min_df=1))], cv=3, bias_tuning=False)
    stack.fit(texts, y, unlabeled_X=unlabeled)
    assert CountingTfidf.calls.count(len(unlabeled)) == 3  # fit: each fold model on the unlabeled rows
    CountingTfidf.calls = []
    before = stack.predict_proba(unlabeled)
    assert CountingTfidf.calls == [len(unlabeled)] * 3  # predict_proba asks every fold model again
    # And it uses the fitted models as they are now: swap them for one that is sure of class 0.
    stack.estimators_["tfidf"] = [CountingTfidf(min_df=1).fit(texts, np.where(np.arange(len(y)) % 5, 0, 1))]
    after = stack.predict_proba(unlabeled)
    assert not np.allclose(after, before)


@pytest.mark.parametrize("strategy", ["fold-average", "refit"])
def test_predictions_from_fits_unlabeled_rows_equal_predicting_again(strategy):
    texts, y = make_corpus(6, seed=17)
    unlabeled = make_corpus(2, seed=19)[0][:7]
    stack = StackingEnsemble([("a", CountingTfidf(min_df=1)), ("b", CountingTfidf(min_df=1, C=0.3))], cv=3,
                             test_strategy=strategy, bias_tuning=False).fit(texts, y, unlabeled_X=unlabeled)
    CountingTfidf.calls = []
    reused = stack.predict_proba_from_base(stack.unlabeled_base_proba_, unlabeled)
    assert CountingTfidf.calls == []  # no base model predicted again
    np.testing.assert_array_equal(reused, stack.predict_proba(unlabeled))
    assert CountingTfidf.calls  # while predict_proba did ask them


# ---------------------------------------------------------------- nearest-neighbour meta-features
def test_neighbours_of_a_training_row_come_only_from_the_other_folds():
    from mathcls.stacking._neighbours import NeighbourFeatures

    base, y0 = make_corpus(6, seed=21)
    texts = [t for t in base for _ in range(2)]  # every question twice ...
    y = np.repeat(y0, 2)
    fold = np.repeat(np.arange(len(base)) % 3, 2)  # ... both copies in the same fold
    nn = NeighbourFeatures(n_classes=8).fit(texts, y, fold)
    assert nn.oof_.shape == (len(texts), 17)
    assert nn.oof_[:, 0].max() < 0.999  # its twin (cosine 1) shares its fold: never seen
    # New rows look at every training row: each question finds its twin, at cosine 1, with its label.
    new = nn.transform(base)
    np.testing.assert_allclose(new[:, 0], 1.0, atol=1e-9)
    np.testing.assert_array_equal(new[:, 1:9].argmax(1), y0)
    np.testing.assert_allclose(new[:, 9:].sum(1), 1.0)  # label shares of the 5 nearest


def test_stack_with_neighbour_features_learns_from_them_and_round_trips(tmp_path):
    # The memoriser's out-of-fold probabilities are uniform: whatever the stack learns comes from the
    # neighbours (the templates of a topic share their characters).
    texts, y = make_corpus(12, seed=5)
    new_texts, new_y = make_corpus(4, seed=6)
    kwargs = dict(cv=3, random_state=1, extra_features=False, bias_tuning=False)
    stack = StackingEnsemble([("memo", ExactMemorizer())], neighbour_features=True, **kwargs).fit(texts, y)
    plain = StackingEnsemble([("memo", ExactMemorizer())], **kwargs).fit(texts, y)
    assert plain.neighbours_ is None and plain.scores_["stack"]["f1_micro"] < 0.3
    assert stack.final_estimator_.n_features_in_ == plain.final_estimator_.n_features_in_ + 17
    assert stack.scores_["stack"]["f1_micro"] > 0.8
    assert (stack.predict(new_texts) == new_y).mean() > 0.8
    saved = StackingEnsemble([("word", TfidfLogReg(min_df=1, char_ngram_range=None))], neighbour_features=True,
                             **kwargs).fit(texts, y)  # a registered base model, so the stack saves
    loaded = load_model(save_model(saved, tmp_path / "stack"))
    assert loaded.neighbour_features is True and (tmp_path / "stack" / "neighbours").is_dir()
    np.testing.assert_array_equal(loaded.predict_proba(new_texts), saved.predict_proba(new_texts))


def test_neighbour_features_must_be_a_boolean():
    with pytest.raises(ValueError, match="neighbour_features must be True or False"):
        StackingEnsemble(neighbour_features="yes").fit(*make_corpus(4))


# ---------------------------------------------------------------- the meta-learner
def _probability_table(n=240, seed=0):
    """Two noisy 'base models' over 3 classes plus a free feature that decides the class when it is large."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    blocks = []
    for _ in range(2):
        logits = rng.normal(size=(n, 3))
        logits[np.arange(n), y] += 0.7
        blocks.append(np.exp(logits) / np.exp(logits).sum(1, keepdims=True))
    free = np.where(rng.random(n) < 0.5, y + 10.0, rng.normal(size=n))
    return np.hstack(blocks + [free[:, None]]), y


def test_meta_learner_learns_corrections_and_round_trips(tmp_path):
    X, y = _probability_table()
    meta = MetaLGBMClassifier(n_base_models=2, n_estimators=200, learning_rate=0.1, bias_tuning=False, cv=3)
    meta.fit(X, y)
    average = (X[:, :3] + X[:, 3:6]) / 2
    # The free column carries the class for half the rows: the trees beat the plain average out of fold.
    assert meta.kind_ == "learned"
    assert (meta.oof_proba_.argmax(1) == y).mean() > (average.argmax(1) == y).mean() + 0.1
    proba = meta.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-9)
    loaded = load_model(save_model(meta, tmp_path / "meta"))
    assert isinstance(loaded, MetaLGBMClassifier) and loaded.kind_ == "learned"
    np.testing.assert_allclose(loaded.predict_proba(X), proba, atol=1e-12)


def test_meta_learner_keeps_the_average_when_it_cannot_cross_fit():
    from mathcls.folds import SharedFolds

    X, y = _probability_table(n=60, seed=1)
    y[0] = 7  # a class with one row is missing from the training part of the fold that validates it
    meta = MetaLGBMClassifier(n_base_models=2, bias_tuning=False, cv=SharedFolds(np.arange(60) % 3))
    zero = np.zeros((60, 1))  # the base models never predict class 7
    X = np.hstack([X[:, :3], zero, X[:, 3:6], zero, X[:, 6:]])  # blocks of 4 classes: 0, 1, 2, 7
    meta.fit(X, y)
    assert meta.kind_ == "average" and meta.booster_ is None
    expected = (X[:, :4] + X[:, 4:8]) / 2
    np.testing.assert_allclose(meta.predict_proba(X), expected, atol=1e-12)


def test_meta_learner_refuses_texts_and_a_table_that_does_not_fit_its_blocks():
    from mathcls.errors import ParameterError

    X, y = _probability_table()
    with pytest.raises(ValueError, match="numeric table"):
        MetaLGBMClassifier().fit(np.asarray(["a"] * len(y)), y)
    with pytest.raises(ParameterError, match="set n_base_models"):
        MetaLGBMClassifier().fit(X, y)  # 7 columns are not blocks of 3
    with pytest.raises(ParameterError, match="set n_base_models"):
        MetaLGBMClassifier(n_base_models=3).fit(X, y)


def test_logistic_regression_can_replace_the_meta_learner(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from mathcls.errors import ModelFolderError
    from mathcls.features import text_features
    from mathcls.folds import SharedFolds

    texts, y = noisy_corpus(12, seed=19)
    stack = StackingEnsemble([("word", TfidfLogReg(min_df=1, char_ngram_range=None)),
                              ("char", TfidfLogReg(min_df=1, word_ngram_range=None))], cv=3,
                             final_estimator=LogisticRegression(max_iter=2000), random_state=0)
    stack.fit(texts, y)
    assert isinstance(stack.final_estimator_, LogisticRegression)
    # Its input: each base model's probabilities, then the text features.
    base = stack.base_predict_proba(texts[:9])
    table = np.hstack([base["word"], base["char"], text_features(texts[:9])])
    np.testing.assert_allclose(stack.predict_proba(texts[:9]), stack.final_estimator_.predict_proba(table), atol=1e-12)
    # The stack's OOF probabilities are the logistic regression cross-fitted on the OOF table.
    oof_table = np.hstack([stack.oof_proba_["word"], stack.oof_proba_["char"], text_features(texts)])
    expected = np.zeros((len(y), len(stack.classes_)))
    for train, valid in SharedFolds(stack.fold_).split():
        lr = LogisticRegression(max_iter=2000).fit(oof_table[train], y[train])
        expected[np.ix_(valid, np.searchsorted(stack.classes_, lr.classes_))] = lr.predict_proba(oof_table[valid])
    np.testing.assert_allclose(stack.stack_oof_proba_, expected, atol=1e-9)
    with pytest.raises(ModelFolderError, match="not a registered mathcls model"):
        save_model(stack, tmp_path / "stack")


def test_a_registered_meta_learner_given_as_final_estimator_saves(tmp_path):
    texts, y = make_corpus(8, seed=20)
    stack = StackingEnsemble([("tfidf", TfidfLogReg(min_df=1))], cv=3,
                             final_estimator=MetaLGBMClassifier(n_base_models=1, n_estimators=20, cv=3)).fit(texts, y)
    loaded = load_model(save_model(stack, tmp_path / "stack"))
    assert loaded.final_estimator.n_estimators == 20
    np.testing.assert_allclose(loaded.predict_proba(texts), stack.predict_proba(texts), atol=1e-9)


# ---------------------------------------------------------------- saved folders
def test_a_version_1_stack_folder_still_loads(tmp_path):
    """Version 1 kept the default meta-learner in meta_lightgbm.txt and its state in stack.json."""
    import json
    import shutil

    texts, y = noisy_corpus(16, seed=21)
    stack = StackingEnsemble([("word", TfidfLogReg(min_df=1, char_ngram_range=None)),
                              ("char", TfidfLogReg(min_df=1, word_ngram_range=None))], cv=3, random_state=2)
    stack.fit(texts, y)
    folder = save_model(stack, tmp_path / "stack")
    meta = stack.final_estimator_
    info = json.loads((folder / "stack.json").read_text())
    old = {"meta_kind": meta.kind_, "models": info["models"],
           "bias": None if meta.bias_ is None else meta.bias_.tolist(),
           "meta_classes": None if meta.booster_ is None else list(range(len(stack.classes_))),
           "feature_names": info["feature_names"], "scores": info["scores"], "meta_params": meta.lgbm_params_,
           "n_classes": info["n_classes"]}
    shutil.rmtree(folder / "meta")
    if meta.booster_ is not None:
        meta.booster_.save_model(str(folder / "meta_lightgbm.txt"))
    (folder / "stack.json").write_text(json.dumps(old))
    manifest = json.loads((folder / "manifest.json").read_text())  # version 1 folders had no payload hashes
    manifest.pop("payload_sha256")
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format_version": 1}))
    loaded = load_model(folder)
    np.testing.assert_allclose(loaded.predict_proba(texts), stack.predict_proba(texts), atol=1e-9)
    assert loaded.final_estimator_.kind_ == meta.kind_


def test_a_crash_while_writing_done_json_leaves_no_marker(tmp_path, monkeypatch):
    import json
    import pathlib

    texts, y = make_corpus(8, seed=22)
    cache = tmp_path / "cache"
    real_write_text = pathlib.Path.write_text

    def crash_on_marker(self, data, *args, **kwargs):
        if self.name.startswith(".done.json"):
            real_write_text(self, data[: len(data) // 2], *args, **kwargs)  # half written, then the crash
            raise Crash
        return real_write_text(self, data, *args, **kwargs)

    make = lambda: StackingEnsemble([("tfidf", CountingTfidf(min_df=1))], cv=3, cache_dir=str(cache),  # noqa: E731
                                    bias_tuning=False)
    from mathcls.families import Family, register, unregister

    register(Family("counting", "tests.test_stacking:CountingTfidf"))
    try:
        with monkeypatch.context() as patch:
            patch.setattr(pathlib.Path, "write_text", crash_on_marker)
            with pytest.raises(Crash):
                make().fit(texts, y)
        (entry,) = (cache / "base").iterdir()
        assert not (entry / "done.json").exists()
        assert not [p.name for p in entry.iterdir() if p.name.startswith(".")]  # no temporary left behind
        # The rerun fits nothing (every fold was stored) and writes a marker that parses.
        CountingTfidf.fits = []
        again = make().fit(texts, y)
        assert CountingTfidf.fits == []
        assert json.loads((entry / "done.json").read_text())["models"] == [f"fold-{k}/model" for k in range(3)]
        assert again.scores_["tfidf"]["f1_micro"] > 0.5
    finally:
        unregister("counting")


def test_the_meta_learner_is_not_a_base_model_family_in_a_config():
    from mathcls.errors import MathclsError
    from mathcls.pipeline import resolve_config

    with pytest.raises(MathclsError, match=r"\[models.meta\] family must be one of 'setfit', 'tfidf', 'transformer'; got 'meta-lgbm'"):
        resolve_config({"models": {"meta": {"family": "meta-lgbm"}}})
