"""The on-disk embedding and tokenisation cache, and :func:`encode` (cached sentence embeddings).

Every text is stored under the sha256 of ``(model identity, max_length, text mode, kind, text)``
(the text mode is :func:`mathcls.text.text_mode_key` of the ``normalize`` parameter), so
cross-validation folds, tuning trials and the frozen-embedding head never encode or tokenise the
same text twice, in this process or the next. The cache lives under
``mathcls.env.cache_dir()`` (``MATHCLS_CACHE``, default ``~/.cache/mathcls``)::

    <cache>/embeddings/<kind>-<namespace hash>/info.json          what the namespace holds
    <cache>/embeddings/<kind>-<namespace hash>/shard-*.npz        immutable shards (no pickle)

A shard holds ``keys`` (hex digests) and either ``values`` (one float32 row per key, for
embeddings) or ``lengths`` + ``flat`` (ragged int32 token ids). Shards are written to a temporary
name and renamed, so concurrent processes only ever add complete shards; deleting the folder is
always safe.

>>> from mathcls.embeddings import encode
>>> X = encode(["Solve x + 1 = 2.", "Find the area of the circle."])   # doctest: +SKIP
>>> X.shape                                                             # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from functools import lru_cache
from pathlib import Path

import numpy as np

from .atomic import atomic_path, write_text
from .env import cache_dir
from .text import prepare_text, text_mode_key

__all__ = ["encode", "encode_layers", "tokenize", "cache_info", "reset_cache_info", "embedding_cache_dir"]

_STATS = {"hits": 0, "misses": 0}
_LOCK = threading.Lock()
# folder -> {"shards": set of loaded shard names, "index": {key: value}}
_MEMO: dict[str, dict] = {}


def cache_info() -> dict:
    """Counts of texts served from the cache (``hits``) and computed (``misses``) in this process."""
    return dict(_STATS)


def reset_cache_info() -> None:
    _STATS["hits"] = 0
    _STATS["misses"] = 0


def embedding_cache_dir() -> Path:
    """``<MATHCLS_CACHE>/embeddings``."""
    return cache_dir() / "embeddings"


def text_key(identity: str, max_length, normalize, kind: str, text: str) -> str:
    """The cache key of one text: sha256 of model identity, max_length, text mode, kind and text."""
    h = hashlib.sha256()
    h.update(f"{identity}\x00{max_length}\x00{text_mode_key(normalize)}\x00{kind}\x00".encode())
    h.update(text.encode("utf-8", errors="surrogatepass"))
    return h.hexdigest()


class ShardStore:
    """A folder of immutable ``.npz`` shards mapping text keys to arrays (dense rows or ragged ids)."""

    def __init__(self, kind: str, identity: str, max_length, normalize):
        self.kind = kind
        self.identity = identity
        self.max_length = max_length
        self.normalize = normalize if isinstance(normalize, str) else bool(normalize)
        # "0"/"1" as before text modes existed, so caches written then stay valid.
        ns = hashlib.sha256(f"{kind}\x00{identity}\x00{max_length}\x00{text_mode_key(normalize)}".encode())
        ns = ns.hexdigest()[:20]
        self.folder = embedding_cache_dir() / f"{kind}-{ns}"

    def key(self, text: str) -> str:
        return text_key(self.identity, self.max_length, self.normalize, self.kind, text)

    def _memo(self) -> dict:
        with _LOCK:
            memo = _MEMO.setdefault(str(self.folder), {"shards": set(), "index": {}})
        if self.folder.is_dir():
            for shard in sorted(self.folder.glob("shard-*.npz")):
                if shard.name in memo["shards"]:
                    continue
                try:
                    entries = _read_shard(shard)
                except (OSError, ValueError, KeyError):
                    continue  # a damaged shard is ignored; its texts are simply recomputed
                memo["index"].update(entries)
                memo["shards"].add(shard.name)
        return memo

    def get_many(self, keys: list[str]) -> dict:
        index = self._memo()["index"]
        return {k: index[k] for k in keys if k in index}

    def put_many(self, keys: list[str], values: list) -> None:
        if not keys:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        info = self.folder / "info.json"
        if not info.exists():
            write_text(info, json.dumps({"kind": self.kind, "identity": self.identity, "max_length": self.max_length,
                                         "normalize": self.normalize}, indent=2) + "\n")
        arrays = {"keys": np.asarray(keys, dtype="S64")}
        if self.kind == "tokens":
            arrays["lengths"] = np.asarray([len(v) for v in values], dtype=np.int64)
            arrays["flat"] = (np.concatenate([np.asarray(v, dtype=np.int32) for v in values])
                              if values else np.empty(0, np.int32))
        else:
            arrays["values"] = np.asarray(np.stack(values), dtype=np.float32)
        name = f"shard-{uuid.uuid4().hex}.npz"
        with atomic_path(self.folder / name) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        memo = self._memo()
        memo["index"].update(zip(keys, values))


def _read_shard(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        keys = [k.decode() for k in data["keys"]]
        if "flat" in data:
            lengths = data["lengths"]
            flat = data["flat"]
            bounds = np.concatenate([[0], np.cumsum(lengths)])
            values = [flat[bounds[i]:bounds[i + 1]] for i in range(len(keys))]
        else:
            matrix = data["values"]
            values = list(matrix)
    return dict(zip(keys, values))


def _cached_map(store: ShardStore | None, texts: list[str], compute) -> list:
    """Values for ``texts``: from the store where present, else ``compute(missing unique texts)``."""
    if store is None:
        unique = list(dict.fromkeys(texts))
        _STATS["misses"] += len(unique)
        values = dict(zip(unique, compute(unique)))
        return [values[t] for t in texts]
    keys = [store.key(t) for t in texts]
    found = store.get_many(list(dict.fromkeys(keys)))
    missing: dict[str, str] = {}
    for k, t in zip(keys, texts):
        if k not in found and k not in missing:
            missing[k] = t
    _STATS["hits"] += len(found)
    _STATS["misses"] += len(missing)
    if missing:
        new_values = compute(list(missing.values()))
        store.put_many(list(missing), list(new_values))
        found.update(zip(missing, new_values))
    return [found[k] for k in keys]


@lru_cache(maxsize=2)
def _sentence_transformer(path: str, device: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device=device, local_files_only=True)


def load_sentence_transformer(model=None, device=None):
    """Load (once per process) the sentence-transformer at ``model`` (default: the bundled MiniLM)."""
    from .models._hf import resolve_model, select_device

    return _sentence_transformer(str(resolve_model(model)), select_device(device))


def encode(texts, model=None, max_length: int = 256, normalize=True, batch_size: int = 64,
           device=None, cache: bool = True, show_progress_bar: bool = False, body=None,
           identity: str | None = None, layer: int | None = None, pooling: str = "mean",
           precision: str = "auto") -> np.ndarray:
    """Sentence embeddings of ``texts`` (float32, one row per text), cached on disk.

    Parameters
    ----------
    texts : sequence of str
    model : str or None
        Model folder or hub id already in the local cache; ``None`` is the bundled all-MiniLM-L6-v2.
        The model's own sentence-transformers pipeline is used (mean pooling, and for MiniLM L2
        normalisation).
    max_length : int, default 256
        Tokens kept per text; longer texts are truncated.
    normalize : bool or "verbalize", default True
        Text mode (:func:`mathcls.text.prepare_text`): ``True`` applies
        :func:`~mathcls.text.normalize_text` before encoding, ``"verbalize"`` also reads LaTeX
        aloud (:func:`~mathcls.text.verbalize_latex`). Part of the cache key.
    batch_size : int, default 64
    device : str or None
        ``None`` picks CUDA when available.
    cache : bool, default True
        Read and write the on-disk cache.
    body : SentenceTransformer, optional
        Encode with this already-loaded model instead of ``model`` (e.g. a fine-tuned SetFit
        body); it is cached only when ``identity`` names its weights.
    identity : str, optional
        Cache identity of ``body``.
    layer : int or None, default None
        ``None``: the sentence-transformers pipeline above. An int: the token states after that
        transformer layer of ``model`` (1 is the first, -1 the last), pooled by ``pooling``, from
        any transformers model, e.g. a decoder LLM (see :func:`encode_layers`).
    pooling : {"mean", "last"}, default "mean"
        With ``layer``: the mean of the tokens, or the last token.
    precision : {"auto", "fp32", "bf16"}, default "auto"
        With ``layer``: ``"auto"`` runs bf16 autocast on a CPU with native bf16 or a bf16 GPU.
    """
    from .models._hf import model_identity
    from .models.base import check_texts

    if layer is not None:
        return encode_layers(texts, [int(layer)], model=model, pooling=pooling, max_length=max_length,
                             normalize=normalize, batch_size=batch_size, device=device, cache=cache,
                             precision=precision)[int(layer)]
    texts = check_texts(texts, "texts")
    if body is None:
        body = load_sentence_transformer(model, device)
        identity = model_identity(model)
    store = ShardStore("embeddings", identity, int(max_length), normalize) if cache and identity else None

    def compute(batch: list[str]):
        import torch

        prepared = [prepare_text(t, normalize) for t in batch]
        body.max_seq_length = int(max_length)
        with torch.inference_mode():
            out = body.encode(prepared, batch_size=int(batch_size), convert_to_numpy=True,
                              show_progress_bar=show_progress_bar)
        return list(np.asarray(out, dtype=np.float32))

    rows = _cached_map(store, texts, compute)
    return np.vstack(rows).astype(np.float32, copy=False)


def layer_store(model, layer: int, pooling: str, max_length: int, normalize, bf16: bool) -> ShardStore:
    """The cache of one layer's pooled states of ``model`` (:func:`encode_layers`)."""
    from .models._hf import model_identity

    identity = f"{model_identity(model)}|layer={int(layer)}|pooling={pooling}|{'bf16' if bf16 else 'fp32'}"
    return ShardStore("hidden", identity, int(max_length), normalize)


