"""Templates of topic 0, Algebra: linear and quadratic equations, systems, inequalities, rational
expressions, word problems, exponents and logarithms, polynomials, progressions and functions.
Arithmetic progressions and two-variable systems sit here, as in the competition data.
"""

from __future__ import annotations

from ..draws import Draw, deepmind_row, load_sympy, plain_linear, random_polynomial, register, symbol


def linear_equation(r: Draw) -> str:
    x = r.variable()
    sol = r.randint(-12, 12)
    a, c = r.nonzero(-9, 9), r.nonzero(-9, 9)
    while a == c:
        c = r.nonzero(-9, 9)
    b = r.randint(-20, 20)
    d = (a - c) * sol + b
    sp = load_sympy()
    X = symbol(x)
    eq = f"{sp.latex(a * X + b)} = {sp.latex(c * X + d)}"
    return r.numbering() + r.one_of(
        f"Solve for {r.inline(x)}: {r.inline(eq)}.",
        f"Find the value of {r.inline(x)} such that {r.inline(eq)}.",
        f"Determine {r.inline(x)} if {r.inline(eq)}.",
        f"If {r.inline(eq)}, what is the value of {r.inline(x)}?",
        f"What real number {r.inline(x)} satisfies the equation {r.inline(eq)}?",
    )


def quadratic(r: Draw) -> str:
    sp = load_sympy()
    x = r.variable()
    X = symbol(x)
    p, q = r.randint(-9, 9), r.randint(-9, 9)
    a = r.choice([1, 1, 1, 2, 3])
    poly = sp.expand(a * (X - p) * (X - q))
    eq = f"{sp.latex(poly)} = 0"
    k = r.randint(0, 4)
    if k == 0:
        return r.numbering() + r.one_of("Find all real roots of ", "Solve the quadratic equation ", "Find the solutions of ") + r.inline(eq) + "."
    if k == 1:
        s1, s2 = r.choice(["r", "\\alpha"]), r.choice(["s", "\\beta"])
        return (r.numbering() + f"Let {r.inline(s1)} and {r.inline(s2)} be the roots of {r.inline(eq)}. "
                + r.one_of("Compute ", "Find ", "What is ") + r.inline(f"{s1}^2 + {s2}^2") + r.one_of("?", "."))
    if k == 2:
        c = p * q
        opts = [str(-(p + q)), str(p + q), str(c), str(-(p + q) + 1), str(p - q)]
        return (r.numbering() + f"The sum of the roots of the equation {r.inline(sp.latex(sp.expand((X - p) * (X - q))) + ' = 0')} is"
                + r.multiple_choice(opts[0], opts[1:]))
    if k == 3:
        m = r.choice(["m", "k", "a"])
        return (r.numbering() + f"For which values of the parameter {r.inline(m)} does the equation "
                + r.inline(f"{x}^2 + {m}{x} + {r.randint(1, 16)} = 0") + r.one_of(" have two distinct real roots?",
                                                                            " have no real roots?", " have a double root?"))
    return (r.numbering() + f"The quadratic function {r.inline(f'f({x}) = ' + sp.latex(poly))} "
            + r.one_of("attains its minimum at what value of ", "has its vertex at what value of ") + r.inline(x) + "?")


def linear_system(r: Draw) -> str:
    sp = load_sympy()
    a, b = r.variables(2)
    A, B = symbol(a), symbol(b)
    sa, sb = r.randint(-9, 9), r.randint(-9, 9)
    eqs = []
    for _ in range(2):
        c1, c2 = r.nonzero(-7, 7), r.nonzero(-7, 7)
        eqs.append(f"{sp.latex(c1 * A + c2 * B)} = {c1 * sa + c2 * sb}")
    ask = r.choice([f"{a} + {b}", f"{a}{b}", a, f"{a} - {b}", f"{a}^2 + {b}^2"])
    if r.random() < 0.5:
        return r.numbering() + f"If {r.inline(eqs[0])} and {r.inline(eqs[1])}, what is {r.inline(ask)}?"
    return (r.numbering() + r.one_of("Solve the system of equations", "Find all pairs ", "Given real numbers satisfying")
            + r.display("\\left\\{\\begin{array}{l}\n" + ", \\\\\n".join(eqs) + "\n\\end{array}\\right.")
            + r.one_of("Find ", "Then ") + r.inline(ask) + r.one_of(".", " is " + r.blank()))


