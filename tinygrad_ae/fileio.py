"""`atomic_write`: the one way this package writes a file, so no reader ever sees half of one.

The data goes to a temporary file in the same folder, is flushed to disk, then renamed onto the
target (a rename within a folder is atomic): an interrupted write leaves any previous file intact.
The temporary file is created with mode 0o666, so the kernel applies the process umask exactly as
for a plain open(); the umask itself is never read or changed.
"""
import os
from pathlib import Path


def atomic_write(path, data):
    """Write `data` to `path` atomically and return `path` as a Path.

    data: bytes, str (written as UTF-8), or a function that writes to the binary file object it is given
    (e.g. `lambda f: fig.savefig(f, format="png")`). The folder must exist (FileNotFoundError otherwise).
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {str(path)!r}: the folder {str(folder)!r} does not exist")
    if isinstance(data, str):
        data = data.encode()
    fd, tmp = _create_temporary(folder, path.name)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _sync_folder(folder)
    return path


def _create_temporary(folder, name):
    """(fd, path) of a new file `<name>.<random>.tmp` in `folder`, created 0o666 minus the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = folder / f"{name}.{os.urandom(4).hex()}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:      # 2**32 names: a clash is rare, and the next name is fresh
            continue


def _sync_folder(folder):
    """Make the rename itself durable where the platform allows it (POSIX); elsewhere a no-op."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
