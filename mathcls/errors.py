"""Errors a user can cause. The CLI prints their message as one line and exits non-zero."""


class MathclsError(Exception):
    """A problem the user can fix: bad input file, unknown model name, missing credentials.

    The message is one sentence that says what was wrong and what to do.
    """


class DataError(MathclsError, ValueError):
    """A competition file is missing or malformed."""


class ModelFolderError(MathclsError, ValueError):
    """A saved model folder is missing, incomplete or of an unknown format."""


class OptionalDependencyError(MathclsError, ImportError):
    """An optional dependency is not installed."""


def require(module: str, extra: str = "neural"):
    """Import ``module`` or raise :class:`OptionalDependencyError` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise OptionalDependencyError(
            f"{module} is not installed; install it with `pip install 'mathcls[{extra}]'`."
        ) from exc


class ParameterError(MathclsError, ValueError):
    """An estimator parameter has an invalid value (raised when ``fit`` validates its parameters)."""


class ConfigError(MathclsError, ValueError):
    """A TOML config has an unknown key or a value of the wrong type (found when it is loaded)."""


def did_you_mean(word, choices) -> str:
    """``" (did you mean 'params'?)"`` for the choice closest to a misspelt ``word``, else ``""``."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
