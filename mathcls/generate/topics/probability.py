"""Templates of topic 3, Probability and Statistics: dice, cards, urns, distributions and
expectations, descriptive statistics, conditional and geometric probability.
"""

from __future__ import annotations

from collections import Counter

from ..draws import Draw, deepmind_row, register


def dice(r: Draw) -> str:
    n = r.randint(2, 4)
    k = r.randint(0, 3)
    if k == 0:
        return r.numbering() + f"{r.one_of('Two', 'Three', 'Four')} fair dice are rolled. What is the probability that the sum is {r.randint(n, 6 * n - 1)}?"
    if k == 1:
        return r.numbering() + f"A fair die is rolled {r.randint(3, 10)} times. " + r.one_of(
            f"What is the probability of getting exactly {r.randint(1, 3)} sixes?", "Find the expected number of even outcomes.",
            "What is the probability that at least one roll shows a six?")
    if k == 2:
        return r.numbering() + f"Two dice are thrown. Find the probability that the product of the points is divisible by {r.choice([2, 3, 4, 5, 6])}."
    return r.numbering() + f"A die is rolled until a {r.randint(1, 6)} appears. What is the expected number of rolls?"


def cards(r: Draw) -> str:
    k = r.randint(0, 2)
    n = r.randint(2, 5)
    if k == 0:
        return r.numbering() + f"{n} cards are drawn without replacement from a standard 52-card deck. " + r.one_of(
            "What is the probability that all of them are hearts?", "Find the probability that exactly one is an ace.",
            "What is the probability that they are all of different suits?")
    if k == 1:
        return r.numbering() + f"From a deck of {r.choice([36, 52])} cards, one card is drawn at random. Find the probability that it is a face card or a spade."
    return r.numbering() + f"A hand of {r.choice([5, 13])} cards is dealt from a shuffled deck. What is the probability that it contains {r.one_of('a pair', 'no aces', 'exactly two kings')}?"


def urn(r: Draw) -> str:
    a, b = r.randint(2, 12), r.randint(2, 12)
    k = r.randint(0, 2)
    if k == 0:
        return r.numbering() + f"A bag contains {a} red and {b} blue balls. {r.one_of('Two', 'Three')} balls are drawn at random without replacement. " + r.one_of(
            "What is the probability that they are all the same colour?", "Find the probability that exactly one is red.")
    if k == 1:
        return (r.numbering() + f"An urn has {a} white and {b} black balls. A ball is drawn, its colour noted, and it is returned with {r.randint(2, 4)} more balls of the same colour. "
                "Find the probability that the second ball drawn is white.")
    return (r.numbering() + f"From the first machine, {a * 10} parts were sent to assembly, of which {a * 10 - r.randint(1, 9)} are standard; from the second, "
            f"{b * 10}, of which {b * 10 - r.randint(1, 9)} are standard. Find the probability that a randomly taken part is standard.")


def expectation(r: Draw) -> str:
    vals = sorted(r.sample(range(-5, 15), r.randint(3, 4)))
    k = r.randint(0, 3)
    X = r.choice(["X", "Y", "W", "\\xi"])
    if k == 0:
        probs = r.choice([["\\frac{1}{2}", "\\frac{1}{4}", "\\frac{1}{4}"], ["\\frac{1}{3}", "\\frac{1}{3}", "\\frac{1}{3}"],
                          ["0.2", "0.5", "0.3"], ["0.1", "0.6", "0.3"]])
        pairs = ", ".join(f"P({X} = {v}) = {p}" for v, p in zip(vals, probs))
        return r.numbering() + f"A random variable {r.inline(X)} satisfies {r.inline(pairs)}. " + r.one_of(
            f"Find {r.inline(f'E[{X}]')}.", f"Find the variance of {r.inline(X)}.", f"Compute {r.inline(f'E[{X}^2]')}.")
    if k == 1:
        n, p = r.randint(5, 50), r.choice(["0.2", "0.3", "\\frac{1}{3}", "0.5"])
        return r.numbering() + ('Let ' + r.inline(str(X) + ' \\sim \\mathrm{Bin}(' + str(n) + ', ' + str(p) + ')') + '. ') + r.one_of(
            f"Find the expectation and variance of {r.inline(X)}.", f"Find {r.inline(f'P({X} = {r.randint(0, 4)})')}.")
    if k == 2:
        lam = r.randint(1, 6)
        return r.numbering() + f"The number of calls arriving at a switchboard in an hour follows a Poisson distribution with mean {lam}. " + r.one_of(
            f"Find the probability of at most {r.randint(1, 4)} calls.", "What is the probability of no calls in two hours?")
    mu, s = r.randint(50, 100), r.randint(2, 15)
    return r.numbering() + ('Let ' + r.inline(str(X) + ' \\sim N(' + str(mu) + ', ' + str(s) + '^2)') + '. ') + r.one_of(
        f"Find {r.inline(f'P({X} > {mu + s})')}.", f"Find {r.inline(f'P({mu - 2 * s} < {X} < {mu + s})')}.", "Find the 90th percentile.")


