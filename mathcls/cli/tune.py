"""``mathcls tune MODEL``."""

from __future__ import annotations

import click

from ..logs import say
from .common import data_option, duration_seconds, generation_option, seed_option, text_column_option
from .logs import log_file


@click.command()
@click.argument("model", metavar="MODEL")
@data_option()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=str), required=True,
              help="Output folder: best_params.json, trials.csv, plots, folds.json and the default journal file.")
@click.option("--n-trials", type=click.IntRange(min=0), default=20, show_default=True,
              help="Trials this worker runs (each worker adds its own; rerunning adds more to the same study).")
@click.option("--timeout", default=None, metavar="DURATION",
              help="Wall-clock budget of this worker, e.g. 90s, 20m, 1h (a bare number is seconds); a trial in "
                   "flight stops at its next fold/epoch.")
@click.option("--storage", default=None, metavar="STORAGE",
              help="Journal file path (one machine) or RDB URL such as postgresql://user:pass@host/db "
                   "(several machines). Default: OUT/study.journal.")
@click.option("--study-name", default=None,
              help="Study name shared by all workers. Default: MODEL-<first 8 hex digits of the data hash>.")
@click.option("--cv", type=click.IntRange(min=2), default=None, metavar="K",
              help="Number of stratified folds.  [default: the config's cv, else 5]")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="FILE",
              help="TOML config: MODEL's [models.NAME] entry (MODEL as NAME, or the config's only model of that "
                   "family) gives the fixed params and, in its [tune] table, the search space and pruner; cv the folds.")
@seed_option
@generation_option
@click.option("--dashboard", is_flag=True, default=False,
              help="After the trials, serve the study in optuna-dashboard on http://127.0.0.1:8080 (Ctrl-C stops).")
@click.option("--quiet", is_flag=True, default=False, help="No progress bar (the per-trial lines stay).")
@text_column_option
def tune(model, data_dir, out, n_trials, timeout, storage, study_name, cv, config, seed, use_generation, dashboard,
         quiet, generated_dir, text_columns):
    """Tune MODEL's parameters with Optuna over shared cross-validation folds.

    MODEL is tfidf, setfit or transformer, or with --config a model the config defines
    ([models.NAME]). Start any number of workers with the same
    command and --storage; rerunning the command resumes the study. The best parameters
    go to OUT/best_params.json, for `mathcls train MODEL --params OUT/best_params.json`.

    \b
    Examples:
      mathcls tune tfidf --data data/ --out runs/tune-tfidf --n-trials 30
      mathcls tune tfidf --data data/ --out runs/tune-tfidf --n-trials 10 \\
          --storage postgresql://mathcls:secret@db-host:5432/optuna --study-name tfidf-v1
    """
    from ..checks import check_cache_folder, check_output_folder
    from ..config import DEFAULT_CV, load_config, model_entry
    from ..families import tunable_family
    from ..metrics import get_metric
    from ..schema import DataChoices
    from ..tuning.run import tune as run_tune

    timeout = duration_seconds(timeout, "--timeout")
    check_output_folder(out, "tune", "Tuning folder")
    cfg = {}
    if config is not None:
        cfg = load_config(config)
        # MODEL may name a config model ([models.word] family = "tfidf"): tune its family with its entry.
        name, model, entry = model_entry(cfg, model, config)
        config = {"models": {model: entry}}
        cv = cfg.get("cv", DEFAULT_CV) if cv is None else cv  # the schema has checked it
    cv = DEFAULT_CV if cv is None else cv
    if tunable_family(model).uses_cache:  # an unknown or untunable family: one sentence
        check_cache_folder()
    with log_file(out):  # every worker appends its lines to OUT/run.log
        result = run_tune(
            model, data_dir, out, n_trials=n_trials, timeout=timeout, storage=storage, study_name=study_name, cv=cv,
            config=config, use_generation=use_generation, seed=seed, echo=say, progress=not quiet,
            generated_dir=generated_dir,
            choices=DataChoices.from_config(cfg, text_columns), metric=cfg.get("run", {}).get("metric"),
        )
    metric = get_metric(result.metric)
    click.echo(
        f"Best mean {metric.title} {abs(result.best_value):.4f} over {result.n_complete} complete trials of study "
        f"{result.study_name!r}; this worker finished {result.n_run}. Wrote {', '.join(str(p) for p in result.files.values())}."
    )
    click.echo(f"Train with: mathcls train {model} --data {data_dir} --out runs/{model} --params {result.files['best_params']}")
    click.echo(f"Inspect with: optuna-dashboard {result.storage}")
    if dashboard:
        from ..errors import require

        require("optuna_dashboard", "dashboard").run_server(result.dashboard_arg, host="127.0.0.1", port=8080)
