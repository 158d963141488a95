"""Prediction speed of TransformerClassifier on CPU: its length-sorted, ``torch.inference_mode`` path
against plain batches padded to ``max_length`` in the input order.

    python experiments/bench_predict.py --data ../shared/data/kasut              # tiny Qwen2 + LoRA
    python experiments/bench_predict.py --data ../shared/data/kasut --model minilm

The tiny model is the one the tests build from a config (a 2-layer Qwen2, hidden size 32, the bundled
MiniLM's tokenizer), with a rank-8 LoRA adapter; ``--model minilm`` uses the bundled MiniLM in full.
Each model is fitted for one epoch on 64 rows (weights do not change the speed), then predicts the
questions of test.csv (or generated questions without --data). Prints rows/s of both paths.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def tiny_qwen2(folder: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2Model

    from mathcls.models._hf import bundled_model_path

    tokenizer = AutoTokenizer.from_pretrained(str(bundled_model_path()))
    tokenizer.pad_token, tokenizer.eos_token = None, "[SEP]"
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, intermediate_size=64, max_position_embeddings=512)
    Qwen2Model(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def plain_rows_per_s(est, texts, batch_size: int) -> float:
    """Input order, every batch padded to max_length, under torch.no_grad: the naive path."""
    import torch

    from mathcls.text import prepare_text

    tok, model = est.tokenizer_, est.model_
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            chunk = [prepare_text(t, est.normalize) for t in texts[i:i + batch_size]]
            enc = tok(chunk, padding="max_length", truncation=True, max_length=est.max_length, return_tensors="pt")
            model(enc["input_ids"], enc["attention_mask"])
    return len(texts) / (time.perf_counter() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="competition folder (test.csv questions); default: generated")
    ap.add_argument("--model", choices=["tiny", "minilm"], default="tiny")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--rows", type=int, default=None, help="predict only the first N questions")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["MATHCLS_CACHE"] = tempfile.mkdtemp(prefix="mathcls-bench-predict-")  # cold tokenisation
    import torch

    from mathcls.generate import generate
    from mathcls.models.transformer import TransformerClassifier

    if args.data:
        import pandas as pd

        texts = pd.read_csv(Path(args.data) / "test.csv")["Question"].astype(str).tolist()
    else:
        texts = generate(per_class=200, seed=0)["Question"].tolist()
    texts = texts[:args.rows] if args.rows else texts
    train = generate(per_class=8, seed=1)
    common = dict(epochs=1, max_length=args.max_length, progress_bar=False, validation_fraction=0, precision="fp32")
    if args.model == "tiny":
        folder = tiny_qwen2(Path(tempfile.mkdtemp(prefix="tiny-qwen2-")))
        est = TransformerClassifier(model=str(folder), lora_r=8, **common)
    else:
        est = TransformerClassifier(**common)
    est.fit(train["Question"].tolist(), train["label"].to_numpy())
    print(f"{args.model}: {len(texts)} questions, max_length {args.max_length}, torch threads {torch.get_num_threads()}")
    t0 = time.perf_counter()
    est.predict_proba(texts)
    fast = len(texts) / (time.perf_counter() - t0)
    plain = plain_rows_per_s(est, texts, int(est.predict_batch_size))
    print(f"mathcls predict (length-sorted, inference_mode, tokenising included): {fast:.0f} rows/s")
    print(f"plain batches padded to max_length, input order, no_grad:            {plain:.0f} rows/s")
    print(f"speed-up: {fast / plain:.2f}x")


if __name__ == "__main__":
    main()
