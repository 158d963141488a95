"""Pseudo-labelling: base models that also train on unlabeled rows (the test questions), labelled by
the other base models.

Fold ``k``'s pseudo-labels come from the labelling models' fold-``k`` models, which never saw fold
``k``; so a pseudo-labelled model's out-of-fold predictions stay honest.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError


def name_list(value) -> list[str]:
    """A ``pseudo_label`` setting (None, one name or a sequence of names) as a list of names."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def check_pseudo_label(pseudo: list[str], names: list[str], test_strategy: str) -> None:
    """The stack's pseudo-labelling settings against its base models' names."""
    unknown = [n for n in pseudo if n not in names]
    if unknown:
        raise ParameterError(f"pseudo_label names {unknown[0]!r}, which is not a base model; base models: {names}.")
    if pseudo and len(pseudo) == len(names):
        raise ParameterError("pseudo_label lists every base model; leave at least one to label the unlabeled rows.")
    if pseudo and test_strategy != "fold-average":
        raise ParameterError("pseudo_label needs test_strategy='fold-average' (each fold is labelled by its own fold models).")


def pseudo_rows(unlabeled, labeller_proba, classes, threshold: float) -> list[tuple[list[str], np.ndarray]]:
    """Per fold: the unlabeled texts and their labels, from the average of the labelling models.

    ``labeller_proba`` holds each labelling model's fold models' probabilities on ``unlabeled``
    ((folds, rows, classes) per model). Rows whose averaged top probability is below
    ``threshold`` are left out.
    """
    average = np.mean(labeller_proba, axis=0)  # (folds, rows, classes)
    rows = []
    for proba in average:
        keep = np.flatnonzero(proba.max(1) >= threshold)
        rows.append(([unlabeled[i] for i in keep], classes[proba[keep].argmax(1)]))
    return rows