def deepmind_solve(r: Draw) -> str:
    k = r.randint(0, 3)
    if k == 0:
        (v,) = r.plain_letters(1)
        sol = r.randint(-15, 15)
        a, b = r.nonzero(-99, 99), r.nonzero(-60, 60)
        c = a - b
        rhs = c * sol
        return deepmind_row(f"Solve {plain_linear([a], [v])} = {plain_linear([b], [v])} + {rhs} for {v}.".replace("+ -", "- "))
    if k == 1:
        u, v = r.plain_letters(2)
        su, sv = r.randint(-9, 9), r.randint(-9, 9)
        c = [r.nonzero(-6, 6) for _ in range(4)]
        e1 = f"{plain_linear(c[:2], [u, v])} = {c[0] * su + c[1] * sv}"
        e2 = f"{plain_linear(c[2:], [u, v])} = {c[2] * su + c[3] * sv}"
        return deepmind_row(f"Solve {e1}, {e2} for {r.choice([u, v])}.")
    if k == 2:
        (v,) = r.plain_letters(1)
        p, q = r.randint(-9, 9), r.randint(-9, 9)
        return deepmind_row(f"Suppose {plain_linear([1], [v])}**2 + {-(p + q)}*{v} + {p * q} = 0. What is {v}?".replace("+ -", "- "))
    (v,) = r.plain_letters(1)
    a, b, c, d = r.nonzero(-9, 9), r.randint(-9, 9), r.nonzero(-9, 9), r.randint(-9, 9)
    return deepmind_row(r.one_of(f"Expand ({a}*{v} + {b})*({c}*{v} + {d}).", f"Factor {a * c}*{v}**2 + {a * d + b * c}*{v} + {b * d}.",
                         f"Let f({v}) = {a}*{v}**2 + {b}*{v} + {c}. Give f({d}).").replace("+ -", "- "))


def inequality(r: Draw) -> str:
    x = r.variable()
    a, b, c = r.nonzero(1, 6), r.randint(-9, 9), r.randint(1, 15)
    k = r.randint(0, 2)
    if k == 0:
        expr = ('|' + str(a) + str(x) + ' ' + str('+' if b >= 0 else '-') + ' ' + str(abs(b)) + '| ' + r.choice(['<', '\\le', '>', '\\geq']) + ' ' + str(c))
        return r.numbering() + r.one_of("Find all real ", "Solve for real ", "Determine all ") + r.inline(x) + " satisfying " + r.inline(expr) + "."
    if k == 1:
        return (r.numbering() + r.one_of("Solve the inequality ", "Find the solution set of ")
                + r.inline(f"\\frac{{{x} - {a}}}{{{x} + {c}}} \\geq 0") + ".")
    u, v = r.variables(2)
    return (r.numbering() + f"Let {r.inline(f'{u}, {v}')} be positive real numbers with {r.inline(f'{u} + {v} = {c}')}. "
            + r.one_of("Find the maximum value of ", "Find the largest possible value of ") + r.inline(f"{u}{v}") + ".")


def rational_expression(r: Draw) -> str:
    sp = load_sympy()
    x = r.variable()
    X = symbol(x)
    p, q, s = r.sample(range(-7, 8), 3)
    num = sp.expand((X - p) * (X - q))
    den = sp.expand((X - p) * (X - s))
    expr = f"\\frac{{{sp.latex(num)}}}{{{sp.latex(den)}}}"
    return r.numbering() + r.one_of("Simplify ", "Simplify the expression ", "Reduce the fraction ") + r.inline(expr) + r.one_of(
        ".", f" and evaluate it at {r.inline(f'{x} = {r.randint(-5, 9)}')}.")


def word_problem(r: Draw) -> str:
    n1, n2 = r.person(), r.person()
    a, b = r.randint(20, 90), r.randint(3, 15)
    k = r.randint(0, 4)
    if k == 0:
        return r.numbering() + (f"{n1} is {b} years older than {n2}. In {r.randint(2, 10)} years, {n1} will be "
                             f"{r.choice(['twice', 'three times'])} as old as {n2} was {r.randint(1, 5)} years ago. How old is {n2} now?")
    if k == 1:
        return r.numbering() + (f"A train travels {a * 10} km at a constant speed. If the speed were {b} km/h greater, "
                             f"the trip would take {r.choice(['1 hour', '2 hours', 'half an hour'])} less. Find the original speed of the train.")
    if k == 2:
        return r.numbering() + (f"A shop sells pencils at {r.randint(2, 9)} cents each and pens at {r.randint(10, 40)} cents each. "
                             f"{n1} spent {a * 10} cents on {a // 3 + b} items. How many pens did {n1} buy?")
    if k == 3:
        return r.numbering() + (f"The sum of two numbers is {a} and their difference is {b}. "
                             + r.one_of("Find the larger number.", "What is their product?", "Find both numbers."))
    return r.numbering() + (f"A mixture of {a} liters contains {b * 5}% alcohol. How many liters of water must be added "
                         f"to obtain a {max(1, b * 5 - r.randint(2, 10))}% solution?")


