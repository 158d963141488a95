"""The fine-tuned classifier as Hugging Face parts: a transformers model (an encoder such as MiniLM or
DeBERTa, or a decoder LLM such as Qwen2.5, Llama, Gemma or Mistral), optionally carrying a LoRA
adapter, a pooling rule and a linear head. How it is built for training, saved in Hugging Face's
layout, loaded back and run for prediction.

The neural payload of a model folder (and of every ``checkpoint-N``)::

    config.json, model.safetensors     the fine-tuned transformers model (save_pretrained); with LoRA
                                       instead adapter_config.json + adapter_model.safetensors (peft)
    tokenizer files                    AutoTokenizer.from_pretrained(folder)
    classifier.safetensors             the head: weight (n_classes, hidden_size) and bias (n_classes)
    classifier.json                    pooling, dropout, id2label, the adapter's base model, training history

so ``AutoModel.from_pretrained(folder)`` gives the fine-tuned model (base plus adapter for LoRA) and
the head is one small file beside it.
"""

from __future__ import annotations

import contextlib
import json
import re
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from ..errors import MathclsError, ModelFolderError, ParameterError
from ..logs import quiet
from .validation import Interval, Options

HEAD_WEIGHTS = "classifier.safetensors"
HEAD_INFO = "classifier.json"
HEAD_FORMAT = "mathcls-classification-head"
POOLINGS = ("auto", "mean", "cls", "last")
ATTENTION_KERNELS = ("auto", "eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention")


#: The constraint-table entries of the parameters that shape the module built here.
MODEL_CONSTRAINTS = {
    "max_length": [Interval(Integral, 1, None)], "pooling": [Options(POOLINGS)],
    "dropout": [Interval(Real, 0, 1, closed="left")], "body_dropout": [Interval(Real, 0, 1, closed="left"), None],
    "freeze_layers": [Interval(Integral, 0, None)], "attn_implementation": [Options(ATTENTION_KERNELS)],
}
_LEGACY_WEIGHTS = "model.safetensors"  # before the head had its own file: body.* and head.* in one file

_ClassifierModule = None


def module_class():
    """The torch module (transformers model + pooling + linear head), defined on first use so that
    importing this module does not import torch."""
    global _ClassifierModule
    if _ClassifierModule is not None:
        return _ClassifierModule
    from torch import nn

    from ._peft import is_quantized

    class ClassifierModule(nn.Module):
        def __init__(self, body, n_classes: int, pooling: str = "mean", dropout: float = 0.1):
            super().__init__()
            self.body = body
            self.pooling = pooling
            self.dropout = nn.Dropout(dropout)
            self.head = nn.Linear(body.config.hidden_size, n_classes)

        def forward(self, input_ids, attention_mask):
            hidden = self.body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            pooled = pool(hidden, attention_mask, self.pooling)
            # a bf16/fp16 or quantised base hands over half-precision states; the head stays fp32
            return self.head(self.dropout(pooled.to(self.head.weight.dtype))).float()

        def to(self, *args, **kwargs):
            # bitsandbytes weights stay on the GPU from_pretrained put them on; only the head moves
            if is_quantized(self.body):
                self.head.to(*args, **kwargs)
                return self
            return super().to(*args, **kwargs)

    _ClassifierModule = ClassifierModule
    return ClassifierModule


def pool(hidden, attention_mask, pooling: str):
    """One vector per row of token states ``(batch, tokens, hidden)``: the first token (``"cls"``),
    the last attended token (``"last"``) or the mean of the attended tokens (``"mean"``)."""
    import torch

    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "last":
        # the last attended position of each row, wherever the padding sits (left or right)
        positions = torch.arange(hidden.shape[1], device=hidden.device)
        last = (attention_mask.long() * positions).argmax(1)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def is_decoder(config) -> bool:
    """Whether a transformers config describes a decoder-only LM (Qwen2, Llama, Gemma, Mistral, ...):
    an architecture with a causal-LM head and no masked-LM head."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    kind = getattr(config, "model_type", None)
    return kind in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and kind not in MODEL_FOR_MASKED_LM_MAPPING_NAMES


def resolve_pooling(pooling: str, config) -> str:
    """``"auto"``: the last token for decoders (the only one that has seen the whole text), the mean
    of the token states for encoders."""
    if pooling != "auto":
        return pooling
    return "last" if is_decoder(config) else "mean"


def tokenizer_identity(folder: Path) -> str:
    """Identity of a tokenizer for the token cache: a hash of its files' contents."""
    import hashlib

    h = hashlib.sha256()
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "merges.txt",
                 "vocab.json", "spiece.model", "sentencepiece.bpe.model"):
        path = Path(folder) / name
        if path.is_file():
            h.update(name.encode())
            h.update(path.read_bytes())
    return "tokenizer:" + h.hexdigest()


