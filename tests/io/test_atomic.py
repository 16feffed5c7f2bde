"""logdrum.io.atomic: a reader sees the old file or the new one, never half of one."""

import json
import os
import subprocess
import sys

import pytest

from logdrum.io.atomic import (atomic_path, atomic_write, is_temp_name, remove_path, temp_name,
                               write_json_atomic)


def test_write_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("old")
    write_json_atomic(path, {"step": 3})
    assert json.loads(path.read_text()) == {"step": 3}
    assert os.listdir(tmp_path) == ["state.json"]


def test_a_failing_writer_keeps_the_old_file(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_write(path, newline="") as f:
            f.write("half a ro")
            raise RuntimeError("disk on fire")
    assert path.read_text() == "a,b\n1,2\n"
    assert os.listdir(tmp_path) == ["table.csv"]


def test_binary_mode_and_bad_mode(tmp_path):
    with atomic_write(tmp_path / "x.bin", "wb") as f:
        f.write(b"\x00\x01")
    assert (tmp_path / "x.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(tmp_path / "y", "a"):
            pass


def test_atomic_path_places_a_link(tmp_path):
    src = tmp_path / "src.mp3"
    src.write_bytes(b"mp3")
    dest = tmp_path / "dest.mp3"
    with atomic_path(dest) as tmp:
        os.symlink(src, tmp)
    assert dest.is_symlink() and dest.read_bytes() == b"mp3"


def test_temp_names_are_recognised_and_removable(tmp_path):
    tmp = temp_name(tmp_path / "best_model")
    assert tmp.parent == tmp_path and is_temp_name(tmp.name)
    assert not is_temp_name("best_model") and not is_temp_name("last.ckpt")
    tmp.mkdir()
    (tmp / "weights.bin").write_bytes(b"x")       # a half-written export folder
    remove_path(tmp)
    remove_path(tmp)                               # already gone: no error
    assert not tmp.exists()


def test_sigkill_mid_write_leaves_the_old_file_whole(tmp_path):
    """A real process killed while it writes: the target keeps its old content."""
    path = tmp_path / "big.json"
    write_json_atomic(path, {"ok": True})
    code = ("import os, signal\n"
            "from logdrum.io.atomic import atomic_write\n"
            f"with atomic_write({str(path)!r}) as f:\n"
            "    f.write('{\"partial\": ' + 'x' * 100000)\n"
            "    f.flush()\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert done.returncode == -9
    assert json.loads(path.read_text()) == {"ok": True}
    leftovers = [n for n in os.listdir(tmp_path) if n != "big.json"]
    assert leftovers and all(is_temp_name(n) for n in leftovers)
