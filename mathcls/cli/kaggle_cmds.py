"""``mathcls download`` and ``mathcls submit``."""

from __future__ import annotations

from pathlib import Path

import click

from ..kaggle import DEFAULT_COMPETITION

competition_option = click.option(
    "--competition", default=DEFAULT_COMPETITION, show_default=True, help="Kaggle competition slug."
)


@click.command()
@competition_option
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default="data", show_default=True,
              help="Folder to write train.csv, test.csv and sample_submission.csv into.")
def download(competition, out):
    """Download the competition files with the Kaggle API.

    Needs ~/.kaggle/kaggle.json or KAGGLE_USERNAME and KAGGLE_KEY.

    \b
    Example:
      mathcls download --out data/
    """
    from ..checks import check_output_folder
    from ..kaggle import download as do_download

    check_output_folder(out, None, "Data folder")
    files = do_download(competition, out)
    click.echo(f"Downloaded {len(files)} file(s) into {out}.")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("-M", "--message", required=True, help="Submission message shown on Kaggle (-m means a model elsewhere).")
@competition_option
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=str), default=None, metavar="DIRECTORY",
              help="Competition folder whose test.csv (and sample_submission.csv) the ids are checked against. "
                   "Default: $MATHCLS_DATA, else the data folder recorded by the run that wrote FILE, else data/; "
                   "the check is never skipped.")
def submit(file, message, competition, data_dir):
    """Validate FILE against the competition's test ids, then upload it to Kaggle.

    \b
    Example:
      mathcls submit runs/cpu/submission.csv -M "cpu stack" --data data/
    """
    from ..kaggle import submit as do_submit
    from ..prediction import find_competition_folder, validate_submission_file

    folder = find_competition_folder(file, data_dir) if Path(file).is_file() else None
    validate_submission_file(file, folder)
    click.echo(f"{file}: every id of {Path(folder) / 'test.csv'} has one label in 0..7.")
    do_submit(file, message, competition)
    click.echo(f"Submitted {file} to {competition}.")
