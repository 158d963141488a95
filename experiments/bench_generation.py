"""Benchmark of the generated rows (issue 6).

(a) F1-micro of a TfidfLogReg trained only on ``generate(per_class=200)`` and evaluated on the real
    train.csv (chance: 12.5%).
(b) 5-fold CV F1-micro of TfidfLogReg on the real train.csv, without and with extra rows added to
    the training folds only (procedural; procedural + augmented, grouped with their source rows).

Usage (about 10-15 minutes on 2 cores; run under the heavy-job lock):
    flock /tmp/mathcls-heavy.lock python experiments/bench_generation.py --data ../shared/data/kasut
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from mathcls.data import LABEL, TEXT, load_competition
from mathcls.folds import make_folds
from mathcls.generate import augment, dedupe, generate
from mathcls.models.tfidf import TfidfLogReg
from mathcls.training import cross_validate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/kasut")
    ap.add_argument("--per-class", type=int, default=200)
    ap.add_argument("--augment-per-row", type=int, default=1)
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-cv", action="store_true")
    args = ap.parse_args()

    comp = load_competition(args.data)
    texts, y = comp.train[TEXT].tolist(), comp.train[LABEL].to_numpy()
    against = texts + comp.test[TEXT].tolist()
    gen = dedupe(generate(per_class=args.per_class, seed=args.seed), against)

    t0 = time.perf_counter()
    model = TfidfLogReg().fit(gen[TEXT].tolist(), gen[LABEL].to_numpy())
    pred = model.predict(texts)
    print(f"(a) TF-IDF trained on {len(gen)} generated rows only -> real train.csv ({len(texts)} rows): "
          f"F1-micro {f1_score(y, pred, average='micro'):.4f}, F1-macro {f1_score(y, pred, average='macro'):.4f} "
          f"(chance 0.125; {time.perf_counter() - t0:.0f}s)", flush=True)
    if args.skip_cv:
        return

    aug = dedupe(augment(comp.train, n_per_row=args.augment_per_row, seed=args.seed), against)
    fold = make_folds(y, args.cv, args.seed)
    variants = {
        "real only": None,
        f"+ procedural ({len(gen)})": gen,
        f"+ augmented ({len(aug)})": aug,
        f"+ procedural + augmented ({len(gen) + len(aug)})": pd.concat([gen, aug], ignore_index=True),
    }
    print(f"(b) {args.cv}-fold CV F1-micro of TfidfLogReg (default params), extra rows in training folds only:", flush=True)
    for name, extra in variants.items():
        t0 = time.perf_counter()
        kw = {} if extra is None else {"extra_texts": extra[TEXT].tolist(), "extra_y": extra[LABEL].to_numpy(),
                                       "extra_source": extra["source"].to_numpy()}
        scores = cross_validate(TfidfLogReg(), texts, y, fold, **kw)
        print(f"    {name:<40} {np.mean(scores):.4f} ± {np.std(scores):.4f}  folds {[round(s, 4) for s in scores]}"
              f"  ({time.perf_counter() - t0:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
