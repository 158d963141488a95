"""Templates of topic 1, Geometry and Trigonometry: triangles, circles, trigonometric identities
and equations, polygons, coordinates, solids and similar triangles.
"""

from __future__ import annotations

from ..draws import Draw, load_sympy, register, symbol

PYTHAGOREAN_TRIPLES = [(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (6, 8, 10), (9, 12, 15), (20, 21, 29), (9, 40, 41)]


def triangle(r: Draw) -> str:
    a, b, c = r.choice(PYTHAGOREAN_TRIPLES)
    s = r.randint(1, 3)
    k = r.randint(0, 4)
    P, Q, R = r.choice(["ABC", "PQR", "XYZ", "KLM", "DEF"])
    if k == 0:
        return r.numbering() + f"In a right triangle the legs are {a * s} and {b * s}. " + r.one_of(
            "Find the hypotenuse.", "Find the length of the altitude to the hypotenuse.", "Find the radius of the inscribed circle.")
    if k == 1:
        x, y, z = r.randint(4, 15), r.randint(4, 15), r.randint(4, 15)
        while not (x + y > z and x + z > y and y + z > x):
            z = r.randint(4, 15)
        return r.numbering() + r.one_of("Find the area of a triangle with sides ", "A triangle has side lengths ") + f"{x}, {y} and {z}" + r.one_of(
            ". Find its area.", ". Compute its area using Heron's formula.", ". What is the radius of its circumscribed circle?")
    if k == 2:
        return (r.numbering() + ('In triangle ' + r.inline(P + Q + R) + ', ' + r.inline('\\angle ' + str(P) + ' = ' + str(r.randint(30, 80)) + '^\\circ') + ' and ')
                + r.inline(f"\\angle {Q} = {r.randint(20, 70)}^\\circ") + ('. Find ' + r.inline('\\angle ' + str(R))) + r.one_of(".", " and the angle between the bisectors."))
    if k == 3:
        return (r.numbering() + f"In triangle {r.inline(P + Q + R)}, {r.inline(f'{P}{Q} = {r.randint(5, 12)}')}, {r.inline(f'{P}{R} = {r.randint(5, 12)}')} and "
                + r.inline(f"\\angle {P} = {r.choice([30, 45, 60, 90, 120])}^\\circ") + f". Find the length of {r.inline(Q + R)}" + r.one_of(".", " and the area of the triangle."))
    return (r.numbering() + f"Point {r.inline('M')} is the midpoint of side {r.inline(Q + R)} of triangle {r.inline(P + Q + R)}. "
            + r.one_of("Prove that the median ", "Show that ") + r.inline(f"{P}M") + r.one_of(" is less than half the perimeter.", " divides the triangle into two triangles of equal area."))


def circle(r: Draw) -> str:
    rad = r.randint(2, 15)
    k = r.randint(0, 4)
    if k == 0:
        return r.numbering() + f"A circle has radius {rad}" + r.one_of(" cm", "", " units") + r.one_of(
            ". Find its area.", ". Find its circumference.", ". What is the area of a sector with central angle " + r.inline(f"{r.choice([30, 45, 60, 90, 120])}^\\circ") + "?")
    if k == 1:
        d = r.randint(1, rad - 1) if rad > 2 else 1
        return r.numbering() + f"A chord of a circle with radius {rad} is at distance {d} from the center. Find the length of the chord."
    if k == 2:
        return (r.numbering() + f"Two circles with radii {rad} and {rad + r.randint(1, 6)} are externally tangent. "
                + r.one_of("Find the length of their common external tangent.", "Find the distance between their centers."))
    if k == 3:
        return (r.numbering() + f"A square is inscribed in a circle of radius {r.inline(str(rad))}. " + r.one_of(
            "Find the area of the part of the disc outside the square.", "Find the side of the square."))
    h, kk = r.randint(-6, 6), r.randint(-6, 6)
    eq = f"x^2 + y^2 {'-' if h > 0 else '+'} {abs(2 * h)}x {'-' if kk > 0 else '+'} {abs(2 * kk)}y = {rad * rad - h * h - kk * kk}"
    return r.numbering() + f"Find the center and the radius of the circle {r.inline(eq)}."


def trigonometry(r: Draw) -> str:
    sp = load_sympy()
    t = r.choice(["x", "\\alpha", "\\theta", "\\beta"])
    k = r.randint(0, 5)
    if k == 0:
        a, b, c = r.choice(PYTHAGOREAN_TRIPLES[:5])
        return (r.numbering() + ('If ' + r.inline('\\sin ' + str(t) + ' = \\frac{' + str(a) + '}{' + str(c) + '}') + ' and ' + r.inline(t) + ' is an acute angle, find ')
                + r.inline(r.choice([f"\\cos {t}", f"\\tan {t}", f"\\sin 2{t}", f"\\cos 2{t}"])) + ".")
    if k == 1:
        ident = r.choice([
            f"\\frac{{\\sin 2{t}}}{{1 + \\cos 2{t}}} = \\tan {t}",
            f"\\sin^4 {t} - \\cos^4 {t} = -\\cos 2{t}",
            f"\\frac{{1 - \\cos 2{t}}}{{\\sin 2{t}}} = \\tan {t}",
            f"\\tan {t} + \\cot {t} = \\frac{{2}}{{\\sin 2{t}}}",
            f"\\sin 3{t} = 3\\sin {t} - 4\\sin^3 {t}",
            f"(\\sin {t} + \\cos {t})^2 = 1 + \\sin 2{t}",
        ])
        return r.numbering() + r.one_of("Prove the identity ", "Show that ", "Verify that ") + r.inline(ident) + "."
    if k == 2:
        a1, a2 = r.choice([15, 30, 45, 60, 75, 20, 40, 80]), r.choice([15, 30, 45, 60, 10, 50, 70])
        f1, f2 = r.sample(["\\sin", "\\cos"], 2)
        return r.numbering() + r.one_of("Compute ", "Evaluate ", "Find the exact value of ") + r.inline(
            f"{f1} {a1}^\\circ {f2} {a2}^\\circ {r.choice(['+', '-'])} {f2} {a1}^\\circ {f1} {a2}^\\circ") + "."
    if k == 3:
        X = symbol("x")
        expr = r.choice([sp.sin(X) ** 2 - sp.cos(X) ** 2, 2 * sp.sin(X) * sp.cos(X), sp.cos(X) ** 2 - sp.sin(X) ** 2])
        return r.numbering() + ('Solve the equation ' + r.inline(sp.latex(expr) + ' = ' + r.choice(['0', '\\frac{1}{2}', '\\frac{\\sqrt{3}}{2}', '1'])) + ' for ' + r.inline('0 \\le x < 2\\pi') + '.')
    if k == 4:
        return r.numbering() + ('Find the period and the amplitude of ' + r.inline('y = ' + str(r.randint(2, 6)) + '\\sin(' + str(r.randint(2, 5)) + 'x - \\frac{\\pi}{' + str(r.choice([3, 4, 6])) + '})') + '.')
    return (r.numbering() + f"From a point on the ground {r.randint(10, 90)} m from the foot of a tower, the angle of elevation of the top is "
            + r.inline(f"{r.choice([30, 45, 60])}^\\circ") + ". Find the height of the tower.")


def polygon(r: Draw) -> str:
    n = r.randint(5, 20)
    k = r.randint(0, 4)
    if k == 0:
        return r.numbering() + r.one_of(f"Find the sum of the interior angles of a convex {n}-gon.",
                                   ('Each interior angle of a regular polygon is ' + r.inline(str(180 - 360 // n) + '^\\circ') + '. How many sides does it have?'),
                                   f"How many diagonals does a convex polygon with {n} sides have?")
    a, b = r.randint(3, 20), r.randint(3, 20)
    if k == 1:
        return r.numbering() + f"The diagonals of a rhombus are {2 * a} and {2 * b}. " + r.one_of("Find its side.", "Find its area.", "Find the radius of the inscribed circle.")
    if k == 2:
        return r.numbering() + f"A rectangle has perimeter {2 * (a + b)} and area {a * b}. " + r.one_of("Find its diagonal.", "Find its sides.")
    if k == 3:
        return (r.numbering() + f"In trapezoid {r.inline('ABCD')} with bases {r.inline(f'AD = {a + b}')} and {r.inline(f'BC = {a}')}, the legs are equal to {r.inline(str(b + 2))}. "
                + r.one_of("Find the height.", "Find the area.", "Find the length of the diagonal."))
    return (r.numbering() + ('On the sides ' + r.inline('\\overline{BC}') + ' and ' + r.inline('\\overline{CD}') + ' of the square ' + r.inline('ABCD') + ', points ' + r.inline('P') + ' and ' + r.inline('Q') + ' are chosen with ')
            + r.inline(f"BP:PC = 1:{r.randint(2, 4)}") + ". Find the angle " + r.inline("\\angle PAQ") + ".")


def coordinates(r: Draw) -> str:
    pts = [(r.randint(-8, 8), r.randint(-8, 8)) for _ in range(4)]
    k = r.randint(0, 3)
    if k == 0:
        (x1, y1), (x2, y2) = pts[:2]
        return r.numbering() + f"Find the distance between the points {r.inline(f'A({x1}, {y1})')} and {r.inline(f'B({x2}, {y2})')}" + r.one_of(".", " and the midpoint of the segment.")
    if k == 1:
        s = ", ".join(f"{'ABC'[i]}({x}, {y})" for i, (x, y) in enumerate(pts[:3]))
        return r.numbering() + f"Find the area of the triangle with vertices {r.inline(s)}."
    if k == 2:
        s = ", ".join(r.inline(f"{'ABCD'[i]}({x},{y})") for i, (x, y) in enumerate(pts))
        return r.numbering() + f"In the diagram, the four points have coordinates {s}. What is the area of quadrilateral {r.inline('ABCD')}?"
    return r.numbering() + f"Find the equation of the line through {r.inline(f'({pts[0][0]}, {pts[0][1]})')} perpendicular to {r.inline(f'y = {r.nonzero(-5, 5)}x + {r.randint(-9, 9)}')}."


def solid(r: Draw) -> str:
    a, b = r.randint(2, 12), r.randint(2, 12)
    k = r.randint(0, 3)
    if k == 0:
        return r.numbering() + f"A cylinder has radius {a} and height {b}. " + r.one_of("Find its volume.", "Find its total surface area.")
    if k == 1:
        return r.numbering() + f"A cone has base radius {a} and slant height {a + b}. " + r.one_of("Find its volume.", "Find its lateral surface area.")
    if k == 2:
        return r.numbering() + f"A sphere is inscribed in a cube with edge {2 * a}. " + r.one_of("Find the volume of the sphere.", "Find the ratio of their surface areas.")
    return (r.numbering() + f"The base of a right pyramid is a square with side {a}, and the lateral edge is {a + b}. "
            + r.one_of("Find the height of the pyramid.", "Find the angle between a lateral edge and the base.", "Find its volume."))


def similar_triangles(r: Draw) -> str:
    a, b, c = r.randint(2, 9), r.randint(2, 9), r.randint(3, 12)
    k = r.randint(0, 2)
    if k == 0:
        return (r.numbering() + f"In triangle {r.inline('ABC')}, a line parallel to {r.inline('BC')} meets {r.inline('AB')} at {r.inline('D')} and {r.inline('AC')} at {r.inline('E')}. "
                + f"If {r.inline(f'AD = {a}')}, {r.inline(f'DB = {b}')} and {r.inline(f'DE = {c}')}, find {r.inline('BC')}.")
    if k == 1:
        return (r.numbering() + f"A tangent from point {r.inline('P')} touches a circle at {r.inline('T')}, and a secant through {r.inline('P')} meets the circle at {r.inline('A')} and {r.inline('B')}. "
                + f"If {r.inline(f'PA = {a}')} and {r.inline(f'AB = {b}')}, find {r.inline('PT')}.")
    return (r.numbering() + f"The sides of triangle {r.inline('ABC')} are {r.inline(f'a = {a + 3}')}, {r.inline(f'b = {b + 3}')}. The angle bisector from {r.inline('C')} divides {r.inline('AB')} into two segments. "
            + r.one_of("Find their ratio.", "Find the length of the bisector if " + r.inline(f"c = {c}") + "."))


TEMPLATES = [triangle, circle, trigonometry, polygon, coordinates, solid, similar_triangles]
register(1, TEMPLATES)
