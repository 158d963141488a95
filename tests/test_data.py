import numpy as np
import pandas as pd
import pytest

from mathcls.data import load_competition, load_test, load_train
from mathcls.errors import DataError


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_load_competition(competition_dir):
    comp = load_competition(competition_dir)
    assert list(comp.train.columns[:2]) == ["Question", "label"]
    assert comp.train["label"].dtype == np.int64
    assert len(comp.test) == 17 and comp.test["Question"].iloc[-1] == ""
    assert comp.sample_submission is not None
    assert len(comp.train_sha256) == 64 and comp.data_hash == comp.train_sha256[:16]


def test_real_competition_folder(real_data):
    comp = load_competition(real_data)
    assert len(comp.train) == 8134 and len(comp.test) == 3044
    assert set(comp.train["label"]) == set(range(8))
    assert comp.test["id"].is_unique


# (file name, content, expected message fragment)
BAD_TRAIN = [
    ("header only", "Question,label\n", "header but no rows"),
    ("empty file", "", "is empty"),
    ("missing column", "Question,topic\nWhat is 1+1?,0\n", "no column 'label'"),
    ("label not integer", "Question,label\nWhat is 1+1?,0\nArea of a circle?,geometry\n", "row 2 has label 'geometry'"),
    ("label out of range", "Question,label\nWhat is 1+1?,9\n", "row 1 has label '9'"),
    ("label float", "Question,label\nWhat is 1+1?,1.5\n", "row 1 has label '1.5', but the model's labels are integers"),
    ("empty question", "Question,label\nWhat is 1+1?,0\n,1\n", "row 2 has an empty Question"),
    ("blank question", 'Question,label\n"   ",1\n', "row 1 has an empty Question"),
    ("missing label", "Question,label\nWhat is 1+1?,\n", "row 1 has an empty label"),
]


@pytest.mark.parametrize("case, content, message", BAD_TRAIN, ids=[c[0] for c in BAD_TRAIN])
def test_bad_train_files(tmp_path, case, content, message):
    path = write(tmp_path / "train.csv", content)
    with pytest.raises(DataError, match=message):
        load_train(path)


def test_not_utf8(tmp_path):
    path = write(tmp_path / "train.csv", "Question,label\nSolve x,0\nCalcul de l'intégrale,2\n", encoding="latin-1")
    with pytest.raises(DataError, match="not UTF-8 \\(first bad byte on line 3, byte offset 40\\)"):
        load_train(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_train(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="Data folder .* does not exist"):
        load_competition(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has no train.csv"):
        load_competition(tmp_path / "empty")


def test_missing_test_only_when_needed(tmp_path):
    d = tmp_path / "c"
    d.mkdir()
    write(d / "train.csv", "Question,label\nWhat is 1+1?,0\nFind the area of a circle.,1\n")
    assert load_competition(d, need_test=False).test is None
    with pytest.raises(DataError, match="has no test.csv"):
        load_competition(d)


def test_duplicate_test_ids(tmp_path):
    path = write(tmp_path / "test.csv", "id,Question\n1,a\n2,b\n1,c\n")
    with pytest.raises(DataError, match="duplicate id '1'"):
        load_test(path)


def test_empty_test_question_is_kept(tmp_path):
    path = write(tmp_path / "test.csv", "id,Question\n1,\n2,Find x.\n")
    df = load_test(path)
    assert df["Question"].tolist() == ["", "Find x."]
    assert df["id"].tolist() == ["1", "2"]


def test_bom_and_extra_columns(tmp_path):
    path = write(tmp_path / "train.csv", "\ufeffQuestion,label,source\nWhat is 1+1?,0,x\n")
    df = load_train(path)
    assert df.columns.tolist() == ["Question", "label", "source"]
    assert isinstance(df, pd.DataFrame)


def _folder(tmp_path, train, test=None, sample=None):
    d = tmp_path / "comp"
    d.mkdir()
    write(d / "train.csv", train)
    for name, text in (("test.csv", test), ("sample_submission.csv", sample)):
        if text is not None:
            write(d / name, text)
    return d


def test_one_class_is_refused_before_training(tmp_path):
    d = _folder(tmp_path, "Question,label\nSolve x,3\nSolve y,3\n")
    with pytest.raises(DataError, match=r"has only 1 class \(3\); a classifier needs at least 2"):
        load_competition(d, need_test=False)
    assert load_competition(d, need_test=False, min_classes=1).train["label"].tolist() == [3, 3]  # explore


def test_sample_submission_ids_must_be_the_test_ids(tmp_path):
    d = _folder(tmp_path, "Question,label\na,0\nb,1\n", "id,Question\n1,a\n2,b\n", "id,label\n1,0\n3,0\n")
    with pytest.raises(DataError, match=r"do not hold the same ids \(1 only in the test file, 1 only in the sample "
                                         r"submission; e.g. '2' is in .*test.csv only\)"):
        load_competition(d)
    assert load_competition(d, need_test=False).sample_submission is not None  # training needs no submission
