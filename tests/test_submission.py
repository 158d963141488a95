import pandas as pd
import pytest

from mathcls.errors import DataError
from mathcls.submission import make_submission, validate_submission, write_submission

IDS = ["10", "11", "12"]

BAD = [
    ("missing id", pd.DataFrame({"label": [0, 1, 2]}), "no column 'id'"),
    ("duplicate id", pd.DataFrame({"id": ["10", "10", "12"], "label": [0, 1, 2]}), "duplicate id '10'"),
    ("bad label", pd.DataFrame({"id": IDS, "label": [0, 8, 2]}), "row 2 has label '8'"),
    ("missing row", pd.DataFrame({"id": IDS[:2], "label": [0, 1]}), "lacks 1 id"),
    ("extra row", pd.DataFrame({"id": IDS + ["99"], "label": [0, 1, 2, 3]}), "not in test.csv"),
]


@pytest.mark.parametrize("case, sub, message", BAD, ids=[b[0] for b in BAD])
def test_invalid_submissions(case, sub, message):
    with pytest.raises(DataError, match=message):
        validate_submission(sub, test_ids=IDS)


def test_sample_submission_ids_checked():
    sub = make_submission(IDS, [0, 1, 2])
    validate_submission(sub, IDS, IDS)
    with pytest.raises(DataError, match="sample_submission.csv"):
        validate_submission(sub, IDS, IDS + ["13"])


def test_write_submission_is_atomic(tmp_path):
    out = tmp_path / "submission.csv"
    with pytest.raises(DataError):
        write_submission(make_submission(IDS, [0, 1, 9]), out, IDS)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    write_submission(make_submission(IDS, [0, 1, 2]), out, IDS)
    assert pd.read_csv(out, dtype=str)["id"].tolist() == IDS
