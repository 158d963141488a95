"""The one atomic writer: readers see the old version or the new one, never half of either."""

from __future__ import annotations

import pytest

from mathcls.atomic import atomic_path, write_text


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "done.json"
    write_text(target, '{"ok": 1}\n')
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"half": ')
        raise RuntimeError("crash mid-write")
    assert target.read_text() == '{"ok": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["done.json"]


def test_a_folder_is_replaced_whole(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.bin").write_text("old")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "new.bin").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_missing_parent_folders_are_made_and_suffix_is_kept(tmp_path):
    target = tmp_path / "a" / "b" / "plot.png"
    with atomic_path(target, suffix=".png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == target.parent
        tmp.write_bytes(b"\x89PNG")
    assert target.read_bytes() == b"\x89PNG"
