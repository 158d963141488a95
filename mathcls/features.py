"""Cheap hand-made text features for the stacking meta-learner: length, LaTeX command counts,
digit share. Each is a column with a name, computed on normalised text."""

from __future__ import annotations

import math
import re

import numpy as np

from .text import find_math_spans, normalize_text

# name -> regex counted in the text. Commands chosen for the topics they separate.
_COUNTS = {
    "n_int": r"\\int|\\iint|\\oint",
    "n_lim_sum": r"\\lim|\\sum|\\prod|\\infty",
    "n_deriv": r"\\frac\{d|\\partial|f'\(|\bderivative",
    "n_binom": r"\\binom|\\choose|\bC_\{|\\dbinom",
    "n_matrix": r"\\begin\{[pbvBV]?matrix\}|\\det\b|\\operatorname\{rank\}|\\mathbf\{[A-Za-z]\}",
    "n_trig": r"\\sin|\\cos|\\tan|\\cot|\\sec|\\csc|\\angle|\\triangle|\\circ",
    "n_mod": r"\\pmod|\\mod|\\bmod|\\equiv|\\gcd|\\mid|\\operatorname\{lcm\}",
    "n_prob": r"\bprobab|\bP\(|\bE\[|\\mathbb\{P\}|\\mathbb\{E\}",
    "n_sets": r"\\subset|\\subseteq|\\cup|\\cap|\\in\b|\\mathbb\{[RZQCN]\}",
    "n_frac": r"\\frac|\\dfrac|\\tfrac",
    "n_sqrt": r"\\sqrt",
    "n_dollar_math": None,  # filled from the span finder
}
_COMPILED = {k: re.compile(v) for k, v in _COUNTS.items() if v}

FEATURE_NAMES = ["log_chars", "log_words", "digit_share", "upper_share", *_COUNTS, "math_share"]


def text_features(texts) -> np.ndarray:
    """Array of shape ``(n, len(FEATURE_NAMES))``, float32."""
    rows = []
    for raw in texts:
        t = normalize_text(raw)
        n = max(len(t), 1)
        spans = find_math_spans(t)
        math_chars = sum(s.end - s.start for s in spans)
        row = [
            math.log1p(len(t)),
            math.log1p(len(t.split())),
            sum(c.isdigit() for c in t) / n,
            sum(c.isupper() for c in t) / n,
        ]
        for name in _COUNTS:
            row.append(float(len(spans)) if name == "n_dollar_math" else float(len(_COMPILED[name].findall(t))))
        row.append(math_chars / n)
        rows.append(row)
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(FEATURE_NAMES))
