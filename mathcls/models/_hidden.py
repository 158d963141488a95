"""Frozen features from any transformers model: the token states after one of its layers, pooled
into one vector per text (the mean of the tokens, or the last token for a decoder).

Middle layers of a decoder LLM often separate topics better than its last one, which is shaped
for predicting the next token. Only the layers up to the deepest one asked for run: a forward hook
records each chosen layer's output and stops the pass there. Texts run longest first, in batches
padded to their longest member. The cached entry point is :func:`mathcls.embeddings.encode` with
``layer=``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import ParameterError

HIDDEN_POOLINGS = ("mean", "last")


class _Stop(Exception):
    """Raised by the hook of the deepest layer asked for: the rest of the model need not run."""


@lru_cache(maxsize=2)
def load_frozen(path: str, device: str):
    """The tokenizer and the transformers base model in ``path`` (eval mode, on ``device``), loaded
    once per process."""
    from transformers import AutoModel, AutoTokenizer

    from ._hfmodel import _prepare

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True)
    _prepare(model, tokenizer)
    return tokenizer, model.to(device).eval()


def layer_list(model):
    """The model's stack of transformer blocks: its ``ModuleList`` with one entry per hidden layer."""
    from torch import nn

    n = int(getattr(model.config, "num_hidden_layers", 0) or 0)
    for module in model.modules():
        if isinstance(module, nn.ModuleList) and len(module) == n:
            return module
    raise ParameterError(f"Cannot find the {n} transformer layers of {type(model).__name__}; use layer=None "
                         "(the model's sentence-transformers pipeline) for this model.")


def layer_index(layer: int, n_layers: int) -> int:
    """``layer`` as a 0-based block index: 1..n counts from the first block, -1..-n from the last."""
    if not (1 <= layer <= n_layers or -n_layers <= layer <= -1):
        raise ParameterError(f"layer={layer} is outside the model's {n_layers} layers; use 1..{n_layers} "
                             f"(or -1 for the last).")
    return layer - 1 if layer > 0 else n_layers + layer


def pooled_states(texts: list[str], tokenizer, model, layers, pooling: str, max_length: int, batch_size: int,
                  bf16: bool = False) -> dict[int, np.ndarray]:
    """``{layer: float32 array (n_texts, hidden_size)}``: each layer's output pooled per text.

    ``bf16`` runs the pass under CPU/GPU bf16 autocast (native bf16 CPUs run it about twice as fast).
    """
    import torch

    from ._hfmodel import collate, pool

    blocks = layer_list(model)
    index = {layer: layer_index(int(layer), len(blocks)) for layer in layers}
    deepest = max(index.values())
    device = next(model.parameters()).device
    captured: dict[int, object] = {}

    def hook_for(i):
        def hook(_module, _inputs, output):
            captured[i] = output[0] if isinstance(output, tuple) else output
            if i == deepest:
                raise _Stop

        return hook

    handles = [blocks[i].register_forward_hook(hook_for(i)) for i in set(index.values())]
    enc = tokenizer(list(texts), truncation=True, max_length=int(max_length), add_special_tokens=True)
    ids = enc["input_ids"]
    order = np.argsort([-len(x) for x in ids], kind="stable")
    out = {layer: np.zeros((len(ids), model.config.hidden_size), dtype=np.float32) for layer in layers}
    try:
        with torch.inference_mode():
            for start in range(0, len(order), int(batch_size)):
                rows = order[start:start + int(batch_size)]
                input_ids, mask = collate(tokenizer, [ids[i] for i in rows], device)
                captured.clear()
                with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
                    try:
                        model(input_ids=input_ids, attention_mask=mask)
                    except _Stop:
                        pass
                for layer, i in index.items():
                    out[layer][rows] = pool(captured[i].float(), mask, pooling).cpu().numpy()
    finally:
        for h in handles:
            h.remove()
    return out
