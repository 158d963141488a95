"""``mathcls explain``."""

from __future__ import annotations

import click


@click.command()
@click.option("-m", "--model", "model_dir", type=click.Path(file_okay=False, path_type=str), required=True,
              metavar="DIRECTORY", help="TF-IDF model folder (from `mathcls train tfidf`).")
@click.option("-n", "--top", "top", type=click.IntRange(min=1), default=15, show_default=True, help="Terms per class.")
def explain(model_dir, top):
    """Print the most indicative terms of each class of a TF-IDF model, one table per class.

    \b
    Example:
      mathcls explain -m runs/tfidf -n 20
    """
    from ..errors import MathclsError
    from ..labels import label_name
    from ..persist import load_model

    model = load_model(model_dir)
    if not hasattr(model, "top_features"):
        raise MathclsError(f"{model_dir} holds a {type(model).__name__}, which has no term weights; use a tfidf model.")
    for cls, terms in model.top_features(top).items():
        click.echo(f"\n{cls} — {label_name(cls)}")
        click.echo(f"  {'term':<30} weight")
        for term, weight in terms:
            click.echo(f"  {term:<30} {weight:7.3f}")
