"""Templates of topic 2, Calculus and Analysis: derivatives, integrals, limits, series, extrema and
differential equations.
"""

from __future__ import annotations

from ..draws import Draw, deepmind_row, load_sympy, random_polynomial, register, symbol


def _random_function(r: Draw, x):
    sp = load_sympy()
    X = symbol(x)
    parts = [
        r.nonzero(-5, 5) * X ** r.randint(2, 5),
        r.nonzero(-4, 4) * sp.sin(r.nonzero(1, 4) * X),
        r.nonzero(-4, 4) * sp.cos(r.nonzero(1, 3) * X),
        sp.exp(r.nonzero(-3, 3) * X),
        sp.log(X ** 2 + r.randint(1, 5)),
        sp.sqrt(r.randint(1, 5) * X + r.randint(1, 9)),
        X * sp.exp(r.nonzero(1, 3) * X),
        sp.atan(r.randint(1, 3) * X),
        (X + r.randint(1, 5)) / (X - r.randint(1, 5)),
    ]
    k = r.randint(1, 3)
    chosen = r.sample(parts, k)
    if k == 2 and r.random() < 0.4:
        return chosen[0] * chosen[1]
    return sp.Add(*chosen)


def derivative(r: Draw) -> str:
    sp = load_sympy()
    x = r.choice(["x", "x", "t", "u"])
    f = _random_function(r, x)
    fl = sp.latex(f)
    k = r.randint(0, 3)
    if k == 0:
        return r.numbering() + r.one_of("Find the derivative of ", "Differentiate ", "Compute the derivative of ") + r.inline(f"f({x}) = {fl}") + "."
    if k == 1:
        return r.numbering() + ('Find ' + r.inline('\\frac{d^2y}{d' + str(x) + '^2}') + ' if ' + r.inline('y = ' + str(fl)) + '.')
    if k == 2:
        a = r.randint(-3, 3)
        return r.numbering() + f"Find the equation of the tangent line to the curve {r.inline(f'y = {fl}')} at the point with {r.inline(f'{x} = {a}')}."
    return r.numbering() + ('Find ' + r.inline("f'(" + str(r.randint(0, 3)) + ')') + ' for ' + r.inline('f(' + str(x) + ') = ' + str(fl)) + '.')


def integral(r: Draw) -> str:
    sp = load_sympy()
    X = symbol("x")
    k = r.randint(0, 3)
    if k == 0:
        f = random_polynomial(r, X, r.randint(1, 4), -6, 6)
        a = r.randint(-2, 1)
        b = a + r.randint(1, 4)
        return r.numbering() + r.one_of("Evaluate ", "Compute ", "Calculate the definite integral ") + r.inline(f"\\int_{{{a}}}^{{{b}}} \\left({sp.latex(f)}\\right) \\, dx") + "."
    if k == 1:
        f = _random_function(r, "x")
        return r.numbering() + r.one_of("Find the indefinite integral ", "Find ", "Integrate ") + r.inline(f"\\int {sp.latex(f)} \\, dx") + "."
    if k == 2:
        p, q = r.randint(1, 4), r.randint(1, 4)
        return r.numbering() + f"Find the area of the region bounded by the curves {r.inline(f'y = x^{{{p + 1}}}')} and {r.inline(f'y = {q}x')}."
    return r.numbering() + ('Compute the improper integral ' + r.inline(r.choice(['\\int_0^{\\infty} x e^{-' + str(r.randint(1, 5)) + 'x} \\, dx', '\\int_1^{\\infty} \\frac{dx}{x^{' + str(r.randint(2, 5)) + '}}', '\\int_{-\\infty}^{\\infty} \\frac{dx}{x^2 + ' + str(r.randint(1, 9)) + '}'])) + '.')


def limit(r: Draw) -> str:
    sp = load_sympy()
    X = symbol("x")
    k = r.randint(0, 4)
    a = r.randint(1, 9)
    if k == 0:
        return r.numbering() + r.one_of("Compute ", "Evaluate ", "Find ") + r.inline(f"\\lim_{{x \\to 0}} \\frac{{\\sin {a}x}}{{{r.randint(1, 9)}x}}") + "."
    if k == 1:
        return r.numbering() + r.one_of("Find the limit ", "Compute ") + r.inline(f"\\lim_{{n \\to \\infty}} \\left(1 + \\frac{{{a}}}{{n}}\\right)^{{{r.randint(1, 4)}n}}") + "."
    if k == 2:
        num = sp.expand((X - a) * (X + r.randint(1, 6)))
        return r.numbering() + "Evaluate " + r.inline(f"\\lim_{{x \\to {a}}} \\frac{{{sp.latex(num)}}}{{x - {a}}}") + "."
    if k == 3:
        p, q = random_polynomial(r, X, 2, -5, 5), random_polynomial(r, X, 2, -5, 5)
        return r.numbering() + r.one_of("Find the limit of the sequence ", "Determine ") + r.inline(
            f"\\lim_{{n \\to \\infty}} \\frac{{{sp.latex(p.subs(X, symbol('n')))}}}{{{sp.latex(q.subs(X, symbol('n')))}}}") + "."
    return r.numbering() + "Compute " + r.inline(f"\\lim_{{x \\to 0}} \\frac{{e^{{{a}x}} - 1 - {a}x}}{{x^2}}") + " using L'Hôpital's rule."


