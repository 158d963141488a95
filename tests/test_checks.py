"""Checks before work (mathcls.checks) and the CLI paths around them: output files and folders,
the submission's competition folder, and the net for system errors."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from click.testing import CliRunner

from mathcls.checks import check_output_file, check_output_folder
from mathcls.cli import cli
from mathcls.errors import MathclsError


def test_output_file_checks(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    assert check_output_file(tmp_path / "new" / "deeper" / "r.json") == tmp_path / "new" / "deeper" / "r.json"
    assert not (tmp_path / "new").exists()  # a check creates nothing
    with pytest.raises(MathclsError, match=r"a.txt is a file, not a folder"):
        check_output_file(tmp_path / "a.txt" / "sub" / "r.json")
    with pytest.raises(MathclsError, match="is a folder, not a file"):
        check_output_file(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]  # the write probe is gone


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_unwritable_folder_is_found_by_trying_even_as_root():
    # No one, root included, can create a file in /proc; os.access would say root can.
    with pytest.raises(MathclsError, match="folder /proc is not writable"):
        check_output_file("/proc/mathcls-report.json")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(MathclsError, match="is not writable"):
            check_output_folder(ro / "run", "run")
    finally:
        ro.chmod(0o700)


@pytest.mark.parametrize("kind, marker", [("model", "manifest.json"), ("run", "state.json"), ("tune", "study.journal"),
                                          ("generated", "generated.json")])
def test_output_folder_kinds(tmp_path, kind, marker):
    folder = tmp_path / kind
    folder.mkdir()
    assert check_output_folder(folder, kind) == folder  # empty
    (folder / "notes.md").write_text("mine")
    with pytest.raises(MathclsError, match="is not empty and is not"):
        check_output_folder(folder, kind)
    (folder / marker).write_text("{}")
    assert check_output_folder(folder, kind) == folder  # a rerun may replace or resume its own kind


def _competition(tmp_path, name="data"):
    d = tmp_path / name
    d.mkdir()
    pd.DataFrame({"id": ["1", "2"], "Question": ["a", "b"]}).to_csv(d / "test.csv", index=False)
    return d


@pytest.fixture()
def no_credentials(monkeypatch, tmp_path):
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "MATHCLS_DATA"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "kaggle-config"))


@pytest.mark.parametrize("where", ["cwd-data", "env", "run-folder"])
def test_submit_finds_the_competition_files(tmp_path, monkeypatch, no_credentials, where):
    """Without --data, submit checks the ids against ./data, $MATHCLS_DATA or the data folder the
    run that wrote the file recorded; then it reaches the upload (which needs credentials)."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    sub = run / "submission.csv"
    sub.write_text("id,label\n1,0\n2,5\n")
    data = _competition(tmp_path, {"cwd-data": "data", "env": "elsewhere", "run-folder": "kasut"}[where])
    if where == "env":
        monkeypatch.setenv("MATHCLS_DATA", str(data))
    if where == "run-folder":
        (run / "run.json").write_text(json.dumps({"data_dir": str(data)}))
    result = CliRunner().invoke(cli, ["submit", str(sub), "-M", "x"])
    shown = "data/test.csv" if where == "cwd-data" else data / "test.csv"
    assert f"every id of {shown} has one label" in result.stdout
    assert result.exit_code == 1 and "No Kaggle credentials" in result.stderr

    sub.write_text("id,label\n1,0\n")  # the id check is never skipped
    result = CliRunner().invoke(cli, ["submit", str(sub), "-M", "x"])
    assert result.exit_code == 1 and "lacks 1 id(s) of test.csv (e.g. '2')" in result.stderr


def test_system_errors_during_work_are_one_line(tmp_path, competition_dir, monkeypatch):
    """A full disk (or any OSError only the system can report) ends in one line, exit 1."""
    import mathcls.explore

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "images" / "plot.png"))

    monkeypatch.setattr(mathcls.explore, "explore", full_disk)
    result = CliRunner().invoke(cli, ["explore", "--data", str(competition_dir)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.strip() == (f"Error: No space left on device ({tmp_path / 'images' / 'plot.png'}); check the "
                                     "path, its permissions and the free space, then rerun.")
    monkeypatch.setenv("MATHCLS_DEBUG", "1")
    with pytest.raises(OSError):
        CliRunner().invoke(cli, ["explore", "--data", str(competition_dir)], catch_exceptions=False)
