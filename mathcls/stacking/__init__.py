"""The stacking ensemble, built from small parts.

=====================  ==================================================================
``_ensemble``          :class:`StackingEnsemble`: the composition and its ``fit``/``predict``
``_fold_runner``       each base model's out-of-fold probabilities, with the resumable cache
``_pseudo_label``      labels for unlabeled rows from the other base models' fold models
``_meta_learner``      :class:`MetaLGBMClassifier`, the default meta-learner
``_bias``              per-class bias offsets, cross-fitted
``_neighbours``        nearest-neighbour meta-features (char TF-IDF), leak-free over the folds
``_folder``            saving and loading a fitted stack (folder versions 1 and 2)
=====================  ==================================================================
"""

from ._bias import ClassBias, apply_bias, cross_fit_bias, tune_bias
from ._ensemble import STRATEGIES, StackingEnsemble
from ._meta_learner import META_DEFAULTS, MetaLGBMClassifier
from ._pseudo_label import name_list

__all__ = ["STRATEGIES", "META_DEFAULTS", "ClassBias", "MetaLGBMClassifier", "StackingEnsemble", "apply_bias",
           "cross_fit_bias", "name_list", "tune_bias"]
