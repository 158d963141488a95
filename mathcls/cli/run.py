"""``mathcls run`` and ``mathcls stack``."""

from __future__ import annotations

import click

from ..logs import say
from .common import generation_option, text_column_option
from .logs import log_file

#: --config of run and stack: the config chooses everything, not only parameters.
config_option = click.option(
    "--config", "config", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="FILE",
    help="TOML config that chooses the models ([models.<name>]: family, params, tune), the folds (cv), the seed, "
         "[run] metric, [data] columns, [stack] and [generation]; checked before any data is read. Without --config: the built-in "
         "mathcls/configs/cpu.toml (the same as experiments/cpu.toml).",
)


def _models(value):
    return [m.strip() for m in value.split(",") if m.strip()] if value else None


time_limit_option = click.option(
    "--time-limit", "time_limit", default=None, metavar="DURATION",
    help="Finish within this time, e.g. 90s, 45m or 2h (default: the config's [run] time_limit, 60m in "
         "the built-in cpu config; 'none' for no limit). The run measures this machine, plans which models run "
         "with which settings, and writes submission.csv before the limit.")


reprobe_option = click.option(
    "--reprobe", is_flag=True, default=False,
    help="Under a time limit, measure this machine again instead of using its cached measurements (for "
         "example when they were taken while the machine was busy).")


def _forget_probe(reprobe: bool) -> None:
    if reprobe:
        from ..plan.probe import forget_machine

        if forget_machine() is not None:
            click.echo("Forgot this machine's cached measurements; this run measures it again.")


def _catching_signals(budget):
    """Under a time limit, SIGTERM and Ctrl-C stop the model in flight instead of the process."""
    import contextlib

    return budget.signals(click.echo) if budget is not None else contextlib.nullcontext()


@click.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Competition folder with train.csv and test.csv (not needed with --demo).")
@click.option("--out", type=click.Path(file_okay=False, path_type=str), required=True,
              help="Run folder: submission.csv, leaderboard.csv, model/, logs/, cache/, state.json (and plan.json "
                   "under a time limit).")
@config_option
@click.option("--demo", is_flag=True, default=False,
              help="Generate a synthetic 8-topic data set and run the whole pipeline on it (no data, no network).")
@generation_option
@time_limit_option
@reprobe_option
@text_column_option
def run(data_dir, out, config, demo, use_generation, generated_dir, time_limit, reprobe, text_columns):
    """Run everything: [generate], tune, out-of-fold training, stacking, submission.

    Each stage (folds, generate, tune, out-of-fold training per model, stack, submission) is
    recorded in OUT with what it depended on; a rerun redoes only the stages whose config or
    data changed and prints why (the time limit is not such a change: a larger one reuses the
    work). Base models resume fold by fold, so a crash loses at most the fold in flight. Under a
    time limit, SIGTERM or Ctrl-C stops the model in flight and still writes submission.csv from
    the models that finished (a second one aborts).

    \b
    Examples:
      mathcls run --demo --out runs/demo
      mathcls run --data data/ --out runs/cpu
      mathcls run --data data/ --config experiments/gpu.toml --out runs/gpu
      mathcls run --data data/ --out runs/quick --time-limit 20m
    """
    from ..config import builtin_config, resolve_config
    from ..errors import MathclsError
    from ..pipeline import build, summary, time_budget
    from ..pipeline import demo as run_demo

    if demo and (data_dir or config):
        raise MathclsError("--demo makes its own data and config; drop --data and --config, or drop --demo.")
    if not demo and not data_dir:
        raise click.UsageError("pass --data DIR (the competition folder), or --demo to try mathcls on generated data.")
    # Read and checked once, before any data is read; every step below gets this resolved config.
    cfg = resolve_config(None if demo else config, builtin_config("demo") if demo else None)
    budget = time_budget(cfg, time_limit)
    _forget_probe(reprobe)
    with log_file(out), _catching_signals(budget):
        if demo:
            result = run_demo(out, echo=say, config=cfg, budget=budget)
        else:
            result = build(data_dir, out, config=cfg, use_generation=use_generation, generated_dir=generated_dir,
                           time_limit=time_limit, budget=budget, echo=say, text_columns=text_columns)
        say(summary(result))


@click.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=str), required=True,
              help="Competition folder with train.csv and test.csv.")
@click.option("--out", type=click.Path(file_okay=False, path_type=str), required=True,
              help="Output folder: model/, submission.csv, leaderboard.csv, cache/.")
@config_option
@click.option("--models", "models", default=None, metavar="A,B,...",
              help="Base models to stack (names from the config's [models.*]; default: the enabled ones).")
@click.option("--params-from", "params_from", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Folder searched for best_params.json files written by `mathcls tune`.")
@generation_option
@time_limit_option
@reprobe_option
@text_column_option
def stack(data_dir, out, config, models, params_from, use_generation, generated_dir, time_limit, reprobe,
          text_columns):
    """Build the stacking ensemble from tuned (or default) parameters, without tuning.

    \b
    Examples:
      mathcls stack --data data/ --out runs/stack --models tfidf,embed
      mathcls stack --data data/ --out runs/stack --params-from runs/ --config experiments/gpu.toml
    """
    from ..config import resolve_config
    from ..pipeline import build, summary, time_budget

    cfg = resolve_config(config)  # read and checked once, before any data is read
    budget = time_budget(cfg, time_limit)
    _forget_probe(reprobe)
    with log_file(out), _catching_signals(budget):
        result = build(data_dir, out, config=cfg, models=_models(models), params_from=params_from,
                       use_generation=use_generation, generated_dir=generated_dir, tune_models=False,
                       time_limit=time_limit, budget=budget, echo=say, text_columns=text_columns)
        say(summary(result))
