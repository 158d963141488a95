"""The shared folds: made once, saved, and split like a scikit-learn cv object with extra rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold, PredefinedSplit, ShuffleSplit, check_cv, cross_val_score

from mathcls.errors import ParameterError
from mathcls.folds import SharedFolds, fold_ids, make_folds

FOLD = np.array([0, 1, 2, 0, 1, 2, 0, 1])  # 8 real rows, 3 folds
SOURCE = np.array([0, 4, -1, 7, -1])       # 5 extra rows: copies of rows 0, 4, 7 and two without a source


def test_the_splitter_obeys_the_cv_contract():
    folds = SharedFolds(FOLD)
    assert folds.get_n_splits() == 3 and check_cv(folds) is folds
    splits = list(folds.split(np.zeros(8)))
    assert len(splits) == 3
    valid = np.concatenate([va for _, va in splits])
    assert sorted(valid.tolist()) == list(range(8))  # every row validated exactly once
    for k, (train, va) in enumerate(splits):
        assert va.tolist() == np.flatnonzero(FOLD == k).tolist()
        assert train.tolist() == np.flatnonzero(FOLD != k).tolist()
    # scikit-learn takes it wherever it takes cv.
    X = np.arange(8, dtype=float)[:, None]
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    assert len(cross_val_score(LogisticRegression(), X, y, cv=folds)) == 3


def test_extra_rows_train_only_and_never_the_fold_that_validates_their_source():
    folds = SharedFolds(FOLD, extra_source=SOURCE)
    assert folds.n_rows == 13 and folds.get_n_splits() == 3
    for k, (train, valid) in enumerate(folds.split(np.zeros(13))):
        assert (valid < 8).all()  # extra rows are never validated
        extra_in_train = {int(i) - 8 for i in train if i >= 8}
        expected = {j for j, s in enumerate(SOURCE) if s == -1 or FOLD[s] != k}
        assert extra_in_train == expected, k
        real_in_train = {int(i) for i in train if i < 8}
        assert real_in_train == set(np.flatnonzero(FOLD != k).tolist())
    # Row 0 is validated by fold 0, so its copy (extra row 0, index 8) is out of fold 0's training part only.
    trains = [set(tr.tolist()) for tr, _ in folds.split()]
    assert [8 in t for t in trains] == [False, True, True]


@pytest.mark.parametrize("fold, source, match", [
    ([0, 0, 0], None, "k >= 2"),
    ([0, 2, 0, 2], None, "every id used"),
    ([[0, 1], [1, 0]], None, "1-D array"),
    ([0.0, 1.0], None, "integer fold ids"),
    ([0, 1, 0, 1], [4], "names source row 4"),
    ([0, 1, 0, 1], [-2], "names source row -2"),
])
def test_bad_folds_are_one_sentence(fold, source, match):
    with pytest.raises(ParameterError, match=match):
        list(SharedFolds(fold, source).split())


def test_x_must_cover_real_and_extra_rows():
    with pytest.raises(ParameterError, match="X has 8 rows but the folds cover 13"):
        list(SharedFolds(FOLD, SOURCE).split(np.zeros(8)))


def test_fold_ids_from_an_int_or_a_splitter():
    y = np.repeat(np.arange(4), 6)
    np.testing.assert_array_equal(fold_ids(3, y, seed=5), make_folds(y, 3, 5))
    ids = fold_ids(KFold(4), y)
    np.testing.assert_array_equal(ids, np.repeat(np.arange(4), 6))
    groups = np.arange(24) // 2
    ids = fold_ids(_Grouped(groups), y)
    assert sorted(set(ids.tolist())) == [0, 1, 2]
    assert all(len(set(ids[groups == g])) == 1 for g in range(12))
    with pytest.raises(ParameterError, match="in two validation parts"):
        fold_ids(ShuffleSplit(4, test_size=0.5, random_state=0), y)
    with pytest.raises(ParameterError, match="leaves row 0 out of every validation part"):
        fold_ids(PredefinedSplit([-1] + [0, 1] * 11 + [0]), y)


class _Grouped:
    """GroupKFold with its groups bound, as a cv object."""

    def __init__(self, groups):
        self.groups = groups

    def get_n_splits(self, *args, **kwargs):
        return 3

    def split(self, X, y=None, groups=None):
        return GroupKFold(3).split(X, y, self.groups)
