"""The run-folder lock: a second command on a folder in use refuses in one sentence; a dead
holder's lock is taken over."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.errors import MathclsError
from mathcls.lock import LOCK_FILE, folder_lock


def test_a_second_holder_is_refused_naming_the_first(tmp_path):
    with folder_lock(tmp_path, "run", "Run folder"):
        with pytest.raises(MathclsError, match=r"Run folder .* is in use by `mathcls run` \(pid \d+ on .+, started "):
            with folder_lock(tmp_path, "stack", "Run folder"):
                pass
    with folder_lock(tmp_path, "stack"):  # released on exit: free again
        pass


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    code = ("import os, sys; from mathcls.lock import folder_lock\n"
            f"with folder_lock({str(tmp_path)!r}, 'run'):\n    os._exit(9)\n")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9  # died holding it, no cleanup
    assert "run" in (tmp_path / LOCK_FILE).read_text()
    with folder_lock(tmp_path, "stack"):
        assert "stack" in (tmp_path / LOCK_FILE).read_text()


def test_a_held_lock_blocks_another_process(tmp_path):
    code = (f"from mathcls.lock import folder_lock\nwith folder_lock({str(tmp_path)!r}, 'stack'):\n    pass\n")
    with folder_lock(tmp_path, "run"):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0 and "is in use by `mathcls run`" in result.stderr


def test_mathcls_stack_on_a_folder_in_use_refuses_in_one_sentence(competition_dir, tmp_path):
    out = tmp_path / "run"
    with folder_lock(out, "run", "Run folder"):
        result = CliRunner().invoke(cli, ["stack", "--data", str(competition_dir), "--out", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert "is in use by `mathcls run`" in last and "pass another --out" in last
    assert not (out / "state.json").exists()


def test_a_command_that_fails_before_writing_leaves_no_folder(tmp_path):
    out = tmp_path / "new"
    with pytest.raises(RuntimeError):
        with folder_lock(out, "run"):
            raise RuntimeError("bad data")
    assert not out.exists()
