"""Issue 16, ideas 5 and 6: pairwise specialists and base-model agreement as meta-features.

    python experiments/bench_specialists.py --data ../shared/data/kasut [--with-embed]

Base models and meta-learner as in ``bench_knn_meta.py`` (4-fold OOF on the shared train, seed 42,
tuned/word/char TF-IDF, optionally cpu.toml's frozen MiniLM + LR; mathcls's LightGBM meta-learner
cross-fitted on the same folds with 10 Optuna trials, text features included).

- Specialists: for each confused pair of topics (``--pairs``, default the pairs the TF-IDF confuses
  most on this data: 4/5, 0/2, 0/4, 0/5, 0/6) a TF-IDF + logistic regression fitted on the
  training-fold rows of those two topics only; its out-of-fold P(first | first or second) for
  every row is one meta-feature. Printed per pair: the specialist's accuracy on that pair's rows
  against the main TF-IDF's choice between the same two topics.
- Agreement: per row, how many base models agree with the averaged prediction, each base model's
  top probability, and the entropy of the average.

Prints the stack's OOF F1-micro/macro without and with each group of features, and their cost.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_knn_meta import base_oof, stack_score  # noqa: E402


class PairOnly(ClassifierMixin, BaseEstimator):
    """Fits ``estimator`` on the rows of ``classes`` only; predicts those classes for any row."""

    def __init__(self, estimator=None, classes=(4, 5)):
        self.estimator = estimator
        self.classes = classes

    def fit(self, X, y):
        y = np.asarray(y)
        keep = np.flatnonzero(np.isin(y, self.classes))
        self.estimator_ = clone(self.estimator).fit([X[i] for i in keep], y[keep])
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)


def agreement_features(probas: dict) -> np.ndarray:
    """Per row: share of base models whose top class is the averaged top class, each model's top
    probability, and the entropy of the averaged probabilities."""
    blocks = list(probas.values())
    mean = np.mean(blocks, axis=0)
    top = mean.argmax(1)
    agree = np.mean([b.argmax(1) == top for b in blocks], axis=0)
    confidence = np.column_stack([b.max(1) for b in blocks])
    entropy = -(mean * np.log(np.clip(mean, 1e-12, None))).sum(1)
    return np.column_stack([agree, confidence, entropy])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "kasut"))
    ap.add_argument("--cv", type=int, default=4)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--with-embed", action="store_true", help="add cpu.toml's embed base (frozen MiniLM + LR)")
    ap.add_argument("--pairs", default="4/5,0/2,0/4,0/5,0/6", help="confused topic pairs, first/second")
    ap.add_argument("--meta-trials", type=int, default=10)
    args = ap.parse_args(argv)
    from mathcls.features import text_features
    from mathcls.folds import SharedFolds
    from mathcls.models.tfidf import TfidfLogReg
    from mathcls.oof import out_of_fold_proba

    texts, y, fold, probas = base_oof(args.data, args.cv, args.seed, args.with_embed)
    pairs = [tuple(int(c) for c in p.split("/")) for p in args.pairs.split(",")]

    t0 = time.perf_counter()
    specialist = []
    for a, b in pairs:
        est = PairOnly(TfidfLogReg(class_weight="balanced"), classes=(a, b))
        proba = out_of_fold_proba(est, texts, y, SharedFolds(fold)).proba
        p_first = proba[:, a] / np.clip(proba[:, a] + proba[:, b], 1e-12, None)
        specialist.append(p_first)
        rows = np.isin(y, (a, b))
        main_tfidf = probas["tfidf"]
        main_first = main_tfidf[rows, a] >= main_tfidf[rows, b]
        print(f"specialist {a}/{b}: on its {rows.sum()} rows {np.mean((p_first[rows] >= 0.5) == (y[rows] == a)):.4f} "
              f"correct, the main TF-IDF choosing between the two {np.mean(main_first == (y[rows] == a)):.4f}",
              flush=True)
    specialist = np.column_stack(specialist)
    specialist_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    agreement = agreement_features(probas)
    print(f"specialists: {specialist_seconds:.0f}s for {len(pairs)} pairs x {args.cv} folds; "
          f"agreement features: {time.perf_counter() - t0:.1f}s", flush=True)

    text = text_features(texts)
    for label, extra in (("stack", []), ("stack + specialists", [specialist]),
                         ("stack + agreement", [agreement]), ("stack + both", [specialist, agreement])):
        stack_score(label, probas, [text, *extra], y, fold, args.meta_trials)


if __name__ == "__main__":
    main()
