"""The eight topics of the competition: ids and names."""

from __future__ import annotations

LABEL_NAMES: dict[int, str] = {
    0: "Algebra",
    1: "Geometry and Trigonometry",
    2: "Calculus and Analysis",
    3: "Probability and Statistics",
    4: "Number Theory",
    5: "Combinatorics and Discrete Math",
    6: "Linear Algebra",
    7: "Abstract Algebra and Topology",
}

#: Label ids in order, ``[0, 1, ..., 7]``.
LABELS: list[int] = sorted(LABEL_NAMES)
N_LABELS = len(LABELS)


def label_name(label) -> str:
    """Return the topic name of ``label``; labels that are not topic ids are shown as given."""
    try:
        return LABEL_NAMES[int(label)]
    except (KeyError, TypeError, ValueError):
        return str(label)


def short_name(label) -> str:
    """A short name for plot axes: ``"Geometry and Trigonometry"`` -> ``"Geometry"``."""
    return label_name(label).split(" and ")[0]