def series(r: Draw) -> str:
    k = r.randint(0, 4)
    p = r.randint(1, 4)
    if k == 0:
        return r.numbering() + r.one_of("Determine whether the series ", "Does the series ") + r.inline(
            r.choice([f"\\sum_{{n=1}}^{{\\infty}} \\frac{{1}}{{n^{{{p}}}}}", f"\\sum_{{n=1}}^{{\\infty}} \\frac{{(-1)^n}}{{n^{{{p}}}}}",
                      f"\\sum_{{n=1}}^{{\\infty}} \\frac{{n^{p}}}{{{r.randint(2, 5)}^n}}", f"\\sum_{{n=2}}^{{\\infty}} \\frac{{1}}{{n \\ln^{{{p}}} n}}"])) + r.one_of(
            " converges or diverges.", " converge?", " converges absolutely.")
    if k == 1:
        q = r.randint(2, 10)
        return r.numbering() + "Find the sum of the series " + r.inline(f"\\sum_{{n=1}}^{{\\infty}} \\frac{{n}}{{{q}^n}}") + r.one_of(".", ", where the n-th term is " + r.inline(f"\\frac{{n}}{{{q}^{{n}}}}") + ".")
    if k == 2:
        return r.numbering() + "Compute " + r.inline(f"\\sum_{{k=1}}^{{{r.randint(20, 2024)}}} \\frac{{1}}{{k(k+{p})}}") + "."
    if k == 3:
        return r.numbering() + "Find the radius of convergence of the power series " + r.inline(f"\\sum_{{n=0}}^{{\\infty}} \\frac{{(x-{p})^n}}{{{r.randint(2, 7)}^n (n+1)}}") + "."
    f = r.choice(["e^{" + str(p) + "x}", "\\sin " + str(p) + "x", "\\ln(1+x)", "\\frac{1}{1-" + str(p) + "x}", "\\cos x^2"])
    return r.numbering() + r.one_of("Expand ", "Find the Maclaurin series of ", "Write the Taylor expansion of ") + r.inline(f) + r.one_of(
        f" up to the term in {r.inline(f'x^{r.randint(3, 6)}')}.", " around " + r.inline("x = 0") + ".")


def extremum(r: Draw) -> str:
    sp = load_sympy()
    X = symbol("x")
    a, b = r.randint(-4, 0), r.randint(1, 5)
    f = random_polynomial(r, X, 3, -6, 6)
    k = r.randint(0, 3)
    if k == 0:
        return r.numbering() + f"Find the maximum and minimum values of {r.inline(f'f(x) = {sp.latex(f)}')} on the interval {r.inline(f'[{a}, {b}]')}."
    if k == 1:
        return r.numbering() + f"Find the intervals on which {r.inline(f'f(x) = {sp.latex(f)}')} is increasing" + r.one_of(".", " and its local extrema.")
    if k == 2:
        return (r.numbering() + f"A rectangular box with a square base and no top has volume {r.randint(2, 50) * 100} " + r.inline("\\mathrm{cm}^3")
                + ". Find the dimensions that minimise the surface area.")
    return r.numbering() + f"Find the inflection points of the curve {r.inline(f'y = {sp.latex(sp.expand(f * X))}')}."


def deepmind_derivative(r: Draw) -> str:
    v, w = r.plain_letters(2)
    c = [r.nonzero(-30, 30) for _ in range(4)]
    e = [r.randint(2, 6), r.randint(2, 4)]
    poly = f"{c[0]}*{v}**{e[0]} + {c[1]}*{v}**{e[1]} + {c[2]}*{v} + {c[3]}".replace("+ -", "- ")
    k = r.randint(0, 3)
    if k == 0:
        return deepmind_row(f"Let {w}({v}) = {poly}. What is the {r.choice(['first', 'second', 'third'])} derivative of {w}({v}) wrt {v}?")
    if k == 1:
        return deepmind_row(f"Find the {r.choice(['first', 'second'])} derivative of {poly} wrt {v}.")
    if k == 2:
        return deepmind_row(f"Differentiate {poly} with respect to {v}.")
    return deepmind_row(f"What is the {r.choice(['second', 'third'])} derivative of {poly}?")


def differential_equation(r: Draw) -> str:
    k = r.randint(0, 2)
    a, b = r.nonzero(-5, 5), r.randint(1, 9)
    if k == 0:
        return r.numbering() + ('Solve the differential equation ' + r.inline("y' = " + str(a) + 'y') + ' with ' + r.inline('y(0) = ' + str(b)) + '.')
    if k == 1:
        return r.numbering() + "Find the general solution of " + r.inline(f"y'' {'-' if a < 0 else '+'} {abs(a)}y' + {b}y = 0") + "."
    return (r.numbering() + "Let " + r.inline("f") + " be a continuous function on " + r.inline("[0, 1]") + " such that "
            + r.inline(f"\\int_0^1 f(x)\\,dx = {b}") + ". Prove that there exists " + r.inline("c \\in (0, 1)") + " with " + r.inline(f"f(c) = {b}") + ".")


TEMPLATES = [derivative, integral, limit, series, extremum, deepmind_derivative, differential_equation]
register(2, TEMPLATES)
