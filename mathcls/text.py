"""Text normalisation and the LaTeX span finder shared by models, explore and augmentation.

Normalisation is conservative: it removes wrapping and markup that carry no topic signal
(Python bytes literals, HTML tags and entities, runs of whitespace) and keeps LaTeX, which does.
It is idempotent: ``normalize_text(normalize_text(s)) == normalize_text(s)``.
"""

from __future__ import annotations

import ast
import html
import re
from dataclasses import dataclass

from sklearn.base import BaseEstimator, TransformerMixin

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
