"""``mathcls predict``."""

from __future__ import annotations

import click

from .common import old_name


@click.command()
@click.option("-m", "--model", "model_dir", type=click.Path(file_okay=False, path_type=str), required=True,
              metavar="DIRECTORY",
              help="Model folder (from `mathcls train`, a checkpoint, or a stack).")
@click.option("--input", "input_path", type=click.Path(dir_okay=False, path_type=str), required=True, metavar="FILE",
              help="CSV with id,Question (e.g. test.csv).")
@click.option("--out", "output_path", type=click.Path(dir_okay=False, path_type=str), default="submission.csv",
              metavar="FILE",
              show_default=True, help="Submission CSV to write (id,label).")
@click.option("--proba", is_flag=True, default=False,
              help="Also write per-class probabilities (id,proba_0..proba_7) beside --out as <stem>_proba.csv "
                   "(submission.csv -> submission_proba.csv).")
@click.option("--sample", "sample_path", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="sample_submission.csv to check ids against (default: the one beside --input, if any).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Prediction batch size for neural models.")
@old_name("--output", "output_old")
def predict(model_dir, input_path, output_path, output_old, proba, sample_path, batch_size):
    """Predict a label for every row of --input and write --out (id,label), in input order.

    The output paths, the model folder and the input's ids (against sample_submission.csv)
    are checked before anything is predicted.

    \b
    Example:
      mathcls predict -m runs/tfidf --input data/test.csv --out submission.csv
    """
    from ..prediction import predict_file

    output_path = output_old or output_path  # --output: its earlier name
    result = predict_file(model_dir, input_path, output_path, proba=proba, sample_path=sample_path,
                          batch_size=batch_size)
    click.echo(f"Wrote {result.n_rows} predictions to {result.output}"
               + (f" and probabilities to {result.proba_output}" if result.proba_output else "")
               + f" ({result.rows_per_second:.0f} rows/s).")
