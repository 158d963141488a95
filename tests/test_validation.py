"""The declarative parameter checks: one validator, one table per estimator, one-sentence errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from mathcls.errors import MathclsError, ParameterError
from mathcls.models import get_model_class, make_model, model_names
from mathcls.models.base import TextClassifierMixin
from mathcls.stacking import StackingEnsemble

TEXTS = ["solve x + 1 = 2", "area of a circle", "solve 2x = 4", "radius of the circle"] * 3
LABELS = [0, 1, 0, 1] * 3


@pytest.mark.parametrize("params, fragment", [
    ({"min_df": -3}, "min_df must be an integer >= 1 or a number in (0, 1]; got -3."),
    ({"min_df": 0}, "min_df must be"),
    ({"max_df": 1.5}, "max_df must be"),
    ({"max_iter": 0}, "max_iter must be an integer >= 1; got 0."),
    ({"C": True}, "C must be a number > 0; got True."),
    ({"C": 0.0}, "C must be a number > 0"),
    ({"C": float("nan")}, "C must be a number > 0"),
    ({"C": float("inf")}, "C must be a number > 0; got inf."),  # -p C=1e999 parses to inf
    ({"tol": np.float64("-inf")}, "tol must be a number > 0"),
    ({"C": "5"}, "C must be a number > 0; got '5'."),
    ({"tol": -1e-4}, "tol must be a number > 0"),
    ({"word_ngram_range": (2, 1)}, "word_ngram_range must be a pair (lo, hi) of integers with 1 <= lo <= hi or None"),
    ({"char_ngram_range": (0, 3)}, "char_ngram_range must be a pair"),
    ({"word_ngram_range": None, "char_ngram_range": None}, "cannot both be None"),
    ({"class_weight": "auto"}, "class_weight must be 'balanced', a dict or None; got 'auto'."),
    ({"sublinear_tf": 1}, "sublinear_tf must be True or False; got 1."),
    ({"max_features": 0}, "max_features must be an integer >= 1 or None"),
])
def test_tfidf_refuses_bad_values_before_data(params, fragment):
    with pytest.raises(ParameterError) as info:
        make_model("tfidf", params)
    assert fragment in str(info.value)
    # One family for the CLI (MathclsError) and for scikit-learn users (ValueError).
    assert isinstance(info.value, MathclsError) and isinstance(info.value, ValueError)


def test_numpy_scalars_count_as_numbers():
    est = make_model("tfidf", {"C": np.float32(3.0), "tol": np.float32(1e-4), "min_df": np.int64(1),
                               "max_iter": np.int64(200), "word_ngram_range": (np.int64(1), np.int64(2))})
    est.fit(TEXTS, LABELS)
    assert est.predict(["solve x + 3 = 5"]).tolist() == [0]


def test_fit_validates_after_set_params():
    est = make_model("tfidf").set_params(C=-2)
    with pytest.raises(ParameterError, match="C must be a number > 0; got -2"):
        est.fit(TEXTS, LABELS)


@pytest.mark.parametrize("name", model_names())
def test_every_parameter_of_every_family_has_a_constraint(name):
    cls = get_model_class(name)
    assert set(cls._parameter_constraints) == set(cls().get_params(deep=False))
    cls()._validate_params()  # the defaults satisfy their own table


def test_stack_parameters_have_constraints():
    assert set(StackingEnsemble._parameter_constraints) == set(StackingEnsemble().get_params(deep=False))
    with pytest.raises(ParameterError, match="final_estimator must be an object with fit and predict_proba or None"):
        StackingEnsemble(final_estimator="lgbm", meta_init="none")._validate_params()


def test_a_parameter_without_constraint_is_a_programming_error():
    class Loose(TextClassifierMixin, BaseEstimator):
        _parameter_constraints = {"a": [int]}

        def __init__(self, a=1, b=2):
            self.a, self.b = a, b

    with pytest.raises(TypeError, match=r"lacks \['b'\]"):
        Loose()._validate_params()


@pytest.mark.parametrize("family", ["setfit", "transformer"])
def test_neural_families_take_the_verbalize_text_mode_and_refuse_others(family):
    assert make_model(family, {"normalize": "verbalize"}).normalize == "verbalize"
    assert make_model(family, {"normalize": False}).normalize is False
    with pytest.raises(ParameterError, match=r"^normalize must be True or False or 'verbalize'; got 'words'\.$"):
        make_model(family, {"normalize": "words"})
