"""``mathcls explore``."""

from __future__ import annotations

import click

from .common import data_option, text_column_option


@click.command()
@data_option()
@click.option("--images", "images", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Folder to write PNG plots into (class balance, lengths, feature heat map, top terms).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Also write the full report as JSON to this file.")
@click.option("--tokenizer", type=click.Choice(["auto", "minilm", "whitespace"]), default="auto", show_default=True,
              help="Token counter: the bundled MiniLM WordPiece tokenizer (auto: when transformers is installed) "
                   "or whitespace words.")
@click.option("--examples", "n_examples", type=click.IntRange(min=0), default=3, show_default=True,
              help="Examples shown per unusual feature and per duplicate kind.")
@text_column_option
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="FILE",
              help="TOML config whose [data] table chooses the id, target and text columns.")
def explore(data_dir, images, json_path, tokenizer, n_examples, text_columns, config):
    """Profile DATA/train.csv (and test.csv): classes, lengths, text features, duplicates, top terms.

    \b
    Example:
      mathcls explore --data data/ --images images/ --json report.json
    """
    from ..atomic import write_json
    from ..checks import check_output_file, check_output_folder
    from ..config import load_config
    from ..explore import explore as run_explore
    from ..explore import format_report
    from ..schema import DataChoices

    if json_path:
        check_output_file(json_path, "JSON report file")
    if images:
        check_output_folder(images, None, "Images folder")
    choices = DataChoices.from_config(load_config(config), text_columns)
    report = run_explore(data_dir, tokenizer=tokenizer, images=images, n_examples=n_examples, choices=choices)
    click.echo(format_report(report))
    if json_path:
        write_json(json_path, report)
        click.echo(f"Report written to {json_path}")