def exponents_and_logs(r: Draw) -> str:
    x = r.variable()
    base = r.choice([2, 3, 5])
    sol = r.randint(1, 5)
    sh = r.randint(-2, 3)
    k = r.randint(0, 2)
    if k == 0:
        return r.numbering() + r.one_of("Solve ", "Solve the equation ") + r.inline(str(base) + '^{' + str(x) + str('+' if sh >= 0 else '-') + str(abs(sh)) + '} = ' + str(base ** (sol + sh) if sol + sh >= 0 else '\\frac{1}{' + str(base ** (-(sol + sh))) + '}')) + "."
    if k == 1:
        return r.numbering() + f"Solve for {r.inline(x)}: " + r.inline(f"\\log_{{{base}}}({x} + {sh + 5}) = {sol}") + "."
    return r.numbering() + r.one_of("Simplify ", "Evaluate ") + r.inline(
        f"\\sqrt{{{r.choice([8, 12, 18, 27, 50, 72])}}} + \\sqrt{{{r.choice([2, 3, 8, 32])}}}") + "."


def polynomial_factors(r: Draw) -> str:
    sp = load_sympy()
    x = r.variable()
    X = symbol(x)
    root = r.randint(-4, 4)
    a = r.choice(["a", "k", "m"])
    poly = random_polynomial(r, X, 3, -6, 6)
    val = int(poly.subs(X, root))
    poly_l = sp.latex(poly - val)
    k = r.randint(0, 2)
    if k == 0:
        return (r.numbering() + f"If {r.inline(str(x) + ' ' + str('-' if root >= 0 else '+') + ' ' + str(abs(root)))} is a factor of "
                + r.inline(f"{poly_l} + {a}") + f", find {r.inline(a)}.").replace("- 0", "")
    if k == 1:
        return r.numbering() + f"Find the remainder when {r.inline(sp.latex(poly))} is divided by {r.inline(f'{x} - {root}')}."
    return r.numbering() + r.one_of("Factor completely: ", "Factorise ") + r.inline(sp.latex(sp.expand((X - root) * (X + r.randint(1, 5)) * (X - r.randint(1, 6))))) + "."


def progression(r: Draw) -> str:
    a, d, n = r.randint(-10, 20), r.nonzero(-5, 9), r.randint(8, 40)
    k = r.randint(0, 2)
    if k == 0:
        return r.numbering() + f"In an arithmetic progression the first term is {r.inline(str(a))} and the common difference is {r.inline(str(d))}. Find the {n}th term."
    if k == 1:
        return r.numbering() + f"The {r.randint(2, 5)}th term of an arithmetic sequence is {a} and the {r.randint(6, 12)}th term is {a + 7 * d}. Find the sum of the first {n} terms."
    q = r.choice([2, 3, -2])
    return r.numbering() + f"A geometric sequence has first term {r.inline(str(abs(a) + 1))} and ratio {r.inline(str(q))}. Which term equals {r.inline(str((abs(a) + 1) * q ** r.randint(3, 7)))}?"


def functions(r: Draw) -> str:
    sp = load_sympy()
    x = r.variable(exclude="f")
    X = symbol(x)
    a, b = r.nonzero(-5, 5), r.randint(-9, 9)
    f = a * X + b
    g = random_polynomial(r, X, 2, -4, 4)
    k = r.randint(0, 2)
    if k == 0:
        return r.numbering() + f"Let {r.inline(f'f({x}) = {sp.latex(f)}')} and {r.inline(f'g({x}) = {sp.latex(g)}')}. Find {r.inline(f'f(g({r.randint(-3, 3)}))')}."
    if k == 1:
        return r.numbering() + ('Find the inverse function of ' + r.inline('f(' + str(x) + ') = \\frac{' + sp.latex(f) + '}{' + str(r.nonzero(2, 7)) + '}') + '.')
    return r.numbering() + ('Find the domain of ' + r.inline('f(' + str(x) + ') = \\sqrt{' + sp.latex(f) + '} + \\frac{1}{' + str(x) + ' - ' + str(r.randint(-5, 5)) + '}') + '.')


TEMPLATES = [linear_equation, quadratic, linear_system, deepmind_solve, inequality, rational_expression, word_problem, exponents_and_logs, polynomial_factors, progression, functions]
register(0, TEMPLATES)
