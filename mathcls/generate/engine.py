"""The engine of the procedural generator: the seeded random draw the templates share, the
formatting helpers, the template registry and the functions that turn templates into rows.

A template is a function ``template(r) -> str`` that draws valid numbers from ``r`` (a
:class:`Draw`) and writes one question in English with LaTeX. Each topic module under
``mathcls.generate.topics`` defines its templates and calls :func:`register` once for its label.

Generation is reproducible: each topic draws from its own :class:`Draw` seeded with
``(seed, label, part)``, so asking more rows of one topic does not change another topic's rows.
"""

from __future__ import annotations

import random
from collections import Counter
from functools import lru_cache

import pandas as pd

from ..data import LABEL, SOURCE, TEXT
from ..errors import MathclsError
from ..labels import LABELS
from ..text import normalize_text

VARIABLES = list("xyztuvwnmkpqrsabc")
PLAIN_LETTERS = list("abcdfghijklmnopqrstuvwxyz")  # DeepMind-style single letters; no 'e', which reads as Euler's number
PEOPLE = ["Alice", "Bob", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ivan", "Julia", "Kofi",
          "Lena", "Marco", "Nadia", "Omar", "Petra", "Quinn", "Rosa", "Sven", "Tara", "Vasya", "Xiao Lei"]


@lru_cache(maxsize=1)
def load_sympy():
    """The ``sympy`` module, imported on first use so that importing the generator stays fast."""
    import sympy

    return sympy


def symbol(name: str):
    """The sympy symbol ``name``."""
    return load_sympy().Symbol(name)


def random_polynomial(r: Draw, x, degree: int, lo: int = -9, hi: int = 9):
    """A sympy polynomial in ``x`` of exactly ``degree``: coefficients in ``[lo, hi]``, a positive
    leading coefficient up to 6."""
    sp = load_sympy()
    return sp.Add(*[r.randint(lo, hi) * x**k for k in range(degree)], r.nonzero(1, 6) * x**degree)


def deepmind_row(question: str) -> str:
    """A row in the style of the DeepMind mathematics data set, which the competition data contains:
    a Python bytes literal with a trailing ``\\n`` escape."""
    return "b'" + question + "\\n'"


def plain_linear(coeffs, names) -> str:
    """``3*x - 2*y``: a linear combination in DeepMind plain-text style (zero terms dropped)."""
    out = ""
    for c, n in zip(coeffs, names):
        if c == 0:
            continue
        term = n if abs(c) == 1 else f"{abs(c)}*{n}"
        out += (" - " if c < 0 else " + ") + term if out else ("-" if c < 0 else "") + term
    return out or "0"


class Draw(random.Random):
    """A seeded :class:`random.Random` with the drawing and formatting helpers the templates share.

    Every helper consumes random numbers, so templates must call them in a fixed order to stay
    reproducible.
    """

    def nonzero(self, lo: int, hi: int) -> int:
        """A random non-zero integer in ``[lo, hi]``."""
        while True:
            v = self.randint(lo, hi)
            if v:
                return v

    def variable(self, exclude=()) -> str:
        """One variable name for math text, e.g. ``x``."""
        return self.choice([v for v in VARIABLES if v not in exclude])

    def variables(self, k: int) -> list[str]:
        """``k`` variable names that belong together, e.g. ``x, y, z`` or ``p, q, r``."""
        pool = self.choice([list("xyz"), list("abc"), list("uvw"), list("pqr"), list("xyzw"), list("mnk")])
        if len(pool) < k:
            pool = list("xyzwuv")
        return pool[:k]

    def plain_letters(self, k: int = 1) -> list[str]:
        """``k`` distinct letters for DeepMind-style plain-text rows."""
        return self.sample(PLAIN_LETTERS, k)

    def person(self) -> str:
        """A first name for word problems."""
        return self.choice(PEOPLE)

    def inline(self, expr: str) -> str:
        """Inline math, usually ``$...$``, sometimes ``\\(...\\)``."""
        return f"\\({expr}\\)" if self.random() < 0.1 else f"${expr}$"

    def display(self, expr: str) -> str:
        """Display math: ``$$`` on its own lines, ``\\[...\\]`` or a spaced ``$...$``."""
        k = self.random()
        if k < 0.55:
            return f"\n$$\n{expr}\n$$\n"
        if k < 0.8:
            return f"\\[{expr}\\]"
        return f" ${expr}$ "

    def one_of(self, *options: str) -> str:
        """One of the given phrasings."""
        return self.choice(options)

    def blank(self) -> str:
        """A fill-in blank as written in the competition data."""
        return self.choice(["$\\qquad$", "$\\qquad$ .", "______", "( )", "$\\underline{\\quad}$"])

    def numbering(self) -> str:
        """A numbering prefix as in olympiad collections (``"3. "``, ``"Problem 7. "``), or nothing."""
        k = self.random()
        n = self.randint(1, 25)
        if k < 0.45:
            return ""
        if k < 0.65:
            return f"{n}. "
        if k < 0.72:
            return f"Problem {n}. "
        if k < 0.78:
            return f"Example {n}. "
        if k < 0.83:
            return f"Task B-{self.randint(1, 4)}.{self.randint(1, 7)}. "
        if k < 0.87:
            return f"## Task {n} - {self.randint(100000, 399999)}\n\n"
        if k < 0.91:
            return f"{n}. ({self.choice([5, 8, 10, 12, 15, 20])} points) "
        if k < 0.95:
            return f"{self.randint(1, 12)}.{self.randint(1, 40)} "
        return f"Question {n}: "

    def multiple_choice(self, correct, wrong) -> str:
        """Options ``(A)``.. ``(E)`` holding ``correct`` and distinct distractors from ``wrong``."""
        opts = [correct]
        for w in wrong:
            if w not in opts:
                opts.append(w)
            if len(opts) == 5:
                break
        opts = opts[: self.choice([4, 5])] if len(opts) >= 4 else opts
        self.shuffle(opts)
        letters = "ABCDE"
        sep = self.choice(["\n", " "])
        return sep + sep.join(f"({letters[i]}) ${o}$" for i, o in enumerate(opts))


