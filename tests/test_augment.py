"""LaTeX-safe augmentation: math spans stay balanced, labels never change, renaming is consistent."""

from __future__ import annotations

import random
import re

import pandas as pd
import pytest

from mathcls.errors import MathclsError
from mathcls.generate import generate
from mathcls.generate.augment import OPS, augment, augment_text, math_problems
from mathcls.text import find_math_spans, normalize_text

LATEX_ROWS = [
    ("Solve for $x$: $3x + 5 = 17$, where x is a real number.", 0),
    ("Compute $\\int_0^{2} x^{3} \\, dx$ and $\\frac{d}{dx} e^{2x}$. Then find the sum of the two values.", 2),
    ("Let $\\mathbb{R}$ be the reals and $f: \\mathbb{R} \\to \\mathbb{R}$ with $f(x) = \\text{max}(x, 0)$. Show that f is continuous.", 7),
    ("Find the determinant of \\[A = \\begin{pmatrix} 2 & 3 \\\\ 4 & 5 \\end{pmatrix}\\] where $A$ is real.", 6),
    ("In triangle $ABC$, $AB = 13$, $BC = 14$ and $CA = 15$. A circle is drawn. Find the radius $r$ of the inscribed circle.", 1),
    ("Given that $n$ is a positive integer such that $n^2 + 12$ is divisible by $n + 3$, find all $n$.", 4),
    ("Three real numbers $x, y, z$ are such that $x^2 + 6y = -17$, $y^2 + 4z = 1$ and $z^2 + 2x = 2$. What is the value of $x^2 + y^2 + z^2$?", 0),
    ("$$\n\\left\\{\\begin{array}{l}\nx+2 y>0, \\\\\nx-2 y>0\n\\end{array}\\right.\n$$ Find the minimum of $|x|-|y|$.", 0),
    ("b'Solve -19*s = -45*s - 52 for s.\\n'", 0),
    ("How many ways can 6 people sit in a row of 8 chairs? Prove that the answer is even.", 5),
]


def test_augmented_rows_keep_math_balanced_and_labels():
    df = pd.DataFrame({"Question": [t for t, _ in LATEX_ROWS], "label": [y for _, y in LATEX_ROWS]})
    out = augment(df, n_per_row=6, seed=0)
    assert len(out) >= len(df) * 3, "most rows should yield several distinct copies"
    assert out.columns.tolist() == ["Question", "label", "source"]
    for text, label, source in out.itertuples(index=False):
        src = normalize_text(df["Question"][source])
        assert label == df["label"][source]
        assert math_problems(text) == [], text
        assert len(find_math_spans(text)) == len(find_math_spans(src))
        assert text != src
    assert set(out["source"]) == set(range(len(df)))
    assert not out["Question"].str.lower().duplicated().any()


def test_augment_on_generated_questions_keeps_every_span_valid():
    gen = generate(per_class=15, seed=4)
    out = augment(gen[["Question", "label"]], n_per_row=2, seed=1)
    assert len(out) > len(gen)
    assert all(math_problems(t) == [] for t in out["Question"])
    assert (out["label"].to_numpy() == gen["label"].to_numpy()[out["source"]]).all()


def test_rename_is_consistent_inside_and_outside_math():
    text = "Solve for $x$: $3x + \\frac{x}{2} = 17$, where x is a real number and $\\text{x-axis}$ is horizontal."
    for seed in range(20):
        new = augment_text(text, random.Random(seed), ops=("rename",))
        if new == text:
            continue
        letter = re.match(r"Solve for \$(\w)\$", new).group(1)
        assert letter != "x"
        assert new == text.replace("$x$", f"${letter}$").replace("3x", f"3{letter}").replace("{x}", f"{{{letter}}}").replace(
            "where x", f"where {letter}")
        assert "\\frac" in new and "\\text{x-axis}" in new
        break
    else:
        pytest.fail("rename never changed the variable")


def test_rename_leaves_fixed_letters_and_plain_text_variables():
    text = "Compute $\\int_0^1 e^{t} \\, dt$ for $t$."
    new = augment_text(text, random.Random(3), ops=("rename",))
    assert "\\, d" in new and "e^{" in new and "\\int" in new
    plain = "Solve -19*s = -45*s - 52 for s."
    renamed = {augment_text(plain, random.Random(k), ops=("rename",)) for k in range(10)} - {plain}
    assert renamed
    for new in renamed:
        letters = set(re.findall(r"\*(\w)\b", new)) | {new.rstrip(".").split()[-1]}
        assert len(letters) == 1 and "s" not in letters


def test_numbers_change_consistently_but_not_exponents_or_leading_number():
    text = "3. Find $x^2$ if $x + 12 = 40$ and $y = 12$ in the year 2016."
    changed = False
    for seed in range(10):
        new = augment_text(text, random.Random(seed), ops=("numbers",))
        assert new.startswith("3. ") and "x^2" in new and "2016" in new
        m = re.search(r"x \+ (\d+) = (\d+)\$ and \$y = (\d+)", new)
        assert m and m.group(1) == m.group(3)
        changed |= new != text
    assert changed


def test_synonyms_and_reorder_only_touch_prose():
    text = "Suppose $a = 2$. Assume $b = 3$. Find the sum of $a$ and $b$ such that the total is right."
    outs = {augment_text(text, random.Random(k), ops=("synonyms", "reorder")) for k in range(30)}
    assert len(outs) > 2
    for new in outs:
        assert sorted(s.strip() for s in re.findall(r"\$[^$]*\$", new)) == sorted(re.findall(r"\$[^$]*\$", text))
        assert new.rstrip().endswith("right.")


def test_math_problems_finds_broken_latex():
    assert math_problems("Find $x$ and $\\frac{1}{2}$.") == []
    assert math_problems("Find $x and more")
    assert math_problems("Find ${x$ now")
    assert math_problems("Find $\\begin{array}{l} x $ now")
    assert math_problems("Find $\\left( x$ now")


def test_augment_is_reproducible_and_validates_arguments():
    df = pd.DataFrame({"Question": [t for t, _ in LATEX_ROWS], "label": [y for _, y in LATEX_ROWS]})
    pd.testing.assert_frame_equal(augment(df, 2, seed=5), augment(df, 2, seed=5))
    assert len(augment(df, 1, fraction=0.3, seed=1)["source"].unique()) <= 3
    with pytest.raises(MathclsError, match="Unknown augmentation"):
        augment(df, ops=("shuffle",))
    with pytest.raises(MathclsError, match="fraction"):
        augment(df, fraction=0)
    assert set(OPS) == {"rename", "numbers", "synonyms", "reorder", "prefix"}


def test_augment_real_rows_never_adds_latex_problems(real_data):
    df = pd.read_csv(real_data / "train.csv").sample(300, random_state=0).reset_index(drop=True)
    out = augment(df, n_per_row=2, seed=0)
    assert len(out) > 300
    for text, label, source in out.itertuples(index=False):
        src = normalize_text(df["Question"][source])
        assert len(math_problems(text)) <= len(math_problems(src))
        assert len(find_math_spans(text)) == len(find_math_spans(src))
        assert label == df["label"][source]
