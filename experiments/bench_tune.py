"""Benchmark: does `mathcls tune` beat the defaults? 5-fold CV F1-micro, defaults vs tuned.

    python experiments/bench_tune.py --data ../shared/data/kasut --out runs/tune-tfidf --n-trials 30

Tops the study in OUT up to N complete trials (resuming it if it exists; the same as
`mathcls tune tfidf --data DATA --out OUT --n-trials ...`), then prints the CV F1-micro of the
defaults (the study's first trial: the defaults on the same folds) and of the best trial, per fold
and mean, and the best parameters.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from mathcls.tuning.run import tune


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default="runs/tune-tfidf")
    ap.add_argument("--model", default="tfidf")
    ap.add_argument("--n-trials", type=int, default=30, help="Total complete trials wanted in the study.")
    ap.add_argument("--cv", type=int, default=5)
    args = ap.parse_args()

    import optuna

    from mathcls.tuning.storage import open_storage

    journal = Path(args.out) / "study.journal"
    done = 0
    if journal.exists():
        storage = open_storage(None, args.out).storage
        for summary in optuna.get_all_study_summaries(storage):
            study = optuna.load_study(study_name=summary.study_name, storage=storage)
            done = len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
    result = tune(args.model, args.data, args.out, n_trials=max(0, args.n_trials - done), cv=args.cv,
                  progress=False)
    study = optuna.load_study(study_name=result.study_name, storage=open_storage(None, args.out).storage)
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    defaults = next(t for t in trials if t.user_attrs.get("note") == "defaults")
    best = study.best_trial
    d, b = np.array(defaults.user_attrs["fold_scores"]), np.array(best.user_attrs["fold_scores"])
    print(f"{'':<26} {'mean':>7}  folds")
    print(f"{f'defaults (trial {defaults.number})':<26} {d.mean():.4f}  {np.round(d, 4).tolist()}")
    print(f"{f'tuned (trial {best.number} of {len(trials)})':<26} {b.mean():.4f}  {np.round(b, 4).tolist()}")
    print(f"gain {b.mean() - d.mean():+.4f}; better on {int((b > d).sum())}/{len(b)} folds")
    print(json.dumps(json.loads((Path(args.out) / "best_params.json").read_text())["params"]))


if __name__ == "__main__":
    main()
