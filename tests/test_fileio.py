"""fileio.atomic_write: the one atomic write of the package (save, checkpoints, history, pictures, graphs)."""
import errno
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_ae import fileio
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


# ---------------------------------------------------------------- leftovers of killed writes, refused folders

def test_the_temporary_file_is_named_so_that_a_leftover_can_be_recognised(tmp_path):
    """While a write is under way its temporary file is exactly what stale_temporaries finds."""
    seen = []

    def write(f):
        f.write(b"new")
        seen.append(sorted(os.listdir(tmp_path)))
        seen.append(fileio.stale_temporaries(tmp_path))
        seen.append(fileio.stale_temporaries(tmp_path, names=("other.npz",)))

    atomic_write(tmp_path / "model.npz", write)
    [listing], found, other = seen[0], seen[1], seen[2]
    assert re.fullmatch(r"model\.npz\.[0-9a-f]{8}\.tmp", listing)
    assert found == [tmp_path / listing] and other == []
    assert os.listdir(tmp_path) == ["model.npz"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
def test_a_write_killed_by_sigkill_leaves_a_temporary_that_remove_stale_temporaries_deletes(tmp_path):
    target = tmp_path / "checkpoint.npz"
    target.write_bytes(b"old")
    code = ("import sys; from tinygrad_ae.fileio import atomic_write\n"
            "def write(f):\n"
            "    f.write(b'half of the new file'); f.flush()\n"
            "    print('writing', flush=True); sys.stdin.read()\n"     # blocks until killed
            "atomic_write(sys.argv[1], write)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(target)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)})
    try:
        assert child.stdout.readline() == "writing\n"
    finally:
        child.kill()                                                  # SIGKILL: no cleanup code runs
        child.wait()
        child.stdin.close()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    [leftover] = fileio.stale_temporaries(tmp_path)
    assert leftover.name.startswith("checkpoint.npz.") and leftover.read_bytes() == b"half of the new file"
    assert target.read_bytes() == b"old"
    assert fileio.remove_stale_temporaries(tmp_path) == [leftover]
    assert os.listdir(tmp_path) == ["checkpoint.npz"]


def test_only_names_of_the_scheme_are_stale_temporaries(tmp_path):
    stale = ["model.npz.0123abcd.tmp", "history.csv.ffffffff.tmp"]
    kept = ["notes.tmp", "model.npz.tmp", "model.npz.0123ABCD.tmp", "model.npz.0123abc.tmp",
            "model.npz.0123abcd.tmp.bak", "model.npz"]
    for name in stale + kept:
        (tmp_path / name).write_text("x")
    (tmp_path / "folder.npz.00000000.tmp").mkdir()                    # a folder is never deleted
    assert [p.name for p in fileio.stale_temporaries(tmp_path)] == sorted(stale)
    assert [p.name for p in fileio.stale_temporaries(tmp_path, names=("model.npz",))] == [stale[0]]
    assert fileio.remove_stale_temporaries(tmp_path, names=("model.npz",)) == [tmp_path / stale[0]]
    assert sorted(os.listdir(tmp_path)) == sorted(stale[1:] + kept + ["folder.npz.00000000.tmp"])
    assert fileio.stale_temporaries(tmp_path / "absent") == []


def test_a_failing_cleanup_does_not_hide_the_error_that_stopped_the_write(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    def write_then_fail(f):
        f.write(b"half")
        monkeypatch.setattr(os, "unlink", refuse)                     # the temporary cannot be deleted
        raise RuntimeError("mid-write")

    with pytest.raises(RuntimeError, match="mid-write"):
        atomic_write(target, write_then_fail)
    monkeypatch.undo()
    assert target.read_text() == "old"


def _assert_names_the_folder(error, folder, name):
    message = str(error)
    assert message.startswith(f"cannot write {str(folder / name)!r}: the folder {str(folder)!r} does not let")
    assert "make the folder writable" in message and "or write somewhere else" in message
    assert ".tmp" not in message
    assert error.errno == errno.EACCES


def test_a_read_only_folder_is_named_not_the_temporary_file(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("this user writes into read-only folders anyway (root): see the simulated test below")
        with pytest.raises(PermissionError) as info:
            atomic_write(folder / "model.npz", b"x")
        _assert_names_the_folder(info.value, folder, "model.npz")
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o755)


def test_a_refused_temporary_file_is_retold_naming_the_folder(tmp_path, monkeypatch):
    real_open = os.open

    def refuse_temporaries(path, flags, *args):
        if str(path).endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse_temporaries)
    with pytest.raises(PermissionError) as info:
        atomic_write(tmp_path / "model.npz", b"x")
    _assert_names_the_folder(info.value, tmp_path, "model.npz")
    assert "creat" in str(info.value)


def test_a_refused_rename_is_retold_naming_the_folder_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")

    def refuse(source, destination):
        raise PermissionError(errno.EACCES, "Permission denied", str(source), None, str(destination))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError) as info:
        atomic_write(target, b"new")
    _assert_names_the_folder(info.value, tmp_path, "model.npz")
    assert "replace 'model.npz'" in str(info.value)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.npz"] and target.read_bytes() == b"old"
