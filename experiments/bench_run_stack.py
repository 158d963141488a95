"""What does one more base model add to a stack? Re-stacks the cached folds of finished `mathcls run`s.

    python experiments/bench_run_stack.py --data ../shared/data/kasut \
        --run runs/a --run runs/b --base tfidf,embed,transformer --add transformer_v

Reads every named model's out-of-fold probabilities from its finished entry in ``<run>/cache/base/``
(the first run that has one, read by the stack's own fold cache), checks that the runs used the same folds (``folds.json``), and prints
each model's OOF F1-micro/macro, then the stack of ``--base`` and the stack of ``--base`` plus
each ``--add`` model (and, with ``--swap OLD``, ``--base`` with OLD replaced by it): mathcls's
LightGBM meta-learner cross-fitted on the same folds with the text features, as ``mathcls run``
stacks (10 Optuna trials, as in cpu.toml). No model is trained again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_knn_meta import stack_score  # noqa: E402


def cached_oof(runs: list[Path], name: str, classes, cv: int) -> np.ndarray:
    """A model's out-of-fold probabilities from the first run with a finished cache entry for it."""
    from mathcls.stacking._fold_runner import FoldCache

    for run in runs:
        for folder in sorted((run / "cache" / "base").glob(f"{name}-*")):
            cache = FoldCache(folder, classes, keep_models=False)
            if cache.done() is None:  # an interrupted entry
                continue
            parts = [cache.load(k, None, None) for k in range(cv)]
            proba = np.full((sum(len(p.valid_index) for p in parts), len(classes)), np.nan)
            for part in parts:
                proba[part.valid_index] = part.proba
            return proba
    raise SystemExit(f"No run among {[str(r) for r in runs]} has a finished cache entry for {name!r}.")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "kasut"))
    ap.add_argument("--run", action="append", required=True, type=Path, help="a finished run folder (repeatable)")
    ap.add_argument("--base", required=True, help="comma-separated models of the stack")
    ap.add_argument("--add", required=True, help="the model to add (comma-separated: each one in turn)")
    ap.add_argument("--swap", default=None, help="also stack --base with this model replaced by each --add")
    ap.add_argument("--meta-trials", type=int, default=10)
    args = ap.parse_args(argv)
    from sklearn.metrics import f1_score

    from mathcls.data import LABEL, TEXT, load_train
    from mathcls.features import text_features

    df = load_train(Path(args.data) / "train.csv")
    texts, y = df[TEXT].tolist(), df[LABEL].to_numpy()
    folds = [json.loads((run / "folds.json").read_text())["fold"] for run in args.run]
    if any(f != folds[0] for f in folds) or len(folds[0]) != len(y):
        raise SystemExit("The runs used different folds (folds.json) or other data; stack only runs of one split.")
    fold = np.asarray(folds[0])
    cv = int(fold.max()) + 1
    base = args.base.split(",")
    added = args.add.split(",")
    probas = {name: cached_oof(args.run, name, np.unique(y), cv) for name in [*base, *added]}
    for name, proba in probas.items():
        pred = proba.argmax(1)
        print(f"{name:<16} OOF F1-micro {f1_score(y, pred, average='micro'):.4f}  "
              f"F1-macro {f1_score(y, pred, average='macro'):.4f}", flush=True)
    text = [text_features(texts)]
    stack_score(" + ".join(base), {n: probas[n] for n in base}, text, y, fold, args.meta_trials)
    for add in added:
        stack_score(" + ".join([*base, add]), {n: probas[n] for n in [*base, add]}, text, y, fold, args.meta_trials)
        if args.swap:
            swapped = [add if n == args.swap else n for n in base]
            stack_score(" + ".join(swapped), {n: probas[n] for n in swapped}, text, y, fold, args.meta_trials)

if __name__ == "__main__":
    main()
