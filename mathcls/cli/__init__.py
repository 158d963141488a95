"""The ``mathcls`` command line. Commands live in their own modules and load on demand, so
``mathcls --help`` stays fast and never imports torch."""

from __future__ import annotations

import importlib
import sys

import click

from .. import __version__

#: command name -> "module:function", loaded when the command runs or its help is shown.
COMMANDS: dict[str, str] = {
    "download": "mathcls.cli.kaggle_cmds:download",
    "explore": "mathcls.cli.explore:explore",
    "generate": "mathcls.cli.generate:generate",
    "train": "mathcls.cli.train:train",
    "tune": "mathcls.cli.tune:tune",
    "stack": "mathcls.cli.run:stack",
    "run": "mathcls.cli.run:run",
    "evaluate": "mathcls.cli.evaluate:evaluate",
    "predict": "mathcls.cli.predict:predict",
    "explain": "mathcls.cli.explain:explain",
    "submit": "mathcls.cli.kaggle_cmds:submit",
}

#: one-line help shown in ``mathcls --help`` without importing the command module.
SHORT_HELP: dict[str, str] = {
    "download": "Download the competition files with the Kaggle API.",
    "explore": "Report on the data: classes, lengths, text features, duplicates; PNG plots.",
    "generate": "Generate (-g) or augment (-a) extra training rows into data/generated.",
    "train": "Train one model family and save a model folder.",
    "tune": "Tune a model family's parameters with Optuna (resumable, many workers).",
    "stack": "Stack base models with a LightGBM meta-learner on out-of-fold probabilities.",
    "run": "Everything: [generate], tune, stack, submission.csv + leaderboard (try --demo).",
    "evaluate": "Evaluate saved models on a labelled CSV; ranked table and confusion matrices.",
    "predict": "Predict labels for a CSV and write a submission.",
    "explain": "Show the most indicative terms per class of a TF-IDF model.",
    "submit": "Validate a submission and upload it to Kaggle.",
}


def _verbosity(ctx, param, value):
    """Callback of -q/-v on every command: (re)configure the console handler of the mathcls logger."""
    from .logs import configure_console

    ctx.meta[f"mathcls.{param.name}"] = value
    configure_console(bool(ctx.meta.get("mathcls.quiet")), int(ctx.meta.get("mathcls.verbose") or 0))
    ctx.call_on_close(configure_console)  # back to the defaults once the command is done (tests, embedding)
    return value


def _with_verbosity(command):
    """Give ``command`` -q/--quiet (only warnings and errors; no progress bars where it has them)
    and -v/--verbose (debug lines), once."""
    if getattr(command, "_mathcls_verbosity", False):
        return command
    opts = {o for p in command.params for o in p.opts}
    if "--quiet" not in opts:  # tune and generate have their own: no progress bar, the lines stay
        command.params.append(click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_verbosity,
                                           help="Only warnings and errors."))
    command.params.append(click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=_verbosity,
                                       help="Also debug lines."))
    command._mathcls_verbosity = True
    return command


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used, and which turns user errors
    (:class:`~mathcls.errors.MathclsError`) into one line on stderr and exit code 1."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        return _with_verbosity(getattr(importlib.import_module(module), attr))

    def format_commands(self, ctx, formatter):
        rows = [(name, SHORT_HELP.get(name, "")) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx):
        from ..env import env
        from ..errors import MathclsError

        try:
            return super().invoke(ctx)
        except MathclsError as exc:
            if env("DEBUG"):
                raise
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            # The commands check their paths before working; this is the net for what only the
            # system can tell (a full disk, a path that changed while the command ran).
            if env("DEBUG"):
                raise
            where = f" ({exc.filename})" if exc.filename else ""
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise click.ClickException(f"{reason}{where}; check the path, its permissions and the free space, "
                                       "then rerun.") from None
        except KeyboardInterrupt:
            click.echo("Interrupted; finished outputs are kept, partial ones removed.", err=True)
            sys.exit(130)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mathcls")
def cli():
    """mathcls: classify math problems into 8 topics.

    Start with `mathcls run --demo --out runs/demo`, or train one model with
    `mathcls train tfidf --data data/ --out runs/tfidf`.
    Set MATHCLS_DEBUG=1 to see full tracebacks.
    """


def main(argv=None):
    """Console-script entry point."""
    from ..env import quiet_openmp_threads

    quiet_openmp_threads()
    return cli.main(args=argv, prog_name="mathcls")
