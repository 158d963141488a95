"""Train one estimator family on a competition folder: parameters from defaults, config, a params
file and ``-p`` overrides; optional cross-validation on the shared folds; save a model folder."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import DEFAULT_SEED, load_config, model_entry
from .data import LABEL, SOURCE, TEXT, load_competition
from .errors import MathclsError
from .folds import SharedFolds, load_or_make_folds
from .logs import say
from .models import make_model
from .oof import FoldHook, out_of_fold_proba
from .params import model_params


def read_params_file(path, model: str | None = None) -> dict:
    """Read parameters from a JSON file: ``best_params.json`` from ``mathcls tune`` (``{"model":
    ..., "params": {...}}``) or a plain ``{name: value}`` object."""
    from .persist import decode_param

    p = Path(path)
    if not p.is_file():
        raise MathclsError(f"Params file {p} does not exist; pass a JSON file such as best_params.json.")
    try:
        payload = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MathclsError(f"Params file {p} is not valid JSON ({exc}).") from None
    except UnicodeDecodeError as exc:
        raise MathclsError(f"Params file {p} is not UTF-8 (bad byte at offset {exc.start}); re-save it as UTF-8.") from None
    if not isinstance(payload, dict):
        raise MathclsError(f"Params file {p} must hold a JSON object of parameter names and values.")
    if "params" in payload and isinstance(payload["params"], dict):
        if model and payload.get("model") not in (None, model):
            raise MathclsError(f"Params file {p} is for model {payload['model']!r}, not {model!r}.")
        payload = payload["params"]
    out = {}
    for k, v in payload.items():
        v = decode_param(v)
        if isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
            v = tuple(v)
        out[k] = v
    return out


def resolve_params(model: str, config=None, params_file=None, overrides=None) -> tuple[str, dict]:
    """``(family, parameters)`` of ``model``: a family, or a model the config names.

    Parameters: defaults < the model's ``[models.<name>.params]`` (see
    :func:`~mathcls.config.model_entry`) < params file < ``-p`` overrides.
    """
    cfg = config if isinstance(config, dict) else load_config(config)
    name, family, entry = model_entry(cfg, model, None if isinstance(config, dict) else config)
    params = model_params({"models": {name: entry}}, name)
    if params_file:
        params.update(read_params_file(params_file, family))
    params.update(overrides or {})
    return family, params


@dataclass
class TrainResult:
    model_dir: Path
    params: dict
    cv_scores: list = field(default_factory=list)
    fit_seconds: float = 0.0
    n_rows: int = 0

    @property
    def cv_mean(self) -> float | None:
        return float(np.mean(self.cv_scores)) if self.cv_scores else None


def output_params(estimator, out, fold: int | None = None, asked=()) -> dict:
    """Where a neural estimator's checkpoints and TensorBoard logs go under the folder ``out``.

    ``OUT/checkpoints`` and ``OUT/logs`` for the final fit, ``.../fold-<k>`` below them for fold
    ``k`` of cross-validation, so that no two fits share a folder. A folder the user set (a name in
    ``asked``) is kept for the final fit and gets the same ``fold-<k>`` subfolders. Estimators
    without ``output_dir``/``logging_dir`` get ``{}``.
    """
    params = estimator.get_params(deep=False)
    defaults = {"output_dir": Path(out) / "checkpoints", "logging_dir": Path(out) / "logs"}
    out_params = {}
    for name, default in defaults.items():
        if name not in params:
            continue
        if name in asked:
            if params[name] is None:
                continue  # switched off by the user
            default = Path(params[name])
        out_params[name] = str(default if fold is None else default / f"fold-{fold}")
    return out_params


def cross_validate(estimator, texts, y, fold, on_fold=None, extra_texts=None, extra_y=None,
                   extra_source=None, fold_params=None, metric: str = "f1_micro") -> list[float]:
    """``metric`` (:mod:`mathcls.metrics`) of ``clone(estimator)`` on each fold (out-of-fold
    predictions of :mod:`mathcls.oof`)."""
    return _cross_validate(estimator, texts, y, fold, on_fold, extra_texts, extra_y, extra_source, fold_params, metric)


def _cross_validate(estimator, texts, y, fold, on_fold, extra_texts, extra_y, extra_source, fold_params,
                    metric) -> list[float]:
    """See :func:`cross_validate`.

    ``fold_params(k)``, when given, returns parameters set on fold ``k``'s clone (its output folders).

    ``extra_texts``/``extra_y`` (generated or augmented rows) join the training part of every
    fold and never its validation part; an extra row whose ``extra_source`` is a real row index
    is left out of the fold that validates that row (see :class:`mathcls.folds.SharedFolds`).
    """
    extra_texts = [] if extra_texts is None else list(extra_texts)
    all_y = np.asarray(y)
    if extra_texts:
        if extra_y is None or len(extra_y) != len(extra_texts):
            raise MathclsError("extra_y must give one label per extra text.")
        all_y = np.concatenate([all_y, np.asarray(extra_y, dtype=all_y.dtype)])
        source = np.full(len(extra_texts), -1, dtype=np.int64) if extra_source is None else np.asarray(extra_source)
    else:
        source = None
    hook = _FoldScores(all_y, on_fold, fold_params, metric)
    out_of_fold_proba(estimator, np.asarray(list(texts) + extra_texts, dtype=object), all_y,
                      SharedFolds(fold, source), hooks=[hook])
    return hook.scores


class _FoldScores(FoldHook):
    def __init__(self, y, on_fold=None, fold_params=None, metric="f1_micro"):
        self.y, self.on_fold, self.fold_params, self.scores = y, on_fold, fold_params, []
        self.metric = metric

    def before_fit(self, fold, estimator):
        return estimator.set_params(**self.fold_params(fold)) if self.fold_params else estimator

    def after_fold(self, result):
        self.scores.append(result.score(self.y, self.metric))
        if self.on_fold:
            self.on_fold(result.fold, self.scores[-1])


def train(model: str, data_dir, out, config=None, params_file=None, overrides=None, cv: int | None = None,
          seed: int = DEFAULT_SEED, use_generation: bool = False, echo=say, generated_dir=None,
          text_columns=()) -> TrainResult:
    """Fit ``model`` on ``data_dir/train.csv`` and save it to ``out``; optionally cross-validate first.

    ``model`` is a family or the name of a ``[models.<name>]`` entry of ``config`` (see
    :func:`~mathcls.config.model_entry`). Parameters, ``out`` and the data are all checked before anything is fitted.
    A neural model's checkpoints and TensorBoard logs go under ``out`` (see :func:`output_params`).

    With ``use_generation``, the rows of ``generated_dir/generated_train.csv`` (default
    ``MATHCLS_GENERATED`` or ``data/generated``; written by ``mathcls generate``) join the
    training folds only and the final fit.
    """
    from .checks import check_cache_folder, check_output_folder
    from .families import get_family
    from .metrics import default_metric, get_metric
    from .persist import save_model
    from .schema import DataChoices

    cfg = config if isinstance(config, dict) else load_config(config)
    family, params = resolve_params(model, config, params_file, overrides)
    estimator = make_model(family, params)  # rejects unknown parameter names and bad values before loading data
    check_output_folder(out, "model", "Model folder")
    if get_family(family).uses_cache:
        check_cache_folder()
    if "model" in estimator.get_params(deep=False):
        from .models._hf import resolve_model

        resolve_model(estimator.model)  # an unreachable or missing model fails before the data is read
    comp = load_competition(data_dir, need_test=False, choices=DataChoices.from_config(cfg, text_columns))
    echo(comp.schema.describe())
    metric = get_metric(cfg.get("run", {}).get("metric") or default_metric(comp.schema))
    texts = comp.train[TEXT].tolist()
    y = comp.train[LABEL].to_numpy()
    extra_texts, extra_y, extra_source = [], np.empty(0, dtype=y.dtype), np.empty(0, dtype=np.int64)
    if use_generation:
        from .generate.store import load_generated

        gen = load_generated(generated_dir, train_sha256=comp.train_sha256, n_train=len(texts), schema=comp.schema,
                             topics=cfg.get("generation", {}).get("topics"))
        extra_texts, extra_y, extra_source = gen[TEXT].tolist(), gen[LABEL].to_numpy(), gen[SOURCE].to_numpy()
        echo(f"Adding {len(extra_texts)} generated rows to training ({int((extra_source >= 0).sum())} augmented).")
    result = TrainResult(Path(out), params, n_rows=len(texts))
    if cv:
        fold = load_or_make_folds(Path(out).parent / f".folds-{comp.data_hash}", y, cv, seed, comp.data_hash)
        echo(f"Cross-validating {model} on {len(texts)} rows, {cv} folds...")
        result.cv_scores = cross_validate(
            estimator, texts, y, fold, on_fold=lambda k, s: echo(f"  fold {k + 1}/{cv}: {metric.title} {s:.4f}"),
            extra_texts=extra_texts, extra_y=extra_y, extra_source=extra_source,
            fold_params=lambda k: output_params(estimator, out, k, asked=params), metric=metric.name,
        )
        echo(f"CV {metric.title}: {result.cv_mean:.4f} ± {np.std(result.cv_scores):.4f}")
    estimator.set_params(**output_params(estimator, out, asked=params))
    t0 = time.perf_counter()
    estimator.fit(texts + extra_texts, np.concatenate([y, extra_y]))
    result.fit_seconds = time.perf_counter() - t0
    if not getattr(estimator, "is_main_process_", True):
        return result  # under `accelerate launch` with several processes, only the main one saves
    save_model(estimator, out, train_sha256=comp.train_sha256, train_texts=texts + extra_texts, extra={
        "data_dir": str(comp.root), f"cv_{metric.name}": result.cv_mean, "cv_scores": result.cv_scores,
        "metric": metric.name, "schema": comp.schema.to_json(),
        "fit_seconds": round(result.fit_seconds, 2), "n_train_rows": len(texts) + len(extra_texts),
        "use_generation": use_generation, "n_generated_rows": len(extra_texts),
    })
    return result
