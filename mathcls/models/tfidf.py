"""Word + character n-gram TF-IDF with logistic regression: the fast, strong baseline."""

from __future__ import annotations

from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from ..errors import ParameterError
from ..text import normalize_text
from .base import TextClassifierMixin, check_texts
from .validation import Interval, Options, Pair

_PAYLOAD = "tfidf.skops"


class TfidfLogReg(TextClassifierMixin, ClassifierMixin, BaseEstimator):
    """TF-IDF on word and character n-grams (a union of both), then logistic regression.

    Texts are normalised with :func:`mathcls.text.normalize_text` first (bytes literals,
    HTML, whitespace) when ``normalize`` is true; LaTeX commands stay and become features.

    Parameters
    ----------
    word_ngram_range : tuple, default (1, 2)
        n-gram range of the word analyser; ``None`` drops word features.
    char_ngram_range : tuple, default (2, 5)
        n-gram range of the ``char_wb`` analyser; ``None`` drops character features.
    min_df : int or float, default 2
        Minimum document frequency of a term (both analysers).
    max_df : float, default 1.0
    sublinear_tf : bool, default True
        Use ``1 + log(tf)``; helps long questions.
    max_features : int or None, default None
        Vocabulary cap of the word analyser.
    char_max_features : int or None, default None
        Vocabulary cap of the character analyser.
    lowercase : bool, default True
    normalize : bool, default True
        Apply :func:`~mathcls.text.normalize_text` before vectorising.
    C : float, default 20.0
        Inverse regularisation strength of the logistic regression.
    class_weight : None, "balanced" or dict, default None
    max_iter : int, default 3000
    tol : float, default 1e-4
    random_state : int, default 0

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    vectorizer_ : FeatureUnion of the fitted TfidfVectorizers
    classifier_ : fitted LogisticRegression
    n_features_ : int, size of the joint vocabulary

    Examples
    --------
    >>> from mathcls.models.tfidf import TfidfLogReg
    >>> clf = TfidfLogReg(min_df=1).fit(["solve x+1=2", "find the area of the circle"] * 3, [0, 1] * 3)
    >>> clf.predict(["what is the radius of the circle"]).tolist()
    [1]
    """

    _parameter_constraints = {
        "word_ngram_range": [Pair(), None],
        "char_ngram_range": [Pair(), None],
        # As scikit-learn reads them: an integer is a document count, a float a fraction.
        "min_df": [Interval(Integral, 1, None), Interval(Real, 0, 1, closed="right")],
        "max_df": [Interval(Integral, 1, None), Interval(Real, 0, 1, closed="right")],
        "sublinear_tf": ["boolean"],
        "max_features": [Interval(Integral, 1, None), None],
        "char_max_features": [Interval(Integral, 1, None), None],
        "lowercase": ["boolean"],
        "normalize": ["boolean"],
        "C": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [Options({"balanced"}), dict, None],
        "max_iter": [Interval(Integral, 1, None)],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "random_state": [Interval(Integral, 0, None), None],
    }

    def __init__(
        self,
        word_ngram_range=(1, 2),
        char_ngram_range=(2, 5),
        min_df=2,
        max_df=1.0,
        sublinear_tf=True,
        max_features=None,
        char_max_features=None,
        lowercase=True,
        normalize=True,
        C=20.0,
        class_weight=None,
        max_iter=3000,
        tol=1e-4,
        random_state=0,
    ):
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.sublinear_tf = sublinear_tf
        self.max_features = max_features
        self.char_max_features = char_max_features
        self.lowercase = lowercase
        self.normalize = normalize
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # ---- helpers ----
    def _check_param_relations(self):
        if self.word_ngram_range is None and self.char_ngram_range is None:
            raise ParameterError("word_ngram_range and char_ngram_range cannot both be None; keep at least one analyser.")

    def _prepare(self, X) -> list[str]:
        texts = check_texts(X)
        return [normalize_text(t) for t in texts] if self.normalize else texts

    def _min_df_for(self, n_docs: int):
        # An integer min_df above the number of documents would empty the vocabulary on tiny data.
        if isinstance(self.min_df, (int, np.integer)) and self.min_df > 1:
            return int(min(self.min_df, max(1, n_docs // 2)))
        return self.min_df

    def _build_vectorizer(self, n_docs: int) -> FeatureUnion:
        parts = []
        common = dict(
            min_df=self._min_df_for(n_docs), max_df=self.max_df, sublinear_tf=self.sublinear_tf,
            lowercase=self.lowercase, dtype=np.float32,
        )
        if self.word_ngram_range is not None:
            parts.append(("word", TfidfVectorizer(
                analyzer="word", ngram_range=tuple(self.word_ngram_range), max_features=self.max_features,
                token_pattern=r"(?u)\\?[A-Za-z]+|\d+|[^\sA-Za-z\d]", **common,
            )))
        if self.char_ngram_range is not None:
            parts.append(("char", TfidfVectorizer(
                analyzer="char_wb", ngram_range=tuple(self.char_ngram_range),
                max_features=self.char_max_features, **common,
            )))
        return FeatureUnion(parts)

    # ---- scikit-learn API ----
    def fit(self, X, y):
        """Fit the vectorisers and the classifier; returns ``self``."""
        self._validate_params()
        texts, classes, y_idx = self._check_fit_input(X, y)
        texts = [normalize_text(t) for t in texts] if self.normalize else texts
        vectorizer = self._build_vectorizer(len(texts))
        features = vectorizer.fit_transform(texts)
        classifier = LogisticRegression(
            C=self.C, class_weight=self._class_weight_idx(classes), max_iter=self.max_iter, tol=self.tol,
            random_state=self.random_state,
        )
        classifier.fit(features, y_idx)
        self.classes_ = classes
        self.vectorizer_ = vectorizer
        self.classifier_ = classifier
        self.n_features_ = features.shape[1]
        return self

    def _class_weight_idx(self, classes):
        if isinstance(self.class_weight, dict):
            # Map user labels to the internal 0..k-1 indices.
            lookup = {str(k): v for k, v in self.class_weight.items()}
            return {i: lookup.get(str(c), 1.0) for i, c in enumerate(classes)}
        return self.class_weight

    def decision_function(self, X):
        self._check_fitted()
        return self.classifier_.decision_function(self.vectorizer_.transform(self._prepare(X)))

    def predict_proba(self, X):
        """Class probabilities, columns in ``classes_`` order."""
        self._check_fitted()
        features = self.vectorizer_.transform(self._prepare(X))
        proba = self.classifier_.predict_proba(features)
        return np.asarray(proba, dtype=np.float64)

    def top_features(self, n: int = 10) -> dict:
        """The ``n`` terms with the largest weight for each class.

        Returns a dict ``class -> list of (term, weight)``; character n-grams are quoted
        (``'\\int'``) and word terms bare.
        """
        self._check_fitted()
        names = self.vectorizer_.get_feature_names_out()
        coef = self.classifier_.coef_
        if coef.shape[0] == 1:  # binary: one row for the positive class
            coef = np.vstack([-coef[0], coef[0]])
        out = {}
        for k, cls in enumerate(self.classes_):
            order = np.argsort(coef[k])[::-1][:n]
            out[cls.item() if hasattr(cls, "item") else cls] = [(_pretty(names[j]), float(coef[k, j])) for j in order]
        return out

    # ---- persistence ----
    def _save_payload(self, folder: Path) -> None:
        import zipfile

        import skops.io as sio

        from ..persist import encode_classes

        vectorizers = dict(self.vectorizer_.transformer_list)
        for vectorizer in vectorizers.values():
            # stop_words_ lists every pruned term (millions of char n-grams) and is only for introspection.
            if hasattr(vectorizer, "stop_words_"):
                del vectorizer.stop_words_
        # skops writes a dict entry by entry (minutes for the 10^5-10^6 terms of min_df=1); the
        # vocabularies travel as two flat arrays each instead and are rebuilt on load.
        vocabularies = {name: v.__dict__.pop("vocabulary_") for name, v in vectorizers.items()
                        if "vocabulary_" in v.__dict__}
        try:
            sio.dump({"vectorizer": self.vectorizer_, "classifier": self.classifier_,
                      "classes": encode_classes(self.classes_)[0],
                      "vocabularies": {name: _pack_vocabulary(vocab) for name, vocab in vocabularies.items()}},
                     folder / _PAYLOAD, compression=zipfile.ZIP_DEFLATED)
        finally:
            for name, vocab in vocabularies.items():
                vectorizers[name].vocabulary_ = vocab

    def _load_payload(self, folder: Path, manifest: dict) -> None:
        from ..persist import check_payload_classes, safe_skops_load

        payload = safe_skops_load(folder / _PAYLOAD)
        self.vectorizer_ = payload["vectorizer"]
        self.classifier_ = payload["classifier"]
        # The classifier is fitted on class indices 0..k-1, so its size checks folders saved before
        # the payload held the class order.
        check_payload_classes(folder, self.classes_, payload.get("classes", self.classes_), _PAYLOAD)
        check_payload_classes(folder, np.arange(len(self.classes_)), self.classifier_.classes_,
                              f"the classifier in {_PAYLOAD}")
        vectorizers = dict(self.vectorizer_.transformer_list)
        for name, packed in payload.get("vocabularies", {}).items():
            vectorizers[name].vocabulary_ = _unpack_vocabulary(packed)
        self.n_features_ = len(self.vectorizer_.get_feature_names_out())


def _pack_vocabulary(vocabulary: dict) -> dict:
    """A term -> column dict as UTF-8 bytes of the terms in column order plus their end offsets."""
    terms = [None] * len(vocabulary)
    for term, column in vocabulary.items():
        terms[column] = term
    encoded = [t.encode("utf-8") for t in terms]
    return {"data": np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(),
            "ends": np.cumsum([len(b) for b in encoded], dtype=np.int64)}


def _unpack_vocabulary(packed: dict) -> dict:
    raw = packed["data"].tobytes()
    ends = packed["ends"].tolist()
    starts = [0] + ends[:-1]
    return {raw[a:b].decode("utf-8"): column for column, (a, b) in enumerate(zip(starts, ends))}


def _pretty(name: str) -> str:
    kind, _, term = name.partition("__")
    return repr(term) if kind == "char" else term
