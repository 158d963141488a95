"""Model folders: a JSON manifest plus the estimator's payload, written atomically, loaded safely.

Layout of a model folder::

    manifest.json     format, versions, model name, params, classes, label names, data sha256, time
    <payload files>   written by the estimator's ``_save_payload`` (skops, safetensors, JSON, npz)

Loading never unpickles: the estimator is rebuilt from the registry and its parameters, and the
payload is read with formats that cannot run code (skops with an allow-list, safetensors, JSON).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import ModelFolderError
from .labels import label_name

MANIFEST = "manifest.json"
FORMAT = "mathcls-model"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = {1}

# Types skops may rebuild: plain scikit-learn, numpy, scipy and builtins objects.
_SAFE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "lightgbm.", "collections.")


def _version() -> str:
    from . import __version__

    return __version__


def encode_param(value):
    """JSON-encode a parameter value, keeping tuples distinguishable from lists."""
    if isinstance(value, tuple):
        return {"__tuple__": [encode_param(v) for v in value]}
    if isinstance(value, list):
        return [encode_param(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[encode_param(k), encode_param(v)] for k, v in value.items()]}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"parameter value {value!r} of type {type(value).__name__} cannot be stored in a manifest")


def decode_param(value):
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(decode_param(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {decode_param(k): decode_param(v) for k, v in value["__dict__"]}
        return {k: decode_param(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_param(v) for v in value]
    return value


def _encode_classes(classes) -> tuple[list, str]:
    arr = np.asarray(classes)
    if arr.dtype.kind in "iu":
        return [int(c) for c in arr], "int"
    if arr.dtype.kind == "b":
        return [bool(c) for c in arr], "bool"
    if arr.dtype.kind == "f":
        return [float(c) for c in arr], "float"
    return [str(c) for c in arr], "str"


def decode_classes(values: list, kind: str) -> np.ndarray:
    dtype = {"int": np.int64, "bool": bool, "float": np.float64}.get(kind)
    return np.asarray(values, dtype=dtype) if dtype else np.asarray(values, dtype=object).astype(str)


def is_model_folder(path: str | os.PathLike) -> bool:
    return (Path(path) / MANIFEST).is_file()


def build_manifest(estimator, train_sha256: str | None = None, extra: dict | None = None) -> dict:
    from .models import model_name_of

    classes, kind = _encode_classes(estimator.classes_)
    cls = type(estimator)
    try:
        params = {k: encode_param(v) for k, v in estimator._manifest_params().items()}
    except TypeError as exc:
        raise ModelFolderError(f"{cls.__name__} cannot be saved: {exc}.") from None
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mathcls_version": _version(),
        "model": model_name_of(estimator),
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "params": params,
        "classes": classes,
        "classes_dtype": kind,
        "label_names": {str(c): label_name(c) for c in classes},
        "train_sha256": train_sha256,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "extra": extra or {},
    }


def save_model(estimator, path: str | os.PathLike, train_sha256: str | None = None, extra: dict | None = None) -> Path:
    """Save a fitted estimator as a model folder at ``path``, atomically.

    The folder is built under a temporary name beside ``path`` and renamed into place only when
    complete, so a crash or Ctrl-C never leaves a half-written model. An existing model folder at
    ``path`` is replaced; any other non-empty folder is left alone and an error raised.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "classes_")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ModelFolderError(f"{out} exists and is a file; choose another output folder.")
    if out.is_dir() and any(out.iterdir()) and not is_model_folder(out):
        raise ModelFolderError(
            f"{out} exists, is not empty and is not a mathcls model folder; choose another output folder."
        )
    with atomic_path(out) as tmp:
        tmp.mkdir()
        manifest = build_manifest(estimator, train_sha256, extra)
        estimator._save_payload(tmp)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out


def read_manifest(path: str | os.PathLike) -> dict:
    """Read and check a model folder's manifest."""
    folder = Path(path)
    if not folder.exists():
        raise ModelFolderError(f"Model folder {folder} does not exist; pass a folder written by `mathcls train`.")
    if not folder.is_dir():
        raise ModelFolderError(f"Model path {folder} is not a folder; pass a folder written by `mathcls train`.")
    mpath = folder / MANIFEST
    if not mpath.is_file():
        raise ModelFolderError(f"{folder} is not a mathcls model folder (no {MANIFEST}); pass a folder written by `mathcls train`.")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFolderError(f"{mpath} is not valid JSON ({exc}); the model folder is damaged, retrain it.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFolderError(f"{mpath} is not a mathcls manifest (format {manifest.get('format') if isinstance(manifest, dict) else None!r}).")
    version = manifest.get("format_version")
    if version not in SUPPORTED_FORMAT_VERSIONS:
        raise ModelFolderError(
            f"{folder} uses model format version {version!r}, which mathcls {_version()} cannot read "
            f"(supported: {sorted(SUPPORTED_FORMAT_VERSIONS)}); upgrade mathcls or retrain the model."
        )
    return manifest


def load_model(path: str | os.PathLike, params: dict | None = None):
    """Load a model folder written by :func:`save_model` and return the fitted estimator.

    ``params`` replace stored parameter values before the payload is read, e.g.
    ``{"model": "/new/place/of/the/base"}`` for a LoRA folder whose base model has moved.
    """
    from .errors import MathclsError
    from .models import MODELS, get_model_class

    folder = Path(path)
    manifest = read_manifest(folder)
    name = manifest.get("model")
    if name not in MODELS:
        raise ModelFolderError(f"{folder} holds a model of unknown family {name!r}; known: {', '.join(MODELS)}.")
    cls = get_model_class(name)
    overrides = dict(params or {})
    params = {k: decode_param(v) for k, v in manifest.get("params", {}).items()}
    unknown = sorted(set(overrides) - set(params))
    if unknown:
        raise ModelFolderError(f"{folder} holds a {name} model without parameter {unknown[0]!r}; "
                               f"its parameters are: {', '.join(sorted(params))}.")
    params.update(overrides)
    if hasattr(cls, "_from_manifest"):
        estimator = cls._from_manifest(params, folder, manifest)
    else:
        try:
            estimator = cls(**params)
        except TypeError as exc:
            raise ModelFolderError(f"{folder}: manifest parameters do not fit {cls.__name__} ({exc}).") from None
    estimator.classes_ = decode_classes(manifest["classes"], manifest.get("classes_dtype", "str"))
    try:
        estimator._load_payload(folder, manifest)
    except MathclsError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFolderError(f"{folder}: the model payload could not be read ({exc}); retrain the model.") from None
    return estimator


def safe_skops_load(path: Path):
    """Load a skops file, trusting only scikit-learn, numpy and scipy types."""
    import skops.io as sio

    if not path.is_file():
        raise ModelFolderError(f"{path.parent} is missing {path.name}; the model folder is incomplete, retrain it.")
    untrusted = sio.get_untrusted_types(file=path)
    bad = [t for t in untrusted if not t.startswith(_SAFE_PREFIXES)]
    if bad:
        raise ModelFolderError(f"{path} contains a type mathcls will not load ({bad[0]}); only retrain from trusted code.")
    return sio.load(path, trusted=untrusted)
