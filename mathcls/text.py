"""Text normalisation, the LaTeX span finder and the LaTeX verbaliser shared by models, explore and
augmentation.

Normalisation is conservative: it removes wrapping and markup that carry no topic signal
(Python bytes literals, HTML tags and entities, runs of whitespace) and keeps LaTeX, which does.
It is idempotent: ``normalize_text(normalize_text(s)) == normalize_text(s)``.

The verbaliser (:func:`verbalize_latex`) is an optional text mode of the neural estimators
(``normalize="verbalize"``, applied by :func:`prepare_text`): math spans are read aloud in words.
"""

from __future__ import annotations

import ast
import html
import re
from dataclasses import dataclass

from sklearn.base import BaseEstimator, TransformerMixin

from .errors import ParameterError

_BYTES_LITERAL = re.compile(r"""^\s*b(['"])(.*)\1\s*$""", re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_HTML_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#\d{1,6}|#x[0-9A-Fa-f]{1,6});")
# A literal backslash-n ("\\n" left by scraping) unless it starts a LaTeX command such as \neq or \nu.
_ESCAPED_NEWLINE = re.compile(r"\\n([A-Za-z]*)")
_LATEX_N_COMMANDS = frozenset("""
    ne neq nu nabla not notin ni neg nmid nleq ngeq nleqslant ngeqslant nless ngtr nexists natural
    nearrow nwarrow nsubseteq nsupseteq nsubset nsupset nparallel ncong nsim noindent nolimits newline
    newpage newcommand normalsize nonumber notag nrightarrow nleftarrow nRightarrow nLeftarrow
    nLeftrightarrow nleftrightarrow nvdash nVdash nprec nsucc ntriangleleft ntriangleright numberwithin
    nobreak nprime
""".split())


def _unescape_newline(m: re.Match) -> str:
    word = "n" + m.group(1)
    return m.group(0) if word in _LATEX_N_COMMANDS else " " + m.group(1)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class MathSpan:
    """A span of LaTeX math in a text: ``text[start:end]``; ``kind`` is inline, display or env."""

    start: int
    end: int
    kind: str


_ENV_BEGIN = re.compile(r"\\begin\{([A-Za-z*]+)\}")


def find_math_spans(text: str) -> list[MathSpan]:
    """Find LaTeX math spans: ``$...$``, ``\\(...\\)`` (inline), ``$$...$$``, ``\\[...\\]``
    (display) and ``\\begin{env}...\\end{env}`` (env). Unclosed delimiters are not spans.

    Spans do not overlap and are returned in order.
    """
    spans: list[MathSpan] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt in "[(":
                close = "\\]" if nxt == "[" else "\\)"
                j = text.find(close, i + 2)
                if j != -1:
                    spans.append(MathSpan(i, j + 2, "display" if nxt == "[" else "inline"))
                    i = j + 2
                    continue
            m = _ENV_BEGIN.match(text, i)
            if m:
                end_tag = "\\end{" + m.group(1) + "}"
                j = text.find(end_tag, m.end())
                if j != -1:
                    spans.append(MathSpan(i, j + len(end_tag), "env"))
                    i = j + len(end_tag)
                    continue
            i += 2  # skip the escaped character, e.g. \$
            continue
        if ch == "$":
            if text.startswith("$$", i):
                j = text.find("$$", i + 2)
                if j != -1:
                    spans.append(MathSpan(i, j + 2, "display"))
                    i = j + 2
                    continue
            else:
                j = i + 1
                while j < n and not (text[j] == "$" and text[j - 1] != "\\"):
                    j += 1
                if j < n:
                    spans.append(MathSpan(i, j + 1, "inline"))
                    i = j + 1
                    continue
        i += 1
    return spans


def split_math(text: str) -> list[tuple[str, bool]]:
    """Split ``text`` into ``(segment, is_math)`` pieces that join back to ``text``."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for span in find_math_spans(text):
        if span.start > pos:
            out.append((text[pos:span.start], False))
        out.append((text[span.start:span.end], True))
        pos = span.end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def unwrap_bytes_literal(text: str) -> str:
    """``"b'Solve x.\\\\n'"`` -> ``"Solve x.\\n"``; other text is returned unchanged."""
    m = _BYTES_LITERAL.match(text)
    if not m:
        return text
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        # Not a valid literal (e.g. truncated): unwrap and unescape the common escapes by hand.
        body = m.group(2)
        return body.replace("\\n", "\n").replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return text


def _clean_prose(segment: str) -> str:
    segment = _HTML_TAG.sub(" ", segment)
    if "&" in segment:
        segment = _HTML_ENTITY.sub(lambda m: html.unescape(m.group(0)), segment)
    return segment


def normalize_text(text) -> str:
    """Normalise one question: unwrap bytes literals, unescape ``\\n``, strip HTML outside math,
    collapse whitespace. LaTeX is kept. Missing values become the empty string."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    text = str(text)
    text = unwrap_bytes_literal(text)
    text = _ESCAPED_NEWLINE.sub(_unescape_newline, text)
    if "<" in text or "&" in text:
        text = "".join(seg if is_math else _clean_prose(seg) for seg, is_math in split_math(text))
    return _WHITESPACE.sub(" ", text).strip()


# ---- LaTeX verbaliser: math read aloud, for neural encoders whose vocabularies split "\binom" into noise ----

#: Values of the neural estimators' ``normalize`` parameter: raw text, normalised, normalised then verbalised.
TEXT_MODES = (False, True, "verbalize")

# Commands read as words. Commands absent here are read as their own name (``\alpha`` -> alpha,
# ``\max`` -> max) unless listed in _SILENT.
_WORDS = {
    "int": "integral", "iint": "double integral", "iiint": "triple integral", "oint": "contour integral",
    "sum": "sum", "prod": "product", "lim": "limit", "limsup": "limit superior", "liminf": "limit inferior",
    "sin": "sine", "cos": "cosine", "tan": "tangent", "cot": "cotangent", "sec": "secant", "csc": "cosecant",
    "arcsin": "arcsine", "arccos": "arccosine", "arctan": "arctangent", "sinh": "hyperbolic sine",
    "cosh": "hyperbolic cosine", "tanh": "hyperbolic tangent", "log": "log", "lg": "log",
    "ln": "natural log", "exp": "exponential", "det": "determinant", "gcd": "greatest common divisor",
    "lcm": "least common multiple", "deg": "degree", "bmod": "modulo", "mod": "modulo", "pmod": "modulo",
    "mid": "divides", "nmid": "does not divide", "equiv": "congruent", "cong": "congruent",
    "sim": "similar", "infty": "infinity", "partial": "partial", "nabla": "nabla",
    "cup": "union", "cap": "intersection", "bigcup": "union", "bigcap": "intersection",
    "setminus": "minus", "subset": "subset", "subseteq": "subset", "subsetneq": "proper subset",
    "supset": "superset", "supseteq": "superset", "in": "in", "notin": "not in", "ni": "contains",
    "forall": "for all", "exists": "there exists", "nexists": "there does not exist",
    "emptyset": "empty set", "varnothing": "empty set", "neg": "not", "lnot": "not",
    "land": "and", "wedge": "and", "lor": "or", "vee": "or",
    "cdot": "times", "times": "times", "ast": "times", "div": "divided by", "pm": "plus or minus",
    "mp": "minus or plus", "le": "less than or equal to", "leq": "less than or equal to",
    "leqslant": "less than or equal to", "ge": "greater than or equal to", "geq": "greater than or equal to",
    "geqslant": "greater than or equal to", "lt": "less than", "gt": "greater than", "ll": "much less than",
    "gg": "much greater than", "ne": "not equal to", "neq": "not equal to", "approx": "approximately",
    "propto": "proportional to", "to": "to", "rightarrow": "to", "longrightarrow": "to", "mapsto": "maps to",
    "Rightarrow": "implies", "implies": "implies", "Longrightarrow": "implies", "Leftarrow": "is implied by",
    "iff": "if and only if", "Leftrightarrow": "if and only if", "Longleftrightarrow": "if and only if",
    "vec": "vector", "overrightarrow": "vector", "angle": "angle", "measuredangle": "angle",
    "triangle": "triangle", "bigtriangleup": "triangle", "odot": "circle", "circ": "degrees",
    "degree": "degrees", "perp": "perpendicular", "parallel": "parallel", "square": "square",
    "parallelogram": "parallelogram", "frown": "arc", "overparen": "arc", "wideparen": "arc",
    "pi": "pi", "varphi": "phi", "varepsilon": "epsilon", "vartheta": "theta", "varrho": "rho",
    "varsigma": "sigma", "varpi": "pi", "lfloor": "floor", "lceil": "ceiling",
    "ldots": "...", "cdots": "...", "dots": "...", "vdots": "...", "ddots": "...",
    "prime": "prime", "choose": "choose", "over": "over", "percent": "percent", "max": "max", "min": "min",
    "varangle": "angle", "Varangle": "angle", "vartriangle": "triangle", "geqq": "greater than or equal to",
    "leqq": "less than or equal to", "nsubseteq": "not subset", "backslash": "minus", "sup": "supremum",
    "inf": "infimum", "dotsb": "...", "dotsm": "...", "textdollar": "dollars",
}
# Layout, font and sizing commands: no words of their own (an argument in braces is still read).
_SILENT = frozenset("""
    left right big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr middle displaystyle textstyle
    scriptstyle limits nolimits text textbf textit textrm texttt mathrm mathit mathbf mathsf mathtt mathcal
    mathscr mathfrak boldsymbol bm operatorname rm bf it cal quad qquad hspace vspace hfill label tag
    nonumber notag overline underline widehat hat bar tilde widetilde dot ddot check breve acute grave
    mbox hbox phantom rfloor rceil mathop mathrel mathbin smallskip medskip bigskip newline noindent
    cr hline boxed displaylines item allowbreak kern cline textnormal emph bold hphantom substack underbrace
    overbrace langle rangle lvert rvert vert lbrace rbrace colon
""".split())
# \mathbb{R} and friends; \mathbf only for the letters books print bold for number sets.
_NUMBER_SETS = {"R": "real numbers", "Z": "integers", "N": "natural numbers", "Q": "rational numbers",
                "C": "complex numbers"}
_SET_FONTS = {"mathbb": "RZNQC", "Bbb": "RZNQC", "mathbf": "RZNQ", "bf": "", "mathds": "RZNQC"}
_FRACTIONS = frozenset({"frac", "dfrac", "tfrac", "cfrac"})
_BINOMIALS = frozenset({"binom", "dbinom", "tbinom"})
_BIG_OPERATORS = frozenset({"int", "iint", "iiint", "oint", "sum", "prod", "bigcup", "bigcap", "lim"})
_ENV_WORDS = {"pmatrix": "matrix", "bmatrix": "matrix", "Bmatrix": "matrix", "matrix": "matrix",
              "smallmatrix": "matrix", "vmatrix": "determinant", "Vmatrix": "determinant", "cases": "cases"}
_ESCAPED_WORDS = {"%": " percent ", "$": " dollars ", "&": " and ", "#": " number "}
_MATH_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\s+|.", re.DOTALL)


class _MathReader:
    """Reads the tokens of one math span aloud; a small recursive descent over brace groups."""

    def __init__(self, source: str):
        self.tokens = _MATH_TOKEN.findall(source)
        self.pos = 0

    def _peek(self) -> str | None:
        while self.pos < len(self.tokens) and self.tokens[self.pos].isspace():
            self.pos += 1
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _raw_group(self) -> str:
        """The raw text of the next brace group (for environment names and \\mathbb letters)."""
        if self._peek() != "{":
            tok = self._peek()
            self.pos += tok is not None
            return tok or ""
        depth, out = 0, []
        while self.pos < len(self.tokens):
            tok = self.tokens[self.pos]
            self.pos += 1
            depth += (tok == "{") - (tok == "}")
            if depth == 0:
                break
            out.append(tok)
        return "".join(out[1:])

    def argument(self) -> str:
        """The next argument read aloud: a brace group, or a single token as in ``\\frac12``."""
        tok = self._peek()
        if tok is None:
            return ""
        if tok == "{":
            self.pos += 1
            return self.sequence(closing="}")
        self.pos += 1
        return self.command(tok[1:]) if _is_command(tok) else self.token(tok)

    def optional(self) -> str | None:
        if self._peek() != "[":
            return None
        self.pos += 1
        return self.sequence(closing="]")

    def sequence(self, closing: str | None = None) -> str:
        out: list[str] = []
        limits = None  # after \sum, \int, \lim: the operator whose bounds _ and ^ give
        while self.pos < len(self.tokens):
            tok = self.tokens[self.pos]
            self.pos += 1
            if tok == closing:
                break
            if tok in ("_", "^"):
                arg = self.argument().strip()
                if limits:
                    word = ("as" if limits == "lim" else "from") if tok == "_" else "to"
                    out.append(f" {word} {arg} ")
                elif tok == "_":
                    out.append(f" {arg} ")
                else:
                    out.append(_power(arg))
                continue
            if tok == "{":
                out.append(self.sequence(closing="}"))
            elif _is_command(tok):
                name = tok[1:]
                out.append(self.command(name))
                if name in _BIG_OPERATORS:
                    limits = name
                    continue
                if name in _SILENT:
                    continue
            else:
                out.append(self.token(tok))
            if not tok.isspace():
                limits = None
        return "".join(out)

    def token(self, tok: str) -> str:
        if tok.startswith("\\"):  # an escaped character: \, \; \{ \% ...
            char = tok[1:]
            if char == "\\":
                return " , "
            return _ESCAPED_WORDS.get(char, " " if not char.strip() or char in ",;:!()[]{}" else char)
        if tok in "${}&~":
            return " "
        return tok

    def command(self, name: str) -> str:
        if name in _FRACTIONS:
            top, bottom = self.argument().strip(), self.argument().strip()
            return f" {top} over {bottom} "
        if name in _BINOMIALS:
            top, bottom = self.argument().strip(), self.argument().strip()
            return f" binomial {top} choose {bottom} "
        if name == "sqrt":
            index = self.optional()
            body = self.argument().strip()
            if index is None or index.strip() == "2":
                return f" square root of {body} "
            index = index.strip()
            return f" {'cube' if index == '3' else index + 'th'} root of {body} "
        if name in _SET_FONTS:
            if self._peek() != "{" and self._peek() is not None and len(self._peek()) > 1:
                return " "  # a font switch such as {\bf x}
            letter = self._raw_group().strip()
            if len(letter) == 1 and letter in _SET_FONTS[name]:
                return f" {_NUMBER_SETS[letter]} "
            return f" {_MathReader(letter).sequence()} "
        if name in ("begin", "end"):
            env = self._raw_group().strip().rstrip("*")
            if name == "begin" and env == "array" and self._peek() == "{":
                self._raw_group()  # column spec such as {cc|c}
            return f" {_ENV_WORDS[env]} " if name == "begin" and env in _ENV_WORDS else " "
        if name in ("left", "right") or name.startswith(("big", "Big")):
            if self._peek() == ".":
                self.pos += 1
            return " "
        if name in _SILENT:
            return " "
        return f" {_WORDS.get(name, name)} "


def _is_command(tok: str) -> bool:
    return len(tok) > 1 and tok[0] == "\\" and tok[1].isalpha()


def _power(arg: str) -> str:
    if arg in ("degrees", "prime", "'"):
        return f" {arg} "
    if arg == "2":
        return " squared "
    if arg == "3":
        return " cubed "
    return f" to the power {arg} "


def verbalize_math(latex: str) -> str:
    """One LaTeX math span (delimiters included or not) read aloud in words.

    >>> verbalize_math(r"$\\frac{1}{2} \\le \\sin^2 x$")
    '1 over 2 less than or equal to sine squared x'
    """
    try:
        spoken = _MathReader(latex).sequence()
    except RecursionError:  # braces nested hundreds deep: no words, but no LaTeX syntax either
        spoken = re.sub(r"[\\{}$^_&]", " ", latex)
    return _WHITESPACE.sub(" ", spoken).strip()


def verbalize_latex(text: str) -> str:
    """``text`` with every math span read aloud (:func:`verbalize_math`); prose outside math is kept.

    Encoders with a general-English vocabulary see ``binomial``, ``integral`` and ``modulo``
    instead of word pieces of ``\\binom``. Braces, backslashes and ``$`` inside math disappear,
    so a second pass changes nothing.
    """
    pieces = [f" {verbalize_math(seg)} " if is_math else seg for seg, is_math in split_math(text)]
    return _WHITESPACE.sub(" ", "".join(pieces)).strip()


def text_mode_key(mode) -> str:
    """The cache-key token of a text mode: ``"0"``, ``"1"`` (as before modes existed) or ``"verbalize"``."""
    if isinstance(mode, str):
        if mode != "verbalize":
            raise ParameterError(f"normalize must be True, False or 'verbalize'; got {mode!r}.")
        return mode
    return str(int(bool(mode)))


def prepare_text(text, mode=True) -> str:
    """The text a neural estimator encodes under its ``normalize`` parameter (see :data:`TEXT_MODES`):
    ``False`` keeps it as is, ``True`` applies :func:`normalize_text`, ``"verbalize"`` then also
    applies :func:`verbalize_latex`."""
    if text_mode_key(mode) == "verbalize":
        return verbalize_latex(normalize_text(text))
    return normalize_text(text) if mode else text


class TextNormalizer(TransformerMixin, BaseEstimator):
    """A stateless scikit-learn transformer applying :func:`normalize_text` to each text.

    Examples
    --------
    >>> TextNormalizer().fit_transform(["b'Solve 0 = -i - 91*i for i.\\\\n'"])
    ['Solve 0 = -i - 91*i for i.']
    """

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return [normalize_text(x) for x in X]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
