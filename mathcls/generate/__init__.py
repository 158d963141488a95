"""Extra training rows: a procedural generator of math problems, LaTeX-safe augmentation of the
training rows, optional generation through an OpenAI-compatible LLM endpoint, and the writing of
``<out>/<topic>.csv`` and ``<out>/generated_train.csv`` (``Question,label,source``).

``source`` is the 0-based row of ``train.csv`` an augmented row was made from, ``-1`` for rows
with no source (procedural or LLM). Training with ``--use-generation`` adds these rows to the
training folds only, grouped with their source rows (:class:`mathcls.folds.SharedFolds`).

>>> from mathcls.generate import generate
>>> df = generate(per_class=3, seed=0)
>>> df.columns.tolist(), len(df)
(['Question', 'label', 'source'], 24)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data import DEMO_ANSWERS_FILE, ID, LABEL, SAMPLE_FILE, SOURCE, TEST_FILE, TEXT, TRAIN_FILE
from ..logs import say
from .augment import augment
from .engine import balance_counts, generate, generate_topic
from .llm import llm_generate
from .store import (
    GENERATED_FILE,
    MANIFEST_FILE,
    dedupe,
    generated_dir,
    load_generated,
    relabel_topics,
    topic_slug,
    write_generated,
)

__all__ = [
    "generate", "generate_topic", "balance_counts", "augment", "llm_generate", "topic_slug",
    "dedupe", "write_generated", "load_generated", "generated_dir", "build_generated", "make_demo_competition",
    "GENERATED_FILE", "MANIFEST_FILE", "why_generation_is_off", "check_topics", "relabel_topics",
]


def why_generation_is_off(schema, topics=None) -> str | None:
    """Why generated rows cannot join a competition with ``schema`` (one clause), or None when they can.

    The generator writes rows for the 8 Kasut math topics under their ids 0..7, so its rows mean
    something only to a competition whose classes are exactly those ids, or through ``topics``
    (``[generation] topics``: class -> topic id), which relabels the rows of the mapped topics.
    """
    from ..labels import LABELS

    if topics:
        return check_topics(schema, topics)
    if schema is None or (schema.label_kind == "int" and list(schema.classes) == LABELS):
        return None
    shown = ", ".join(map(str, schema.classes[:4])) + (", ..." if len(schema.classes) > 4 else "")
    return (f"the generator writes the 8 Kasut math topics as labels 0..7, and this data's {len(schema.classes)} "
            f"classes are {shown}; map classes to topics with [generation] topics = {{\"<class>\" = <topic id>}}")


def check_topics(schema, topics: dict) -> str | None:
    """What is wrong with a ``[generation] topics`` mapping for ``schema`` (one clause), or None."""
    from ..labels import LABELS

    known = {str(c) for c in schema.classes} if schema is not None else set()
    for cls, topic in topics.items():
        if schema is not None and str(cls) not in known:
            return f"[generation] topics names {cls!r}, which is not a class of the training file"
        if isinstance(topic, bool) or not isinstance(topic, int) or topic not in LABELS:
            return f"[generation] topics maps {cls!r} to {topic!r}, but topics are the ids 0..7"
    if len(set(topics.values())) != len(topics):
        return "[generation] topics maps two classes to one topic; give each topic one class"
    return None


def make_demo_competition(out_dir, n_per_class: int = 80, n_test: int = 240, seed: int = 0) -> Path:
    """Write a synthetic competition folder from the generator: ``train.csv`` (``Question,label``),
    ``test.csv`` (``id,Question``), ``sample_submission.csv`` (``id,label``) and
    ``test_labels.csv`` (``id,label``, the hidden answers, for scoring the demo).

    Train and test come from different seeds and different template mixes (template part
    ``"a"`` for train, ``"b"`` for test), and test rows never repeat a training question, so a
    model's test score is honest (a TF-IDF model does not score 1.0 there).
    No network and no competition files are needed.

    >>> import tempfile
    >>> folder = make_demo_competition(tempfile.mkdtemp(), n_per_class=5, n_test=16)
    >>> sorted(p.name for p in folder.iterdir())
    ['sample_submission.csv', 'test.csv', 'test_labels.csv', 'train.csv']
    """
    from ..errors import MathclsError
    from ..labels import LABELS
    from ..submission import write_csv_atomic

    if n_per_class < 1 or n_test < 1:
        raise MathclsError(f"The demo needs at least 1 training row per class and 1 test row; got {n_per_class} and {n_test}.")
    out = Path(out_dir)
    train = generate(per_class=n_per_class, seed=seed, part="a")
    base, extra = divmod(n_test, len(LABELS))
    counts = {label: base + (1 if i < extra else 0) for i, label in enumerate(LABELS)}
    test = generate(per_class=counts, seed=seed + 1_000_003, part="b", exclude=train[TEXT])
    rng = np.random.default_rng(seed)
    train = train.iloc[rng.permutation(len(train))].reset_index(drop=True)
    test = test.iloc[rng.permutation(len(test))].reset_index(drop=True)
    ids = [str(100000 + i) for i in range(len(test))]
    write_csv_atomic(pd.DataFrame({TEXT: train[TEXT], LABEL: train[LABEL]}), out / TRAIN_FILE)
    write_csv_atomic(pd.DataFrame({ID: ids, TEXT: test[TEXT]}), out / TEST_FILE)
    write_csv_atomic(pd.DataFrame({ID: ids, LABEL: 0}), out / SAMPLE_FILE)
    write_csv_atomic(pd.DataFrame({ID: ids, LABEL: test[LABEL]}), out / DEMO_ANSWERS_FILE)
    return out


def build_generated(out_dir, procedural: bool = True, per_class: int | None = None, balance: bool = False,
                    augment_per_row: int = 0, augment_fraction: float = 1.0, data_dir=None, seed: int = 0,
                    llm_url: str | None = None, llm_per_class: int = 0, progress: bool = False, echo=say,
                    choices=None, topics=None) -> dict:
    """What ``mathcls generate`` does: procedural rows (``per_class`` per topic, or topped up to the
    largest class with ``balance``), augmented copies of ``data_dir/train.csv`` rows, optional LLM
    rows; deduplicated against the competition's train and test questions; written with
    :func:`write_generated`. Returns ``{"paths": ..., "counts": {label: rows}, "n_rows": ...}``."""
    from ..data import load_competition
    from ..errors import MathclsError

    if not (procedural or augment_per_row or llm_url):
        raise MathclsError("Nothing to generate; pass -g (procedural), -a (augment --data rows) or --llm-url.")
    comp = None
    if data_dir is not None:
        comp = load_competition(data_dir, need_test=False, choices=choices)
        off = why_generation_is_off(comp.schema, topics)
        if off:
            raise MathclsError(f"Cannot generate rows for {data_dir}: {off}.")
    if topics and (balance or augment_per_row or llm_url):
        # Rows are written as topic ids and relabelled when read; only procedural rows are topic ids.
        raise MathclsError("[generation] topics relabels procedural rows only; set balance = false and "
                           "augment_per_row = 0 (and no LLM endpoint) with it.")
    if (balance or augment_per_row) and comp is None:
        raise MathclsError("--balance and -a need the training data; pass --data DIR with train.csv.")
    against = []
    if comp is not None:
        against = comp.train[TEXT].tolist() + (comp.test[TEXT].tolist() if comp.test is not None else [])
    parts = []
    if procedural:
        if balance:
            counts = balance_counts(comp.train[LABEL], target=per_class)
        else:
            counts = per_class if per_class is not None else 200
        if topics:  # only the topics some class maps to
            counts = {int(t): int(counts) for t in topics.values()}
        gen = generate(per_class=counts, seed=seed, exclude=against, progress=progress)
        echo(f"Generated {len(gen)} procedural rows.")
        parts.append(gen)
    if augment_per_row:
        aug = augment(comp.train, n_per_row=augment_per_row, fraction=augment_fraction, seed=seed, progress=progress)
        echo(f"Augmented {aug[SOURCE].nunique()} training rows into {len(aug)} new rows.")
        parts.append(aug)
    if llm_url:
        llm = llm_generate(per_class=llm_per_class or 20, url=llm_url, seed=seed)
        echo(f"Got {len(llm)} rows from the LLM endpoint.")
        parts.append(llm)
    df = pd.concat(parts, ignore_index=True)
    manifest = {"seed": seed, "procedural": bool(procedural), "balance": bool(balance), "per_class_asked": per_class,
                "augment_per_row": augment_per_row, "augment_fraction": augment_fraction, "llm": bool(llm_url),
                "train_sha256": comp.train_sha256 if comp is not None else None,
                "data_dir": str(comp.root) if comp is not None else None}
    paths = write_generated(df, out_dir, against=against, manifest=manifest)
    written = pd.read_csv(paths["generated_train"], usecols=[LABEL])
    counts = {int(k): int(v) for k, v in written[LABEL].value_counts().sort_index().items()}
    return {"paths": paths, "counts": counts, "n_rows": int(sum(counts.values()))}
