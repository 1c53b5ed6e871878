"""`atomic_write`: the one way this package writes a file, so no reader ever sees half of one.

The data goes to a temporary file in the same folder, is flushed to disk, then renamed onto the
target (a rename within a folder is atomic): an interrupted write leaves any previous file intact.
The temporary file is created with mode 0o666, so the kernel applies the process umask exactly as
for a plain open(); the umask itself is never read or changed. Its name is `<name>.<8 hex digits>.tmp`;
a write killed outright (SIGKILL, power loss) leaves it behind, and `remove_stale_temporaries` finds
such leftovers by that name (the training job clears its run folder with it).
"""
import errno
import os
import re
from pathlib import Path

_TEMPORARY = re.compile(r"(?P<target>.+)\.[0-9a-f]{8}\.tmp")
_REFUSED = (errno.EACCES, errno.EPERM, errno.EROFS)


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
    try:
        fd, tmp = _create_temporary(folder, path.name)
    except OSError as err:       # the message would name the temporary file, which the user never chose
        if err.errno not in _REFUSED:
            raise
        raise _refused(err, f"cannot write {str(path)!r}: the folder {str(folder)!r} does not let this "
                            f"process create files in it ({err.strerror})") from err
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.replace(tmp, path)
        except OSError as err:
            if err.errno not in _REFUSED:
                raise
            raise _refused(err, f"cannot write {str(path)!r}: the folder {str(folder)!r} does not let this "
                                f"process replace {path.name!r} in it ({err.strerror})") from err
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:          # already gone, or not removable: the error that stopped the write matters
            pass
        raise
    _sync_folder(folder)
    return path


def _refused(err, message):
    """err retold: same class and errno, a message that names the user's folder and says what to do."""
    refused = type(err)(f"{message}; make the folder writable (e.g. chmod u+w) or write somewhere else")
    refused.errno = err.errno    # (no strerror: str() stays the message)
    return refused


def stale_temporaries(folder, names=None):
    """The files in `folder` named as atomic_write names its temporary files, `<name>.<8 hex>.tmp`:
    leftovers of writes killed outright. names: only those of these target names (e.g. "model.npz")."""
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return found
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if match and (names is None or match["target"] in names) and entry.is_file(follow_symlinks=False):
            found.append(Path(entry.path))
    return sorted(found)


def remove_stale_temporaries(folder, names=None):
    """Delete stale_temporaries(folder, names) and return the paths deleted. Call it only where no
    write into `folder` is under way (a live write's temporary has the same name). A file that
    cannot be deleted is left as it is."""
    removed = []
    for tmp in stale_temporaries(folder, names):
        try:
            os.unlink(tmp)
        except OSError:
            continue
        removed.append(tmp)
    return removed


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
