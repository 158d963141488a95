"""CPU benchmark of the neural families on the competition training data.

Stratified 80/20 split of train.csv; each model is fitted on the 80% with its default
parameters and scored on the 20%. Prints one row per model: validation F1-micro and F1-macro,
training seconds, training examples/s and prediction rows/s, and checks the budgets of issue 3.

Run it under the heavy-job lock, in the background (the full run takes about an hour on 2 cores)::

    nohup flock /tmp/mathcls-heavy.lock .venv/bin/python experiments/bench_neural.py \\
        --data ../shared/data/kasut --models frozen,setfit,transformer > /tmp/bench_neural.log 2>&1 &

Quick check on a sample: ``--sample 800 -p transformer.epochs=1``. LoRA instead of full
fine-tuning: ``-p transformer.lora_r=8 -p transformer.learning_rate=1e-3``. Peak memory is the
process's peak resident set (and the GPU's peak allocation on CUDA): run one model per process to
compare models.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Targets from issue 3: (minimum F1-micro, maximum training minutes).
TARGETS = {"transformer": (0.84, 25.0), "setfit": (0.82, 15.0), "frozen": (0.80, None)}


def build(name: str, overrides: dict):
    from mathcls.models.setfit import SetFitClassifier
    from mathcls.models.transformer import TransformerClassifier

    if name == "transformer":
        est = TransformerClassifier(output_dir=None, logging_dir=None)
    elif name == "setfit":
        est = SetFitClassifier()
    elif name == "frozen":
        est = SetFitClassifier(body_epochs=0)
    else:
        raise SystemExit(f"unknown model {name!r}; choose from transformer, setfit, frozen")
    return est.set_params(**overrides)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "kasut"), help="folder with train.csv")
    ap.add_argument("--models", default="frozen,setfit,transformer", help="comma-separated: transformer,setfit,frozen")
    ap.add_argument("--sample", type=int, default=None, help="use a stratified sample of N rows (quick runs)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--cache", default=None, help="MATHCLS_CACHE to use (default: a fresh temporary folder, so timings are cold)")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="MODEL.NAME=VALUE",
                    help="override a parameter, e.g. -p transformer.epochs=1 (repeatable)")
    ap.add_argument("--json", default=None, help="also write the results as JSON here")
    args = ap.parse_args(argv)

    cache = args.cache or tempfile.mkdtemp(prefix="mathcls-bench-cache-")
    os.environ["MATHCLS_CACHE"] = cache
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mathcls.env import quiet_openmp_threads

    quiet_openmp_threads()  # before torch loads OpenMP
    import torch
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split

    from mathcls.cli.common import parse_value
    from mathcls.data import LABEL, TEXT, load_train

    if args.threads:
        torch.set_num_threads(args.threads)
    overrides: dict[str, dict] = {}
    for item in args.param:
        key, _, value = item.partition("=")
        model, _, name = key.partition(".")
        overrides.setdefault(model, {})[name] = parse_value(value)

    df = load_train(Path(args.data) / "train.csv")
    if args.sample and args.sample < len(df):
        df, _ = train_test_split(df, train_size=args.sample, stratify=df[LABEL], random_state=args.seed)
    texts = df[TEXT].tolist()
    y = df[LABEL].to_numpy()
    tr_x, va_x, tr_y, va_y = train_test_split(texts, y, test_size=0.2, stratify=y, random_state=args.seed)
    print(f"data: {len(tr_x)} train / {len(va_x)} validation rows; torch threads {torch.get_num_threads()}; "
          f"cache {cache}", flush=True)

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    results = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        est = build(name, overrides.get(name, {}))
        print(f"\n== {name}: {json.dumps({k: v for k, v in est.get_params().items() if k != 'callbacks'}, default=str)}",
              flush=True)
        t0 = time.perf_counter()
        est.fit(tr_x, tr_y)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred = est.predict(va_x)
        pred_s = time.perf_counter() - t0
        if name == "transformer":
            train_rate = est.train_examples_per_second_
        else:
            train_rate = len(tr_x) / fit_s
        row = {
            "model": name, "val_f1_micro": float(f1_score(va_y, pred, average="micro")),
            "val_f1_macro": float(f1_score(va_y, pred, average="macro")), "train_seconds": fit_s,
            "train_examples_per_s": train_rate, "predict_rows_per_s": len(va_x) / pred_s,
            "n_train": len(tr_x), "n_val": len(va_x), "history": getattr(est, "history_", []),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None,
        }
        results.append(row)
        print(f"-> {name}: F1-micro {row['val_f1_micro']:.4f}, F1-macro {row['val_f1_macro']:.4f}, "
              f"train {fit_s:.0f}s, {train_rate:.1f} train ex/s, {row['predict_rows_per_s']:.1f} predict rows/s, "
              f"peak RSS {row['peak_rss_mb']:.0f} MB"
              + (f", peak GPU {row['peak_gpu_mb']:.0f} MB" if row["peak_gpu_mb"] is not None else ""), flush=True)

    print("\n| model | val F1-micro | val F1-macro | train s | train ex/s | predict rows/s | target |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        f1_min, minutes = TARGETS[r["model"]]
        ok = r["val_f1_micro"] >= f1_min and (minutes is None or r["train_seconds"] <= minutes * 60)
        target = f">= {f1_min} in {minutes:g} min" if minutes else f"~{f1_min + 0.01:.2f}"
        print(f"| {r['model']} | {r['val_f1_micro']:.4f} | {r['val_f1_macro']:.4f} | {r['train_seconds']:.0f} | "
              f"{r['train_examples_per_s']:.1f} | {r['predict_rows_per_s']:.1f} | {target}: {'met' if ok else 'NOT met'} |")
    print("train ex/s: transformer = examples per second of the training loop (all epochs); "
          "setfit/frozen = training rows / total fit seconds.")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
