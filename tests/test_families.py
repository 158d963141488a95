"""A model family is one descriptor in :mod:`mathcls.families`: a new family defined here, in one
module, goes through the config checks, tuning, the planner's pricing, the stack's out-of-fold loop
and a time-limited ``mathcls run`` without any other part of mathcls knowing about it."""

from __future__ import annotations

import json
from numbers import Integral, Real

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from mathcls.errors import ConfigError, MathclsError
from mathcls.families import FAMILIES, Family, family_names, get_family
from mathcls.models.base import TextClassifierMixin, check_texts
from mathcls.models.validation import Interval

from .conftest import make_corpus, write_competition


# ---------------------------------------------------------------- the whole new family
class WordNB(TextClassifierMixin, ClassifierMixin, BaseEstimator):
    """Multinomial naive Bayes on word counts (scikit-learn parts)."""

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "max_features": [Interval(Integral, 1, None), None],
    }

    def __init__(self, alpha=1.0, max_features=None):
        self.alpha = alpha
        self.max_features = max_features

    def fit(self, X, y):
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.naive_bayes import MultinomialNB

        self._validate_params()
        texts, classes, y_idx = self._check_fit_input(X, y)
        self.vectorizer_ = CountVectorizer(max_features=self.max_features).fit(texts)
        self.nb_ = MultinomialNB(alpha=self.alpha).fit(self.vectorizer_.transform(texts), y_idx)
        self.classes_ = classes
        return self

    def predict_proba(self, X):
        self._check_fitted()
        return self.nb_.predict_proba(self.vectorizer_.transform(check_texts(X)))

    def _save_payload(self, folder):
        import joblib

        joblib.dump((self.vectorizer_, self.nb_), folder / "nb.joblib")

    def _load_payload(self, folder, manifest):
        import joblib

        self.vectorizer_, self.nb_ = joblib.load(folder / "nb.joblib")


def word_nb_space(params):
    """alpha: float, log, 0.01 .. 1."""
    return {"alpha": {"type": "float", "low": 0.01, "high": 1.0, "log": True}}


WORD_NB = Family("word-nb", f"{__name__}:WordNB", space=word_nb_space, budget_keys=("max_features",),
                 probe_rows=(16, 32))


@pytest.fixture()
def word_nb(monkeypatch):
    monkeypatch.setitem(FAMILIES, WORD_NB.name, WORD_NB)
    return WORD_NB


# ---------------------------------------------------------------- what the rest of mathcls makes of it
def test_the_descriptor_answers_from_the_estimator(word_nb):
    assert get_family("word-nb") is word_nb and "word-nb" in family_names(base_only=True)
    assert word_nb.defaults() == {"alpha": 1.0, "max_features": None}
    assert set(word_nb.constraints) == {"alpha", "max_features"}
    assert word_nb.class_path == f"{__name__}.WordNB"
    with pytest.raises(MathclsError, match="alpha"):
        word_nb.make({"alpha": 0})


def test_config_checks_read_the_family(word_nb):
    from mathcls.config import check_config

    good = {"models": {"nb": {"family": "word-nb", "params": {"alpha": 0.5}, "budget": {"max_features": [50, 100]},
                              "tune": {"n_trials": 2, "space": {"alpha": {"low": 0.1, "high": 2.0}}}}}}
    assert check_config(good, "test") is good
    bad = [({"params": {"alpha": -1.0}}, r"\[models.nb.params\] .*alpha"),
           ({"params": {"alpah": 1.0}}, "unknown parameter 'alpah'.*did you mean 'alpha'"),
           ({"budget": {"alpha": [1]}}, "cannot vary 'alpha'; use max_features"),
           ({"budget": {"max_features": [0, 10]}}, r"\[models.nb.budget\] max_features"),
           ({"tune": {"space": {"beta": {"low": 0.1, "high": 1.0}}}}, "Unknown parameter 'beta'")]
    for entry, message in bad:
        with pytest.raises(ConfigError, match=message) as caught:
            check_config({"models": {"nb": {"family": "word-nb", **entry}}}, "test")
        assert "\n" not in str(caught.value)