# ------------------------------------------------------------------ the template registry

_TEMPLATES: dict[int, list] = {}


def register(label: int, templates) -> None:
    """Make ``templates`` the templates of topic ``label``. Their order is part of the seeded
    output (and of the ``part`` split), so append new templates at the end."""
    _TEMPLATES[int(label)] = list(templates)


def registered_templates() -> dict[int, list]:
    """``{label: [template, ...]}`` for every topic."""
    from . import topics  # noqa: F401  (importing the topic modules registers their templates)

    return _TEMPLATES


def templates_for(label: int, part: str | None = None) -> list:
    """All templates of a topic, or one of two overlapping halves: ``"a"`` drops every third
    template, ``"b"`` keeps every template but draws the dropped ones more often."""
    funcs = registered_templates()[label]
    if part is None:
        return funcs
    if part == "a":
        return [f for i, f in enumerate(funcs) if i % 3 != 2]
    if part == "b":
        return funcs + [f for i, f in enumerate(funcs) if i % 3 == 2]
    raise MathclsError(f"Unknown template part {part!r}; use None, 'a' or 'b'.")


# ------------------------------------------------------------------ rows from templates

def _dedupe_key(text: str) -> str:
    return normalize_text(text).lower()


def generate_topic(label: int, n: int, seed: int = 0, exclude=(), part: str | None = None) -> list[str]:
    """``n`` distinct questions of topic ``label``; ``exclude`` holds normalised, case-folded
    texts to avoid."""
    if label not in registered_templates():
        raise MathclsError(f"Unknown label {label!r}; labels are {LABELS[0]}..{LABELS[-1]}.")
    r = Draw(f"mathcls-{seed}-{label}-{part or ''}")
    funcs = templates_for(label, part)
    seen = set(exclude)
    out: list[str] = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 50 * n + 1000:
            raise MathclsError(
                f"Could only make {len(out)} distinct questions of label {label} out of {n}; ask for fewer."
            )
        text = r.choice(funcs)(r).strip()
        key = _dedupe_key(text)
        if key in seen:
            continue
        seen.add(key)
        out.append(text)
    return out


def generate(per_class: int | dict = 200, seed: int = 0, exclude=(), part: str | None = None,
             progress: bool = False) -> pd.DataFrame:
    """Generate questions for every topic.

    Parameters
    ----------
    per_class : int or dict
        Rows per topic, or ``{label: rows}`` (missing labels get none).
    seed : int
        Seed; the same seed gives the same rows.
    exclude : iterable of str
        Texts never to produce (compared after :func:`~mathcls.text.normalize_text`, case-folded),
        e.g. the training and test questions.
    part : None, "a" or "b"
        Template subset, so that two data sets can differ in templates as well as numbers.
    progress : bool
        Show a progress bar.

    Returns
    -------
    DataFrame with ``Question``, ``label`` and ``source`` (``-1``: no source row).

    Examples
    --------
    >>> df = generate(per_class=2, seed=1)
    >>> sorted(df["label"].value_counts().to_dict().items())[0]
    (0, 2)
    """
    counts = _per_class_counts(per_class)
    excl = {_dedupe_key(t) for t in exclude}
    texts, labels = [], []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(counts.values()), desc="generating", unit="q")
    try:
        for label, n in counts.items():
            rows = generate_topic(label, n, seed, excl, part)
            excl.update(_dedupe_key(t) for t in rows)
            texts += rows
            labels += [label] * len(rows)
            if bar is not None:
                bar.update(len(rows))
    finally:
        if bar is not None:
            bar.close()
    return pd.DataFrame({TEXT: texts, LABEL: pd.array(labels, dtype="int64"), SOURCE: pd.array([-1] * len(texts), dtype="int64")})


def _per_class_counts(per_class) -> dict[int, int]:
    if isinstance(per_class, dict):
        counts = {}
        for k, v in per_class.items():
            if int(k) not in registered_templates():
                raise MathclsError(f"Unknown label {k!r} in per_class; labels are {LABELS[0]}..{LABELS[-1]}.")
            if int(v) < 0:
                raise MathclsError(f"per_class for label {k} is {v}; counts must be 0 or more.")
            counts[int(k)] = int(v)
        return dict(sorted(counts.items()))
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 0:
        raise MathclsError(f"per_class must be a non-negative integer or a dict of label -> count; got {per_class!r}.")
    return {label: per_class for label in LABELS}


def balance_counts(train_labels, target: int | None = None) -> dict[int, int]:
    """Rows to generate per topic so that every topic reaches ``target`` rows (default: the size
    of the largest class). Topics already at or above the target get 0.

    >>> balance_counts([0, 0, 0, 1], target=3)[1]
    2
    """
    counts = Counter(int(v) for v in train_labels)
    goal = max(counts.values(), default=0) if target is None else int(target)
    return {label: max(0, goal - counts.get(label, 0)) for label in LABELS}
