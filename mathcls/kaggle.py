"""Kaggle access: download the competition files and upload a submission.

Credentials are checked before the Kaggle client is imported (its import tries to authenticate),
so a missing ``kaggle.json`` is reported in one sentence instead of a traceback or a hang.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .env import kaggle_credentials_source
from .errors import MathclsError

DEFAULT_COMPETITION = "classification-of-math-problems-by-kasut-academy"

_NO_CREDENTIALS = (
    "No Kaggle credentials found; create an API token on kaggle.com (Settings > API) and save it as "
    "~/.kaggle/kaggle.json (chmod 600), or set KAGGLE_USERNAME and KAGGLE_KEY."
)


def _api():
    if kaggle_credentials_source() is None:
        raise MathclsError(_NO_CREDENTIALS)
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError:  # pragma: no cover - kaggle is a dependency
        raise MathclsError("The kaggle package is not installed; install it with `pip install kaggle`.") from None
    api = KaggleApi()
    try:
        api.authenticate()
    except (Exception, SystemExit) as exc:  # the client raises bare exceptions or exits
        raise MathclsError(f"Kaggle rejected the credentials ({_first_line(exc)}); check ~/.kaggle/kaggle.json.") from None
    return api


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def download(competition: str = DEFAULT_COMPETITION, out: str | Path = "data") -> list[Path]:
    """Download and unzip the competition files into ``out``; returns the files written."""
    api = _api()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        api.competition_download_files(competition, path=str(out), quiet=False)
    except (Exception, SystemExit) as exc:
        raise MathclsError(
            f"Could not download competition {competition!r} ({_first_line(exc)}); check the slug, that you "
            "joined the competition on kaggle.com, and your network."
        ) from None
    written = []
    for archive in out.glob("*.zip"):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                target = (out / member).resolve()
                if out.resolve() not in target.parents and target != out.resolve():
                    raise MathclsError(f"{archive} holds a path outside {out} ({member}); not extracting it.")
            zf.extractall(out)
            written += [out / m for m in zf.namelist()]
        archive.unlink()
    return written


def submit(path: str | Path, message: str, competition: str = DEFAULT_COMPETITION) -> None:
    """Upload a submission file (validate it first with :func:`mathcls.submission.validate_submission`)."""
    api = _api()
    try:
        api.competition_submit(str(path), message, competition)
    except (Exception, SystemExit) as exc:
        raise MathclsError(f"Kaggle did not accept the submission ({_first_line(exc)}); check the competition slug and your network.") from None
