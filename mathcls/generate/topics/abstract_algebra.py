"""Templates of topic 7, Abstract Algebra and Topology: groups, rings, fields, topological
spaces, homeomorphisms and homomorphisms.
"""

from __future__ import annotations

import math

from ..draws import Draw, load_sympy, register, symbol

TOPOLOGICAL_PROPERTIES = ["compact", "connected", "Hausdorff", "normal", "regular", "path-connected", "second countable", "separable", "locally compact"]


def groups(r: Draw) -> str:
    sp = load_sympy()
    p = int(sp.prime(r.randint(1, 8)))
    k = r.randint(0, 5)
    G = r.choice(["G", "H"])
    if k == 0:
        return r.numbering() + f"Prove that a group of order {r.inline(f'{p}^2')} is abelian."
    if k == 1:
        n = r.randint(6, 40)
        a = r.randint(2, n - 1)
        order = n // math.gcd(a, n)
        return r.numbering() + ('Find the order of the element ' + r.inline(str(a)) + ' in the group ' + r.inline('\\mathbb{Z}_{' + str(n) + '}')) + (
            r.multiple_choice(str(order), [str(order + 1), str(n), str(a), str(max(1, order - 1))]) if r.random() < 0.4 else ".")
    if k == 2:
        n = r.randint(4, 9)
        from sympy.combinatorics import Permutation

        perm = Permutation(r.sample(range(n), n))
        cyc = "".join("(" + " ".join(str(i + 1) for i in c) + ")" for c in perm.cyclic_form) or "(1)"
        return r.numbering() + f"Find the order of the permutation {r.inline(cyc)} in {r.inline(f'S_{{{n}}}')}" + r.one_of(".", " and determine whether it is even.")
    if k == 3:
        return r.numbering() + ('Let ' + r.inline('H \\leq K \\leq ' + str(G)) + '. Prove that ' + r.inline('|' + str(G) + ': H| = |' + str(G) + ': K| \\cdot |K: H|')) + r.one_of(".", " (do not assume " + r.inline(G) + " is finite).")
    if k == 4:
        n = r.choice([12, 20, 28, 30, 56, 105, 200, 1001])
        return r.numbering() + f"Show that a group of order {r.inline(str(n))} is not simple" + r.one_of(".", " using the Sylow theorems.")
    return r.numbering() + ('Let ' + r.inline(G) + ' be a group in which ' + r.inline('x^2 = e') + ' for every ' + r.inline('x \\in ' + str(G)) + '. Prove that ' + r.inline(G) + ' is abelian.')


def rings(r: Draw) -> str:
    n = r.randint(4, 40)
    k = r.randint(0, 4)
    if k == 0:
        return r.numbering() + ('Is the ring ' + r.inline('\\mathbb{Z}/' + str(n) + '\\mathbb{Z}') + ' a field? ') + r.one_of("Find its units.", "Find its zero divisors.", "Justify your answer.")
    if k == 1:
        return r.numbering() + ('Show that ' + r.inline(r.choice(['\\mathbb{Z}[x]/(x^2+1)', '\\mathbb{R}[x]/(x^2+1)', '\\mathbb{Q}[x]/(x^3-2)'])) + ' is ') + r.one_of("a field.", "an integral domain.", "isomorphic to a familiar ring.")
    if k == 2:
        return r.numbering() + "Prove that every " + r.one_of("finite integral domain is a field.", "Euclidean domain is a principal ideal domain.", "maximal ideal of a commutative ring with identity is prime.")
    if k == 3:
        return r.numbering() + ('Find all ideals of the ring ' + r.inline('\\mathbb{Z}_{' + str(n) + '}')) + r.one_of(".", " and determine which are maximal.")
    return r.numbering() + ('Let ' + r.inline('R') + ' be a ring with ' + r.inline('a^{' + str(r.randint(2, 6)) + '} = a') + ' for all ' + r.inline('a \\in R') + '. Prove that ' + r.inline('R') + ' is commutative.')


def fields(r: Draw) -> str:
    sp = load_sympy()
    p = int(sp.prime(r.randint(1, 6)))
    k = r.randint(0, 3)
    if k == 0:
        a, b = r.sample([2, 3, 5, 6, 7], 2)
        return r.numbering() + ('Find the degree of the field extension ' + r.inline('\\mathbb{Q}(\\sqrt{' + str(a) + '}, \\sqrt{' + str(b) + '})') + ' over ' + r.inline('\\mathbb{Q}')) + r.one_of(".", " and a basis.")
    if k == 1:
        X = symbol("x")
        f = X ** r.randint(2, 4) + r.randint(0, p - 1) * X + r.randint(1, p - 1)
        return r.numbering() + ('Is the polynomial ' + r.inline(sp.latex(f)) + ' irreducible over the field ' + r.inline('\\mathbb{F}_{' + str(p) + '}') + '?')
    if k == 2:
        return r.numbering() + ('Let ' + r.inline('F') + ' be the field with ' + str(p) + ' elements. How many ' + r.inline('2 \\times 2') + ' matrices over ' + r.inline('F') + ' have trace 1 and determinant 0?')
    return r.numbering() + ('Find the Galois group of ' + r.inline('x^' + str(r.choice([3, 4])) + ' - ' + str(r.choice([2, 3, 5]))) + ' over ' + r.inline('\\mathbb{Q}') + '.')


