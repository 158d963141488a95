"""Nearest-neighbour meta-features: each question's most similar training questions in character
TF-IDF space, and their labels.

Near-duplicates are common in this competition (a question reworded, or the same template with other
numbers), and a close neighbour's label is a view the base models do not give. The features are
leak-free like the base models' probabilities: for a training row the neighbours come only from the
other folds, so no row sees its own label or one of its fold; new rows look at every training row.

Per row: the top-1 cosine similarity, the top-1 neighbour's label one-hot scaled by that similarity,
and the similarity-weighted label share of the ``k`` nearest (``1 + 2 * n_classes`` columns).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FILE = "neighbours.skops"
_CHUNK = 1024  # query rows per similarity block: bounds memory at 1024 x n_train floats


class NeighbourFeatures:
    """Fitted on the training texts and labels (class indices) with their fold ids.

    Attributes after :meth:`fit`: ``vectorizer_`` (char_wb 2-5 TF-IDF), ``vectors_`` (the training
    rows, L2-normalised sparse), ``y_`` (their class indices), ``oof_`` (the training rows' features,
    each computed from the other folds).
    """

    def __init__(self, n_classes: int, k: int = 5):
        self.n_classes = int(n_classes)
        self.k = int(k)

    def fit(self, texts, y_idx, fold) -> NeighbourFeatures:
        from sklearn.feature_extraction.text import TfidfVectorizer

        from ..text import normalize_text

        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
        self.vectors_ = self.vectorizer_.fit_transform([normalize_text(t) for t in texts]).tocsr()
        self.y_ = np.asarray(y_idx, dtype=np.int64)
        fold = np.asarray(fold)
        self.oof_ = np.zeros((len(self.y_), self.n_features))
        for f in np.unique(fold):
            valid, train = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
            self.oof_[valid] = self._features(self.vectors_[valid], train)
        return self

    @property
    def n_features(self) -> int:
        return 1 + 2 * self.n_classes

    def feature_names(self) -> list[str]:
        return (["nn_similarity"] + [f"nn_label{c}" for c in range(self.n_classes)]
                + [f"nn_share{c}" for c in range(self.n_classes)])

    def transform(self, texts) -> np.ndarray:
        """Features of new texts, from every training row."""
        from ..text import normalize_text

        queries = self.vectorizer_.transform([normalize_text(t) for t in texts])
        return self._features(queries, np.arange(len(self.y_)))

    def _features(self, queries, train) -> np.ndarray:
        out = np.zeros((queries.shape[0], self.n_features))
        k = min(self.k, len(train))
        if k == 0:
            return out
        pool, labels = self.vectors_[train].T.tocsc(), self.y_[train]
        for start in range(0, queries.shape[0], _CHUNK):
            sims = (queries[start:start + _CHUNK] @ pool).toarray()
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            top_sim = np.take_along_axis(sims, top, axis=1)
            order = np.argsort(-top_sim, axis=1, kind="stable")
            top, top_sim = np.take_along_axis(top, order, axis=1), np.take_along_axis(top_sim, order, axis=1)
            top_labels = labels[top]
            rows = np.arange(len(top)) + start
            out[rows, 0] = top_sim[:, 0]
            out[rows, 1 + top_labels[:, 0]] = top_sim[:, 0]
            weight = np.maximum(top_sim.sum(1), 1e-12)
            for c in range(self.n_classes):
                out[rows, 1 + self.n_classes + c] = (top_sim * (top_labels == c)).sum(1) / weight
        return out

    # ---- persistence (inside a stack folder) ----
    def save(self, folder: Path) -> None:
        import skops.io as sio

        folder.mkdir(parents=True, exist_ok=True)
        sio.dump({"vectorizer": self.vectorizer_, "vectors": self.vectors_, "labels": self.y_,
                  "n_classes": self.n_classes, "k": self.k}, folder / FILE)

    @classmethod
    def load(cls, folder: Path) -> NeighbourFeatures:
        from ..persist import safe_skops_load

        saved = safe_skops_load(folder / FILE)
        self = cls(saved["n_classes"], saved["k"])
        self.vectorizer_, self.vectors_, self.y_ = saved["vectorizer"], saved["vectors"], saved["labels"]
        return self
