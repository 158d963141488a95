"""The product benchmark: `mathcls run` with a config on the competition data, plus the plain
baseline on the same folds, printed as one table.

    python experiments/benchmark.py --data ../shared/data/kasut --config mathcls/configs/cpu.toml --out runs/bench-cpu

Columns: out-of-fold (CV) F1-micro and F1-macro on the shared 5 folds, wall seconds of fitting,
peak resident memory of the process during that model's stage, prediction rows/s. The last lines
give the whole run's wall time and peak memory. A rerun with the same --out reuses every finished
stage (delete the folder, and MATHCLS_CACHE for the embeddings, for a cold timing).

    python experiments/benchmark.py --data ../shared/data/kasut --time-limits 10m,20m,40m,60m,120m

runs the pipeline once per time limit, each cold (a fresh run folder and a fresh MATHCLS_CACHE,
so the machine probe and the embeddings count too), and prints per limit the wall time, the stack's
CV F1-micro and the models that finished with their settings.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import numpy as np
import psutil


class PeakMemory:
    """Samples this process's resident memory (with children) in a thread; ``peak_mb`` since ``reset``."""

    def __init__(self, every=0.2):
        self.every = every
        self.proc = psutil.Process()
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self):
        total = self.proc.memory_info().rss
        for child in self.proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, self._rss())
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def reset(self):
        self._peak = self._rss()

    @property
    def peak_mb(self):
        return max(self._peak, self._rss()) / 2**20


def baseline(texts, y, fold):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import make_pipeline

    from mathcls.folds import SharedFolds

    pred = np.empty_like(y)
    texts = np.asarray(texts, dtype=object)
    fit_s = pred_s = 0.0
    for tr, va in SharedFolds(fold).split():
        t0 = time.perf_counter()
        model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)).fit(list(texts[tr]), y[tr])
        t1 = time.perf_counter()
        pred[va] = model.predict(list(texts[va]))
        pred_s += time.perf_counter() - t1
        fit_s += t1 - t0
    return {"f1_micro": f1_score(y, pred, average="micro"), "f1_macro": f1_score(y, pred, average="macro"),
            "fit_seconds": fit_s, "predict_rows_per_s": len(y) / pred_s}


def time_limits(args):
    """One cold `mathcls run` per limit: wall time, stack CV F1-micro, the models that finished."""
    import os
    import shutil

    from mathcls.errors import MathclsError
    from mathcls.models._hf import cpu_supports_bf16
    from mathcls.pipeline import build, time_budget
    from mathcls.plan import format_duration, parse_duration
    from mathcls.plan.probe import cpu_model

    limits = [(text.strip(), parse_duration(text.strip())) for text in args.time_limits.split(",") if text.strip()]
    rows = []
    for text, seconds in limits:
        out = Path(args.out) / f"limit-{text}"
        shutil.rmtree(out, ignore_errors=True)
        os.environ["MATHCLS_CACHE"] = str(out / "mathcls-cache")  # cold: no probe, no embeddings
        budget = time_budget(args.config, text)
        t0 = time.perf_counter()
        try:
            with budget.signals():
                result = build(args.data, out / "run", config=args.config, budget=budget)
        except MathclsError as exc:  # e.g. no model fits: the row says so and the next limit runs
            wall = time.perf_counter() - t0
            rows.append((text, seconds, wall, float("nan"), [f"none: {exc}"]))
            print(f"\n{text}: {format_duration(wall)} wall, {exc}\n")
            continue
        wall = time.perf_counter() - t0
        board = result.leaderboard.set_index("model")
        finished = [f"{name} ({board.loc[name, 'settings']})" for name in board.index
                    if name != "stack" and board.loc[name, "status"] == "finished"]
        rows.append((text, seconds, wall, board.loc["stack", "oof_f1_micro"], finished))
        print(f"\n{text}: {format_duration(wall)} wall ({wall / seconds:.0%} of the limit), "
              f"stack CV F1-micro {board.loc['stack', 'oof_f1_micro']:.4f}, models: {', '.join(finished)}\n")
    print(f"\nCPU: {cpu_model()}, {os.cpu_count()} cores, {'native' if cpu_supports_bf16() else 'no native'} bf16")
    print(f"{'limit':>7}{'wall':>11}{'of limit':>10}{'stack F1':>10}  models")
    for text, seconds, wall, f1, finished in rows:
        print(f"{text:>7}{format_duration(wall):>11}{wall / seconds:>10.0%}{f1:>10.4f}  {', '.join(finished)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/kasut")
    ap.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "mathcls" / "configs" / "cpu.toml"))
    ap.add_argument("--out", default="runs/bench-cpu")
    ap.add_argument("--time-limits", default=None, metavar="10m,20m,...",
                    help="Run the pipeline cold once per time limit instead of the table of one run.")
    args = ap.parse_args()
    if args.time_limits:
        return time_limits(args)

    from mathcls.data import load_competition
    from mathcls.folds import load_or_make_folds
    from mathcls.pipeline import build, resolve_config

    cfg = resolve_config(args.config)
    comp = load_competition(args.data)
    y = comp.train["label"].to_numpy()
    texts = comp.train["Question"].tolist()
    out = Path(args.out)
    fold = load_or_make_folds(out, y, int(cfg["cv"]), int(cfg["seed"]), comp.data_hash)

    with PeakMemory() as mem:
        t0 = time.perf_counter()
        base = baseline(texts, y, fold)
        base["seconds"], base["peak_mb"] = time.perf_counter() - t0, mem.peak_mb
        mem.reset()
        t0 = time.perf_counter()
        result = build(args.data, out, config=args.config)
        run_seconds, run_peak = time.perf_counter() - t0, mem.peak_mb

    print(f"\n{len(texts)} rows, {cfg['cv']}-fold CV (seed {cfg['seed']}), config {args.config}")
    header = f"{'model':<44}{'F1-micro':>9}{'F1-macro':>9}{'fit s':>9}{'pred rows/s':>12}"
    print(header + f"{'peak MB':>9}")
    print("-" * (len(header) + 9))
    print(f"{'TfidfVectorizer()+LogisticRegression()':<44}{base['f1_micro']:>9.4f}{base['f1_macro']:>9.4f}"
          f"{base['fit_seconds']:>9.0f}{base['predict_rows_per_s']:>12.0f}{base['peak_mb']:>9.0f}")
    for _, row in result.leaderboard.iterrows():
        rate = row["predict_rows_per_s"]
        rate = f"{rate:>12.0f}" if rate == rate and rate is not None else f"{'':>12}"
        print(f"{row['model']:<44}{row['oof_f1_micro']:>9.4f}{row['oof_f1_macro']:>9.4f}{row['fit_seconds']:>9.0f}"
              f"{rate}{'':>9}")
    print(f"\nWhole `mathcls run`: {run_seconds / 60:.1f} min wall, peak memory {run_peak:.0f} MB "
          f"(stack OOF F1-micro {result.leaderboard.set_index('model').loc['stack', 'oof_f1_micro']:.4f}).")


if __name__ == "__main__":
    main()