def encode_layers(texts, layers, model=None, pooling: str = "mean", max_length: int = 256, normalize=True,
                  batch_size: int = 32, device=None, cache: bool = True, precision: str = "auto") -> dict:
    """``{layer: float32 array (n_texts, hidden_size)}``: pooled token states after each of ``layers``
    of the frozen ``model`` (see :mod:`mathcls.models._hidden`), cached on disk per layer.

    One forward pass, up to the deepest layer asked for, serves every layer, so comparing layers
    costs one pass. The cache key holds the model's identity, the layer, the pooling and whether
    bf16 ran.
    """
    from .errors import ParameterError
    from .models._hf import resolve_model, resolve_precision, select_device
    from .models._hidden import HIDDEN_POOLINGS, load_frozen, pooled_states
    from .models.base import check_texts

    if pooling not in HIDDEN_POOLINGS:
        raise ParameterError(f"pooling={pooling!r} is not one of {', '.join(HIDDEN_POOLINGS)} for layer features.")
    texts = check_texts(texts, "texts")
    layers = [int(x) for x in layers]
    dev = select_device(device)
    bf16 = resolve_precision(precision, dev, cpu_bf16=True) == "bf16"
    stores = {layer: layer_store(model, layer, pooling, max_length, normalize, bf16) if cache else None
              for layer in layers}
    keys = {layer: [s.key(t) for t in texts] if s else None for layer, s in stores.items()}
    found = {layer: (s.get_many(list(dict.fromkeys(keys[layer]))) if s else {}) for layer, s in stores.items()}
    missing = list(dict.fromkeys(t for layer in layers for t, k in zip(texts, keys[layer] or [None] * len(texts))
                                 if k is None or k not in found[layer]))
    _STATS["hits"] += len(texts) - len(missing)
    _STATS["misses"] += len(missing)
    if missing:
        tokenizer, frozen = load_frozen(str(resolve_model(model)), dev)
        computed = pooled_states([prepare_text(t, normalize) for t in missing], tokenizer, frozen, layers, pooling,
                                 int(max_length), int(batch_size), bf16=bf16)
        for layer, s in stores.items():
            rows = dict(zip(missing, computed[layer]))
            if s is not None:
                new = {s.key(t): v for t, v in rows.items() if s.key(t) not in found[layer]}
                s.put_many(list(new), list(new.values()))
                found[layer].update(new)
            else:
                found[layer] = rows
    return {layer: np.vstack([found[layer][k] for k in (keys[layer] or texts)]).astype(np.float32, copy=False)
            for layer in layers}


def tokenize(texts, tokenizer, identity: str | None, max_length: int, normalize=True,
             cache: bool = True) -> list[np.ndarray]:
    """Token ids (with special tokens, truncated to ``max_length``) of each text, cached on disk.

    ``identity`` names the tokenizer (e.g. :func:`mathcls.models._hf.model_identity` of the
    pretrained model); ``None`` disables the cache. ``normalize`` is the text mode, as in :func:`encode`.
    """
    store = ShardStore("tokens", identity, int(max_length), normalize) if cache and identity else None

    def compute(batch: list[str]):
        prepared = [prepare_text(t, normalize) for t in batch]
        enc = tokenizer(prepared, truncation=True, max_length=int(max_length), add_special_tokens=True)
        return [np.asarray(ids, dtype=np.int32) for ids in enc["input_ids"]]

    return _cached_map(store, list(texts), compute)
