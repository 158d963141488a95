"""The stages of ``mathcls run``, the key each one finishes under, and the record of finished stages.

A stage's key is made of exactly what the stage depends on: parts of the config, a digest of the
data, and the keys of the stages whose output it reads. Each part is kept under a label a user
recognises (``[models.word.tune]``, ``folds``, ``oof word``), so when a key changes the run can say
which parts did::

    tune word: rerun ([models.word.tune] changed)
    oof word: rerun (tuned parameters changed)
    oof char: reused
    stack: rerun (oof word changed)

Stages and what they depend on:

==============  ===========================================================================
``folds``       training data, ``cv``, ``seed``
``generate``    training and test data (rows are deduplicated against both), ``[generation]``, ``seed``
``tune NAME``   folds, seed, ``[models.NAME]`` family, params and tune table, generated rows
``oof NAME``    folds, family, params, tuned parameters, generated rows, ``[stack] test_strategy``;
                a pseudo-labelled model also the other models' ``oof`` keys, the test data and
                ``[stack] pseudo_label_threshold``
``stack``       every base model's ``oof`` key, ``[stack]``, ``seed``
``submission``  the stack's key, the test data and the sample submission
``report``      the stack's key and the leaderboard
==============  ===========================================================================

:class:`RunState` keeps, per stage, the key and parts it finished under in ``<out>/state.json``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import to_jsonable, write_json
from .config import DEFAULT_CV, DEFAULT_SEED
from .params import model_params

STATE_FILE = "state.json"
_STATE_VERSION = 2


def digest(value) -> str:
    """A short, stable digest of a JSON-able value (dict keys sorted, tuples as lists)."""
    text = json.dumps(to_jsonable(value), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StageKey:
    """What a stage depends on: ``parts`` maps a label (``"[models.word.tune]"``) to the digest of
    that part; :attr:`digest` is the key itself."""

    parts: dict = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return digest(self.parts)


def _file_digest(comp, name: str) -> str:
    from .data import file_sha256

    path = comp.files.get(name)
    return file_sha256(path)[:16] if path else "absent"


# ---------------------------------------------------------------------------------------- keys
def folds_key(comp, cfg: dict) -> StageKey:
    return StageKey({"training data": comp.data_hash, "cv": digest(cfg.get("cv", DEFAULT_CV)),
                     "seed": digest(cfg.get("seed", DEFAULT_SEED))})


def generation_key(comp, cfg: dict) -> StageKey:
    return StageKey({"training data": comp.data_hash, "test data": _file_digest(comp, "test.csv"),
                     # whether the rows are used is not part of how they are made
                     "[generation]": digest({k: v for k, v in cfg.get("generation", {}).items() if k != "enabled"}),
                     "seed": digest(cfg.get("seed", DEFAULT_SEED))})


def _model_parts(name: str, cfg: dict, folds: StageKey, rows: str | None) -> dict:
    entry = cfg["models"][name]
    parts = {"folds": folds.digest, f"[models.{name}] family": digest(entry["family"]),
             f"[models.{name}.params]": digest(model_params(cfg, name))}
    if rows is not None:
        parts["generated rows"] = rows
    return parts


def tune_key(name: str, cfg: dict, folds: StageKey, rows: str | None = None, metric: str | None = None) -> StageKey:
    """``rows``: digest of the generated rows the study trains on, ``None`` without generation;
    ``metric``: what the study maximises (a part only when it is not F1-micro, so older keys hold)."""
    parts = _model_parts(name, cfg, folds, rows)
    parts[f"[models.{name}.tune]"] = digest(cfg["models"][name].get("tune", {}))
    parts["seed"] = digest(cfg.get("seed", DEFAULT_SEED))
    _add_metric(parts, metric)
    return StageKey(parts)


def _add_metric(parts: dict, metric: str | None) -> None:
    # F1-micro was the only metric before [run] metric existed: leaving it out keeps those runs' keys.
    if metric not in (None, "f1_micro"):
        parts["metric"] = digest(metric)


def oof_keys(comp, cfg: dict, names, tuned: dict, folds: StageKey, rows: str | None = None) -> dict[str, StageKey]:
    """The ``oof`` key of every base model in ``names``; ``tuned`` maps a name to the parameters
    that tuning (or ``--params-from``) gave it."""
    from .stacking import name_list

    stack = cfg.get("stack", {})
    pseudo = [n for n in name_list(stack.get("pseudo_label", [])) if n in names]
    keys = {}
    for name in names:
        parts = _model_parts(name, cfg, folds, rows)
        parts["tuned parameters"] = digest(tuned.get(name) or {})
        parts["[stack] test_strategy"] = digest(_stack_setting(stack, "test_strategy"))
        keys[name] = StageKey(parts)
    for name in pseudo:
        # Pseudo-labels come from the other models' fold models, for the test questions.
        labelling = {f"oof {other}": keys[other].digest for other in names if other not in pseudo}
        keys[name] = StageKey({**keys[name].parts, **labelling, "test data": _file_digest(comp, "test.csv"),
                               "[stack] pseudo_label_threshold": digest(_stack_setting(stack, "pseudo_label_threshold"))})
    return keys


def _stack_setting(stack: dict, key: str):
    """A ``[stack]`` setting, or :class:`~mathcls.stacking.StackingEnsemble`'s own default for it."""
    from .stacking import StackingEnsemble

    return stack[key] if key in stack else StackingEnsemble().get_params(deep=False)[key]


