"""Model folders: a JSON manifest plus the estimator's payload, written atomically, loaded safely.

Layout of a model folder::

    manifest.json     format, versions, model name, params, classes, label names, data sha256,
                      time, and the sha256 of every payload file
    <payload files>   written by the estimator's ``_save_payload`` (skops, safetensors, JSON, npz);
                      each family's payload also stores the class order
    checkpoints/      (neural models trained by ``mathcls train``) the epochs' checkpoint folders
    logs/             (idem) TensorBoard logs

as in a Hugging Face Trainer's output folder. Saving a model keeps ``checkpoints/`` and ``logs/``;
they are not part of the payload and are not hashed.

Loading never unpickles: the estimator is rebuilt from the registry and its parameters, and the
payload is read with formats that cannot run code (skops with an allow-list, safetensors, JSON).

A folder is checked against itself before it is used: every manifest field must be present and
well-formed, the family must match the class, the parameters must build a valid estimator, every
payload file must match its recorded sha256 (a truncated, corrupted or replaced file is refused),
and the class order of the manifest must be the one in the payload. Each problem is one
:class:`~mathcls.errors.ModelFolderError` sentence naming the folder. A nested model folder (a
stack's base models) is covered through its own manifest, whose hash the outer manifest records.

Folders of format version 1 (written before payload hashes) still load, with every check except
the hashes; retrain to get them.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .data import file_sha256
from .errors import ModelFolderError
from .labels import label_name

MANIFEST = "manifest.json"
TRAIN_ROWS = "train_rows.npy"
#: The family that wrote the payload, beside it (hashed with it), so a manifest that names another
#: family is refused instead of loading one family's files as another's.
PAYLOAD_FAMILY = "payload_family.txt"
#: Subfolders that training writes into a model's folder before the model itself; a save keeps them.
RUN_OUTPUTS = ("checkpoints", "logs")
FORMAT = "mathcls-model"
FORMAT_VERSION = 2
SUPPORTED_FORMAT_VERSIONS = {1, 2}  # 1: no payload hashes (see the module docstring)
PAYLOAD_HASHES = "payload_sha256"
_CLASS_KINDS = ("int", "bool", "float", "str")

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


def encode_classes(classes) -> tuple[list, str]:
    """Classes as a JSON list and the kind :func:`decode_classes` turns them back with."""
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

    classes, kind = encode_classes(estimator.classes_)
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
        # the schema's class names when the caller recorded one (mathcls.schema), else the Kasut topics
        "label_names": ({str(c): str(n) for c, n in (extra or {})["schema"]["names"].items()}
                        if "schema" in (extra or {}) else {str(c): label_name(c) for c in classes}),
        "train_sha256": train_sha256,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "extra": extra or {},
    }


def payload_files(folder: str | os.PathLike) -> dict[str, Path]:
    """Every file of a model folder but its manifest, by path relative to the folder (POSIX).

    A nested model folder (a stack's base model) counts by its ``manifest.json`` only: that
    manifest records the hashes of the files under it, and is checked when it is loaded.
    """
    root = Path(folder)
    out: dict[str, Path] = {}
    for here, dirs, files in os.walk(root):
        here_path = Path(here)
        dirs.sort()
        if here_path != root and MANIFEST in files:
            out[(here_path / MANIFEST).relative_to(root).as_posix()] = here_path / MANIFEST
            dirs[:] = []
            continue
        for name in sorted(files):
            if here_path == root and name == MANIFEST:
                continue
            out[(here_path / name).relative_to(root).as_posix()] = here_path / name
    return out


def save_model(estimator, path: str | os.PathLike, train_sha256: str | None = None, extra: dict | None = None,
               train_texts=None) -> Path:
    """Save a fitted estimator as a model folder at ``path``, atomically.

    The folder is built under a temporary name beside ``path`` and renamed into place only when
    complete, so a crash or Ctrl-C never leaves a half-written model. An existing model folder at
    ``path`` is replaced, except its :data:`RUN_OUTPUTS` subfolders (a folder holding only those is
    fine too); any other non-empty folder is left alone and an error raised.
    ``train_texts`` (the questions the model was fitted on) are stored as row fingerprints in
    ``train_rows.npy``, so that ``mathcls evaluate`` can tell when it is shown its own training rows.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "classes_")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ModelFolderError(f"{out} exists and is a file; choose another output folder.")
    if out.is_dir() and not is_model_folder(out) and any(p.name not in RUN_OUTPUTS for p in out.iterdir()):
        raise ModelFolderError(
            f"{out} exists, is not empty and is not a mathcls model folder; choose another output folder."
        )
    with atomic_path(out) as tmp:
        tmp.mkdir()
        manifest = build_manifest(estimator, train_sha256, extra)
        estimator._save_payload(tmp)
        (tmp / PAYLOAD_FAMILY).write_text(manifest["model"] + "\n", encoding="utf-8")
        if train_texts is not None:
            from .data import row_fingerprints

            np.save(tmp / TRAIN_ROWS, row_fingerprints(train_texts), allow_pickle=False)
        manifest[PAYLOAD_HASHES] = {name: file_sha256(f) for name, f in payload_files(tmp).items()}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for name in RUN_OUTPUTS:  # moved last, so a failed save leaves them where they were
            if (out / name).is_dir():
                os.replace(out / name, tmp / name)
    return out


