"""LaTeX-safe augmentation of training rows.

Each augmented copy applies one or more of:

- ``rename``: consistent renaming of single-letter lowercase variables, inside math (``$x$``,
  ``\\(x\\)``, environments) and as standalone words outside it; LaTeX commands (``\\frac``),
  the arguments of text commands (``\\text{...}``, ``\\mathbb{...}``) and letters with a fixed
  meaning (``d``, ``e``, ``i``) are left alone;
- ``numbers``: perturbing integers (the same number always maps to the same new number;
  exponents, subscripts, 0/1, years and a leading problem number are kept);
- ``synonyms``: swapping phrases (Find/Determine/Compute, Prove that/Show that, ...) outside math;
- ``reorder``: swapping two adjacent statement sentences when they share no variable;
- ``prefix``: adding or removing a problem-number prefix such as ``"3. "``.

Math spans are found with :func:`mathcls.text.split_math`; an augmented text is kept only when
:func:`math_problems` finds nothing wrong with it and it has as many math spans as its source.
Labels never change; each row records its ``source`` row.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pandas as pd

from ..data import LABEL, SOURCE, TEXT
from ..errors import MathclsError
from ..logs import quiet
from ..text import find_math_spans, normalize_text, split_math

OPS = ("rename", "numbers", "synonyms", "reorder", "prefix")

# ------------------------------------------------------------------ checks

_ENV = re.compile(r"\\(begin|end)\{([A-Za-z*]+)\}")


def math_problems(text: str) -> list[str]:
    """What is wrong with the LaTeX of ``text`` (empty list: nothing). Checks that every unescaped
    ``$`` belongs to a math span, that braces are balanced inside each span (``\\{`` does not
    count), that ``\\begin``/``\\end`` pair up and that ``\\left``/``\\right`` counts match."""
    problems = []
    for seg, is_math in split_math(text):
        if not is_math:
            if re.search(r"(?<!\\)\$", seg):
                problems.append(f"unpaired $ in {seg[:40]!r}")
            continue
        body = re.sub(r"\\[{}]", "", seg)
        depth = 0
        for ch in body:
            depth += ch == "{"
            depth -= ch == "}"
            if depth < 0:
                break
        if depth != 0:
            problems.append(f"unbalanced braces in {seg[:40]!r}")
        stack = []
        for kind, name in _ENV.findall(seg):
            if kind == "begin":
                stack.append(name)
            elif not stack or stack.pop() != name:
                problems.append(f"\\end{{{name}}} without matching \\begin in {seg[:40]!r}")
                break
        if stack:
            problems.append(f"\\begin{{{stack[-1]}}} without \\end in {seg[:40]!r}")
        if len(re.findall(r"\\left(?![A-Za-z])", seg)) != len(re.findall(r"\\right(?![A-Za-z])", seg)):
            problems.append(f"\\left/\\right mismatch in {seg[:40]!r}")
    return problems


# ------------------------------------------------------------------ rename

_MATH_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[A-Za-z]+|\s+|.", re.DOTALL)
_TEXT_COMMANDS = {"text", "textbf", "textit", "mathrm", "mathbb", "mathcal", "mathfrak", "mathsf", "mathit",
                  "operatorname", "mbox", "begin", "end", "label", "hspace", "vspace", "unit", "mathscr", "textrm"}
_FIXED = set("deio")  # d in dx, Euler's e, imaginary i, and o (looks like 0)
_PROSE_UNSAFE = {"a"}  # the article
_OPERATOR = set("*=+-/()^<>,") | set("0123456789")
_WORD = re.compile(r"(?<![A-Za-z'\\])([A-Za-z])(?![A-Za-z'])")


def _math_tokens(seg: str):
    """Yield ``(token, renamable)`` for a math segment."""
    tokens = _MATH_TOKEN.findall(seg)
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        if tok.startswith("\\") and tok[1:] in _TEXT_COMMANDS:
            yield tok, False
            i += 1
            while i < n and tokens[i].isspace():
                yield tokens[i], False
                i += 1
            if i < n and tokens[i] == "{":
                depth = 0
                while i < n:
                    depth += tokens[i] == "{"
                    depth -= tokens[i] == "}"
                    yield tokens[i], False
                    i += 1
                    if depth == 0:
                        break
            continue
        yield tok, tok.isalpha() and not tok.startswith("\\") and len(tok) <= 2
        i += 1


def _prose_variables(seg: str) -> set[str]:
    """Single lowercase letters used like variables in plain text (``91*i``, ``for i.``)."""
    found = set()
    for m in _WORD.finditer(seg):
        ch = m.group(1)
        if not ch.islower():
            continue
        before = seg[: m.start()].rstrip()[-1:]
        after = seg[m.end():].lstrip()[:1]
        if before in _OPERATOR or after in _OPERATOR or seg[max(0, m.start() - 4): m.start()] == "for ":
            found.add(ch)
    return found


def _rename(text: str, rng: random.Random) -> str:
    segs = split_math(text)
    has_math = any(is_math for _, is_math in segs)
    candidates: set[str] = set()
    used: set[str] = set()
    for seg, is_math in segs:
        if is_math:
            for tok, ok in _math_tokens(seg):
                if tok.isalpha():
                    used.update(tok)
                if ok:
                    candidates.update(c for c in tok if c.islower())
        else:
            used.update(m.group(1) for m in _WORD.finditer(seg))
            if not has_math:
                candidates |= _prose_variables(seg)
    prose_letters = {m.group(1) for seg, is_math in segs if not is_math for m in _WORD.finditer(seg)}
    candidates -= _FIXED
    candidates -= {c for c in _PROSE_UNSAFE if c in prose_letters}
    if not candidates:
        return text
    pool = [c for c in "abcfghjkmnpqrstuvwxyz" if c not in used and c not in _PROSE_UNSAFE]
    if not pool:
        return text
    mapping = {}
    for c in sorted(candidates):
        if not pool:
            break
        if rng.random() < 0.8:
            mapping[c] = pool.pop(rng.randrange(len(pool)))
    if not mapping:
        return text
    out = []
    for seg, is_math in segs:
        if is_math:
            out.append("".join("".join(mapping.get(c, c) for c in tok) if ok else tok for tok, ok in _math_tokens(seg)))
        else:
            out.append(_WORD.sub(lambda m: mapping.get(m.group(1), m.group(1)), seg))
    return "".join(out)


# ------------------------------------------------------------------ numbers

_INT = re.compile(r"(?<![\w.\\])(\d+)(?![\w]|\.\d)")
_URL = re.compile(r"https?://\S+|!\[[^\]]*\]\([^)]*\)")
_LEAD_NUMBER = re.compile(
    r"^\s*(?:\d+[.)]|\d+\.\d+\.?|[A-Z]\d+\.|(?:Problem|Example|Exercise|Question|Task)\s[\w.-]*\d[.:]?)\s"
)


def _new_number(n: int, rng: random.Random) -> int:
    width = len(str(n))
    for _ in range(10):
        delta = rng.randint(1, max(1, n // 4)) * rng.choice([-1, 1])
        m = n + delta
        if m >= 2 and len(str(m)) == width and m != n:
            return m
    return n


def _numbers(text: str, rng: random.Random) -> str:
    lead = _LEAD_NUMBER.match(text)
    start = lead.end() if lead else 0
    protected = [(m.start(), m.end()) for m in _URL.finditer(text)] + [(0, start)]
    mapping: dict[str, str] = {}

    def repl(m):
        s = m.group(1)
        pos = m.start(1)
        if any(a <= pos < b for a, b in protected):
            return s
        before = text[max(0, pos - 2):pos]
        if before.endswith("^") or before in ("^{", "_{") or before.endswith("_"):
            return s
        n = int(s)
        if n < 2 or (len(s) == 4 and 1900 <= n <= 2030) or (len(s) > 1 and s.startswith("0")):
            return s
        if s not in mapping:
            mapping[s] = str(_new_number(n, rng)) if rng.random() < 0.7 else s
        return mapping[s]

    return _INT.sub(repl, text)


# ------------------------------------------------------------------ synonyms

_SYNONYMS = [
    ["find", "determine", "compute", "calculate"],
    ["evaluate", "compute", "calculate"],
    ["prove that", "show that"],
    ["given that", "suppose that", "assume that"],
    ["such that", "so that"],
    ["is equal to", "equals"],
    ["positive integers", "positive whole numbers"],
    ["the number of ways", "the number of possible ways"],
    ["find the value of", "determine the value of", "compute the value of"],
    ["in how many ways", "in how many different ways"],
    ["the following", "the given"],
    ["the sum of", "the total of"],
    ["satisfies", "fulfils"],
]
_SYN_RE = re.compile(r"\b(" + "|".join(sorted({re.escape(p) for g in _SYNONYMS for p in g}, key=len, reverse=True)) + r")\b",
                     re.IGNORECASE)


def _match_case(src: str, new: str) -> str:
    if src.isupper() and len(src) > 1:
        return new.upper()
    if src[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def _synonyms(text: str, rng: random.Random) -> str:
    def repl(m):
        word = m.group(1)
        low = word.lower()
        groups = [g for g in _SYNONYMS if low in g]
        if not groups or rng.random() < 0.3:
            return word
        group = rng.choice(groups)
        choices = [p for p in group if p != low]
        return _match_case(word, rng.choice(choices))

    return "".join(seg if is_math else _SYN_RE.sub(repl, seg) for seg, is_math in split_math(text))


# ------------------------------------------------------------------ reorder and prefix

_STARTS_DEPENDENT = re.compile(r"^(Then|Hence|Therefore|Thus|It|This|These|Also|So|If so|Otherwise|Here|They|He|She)\b")


def _sentences(text: str) -> list[str] | None:
    """Split at ``". "`` + capital letter outside math; ``None`` when the text has line breaks."""
    if "\n" in text:
        return None
    cuts = []
    spans = find_math_spans(text)
    for m in re.finditer(r"(?<=[.!?]) (?=[A-Z])", text):
        if any(s.start < m.start() < s.end for s in spans):
            continue
        cuts.append(m.start())
    if not cuts:
        return None
    parts, pos = [], 0
    for c in cuts:
        parts.append(text[pos:c])
        pos = c + 1
    parts.append(text[pos:])
    return parts


def _letters(sentence: str) -> set[str]:
    out = set()
    for seg, is_math in split_math(sentence):
        if is_math:
            out.update(c for tok, ok in _math_tokens(seg) if ok for c in tok)
    return out


def _reorder(text: str, rng: random.Random) -> str:
    parts = _sentences(text)
    if not parts or len(parts) < 3:
        return text
    options = []
    for i in range(len(parts) - 2):  # never move the final (question) sentence
        a, b = parts[i], parts[i + 1]
        if _STARTS_DEPENDENT.match(b) or _STARTS_DEPENDENT.match(a) or min(len(a.split()), len(b.split())) < 4:
            continue
        if _letters(a) & _letters(b) or a.rstrip().endswith("?") or b.rstrip().endswith("?"):
            continue
        options.append(i)
    if not options:
        return text
    i = rng.choice(options)
    parts[i], parts[i + 1] = parts[i + 1], parts[i]
    return " ".join(parts)


def _prefix(text: str, rng: random.Random) -> str:
    m = _LEAD_NUMBER.match(text)
    if m:
        return text[m.end():].lstrip()
    return rng.choice([f"{rng.randint(1, 20)}. ", f"Problem {rng.randint(1, 12)}. ", f"Example {rng.randint(1, 9)}. "]) + text


_FUNCS = {"rename": _rename, "numbers": _numbers, "synonyms": _synonyms, "reorder": _reorder, "prefix": _prefix}


def augment_text(text: str, rng: random.Random, ops=OPS) -> str:
    """One augmented version of ``text`` (normalised first); may return ``text`` unchanged when
    no operation applies."""
    text = normalize_text(text)
    chosen = [op for op in ops if rng.random() < 0.5] or [rng.choice(list(ops))]
    if "prefix" in chosen and len(chosen) == 1 and len(ops) > 1:
        chosen.append(rng.choice([op for op in ops if op != "prefix"]))
    out = text
    for op in ops:  # a fixed order: rename before numbers, reorder after synonyms
        if op in chosen:
            out = _FUNCS[op](out, rng)
    return out


def augment(df: pd.DataFrame, n_per_row: int = 1, fraction: float = 1.0, seed: int = 0, ops=OPS,
            progress: bool = False) -> pd.DataFrame:
    """Augmented copies of the rows of ``df`` (``Question``, ``label``).

    Parameters
    ----------
    df : DataFrame
        Training rows; ``source`` of a copy is the row's position in ``df`` (0-based).
    n_per_row : int
        Copies to try per chosen row (duplicates and unchanged texts are dropped).
    fraction : float in (0, 1]
        Share of rows to augment, chosen at random.
    seed : int
    ops : iterable of str
        Operations to draw from; see the module docstring.

    Returns
    -------
    DataFrame with ``Question``, ``label`` (the source row's label) and ``source``.

    >>> import pandas as pd
    >>> out = augment(pd.DataFrame({"Question": ["Find $x$ if $3x + 5 = 17$."], "label": [0]}), n_per_row=3, seed=1)
    >>> out["label"].tolist() == [0] * len(out), set(out["source"]) <= {0}
    (True, True)
    """
    unknown = [op for op in ops if op not in _FUNCS]
    if unknown:
        raise MathclsError(f"Unknown augmentation {unknown[0]!r}; choose from {', '.join(OPS)}.")
    if not 0 < fraction <= 1:
        raise MathclsError(f"fraction must be in (0, 1]; got {fraction}.")
    if n_per_row < 1:
        raise MathclsError(f"n_per_row must be at least 1; got {n_per_row}.")
    rng = random.Random(f"mathcls-augment-{seed}")
    n = len(df)
    rows = sorted(rng.sample(range(n), max(1, round(fraction * n)) if n else 0))
    texts, labels, sources = [], [], []
    questions = df[TEXT].tolist()
    ys = df[LABEL].tolist()
    seen = {normalize_text(q).lower() for q in questions}
    it = rows
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(rows, desc="augmenting", unit="row", disable=quiet())
    for i in it:
        src = normalize_text(questions[i])
        n_spans = len(find_math_spans(src))
        n_problems = len(math_problems(src))
        for _ in range(n_per_row):
            new = augment_text(src, rng, ops)
            key = new.lower()
            if key in seen or len(find_math_spans(new)) != n_spans or len(math_problems(new)) > n_problems:
                continue
            seen.add(key)
            texts.append(new)
            labels.append(ys[i])
            sources.append(i)
    return pd.DataFrame({TEXT: texts, LABEL: np.asarray(labels, dtype=np.int64),
                         SOURCE: np.asarray(sources, dtype=np.int64)})