def stack_key(cfg: dict, oof: dict[str, StageKey], metric: str | None = None) -> StageKey:
    parts = {f"oof {name}": key.digest for name, key in oof.items()}
    parts["[stack]"] = digest(cfg.get("stack", {}))
    parts["seed"] = digest(cfg.get("seed", DEFAULT_SEED))
    _add_metric(parts, metric)
    return StageKey(parts)


def submission_key(comp, stack: StageKey) -> StageKey:
    parts = {"stack": stack.digest, "test data": _file_digest(comp, "test.csv"),
             "sample submission": _file_digest(comp, "sample_submission.csv")}
    schema = getattr(comp, "schema", None)
    if schema is not None and not schema.kasut:  # the columns written; the Kasut layout's key stays as it was
        parts["schema"] = digest([schema.id, schema.target, list(schema.submission_columns)])
    return StageKey(parts)


# ---------------------------------------------------------------------------------------- state
def why_changed(old: dict, new: dict) -> str:
    """``"[models.word.tune], folds changed"`` / ``"oof x added"``: how two keys' parts differ."""
    changed = [label for label in new if label in old and old[label] != new[label]]
    added = [label for label in new if label not in old]
    removed = [label for label in old if label not in new]
    words = []
    if changed:
        words.append(f"{', '.join(changed)} changed")
    if added:
        words.append(f"{', '.join(added)} added")
    if removed:
        words.append(f"{', '.join(removed)} removed")
    return "; ".join(words) or "key changed"


class RunState:
    """The stages of a run that finished, each with the key it finished under, in ``<out>/state.json``.

    A record written by an older mathcls (no version 2) counts as no record: every stage reruns.
    """

    def __init__(self, out: Path):
        self.path = Path(out) / STATE_FILE
        self.stages: dict = {}
        try:
            saved = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            return
        if isinstance(saved, dict) and saved.get("version") == _STATE_VERSION and isinstance(saved.get("stages"), dict):
            self.stages = saved["stages"]

    def reason_to_run(self, stage: str, key: StageKey, outputs=()) -> str | None:
        """``None`` when ``stage`` finished under ``key`` and its ``outputs`` (paths) exist; else why it runs."""
        record = self.stages.get(stage)
        if record is None:
            return "no earlier result"
        if record.get("key") != key.digest:
            return why_changed(record.get("parts", {}), key.parts)
        missing = [Path(p).name for p in outputs if not Path(p).exists()]
        if missing:
            return f"{missing[0]} is missing"
        return None

    def announce(self, stage: str, key: StageKey, echo, outputs=()) -> bool:
        """Print whether ``stage`` is reused or (re)run and why; ``True`` when it must run."""
        reason = self.reason_to_run(stage, key, outputs)
        if reason is None:
            echo(f"{stage}: reused")
            return False
        verb = "run" if stage not in self.stages else "rerun"
        echo(f"{stage}: {verb} ({reason})")
        return True

    def info(self, stage: str):
        """What :meth:`record` stored with ``stage`` (``None`` when it has no record)."""
        return self.stages.get(stage, {}).get("info")

    def record(self, stage: str, key: StageKey, info=None) -> None:
        """Mark ``stage`` finished under ``key`` and write the state file (atomically)."""
        self.stages[stage] = {"key": key.digest, "parts": dict(key.parts), "info": info}
        write_json(self.path, {"version": _STATE_VERSION, "stages": self.stages})