# ---- loading the parts ------------------------------------------------------------------------
def _load_tokenizer(folder: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)


def dropout_overrides(folder: Path, p) -> dict:
    """The model config's dropout rates (``hidden_dropout_prob``, ``attention_probs_dropout_prob``,
    ``attention_dropout``, ``resid_pdrop``...) all set to ``p``, as ``from_pretrained`` keyword
    arguments; nothing when ``p`` is None (the rates the model was trained with)."""
    if p is None:
        return {}
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(folder), local_files_only=True).to_dict()
    return {key: float(p) for key, value in config.items()
            if isinstance(value, float) and re.search(r"dropout|pdrop", key) and "classifier" not in key}


def attention_kernel(choice: str) -> str | None:
    """The ``attn_implementation`` to load a model with: ``choice``, or the model's own default
    (``None``) for ``"auto"`` (:func:`training_attention` changes it while training on a CPU)."""
    return None if choice == "auto" else choice


@contextlib.contextmanager
def training_attention(body, choice: str, device_type: str):
    """Eager attention while training on a CPU under ``"auto"``, the model's default again after.

    PyTorch's fused CPU attention (SDPA) runs the backward pass several times slower than plain
    matrix products, while its forward pass is the faster one: training takes eager, prediction SDPA.
    """
    before = getattr(body.config, "_attn_implementation", None)
    switch = choice == "auto" and device_type == "cpu" and before not in (None, "eager")
    if switch:
        body.set_attn_implementation("eager")
    try:
        yield
    finally:
        if switch:
            body.set_attn_implementation(before)


def _load_body(folder: Path, dtype, quantization=None, device=None, dropout=None, attention=None):
    from transformers import AutoModel

    kwargs = {"local_files_only": True, "dtype": dtype}
    if attention is not None:
        kwargs["attn_implementation"] = attention
    try:
        kwargs.update(dropout_overrides(folder, dropout))
    except (OSError, ValueError):
        pass  # from_pretrained below says what is wrong with the folder
    if quantization is not None:
        from ._peft import quantization_config

        kwargs.update(quantization_config=quantization_config(quantization),
                      device_map={"": device.index if device is not None and device.index is not None else 0})
    try:
        return AutoModel.from_pretrained(str(folder), **kwargs)
    except (OSError, ValueError) as exc:
        raise MathclsError(f"Could not load a Hugging Face model from {folder} ({exc}); pass a model folder "
                           f"with config.json, weights and tokenizer files.") from None


def _base_dtype(lora: bool, device_type: str, mixed_precision: str):
    """Weights of the frozen base in the GPU's half precision under LoRA (half the memory, the same
    compute as autocast); everything else in fp32, which full fine-tuning needs for its updates."""
    import torch

    from ._hf import autocast_dtype

    if lora and device_type == "cuda" and mixed_precision in ("bf16", "fp16"):
        return autocast_dtype(mixed_precision)
    return torch.float32


def _prepare(body, tokenizer, classes=None):
    """Decoders often ship without a pad token: pad with end-of-sequence (padded positions are masked
    out anyway). No generation cache during training or scoring."""
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(body.config, "pad_token_id", None) is None and tokenizer.pad_token_id is not None:
        body.config.pad_token_id = tokenizer.pad_token_id
    if is_decoder(body.config):
        body.config.use_cache = False
    if classes is not None:
        body.config.id2label = {i: str(c) for i, c in enumerate(classes)}
        body.config.label2id = {str(c): i for i, c in enumerate(classes)}