def descriptive_statistics(r: Draw) -> str:
    data = [r.randint(1, 20) for _ in range(r.randint(5, 9))]
    k = r.randint(0, 3)
    d = ", ".join(map(str, data))
    if k == 0:
        return r.numbering() + f"Find the mean, median and mode of the data set {r.inline(d)}."
    if k == 1:
        return r.numbering() + f"Compute the sample variance and the standard deviation of {r.inline(d)}."
    if k == 2:
        n1 = r.person()
        return (r.numbering() + f"The average score of {n1}'s first {len(data) - 1} tests is {r.randint(70, 90)}. "
                f"What score on the next test raises the average to {r.randint(80, 95)}?")
    return (r.numbering() + f"In a sample of {r.randint(50, 400)} students, the mean height is {r.randint(150, 180)} cm with standard deviation {r.randint(4, 12)} cm. "
            "Construct a 95% confidence interval for the population mean.")


def conditional(r: Draw) -> str:
    p = r.choice([1, 2, 5])
    k = r.randint(0, 2)
    if k == 0:
        return (r.numbering() + f"A disease affects {p}% of a population. A test detects it with probability {r.choice([0.9, 0.95, 0.99])} and gives a false positive "
                f"with probability {r.choice([0.05, 0.1, 0.02])}. A person tests positive. What is the probability that the person has the disease?")
    if k == 1:
        return (r.numbering() + f"Events {r.inline('A')} and {r.inline('B')} are independent with {r.inline(f'P(A) = 0.{r.randint(1, 9)}')} and {r.inline(f'P(B) = 0.{r.randint(1, 9)}')}. "
                + r.one_of(('Find ' + r.inline('P(A \\cup B)') + '.'), ('Find ' + r.inline('P(A \\mid \\bar{B})') + '.')))
    return (r.numbering() + f"A fair coin is tossed {r.randint(4, 12)} times. " + r.one_of(
        f"What is the probability of getting at least {r.randint(2, 4)} heads?", "Given that at least one head appears, what is the probability of exactly two heads?",
        "What is the probability that no two consecutive tosses are heads?"))


def deepmind_letters(r: Draw) -> str:
    letters = r.sample("abcdefghijklmnopqrstuvwxyz", r.randint(2, 4))
    counts = {c: r.randint(1, 6) for c in letters}
    bag = "{" + ", ".join(f"{c}: {n}" for c, n in counts.items()) + "}"
    n = r.randint(2, 4)
    k = r.randint(0, 1)
    if k == 0:
        want = Counter(r.choice(letters) for _ in range(n))
        desc = " and ".join(f"{m} {c}" for c, m in want.items())
        return deepmind_row(f"{['Two', 'Three', 'Four'][n - 2]} letters picked without replacement from {bag}. What is prob of picking {desc}?")
    seq = "".join(r.choice(letters) for _ in range(n))
    return deepmind_row(f"Calculate prob of sequence {seq} when {n} letters picked without replacement from {bag}.")


def geometric_probability(r: Draw) -> str:
    a = r.randint(2, 10)
    return r.numbering() + r.one_of(
        f"A point is chosen at random inside a square of side {a}. What is the probability that it is closer to the center than to any side?",
        f"Two numbers are chosen independently and uniformly from {r.inline(f'[0, {a}]')}. Find the probability that their sum is less than {r.randint(1, a)}.",
        f"A stick of length {a} is broken at two random points. What is the probability that the three pieces form a triangle?",
        f"Two friends agree to meet between 12:00 and 13:00 and each waits {r.randint(5, 30)} minutes. What is the probability that they meet?")


TEMPLATES = [dice, cards, urn, expectation, descriptive_statistics, conditional, deepmind_letters, geometric_probability]
register(3, TEMPLATES)
