"""What a template module needs: the seeded random draw (:class:`Draw`), the formatting helpers and
:func:`register`, which records a topic's templates for :mod:`mathcls.generate.engine`.

A template is a function ``template(r) -> str`` that draws valid numbers from ``r`` (a
:class:`Draw`) and writes one question in English with LaTeX. Each topic module under
``mathcls.generate.topics`` defines its templates and calls :func:`register` once for its label.
"""

from __future__ import annotations

import random
from functools import lru_cache

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

TEMPLATES: dict[int, list] = {}


def register(label: int, templates) -> None:
    """Make ``templates`` the templates of topic ``label``. Their order is part of the seeded
    output (and of the ``part`` split), so append new templates at the end."""
    TEMPLATES[int(label)] = list(templates)