def _enable_checkpointing(body) -> None:
    # non-reentrant checkpointing needs no input-gradient hook, also with a frozen LoRA base
    try:
        if hasattr(body, "activation_checkpointing_enable"):
            body.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:  # pragma: no cover - transformers < 5
            body.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    except ValueError:
        raise ParameterError(f"gradient_checkpointing=True is not supported by {type(body).__name__}; "
                             f"leave it False for this model.") from None


def build(est, folder: Path, classes):
    """The tokenizer and the module for training ``est`` (its device and precision already chosen),
    from the pretrained model in ``folder``: pad token, quantisation, checkpointing, LoRA, head."""
    import torch

    from ._peft import apply_lora, base_reference, prepare_quantized

    lora = est.lora_r is not None
    tokenizer = _load_tokenizer(folder)
    body = _load_body(folder, _base_dtype(lora, est.device_.type, est.mixed_precision_), est.quantization,
                      est.device_, est.body_dropout, attention_kernel(est.attn_implementation))
    limit = getattr(body.config, "max_position_embeddings", None)
    if limit and est.max_length > limit:
        raise ParameterError(f"max_length={est.max_length} exceeds the model's {limit} positions; use at most {limit}.")
    _prepare(body, tokenizer, classes)
    if est.quantization is not None:
        body = prepare_quantized(body)
    if est.gradient_checkpointing:
        _enable_checkpointing(body)
    if lora:
        body = apply_lora(body, est.lora_r, est.lora_alpha, est.lora_dropout, est.lora_target_modules)
    torch.manual_seed(int(est.seed or 0))
    module = module_class()(body, len(classes), resolve_pooling(est.pooling, body.config), est.dropout)
    freeze_bottom(module, est.freeze_layers)
    est.base_model_ = base_reference(est.model, folder) if lora else None
    return tokenizer, module


_LAYER_INDEX = re.compile(r"\.(?:layer|layers|h|block|blocks)\.(\d+)\.")


def layer_depths(names) -> dict[str, int | None]:
    """Depth of each parameter in the stack: 0 for the embeddings, ``k + 1`` for the numbered layer
    ``k`` (found by its index in the name: ``encoder.layer.3.``, ``layers.3.``, also inside a
    LoRA-wrapped base), ``None`` for the head and whatever sits above the layers (final norm, pooler)."""
    depth = {}
    for name in names:
        found = _LAYER_INDEX.search(name)
        depth[name] = int(found.group(1)) + 1 if found else (0 if "embed" in name.lower() else None)
    return depth


def freeze_bottom(module, n_layers: int) -> None:
    """Stop training the embeddings and the lowest ``n_layers`` layers of ``module`` (0: freeze
    nothing).

    Backpropagation then ends at the first trained layer: the frozen layers' backward pass (two
    thirds of their cost) is skipped, and their weights need neither gradients nor AdamW state.
    """
    depths = layer_depths(name for name, _ in module.named_parameters())
    n_model = max((d for d in depths.values() if d is not None), default=0)
    if n_layers > n_model:
        raise ParameterError(f"freeze_layers={n_layers} exceeds the model's {n_model} layers; use at most {n_model}.")
    if n_layers:
        for name, param in module.named_parameters():
            if depths[name] is not None and depths[name] <= n_layers:
                param.requires_grad_(False)


def trainable_state(module) -> dict:
    """A CPU copy of the parameters that train (all of them, or the adapter and head under LoRA), for
    keeping the best epoch; restore with ``module.load_state_dict(state, strict=False)``."""
    return {name: p.detach().to("cpu", copy=True) for name, p in module.named_parameters() if p.requires_grad}


