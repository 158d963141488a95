"""``mathcls train MODEL``."""

from __future__ import annotations

import click

from ..families import FAMILIES
from .common import (
    config_option,
    data_option,
    generation_option,
    param_option,
    parse_params,
    seed_option,
    text_column_option,
)


@click.command()
@click.argument("model", metavar="MODEL")
@data_option()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=str), required=True, metavar="DIRECTORY",
              help="Model folder to write: new, empty, or a model folder to replace.")
@param_option
@config_option
@click.option("--params", "params_file", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="JSON file of parameters, e.g. best_params.json from `mathcls tune`.")
@click.option("--cv", type=click.IntRange(min=0), default=0, show_default=True, metavar="K",
              help="Cross-validate with K stratified folds before the final fit and print the metric ([run] metric; "
                   "default F1-micro for the Kasut data, else accuracy) (0: no CV).")
@seed_option
@generation_option
@text_column_option
def train(model, data_dir, out, params, config, params_file, cv, seed, use_generation, generated_dir, text_columns):
    """Train MODEL on DATA/train.csv and save it to OUT.

    MODEL is a registered family (tfidf, setfit, transformer) or, with --config, the name of
    a model the config defines ([models.NAME]). Parameters come from the defaults, then that
    config entry (for a family: the entry of that name, or the config's only model of that
    family), then --params, then each -p NAME=VALUE. Parameters, OUT and the data are
    checked before anything is trained.

    \b
    Example:
      mathcls train tfidf --data data/ --out runs/tfidf -p C=10 -p 'word_ngram_range=(1,3)' --cv 5
      mathcls train tfidf --data data/ --out runs/tfidf-gen --cv 5 --use-generation --generated data/generated
      mathcls train embed --config mathcls/configs/cpu.toml --data data/ --out runs/embed
    """
    from ..training import train as run_train

    if model not in FAMILIES and config is None:
        raise click.BadParameter(f"unknown model {model!r}; choose one of: {', '.join(FAMILIES)}.", param_hint="MODEL")
    result = run_train(
        model, data_dir, out, config=config, params_file=params_file, overrides=parse_params(params),
        cv=cv or None, seed=seed, use_generation=use_generation, generated_dir=generated_dir, echo=click.echo,
        text_columns=text_columns,
    )
    click.echo(f"Trained {model} on {result.n_rows} rows in {result.fit_seconds:.1f}s; saved to {result.model_dir}")
