"""A procedural generator of competition-style math problems for the eight topics.

Each topic has a list of template functions ``f(r) -> str`` that draw random but valid numbers
from ``r`` (a :class:`Draw`, a seeded :class:`random.Random` with helpers) and build the question
in English with LaTeX; sympy computes expressions, answers for multiple-choice options and valid
LaTeX where it matters. Wording, numbering prefixes, math delimiters and answer formats vary, and
some templates deliberately sit near a neighbouring topic (a linear system under Linear Algebra,
an arithmetic progression under Algebra), as the real data does.

Generation is reproducible: each topic draws from its own ``random.Random`` seeded with
``(seed, label)``, so asking more rows of one topic does not change another topic's rows.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from functools import lru_cache

import pandas as pd

from ..errors import MathclsError
from ..labels import LABELS
from ..text import normalize_text

TEXT, LABEL, SOURCE = "Question", "label", "source"

_VARS = list("xyztuvwnmkpqrsabc")
_DM_VARS = list("abcdfghijklmnopqrstuvwxyz")  # DeepMind-style single letters (no 'e')
_NAMES = ["Alice", "Bob", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ivan", "Julia", "Kofi",
          "Lena", "Marco", "Nadia", "Omar", "Petra", "Quinn", "Rosa", "Sven", "Tara", "Vasya", "Xiao Lei"]


@lru_cache(maxsize=1)
def _sp():
    import sympy

    return sympy


class Draw(random.Random):
    """``random.Random`` with the helpers the templates share."""

    def nz(self, lo: int, hi: int) -> int:
        """A random non-zero integer in ``[lo, hi]``."""
        while True:
            v = self.randint(lo, hi)
            if v:
                return v

    def var(self, exclude=()) -> str:
        return self.choice([v for v in _VARS if v not in exclude])

    def vars(self, k: int) -> list[str]:
        pool = self.choice([list("xyz"), list("abc"), list("uvw"), list("pqr"), list("xyzw"), list("mnk")])
        if len(pool) < k:
            pool = list("xyzwuv")
        return pool[:k]

    def dmvar(self, k: int = 1) -> list[str]:
        return self.sample(_DM_VARS, k)

    def name(self) -> str:
        return self.choice(_NAMES)

    def m(self, expr: str) -> str:
        """Inline math, usually ``$...$``, sometimes ``\\(...\\)``."""
        return f"\\({expr}\\)" if self.random() < 0.1 else f"${expr}$"

    def dm(self, expr: str) -> str:
        """Display math on its own lines."""
        k = self.random()
        if k < 0.55:
            return f"\n$$\n{expr}\n$$\n"
        if k < 0.8:
            return f"\\[{expr}\\]"
        return f" ${expr}$ "

    def word(self, *options: str) -> str:
        return self.choice(options)

    def blank(self) -> str:
        return self.choice(["$\\qquad$", "$\\qquad$ .", "______", "( )", "$\\underline{\\quad}$"])

    def prefix(self) -> str:
        """A numbering prefix as in olympiad collections, or nothing."""
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

    def options(self, correct, wrong) -> str:
        """Multiple-choice options ``(A)..(E)`` holding ``correct`` and distinct distractors."""
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


def _bytes(s: str) -> str:
    """A DeepMind-mathematics style row: a Python bytes literal with a trailing ``\\n`` escape."""
    return "b'" + s + "\\n'"


def _lin(coeffs, names) -> str:
    """``3*x - 2*y`` in DeepMind plain style."""
    out = ""
    for c, n in zip(coeffs, names):
        if c == 0:
            continue
        term = n if abs(c) == 1 else f"{abs(c)}*{n}"
        out += (" - " if c < 0 else " + ") + term if out else ("-" if c < 0 else "") + term
    return out or "0"


def _poly_latex(expr) -> str:
    return _sp().latex(expr)


def _sym(name: str):
    return _sp().Symbol(name)


def _rand_poly(r: Draw, x, deg: int, lo: int = -9, hi: int = 9):
    sp = _sp()
    return sp.Add(*[r.randint(lo, hi) * x**k for k in range(deg)], r.nz(1, 6) * x**deg)


# ---------------------------------------------------------------- 0 Algebra

def _alg_linear(r):
    x = r.var()
    sol = r.randint(-12, 12)
    a, c = r.nz(-9, 9), r.nz(-9, 9)
    while a == c:
        c = r.nz(-9, 9)
    b = r.randint(-20, 20)
    d = (a - c) * sol + b
    sp = _sp()
    X = _sym(x)
    eq = f"{sp.latex(a * X + b)} = {sp.latex(c * X + d)}"
    return r.prefix() + r.word(
        f"Solve for {r.m(x)}: {r.m(eq)}.",
        f"Find the value of {r.m(x)} such that {r.m(eq)}.",
        f"Determine {r.m(x)} if {r.m(eq)}.",
        f"If {r.m(eq)}, what is the value of {r.m(x)}?",
        f"What real number {r.m(x)} satisfies the equation {r.m(eq)}?",
    )


def _alg_quadratic(r):
    sp = _sp()
    x = r.var()
    X = _sym(x)
    p, q = r.randint(-9, 9), r.randint(-9, 9)
    a = r.choice([1, 1, 1, 2, 3])
    poly = sp.expand(a * (X - p) * (X - q))
    eq = f"{sp.latex(poly)} = 0"
    k = r.randint(0, 4)
    if k == 0:
        return r.prefix() + r.word("Find all real roots of ", "Solve the quadratic equation ", "Find the solutions of ") + r.m(eq) + "."
    if k == 1:
        s1, s2 = r.choice(["r", "\\alpha"]), r.choice(["s", "\\beta"])
        return (r.prefix() + f"Let {r.m(s1)} and {r.m(s2)} be the roots of {r.m(eq)}. "
                + r.word("Compute ", "Find ", "What is ") + r.m(f"{s1}^2 + {s2}^2") + r.word("?", "."))
    if k == 2:
        c = p * q
        opts = [str(-(p + q)), str(p + q), str(c), str(-(p + q) + 1), str(p - q)]
        return (r.prefix() + f"The sum of the roots of the equation {r.m(sp.latex(sp.expand((X - p) * (X - q))) + ' = 0')} is"
                + r.options(opts[0], opts[1:]))
    if k == 3:
        m = r.choice(["m", "k", "a"])
        return (r.prefix() + f"For which values of the parameter {r.m(m)} does the equation "
                + r.m(f"{x}^2 + {m}{x} + {r.randint(1, 16)} = 0") + r.word(" have two distinct real roots?",
                                                                            " have no real roots?", " have a double root?"))
    return (r.prefix() + f"The quadratic function {r.m(f'f({x}) = ' + sp.latex(poly))} "
            + r.word("attains its minimum at what value of ", "has its vertex at what value of ") + r.m(x) + "?")


def _alg_system(r):
    sp = _sp()
    a, b = r.vars(2)
    A, B = _sym(a), _sym(b)
    sa, sb = r.randint(-9, 9), r.randint(-9, 9)
    eqs = []
    for _ in range(2):
        c1, c2 = r.nz(-7, 7), r.nz(-7, 7)
        eqs.append(f"{sp.latex(c1 * A + c2 * B)} = {c1 * sa + c2 * sb}")
    ask = r.choice([f"{a} + {b}", f"{a}{b}", a, f"{a} - {b}", f"{a}^2 + {b}^2"])
    if r.random() < 0.5:
        return r.prefix() + f"If {r.m(eqs[0])} and {r.m(eqs[1])}, what is {r.m(ask)}?"
    return (r.prefix() + r.word("Solve the system of equations", "Find all pairs ", "Given real numbers satisfying")
            + r.dm("\\left\\{\\begin{array}{l}\n" + ", \\\\\n".join(eqs) + "\n\\end{array}\\right.")
            + r.word("Find ", "Then ") + r.m(ask) + r.word(".", " is " + r.blank()))


def _alg_deepmind_solve(r):
    k = r.randint(0, 3)
    if k == 0:
        (v,) = r.dmvar(1)
        sol = r.randint(-15, 15)
        a, b = r.nz(-99, 99), r.nz(-60, 60)
        c = a - b
        rhs = c * sol
        return _bytes(f"Solve {_lin([a], [v])} = {_lin([b], [v])} + {rhs} for {v}.".replace("+ -", "- "))
    if k == 1:
        u, v = r.dmvar(2)
        su, sv = r.randint(-9, 9), r.randint(-9, 9)
        c = [r.nz(-6, 6) for _ in range(4)]
        e1 = f"{_lin(c[:2], [u, v])} = {c[0] * su + c[1] * sv}"
        e2 = f"{_lin(c[2:], [u, v])} = {c[2] * su + c[3] * sv}"
        return _bytes(f"Solve {e1}, {e2} for {r.choice([u, v])}.")
    if k == 2:
        (v,) = r.dmvar(1)
        p, q = r.randint(-9, 9), r.randint(-9, 9)
        return _bytes(f"Suppose {_lin([1], [v])}**2 + {-(p + q)}*{v} + {p * q} = 0. What is {v}?".replace("+ -", "- "))
    (v,) = r.dmvar(1)
    a, b, c, d = r.nz(-9, 9), r.randint(-9, 9), r.nz(-9, 9), r.randint(-9, 9)
    return _bytes(r.word(f"Expand ({a}*{v} + {b})*({c}*{v} + {d}).", f"Factor {a * c}*{v}**2 + {a * d + b * c}*{v} + {b * d}.",
                         f"Let f({v}) = {a}*{v}**2 + {b}*{v} + {c}. Give f({d}).").replace("+ -", "- "))


def _alg_inequality(r):
    x = r.var()
    a, b, c = r.nz(1, 6), r.randint(-9, 9), r.randint(1, 15)
    k = r.randint(0, 2)
    if k == 0:
        expr = ('|' + str(a) + str(x) + ' ' + str('+' if b >= 0 else '-') + ' ' + str(abs(b)) + '| ' + r.choice(['<', '\\le', '>', '\\geq']) + ' ' + str(c))
        return r.prefix() + r.word("Find all real ", "Solve for real ", "Determine all ") + r.m(x) + " satisfying " + r.m(expr) + "."
    if k == 1:
        return (r.prefix() + r.word("Solve the inequality ", "Find the solution set of ")
                + r.m(f"\\frac{{{x} - {a}}}{{{x} + {c}}} \\geq 0") + ".")
    u, v = r.vars(2)
    return (r.prefix() + f"Let {r.m(f'{u}, {v}')} be positive real numbers with {r.m(f'{u} + {v} = {c}')}. "
            + r.word("Find the maximum value of ", "Find the largest possible value of ") + r.m(f"{u}{v}") + ".")


def _alg_rational(r):
    sp = _sp()
    x = r.var()
    X = _sym(x)
    p, q, s = r.sample(range(-7, 8), 3)
    num = sp.expand((X - p) * (X - q))
    den = sp.expand((X - p) * (X - s))
    expr = f"\\frac{{{sp.latex(num)}}}{{{sp.latex(den)}}}"
    return r.prefix() + r.word("Simplify ", "Simplify the expression ", "Reduce the fraction ") + r.m(expr) + r.word(
        ".", f" and evaluate it at {r.m(f'{x} = {r.randint(-5, 9)}')}.")


def _alg_word(r):
    n1, n2 = r.name(), r.name()
    a, b = r.randint(20, 90), r.randint(3, 15)
    k = r.randint(0, 4)
    if k == 0:
        return r.prefix() + (f"{n1} is {b} years older than {n2}. In {r.randint(2, 10)} years, {n1} will be "
                             f"{r.choice(['twice', 'three times'])} as old as {n2} was {r.randint(1, 5)} years ago. How old is {n2} now?")
    if k == 1:
        return r.prefix() + (f"A train travels {a * 10} km at a constant speed. If the speed were {b} km/h greater, "
                             f"the trip would take {r.choice(['1 hour', '2 hours', 'half an hour'])} less. Find the original speed of the train.")
    if k == 2:
        return r.prefix() + (f"A shop sells pencils at {r.randint(2, 9)} cents each and pens at {r.randint(10, 40)} cents each. "
                             f"{n1} spent {a * 10} cents on {a // 3 + b} items. How many pens did {n1} buy?")
    if k == 3:
        return r.prefix() + (f"The sum of two numbers is {a} and their difference is {b}. "
                             + r.word("Find the larger number.", "What is their product?", "Find both numbers."))
    return r.prefix() + (f"A mixture of {a} liters contains {b * 5}% alcohol. How many liters of water must be added "
                         f"to obtain a {max(1, b * 5 - r.randint(2, 10))}% solution?")


def _alg_exponent(r):
    x = r.var()
    base = r.choice([2, 3, 5])
    sol = r.randint(1, 5)
    sh = r.randint(-2, 3)
    k = r.randint(0, 2)
    if k == 0:
        return r.prefix() + r.word("Solve ", "Solve the equation ") + r.m(str(base) + '^{' + str(x) + str('+' if sh >= 0 else '-') + str(abs(sh)) + '} = ' + str(base ** (sol + sh) if sol + sh >= 0 else '\\frac{1}{' + str(base ** (-(sol + sh))) + '}')) + "."
    if k == 1:
        return r.prefix() + f"Solve for {r.m(x)}: " + r.m(f"\\log_{{{base}}}({x} + {sh + 5}) = {sol}") + "."
    return r.prefix() + r.word("Simplify ", "Evaluate ") + r.m(
        f"\\sqrt{{{r.choice([8, 12, 18, 27, 50, 72])}}} + \\sqrt{{{r.choice([2, 3, 8, 32])}}}") + "."


def _alg_polyfactor(r):
    sp = _sp()
    x = r.var()
    X = _sym(x)
    root = r.randint(-4, 4)
    a = r.choice(["a", "k", "m"])
    poly = _rand_poly(r, X, 3, -6, 6)
    val = int(poly.subs(X, root))
    poly_l = sp.latex(poly - val)
    k = r.randint(0, 2)
    if k == 0:
        return (r.prefix() + f"If {r.m(str(x) + ' ' + str('-' if root >= 0 else '+') + ' ' + str(abs(root)))} is a factor of "
                + r.m(f"{poly_l} + {a}") + f", find {r.m(a)}.").replace("- 0", "")
    if k == 1:
        return r.prefix() + f"Find the remainder when {r.m(sp.latex(poly))} is divided by {r.m(f'{x} - {root}')}."
    return r.prefix() + r.word("Factor completely: ", "Factorise ") + r.m(sp.latex(sp.expand((X - root) * (X + r.randint(1, 5)) * (X - r.randint(1, 6))))) + "."


def _alg_sequence(r):
    a, d, n = r.randint(-10, 20), r.nz(-5, 9), r.randint(8, 40)
    k = r.randint(0, 2)
    if k == 0:
        return r.prefix() + f"In an arithmetic progression the first term is {r.m(str(a))} and the common difference is {r.m(str(d))}. Find the {n}th term."
    if k == 1:
        return r.prefix() + f"The {r.randint(2, 5)}th term of an arithmetic sequence is {a} and the {r.randint(6, 12)}th term is {a + 7 * d}. Find the sum of the first {n} terms."
    q = r.choice([2, 3, -2])
    return r.prefix() + f"A geometric sequence has first term {r.m(str(abs(a) + 1))} and ratio {r.m(str(q))}. Which term equals {r.m(str((abs(a) + 1) * q ** r.randint(3, 7)))}?"


def _alg_function(r):
    sp = _sp()
    x = r.var(exclude="f")
    X = _sym(x)
    a, b = r.nz(-5, 5), r.randint(-9, 9)
    f = a * X + b
    g = _rand_poly(r, X, 2, -4, 4)
    k = r.randint(0, 2)
    if k == 0:
        return r.prefix() + f"Let {r.m(f'f({x}) = {sp.latex(f)}')} and {r.m(f'g({x}) = {sp.latex(g)}')}. Find {r.m(f'f(g({r.randint(-3, 3)}))')}."
    if k == 1:
        return r.prefix() + ('Find the inverse function of ' + r.m('f(' + str(x) + ') = \\frac{' + sp.latex(f) + '}{' + str(r.nz(2, 7)) + '}') + '.')
    return r.prefix() + ('Find the domain of ' + r.m('f(' + str(x) + ') = \\sqrt{' + sp.latex(f) + '} + \\frac{1}{' + str(x) + ' - ' + str(r.randint(-5, 5)) + '}') + '.')


# ---------------------------------------------------------------- 1 Geometry and Trigonometry

_PYTH = [(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (6, 8, 10), (9, 12, 15), (20, 21, 29), (9, 40, 41)]


def _geo_triangle(r):
    a, b, c = r.choice(_PYTH)
    s = r.randint(1, 3)
    k = r.randint(0, 4)
    P, Q, R = r.choice(["ABC", "PQR", "XYZ", "KLM", "DEF"])
    if k == 0:
        return r.prefix() + f"In a right triangle the legs are {a * s} and {b * s}. " + r.word(
            "Find the hypotenuse.", "Find the length of the altitude to the hypotenuse.", "Find the radius of the inscribed circle.")
    if k == 1:
        x, y, z = r.randint(4, 15), r.randint(4, 15), r.randint(4, 15)
        while not (x + y > z and x + z > y and y + z > x):
            z = r.randint(4, 15)
        return r.prefix() + r.word("Find the area of a triangle with sides ", "A triangle has side lengths ") + f"{x}, {y} and {z}" + r.word(
            ". Find its area.", ". Compute its area using Heron's formula.", ". What is the radius of its circumscribed circle?")
    if k == 2:
        return (r.prefix() + ('In triangle ' + r.m(P + Q + R) + ', ' + r.m('\\angle ' + str(P) + ' = ' + str(r.randint(30, 80)) + '^\\circ') + ' and ')
                + r.m(f"\\angle {Q} = {r.randint(20, 70)}^\\circ") + ('. Find ' + r.m('\\angle ' + str(R))) + r.word(".", " and the angle between the bisectors."))
    if k == 3:
        return (r.prefix() + f"In triangle {r.m(P + Q + R)}, {r.m(f'{P}{Q} = {r.randint(5, 12)}')}, {r.m(f'{P}{R} = {r.randint(5, 12)}')} and "
                + r.m(f"\\angle {P} = {r.choice([30, 45, 60, 90, 120])}^\\circ") + f". Find the length of {r.m(Q + R)}" + r.word(".", " and the area of the triangle."))
    return (r.prefix() + f"Point {r.m('M')} is the midpoint of side {r.m(Q + R)} of triangle {r.m(P + Q + R)}. "
            + r.word("Prove that the median ", "Show that ") + r.m(f"{P}M") + r.word(" is less than half the perimeter.", " divides the triangle into two triangles of equal area."))


def _geo_circle(r):
    rad = r.randint(2, 15)
    k = r.randint(0, 4)
    if k == 0:
        return r.prefix() + f"A circle has radius {rad}" + r.word(" cm", "", " units") + r.word(
            ". Find its area.", ". Find its circumference.", ". What is the area of a sector with central angle " + r.m(f"{r.choice([30, 45, 60, 90, 120])}^\\circ") + "?")
    if k == 1:
        d = r.randint(1, rad - 1) if rad > 2 else 1
        return r.prefix() + f"A chord of a circle with radius {rad} is at distance {d} from the center. Find the length of the chord."
    if k == 2:
        return (r.prefix() + f"Two circles with radii {rad} and {rad + r.randint(1, 6)} are externally tangent. "
                + r.word("Find the length of their common external tangent.", "Find the distance between their centers."))
    if k == 3:
        return (r.prefix() + f"A square is inscribed in a circle of radius {r.m(str(rad))}. " + r.word(
            "Find the area of the part of the disc outside the square.", "Find the side of the square."))
    h, kk = r.randint(-6, 6), r.randint(-6, 6)
    eq = f"x^2 + y^2 {'-' if h > 0 else '+'} {abs(2 * h)}x {'-' if kk > 0 else '+'} {abs(2 * kk)}y = {rad * rad - h * h - kk * kk}"
    return r.prefix() + f"Find the center and the radius of the circle {r.m(eq)}."


def _geo_trig(r):
    sp = _sp()
    t = r.choice(["x", "\\alpha", "\\theta", "\\beta"])
    k = r.randint(0, 5)
    if k == 0:
        a, b, c = r.choice(_PYTH[:5])
        return (r.prefix() + ('If ' + r.m('\\sin ' + str(t) + ' = \\frac{' + str(a) + '}{' + str(c) + '}') + ' and ' + r.m(t) + ' is an acute angle, find ')
                + r.m(r.choice([f"\\cos {t}", f"\\tan {t}", f"\\sin 2{t}", f"\\cos 2{t}"])) + ".")
    if k == 1:
        ident = r.choice([
            f"\\frac{{\\sin 2{t}}}{{1 + \\cos 2{t}}} = \\tan {t}",
            f"\\sin^4 {t} - \\cos^4 {t} = -\\cos 2{t}",
            f"\\frac{{1 - \\cos 2{t}}}{{\\sin 2{t}}} = \\tan {t}",
            f"\\tan {t} + \\cot {t} = \\frac{{2}}{{\\sin 2{t}}}",
            f"\\sin 3{t} = 3\\sin {t} - 4\\sin^3 {t}",
            f"(\\sin {t} + \\cos {t})^2 = 1 + \\sin 2{t}",
        ])
        return r.prefix() + r.word("Prove the identity ", "Show that ", "Verify that ") + r.m(ident) + "."
    if k == 2:
        a1, a2 = r.choice([15, 30, 45, 60, 75, 20, 40, 80]), r.choice([15, 30, 45, 60, 10, 50, 70])
        f1, f2 = r.sample(["\\sin", "\\cos"], 2)
        return r.prefix() + r.word("Compute ", "Evaluate ", "Find the exact value of ") + r.m(
            f"{f1} {a1}^\\circ {f2} {a2}^\\circ {r.choice(['+', '-'])} {f2} {a1}^\\circ {f1} {a2}^\\circ") + "."
    if k == 3:
        X = _sym("x")
        expr = r.choice([sp.sin(X) ** 2 - sp.cos(X) ** 2, 2 * sp.sin(X) * sp.cos(X), sp.cos(X) ** 2 - sp.sin(X) ** 2])
        return r.prefix() + ('Solve the equation ' + r.m(sp.latex(expr) + ' = ' + r.choice(['0', '\\frac{1}{2}', '\\frac{\\sqrt{3}}{2}', '1'])) + ' for ' + r.m('0 \\le x < 2\\pi') + '.')
    if k == 4:
        return r.prefix() + ('Find the period and the amplitude of ' + r.m('y = ' + str(r.randint(2, 6)) + '\\sin(' + str(r.randint(2, 5)) + 'x - \\frac{\\pi}{' + str(r.choice([3, 4, 6])) + '})') + '.')
    return (r.prefix() + f"From a point on the ground {r.randint(10, 90)} m from the foot of a tower, the angle of elevation of the top is "
            + r.m(f"{r.choice([30, 45, 60])}^\\circ") + ". Find the height of the tower.")


def _geo_polygon(r):
    n = r.randint(5, 20)
    k = r.randint(0, 4)
    if k == 0:
        return r.prefix() + r.word(f"Find the sum of the interior angles of a convex {n}-gon.",
                                   ('Each interior angle of a regular polygon is ' + r.m(str(180 - 360 // n) + '^\\circ') + '. How many sides does it have?'),
                                   f"How many diagonals does a convex polygon with {n} sides have?")
    a, b = r.randint(3, 20), r.randint(3, 20)
    if k == 1:
        return r.prefix() + f"The diagonals of a rhombus are {2 * a} and {2 * b}. " + r.word("Find its side.", "Find its area.", "Find the radius of the inscribed circle.")
    if k == 2:
        return r.prefix() + f"A rectangle has perimeter {2 * (a + b)} and area {a * b}. " + r.word("Find its diagonal.", "Find its sides.")
    if k == 3:
        return (r.prefix() + f"In trapezoid {r.m('ABCD')} with bases {r.m(f'AD = {a + b}')} and {r.m(f'BC = {a}')}, the legs are equal to {r.m(str(b + 2))}. "
                + r.word("Find the height.", "Find the area.", "Find the length of the diagonal."))
    return (r.prefix() + ('On the sides ' + r.m('\\overline{BC}') + ' and ' + r.m('\\overline{CD}') + ' of the square ' + r.m('ABCD') + ', points ' + r.m('P') + ' and ' + r.m('Q') + ' are chosen with ')
            + r.m(f"BP:PC = 1:{r.randint(2, 4)}") + ". Find the angle " + r.m("\\angle PAQ") + ".")


def _geo_coords(r):
    pts = [(r.randint(-8, 8), r.randint(-8, 8)) for _ in range(4)]
    k = r.randint(0, 3)
    if k == 0:
        (x1, y1), (x2, y2) = pts[:2]
        return r.prefix() + f"Find the distance between the points {r.m(f'A({x1}, {y1})')} and {r.m(f'B({x2}, {y2})')}" + r.word(".", " and the midpoint of the segment.")
    if k == 1:
        s = ", ".join(f"{'ABC'[i]}({x}, {y})" for i, (x, y) in enumerate(pts[:3]))
        return r.prefix() + f"Find the area of the triangle with vertices {r.m(s)}."
    if k == 2:
        s = ", ".join(r.m(f"{'ABCD'[i]}({x},{y})") for i, (x, y) in enumerate(pts))
        return r.prefix() + f"In the diagram, the four points have coordinates {s}. What is the area of quadrilateral {r.m('ABCD')}?"
    return r.prefix() + f"Find the equation of the line through {r.m(f'({pts[0][0]}, {pts[0][1]})')} perpendicular to {r.m(f'y = {r.nz(-5, 5)}x + {r.randint(-9, 9)}')}."


def _geo_solid(r):
    a, b = r.randint(2, 12), r.randint(2, 12)
    k = r.randint(0, 3)
    if k == 0:
        return r.prefix() + f"A cylinder has radius {a} and height {b}. " + r.word("Find its volume.", "Find its total surface area.")
    if k == 1:
        return r.prefix() + f"A cone has base radius {a} and slant height {a + b}. " + r.word("Find its volume.", "Find its lateral surface area.")
    if k == 2:
        return r.prefix() + f"A sphere is inscribed in a cube with edge {2 * a}. " + r.word("Find the volume of the sphere.", "Find the ratio of their surface areas.")
    return (r.prefix() + f"The base of a right pyramid is a square with side {a}, and the lateral edge is {a + b}. "
            + r.word("Find the height of the pyramid.", "Find the angle between a lateral edge and the base.", "Find its volume."))


def _geo_similar(r):
    a, b, c = r.randint(2, 9), r.randint(2, 9), r.randint(3, 12)
    k = r.randint(0, 2)
    if k == 0:
        return (r.prefix() + f"In triangle {r.m('ABC')}, a line parallel to {r.m('BC')} meets {r.m('AB')} at {r.m('D')} and {r.m('AC')} at {r.m('E')}. "
                + f"If {r.m(f'AD = {a}')}, {r.m(f'DB = {b}')} and {r.m(f'DE = {c}')}, find {r.m('BC')}.")
    if k == 1:
        return (r.prefix() + f"A tangent from point {r.m('P')} touches a circle at {r.m('T')}, and a secant through {r.m('P')} meets the circle at {r.m('A')} and {r.m('B')}. "
                + f"If {r.m(f'PA = {a}')} and {r.m(f'AB = {b}')}, find {r.m('PT')}.")
    return (r.prefix() + f"The sides of triangle {r.m('ABC')} are {r.m(f'a = {a + 3}')}, {r.m(f'b = {b + 3}')}. The angle bisector from {r.m('C')} divides {r.m('AB')} into two segments. "
            + r.word("Find their ratio.", "Find the length of the bisector if " + r.m(f"c = {c}") + "."))


# ---------------------------------------------------------------- 2 Calculus and Analysis

def _calc_func(r, x):
    sp = _sp()
    X = _sym(x)
    parts = [
        r.nz(-5, 5) * X ** r.randint(2, 5),
        r.nz(-4, 4) * sp.sin(r.nz(1, 4) * X),
        r.nz(-4, 4) * sp.cos(r.nz(1, 3) * X),
        sp.exp(r.nz(-3, 3) * X),
        sp.log(X ** 2 + r.randint(1, 5)),
        sp.sqrt(r.randint(1, 5) * X + r.randint(1, 9)),
        X * sp.exp(r.nz(1, 3) * X),
        sp.atan(r.randint(1, 3) * X),
        (X + r.randint(1, 5)) / (X - r.randint(1, 5)),
    ]
    k = r.randint(1, 3)
    chosen = r.sample(parts, k)
    if k == 2 and r.random() < 0.4:
        return chosen[0] * chosen[1]
    return sp.Add(*chosen)


def _calc_derivative(r):
    sp = _sp()
    x = r.choice(["x", "x", "t", "u"])
    f = _calc_func(r, x)
    fl = sp.latex(f)
    k = r.randint(0, 3)
    if k == 0:
        return r.prefix() + r.word("Find the derivative of ", "Differentiate ", "Compute the derivative of ") + r.m(f"f({x}) = {fl}") + "."
    if k == 1:
        return r.prefix() + ('Find ' + r.m('\\frac{d^2y}{d' + str(x) + '^2}') + ' if ' + r.m('y = ' + str(fl)) + '.')
    if k == 2:
        a = r.randint(-3, 3)
        return r.prefix() + f"Find the equation of the tangent line to the curve {r.m(f'y = {fl}')} at the point with {r.m(f'{x} = {a}')}."
    return r.prefix() + ('Find ' + r.m("f'(" + str(r.randint(0, 3)) + ')') + ' for ' + r.m('f(' + str(x) + ') = ' + str(fl)) + '.')


def _calc_integral(r):
    sp = _sp()
    X = _sym("x")
    k = r.randint(0, 3)
    if k == 0:
        f = _rand_poly(r, X, r.randint(1, 4), -6, 6)
        a = r.randint(-2, 1)
        b = a + r.randint(1, 4)
        return r.prefix() + r.word("Evaluate ", "Compute ", "Calculate the definite integral ") + r.m(f"\\int_{{{a}}}^{{{b}}} \\left({sp.latex(f)}\\right) \\, dx") + "."
    if k == 1:
        f = _calc_func(r, "x")
        return r.prefix() + r.word("Find the indefinite integral ", "Find ", "Integrate ") + r.m(f"\\int {sp.latex(f)} \\, dx") + "."
    if k == 2:
        p, q = r.randint(1, 4), r.randint(1, 4)
        return r.prefix() + f"Find the area of the region bounded by the curves {r.m(f'y = x^{{{p + 1}}}')} and {r.m(f'y = {q}x')}."
    return r.prefix() + ('Compute the improper integral ' + r.m(r.choice(['\\int_0^{\\infty} x e^{-' + str(r.randint(1, 5)) + 'x} \\, dx', '\\int_1^{\\infty} \\frac{dx}{x^{' + str(r.randint(2, 5)) + '}}', '\\int_{-\\infty}^{\\infty} \\frac{dx}{x^2 + ' + str(r.randint(1, 9)) + '}'])) + '.')


def _calc_limit(r):
    sp = _sp()
    X = _sym("x")
    k = r.randint(0, 4)
    a = r.randint(1, 9)
    if k == 0:
        return r.prefix() + r.word("Compute ", "Evaluate ", "Find ") + r.m(f"\\lim_{{x \\to 0}} \\frac{{\\sin {a}x}}{{{r.randint(1, 9)}x}}") + "."
    if k == 1:
        return r.prefix() + r.word("Find the limit ", "Compute ") + r.m(f"\\lim_{{n \\to \\infty}} \\left(1 + \\frac{{{a}}}{{n}}\\right)^{{{r.randint(1, 4)}n}}") + "."
    if k == 2:
        num = sp.expand((X - a) * (X + r.randint(1, 6)))
        return r.prefix() + "Evaluate " + r.m(f"\\lim_{{x \\to {a}}} \\frac{{{sp.latex(num)}}}{{x - {a}}}") + "."
    if k == 3:
        p, q = _rand_poly(r, X, 2, -5, 5), _rand_poly(r, X, 2, -5, 5)
        return r.prefix() + r.word("Find the limit of the sequence ", "Determine ") + r.m(
            f"\\lim_{{n \\to \\infty}} \\frac{{{sp.latex(p.subs(X, _sym('n')))}}}{{{sp.latex(q.subs(X, _sym('n')))}}}") + "."
    return r.prefix() + "Compute " + r.m(f"\\lim_{{x \\to 0}} \\frac{{e^{{{a}x}} - 1 - {a}x}}{{x^2}}") + " using L'Hôpital's rule."


def _calc_series(r):
    k = r.randint(0, 4)
    p = r.randint(1, 4)
    if k == 0:
        return r.prefix() + r.word("Determine whether the series ", "Does the series ") + r.m(
            r.choice([f"\\sum_{{n=1}}^{{\\infty}} \\frac{{1}}{{n^{{{p}}}}}", f"\\sum_{{n=1}}^{{\\infty}} \\frac{{(-1)^n}}{{n^{{{p}}}}}",
                      f"\\sum_{{n=1}}^{{\\infty}} \\frac{{n^{p}}}{{{r.randint(2, 5)}^n}}", f"\\sum_{{n=2}}^{{\\infty}} \\frac{{1}}{{n \\ln^{{{p}}} n}}"])) + r.word(
            " converges or diverges.", " converge?", " converges absolutely.")
    if k == 1:
        q = r.randint(2, 10)
        return r.prefix() + "Find the sum of the series " + r.m(f"\\sum_{{n=1}}^{{\\infty}} \\frac{{n}}{{{q}^n}}") + r.word(".", ", where the n-th term is " + r.m(f"\\frac{{n}}{{{q}^{{n}}}}") + ".")
    if k == 2:
        return r.prefix() + "Compute " + r.m(f"\\sum_{{k=1}}^{{{r.randint(20, 2024)}}} \\frac{{1}}{{k(k+{p})}}") + "."
    if k == 3:
        return r.prefix() + "Find the radius of convergence of the power series " + r.m(f"\\sum_{{n=0}}^{{\\infty}} \\frac{{(x-{p})^n}}{{{r.randint(2, 7)}^n (n+1)}}") + "."
    f = r.choice(["e^{" + str(p) + "x}", "\\sin " + str(p) + "x", "\\ln(1+x)", "\\frac{1}{1-" + str(p) + "x}", "\\cos x^2"])
    return r.prefix() + r.word("Expand ", "Find the Maclaurin series of ", "Write the Taylor expansion of ") + r.m(f) + r.word(
        f" up to the term in {r.m(f'x^{r.randint(3, 6)}')}.", " around " + r.m("x = 0") + ".")


def _calc_extremum(r):
    sp = _sp()
    X = _sym("x")
    a, b = r.randint(-4, 0), r.randint(1, 5)
    f = _rand_poly(r, X, 3, -6, 6)
    k = r.randint(0, 3)
    if k == 0:
        return r.prefix() + f"Find the maximum and minimum values of {r.m(f'f(x) = {sp.latex(f)}')} on the interval {r.m(f'[{a}, {b}]')}."
    if k == 1:
        return r.prefix() + f"Find the intervals on which {r.m(f'f(x) = {sp.latex(f)}')} is increasing" + r.word(".", " and its local extrema.")
    if k == 2:
        return (r.prefix() + f"A rectangular box with a square base and no top has volume {r.randint(2, 50) * 100} " + r.m("\\mathrm{cm}^3")
                + ". Find the dimensions that minimise the surface area.")
    return r.prefix() + f"Find the inflection points of the curve {r.m(f'y = {sp.latex(sp.expand(f * X))}')}."


def _calc_deepmind(r):
    v, w = r.dmvar(2)
    c = [r.nz(-30, 30) for _ in range(4)]
    e = [r.randint(2, 6), r.randint(2, 4)]
    poly = f"{c[0]}*{v}**{e[0]} + {c[1]}*{v}**{e[1]} + {c[2]}*{v} + {c[3]}".replace("+ -", "- ")
    k = r.randint(0, 3)
    if k == 0:
        return _bytes(f"Let {w}({v}) = {poly}. What is the {r.choice(['first', 'second', 'third'])} derivative of {w}({v}) wrt {v}?")
    if k == 1:
        return _bytes(f"Find the {r.choice(['first', 'second'])} derivative of {poly} wrt {v}.")
    if k == 2:
        return _bytes(f"Differentiate {poly} with respect to {v}.")
    return _bytes(f"What is the {r.choice(['second', 'third'])} derivative of {poly}?")


def _calc_ode(r):
    k = r.randint(0, 2)
    a, b = r.nz(-5, 5), r.randint(1, 9)
    if k == 0:
        return r.prefix() + ('Solve the differential equation ' + r.m("y' = " + str(a) + 'y') + ' with ' + r.m('y(0) = ' + str(b)) + '.')
    if k == 1:
        return r.prefix() + "Find the general solution of " + r.m(f"y'' {'-' if a < 0 else '+'} {abs(a)}y' + {b}y = 0") + "."
    return (r.prefix() + "Let " + r.m("f") + " be a continuous function on " + r.m("[0, 1]") + " such that "
            + r.m(f"\\int_0^1 f(x)\\,dx = {b}") + ". Prove that there exists " + r.m("c \\in (0, 1)") + " with " + r.m(f"f(c) = {b}") + ".")


# ---------------------------------------------------------------- 3 Probability and Statistics

def _prob_dice(r):
    n = r.randint(2, 4)
    k = r.randint(0, 3)
    if k == 0:
        return r.prefix() + f"{r.word('Two', 'Three', 'Four')} fair dice are rolled. What is the probability that the sum is {r.randint(n, 6 * n - 1)}?"
    if k == 1:
        return r.prefix() + f"A fair die is rolled {r.randint(3, 10)} times. " + r.word(
            f"What is the probability of getting exactly {r.randint(1, 3)} sixes?", "Find the expected number of even outcomes.",
            "What is the probability that at least one roll shows a six?")
    if k == 2:
        return r.prefix() + f"Two dice are thrown. Find the probability that the product of the points is divisible by {r.choice([2, 3, 4, 5, 6])}."
    return r.prefix() + f"A die is rolled until a {r.randint(1, 6)} appears. What is the expected number of rolls?"


def _prob_cards(r):
    k = r.randint(0, 2)
    n = r.randint(2, 5)
    if k == 0:
        return r.prefix() + f"{n} cards are drawn without replacement from a standard 52-card deck. " + r.word(
            "What is the probability that all of them are hearts?", "Find the probability that exactly one is an ace.",
            "What is the probability that they are all of different suits?")
    if k == 1:
        return r.prefix() + f"From a deck of {r.choice([36, 52])} cards, one card is drawn at random. Find the probability that it is a face card or a spade."
    return r.prefix() + f"A hand of {r.choice([5, 13])} cards is dealt from a shuffled deck. What is the probability that it contains {r.word('a pair', 'no aces', 'exactly two kings')}?"


def _prob_urn(r):
    a, b = r.randint(2, 12), r.randint(2, 12)
    k = r.randint(0, 2)
    if k == 0:
        return r.prefix() + f"A bag contains {a} red and {b} blue balls. {r.word('Two', 'Three')} balls are drawn at random without replacement. " + r.word(
            "What is the probability that they are all the same colour?", "Find the probability that exactly one is red.")
    if k == 1:
        return (r.prefix() + f"An urn has {a} white and {b} black balls. A ball is drawn, its colour noted, and it is returned with {r.randint(2, 4)} more balls of the same colour. "
                "Find the probability that the second ball drawn is white.")
    return (r.prefix() + f"From the first machine, {a * 10} parts were sent to assembly, of which {a * 10 - r.randint(1, 9)} are standard; from the second, "
            f"{b * 10}, of which {b * 10 - r.randint(1, 9)} are standard. Find the probability that a randomly taken part is standard.")


def _prob_expectation(r):
    vals = sorted(r.sample(range(-5, 15), r.randint(3, 4)))
    k = r.randint(0, 3)
    X = r.choice(["X", "Y", "W", "\\xi"])
    if k == 0:
        probs = r.choice([["\\frac{1}{2}", "\\frac{1}{4}", "\\frac{1}{4}"], ["\\frac{1}{3}", "\\frac{1}{3}", "\\frac{1}{3}"],
                          ["0.2", "0.5", "0.3"], ["0.1", "0.6", "0.3"]])
        pairs = ", ".join(f"P({X} = {v}) = {p}" for v, p in zip(vals, probs))
        return r.prefix() + f"A random variable {r.m(X)} satisfies {r.m(pairs)}. " + r.word(
            f"Find {r.m(f'E[{X}]')}.", f"Find the variance of {r.m(X)}.", f"Compute {r.m(f'E[{X}^2]')}.")
    if k == 1:
        n, p = r.randint(5, 50), r.choice(["0.2", "0.3", "\\frac{1}{3}", "0.5"])
        return r.prefix() + ('Let ' + r.m(str(X) + ' \\sim \\mathrm{Bin}(' + str(n) + ', ' + str(p) + ')') + '. ') + r.word(
            f"Find the expectation and variance of {r.m(X)}.", f"Find {r.m(f'P({X} = {r.randint(0, 4)})')}.")
    if k == 2:
        lam = r.randint(1, 6)
        return r.prefix() + f"The number of calls arriving at a switchboard in an hour follows a Poisson distribution with mean {lam}. " + r.word(
            f"Find the probability of at most {r.randint(1, 4)} calls.", "What is the probability of no calls in two hours?")
    mu, s = r.randint(50, 100), r.randint(2, 15)
    return r.prefix() + ('Let ' + r.m(str(X) + ' \\sim N(' + str(mu) + ', ' + str(s) + '^2)') + '. ') + r.word(
        f"Find {r.m(f'P({X} > {mu + s})')}.", f"Find {r.m(f'P({mu - 2 * s} < {X} < {mu + s})')}.", "Find the 90th percentile.")


def _prob_stats(r):
    data = [r.randint(1, 20) for _ in range(r.randint(5, 9))]
    k = r.randint(0, 3)
    d = ", ".join(map(str, data))
    if k == 0:
        return r.prefix() + f"Find the mean, median and mode of the data set {r.m(d)}."
    if k == 1:
        return r.prefix() + f"Compute the sample variance and the standard deviation of {r.m(d)}."
    if k == 2:
        n1 = r.name()
        return (r.prefix() + f"The average score of {n1}'s first {len(data) - 1} tests is {r.randint(70, 90)}. "
                f"What score on the next test raises the average to {r.randint(80, 95)}?")
    return (r.prefix() + f"In a sample of {r.randint(50, 400)} students, the mean height is {r.randint(150, 180)} cm with standard deviation {r.randint(4, 12)} cm. "
            "Construct a 95% confidence interval for the population mean.")


def _prob_conditional(r):
    p = r.choice([1, 2, 5])
    k = r.randint(0, 2)
    if k == 0:
        return (r.prefix() + f"A disease affects {p}% of a population. A test detects it with probability {r.choice([0.9, 0.95, 0.99])} and gives a false positive "
                f"with probability {r.choice([0.05, 0.1, 0.02])}. A person tests positive. What is the probability that the person has the disease?")
    if k == 1:
        return (r.prefix() + f"Events {r.m('A')} and {r.m('B')} are independent with {r.m(f'P(A) = 0.{r.randint(1, 9)}')} and {r.m(f'P(B) = 0.{r.randint(1, 9)}')}. "
                + r.word(('Find ' + r.m('P(A \\cup B)') + '.'), ('Find ' + r.m('P(A \\mid \\bar{B})') + '.')))
    return (r.prefix() + f"A fair coin is tossed {r.randint(4, 12)} times. " + r.word(
        f"What is the probability of getting at least {r.randint(2, 4)} heads?", "Given that at least one head appears, what is the probability of exactly two heads?",
        "What is the probability that no two consecutive tosses are heads?"))


def _prob_deepmind(r):
    letters = r.sample("abcdefghijklmnopqrstuvwxyz", r.randint(2, 4))
    counts = {c: r.randint(1, 6) for c in letters}
    bag = "{" + ", ".join(f"{c}: {n}" for c, n in counts.items()) + "}"
    n = r.randint(2, 4)
    k = r.randint(0, 1)
    if k == 0:
        want = Counter(r.choice(letters) for _ in range(n))
        desc = " and ".join(f"{m} {c}" for c, m in want.items())
        return _bytes(f"{['Two', 'Three', 'Four'][n - 2]} letters picked without replacement from {bag}. What is prob of picking {desc}?")
    seq = "".join(r.choice(letters) for _ in range(n))
    return _bytes(f"Calculate prob of sequence {seq} when {n} letters picked without replacement from {bag}.")


def _prob_geometric(r):
    a = r.randint(2, 10)
    return r.prefix() + r.word(
        f"A point is chosen at random inside a square of side {a}. What is the probability that it is closer to the center than to any side?",
        f"Two numbers are chosen independently and uniformly from {r.m(f'[0, {a}]')}. Find the probability that their sum is less than {r.randint(1, a)}.",
        f"A stick of length {a} is broken at two random points. What is the probability that the three pieces form a triangle?",
        f"Two friends agree to meet between 12:00 and 13:00 and each waits {r.randint(5, 30)} minutes. What is the probability that they meet?")


# ---------------------------------------------------------------- 4 Number Theory

def _nt_gcd(r):
    g = r.randint(2, 60)
    a, b = g * r.randint(2, 50), g * r.randint(2, 50)
    k = r.randint(0, 3)
    if k == 0:
        return r.prefix() + r.word("Find the greatest common divisor of ", "Compute ", "Determine ") + r.m(f"\\gcd({a}, {b})" if r.random() < 0.5 else f"{a}") + (
            "." if r.random() < 0.5 else f" and {b}.").replace("\\gcd", "\\gcd")
    if k == 1:
        return r.prefix() + f"Find the least common multiple of {a}, {b} and {r.randint(2, 99)}."
    if k == 2:
        return _bytes(r.word(f"Calculate the greatest common divisor of {a} and {b}.", f"What is the highest common factor of {a} and {b}?",
                             f"Calculate the lowest common multiple of {a} and {b}."))
    n = r.randint(2, 12)
    return r.prefix() + ('Find all natural numbers ' + r.m('n') + ' such that ' + r.m('\\gcd(n, ' + str(a) + ') = ' + str(g)) + ' and ' + r.m('\\operatorname{lcm}(n, ' + str(a) + ') = ' + str(a * n)) + '.')


def _nt_primes(r):
    sp = _sp()
    n = r.randint(100, 5000)
    k = r.randint(0, 3)
    if k == 0:
        return _bytes(r.word(f"Is {n} a prime number?", f"List the prime factors of {n}.", f"Is {n} composite?", f"What is the smallest prime factor of {n * 7 + 1}?"))
    if k == 1:
        return r.prefix() + f"Find all primes {r.m('p')} such that {r.m(f'p^2 + {r.choice([2, 4, 8, 14])}')} is also prime."
    if k == 2:
        f = sp.factorint(n)
        opts = [str(len(f)), str(len(f) + 1), str(max(1, len(f) - 1)), str(len(f) + 2)]
        return r.prefix() + f"How many distinct prime divisors does {r.m(str(n))} have?" + r.options(opts[0], opts[1:])
    return r.prefix() + f"Prove that there are infinitely many primes of the form {r.m(str(r.choice([4, 6, 3])) + 'k ' + r.choice(['+', '-']) + ' 1')}."


def _nt_modular(r):
    a, e, m = r.randint(2, 19), r.randint(20, 2024), r.choice([7, 9, 11, 13, 17, 19, 23, 100, 1000])
    k = r.randint(0, 4)
    if k == 0:
        return r.prefix() + f"Find the remainder when {r.m(f'{a}^{{{e}}}')} is divided by {r.m(str(m))}."
    if k == 1:
        return r.prefix() + "Solve the congruence " + r.m(f"{a}x \\equiv {r.randint(1, 20)} \\pmod{{{r.choice([7, 11, 13, 17, 19, 23])}}}") + "."
    if k == 2:
        return r.prefix() + f"What are the last two digits of {r.m(f'{a}^{{{e}}}')}?"
    if k == 3:
        return _bytes(f"What is the remainder when {r.randint(1000, 99999)} is divided by {r.randint(3, 99)}?")
    return (r.prefix() + f"Find the smallest positive integer {r.m('n')} such that " + r.m(f"n \\equiv {r.randint(1, 4)} \\pmod {{5}}") + ", "
            + r.m(f"n \\equiv {r.randint(1, 6)} \\pmod {{7}}") + " and " + r.m(f"n \\equiv {r.randint(1, 8)} \\pmod {{9}}") + ".")


def _nt_divisors(r):
    sp = _sp()
    n = r.choice([2, 3, 5, 6, 12]) * r.randint(10, 300)
    k = r.randint(0, 3)
    if k == 0:
        d = int(sp.divisor_count(n))
        return r.prefix() + f"How many positive divisors does {r.m(str(n))} have?" + (r.options(str(d), [str(d + 2), str(d - 2), str(d * 2), str(d + 4)]) if r.random() < 0.4 else "")
    if k == 1:
        return r.prefix() + f"Find the sum of all positive divisors of {r.m(str(n))}."
    if k == 2:
        return r.prefix() + f"Find the smallest natural number {r.m('n')} for which {r.m('(n+1)(n+2)(n+3)(n+4)')} is divisible by {r.m(str(r.choice([1000, 720, 120, 2024, 360])))}."
    return r.prefix() + f"Find all positive integers {r.m('n')} such that {r.m(f'n + {r.randint(2, 30)}')} divides {r.m(f'n^2 + {r.randint(2, 300)}')}."


def _nt_digits(r):
    n = r.randint(2, 9)
    k = r.randint(0, 3)
    if k == 0:
        return r.prefix() + f"Find the sum of the digits of {r.m(f'{10}^{{{r.randint(10, 100)}}} - {r.randint(2, 99)}')}."
    if k == 1:
        return r.prefix() + f"Convert {r.randint(100, 9999)} from base 10 to base {r.randint(2, 9)}."
    if k == 2:
        return r.prefix() + f"How many {r.randint(3, 6)}-digit numbers are divisible by {r.randint(3, 19)} and end in {n}?"
    return r.prefix() + ('What is the smallest integer of the form ' + r.m('111\\ldots11') + ' that is divisible by ' + r.m(str(r.choice([3, 7, 13, 37, 41]))) + '?')


def _nt_diophantine(r):
    a, b = r.randint(2, 15), r.randint(2, 15)
    while math.gcd(a, b) != 1:
        b = r.randint(2, 15)
    c = a * r.randint(1, 9) + b * r.randint(1, 9)
    k = r.randint(0, 2)
    if k == 0:
        return r.prefix() + f"Find all integer solutions of {r.m(f'{a}x + {b}y = {c}')}."
    if k == 1:
        return r.prefix() + f"Find all pairs of positive integers {r.m('(x, y)')} such that {r.m(f'x^2 - y^2 = {c}')}."
    return r.prefix() + f"Prove that {r.m(f'x^2 + y^2 = {4 * r.randint(1, 99) + 3}')} has no solutions in integers."


def _nt_phi(r):
    sp = _sp()
    n = r.randint(20, 500)
    k = r.randint(0, 2)
    if k == 0:
        return r.prefix() + ("Compute Euler's totient " + r.m('\\varphi(' + str(n) + ')')) + (r.options(str(int(sp.totient(n))), [str(int(sp.totient(n)) + d) for d in (2, -2, 4, 6)]) if r.random() < 0.4 else ".")
    if k == 1:
        return r.prefix() + f"Show that {r.m(f'n^{{{r.choice([5, 7, 13])}}} - n')} is divisible by {r.m(str(r.choice([30, 42, 2730])))} for every integer {r.m('n')}."
    return _bytes(f"Let x = {r.randint(10, 99)} - {r.randint(1, 9)}. Is x a multiple of {r.randint(2, 13)}?")


# ---------------------------------------------------------------- 5 Combinatorics and Discrete Math

def _comb_perm(r):
    n = r.randint(4, 12)
    k = r.randint(0, 4)
    if k == 0:
        return r.prefix() + f"In how many ways can {n} people be seated " + r.word("in a row", "around a round table", "in a row if two of them refuse to sit next to each other") + "?"
    if k == 1:
        m, w = r.randint(4, 10), r.randint(3, 9)
        return r.prefix() + f"A committee of {r.randint(3, 6)} is to be chosen from {m} men and {w} women. " + r.word(
            "In how many ways can this be done if it must contain at least two women?", "How many committees are possible?")
    if k == 2:
        word = r.choice(["BANANA", "MISSISSIPPI", "COMBINATORICS", "STATISTICS", "ALGEBRA", "PARALLEL", "GEOMETRY", "LETTER"])
        return r.prefix() + f"How many distinct arrangements of the letters of the word {word} are there" + r.word("?", " in which no two identical letters are adjacent?")
    if k == 3:
        return r.prefix() + f"How many {r.randint(3, 6)}-digit numbers can be formed from the digits {', '.join(map(str, sorted(r.sample(range(10), r.randint(4, 7)))))} " + r.word(
            "without repetition?", "if digits may repeat?", "that are even?")
    return r.prefix() + ('How many permutations of ' + r.m('\\{1, 2, \\ldots, ' + str(n) + '\\}') + ' have no fixed points?')


def _comb_graph(r):
    n = r.randint(5, 20)
    k = r.randint(0, 4)
    if k == 0:
        d = r.randint(2, 6)
        return r.prefix() + f"A simple graph has {n} vertices and every vertex has degree {d}. " + r.word("How many edges does it have?", "Is such a graph possible?")
    if k == 1:
        return r.prefix() + f"How many edges does the complete graph {r.m(f'K_{{{n}}}')} have" + r.word("?", ", and how many Hamiltonian cycles?")
    if k == 2:
        return r.prefix() + f"A tree has {n} vertices. " + r.word("How many edges does it have?", "Prove that it has at least two leaves.", f"How many labelled trees on {n} vertices are there?")
    if k == 3:
        return r.prefix() + f"Prove that in any party of {r.choice([6, 10, 18])} people there are three mutual acquaintances or three mutual strangers."
    return r.prefix() + f"What is the chromatic number of the cycle graph {r.m(f'C_{{{n}}}')}" + r.word("?", " and of the wheel graph " + r.m(f"W_{{{n}}}") + "?")


def _comb_recurrence(r):
    a, b, c = r.randint(1, 5), r.randint(1, 5), r.randint(1, 5)
    n = r.randint(8, 30)
    k = r.randint(0, 3)
    if k == 0:
        return r.prefix() + f"A sequence satisfies {r.m(f'a_1 = {a}')} and {r.m(f'a_{{n+1}} = {b}a_n + {c}')}. Find a closed formula for {r.m('a_n')}" + r.word(".", f" and compute {r.m(f'a_{{{n}}}')}.")
    if k == 1:
        return r.prefix() + ('In how many ways can a ' + r.m('2 \\times ' + str(n)) + ' board be tiled with ' + r.m('1 \\times 2') + ' dominoes?')
    if k == 2:
        return r.prefix() + f"How many binary strings of length {n} contain no two consecutive 1s?"
    return r.prefix() + f"Solve the recurrence {r.m(f'a_n = {a + b}a_{{n-1}} - {a * b}a_{{n-2}}')} with {r.m(f'a_0 = {c}')}, {r.m(f'a_1 = {c + 1}')}."


def _comb_paths(r):
    m, n = r.randint(3, 10), r.randint(3, 10)
    k = r.randint(0, 3)
    if k == 0:
        return r.prefix() + f"How many shortest lattice paths lead from {r.m('(0,0)')} to {r.m(f'({m},{n})')}" + r.word("?", f" that avoid the point {r.m(f'({m // 2},{n // 2})')}?")
    if k == 1:
        return r.prefix() + ('How many solutions in nonnegative integers does ' + r.m('x_1 + x_2 + \\cdots + x_{' + str(r.randint(3, 6)) + '} = ' + str(m * n)) + ' have?')
    if k == 2:
        return r.prefix() + f"In how many ways can {m * 2} identical balls be distributed into {n} distinct boxes" + r.word("?", " so that no box is empty?")
    return r.prefix() + ('How many subsets of ' + r.m('\\{1, 2, \\ldots, ' + str(m + n) + '\\}') + ' contain no two consecutive integers?')


def _comb_pigeonhole(r):
    n = r.randint(3, 50)
    return r.prefix() + r.word(
        f"Prove that among any {n + 1} integers there are two whose difference is divisible by {n}.",
        ('Show that if ' + str(n + 1) + ' points are placed in a unit square, two of them are at distance at most ' + r.m('\\frac{\\sqrt{2}}{' + str(math.isqrt(n)) + '}') + '.'),
        f"At least how many socks must be drawn from a drawer with {n} colours to be sure of a matching pair?",
        f"Each of {n * 2 + 1} points in the plane is coloured red or blue. Prove that some {r.randint(3, 5)} of them have the same colour.")


def _comb_inclusion(r):
    a, b, N = r.randint(2, 9), r.randint(2, 9), r.randint(100, 3000)
    return r.prefix() + r.word(
        f"How many integers from 1 to {N} are divisible by {a} or {b} but not by both?",
        f"How many integers from 1 to {N} are not divisible by any of {a}, {b} and {r.randint(2, 13)}?",
        f"In a class of {r.randint(20, 40)} students, {r.randint(5, 20)} play chess and {r.randint(5, 20)} play go; {r.randint(1, 5)} play both. How many play neither?")


def _comb_game(r):
    n, k = r.randint(10, 200), r.randint(2, 9)
    return r.prefix() + r.word(
        f"Two players take turns removing between 1 and {k} stones from a pile of {n}. The player who takes the last stone wins. Which player has a winning strategy?",
        f"There are {n} coins on a table. A move consists of turning over {k} coins. Can all coins be turned tails up, starting with all heads?",
        ('We write the numbers ' + r.m('1, 2, \\ldots, ' + str(n)) + ' on a board and repeatedly replace two numbers by their difference. Can the last number be 0?'))


def _comb_sets(r):
    n = r.randint(4, 15)
    return r.prefix() + r.word(
        f"How many subsets of a set with {n} elements have an even number of elements?",
        f"Count the number of functions from a {n}-element set onto a {r.randint(2, 4)}-element set.",
        ('How many distinct sums can be made from adding together exactly ' + str(r.randint(3, 8)) + ' numbers chosen from the set ' + r.m('\\{1, ' + str(n) + ', ' + str(2 * n + 1) + '\\}') + '?'),
        f"How many triangles with integer sides have perimeter {n + 10}?",
        f"Find the number of {n}-digit sequences of 0s and 1s with exactly {r.randint(2, n - 1)} ones.")


# ---------------------------------------------------------------- 6 Linear Algebra

def _mat(r, n, lo=-5, hi=5):
    sp = _sp()
    return sp.Matrix(n, n, lambda i, j: r.randint(lo, hi))


def _mat_latex(r, M) -> str:
    sp = _sp()
    env = r.choice(["pmatrix", "bmatrix", "pmatrix"])
    return sp.latex(M, mat_delim="", mat_str=env)


def _la_det(r):
    n = r.choice([2, 3, 3, 4])
    M = _mat(r, n)
    name = r.choice(["A", "M", "B"])
    k = r.randint(0, 2)
    ml = _mat_latex(r, M)
    if k == 0:
        d = int(M.det())
        return r.prefix() + r.word("Compute the determinant of ", "Find ", "Evaluate the determinant of ") + r.dm(f"{name} = {ml}").strip() + (
            r.options(str(d), [str(d + 1), str(-d), str(d + 2), str(2 * d + 1)]) if r.random() < 0.3 else "")
    if k == 1:
        return r.prefix() + f"Find the inverse of the matrix {r.m(f'{name} = {ml}')}" + r.word(".", ", if it exists.")
    return r.prefix() + f"For which values of {r.m('t')} is the matrix {r.m(_mat_latex(r, M.subs({}).as_mutable()).replace(str(M[0, 0]), 't', 1))} singular?"


def _la_eigen(r):
    sp = _sp()
    n = r.choice([2, 2, 3])
    P = sp.eye(n)
    for _ in range(3):
        i, j = r.sample(range(n), 2)
        P = P * sp.eye(n).elementary_row_op("n->n+km", row=i, k=r.randint(-2, 2), row2=j)
    D = sp.diag(*[r.randint(-4, 6) for _ in range(n)])
    A = P * D * P.inv()
    ml = _mat_latex(r, A)
    k = r.randint(0, 3)
    if k == 0:
        return r.prefix() + r.word("Find the eigenvalues and eigenvectors of ", "Find the eigenvalues of the matrix ") + r.m(ml) + "."
    if k == 1:
        return r.prefix() + f"Diagonalize the matrix {r.m(f'A = {ml}')}" + r.word(".", f" and compute {r.m(f'A^{{{r.randint(5, 20)}}}')}.")
    if k == 2:
        return r.prefix() + f"Find the characteristic polynomial of {r.m(ml)}."
    return r.prefix() + f"Is the matrix {r.m(ml)} diagonalizable? Justify your answer."


def _la_vectors(r):
    u = [r.randint(-5, 5) for _ in range(3)]
    v = [r.randint(-5, 5) for _ in range(3)]
    w = [r.randint(-5, 5) for _ in range(3)]
    fmt = r.choice([lambda a: f"({a[0]}, {a[1]}, {a[2]})", lambda a: f"\\begin{{pmatrix}} {a[0]} \\\\ {a[1]} \\\\ {a[2]} \\end{{pmatrix}}"])
    bold = r.choice(["\\mathbf{u}", "\\vec{a}", "\\mathbf{v}_1"])
    k = r.randint(0, 4)
    if k == 0:
        return r.prefix() + f"Are the vectors {r.m(fmt(u))}, {r.m(fmt(v))} and {r.m(fmt(w))} linearly independent?"
    if k == 1:
        return r.prefix() + f"Find the angle between {r.m(f'{bold} = {fmt(u)}')} and {r.m(fmt(v))}."
    if k == 2:
        return r.prefix() + f"Find the projection of {r.m(fmt(u))} onto {r.m(fmt(v))}" + r.word(".", " and the cross product of the two vectors.")
    if k == 3:
        return r.prefix() + ('Find the dimension of the span of ' + r.m(fmt(u)) + ', ' + r.m(fmt(v)) + ', ' + r.m(fmt(w)) + ' in ' + r.m('\\mathbb{R}^3') + '.')
    return r.prefix() + ('Let ' + r.m(bold) + ' and ' + r.m('\\mathbf{w}') + ' be unit vectors with ' + r.m(str(bold) + ' \\cdot \\mathbf{w} = \\frac{1}{' + str(r.randint(2, 5)) + '}') + '. Find ' + r.m('\\|' + str(bold) + ' + 2\\mathbf{w}\\|') + '.')


def _la_space(r):
    n = r.randint(2, 5)
    k = r.randint(0, 4)
    V = r.choice(["V", "W", "U"])
    if k == 0:
        return r.prefix() + ('Show that the set of all ' + r.m(str(n) + ' \\times ' + str(n)) + ' ') + r.word("symmetric", "upper triangular", "trace-zero", "skew-symmetric") + " matrices is a subspace of " + r.m(f"M_{{{n}}}(\\mathbb{{R}})") + " and find its dimension."
    if k == 1:
        return r.prefix() + ('Prove that ' + r.m('-(-v) = v') + ' for every ' + r.m('v \\in ' + str(V))) + r.word(".", ", where " + r.m(V) + " is a vector space.")
    if k == 2:
        return r.prefix() + f"Let {r.m(V)} be the space of polynomials of degree at most {n}. " + r.word(
            "Show that the differentiation map is linear and find its kernel.", f"Find a basis of {r.m(V)} and its dimension.",
            f"Is the set of polynomials {r.m('p')} with {r.m('p(1) = 0')} a subspace of {r.m(V)}?")
    if k == 3:
        return r.prefix() + ('Let ' + r.m('T: \\mathbb{R}^' + str(n) + ' \\to \\mathbb{R}^' + str(n)) + ' be a linear map with ' + r.m('T^2 = T') + '. Prove that ' + r.m('\\mathbb{R}^' + str(n) + ' = \\ker T \\oplus \\operatorname{im} T') + '.')
    return r.prefix() + ('Let ' + r.m('A') + ' be an ' + r.m(str(n) + ' \\times ' + str(n)) + ' matrix of rank ' + str(r.randint(1, n)) + '. ') + r.word(
        "What is the dimension of its null space?", "Prove that " + r.m("\\operatorname{rank}(A^2) \\le \\operatorname{rank} A") + ".")


def _la_system(r):
    sp = _sp()
    names = r.vars(3)
    sol = [r.randint(-5, 5) for _ in range(3)]
    rows = []
    for _ in range(3):
        c = [r.randint(-6, 6) for _ in range(3)]
        if not any(c):
            c[0] = 1
        rows.append(f"{sp.latex(sum(ci * _sym(n) for ci, n in zip(c, names)))} &= {sum(ci * s for ci, s in zip(c, sol))}")
    k = r.randint(0, 2)
    if k == 0:
        return (r.prefix() + r.word("Solve the system using Gaussian elimination:", "Solve the linear system", "Use Cramer's rule to solve")
                + r.dm("\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"))
    if k == 1:
        u, v = r.dmvar(2)
        c = [r.nz(-6, 6) for _ in range(4)]
        su, sv = r.randint(-9, 9), r.randint(-9, 9)
        return _bytes(f"Solve {_lin(c[:2], [u, v])} = {c[0] * su + c[1] * sv}, {_lin(c[2:], [u, v])} = {c[2] * su + c[3] * sv} for {u}.")
    A = _mat(r, 3)
    return r.prefix() + ('Find all vectors ' + r.m('\\mathbf{x}') + ' with ' + r.m('A\\mathbf{x} = \\mathbf{0}') + ' where ' + r.m('A = ' + _mat_latex(r, A)) + '.')


def _la_map(r):
    a, b, c, d = (r.randint(-5, 5) for _ in range(4))
    k = r.randint(0, 3)
    if k == 0:
        return r.prefix() + ('Let ' + r.m('T: \\mathbb{R}^2 \\to \\mathbb{R}^2') + ' be given by ' + r.m('T(x, y) = (' + str(a) + 'x + ' + str(b) + 'y, ' + str(c) + 'x + ' + str(d) + 'y)') + '. Find the matrix of ' + r.m('T') + ' in the standard basis') + r.word(".", " and its kernel.")
    if k == 1:
        return r.prefix() + ('Find the matrix of the rotation of the plane by ' + r.m(str(r.choice([30, 45, 60, 90, 120])) + '^\\circ') + ' and of the reflection in the line ' + r.m('y = ' + str(a) + 'x') + '.')
    if k == 2:
        return r.prefix() + ('Let ' + r.m('A') + ' and ' + r.m('B') + ' be ' + r.m('2 \\times 2') + ' matrices with integer entries such that ' + r.m('A, A+B, A+2B') + ' are invertible with integer inverses. Find ' + r.m('\\det(A + ' + str(r.randint(3, 6)) + 'B)') + '.')
    return r.prefix() + f"Compute the trace and the rank of {r.m(_mat_latex(r, _mat(r, 3)))}."


def _la_geometry3d(r):
    p = [r.randint(-5, 5) for _ in range(8)]
    k = r.randint(0, 1)
    if k == 0:
        sp = _sp()
        X, Y, Z = _sym("x"), _sym("y"), _sym("z")
        planes = [sp.latex(r.nz(-5, 5) * X + r.randint(-5, 5) * Y + r.nz(-5, 5) * Z + r.randint(-9, 9)) for _ in range(2)]
        return (r.prefix() + r.word("Write the canonical equations of the line.", "Find the direction vector of the line")
                + r.dm("\\begin{aligned}\n& " + " = 0 \\\\\n& ".join(planes) + " = 0\n\\end{aligned}"))
    return r.prefix() + f"Find the equation of the plane passing through the points {r.m(f'A({p[0]}, {p[1]}, {p[2]})')}, {r.m(f'B({p[3]}, {p[4]}, {p[5]})')} and {r.m(f'C({p[6]}, {p[7]}, 1)')}."


# ---------------------------------------------------------------- 7 Abstract Algebra and Topology

_TOP_PROPS = ["compact", "connected", "Hausdorff", "normal", "regular", "path-connected", "second countable", "separable", "locally compact"]


def _aa_group(r):
    sp = _sp()
    p = int(sp.prime(r.randint(1, 8)))
    k = r.randint(0, 5)
    G = r.choice(["G", "H"])
    if k == 0:
        return r.prefix() + f"Prove that a group of order {r.m(f'{p}^2')} is abelian."
    if k == 1:
        n = r.randint(6, 40)
        a = r.randint(2, n - 1)
        order = n // math.gcd(a, n)
        return r.prefix() + ('Find the order of the element ' + r.m(str(a)) + ' in the group ' + r.m('\\mathbb{Z}_{' + str(n) + '}')) + (
            r.options(str(order), [str(order + 1), str(n), str(a), str(max(1, order - 1))]) if r.random() < 0.4 else ".")
    if k == 2:
        n = r.randint(4, 9)
        from sympy.combinatorics import Permutation

        perm = Permutation(r.sample(range(n), n))
        cyc = "".join("(" + " ".join(str(i + 1) for i in c) + ")" for c in perm.cyclic_form) or "(1)"
        return r.prefix() + f"Find the order of the permutation {r.m(cyc)} in {r.m(f'S_{{{n}}}')}" + r.word(".", " and determine whether it is even.")
    if k == 3:
        return r.prefix() + ('Let ' + r.m('H \\leq K \\leq ' + str(G)) + '. Prove that ' + r.m('|' + str(G) + ': H| = |' + str(G) + ': K| \\cdot |K: H|')) + r.word(".", " (do not assume " + r.m(G) + " is finite).")
    if k == 4:
        n = r.choice([12, 20, 28, 30, 56, 105, 200, 1001])
        return r.prefix() + f"Show that a group of order {r.m(str(n))} is not simple" + r.word(".", " using the Sylow theorems.")
    return r.prefix() + ('Let ' + r.m(G) + ' be a group in which ' + r.m('x^2 = e') + ' for every ' + r.m('x \\in ' + str(G)) + '. Prove that ' + r.m(G) + ' is abelian.')


def _aa_ring(r):
    n = r.randint(4, 40)
    k = r.randint(0, 4)
    if k == 0:
        return r.prefix() + ('Is the ring ' + r.m('\\mathbb{Z}/' + str(n) + '\\mathbb{Z}') + ' a field? ') + r.word("Find its units.", "Find its zero divisors.", "Justify your answer.")
    if k == 1:
        return r.prefix() + ('Show that ' + r.m(r.choice(['\\mathbb{Z}[x]/(x^2+1)', '\\mathbb{R}[x]/(x^2+1)', '\\mathbb{Q}[x]/(x^3-2)'])) + ' is ') + r.word("a field.", "an integral domain.", "isomorphic to a familiar ring.")
    if k == 2:
        return r.prefix() + "Prove that every " + r.word("finite integral domain is a field.", "Euclidean domain is a principal ideal domain.", "maximal ideal of a commutative ring with identity is prime.")
    if k == 3:
        return r.prefix() + ('Find all ideals of the ring ' + r.m('\\mathbb{Z}_{' + str(n) + '}')) + r.word(".", " and determine which are maximal.")
    return r.prefix() + ('Let ' + r.m('R') + ' be a ring with ' + r.m('a^{' + str(r.randint(2, 6)) + '} = a') + ' for all ' + r.m('a \\in R') + '. Prove that ' + r.m('R') + ' is commutative.')


def _aa_field(r):
    sp = _sp()
    p = int(sp.prime(r.randint(1, 6)))
    k = r.randint(0, 3)
    if k == 0:
        a, b = r.sample([2, 3, 5, 6, 7], 2)
        return r.prefix() + ('Find the degree of the field extension ' + r.m('\\mathbb{Q}(\\sqrt{' + str(a) + '}, \\sqrt{' + str(b) + '})') + ' over ' + r.m('\\mathbb{Q}')) + r.word(".", " and a basis.")
    if k == 1:
        X = _sym("x")
        f = X ** r.randint(2, 4) + r.randint(0, p - 1) * X + r.randint(1, p - 1)
        return r.prefix() + ('Is the polynomial ' + r.m(sp.latex(f)) + ' irreducible over the field ' + r.m('\\mathbb{F}_{' + str(p) + '}') + '?')
    if k == 2:
        return r.prefix() + ('Let ' + r.m('F') + ' be the field with ' + str(p) + ' elements. How many ' + r.m('2 \\times 2') + ' matrices over ' + r.m('F') + ' have trace 1 and determinant 0?')
    return r.prefix() + ('Find the Galois group of ' + r.m('x^' + str(r.choice([3, 4])) + ' - ' + str(r.choice([2, 3, 5]))) + ' over ' + r.m('\\mathbb{Q}') + '.')


def _aa_topology(r):
    X = r.choice(["X", "Y", "(X, \\tau)"])
    p1, p2 = r.sample(_TOP_PROPS, 2)
    k = r.randint(0, 5)
    if k == 0:
        return r.prefix() + f"Show that a closed subspace of a {p1} space is {p1}."
    if k == 1:
        return r.prefix() + f"Let {r.m(X)} be a {p1} {p2} space. " + r.word(
            "Prove that every continuous image of " + r.m(X) + " is " + p1 + ".",
            "Show that every pair of disjoint closed sets have neighborhoods whose closures are disjoint.",
            f"Is {r.m(X)} necessarily metrizable?")
    if k == 2:
        return r.prefix() + f"Show that if {r.m(X)} is an infinite set, it is {p1} in the finite complement topology."
    if k == 3:
        return r.prefix() + ('Let ' + r.m('f: X \\to Y') + ' be continuous, where ' + r.m('X') + ' is ' + str(p1) + '. Prove that ' + r.m('f(X)') + ' is ' + str(p1)) + r.word(".", " in the subspace topology.")
    if k == 4:
        return r.prefix() + f"Prove that the union of a family of open sets in a topological space {r.m(X)} is open, and give an example where an infinite intersection of open sets is not open."
    return r.prefix() + ('Let ' + r.m(X) + ' be a compact Hausdorff space and ' + r.m('\\mathcal{A}') + ' a collection of closed ' + str(p2) + ' subsets ordered by inclusion. Show that ' + r.m('\\bigcap_{A \\in \\mathcal{A}} A') + ' is ' + str(p2) + '.')


def _aa_homeo(r):
    a, b = sorted(r.sample(range(-9, 10), 2))
    k = r.randint(0, 3)
    if k == 0:
        return r.prefix() + ('Show that the open interval ' + r.m('(' + str(a) + ', ' + str(b) + ')') + ' is homeomorphic to ' + r.m('\\mathbb{R}') + '.')
    if k == 1:
        return r.prefix() + ('Is the circle ' + r.m('S^1') + ' homeomorphic to ' + r.m(r.choice(['[' + str(a) + ', ' + str(b) + ']', '\\mathbb{R}', '[0,1)', 'S^1 \\times S^1'])) + '? Justify your answer.')
    if k == 2:
        return r.prefix() + "Prove that homeomorphism is an equivalence relation on topological spaces and that " + r.word("compactness", "connectedness", "the Hausdorff property") + " is a topological invariant."
    return r.prefix() + ('Compute the fundamental group of ' + r.m(r.choice(['S^1 \\vee S^1', '\\mathbb{R}^2 \\setminus \\{0\\}', 'T^2', '\\mathbb{R}P^2'])) + '.')


def _aa_hom(r):
    m, n = r.randint(2, 30), r.randint(2, 30)
    k = r.randint(0, 3)
    if k == 0:
        return r.prefix() + ('How many group homomorphisms are there from ' + r.m('\\mathbb{Z}_{' + str(m) + '}') + ' to ' + r.m('\\mathbb{Z}_{' + str(n) + '}') + '?')
    if k == 1:
        return r.prefix() + ('Let ' + r.m('\\varphi: G \\to H') + ' be a homomorphism. Prove that ' + r.m('\\ker \\varphi') + ' is a normal subgroup of ' + r.m('G')) + r.word(".", " and that " + r.m("G/\\ker\\varphi \\cong \\varphi(G)") + ".")
    if k == 2:
        return r.prefix() + ('Is ' + r.m('\\mathbb{Z}_{' + str(m) + '} \\times \\mathbb{Z}_{' + str(n) + '}') + ' cyclic? ') + r.word("Justify.", "Find an element of maximal order.")
    return r.prefix() + f"Classify all abelian groups of order {r.m(str(r.choice([8, 12, 16, 36, 72, 100, 360])))} up to isomorphism."


TEMPLATES: dict[int, list] = {
    0: [_alg_linear, _alg_quadratic, _alg_system, _alg_deepmind_solve, _alg_inequality, _alg_rational, _alg_word,
        _alg_exponent, _alg_polyfactor, _alg_sequence, _alg_function],
    1: [_geo_triangle, _geo_circle, _geo_trig, _geo_polygon, _geo_coords, _geo_solid, _geo_similar],
    2: [_calc_derivative, _calc_integral, _calc_limit, _calc_series, _calc_extremum, _calc_deepmind, _calc_ode],
    3: [_prob_dice, _prob_cards, _prob_urn, _prob_expectation, _prob_stats, _prob_conditional, _prob_deepmind, _prob_geometric],
    4: [_nt_gcd, _nt_primes, _nt_modular, _nt_divisors, _nt_digits, _nt_diophantine, _nt_phi],
    5: [_comb_perm, _comb_graph, _comb_recurrence, _comb_paths, _comb_pigeonhole, _comb_inclusion, _comb_game, _comb_sets],
    6: [_la_det, _la_eigen, _la_vectors, _la_space, _la_system, _la_map, _la_geometry3d],
    7: [_aa_group, _aa_ring, _aa_field, _aa_topology, _aa_homeo, _aa_hom],
}


def _templates_for(label: int, part: str | None) -> list:
    """All templates of a topic, or one of two disjoint-ish halves: ``"a"`` drops every third
    template, ``"b"`` keeps every template but draws the dropped ones more often."""
    funcs = TEMPLATES[label]
    if part is None:
        return funcs
    if part == "a":
        return [f for i, f in enumerate(funcs) if i % 3 != 2]
    if part == "b":
        return funcs + [f for i, f in enumerate(funcs) if i % 3 == 2]
    raise MathclsError(f"Unknown template part {part!r}; use None, 'a' or 'b'.")


def _norm_key(text: str) -> str:
    return normalize_text(text).lower()


def generate_topic(label: int, n: int, seed: int = 0, exclude=(), part: str | None = None) -> list[str]:
    """``n`` distinct questions of topic ``label``; ``exclude`` holds normalised texts to avoid."""
    if label not in TEMPLATES:
        raise MathclsError(f"Unknown label {label!r}; labels are {LABELS[0]}..{LABELS[-1]}.")
    r = Draw(f"mathcls-{seed}-{label}-{part or ''}")
    funcs = _templates_for(label, part)
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
        key = _norm_key(text)
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
    excl = {_norm_key(t) for t in exclude}
    texts, labels = [], []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(counts.values()), desc="generating", unit="q")
    try:
        for label, n in counts.items():
            rows = generate_topic(label, n, seed, excl, part)
            excl.update(_norm_key(t) for t in rows)
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
            if int(k) not in TEMPLATES:
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