def _damaged(folder: Path, problem: str) -> ModelFolderError:
    return ModelFolderError(f"Model folder {folder}: {problem}; the folder is damaged or was edited, retrain the model.")


def _is_sha256(value) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _check_fields(folder: Path, manifest: dict) -> None:
    """Every field :func:`build_manifest` writes, present and of the right type."""
    from .families import FAMILIES

    def field(name, ok, expected):
        if name not in manifest:
            raise _damaged(folder, f"manifest.json has no {name!r} field")
        if not ok(manifest[name]):
            shown = repr(manifest[name])
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise _damaged(folder, f"manifest field {name!r} must be {expected}, not {shown}")

    field("mathcls_version", lambda v: isinstance(v, str), "a version string")
    if manifest.get("model") not in FAMILIES:
        raise ModelFolderError(f"Model folder {folder} holds a model of unknown family {manifest.get('model')!r}; "
                               f"known: {', '.join(FAMILIES)}.")
    field("class", lambda v: isinstance(v, str), "a class path")
    field("params", lambda v: isinstance(v, dict), "an object of parameter names and values")
    field("classes", lambda v: isinstance(v, list) and len(v) >= 2 and all(
        isinstance(c, (str, int, float, bool)) for c in v), "a list of at least 2 class labels")
    if len({str(c) for c in manifest["classes"]}) != len(manifest["classes"]):
        raise _damaged(folder, f"manifest field 'classes' repeats a class ({manifest['classes']})")
    field("classes_dtype", lambda v: v in _CLASS_KINDS, f"one of {', '.join(_CLASS_KINDS)}")
    field("label_names", lambda v: isinstance(v, dict), "an object of class -> topic name")
    field("train_sha256", lambda v: v is None or _is_sha256(v), "null or a sha256 hex digest")
    field("created", lambda v: isinstance(v, str), "a timestamp string")
    field("extra", lambda v: isinstance(v, dict), "an object")
    if manifest["format_version"] >= 2:
        field(PAYLOAD_HASHES, lambda v: isinstance(v, dict) and v and all(
            isinstance(k, str) and _is_sha256(h) for k, h in v.items()), "an object of file -> sha256")
    expected_class = FAMILIES[manifest["model"]].class_path
    if manifest["class"] != expected_class:
        raise _damaged(folder, f"manifest family {manifest['model']!r} does not match its class {manifest['class']!r} "
                               f"(expected {expected_class!r})")


def read_manifest(path: str | os.PathLike) -> dict:
    """Read a model folder's manifest and check that every field is present and well-formed."""
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
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise ModelFolderError(f"{mpath} is not a mathcls manifest (format {found!r}, not {FORMAT!r}); "
                               "pass a folder written by `mathcls train`.")
    if "format_version" not in manifest:
        raise _damaged(folder, "manifest.json has no 'format_version' field")
    version = manifest.get("format_version")
    if isinstance(version, bool) or version not in SUPPORTED_FORMAT_VERSIONS:
        raise ModelFolderError(
            f"{folder} uses model format version {version!r}, which mathcls {_version()} cannot read "
            f"(supported: {sorted(SUPPORTED_FORMAT_VERSIONS)}); upgrade mathcls or retrain the model."
        )
    _check_fields(folder, manifest)
    return manifest


def verify_payload(folder: str | os.PathLike, manifest: dict) -> None:
    """Check every payload file against the sha256 the manifest recorded (format version 2 on)."""
    folder = Path(folder)
    recorded = manifest.get(PAYLOAD_HASHES)
    if recorded is None:
        return
    for name, digest in recorded.items():
        path = folder / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise _damaged(folder, f"manifest lists a payload file outside the folder ({name!r})")
        if not path.is_file():
            raise _damaged(folder, f"payload file {name} is missing")
        if file_sha256(path) != digest:
            raise _damaged(folder, f"payload file {name} does not match its sha256 in the manifest "
                                   "(truncated, corrupted or replaced)")


