"""Issue 16, idea 6: do nearest-neighbour meta-features help the stack? Measured on a TF-IDF stack.

    python experiments/bench_knn_meta.py --data ../shared/data/kasut

Base models (4-fold OOF on the shared train, seed 42): cpu.toml's tuned TF-IDF, a word-only and a
char-only TF-IDF (``--with-embed``: also cpu.toml's frozen MiniLM + LR). The meta-learner is mathcls's MetaLGBMClassifier, cross-fitted on the same folds
(the stack's honest OOF score; 10 Optuna trials as in cpu.toml), once on the base models' probabilities plus the text features, and
once with nearest-neighbour features added: for each row, its most similar *training-fold* question
in char TF-IDF space (cosine), that similarity, the neighbour's label one-hot scaled by it, and the
similarity-weighted label share of the 5 nearest (mathcls.stacking._neighbours, what
``[stack] neighbour_features`` adds). Prints F1-micro/macro of each base model and of
both stacks, and the seconds the neighbour features cost.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def base_oof(data, cv: int, seed: int, with_embed: bool):
    """The base models' 4-fold OOF probabilities on the shared train: cpu.toml's tuned TF-IDF, a
    word-only and a char-only TF-IDF, and with ``with_embed`` cpu.toml's frozen MiniLM + LR.
    Returns texts, labels, fold ids and ``{name: proba}``; prints each model's OOF scores."""
    from sklearn.metrics import f1_score

    from mathcls.data import LABEL, TEXT, load_train
    from mathcls.folds import SharedFolds, make_folds
    from mathcls.models.tfidf import TfidfLogReg
    from mathcls.oof import out_of_fold_proba

    df = load_train(Path(data) / "train.csv")
    texts, y = df[TEXT].tolist(), df[LABEL].to_numpy()
    fold = make_folds(y, cv, seed)
    bases = {
        "tfidf": TfidfLogReg(C=50.5, char_ngram_range=(2, 6), min_df=1, class_weight="balanced",
                             char_max_features=200000),
        "word": TfidfLogReg(char_ngram_range=None),
        "char": TfidfLogReg(word_ngram_range=None),
    }
    if with_embed:
        from mathcls.models.setfit import SetFitClassifier

        bases["embed"] = SetFitClassifier(body_epochs=0, max_length=256, head_C=10.0, progress_bar=False)
    probas = {}
    for name, est in bases.items():
        t0 = time.perf_counter()
        probas[name] = out_of_fold_proba(est, texts, y, SharedFolds(fold)).proba
        pred = probas[name].argmax(1)
        print(f"{name:<8} OOF F1-micro {f1_score(y, pred, average='micro'):.4f}  "
              f"F1-macro {f1_score(y, pred, average='macro'):.4f}  ({time.perf_counter() - t0:.0f}s)", flush=True)
    return texts, y, fold, probas


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "kasut"))
    ap.add_argument("--cv", type=int, default=4)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--with-embed", action="store_true",
                    help="add cpu.toml's embed base (frozen MiniLM + LR, 256 tokens); point MATHCLS_CACHE at a "
                         "warm embedding cache to skip the encoding")
    ap.add_argument("--meta-trials", type=int, default=10, help="the meta-learner's Optuna trials (cpu.toml: 10)")
    args = ap.parse_args(argv)
    from mathcls.features import text_features
    from mathcls.stacking._neighbours import NeighbourFeatures

    texts, y, fold, probas = base_oof(args.data, args.cv, args.seed, args.with_embed)

    t0 = time.perf_counter()
    n_classes = len(np.unique(y))
    knn = NeighbourFeatures(n_classes).fit(texts, y, fold).oof_
    knn_seconds = time.perf_counter() - t0
    share = (knn[:, 0] >= 0.9).mean()
    agree = (knn[knn[:, 0] >= 0.9, 1:1 + n_classes].argmax(1) == y[knn[:, 0] >= 0.9]).mean() if share else float("nan")
    print(f"neighbour features: {knn_seconds:.0f}s; {share:.1%} of rows have a training-fold neighbour at cosine "
          f">= 0.9, which shares its label {agree:.1%} of the time")

    for label, extra in (("stack", []), ("stack + neighbours", [knn])):
        stack_score(label, probas, [text_features(texts), *extra], y, fold, args.meta_trials)


def stack_score(label: str, probas: dict, extra: list, y, fold, meta_trials: int) -> float:
    """Cross-fitted F1-micro of mathcls's LightGBM meta-learner on the base probabilities followed by
    the ``extra`` feature blocks, on the same folds; prints it with F1-macro."""
    from sklearn.metrics import f1_score

    from mathcls.folds import SharedFolds
    from mathcls.stacking._meta_learner import MetaLGBMClassifier

    table = np.hstack(list(probas.values()) + list(extra))
    meta = MetaLGBMClassifier(n_base_models=len(probas), cv=SharedFolds(fold), n_trials=meta_trials,
                              random_state=0).fit(table, y)
    pred = meta.classes_[meta.oof_proba_.argmax(1)]
    micro = f1_score(y, pred, average="micro")
    print(f"{label:<28} OOF F1-micro {micro:.4f}  F1-macro {f1_score(y, pred, average='macro'):.4f}  "
          f"(meta-learner: {meta.kind_})", flush=True)
    return micro


if __name__ == "__main__":
    main()
