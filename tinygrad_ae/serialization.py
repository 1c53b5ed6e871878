"""`save` and `load`: state dicts as `.npz` files, written atomically and read without pickle.

The file is a plain numpy `.npz` (a zip of `.npy` members, one per key), readable by `np.load`.
"""
import os
import zipfile
import zlib

import numpy as np

from .fileio import atomic_write
from .tensor import Tensor

_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class _PickleRefused(ValueError):
    pass


def save(state_dict, path):
    """Write a dict name -> array (or number, or Tensor) to `path` as an uncompressed .npz, atomically.

    Written with fileio.atomic_write (a temporary file in the same folder, flushed to disk, then renamed
    onto `path`): an interrupted save leaves any previous file at `path` intact.
    """
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"save: keys must be non-empty strings, got {key!r}")
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype.hasobject:
            raise TypeError(f"save: the value for key {key!r} is not numeric ({type(value).__name__} -> object "
                            "array); only numeric arrays and numbers can be saved")
        arrays[key] = array
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: the folder {folder!r} does not exist")

    def write(f):
        # what np.savez does, written out so a key such as "file" or "allow_pickle" cannot
        # collide with np.savez's own keyword arguments
        with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for key, array in arrays.items():
                with zf.open(key + ".npy", mode="w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)

    atomic_write(path, write)


def load(path):
    """Read a .npz written by `save` (or np.savez) into a dict name -> ndarray; pickled data is refused.

    Raises FileNotFoundError for a missing file and ValueError for a file that is not a valid .npz
    or that carries pickled objects (never unpickled: unpickling can run arbitrary code).
    """
    path = os.fspath(path)
    with open(path, "rb") as f:   # a missing file raises FileNotFoundError naming the path
        try:
            return _read_npz(f, path)
        except _PickleRefused:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, zlib.error) as err:
            raise ValueError(f"load: {path!r} is not a valid .npz file (truncated or corrupt?): {err}") from err


def _read_npz(f, path):
    arrays = {}
    with zipfile.ZipFile(f) as zf:
        for name in zf.namelist():
            if not name.endswith(".npy"):
                raise ValueError(f"unexpected member {name!r}, a .npz holds only .npy arrays")
            key = name[:-len(".npy")]
            with zf.open(name) as member:
                # read the header first: an object dtype means a pickle payload, refused unread
                version = np.lib.format.read_magic(member)
                if version not in _HEADER_READERS:
                    raise ValueError(f"member {name!r} has unsupported .npy format version {version}")
                _, _, dtype = _HEADER_READERS[version](member)
            if dtype.hasobject:
                raise _PickleRefused(f"load: {path!r} holds pickled objects (key {key!r}); pickled data is "
                                     "refused because unpickling can run arbitrary code")
            with zf.open(name) as member:
                arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
    return arrays
