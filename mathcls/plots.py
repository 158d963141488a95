"""All of mathcls's matplotlib code: PNG plots for ``explore``, ``evaluate`` and the run report.

matplotlib is imported inside each function, and figures are drawn on the Agg canvas without
pyplot, so plotting never opens a window and never touches global state. Class ids are shown by
name (:func:`mathcls.labels.short_name`). Files are written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .labels import short_name

DPI = 120


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def savefig(fig, path) -> Path:
    """Save ``fig`` as PNG to ``path`` atomically (temporary file, then rename)."""
    from .atomic import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png")
    return Path(path)


def _name(key, names=None) -> str:
    """Axis name of a class (``names``: the schema's ``short_name``; default the Kasut topics for integer
    ids); other keys (``"test"``, ``"all train"``) are shown as given."""
    if key in ("test", "all train"):
        return str(key)
    if names is not None:
        return names(key)
    return short_name(key) if isinstance(key, (int, np.integer)) else str(key)


def _tick(key, names=None) -> str:
    """``"3  Probability"``, or just the label when it is its own name."""
    name = _name(key, names)
    return name if name == str(key) else f"{key}  {name}"


def plot_class_balance(counts: dict, path, class_names=None) -> Path:
    """Horizontal bars of rows per class, annotated with count and share."""
    labels = list(counts)
    values = np.asarray([counts[k] for k in labels], dtype=float)
    total = values.sum() or 1.0
    fig = _figure(8, 0.45 * len(labels) + 1.5)
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    ax.barh(y, values, color="#4C72B0")
    ax.set_yticks(y, [_tick(k, class_names) for k in labels])
    ax.invert_yaxis()
    for yi, v in zip(y, values):
        ax.text(v, yi, f" {int(v)} ({100 * v / total:.1f}%)", va="center", fontsize=9)
    ax.set_xlim(0, values.max() * 1.25 if len(values) else 1)
    ax.set_xlabel("training rows")
    ax.set_title(f"Class balance of train.csv ({int(total)} rows)")
    ax.grid(axis="x", alpha=0.3)
    return savefig(fig, path)


def plot_lengths(chars: dict, tokens: dict, path, token_lines=(128, 256, 512), token_note: str = "tokens",
                 class_names=None) -> Path:
    """Box plots of question length per class, in characters and in tokens (log scale)."""
    keys = list(tokens)
    fig = _figure(12, 0.45 * len(keys) + 1.8)
    names = [_name(k, class_names) for k in keys]
    for i, (data, unit) in enumerate(((chars, "characters"), (tokens, f"tokens ({token_note})"))):
        ax = fig.add_subplot(1, 2, i + 1)
        values = [np.maximum(np.asarray(data[k], dtype=float), 1) for k in keys]
        box = ax.boxplot(values, orientation="horizontal", whis=(5, 95), showfliers=True, patch_artist=True,
                         flierprops={"markersize": 2, "alpha": 0.3}, medianprops={"color": "black"})
        for patch, k in zip(box["boxes"], keys):
            patch.set_facecolor("#DD8452" if not isinstance(k, (int, np.integer)) else "#4C72B0")
            patch.set_alpha(0.6)
        ax.set_yticks(np.arange(1, len(keys) + 1), names if i == 0 else [""] * len(keys))
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel(f"question length in {unit}, log scale")
        ax.grid(axis="x", alpha=0.3, which="both")
        if i == 1:
            for t in token_lines:
                ax.axvline(t, color="red", lw=0.8, ls="--", alpha=0.7)
                ax.text(t, 0.3, f" {t}", color="red", fontsize=8, va="bottom")
    fig.suptitle("Question length per class (box: quartiles, whiskers: 5th-95th percentile)")
    return savefig(fig, path)


def plot_feature_heatmap(shares: dict, path, class_names=None) -> Path:
    """Heat map of the share of questions with each feature (rows) in each class (columns)."""
    from matplotlib.colors import PowerNorm

    features = list(shares)
    columns = list(next(iter(shares.values())))
    matrix = np.asarray([[shares[f][c] for c in columns] for f in features], dtype=float) * 100
    fig = _figure(1.0 * len(columns) + 3.5, 0.45 * len(features) + 2.2)
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues", aspect="auto", norm=PowerNorm(0.4, vmin=0, vmax=max(matrix.max(), 1)))
    ax.set_xticks(np.arange(len(columns)), [_name(c, class_names) for c in columns], rotation=35, ha="right")
    ax.set_yticks(np.arange(len(features)), features)
    threshold = 0.55 * max(matrix.max(), 1)
    for i in range(len(features)):
        for j in range(len(columns)):
            v = matrix[i, j]
            text = "0" if v == 0 else (f"{v:.1f}" if v < 10 else f"{v:.0f}")
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if v > threshold else "black")
    for j, c in enumerate(columns):
        if not isinstance(c, (int, np.integer)):
            ax.axvline(j - 0.5, color="white", lw=3)
    ax.set_xlabel("class")
    ax.set_ylabel("feature")
    ax.set_title("Share of questions with each feature, % (per class, all train, test)")
    fig.colorbar(image, ax=ax, label="% of questions", shrink=0.8)
    return savefig(fig, path)


def plot_top_terms(terms: dict, path, class_names=None) -> Path:
    """One bar chart per class of its most indicative terms and their scores."""
    keys = list(terms)
    ncols = 4 if len(keys) > 4 else max(len(keys), 1)
    nrows = int(np.ceil(len(keys) / ncols)) or 1
    fig = _figure(4.2 * ncols, 3.4 * nrows)
    for i, k in enumerate(keys):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        items = terms[k]
        if not items:
            ax.text(0.5, 0.5, "no terms", ha="center", va="center", transform=ax.transAxes)
        else:
            names = [t for t, _ in items][::-1]
            scores = [s for _, s in items][::-1]
            ax.barh(np.arange(len(names)), scores, color=f"C{i % 10}")
            ax.set_yticks(np.arange(len(names)), names, fontsize=8)
        ax.set_title(_tick(k, class_names), fontsize=10)
        ax.set_xlabel("chi-squared score", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle("Top TF-IDF terms per class (chi-squared of class vs rest)")
    return savefig(fig, path)


def plot_confusion(y_true, y_pred, labels, path, title: str, class_names=None) -> Path:
    """Confusion matrix of ``y_true`` (rows) against ``y_pred`` (columns): counts and row-normalised."""
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(y_true, y_pred, labels=labels)
    row_sum = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, row_sum, out=np.zeros(cm.shape, dtype=float), where=row_sum > 0) * 100
    names = [_name(k, class_names) for k in labels]
    size = 0.65 * len(labels) + 2.5
    fig = _figure(2 * size + 1, size + 0.6)
    for i, (matrix, what) in enumerate(((cm, "counts"), (norm, "% of true class (rows sum to 100)"))):
        ax = fig.add_subplot(1, 2, i + 1)
        vmax = max(matrix.max(), 1)
        ax.imshow(matrix, cmap="Blues", vmin=0, vmax=vmax)
        ax.set_xticks(np.arange(len(labels)), names, rotation=40, ha="right")
        ax.set_yticks(np.arange(len(labels)), names)
        for r in range(len(labels)):
            for c in range(len(labels)):
                v = matrix[r, c]
                if v == 0:
                    continue
                text = str(int(v)) if i == 0 else ("<1" if v < 0.5 else f"{v:.0f}")
                ax.text(c, r, text, ha="center", va="center", fontsize=9,
                        color="white" if v > 0.55 * vmax else "black")
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(what, fontsize=10)
    fig.suptitle(title)
    return savefig(fig, path)


def plot_per_class_f1(f1: dict, labels, path, class_names=None) -> Path:
    """Grouped bars of F1 per class (``labels``), one bar per model; ``f1`` maps model -> F1 list."""
    models = list(f1)
    x = np.arange(len(labels))
    width = 0.8 / max(len(models), 1)
    fig = _figure(max(8.0, 0.9 * len(labels) * max(len(models), 2) / 2 + 3), 4.5)
    ax = fig.add_subplot()
    for i, model in enumerate(models):
        ax.bar(x + (i - (len(models) - 1) / 2) * width, f1[model], width, label=model, color=f"C{i % 10}")
    ax.set_xticks(x, [_name(k, class_names) for k in labels], rotation=35, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1 (out-of-fold)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncols=min(len(models), 4), loc="lower left")
    ax.set_title("F1 per class, out-of-fold")
    return savefig(fig, path)


def plot_correlation(matrix, names, path, title: str) -> Path:
    """Heat map of a square correlation ``matrix`` between the models ``names``."""
    matrix = np.asarray(matrix, dtype=float)
    size = 0.7 * len(names) + 3
    fig = _figure(size + 1, size)
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="viridis", vmin=min(0.0, np.nanmin(matrix)), vmax=1)
    ax.set_xticks(np.arange(len(names)), names, rotation=40, ha="right")
    ax.set_yticks(np.arange(len(names)), names)
    for r in range(len(names)):
        for c in range(len(names)):
            ax.text(c, r, f"{matrix[r, c]:.2f}", ha="center", va="center", fontsize=9,
                    color="black" if matrix[r, c] > 0.6 else "white")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=10)
    return savefig(fig, path)


def plot_times(names, planned, actual, path) -> Path:
    """Horizontal bars of each model's planned and actual seconds (a missing plan is left out)."""
    y = np.arange(len(names))
    planned = np.asarray(planned, dtype=float)
    actual = np.asarray(actual, dtype=float)
    fig = _figure(8, 0.5 * len(names) + 1.8)
    ax = fig.add_subplot()
    has_plan = bool(np.isfinite(planned).any())
    height = 0.4 if has_plan else 0.7
    if has_plan:
        ax.barh(y - height / 2, np.nan_to_num(planned), height, label="planned", color="#BBBBBB")
    ax.barh(y + (height / 2 if has_plan else 0), np.nan_to_num(actual), height, label="actual", color="#4C72B0")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Planned and actual time per model" if has_plan else "Time per model")
    return savefig(fig, path)
