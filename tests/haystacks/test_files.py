"""The one atomic writer (:mod:`haystacks.files`): whole files or nothing, the usual mode, no temporaries."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from haystacks.files import current_umask, place_dir, write_atomic, write_json_atomic


def test_text_bytes_and_streams_are_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "new" / "dir" / "f.txt"
    write_atomic(target, "上海\r\n")
    assert target.read_bytes() == "上海\r\n".encode()  # newlines untranslated, UTF-8
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    write_atomic(target, iter(["a", b"b", "c"]))
    assert target.read_text() == "abc"
    assert target.stat().st_mode & 0o777 == 0o666 & ~current_umask()
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.txt"]


def test_a_failing_stream_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")

    def chunks() -> Iterator[str]:
        yield "half of the new"
        raise RuntimeError("the builder failed")

    with pytest.raises(RuntimeError):
        write_atomic(target, chunks())
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_a_failing_rename_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f.json"
    write_json_atomic(target, {"a": 1})

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        write_json_atomic(target, {"a": 2})
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_place_dir_replaces_and_restores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    first = tmp_path / ".first"
    first.mkdir(mode=0o700)
    (first / "x").write_text("1")
    place_dir(first, out)
    assert (out / "x").read_text() == "1" and not first.exists()
    assert out.stat().st_mode & 0o777 == 0o777 & ~current_umask()
    second = tmp_path / ".second"
    second.mkdir()
    (second / "x").write_text("2")
    real = os.replace

    def fail_second(src: object, dst: object) -> None:
        if Path(str(src)) == second:
            raise OSError(13, "Permission denied")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", fail_second)
    with pytest.raises(OSError):
        place_dir(second, out)
    monkeypatch.undo()
    assert (out / "x").read_text() == "1"  # the old directory is back
    place_dir(second, out)
    assert (out / "x").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
