"""Benchmark: 5-fold stratified CV F1-micro of TfidfLogReg defaults vs the plain baseline.

    python experiments/bench_tfidf.py --data ../shared/data/kasut

Prints one row per model: CV F1-micro (mean ± std), F1-macro, fit seconds per fold, prediction rows/s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline

from mathcls.data import load_competition
from mathcls.folds import SharedFolds, make_folds
from mathcls.models.tfidf import TfidfLogReg


def evaluate(name, factory, texts, y, fold):
    micro, macro, fit_s, rows_s = [], [], [], []
    texts = np.asarray(texts, dtype=object)
    for tr, va in SharedFolds(fold).split():
        t0 = time.perf_counter()
        model = factory().fit(list(texts[tr]), y[tr])
        t1 = time.perf_counter()
        pred = model.predict(list(texts[va]))
        t2 = time.perf_counter()
        micro.append(f1_score(y[va], pred, average="micro"))
        macro.append(f1_score(y[va], pred, average="macro"))
        fit_s.append(t1 - t0)
        rows_s.append(len(va) / (t2 - t1))
    print(f"{name:<40} {np.mean(micro):.4f} ± {np.std(micro):.4f}  {np.mean(macro):.4f}  "
          f"{np.mean(fit_s):8.1f}  {np.mean(rows_s):9.0f}", flush=True)
    return float(np.mean(micro))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/kasut")
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    comp = load_competition(args.data, need_test=False)
    texts, y = comp.train["Question"].tolist(), comp.train["label"].to_numpy()
    fold = make_folds(y, args.cv, args.seed)
    print(f"{len(texts)} rows, {args.cv}-fold stratified CV (seed {args.seed})")
    print(f"{'model':<40} {'F1-micro':<16} {'F1-macro':<7} {'fit s':>8}  {'pred rows/s':>9}")
    evaluate("TfidfVectorizer()+LogisticRegression()",
             lambda: make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)), texts, y, fold)
    evaluate("TfidfLogReg() defaults", TfidfLogReg, texts, y, fold)


if __name__ == "__main__":
    main()
