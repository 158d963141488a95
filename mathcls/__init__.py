"""mathcls: classify math problems into topics with scikit-learn-style estimators.

``import mathcls`` is light: estimator families (and torch) are imported on first use.

>>> from mathcls import TfidfLogReg, load_model, save_model
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "TfidfLogReg": "mathcls.models.tfidf",
    "TransformerClassifier": "mathcls.models.transformer",
    "SetFitClassifier": "mathcls.models.setfit",
    "StackingEnsemble": "mathcls.stacking",
    "MetaLGBMClassifier": "mathcls.stacking",
    "save_model": "mathcls.persist",
    "load_model": "mathcls.persist",
    "load_competition": "mathcls.data",
    "Competition": "mathcls.data",
    "normalize_text": "mathcls.text",
    "TextNormalizer": "mathcls.text",
    "LABEL_NAMES": "mathcls.labels",
    "MathclsError": "mathcls.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mathcls' has no attribute {name!r}")