def test_tuning_searches_the_family_space(word_nb, tmp_path):
    from mathcls.tuning.run import tune
    from mathcls.tuning.spaces import space_from_config

    cfg = {"models": {"word-nb": {"tune": {"space": {"max_features": {"choices": [20, 200]}}}}}}
    space = space_from_config("word-nb", cfg)
    assert set(space) == {"alpha", "max_features"} and space["alpha"]["log"]
    comp = write_competition(tmp_path / "comp")
    result = tune("word-nb", comp, tmp_path / "tune", n_trials=3, cv=2, config=cfg, echo=lambda line: None,
                  progress=False)
    best = json.loads((tmp_path / "tune" / "best_params.json").read_text())
    assert best["model"] == "word-nb" and result.n_complete == 3
    assert 0.01 <= best["params"]["alpha"] <= 1.0 and best["params"]["max_features"] in (20, 200)


def test_the_planner_prices_the_family_from_its_probe_rows(word_nb):
    from mathcls.plan.costs import estimate
    from mathcls.plan.probe import DataShape, Probe
    from mathcls.plan.spec import model_specs

    texts, y = make_corpus(10)
    data = DataShape(texts, y, texts[:20], cv=2, data_hash="h")
    probe = Probe(data, echo=lambda line: None)
    (spec,) = model_specs({"models": {"nb": {"family": "word-nb", "budget": {"max_features": [10, 1000]}}}}, ["nb"])
    assert spec.combinations() == [{"max_features": 10}, {"max_features": 1000}]
    cost = estimate("word-nb", {"max_features": 10}, data, probe)
    assert cost.fold > 0 and cost.stack > 0
    (measured,) = [m for name, m in probe._store.items() if name.startswith("word-nb-")]
    # the family's probe rows (16 and 32, under a fold's 40 rows), with the estimator's defaults filled in
    assert [n for n, _ in measured["fits"]] == [16, 32]
    assert measured["key"]["params"] == {"alpha": 1.0, "max_features": 10}


def test_out_of_fold_stack_and_model_folder(word_nb, tmp_path):
    from mathcls.models.tfidf import TfidfLogReg
    from mathcls.persist import load_model, save_model
    from mathcls.stacking import StackingEnsemble

    texts, y = make_corpus(8)
    stack = StackingEnsemble([("nb", WordNB(alpha=0.5)), ("tfidf", TfidfLogReg(min_df=1))], cv=3,
                             cache_dir=str(tmp_path / "cache"), bias_tuning=False).fit(texts, y)
    assert stack.oof_proba_["nb"].shape == (len(texts), 8) and stack.scores_["nb"]["f1_micro"] > 0.5
    assert [p.name.split("-")[:3] for p in (tmp_path / "cache" / "base").iterdir() if p.name.startswith("nb-")] \
        == [["nb", "word", "nb"]]  # cached under its family's name
    nb = stack.estimators_["nb"][0]  # a fold model
    save_model(nb, tmp_path / "model")
    assert json.loads((tmp_path / "model" / "manifest.json").read_text())["model"] == "word-nb"
    np.testing.assert_allclose(load_model(tmp_path / "model").predict_proba(texts), nb.predict_proba(texts))


def test_a_time_limited_run_plans_and_stacks_the_family(word_nb, tmp_path):
    from mathcls.pipeline import build

    comp = write_competition(tmp_path / "comp")
    config = {"cv": 2, "run": {"time_limit": "30m"},
              "models": {"nb": {"family": "word-nb", "priority": 1, "budget": {"max_features": [50, 500]}}},
              "stack": {"bias_tuning": False}}
    lines = []
    result = build(comp, tmp_path / "out", config=config, echo=lines.append)
    assert "nb" in set(result.leaderboard["model"])
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["models"]["nb"]["settings"] == {"max_features": 500}  # the largest that fits
    assert len(pd.read_csv(tmp_path / "out" / "submission.csv")) == 17
