"""All-or-nothing output files (lgcraft.files)."""

from __future__ import annotations

import os
import stat

import pytest

from lgcraft.errors import InputError
from lgcraft.files import write_atomic, write_text_atomic


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_writes_bytes_and_callables_with_the_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.bin", b"\x00\x01")
        write_atomic(tmp_path / "sub" / "b.txt", lambda handle: handle.write(b"hi"))
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "sub" / "b.txt").read_text() == "hi"
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o644


def test_a_failing_writer_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    write_text_atomic(target, "old")

    def broken(handle):
        handle.write(b"half of it")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, broken)
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["under-a-file", "a-folder"])
def test_an_unwritable_path_is_an_input_error_naming_it(tmp_path, where):
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    target = tmp_path / "file" / "out.png" if where == "under-a-file" else tmp_path / "folder"
    with pytest.raises(InputError, match="cannot write .*" + target.name):
        write_atomic(target, b"data")
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "folder") == []


def test_exclusive_never_replaces_and_mode_is_kept(tmp_path):
    target = tmp_path / "key.json"
    write_atomic(target, b"secret", mode=0o600, exclusive=True)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(InputError, match="already exists"):
        write_atomic(target, b"other", exclusive=True)
    assert target.read_bytes() == b"secret"
    assert leftovers(tmp_path) == []