# ---- saving and loading -----------------------------------------------------------------------
def save(est, folder: Path) -> None:
    """Write ``est``'s neural payload into ``folder`` in the layout of the module docstring."""
    from safetensors.torch import save_file

    from ._peft import hub_name, is_peft_model

    folder = Path(folder)
    module = est.model_
    body = module.body
    adapter = None
    if is_peft_model(body):
        base = est.base_model_
        config = body.peft_config["default"]
        config.base_model_name_or_path = hub_name(base)
        config.revision = base.get("revision")
        # never save the (frozen, unresized) embeddings: that would copy the base
        body.save_pretrained(str(folder), save_embedding_layers=False)
        targets = config.target_modules
        adapter = {"type": "lora", "r": config.r, "alpha": config.lora_alpha, "dropout": config.lora_dropout,
                   "target_modules": sorted(targets) if isinstance(targets, (set, list, tuple)) else targets,
                   "quantization": est.quantization, "base": base}
    else:
        body.save_pretrained(str(folder))
    est.tokenizer_.save_pretrained(str(folder))
    head = module.head
    save_file({"weight": head.weight.detach().float().cpu().contiguous(),
               "bias": head.bias.detach().float().cpu().contiguous()}, str(folder / HEAD_WEIGHTS),
              metadata={"format": "pt"})
    from ..persist import encode_classes

    info = {
        "format": HEAD_FORMAT, "format_version": 1, "n_classes": len(est.classes_),
        "classes": encode_classes(est.classes_)[0],
        "hidden_size": int(head.in_features), "pooling": module.pooling, "dropout": float(module.dropout.p),
        "id2label": {str(i): str(c) for i, c in enumerate(est.classes_)}, "adapter": adapter,
        "tokenizer_identity": est.tokenizer_identity_, "history": getattr(est, "history_", []),
        "best_epoch": getattr(est, "best_epoch_", None), "mixed_precision": getattr(est, "mixed_precision_", "no"),
    }
    (folder / HEAD_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def load(est, folder: Path) -> None:
    """Rebuild ``est``'s fitted state from a folder written by :func:`save` (or by mathcls before the
    head had its own file). A LoRA folder loads its base first, quantised as trained when on a GPU."""
    import torch

    from ._hf import resolve_precision, select_device

    folder = Path(folder)
    if not (folder / HEAD_INFO).is_file():
        raise ModelFolderError(f"{folder} is missing {HEAD_INFO}; the model folder is incomplete, retrain it.")
    info = json.loads((folder / HEAD_INFO).read_text(encoding="utf-8"))
    from ..persist import check_payload_classes

    # the manifest's class order must be the head's: a reordered list would relabel every prediction
    check_payload_classes(folder, est.classes_, info.get("classes"), HEAD_INFO)
    check_payload_classes(folder, np.arange(len(est.classes_)), np.arange(int(info["n_classes"])), HEAD_INFO)
    device = torch.device(select_device(est.device))
    # Predict in the precision this machine would train in ("auto": bf16 on bf16 CPUs and GPUs)
    try:
        est.mixed_precision_ = resolve_precision(est.precision, device.type, cpu_bf16=True)
    except MathclsError:  # e.g. an fp16 model loaded on a CPU
        est.mixed_precision_ = "no"
    n_classes, pooling, dropout = int(info["n_classes"]), info.get("pooling", "mean"), float(info.get("dropout", 0.1))
    est.base_model_ = None
    if (folder / HEAD_WEIGHTS).is_file():
        body = _load_saved_body(est, folder, info.get("adapter"), device)
        module = module_class()(body, n_classes, pooling, dropout)
        from safetensors.torch import load_file

        module.head.load_state_dict(load_file(str(folder / HEAD_WEIGHTS)))
    else:
        module = _load_legacy(folder, n_classes, pooling, dropout,
                              attention_kernel(getattr(est, "attn_implementation", "auto")))
    est.tokenizer_ = _load_tokenizer(folder)
    _prepare(module.body, est.tokenizer_)
    est.model_ = module.to(device).eval()
    est.device_ = device
    est.tokenizer_identity_ = info.get("tokenizer_identity")
    est.history_ = info.get("history", [])
    est.best_epoch_ = info.get("best_epoch")
    est.checkpoints_ = []


def _load_saved_body(est, folder: Path, adapter: dict | None, device):
    import torch

    attention = attention_kernel(getattr(est, "attn_implementation", "auto"))

    if adapter is None:
        for name in ("config.json", "model.safetensors"):
            if not (folder / name).is_file() and not (name == "model.safetensors" and _sharded(folder)):
                raise ModelFolderError(f"{folder} is missing {name}; the model folder is incomplete, retrain it.")
        return _load_body(folder, torch.float32, attention=attention)
    from ._peft import base_reference, quiet_peft, resolve_base

    if not (folder / "adapter_config.json").is_file():
        raise ModelFolderError(f"{folder} is missing adapter_config.json; the model folder is incomplete, retrain it.")
    base = resolve_base(est.model, adapter.get("base"))
    quantization = adapter.get("quantization") if est.quantization is not None and device.type == "cuda" else None
    body = _load_body(base, _base_dtype(True, device.type, est.mixed_precision_), quantization, device,
                      attention=attention)
    from peft import PeftModel

    with quiet_peft():
        body = PeftModel.from_pretrained(body, str(folder))
    est.base_model_ = base_reference(est.model, base)
    return body


def _sharded(folder: Path) -> bool:
    return (folder / "model.safetensors.index.json").is_file()


def _load_legacy(folder: Path, n_classes: int, pooling: str, dropout: float, attention=None):
    from safetensors.torch import load_model as load_safetensors
    from transformers import AutoConfig, AutoModel

    if not (folder / _LEGACY_WEIGHTS).is_file() or not (folder / "config.json").is_file():
        raise ModelFolderError(f"{folder} is missing {HEAD_WEIGHTS}; the model folder is incomplete, retrain it.")
    body = AutoModel.from_config(AutoConfig.from_pretrained(str(folder), local_files_only=True),
                                 **({"attn_implementation": attention} if attention else {}))
    module = module_class()(body, n_classes, pooling, dropout)
    load_safetensors(module, str(folder / _LEGACY_WEIGHTS), device="cpu")
    return module


# ---- prediction and merging ----------------------------------------------------------------------
def collate(tokenizer, ids_list, device):
    """Token-id rows padded to the longest row on the tokenizer's padding side (left for most
    decoders): ``(input_ids, attention_mask)`` tensors on ``device``."""
    from transformers import DataCollatorWithPadding

    batch = DataCollatorWithPadding(tokenizer, return_tensors="pt")(
        [{"input_ids": np.asarray(ids, dtype=np.int64)} for ids in ids_list])
    return batch["input_ids"].to(device), batch["attention_mask"].to(device)


def predict_logits(module, ids, tokenizer, batch_size: int, mixed_precision: str, n_classes: int,
                   progress: bool = False) -> np.ndarray:
    """Logits of token-id rows: longest first in batches padded to their longest member, under
    ``torch.inference_mode`` and the training precision's autocast, returned in input order."""
    import torch
    from tqdm.auto import tqdm

    from ._hf import autocast_dtype

    was_training = module.training
    module.eval()
    device = next(module.parameters()).device
    dtype = autocast_dtype(mixed_precision)
    if device.type not in ("cuda", "cpu") or (device.type == "cpu" and dtype is not torch.bfloat16):
        dtype = None  # CPU autocast is bf16 only
    order = np.argsort([-len(x) for x in ids], kind="stable")
    out = np.zeros((len(ids), n_classes), dtype=np.float32)
    show = progress and len(ids) > 4 * batch_size
    with torch.inference_mode():
        for start in tqdm(range(0, len(order), batch_size), desc="predict", unit="batch", disable=not show or quiet(),
                          leave=False):
            rows = order[start:start + batch_size]
            input_ids, mask = collate(tokenizer, [ids[i] for i in rows], device)
            with torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None):
                logits = module(input_ids, mask)
            out[rows] = logits.float().cpu().numpy()
    module.train(was_training)
    return out


def merge_adapter(est) -> None:
    """Fold ``est``'s LoRA adapter into its model's weights in place (see ``merge_adapter``)."""
    from ._peft import is_peft_model, merge

    body = est.model_.body
    if not is_peft_model(body):
        raise MathclsError("This model has no LoRA adapter to merge (it was trained with lora_r=None).")
    est.model_.body = merge(body)
    est.base_model_ = None


def merge_lora(folder, out) -> Path:
    """Merge the LoRA adapter of a saved model folder into its base and write a plain model folder.

    ``out`` is a complete model folder (``mathcls predict -m out``) whose ``config.json`` and
    ``model.safetensors`` hold the merged transformers model (``AutoModel.from_pretrained(out)``),
    with the head beside it. The base is loaded unquantised for the merge, even when the adapter was
    trained on a 4-bit or 8-bit base.
    """
    from ..persist import load_model, read_manifest, save_model

    manifest = read_manifest(folder)
    est = load_model(folder, params={"quantization": None})
    merge_adapter(est)
    return save_model(est, out, train_sha256=manifest.get("train_sha256"), extra=manifest.get("extra"))
