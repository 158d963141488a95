"""Options and parsers shared by several commands."""

from __future__ import annotations

import ast

import click

from ..config import DEFAULT_SEED


def parse_value(text: str):
    """Parse a ``-p`` value: int, float, bool, None, tuple/list/dict literals, else the string."""
    s = text.strip()
    low = s.lower()
    if low in {"none", "null"}:
        return None
    if low in {"true", "yes", "on"}:
        return True
    if low in {"false", "no", "off"}:
        return False
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError):
        return s


def parse_params(items) -> dict:
    """``("C=10", "word_ngram_range=(1,3)")`` -> ``{"C": 10, "word_ngram_range": (1, 3)}``."""
    out = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE (e.g. -p C=10).", param_hint="-p/--param")
        out[name.strip()] = parse_value(value)
    return out


def data_option(required=True, **kw):
    return click.option(
        "--data", "data_dir", type=click.Path(file_okay=False, path_type=str), required=required, metavar="DIRECTORY",
        help="Competition folder with train.csv and test.csv (e.g. data/ or ../shared/data/kasut).", **kw,
    )


PARAM_HELP = ("Set an estimator parameter; repeatable. Values parse as int/float/bool/None/tuple; quote tuples "
              "for the shell: -p 'word_ngram_range=(1,3)'.")
param_option = click.option(
    "-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
    help=PARAM_HELP,
)
config_option = click.option(
    "--config", "config", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="FILE",
    help="TOML config; MODEL's parameters come from its [models.NAME] entry (MODEL as NAME, or the config's "
         "only model of that family).",
)

text_column_option = click.option(
    "--text-column", "text_columns", multiple=True, metavar="COLUMN",
    help="Column holding the text (repeatable: several are joined). Default: [data] text, else every column of "
         "test.csv but the id.")

seed_option = click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=DEFAULT_SEED, show_default=True,
                           help="Random seed for folds and models.")
def generation_option(f):
    """Add ``--use-generation`` and, when the command takes a ``generated_dir`` argument,
    ``--generated DIR`` (the folder written by ``mathcls generate``)."""
    import inspect

    if "generated_dir" in inspect.signature(f).parameters:
        f = click.option(
            "--generated", "generated_dir", type=click.Path(file_okay=False, path_type=str), default=None,
            help="Folder with generated_train.csv from `mathcls generate` (default: $MATHCLS_GENERATED or data/generated).",
        )(f)
    return click.option(
        "--use-generation", is_flag=True, default=False,
        help="Add the generated rows (mathcls generate) to the training folds only, never to validation.",
    )(f)


def old_name(name: str, dest: str, file_okay=True, dir_okay=False):
    """A hidden option under a name a command used before (``--output`` for ``--out``); the command
    takes ``value or dest`` so old scripts keep working while the help shows one name per meaning."""
    return click.option(name, dest, type=click.Path(file_okay=file_okay, dir_okay=dir_okay, path_type=str),
                        default=None, hidden=True)


def duration_seconds(value, what: str):
    """``--timeout``-style options: a duration (90s, 20m, 1h) or bare seconds; ``None`` stays ``None``."""
    from ..plan.duration import parse_duration

    if value is None:
        return None
    try:
        seconds = float(value)  # a bare number: seconds, as this option always took
    except ValueError:
        return parse_duration(value, what)
    if not seconds > 0:
        raise click.BadParameter(f"must be a positive duration such as 90s, 20m or 1h; got {value!r}.", param_hint=what)
    return seconds
