"""``mathcls generate``: procedural (-g), augmented (-a) and optional LLM training rows."""

from __future__ import annotations

import click

from ..env import env
from .common import seed_option


@click.command()
@click.option("-g", "--generate", "procedural", is_flag=True, default=False,
              help="Generate problems for all 8 topics with the procedural (sympy) generator.")
@click.option("-a", "--augment", "do_augment", is_flag=True, default=False,
              help="Add LaTeX-safe augmented copies of the --data training rows (each records its source row).")
@click.option("--per-class", type=click.IntRange(min=1), default=None,
              help="Procedural rows per topic (default 200); with --balance, the class size to top up to.")
@click.option("--balance", is_flag=True, default=False,
              help="Top up the small classes of --data train.csv to the largest class (or to --per-class).")
@click.option("--augment-per-row", type=click.IntRange(min=1), default=1, show_default=True,
              help="Augmented copies to try per training row with -a.")
@click.option("--augment-fraction", type=click.FloatRange(min=0, max=1, min_open=True), default=1.0, show_default=True,
              help="Share of training rows to augment with -a.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Competition folder (train.csv, test.csv): needed by -a and --balance; rows are deduplicated against it.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Output folder (default: $MATHCLS_GENERATED or data/generated).")
@click.option("--llm-url", default=None,
              help="OpenAI-compatible endpoint to ask for more rows (or set MATHCLS_LLM_URL; model and key from "
                   "MATHCLS_LLM_MODEL and MATHCLS_LLM_API_KEY).")
@click.option("--llm-per-class", type=click.IntRange(min=0), default=0, show_default=True,
              help="Rows per topic to ask the LLM endpoint for (0: no LLM rows unless --llm-url is given, then 20).")
@click.option("--quiet", is_flag=True, default=False, help="No progress bar.")
@seed_option
def generate(procedural, do_augment, per_class, balance, augment_per_row, augment_fraction, data_dir, out, llm_url,
             llm_per_class, quiet, seed):
    """Write extra training rows: OUT/<topic>.csv per class and OUT/generated_train.csv
    (Question,label,source), deduplicated against --data train and test.

    Train with them using `mathcls train ... --use-generation --generated OUT`: they join the
    training folds only, never validation.

    \b
    Examples:
      mathcls generate -g --per-class 200 --out data/generated
      mathcls generate -g --balance -a --data data/ --out data/generated
      MATHCLS_LLM_URL=http://localhost:8000 mathcls generate --llm-per-class 10 --out data/generated
    """
    from ..checks import check_output_folder
    from ..generate import build_generated
    from ..generate.store import generated_dir

    if llm_per_class and not llm_url:
        llm_url = env("LLM_URL")
        if not llm_url:
            raise click.UsageError("--llm-per-class needs an endpoint: pass --llm-url URL or set MATHCLS_LLM_URL.")
    folder = check_output_folder(generated_dir(out), "generated", "Generated-rows folder")
    result = build_generated(
        folder, procedural=procedural, per_class=per_class, balance=balance,
        augment_per_row=augment_per_row if do_augment else 0, augment_fraction=augment_fraction, data_dir=data_dir,
        seed=seed, llm_url=llm_url, llm_per_class=llm_per_class, progress=not quiet, echo=click.echo,
    )
    from ..labels import LABEL_NAMES

    click.echo(f"Wrote {result['n_rows']} rows after deduplication:")
    for label, name in LABEL_NAMES.items():
        click.echo(f"  {label} {name:<34} {result['counts'].get(label, 0):>6}")
    for path in result["paths"].values():
        click.echo(f"  {path}")