def check_payload_classes(folder: str | os.PathLike, manifest_classes, payload_classes, where: str) -> None:
    """The manifest's class order must be the payload's: a reordered list would relabel every prediction."""
    if payload_classes is None:
        return
    ours = [str(c) for c in np.asarray(manifest_classes).tolist()]
    theirs = [str(c) for c in np.asarray(payload_classes).tolist()]
    if len(ours) != len(theirs):
        raise _damaged(Path(folder), f"the manifest lists {len(ours)} classes but {where} holds {len(theirs)}")
    if ours != theirs:
        raise _damaged(Path(folder), f"the manifest's class order {ours} differs from {where}'s {theirs}")


def _build(cls, folder: Path, manifest: dict, overrides: dict | None = None):
    """The estimator the manifest's parameters describe (``overrides`` replacing some), validated."""
    from .errors import MathclsError

    params = {k: decode_param(v) for k, v in manifest["params"].items()}
    unknown = sorted(set(overrides or {}) - set(params))
    if unknown:
        raise ModelFolderError(f"{folder} holds a {manifest['model']} model without parameter {unknown[0]!r}; "
                               f"its parameters are: {', '.join(sorted(params))}.")
    params.update(overrides or {})
    try:
        if hasattr(cls, "_from_manifest"):
            estimator = cls._from_manifest(params, folder, manifest)
        else:
            estimator = cls(**params)
        estimator._validate_params()
    except (MathclsError, TypeError, ValueError, KeyError, AttributeError) as exc:
        detail = str(exc).strip().rstrip(".") or type(exc).__name__
        raise _damaged(folder, f"the manifest's parameters do not build a {cls.__name__} ({detail})") from None
    return estimator


def load_model(path: str | os.PathLike, params: dict | None = None):
    """Load a model folder written by :func:`save_model` and return the fitted estimator.

    ``params`` replace stored parameter values before the payload is read, e.g.
    ``{"model": "/new/place/of/the/base"}`` for a LoRA folder whose base model has moved.
    The folder is checked against itself first (see the module docstring); any problem is one
    :class:`~mathcls.errors.ModelFolderError` naming the folder.
    """
    import zipfile

    from .errors import MathclsError
    from .models import get_model_class

    folder = Path(path)
    manifest = read_manifest(folder)
    verify_payload(folder, manifest)
    check_payload_family(folder, manifest)
    cls = get_model_class(manifest["model"])
    estimator = _build(cls, folder, manifest, params)
    try:
        estimator.classes_ = decode_classes(manifest["classes"], manifest["classes_dtype"])
    except (TypeError, ValueError):
        raise _damaged(folder, f"manifest classes {manifest['classes']} are not of kind {manifest['classes_dtype']!r}") from None
    try:
        estimator._load_payload(folder, manifest)
    except MathclsError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, RuntimeError, zipfile.BadZipFile) as exc:
        raise ModelFolderError(f"{folder}: the model payload could not be read ({exc}); retrain the model.") from exc
    for name, models in (getattr(estimator, "estimators_", None) or {}).items():
        for model in models if isinstance(models, list) else [models]:
            check_payload_classes(folder, estimator.classes_, getattr(model, "classes_", None), f"base model {name!r}")
    return estimator


def check_payload_family(folder: Path, manifest: dict) -> None:
    """The manifest's family is the one that wrote the payload (folders saved before the payload
    recorded it are not checked)."""
    path = folder / PAYLOAD_FAMILY
    if not path.is_file():
        return
    wrote = path.read_text(encoding="utf-8").strip()
    if wrote != manifest["model"]:
        raise ModelFolderError(f"Model folder {folder}: its manifest names family {manifest['model']!r} but its "
                               f"payload was written by {wrote!r}; restore the manifest or retrain the model.")


def training_overlap(folder: str | os.PathLike, texts) -> float | None:
    """Share of ``texts`` that were among the model's training rows (``None``: not recorded)."""
    from .data import row_fingerprints

    path = Path(folder) / TRAIN_ROWS
    if not path.is_file() or not len(texts):
        return None
    seen = np.load(path, allow_pickle=False)
    return float(np.isin(row_fingerprints(texts, unique=False), seen).mean())


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
