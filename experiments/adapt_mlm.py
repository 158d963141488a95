"""Issue 16, idea 2: domain-adaptive pretraining. Masked-language-model training of the bundled
MiniLM on the competition's questions (train and test, no labels: nothing leaks into a fold's
labels), written once as a model folder that every fold then fine-tunes as usual
(``[models.NAME.params] model = "<folder>"``, see experiments/dapt-transformer.toml).

all-MiniLM-L6-v2 ships without its masked-LM head, so the head's transform starts from random
weights (its decoder is tied to the word embeddings); the first ``--warmup`` share of the steps
warms the learning rate up so its early, noisy gradients barely move the encoder. The head is
applied to the masked positions only, which keeps a step about as cheap as a fine-tuning step.
Texts are prepared as the classifier prepares them (``normalize=True``) and cut at
``--max-length`` tokens; batches are length-bucketed like the classifier's.

    python experiments/adapt_mlm.py --data ../shared/data/kasut --out runs/minilm-dapt \\
        --epochs 1 --max-length 64

Prints the masked-token loss per tenth of the run and the time taken.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def masked_batch(ids: list[list[int]], tokenizer, rng, probability: float):
    """Pad a batch and mask it BERT's way: of the chosen non-special tokens, 80% become [MASK], 10% a
    random token, 10% stay. Returns input ids, attention mask, the chosen positions and their tokens."""
    import torch

    width = max(len(row) for row in ids)
    input_ids = np.full((len(ids), width), tokenizer.pad_token_id, dtype=np.int64)
    attention = np.zeros((len(ids), width), dtype=np.int64)
    for i, row in enumerate(ids):
        input_ids[i, :len(row)] = row
        attention[i, :len(row)] = 1
    special = np.isin(input_ids, tokenizer.all_special_ids) | (attention == 0)
    chosen = (rng.random(input_ids.shape) < probability) & ~special
    if not chosen.any():  # every batch teaches something (a batch of empty questions is skipped)
        rows, cols = np.nonzero(~special)
        if not len(rows):
            return None
        pick = rng.integers(len(rows))
        chosen[rows[pick], cols[pick]] = True
    targets = input_ids[chosen].copy()
    draw = rng.random(input_ids.shape)
    input_ids[chosen & (draw < 0.8)] = tokenizer.mask_token_id
    swap = chosen & (draw >= 0.8) & (draw < 0.9)
    input_ids[swap] = rng.integers(len(tokenizer), size=int(swap.sum()))
    return (torch.from_numpy(input_ids), torch.from_numpy(attention), torch.from_numpy(chosen),
            torch.from_numpy(targets))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="competition folder (train.csv, test.csv)")
    parser.add_argument("--out", required=True, help="model folder to write (a new or empty folder)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--warmup", type=float, default=0.1)
    parser.add_argument("--mask-probability", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch
    from transformers import AutoModel, AutoTokenizer, BertForMaskedLM, get_linear_schedule_with_warmup

    from mathcls.data import load_competition
    from mathcls.models._hf import bundled_model_path, seed_everything
    from mathcls.models._trainer import length_bucketed_batches
    from mathcls.text import prepare_text

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        sys.exit(f"{out} is not empty; pass a new folder with --out.")
    seed_everything(args.seed)
    comp = load_competition(args.data)
    texts = [prepare_text(t, True) for t in list(comp.train["Question"]) + list(comp.test["Question"])]
    folder = bundled_model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    ids = tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]
    model = BertForMaskedLM.from_pretrained(str(folder), local_files_only=True)
    model.train()

    rng = np.random.default_rng(args.seed)
    lengths = np.array([len(row) for row in ids])
    steps_per_epoch = math.ceil(len(ids) / args.batch_size)
    total = steps_per_epoch * args.epochs
    no_decay = ("bias", "LayerNorm.weight")
    params = list(model.named_parameters())
    optimizer = torch.optim.AdamW([
        {"params": [p for n, p in params if not n.endswith(no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in params if n.endswith(no_decay)], "weight_decay": 0.0},
    ], lr=args.learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(args.warmup * total), total)
    print(f"{len(texts)} questions, {lengths.mean():.1f} tokens each on average, {total} steps "
          f"of {args.batch_size}.", flush=True)

    t0, step, window = time.perf_counter(), 0, []
    for epoch in range(args.epochs):
        for batch in length_bucketed_batches(lengths, args.batch_size, rng):
            masked = masked_batch([ids[i] for i in batch], tokenizer, rng, args.mask_probability)
            if masked is None:
                continue
            input_ids, attention, chosen, targets = masked
            hidden = model.bert(input_ids=input_ids, attention_mask=attention).last_hidden_state
            logits = model.cls(hidden[chosen])  # the vocabulary projection for masked positions only
            loss = torch.nn.functional.cross_entropy(logits, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            window.append(float(loss.detach()))
            if step % max(1, total // 10) == 0 or step == total:
                print(f"epoch {epoch + 1} step {step}/{total}: masked-token loss {np.mean(window):.3f} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
                window = []

    out.mkdir(parents=True, exist_ok=True)
    # The encoder as the classifier loads it (AutoModel), its unused pooler kept from the original.
    encoder = AutoModel.from_pretrained(str(folder), local_files_only=True)
    encoder.load_state_dict(model.bert.state_dict(), strict=False)
    encoder.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    print(f"Wrote {out} after {time.perf_counter() - t0:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
