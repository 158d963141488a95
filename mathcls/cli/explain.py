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
    from ..persist import load_model
    from ..prediction import model_schema

    model = load_model(model_dir)
    if not hasattr(model, "top_features"):
        raise MathclsError(f"{model_dir} holds a {type(model).__name__}, which has no term weights; use a tfidf model.")
    schema = model_schema(model_dir)
    for cls, terms in model.top_features(top).items():
        name = schema.class_name(cls)
        click.echo(f"\n{cls}" + ("" if name == str(cls) else f" — {name}"))
        click.echo(f"  {'term':<30} weight")
        for term, weight in terms:
            click.echo(f"  {term:<30} {weight:7.3f}")
