"""Templates of topic 4, Number Theory: gcd and lcm, primes, congruences, divisors, digits and
bases, Diophantine equations and Euler's totient.
"""

from __future__ import annotations

import math

from ..draws import Draw, deepmind_row, load_sympy, register


def gcd_lcm(r: Draw) -> str:
    g = r.randint(2, 60)
    a, b = g * r.randint(2, 50), g * r.randint(2, 50)
    k = r.randint(0, 3)
    if k == 0:
        return r.numbering() + r.one_of("Find the greatest common divisor of ", "Compute ", "Determine ") + r.inline(f"\\gcd({a}, {b})" if r.random() < 0.5 else f"{a}") + (
            "." if r.random() < 0.5 else f" and {b}.")
    if k == 1:
        return r.numbering() + f"Find the least common multiple of {a}, {b} and {r.randint(2, 99)}."
    if k == 2:
        return deepmind_row(r.one_of(f"Calculate the greatest common divisor of {a} and {b}.", f"What is the highest common factor of {a} and {b}?",
                             f"Calculate the lowest common multiple of {a} and {b}."))
    n = r.randint(2, 12)
    return r.numbering() + ('Find all natural numbers ' + r.inline('n') + ' such that ' + r.inline('\\gcd(n, ' + str(a) + ') = ' + str(g)) + ' and ' + r.inline('\\operatorname{lcm}(n, ' + str(a) + ') = ' + str(a * n)) + '.')


def primes(r: Draw) -> str:
    sp = load_sympy()
    n = r.randint(100, 5000)
    k = r.randint(0, 3)
    if k == 0:
        return deepmind_row(r.one_of(f"Is {n} a prime number?", f"List the prime factors of {n}.", f"Is {n} composite?", f"What is the smallest prime factor of {n * 7 + 1}?"))
    if k == 1:
        return r.numbering() + f"Find all primes {r.inline('p')} such that {r.inline(f'p^2 + {r.choice([2, 4, 8, 14])}')} is also prime."
    if k == 2:
        f = sp.factorint(n)
        opts = [str(len(f)), str(len(f) + 1), str(max(1, len(f) - 1)), str(len(f) + 2)]
        return r.numbering() + f"How many distinct prime divisors does {r.inline(str(n))} have?" + r.multiple_choice(opts[0], opts[1:])
    return r.numbering() + f"Prove that there are infinitely many primes of the form {r.inline(str(r.choice([4, 6, 3])) + 'k ' + r.choice(['+', '-']) + ' 1')}."


def modular(r: Draw) -> str:
    a, e, m = r.randint(2, 19), r.randint(20, 2024), r.choice([7, 9, 11, 13, 17, 19, 23, 100, 1000])
    k = r.randint(0, 4)
    if k == 0:
        return r.numbering() + f"Find the remainder when {r.inline(f'{a}^{{{e}}}')} is divided by {r.inline(str(m))}."
    if k == 1:
        return r.numbering() + "Solve the congruence " + r.inline(f"{a}x \\equiv {r.randint(1, 20)} \\pmod{{{r.choice([7, 11, 13, 17, 19, 23])}}}") + "."
    if k == 2:
        return r.numbering() + f"What are the last two digits of {r.inline(f'{a}^{{{e}}}')}?"
    if k == 3:
        return deepmind_row(f"What is the remainder when {r.randint(1000, 99999)} is divided by {r.randint(3, 99)}?")
    return (r.numbering() + f"Find the smallest positive integer {r.inline('n')} such that " + r.inline(f"n \\equiv {r.randint(1, 4)} \\pmod {{5}}") + ", "
            + r.inline(f"n \\equiv {r.randint(1, 6)} \\pmod {{7}}") + " and " + r.inline(f"n \\equiv {r.randint(1, 8)} \\pmod {{9}}") + ".")


def divisors(r: Draw) -> str:
    sp = load_sympy()
    n = r.choice([2, 3, 5, 6, 12]) * r.randint(10, 300)
    k = r.randint(0, 3)
    if k == 0:
        d = int(sp.divisor_count(n))
        return r.numbering() + f"How many positive divisors does {r.inline(str(n))} have?" + (r.multiple_choice(str(d), [str(d + 2), str(d - 2), str(d * 2), str(d + 4)]) if r.random() < 0.4 else "")
    if k == 1:
        return r.numbering() + f"Find the sum of all positive divisors of {r.inline(str(n))}."
    if k == 2:
        return r.numbering() + f"Find the smallest natural number {r.inline('n')} for which {r.inline('(n+1)(n+2)(n+3)(n+4)')} is divisible by {r.inline(str(r.choice([1000, 720, 120, 2024, 360])))}."
    return r.numbering() + f"Find all positive integers {r.inline('n')} such that {r.inline(f'n + {r.randint(2, 30)}')} divides {r.inline(f'n^2 + {r.randint(2, 300)}')}."


def digits(r: Draw) -> str:
    n = r.randint(2, 9)
    k = r.randint(0, 3)
    if k == 0:
        return r.numbering() + f"Find the sum of the digits of {r.inline(f'{10}^{{{r.randint(10, 100)}}} - {r.randint(2, 99)}')}."
    if k == 1:
        return r.numbering() + f"Convert {r.randint(100, 9999)} from base 10 to base {r.randint(2, 9)}."
    if k == 2:
        return r.numbering() + f"How many {r.randint(3, 6)}-digit numbers are divisible by {r.randint(3, 19)} and end in {n}?"
    return r.numbering() + ('What is the smallest integer of the form ' + r.inline('111\\ldots11') + ' that is divisible by ' + r.inline(str(r.choice([3, 7, 13, 37, 41]))) + '?')


def diophantine(r: Draw) -> str:
    a, b = r.randint(2, 15), r.randint(2, 15)
    while math.gcd(a, b) != 1:
        b = r.randint(2, 15)
    c = a * r.randint(1, 9) + b * r.randint(1, 9)
    k = r.randint(0, 2)
    if k == 0:
        return r.numbering() + f"Find all integer solutions of {r.inline(f'{a}x + {b}y = {c}')}."
    if k == 1:
        return r.numbering() + f"Find all pairs of positive integers {r.inline('(x, y)')} such that {r.inline(f'x^2 - y^2 = {c}')}."
    return r.numbering() + f"Prove that {r.inline(f'x^2 + y^2 = {4 * r.randint(1, 99) + 3}')} has no solutions in integers."


def totient(r: Draw) -> str:
    sp = load_sympy()
    n = r.randint(20, 500)
    k = r.randint(0, 2)
    if k == 0:
        return r.numbering() + ("Compute Euler's totient " + r.inline('\\varphi(' + str(n) + ')')) + (r.multiple_choice(str(int(sp.totient(n))), [str(int(sp.totient(n)) + d) for d in (2, -2, 4, 6)]) if r.random() < 0.4 else ".")
    if k == 1:
        return r.numbering() + f"Show that {r.inline(f'n^{{{r.choice([5, 7, 13])}}} - n')} is divisible by {r.inline(str(r.choice([30, 42, 2730])))} for every integer {r.inline('n')}."
    return deepmind_row(f"Let x = {r.randint(10, 99)} - {r.randint(1, 9)}. Is x a multiple of {r.randint(2, 13)}?")


TEMPLATES = [gcd_lcm, primes, modular, divisors, digits, diophantine, totient]
register(4, TEMPLATES)
