"""``mathcls evaluate``."""

from __future__ import annotations

import click

from .common import old_name


@click.command()
@click.option("--models", "models", multiple=True, type=click.Path(path_type=str), metavar="DIRECTORY",
              help="Folder holding model folders (searched recursively for manifest.json), or a model folder; "
                   "repeatable, and more folders may follow as arguments.")
@click.argument("more_models", nargs=-1, type=click.Path(path_type=str), metavar="[DIR]...")
@click.option("--input", "data_csv", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="FILE",
              help="Labelled CSV (Question,label) to evaluate on, e.g. a held-out validation split.")
@old_name("--data", "data_old")
@click.option("--images", "images", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Folder for one confusion-matrix PNG per model (confusion_<model>.png).")
@click.option("--out", "output", type=click.Path(dir_okay=False, path_type=str), default="evaluation.csv", metavar="FILE",
              show_default=True, help="CSV to write the ranked table to (with per-class precision/recall/F1).")
@old_name("--output", "output_old")
def evaluate(models, more_models, data_csv, data_old, images, output, output_old):
    """Evaluate every saved model under the given folders on a labelled CSV and rank them by F1-micro.

    Folders that cannot be loaded are listed with their error and skipped. A model shown
    rows it was trained on gets a warning line, not a score presented as held-out.

    \b
    Example:
      mathcls evaluate --models runs/ results/ --input valid.csv --images images/
    """
    from ..errors import MathclsError
    from ..evaluate import evaluate_models, format_table

    paths = list(models) + list(more_models)
    data_csv, output = data_csv or data_old, output_old or output  # --data and --output: earlier names
    if not data_csv:
        raise click.UsageError("Pass the labelled CSV to evaluate on with --input FILE.")
    if not paths:
        raise click.UsageError("Pass at least one folder with --models DIR.")
    table = evaluate_models(paths, data_csv, images=images, output=output, echo=click.echo,
                            warn=lambda line: click.echo(line, err=True))
    click.echo("")
    click.echo(format_table(table))
    click.echo(f"\nTable written to {output}" + (f"; confusion matrices in {images}" if images else ""))
    failed = int(table["error"].notna().sum())
    if failed == len(table):
        raise MathclsError(f"None of the {failed} model folders could be evaluated; see the errors above.")
    if failed:
        click.echo(f"{failed} of {len(table)} model folders could not be evaluated (see ERROR rows).")
