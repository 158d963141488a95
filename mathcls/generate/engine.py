"""The engine of the procedural generator: the functions that turn the registered templates (see
:mod:`mathcls.generate.draws`, which the topic modules build on) into rows.

Generation is reproducible: each topic draws from its own :class:`Draw` seeded with
``(seed, label, part)``, so asking more rows of one topic does not change another topic's rows.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from ..data import LABEL, SOURCE, TEXT
from ..errors import MathclsError
from ..labels import LABELS
from ..logs import quiet
from ..text import normalize_text
from .draws import TEMPLATES, Draw


def registered_templates() -> dict[int, list]:
    """``{label: [template, ...]}`` for every topic."""
    from . import topics  # noqa: F401  (importing the topic modules registers their templates)

    return TEMPLATES


def templates_for(label: int, part: str | None = None) -> list:
    """All templates of a topic, or one of two overlapping halves: ``"a"`` drops every third
    template, ``"b"`` keeps every template but draws the dropped ones more often."""
    funcs = registered_templates()[label]
    if part is None:
        return funcs
    if part == "a":
        return [f for i, f in enumerate(funcs) if i % 3 != 2]
    if part == "b":
        return funcs + [f for i, f in enumerate(funcs) if i % 3 == 2]
    raise MathclsError(f"Unknown template part {part!r}; use None, 'a' or 'b'.")


# ------------------------------------------------------------------ rows from templates

def _dedupe_key(text: str) -> str:
    return normalize_text(text).lower()


def generate_topic(label: int, n: int, seed: int = 0, exclude=(), part: str | None = None) -> list[str]:
    """``n`` distinct questions of topic ``label``; ``exclude`` holds normalised, case-folded
    texts to avoid."""
    if label not in registered_templates():
        raise MathclsError(f"Unknown label {label!r}; labels are {LABELS[0]}..{LABELS[-1]}.")
    r = Draw(f"mathcls-{seed}-{label}-{part or ''}")
    funcs = templates_for(label, part)
    seen = set(exclude)
    out: list[str] = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 50 * n + 1000:
            raise MathclsError(
                f"Could only make {len(out)} distinct questions of label {label} out of {n}; ask for fewer."
            )
        text = r.choice(funcs)(r).strip()
        key = _dedupe_key(text)
        if key in seen:
            continue
        seen.add(key)
        out.append(text)
    return out


def generate(per_class: int | dict = 200, seed: int = 0, exclude=(), part: str | None = None,
             progress: bool = False) -> pd.DataFrame:
    """Generate questions for every topic.

    Parameters
    ----------
    per_class : int or dict
        Rows per topic, or ``{label: rows}`` (missing labels get none).
    seed : int
        Seed; the same seed gives the same rows.
    exclude : iterable of str
        Texts never to produce (compared after :func:`~mathcls.text.normalize_text`, case-folded),
        e.g. the training and test questions.
    part : None, "a" or "b"
        Template subset, so that two data sets can differ in templates as well as numbers.
    progress : bool
        Show a progress bar.

    Returns
    -------
    DataFrame with ``Question``, ``label`` and ``source`` (``-1``: no source row).

    Examples
    --------
    >>> df = generate(per_class=2, seed=1)
    >>> sorted(df["label"].value_counts().to_dict().items())[0]
    (0, 2)
    """
    counts = _per_class_counts(per_class)
    excl = {_dedupe_key(t) for t in exclude}
    texts, labels = [], []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(counts.values()), desc="generating", unit="q", disable=quiet())
    try:
        for label, n in counts.items():
            rows = generate_topic(label, n, seed, excl, part)
            excl.update(_dedupe_key(t) for t in rows)
            texts += rows
            labels += [label] * len(rows)
            if bar is not None:
                bar.update(len(rows))
    finally:
        if bar is not None:
            bar.close()
    return pd.DataFrame({TEXT: texts, LABEL: pd.array(labels, dtype="int64"), SOURCE: pd.array([-1] * len(texts), dtype="int64")})


def _per_class_counts(per_class) -> dict[int, int]:
    if isinstance(per_class, dict):
        counts = {}
        for k, v in per_class.items():
            if int(k) not in registered_templates():
                raise MathclsError(f"Unknown label {k!r} in per_class; labels are {LABELS[0]}..{LABELS[-1]}.")
            if int(v) < 0:
                raise MathclsError(f"per_class for label {k} is {v}; counts must be 0 or more.")
            counts[int(k)] = int(v)
        return dict(sorted(counts.items()))
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 0:
        raise MathclsError(f"per_class must be a non-negative integer or a dict of label -> count; got {per_class!r}.")
    return {label: per_class for label in LABELS}


def balance_counts(train_labels, target: int | None = None) -> dict[int, int]:
    """Rows to generate per topic so that every topic reaches ``target`` rows (default: the size
    of the largest class). Topics already at or above the target get 0.

    >>> balance_counts([0, 0, 0, 1], target=3)[1]
    2
    """
    counts = Counter(int(v) for v in train_labels)
    goal = max(counts.values(), default=0) if target is None else int(target)
    return {label: max(0, goal - counts.get(label, 0)) for label in LABELS}
