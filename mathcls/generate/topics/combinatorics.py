"""Templates of topic 5, Combinatorics and Discrete Math: arrangements, graphs, recurrences,
lattice paths and distributions, the pigeonhole principle, inclusion-exclusion, games and
counting subsets.
"""

from __future__ import annotations

import math

from ..draws import Draw, register


def arrangements(r: Draw) -> str:
    n = r.randint(4, 12)
    k = r.randint(0, 4)
    if k == 0:
        return r.numbering() + f"In how many ways can {n} people be seated " + r.one_of("in a row", "around a round table", "in a row if two of them refuse to sit next to each other") + "?"
    if k == 1:
        m, w = r.randint(4, 10), r.randint(3, 9)
        return r.numbering() + f"A committee of {r.randint(3, 6)} is to be chosen from {m} men and {w} women. " + r.one_of(
            "In how many ways can this be done if it must contain at least two women?", "How many committees are possible?")
    if k == 2:
        word = r.choice(["BANANA", "MISSISSIPPI", "COMBINATORICS", "STATISTICS", "ALGEBRA", "PARALLEL", "GEOMETRY", "LETTER"])
        return r.numbering() + f"How many distinct arrangements of the letters of the word {word} are there" + r.one_of("?", " in which no two identical letters are adjacent?")
    if k == 3:
        return r.numbering() + f"How many {r.randint(3, 6)}-digit numbers can be formed from the digits {', '.join(map(str, sorted(r.sample(range(10), r.randint(4, 7)))))} " + r.one_of(
            "without repetition?", "if digits may repeat?", "that are even?")
    return r.numbering() + ('How many permutations of ' + r.inline('\\{1, 2, \\ldots, ' + str(n) + '\\}') + ' have no fixed points?')


def graphs(r: Draw) -> str:
    n = r.randint(5, 20)
    k = r.randint(0, 4)
    if k == 0:
        d = r.randint(2, 6)
        return r.numbering() + f"A simple graph has {n} vertices and every vertex has degree {d}. " + r.one_of("How many edges does it have?", "Is such a graph possible?")
    if k == 1:
        return r.numbering() + f"How many edges does the complete graph {r.inline(f'K_{{{n}}}')} have" + r.one_of("?", ", and how many Hamiltonian cycles?")
    if k == 2:
        return r.numbering() + f"A tree has {n} vertices. " + r.one_of("How many edges does it have?", "Prove that it has at least two leaves.", f"How many labelled trees on {n} vertices are there?")
    if k == 3:
        return r.numbering() + f"Prove that in any party of {r.choice([6, 10, 18])} people there are three mutual acquaintances or three mutual strangers."
    return r.numbering() + f"What is the chromatic number of the cycle graph {r.inline(f'C_{{{n}}}')}" + r.one_of("?", " and of the wheel graph " + r.inline(f"W_{{{n}}}") + "?")


def recurrence(r: Draw) -> str:
    a, b, c = r.randint(1, 5), r.randint(1, 5), r.randint(1, 5)
    n = r.randint(8, 30)
    k = r.randint(0, 3)
    if k == 0:
        return r.numbering() + f"A sequence satisfies {r.inline(f'a_1 = {a}')} and {r.inline(f'a_{{n+1}} = {b}a_n + {c}')}. Find a closed formula for {r.inline('a_n')}" + r.one_of(".", f" and compute {r.inline(f'a_{{{n}}}')}.")
    if k == 1:
        return r.numbering() + ('In how many ways can a ' + r.inline('2 \\times ' + str(n)) + ' board be tiled with ' + r.inline('1 \\times 2') + ' dominoes?')
    if k == 2:
        return r.numbering() + f"How many binary strings of length {n} contain no two consecutive 1s?"
    return r.numbering() + f"Solve the recurrence {r.inline(f'a_n = {a + b}a_{{n-1}} - {a * b}a_{{n-2}}')} with {r.inline(f'a_0 = {c}')}, {r.inline(f'a_1 = {c + 1}')}."


def lattice_paths(r: Draw) -> str:
    m, n = r.randint(3, 10), r.randint(3, 10)
    k = r.randint(0, 3)
    if k == 0:
        return r.numbering() + f"How many shortest lattice paths lead from {r.inline('(0,0)')} to {r.inline(f'({m},{n})')}" + r.one_of("?", f" that avoid the point {r.inline(f'({m // 2},{n // 2})')}?")
    if k == 1:
        return r.numbering() + ('How many solutions in nonnegative integers does ' + r.inline('x_1 + x_2 + \\cdots + x_{' + str(r.randint(3, 6)) + '} = ' + str(m * n)) + ' have?')
    if k == 2:
        return r.numbering() + f"In how many ways can {m * 2} identical balls be distributed into {n} distinct boxes" + r.one_of("?", " so that no box is empty?")
    return r.numbering() + ('How many subsets of ' + r.inline('\\{1, 2, \\ldots, ' + str(m + n) + '\\}') + ' contain no two consecutive integers?')


def pigeonhole(r: Draw) -> str:
    n = r.randint(3, 50)
    return r.numbering() + r.one_of(
        f"Prove that among any {n + 1} integers there are two whose difference is divisible by {n}.",
        ('Show that if ' + str(n + 1) + ' points are placed in a unit square, two of them are at distance at most ' + r.inline('\\frac{\\sqrt{2}}{' + str(math.isqrt(n)) + '}') + '.'),
        f"At least how many socks must be drawn from a drawer with {n} colours to be sure of a matching pair?",
        f"Each of {n * 2 + 1} points in the plane is coloured red or blue. Prove that some {r.randint(3, 5)} of them have the same colour.")


def inclusion_exclusion(r: Draw) -> str:
    a, b, N = r.randint(2, 9), r.randint(2, 9), r.randint(100, 3000)
    return r.numbering() + r.one_of(
        f"How many integers from 1 to {N} are divisible by {a} or {b} but not by both?",
        f"How many integers from 1 to {N} are not divisible by any of {a}, {b} and {r.randint(2, 13)}?",
        f"In a class of {r.randint(20, 40)} students, {r.randint(5, 20)} play chess and {r.randint(5, 20)} play go; {r.randint(1, 5)} play both. How many play neither?")


def game(r: Draw) -> str:
    n, k = r.randint(10, 200), r.randint(2, 9)
    return r.numbering() + r.one_of(
        f"Two players take turns removing between 1 and {k} stones from a pile of {n}. The player who takes the last stone wins. Which player has a winning strategy?",
        f"There are {n} coins on a table. A move consists of turning over {k} coins. Can all coins be turned tails up, starting with all heads?",
        ('We write the numbers ' + r.inline('1, 2, \\ldots, ' + str(n)) + ' on a board and repeatedly replace two numbers by their difference. Can the last number be 0?'))


def set_counting(r: Draw) -> str:
    n = r.randint(4, 15)
    return r.numbering() + r.one_of(
        f"How many subsets of a set with {n} elements have an even number of elements?",
        f"Count the number of functions from a {n}-element set onto a {r.randint(2, 4)}-element set.",
        ('How many distinct sums can be made from adding together exactly ' + str(r.randint(3, 8)) + ' numbers chosen from the set ' + r.inline('\\{1, ' + str(n) + ', ' + str(2 * n + 1) + '\\}') + '?'),
        f"How many triangles with integer sides have perimeter {n + 10}?",
        f"Find the number of {n}-digit sequences of 0s and 1s with exactly {r.randint(2, n - 1)} ones.")


TEMPLATES = [arrangements, graphs, recurrence, lattice_paths, pigeonhole, inclusion_exclusion, game, set_counting]
register(5, TEMPLATES)
