"""Templates of topic 6, Linear Algebra: determinants and inverses, eigenvalues, vectors, vector
spaces, linear systems (a 3x3 system sits here, a 2x2 one under Algebra, as in the competition
data), linear maps, lines and planes in space.
"""

from __future__ import annotations

from ..draws import Draw, deepmind_row, load_sympy, plain_linear, register, symbol


def _random_matrix(r: Draw, n, lo=-5, hi=5):
    sp = load_sympy()
    return sp.Matrix(n, n, lambda i, j: r.randint(lo, hi))


def _matrix_latex(r: Draw, M) -> str:
    sp = load_sympy()
    env = r.choice(["pmatrix", "bmatrix", "pmatrix"])
    return sp.latex(M, mat_delim="", mat_str=env)


def determinant(r: Draw) -> str:
    n = r.choice([2, 3, 3, 4])
    M = _random_matrix(r, n)
    name = r.choice(["A", "M", "B"])
    k = r.randint(0, 2)
    ml = _matrix_latex(r, M)
    if k == 0:
        d = int(M.det())
        return r.numbering() + r.one_of("Compute the determinant of ", "Find ", "Evaluate the determinant of ") + r.display(f"{name} = {ml}").strip() + (
            r.multiple_choice(str(d), [str(d + 1), str(-d), str(d + 2), str(2 * d + 1)]) if r.random() < 0.3 else "")
    if k == 1:
        return r.numbering() + f"Find the inverse of the matrix {r.inline(f'{name} = {ml}')}" + r.one_of(".", ", if it exists.")
    return r.numbering() + f"For which values of {r.inline('t')} is the matrix {r.inline(_matrix_latex(r, M).replace(str(M[0, 0]), 't', 1))} singular?"


def eigenvalues(r: Draw) -> str:
    sp = load_sympy()
    n = r.choice([2, 2, 3])
    P = sp.eye(n)
    for _ in range(3):
        i, j = r.sample(range(n), 2)
        P = P * sp.eye(n).elementary_row_op("n->n+km", row=i, k=r.randint(-2, 2), row2=j)
    D = sp.diag(*[r.randint(-4, 6) for _ in range(n)])
    A = P * D * P.inv()
    ml = _matrix_latex(r, A)
    k = r.randint(0, 3)
    if k == 0:
        return r.numbering() + r.one_of("Find the eigenvalues and eigenvectors of ", "Find the eigenvalues of the matrix ") + r.inline(ml) + "."
    if k == 1:
        return r.numbering() + f"Diagonalize the matrix {r.inline(f'A = {ml}')}" + r.one_of(".", f" and compute {r.inline(f'A^{{{r.randint(5, 20)}}}')}.")
    if k == 2:
        return r.numbering() + f"Find the characteristic polynomial of {r.inline(ml)}."
    return r.numbering() + f"Is the matrix {r.inline(ml)} diagonalizable? Justify your answer."


def vectors(r: Draw) -> str:
    u = [r.randint(-5, 5) for _ in range(3)]
    v = [r.randint(-5, 5) for _ in range(3)]
    w = [r.randint(-5, 5) for _ in range(3)]
    fmt = r.choice([lambda a: f"({a[0]}, {a[1]}, {a[2]})", lambda a: f"\\begin{{pmatrix}} {a[0]} \\\\ {a[1]} \\\\ {a[2]} \\end{{pmatrix}}"])
    bold = r.choice(["\\mathbf{u}", "\\vec{a}", "\\mathbf{v}_1"])
    k = r.randint(0, 4)
    if k == 0:
        return r.numbering() + f"Are the vectors {r.inline(fmt(u))}, {r.inline(fmt(v))} and {r.inline(fmt(w))} linearly independent?"
    if k == 1:
        return r.numbering() + f"Find the angle between {r.inline(f'{bold} = {fmt(u)}')} and {r.inline(fmt(v))}."
    if k == 2:
        return r.numbering() + f"Find the projection of {r.inline(fmt(u))} onto {r.inline(fmt(v))}" + r.one_of(".", " and the cross product of the two vectors.")
    if k == 3:
        return r.numbering() + ('Find the dimension of the span of ' + r.inline(fmt(u)) + ', ' + r.inline(fmt(v)) + ', ' + r.inline(fmt(w)) + ' in ' + r.inline('\\mathbb{R}^3') + '.')
    return r.numbering() + ('Let ' + r.inline(bold) + ' and ' + r.inline('\\mathbf{w}') + ' be unit vectors with ' + r.inline(str(bold) + ' \\cdot \\mathbf{w} = \\frac{1}{' + str(r.randint(2, 5)) + '}') + '. Find ' + r.inline('\\|' + str(bold) + ' + 2\\mathbf{w}\\|') + '.')