def topology(r: Draw) -> str:
    X = r.choice(["X", "Y", "(X, \\tau)"])
    p1, p2 = r.sample(TOPOLOGICAL_PROPERTIES, 2)
    k = r.randint(0, 5)
    if k == 0:
        return r.numbering() + f"Show that a closed subspace of a {p1} space is {p1}."
    if k == 1:
        return r.numbering() + f"Let {r.inline(X)} be a {p1} {p2} space. " + r.one_of(
            "Prove that every continuous image of " + r.inline(X) + " is " + p1 + ".",
            "Show that every pair of disjoint closed sets have neighborhoods whose closures are disjoint.",
            f"Is {r.inline(X)} necessarily metrizable?")
    if k == 2:
        return r.numbering() + f"Show that if {r.inline(X)} is an infinite set, it is {p1} in the finite complement topology."
    if k == 3:
        return r.numbering() + ('Let ' + r.inline('f: X \\to Y') + ' be continuous, where ' + r.inline('X') + ' is ' + str(p1) + '. Prove that ' + r.inline('f(X)') + ' is ' + str(p1)) + r.one_of(".", " in the subspace topology.")
    if k == 4:
        return r.numbering() + f"Prove that the union of a family of open sets in a topological space {r.inline(X)} is open, and give an example where an infinite intersection of open sets is not open."
    return r.numbering() + ('Let ' + r.inline(X) + ' be a compact Hausdorff space and ' + r.inline('\\mathcal{A}') + ' a collection of closed ' + str(p2) + ' subsets ordered by inclusion. Show that ' + r.inline('\\bigcap_{A \\in \\mathcal{A}} A') + ' is ' + str(p2) + '.')


def homeomorphism(r: Draw) -> str:
    a, b = sorted(r.sample(range(-9, 10), 2))
    k = r.randint(0, 3)
    if k == 0:
        return r.numbering() + ('Show that the open interval ' + r.inline('(' + str(a) + ', ' + str(b) + ')') + ' is homeomorphic to ' + r.inline('\\mathbb{R}') + '.')
    if k == 1:
        return r.numbering() + ('Is the circle ' + r.inline('S^1') + ' homeomorphic to ' + r.inline(r.choice(['[' + str(a) + ', ' + str(b) + ']', '\\mathbb{R}', '[0,1)', 'S^1 \\times S^1'])) + '? Justify your answer.')
    if k == 2:
        return r.numbering() + "Prove that homeomorphism is an equivalence relation on topological spaces and that " + r.one_of("compactness", "connectedness", "the Hausdorff property") + " is a topological invariant."
    return r.numbering() + ('Compute the fundamental group of ' + r.inline(r.choice(['S^1 \\vee S^1', '\\mathbb{R}^2 \\setminus \\{0\\}', 'T^2', '\\mathbb{R}P^2'])) + '.')


def homomorphisms(r: Draw) -> str:
    m, n = r.randint(2, 30), r.randint(2, 30)
    k = r.randint(0, 3)
    if k == 0:
        return r.numbering() + ('How many group homomorphisms are there from ' + r.inline('\\mathbb{Z}_{' + str(m) + '}') + ' to ' + r.inline('\\mathbb{Z}_{' + str(n) + '}') + '?')
    if k == 1:
        return r.numbering() + ('Let ' + r.inline('\\varphi: G \\to H') + ' be a homomorphism. Prove that ' + r.inline('\\ker \\varphi') + ' is a normal subgroup of ' + r.inline('G')) + r.one_of(".", " and that " + r.inline("G/\\ker\\varphi \\cong \\varphi(G)") + ".")
    if k == 2:
        return r.numbering() + ('Is ' + r.inline('\\mathbb{Z}_{' + str(m) + '} \\times \\mathbb{Z}_{' + str(n) + '}') + ' cyclic? ') + r.one_of("Justify.", "Find an element of maximal order.")
    return r.numbering() + f"Classify all abelian groups of order {r.inline(str(r.choice([8, 12, 16, 36, 72, 100, 360])))} up to isomorphism."


TEMPLATES = [groups, rings, fields, topology, homeomorphism, homomorphisms]
register(7, TEMPLATES)
