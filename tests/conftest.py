"""Shared fixtures: tiny corpora the tests build themselves, and the real data when present."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Beside the checkout (../shared/data/kasut), or one level further up for a git worktree in a subfolder.
REAL_DATA = next((p / "shared" / "data" / "kasut" for p in Path(__file__).resolve().parents[1:4]
                  if (p / "shared" / "data" / "kasut" / "train.csv").is_file()),
                 Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kasut")

# Short, clearly separable questions per topic; enough to train any family on tens of rows.
TOPIC_TEMPLATES = {
    0: ["Solve for x: {a}x + {b} = {c}.", "Find all real roots of x^2 - {a}x + {b} = 0.", "Simplify $({a}x+{b})^2$."],
    1: ["Find the area of a triangle with sides {a}, {b} and {c}.", "A circle has radius {a}; find its circumference.",
        "Compute $\\sin {a}^\\circ \\cos {b}^\\circ$ in the triangle."],
    2: ["Compute $\\int_0^{a} x^{b} \\, dx$.", "Find the derivative of $x^{a} e^{{{b} x}}$.",
        "Evaluate $\\lim_{{x \\to 0}} \\frac{{\\sin {a}x}}{{x}}$."],
    3: ["A fair die is rolled {a} times; what is the probability of exactly {b} sixes?",
        "Find the expected value of the sum of {a} coin tosses.", "Two cards are drawn; probability both are aces out of {a}?"],
    4: ["Find the remainder when {a}^{b} is divided by {c}.", "Find the greatest common divisor of {a} and {b}.",
        "How many primes divide {a}{b}{c}?"],
    5: ["In how many ways can {a} people sit in a row of {b} chairs?", "Count the subsets of a set with {a} elements.",
        "How many paths in a grid graph of size {a} by {b}?"],
    6: ["Find the determinant of the matrix $\\begin{{pmatrix}} {a} & {b} \\\\ {c} & 1 \\end{{pmatrix}}$.",
        "Find the eigenvalues of the matrix with rows ({a}, {b}) and ({b}, {c}).", "Is the set of vectors ({a},{b}) a basis of the vector space?"],
    7: ["Prove that a group of order {a} is abelian.", "Show that the ring Z/{a}Z is a field.",
        "Is the open set ({a},{b}) homeomorphic to the real line in this topology?"],
}


def make_corpus(n_per_class: int = 6, seed: int = 0, classes=None):
    rng = random.Random(seed)
    texts, labels = [], []
    for label, templates in TOPIC_TEMPLATES.items():
        if classes is not None and label not in classes:
            continue
        for i in range(n_per_class):
            t = templates[i % len(templates)]
            texts.append(t.format(a=rng.randint(2, 99), b=rng.randint(2, 99), c=rng.randint(2, 99)))
            labels.append(label)
    return texts, np.asarray(labels)


def rehash_payload(folder) -> None:
    """Record a model folder's current payload hashes in its manifest, as a crafted folder would:
    lets a test reach the checks behind the hash check."""
    import json

    from mathcls.data import file_sha256
    from mathcls.persist import MANIFEST, payload_files

    manifest = json.loads((Path(folder) / MANIFEST).read_text())
    manifest["payload_sha256"] = {name: file_sha256(path) for name, path in payload_files(folder).items()}
    (Path(folder) / MANIFEST).write_text(json.dumps(manifest))


@pytest.fixture(autouse=True)
def _seed_everything(tmp_path, monkeypatch):
    random.seed(0)
    np.random.seed(0)
    monkeypatch.setenv("MATHCLS_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def corpus():
    return make_corpus(6)


@pytest.fixture()
def competition_dir(tmp_path):
    """A small, valid competition folder (train, test, sample_submission)."""
    return write_competition(tmp_path / "comp")


def write_competition(d: Path, n_per_class: int = 8, empty_question: bool = True) -> Path:
    """Write the small competition folder of :func:`competition_dir` into ``d`` (``n_per_class``
    training rows per topic; 16 test rows, plus an empty one with ``empty_question``)."""
    texts, labels = make_corpus(n_per_class, seed=1)
    d.mkdir(parents=True)
    pd.DataFrame({"Question": texts, "label": labels}).to_csv(d / "train.csv", index=False)
    test_texts, _ = make_corpus(2, seed=2)
    test_texts = test_texts + [""] * empty_question  # an empty question still gets a label
    ids = [str(1000 + i) for i in range(len(test_texts))]
    pd.DataFrame({"id": ids, "Question": test_texts}).to_csv(d / "test.csv", index=False)
    pd.DataFrame({"id": ids, "label": 0}).to_csv(d / "sample_submission.csv", index=False)
    return d


@pytest.fixture()
def real_data():
    if not (REAL_DATA / "train.csv").is_file():
        pytest.skip(f"real competition data not found at {REAL_DATA}")
    return REAL_DATA


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if not has_gpu:
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
    if not os.environ.get("MATHCLS_TEST_POSTGRES_URL"):
        skip_pg = pytest.mark.skip(reason="set MATHCLS_TEST_POSTGRES_URL (nox -s tests-postgres does)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip_pg)
