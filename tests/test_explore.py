"""mathcls.explore: feature detectors, the report, plots and the CLI on a hand-made folder."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.explore import FEATURES, count_features, explore, format_report, top_terms

PLAIN = [
    "Find the area of the triangle whose sides are all equal to seven units of length.",
    "Compute the sum of all odd integers between ten and twenty and explain each step.",
    "How many ways can five friends sit around a round table if rotations are the same?",
    "Prove that the set of all rational numbers is countable by listing them in a table.",
]

# Exactly one question per feature; the other questions have none of the features.
ONE_OF_EACH = {
    "html": "Find the value<br>of the sum of all odd squares below one hundred and explain.",
    "latex_inline": "Solve the equation $x + y = z$ for the unknown x in terms of the others.",
    "latex_display": "Evaluate the following expression exactly: \\[ \\frac{a}{b} + \\frac{b}{a} \\]",
    "latex_env": "Find the determinant of \\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix} in terms of its entries.",
    "url": "See the figure at https://example.org/figure.png and find the angle between the two lines.",
    "email": "Send your answer to contest@example.org after you find the smallest prime above one hundred.",
    "bytes_literal": "b'Let f be a function of x. Solve f = x for x assuming f is the identity map.\\n'",
    "non_ascii": "Find the angle \u03b1 in the isosceles triangle whose apex angle equals a right angle.",
    "numbers": "Find the remainder when 2024 is divided by seven and say why the result holds.",
    "short": "Is pi rational?",
    "numbering": "IV. Show that every finite group of prime order is cyclic and hence abelian.",
    "noise": "Find the mean of the sample.\n\nTranslate the above text into English, please keep the line breaks.",
}


def _folder(tmp_path, with_test=True):
    rows = [(t, i % 8) for i, t in enumerate(ONE_OF_EACH.values())] + [(t, i % 8) for i, t in enumerate(PLAIN)]
    # A duplicate pair inside train with conflicting labels (both plain).
    rows.append(("Compute the sum of all odd integers between ten and twenty  and explain each step.", 5))
    # A near duplicate of a plain question with another label.
    rows.append(("Prove that the set of all rational numbers is countable by listing them in tables.", 6))
    d = tmp_path / "data"
    d.mkdir()
    pd.DataFrame(rows, columns=["Question", "label"]).to_csv(d / "train.csv", index=False)
    if with_test:
        test = [
            "FIND THE AREA OF THE TRIANGLE WHOSE SIDES ARE ALL EQUAL TO SEVEN UNITS OF LENGTH.",  # exact (case)
            "How many ways can five friends sit around a round table if rotations are the same ?",  # near
            "Describe all subgroups of the additive group of integers.",  # new
        ]
        pd.DataFrame({"id": ["a", "b", "c"], "Question": test}).to_csv(d / "test.csv", index=False)
    return d


def test_every_feature_has_a_question():
    assert set(ONE_OF_EACH) == set(FEATURES)


@pytest.mark.parametrize("name", list(ONE_OF_EACH))
def test_each_detector_finds_its_feature_only_in_its_question(name):
    hits = [text for text in list(ONE_OF_EACH.values()) + PLAIN if count_features(text)[name] > 0]
    assert hits == [ONE_OF_EACH[name]]


@pytest.mark.parametrize("text, name, expected", [
    ("$a<b$ and $c>d$ with <i>x</i>", "html", 2),  # tags inside math are not HTML
    ("Let $x$ and $y$ and \\(z\\) be reals.", "latex_inline", 3),
    ("Costs \\$5 and \\$6.", "latex_inline", 0),
    ("$$x^2$$ then \\[y\\]", "latex_display", 2),
    ("3.5 is a number", "numbering", 0),
    ("Problem 7.3 (7 points) A piece", "numbering", 1),
    ("Problem 7.3 (7 points) A piece", "noise", 1),
    ("## Problem Statement\n\nFind it", "noise", 1),
    ("![](https://cdn.mathpix.com/x.jpg?height=5)", "noise", 1),
])
def test_detector_cases(text, name, expected):
    assert count_features(text)[name] == expected


@pytest.fixture(scope="module")
def report_and_images(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explore")
    data = _folder(tmp)
    images = tmp / "images"
    return explore(data, tokenizer="whitespace", images=images, n_examples=2), images


def test_report_counts_each_feature_exactly_once(report_and_images):
    report, _ = report_and_images
    features = report["train"]["features"]
    for name in FEATURES:
        assert features[name]["count"] == 1, name
        assert sum(v["count"] for v in features[name]["by_class"].values()) == 1
    assert report["train"]["rows"] == len(ONE_OF_EACH) + len(PLAIN) + 2
    assert sum(c["count"] for c in report["train"]["classes"]) == report["train"]["rows"]
    assert report["train"]["examples"]["url"][0]["match"] == "https://example.org/figure.png"
    json.dumps(report)  # JSON-able


def test_report_duplicates(report_and_images):
    dup = report_and_images[0]["duplicates"]
    assert dup["train_conflicting_groups"] == 1
    assert dup["train_near_conflicting_pairs"] == 1
    assert dup["train_near_conflict_examples"][0]["labels"] == [3, 6]
    assert dup["test_exact_in_train"] == 1
    assert dup["test_near_in_train"] == 1
    assert dup["near_examples"][0]["test_row"] == 2
    assert dup["near_examples"][0]["similarity"] >= 0.9


def test_report_lengths_and_text(report_and_images):
    report, _ = report_and_images
    tokens = report["train"]["length_tokens"]
    assert tokens["max"] >= tokens["p95"] >= tokens["median"] > 0
    assert "whitespace" in report["tokenizer"]
    text = format_report(report)
    for needle in ("Classes (train)", "Algebra", "bytes_literal", "exact duplicate in train: 1", "Top terms"):
        assert needle in text


def test_plots_written(report_and_images):
    report, images = report_and_images
    names = {"class_balance.png", "length_by_class.png", "feature_prevalence.png", "top_terms.png"}
    assert {p.name for p in images.iterdir()} == names
    assert len(report["images"]) == 4
    for p in images.iterdir():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert p.stat().st_size > 10_000, p.name


def test_top_terms_finds_class_words():
    texts = ["triangle angle circle"] * 5 + ["prime divisor integer"] * 5
    terms = top_terms(texts, pd.Series([1] * 5 + [4] * 5).to_numpy(), n=20)
    words = {"1": {"triangle", "angle", "circle"}, "4": {"prime", "divisor", "integer"}}
    for k in ("1", "4"):
        found = [t for t, _ in terms[k]]
        assert words[k] <= set(found)  # every class word, and only words (and bigrams) of that class
        assert all(set(t.split()) <= words[k] for t in found)


def test_explore_without_test_file(tmp_path):
    report = explore(_folder(tmp_path, with_test=False), tokenizer="whitespace")
    assert report["test"] is None and report["images"] == []
    assert "test_exact_in_train" not in report["duplicates"]
    assert "no test.csv" in format_report(report)


def test_cli_with_minilm_tokenizer_writes_json(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = _folder(tmp_path)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["explore", "--data", str(data), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "Features" in result.output
    report = json.loads(out.read_text())
    assert "MiniLM" in report["tokenizer"]
    # WordPiece splits words, adds [CLS]/[SEP]: more tokens than whitespace words.
    assert report["train"]["length_tokens"]["median"] > 14


def test_cli_bad_folder_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["explore", "--data", str(tmp_path / "missing")])
    assert result.exit_code != 0
    assert "does not exist" in result.output and "Traceback" not in result.output
