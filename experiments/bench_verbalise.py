"""Does reading LaTeX aloud help the neural models? ``normalize=True`` against ``normalize="verbalize"``.

Three measurements on the competition's train.csv, each printed as a table:

1. MiniLM token counts (special tokens included, no truncation): mean, median, 95th percentile
   and the share of questions over 128 and 256 tokens.
2. The stack's ``embed`` base (``SetFitClassifier(body_epochs=0)``, frozen MiniLM + logistic
   regression, max_length 256): 4-fold CV F1-micro/macro on the same folds for both modes
   (``mathcls.folds.make_folds``: ``StratifiedKFold(4, shuffle=True, random_state=seed)``).
3. With ``--transformer``: ``TransformerClassifier(epochs=1, max_length=128)`` on one stratified
   80/20 split, both modes (about 5-10 minutes per mode on two CPU cores).

Embeddings are cached under ``--cache`` (default ``/tmp/mathcls-bench-verbalise``), so a rerun
of part 2 costs seconds::

    nice -n 5 .venv/bin/python experiments/bench_verbalise.py --data ../shared/data/kasut [--transformer]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODES = (True, "verbalize")


def token_table(texts) -> list[dict]:
    from transformers import AutoTokenizer

    from mathcls.models._hf import bundled_model_path
    from mathcls.text import prepare_text

    tok = AutoTokenizer.from_pretrained(str(bundled_model_path()))
    rows = []
    for mode in MODES:
        prepared = [prepare_text(t, mode) for t in texts]
        lengths = np.array([len(ids) for ids in tok(prepared, add_special_tokens=True)["input_ids"]])
        rows.append({"mode": mode, "mean": lengths.mean(), "median": np.median(lengths),
                     "p95": np.percentile(lengths, 95), "over128": (lengths > 128).mean(),
                     "over256": (lengths > 256).mean()})
    return rows


def frozen_cv(texts, y, n_splits: int, seed: int) -> list[dict]:
    from sklearn.metrics import f1_score

    from mathcls.folds import SharedFolds, make_folds
    from mathcls.models.setfit import SetFitClassifier

    fold = make_folds(y, n_splits=n_splits, seed=seed)
    texts = np.asarray(texts, dtype=object)
    rows = []
    for mode in MODES:
        t0 = time.perf_counter()
        micro, macro = [], []
        for train_idx, valid_idx in SharedFolds(fold).split():
            est = SetFitClassifier(body_epochs=0, max_length=256, normalize=mode, progress_bar=False)
            est.fit(list(texts[train_idx]), y[train_idx])
            pred = est.predict(list(texts[valid_idx]))
            micro.append(f1_score(y[valid_idx], pred, average="micro"))
            macro.append(f1_score(y[valid_idx], pred, average="macro"))
        rows.append({"mode": mode, "micro": micro, "macro": macro, "seconds": time.perf_counter() - t0})
        print(f"  frozen {mode!r}: F1-micro per fold {np.round(micro, 4).tolist()}", flush=True)
    return rows


def transformer_split(texts, y, seed: int) -> list[dict]:
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split

    from mathcls.models.transformer import TransformerClassifier

    tr_x, va_x, tr_y, va_y = train_test_split(texts, y, test_size=0.2, stratify=y, random_state=seed)
    rows = []
    for mode in MODES:
        t0 = time.perf_counter()
        est = TransformerClassifier(epochs=1, max_length=128, normalize=mode, output_dir=None, logging_dir=None,
                                    progress_bar=False, seed=seed)
        pred = est.fit(tr_x, tr_y).predict(va_x)
        rows.append({"mode": mode, "micro": f1_score(va_y, pred, average="micro"),
                     "macro": f1_score(va_y, pred, average="macro"), "seconds": time.perf_counter() - t0})
        print(f"  transformer {mode!r}: F1-micro {rows[-1]['micro']:.4f}", flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "kasut"), help="folder with train.csv")
    ap.add_argument("--folds", type=int, default=4, help="folds for the frozen-embedding CV")
    ap.add_argument("--seed", type=int, default=0, help="fold and split seed")
    ap.add_argument("--cache", default="/tmp/mathcls-bench-verbalise", help="MATHCLS_CACHE for the embeddings")
    ap.add_argument("--skip-frozen", action="store_true", help="token counts only (and --transformer if given)")
    ap.add_argument("--transformer", action="store_true", help="also fine-tune MiniLM 1 epoch on an 80/20 split")
    args = ap.parse_args(argv)

    os.environ["MATHCLS_CACHE"] = args.cache
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mathcls.data import LABEL, TEXT, load_train

    df = load_train(Path(args.data) / "train.csv")
    texts, y = df[TEXT].tolist(), df[LABEL].to_numpy()
    print(f"data: {len(texts)} questions from {args.data}", flush=True)

    print("\nMiniLM tokens per question (with special tokens, untruncated)")
    print("| mode | mean | median | p95 | share > 128 | share > 256 |")
    print("|---|---|---|---|---|---|")
    for r in token_table(texts):
        print(f"| {r['mode']!r} | {r['mean']:.1f} | {r['median']:.0f} | {r['p95']:.0f} | {r['over128']:.1%} | "
              f"{r['over256']:.1%} |", flush=True)

    if not args.skip_frozen:
        rows = frozen_cv(texts, y, args.folds, args.seed)
        print(f"\nFrozen MiniLM + logistic regression (embed base), {args.folds}-fold CV, seed {args.seed}")
        print("| mode | F1-micro mean | +- sd | F1-macro mean | seconds |")
        print("|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['mode']!r} | {np.mean(r['micro']):.4f} | {np.std(r['micro']):.4f} | "
                  f"{np.mean(r['macro']):.4f} | {r['seconds']:.0f} |")
        diff = np.array(rows[1]["micro"]) - np.array(rows[0]["micro"])
        print(f"verbalize - normalize per fold: {np.round(diff, 4).tolist()} (mean {diff.mean():+.4f})", flush=True)

    if args.transformer:
        rows = transformer_split(texts, y, args.seed)
        print(f"\nTransformerClassifier(epochs=1, max_length=128), one stratified 80/20 split, seed {args.seed}")
        print("| mode | F1-micro | F1-macro | seconds |")
        print("|---|---|---|---|")
        for r in rows:
            print(f"| {r['mode']!r} | {r['micro']:.4f} | {r['macro']:.4f} | {r['seconds']:.0f} |")


if __name__ == "__main__":
    main()
