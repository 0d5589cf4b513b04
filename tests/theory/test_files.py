"""theory.files: a write is whole or absent, and a failed one leaves the old file and no temporary behind."""

from __future__ import annotations

import os

import pytest

from theory.files import write_bytes_atomic, write_text_atomic


def test_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old", encoding="utf-8")
    assert write_text_atomic(path, "new ü\n") == path
    assert path.read_text(encoding="utf-8") == "new ü\n"
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o644)
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        write_bytes_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_a_missing_directory_is_an_oserror(tmp_path):
    with pytest.raises(OSError):
        write_text_atomic(tmp_path / "absent" / "out.txt", "x")
