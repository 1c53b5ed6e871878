"""fileio.atomic_write: the one atomic write of the package (save, checkpoints, history, pictures, graphs)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_ae.fileio import atomic_write

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_ae"


@pytest.mark.parametrize("data, expected", [(b"\x00bytes", b"\x00bytes"), ("text: \u00e9", "text: \u00e9".encode()),
                                            (lambda f: f.write(b"from a function"), b"from a function")])
def test_bytes_text_or_a_writer_function(tmp_path, data, expected):
    path = atomic_write(tmp_path / "f.bin", data)
    assert path == tmp_path / "f.bin" and path.read_bytes() == expected
    assert os.listdir(tmp_path) == ["f.bin"]


def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def write_then_stop(f):
        f.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, write_then_stop)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write(tmp_path / "no" / "f.txt", "x")


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_the_file_gets_the_mode_a_plain_open_would_without_touching_the_umask(tmp_path, umask):
    # in a child process with its own umask; the child checks that atomic_write never changes it
    code = ("import os, sys; from tinygrad_ae.fileio import atomic_write\n"
            f"os.umask({umask})\n"
            "real = os.umask\n"
            "def refuse(*a): raise AssertionError('os.umask called')\n"
            "os.umask = refuse\n"
            "p = atomic_write(sys.argv[1], 'x')\n"
            "print(oct(os.stat(p).st_mode & 0o777))\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "f")], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout, 8) == 0o666 & ~umask


def test_no_module_of_the_package_changes_the_umask():
    for path in PACKAGE.rglob("*.py"):
        assert not re.search(r"\bos\.umask\(", path.read_text()), path