def vector_space(r: Draw) -> str:
    n = r.randint(2, 5)
    k = r.randint(0, 4)
    V = r.choice(["V", "W", "U"])
    if k == 0:
        return r.numbering() + ('Show that the set of all ' + r.inline(str(n) + ' \\times ' + str(n)) + ' ') + r.one_of("symmetric", "upper triangular", "trace-zero", "skew-symmetric") + " matrices is a subspace of " + r.inline(f"M_{{{n}}}(\\mathbb{{R}})") + " and find its dimension."
    if k == 1:
        return r.numbering() + ('Prove that ' + r.inline('-(-v) = v') + ' for every ' + r.inline('v \\in ' + str(V))) + r.one_of(".", ", where " + r.inline(V) + " is a vector space.")
    if k == 2:
        return r.numbering() + f"Let {r.inline(V)} be the space of polynomials of degree at most {n}. " + r.one_of(
            "Show that the differentiation map is linear and find its kernel.", f"Find a basis of {r.inline(V)} and its dimension.",
            f"Is the set of polynomials {r.inline('p')} with {r.inline('p(1) = 0')} a subspace of {r.inline(V)}?")
    if k == 3:
        return r.numbering() + ('Let ' + r.inline('T: \\mathbb{R}^' + str(n) + ' \\to \\mathbb{R}^' + str(n)) + ' be a linear map with ' + r.inline('T^2 = T') + '. Prove that ' + r.inline('\\mathbb{R}^' + str(n) + ' = \\ker T \\oplus \\operatorname{im} T') + '.')
    return r.numbering() + ('Let ' + r.inline('A') + ' be an ' + r.inline(str(n) + ' \\times ' + str(n)) + ' matrix of rank ' + str(r.randint(1, n)) + '. ') + r.one_of(
        "What is the dimension of its null space?", "Prove that " + r.inline("\\operatorname{rank}(A^2) \\le \\operatorname{rank} A") + ".")


def linear_system(r: Draw) -> str:
    sp = load_sympy()
    names = r.variables(3)
    sol = [r.randint(-5, 5) for _ in range(3)]
    rows = []
    for _ in range(3):
        c = [r.randint(-6, 6) for _ in range(3)]
        if not any(c):
            c[0] = 1
        rows.append(f"{sp.latex(sum(ci * symbol(n) for ci, n in zip(c, names)))} &= {sum(ci * s for ci, s in zip(c, sol))}")
    k = r.randint(0, 2)
    if k == 0:
        return (r.numbering() + r.one_of("Solve the system using Gaussian elimination:", "Solve the linear system", "Use Cramer's rule to solve")
                + r.display("\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"))
    if k == 1:
        u, v = r.plain_letters(2)
        c = [r.nonzero(-6, 6) for _ in range(4)]
        su, sv = r.randint(-9, 9), r.randint(-9, 9)
        return deepmind_row(f"Solve {plain_linear(c[:2], [u, v])} = {c[0] * su + c[1] * sv}, {plain_linear(c[2:], [u, v])} = {c[2] * su + c[3] * sv} for {u}.")
    A = _random_matrix(r, 3)
    return r.numbering() + ('Find all vectors ' + r.inline('\\mathbf{x}') + ' with ' + r.inline('A\\mathbf{x} = \\mathbf{0}') + ' where ' + r.inline('A = ' + _matrix_latex(r, A)) + '.')


def linear_map(r: Draw) -> str:
    a, b, c, d = (r.randint(-5, 5) for _ in range(4))
    k = r.randint(0, 3)
    if k == 0:
        return r.numbering() + ('Let ' + r.inline('T: \\mathbb{R}^2 \\to \\mathbb{R}^2') + ' be given by ' + r.inline('T(x, y) = (' + str(a) + 'x + ' + str(b) + 'y, ' + str(c) + 'x + ' + str(d) + 'y)') + '. Find the matrix of ' + r.inline('T') + ' in the standard basis') + r.one_of(".", " and its kernel.")
    if k == 1:
        return r.numbering() + ('Find the matrix of the rotation of the plane by ' + r.inline(str(r.choice([30, 45, 60, 90, 120])) + '^\\circ') + ' and of the reflection in the line ' + r.inline('y = ' + str(a) + 'x') + '.')
    if k == 2:
        return r.numbering() + ('Let ' + r.inline('A') + ' and ' + r.inline('B') + ' be ' + r.inline('2 \\times 2') + ' matrices with integer entries such that ' + r.inline('A, A+B, A+2B') + ' are invertible with integer inverses. Find ' + r.inline('\\det(A + ' + str(r.randint(3, 6)) + 'B)') + '.')
    return r.numbering() + f"Compute the trace and the rank of {r.inline(_matrix_latex(r, _random_matrix(r, 3)))}."


def lines_and_planes(r: Draw) -> str:
    p = [r.randint(-5, 5) for _ in range(8)]
    k = r.randint(0, 1)
    if k == 0:
        sp = load_sympy()
        X, Y, Z = symbol("x"), symbol("y"), symbol("z")
        planes = [sp.latex(r.nonzero(-5, 5) * X + r.randint(-5, 5) * Y + r.nonzero(-5, 5) * Z + r.randint(-9, 9)) for _ in range(2)]
        return (r.numbering() + r.one_of("Write the canonical equations of the line.", "Find the direction vector of the line")
                + r.display("\\begin{aligned}\n& " + " = 0 \\\\\n& ".join(planes) + " = 0\n\\end{aligned}"))
    return r.numbering() + f"Find the equation of the plane passing through the points {r.inline(f'A({p[0]}, {p[1]}, {p[2]})')}, {r.inline(f'B({p[3]}, {p[4]}, {p[5]})')} and {r.inline(f'C({p[6]}, {p[7]}, 1)')}."


TEMPLATES = [determinant, eigenvalues, vectors, vector_space, linear_system, linear_map, lines_and_planes]
register(6, TEMPLATES)
