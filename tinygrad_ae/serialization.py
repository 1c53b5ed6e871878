"""`save` and `load`: state dicts as `.npz` files, written atomically and read without pickle.

The file is a plain numpy `.npz` (a zip of `.npy` members, one per key), readable by `np.load`.
"""
import math
import os
import tokenize
import zipfile
import zlib

import numpy as np

from .fileio import atomic_write
from .engine.tensor import Tensor

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
            raise ValueError(f"load: {path!r} is not a valid .npz file (truncated or corrupt?): "
                             f"{str(err) or type(err).__name__}; "
                             "save it again with tg.save, or use an intact copy") from err


def _read_npz(f, path):
    arrays = {}
    archive_size = os.fstat(f.fileno()).st_size
    try:
        zf = zipfile.ZipFile(f)
    except NotImplementedError as err:       # a member needs a newer zip version (or the byte is corrupt)
        raise ValueError(f"its zip structure cannot be read ({err})") from err
    with zf:
        for name in zf.namelist():
            if not name.endswith(".npy"):
                raise ValueError(f"unexpected member {name!r}, a .npz holds only .npy arrays")
            key = name[:-len(".npy")]
            with _open_member(zf, name) as member:
                # read the header first: an object dtype means a pickle payload, refused unread
                version = np.lib.format.read_magic(member)
                if version not in _HEADER_READERS:
                    raise ValueError(f"member {name!r} has unsupported .npy format version {version}")
                try:
                    shape, _, dtype = _HEADER_READERS[version](member)
                except (tokenize.TokenError, SyntaxError) as err:       # a header dict cut short
                    raise ValueError(f"member {name!r} has a malformed .npy header ({err})") from err
                header_size = member.tell()
            if dtype.hasobject:
                raise _PickleRefused(f"load: {path!r} holds pickled objects (key {key!r}); pickled data is "
                                     "refused because unpickling can run arbitrary code")
            # the header's shape is only a claim: compare it with the bytes the member holds before
            # anything is allocated (a 300-byte file can declare a terabyte)
            declared = math.prod(shape) * dtype.itemsize
            held = _member_size(zf.getinfo(name), archive_size) - header_size
            if declared != held:
                raise ValueError(f"member {name!r} declares shape {shape} of {dtype} ({declared} bytes) "
                                 f"but holds {held} bytes of data")
            with _open_member(zf, name) as member:
                arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
    return arrays


def _member_size(info, archive_size):
    """The member's uncompressed size from the zip's directory, itself only a claim: bounded here by
    the bytes the archive really has (a stored member holds exactly its size; deflate expands at most
    1032-fold). bzip2 and lzma members, which numpy never writes, are taken at their word."""
    name = info.filename
    if info.compress_size > archive_size:
        raise ValueError(f"member {name!r} claims {info.compress_size} bytes, more than the whole file")
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise ValueError(f"member {name!r} is stored uncompressed but claims {info.file_size} bytes "
                         f"in {info.compress_size}")
    if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > 1032 * info.compress_size + 1024:
        raise ValueError(f"member {name!r} claims {info.file_size} bytes from {info.compress_size} "
                         "compressed, more than deflate can expand")
    return info.file_size


def _open_member(zf, name):
    try:
        return zf.open(name)
    except NotImplementedError as err:       # a compression method zipfile lacks, or a corrupt method byte
        raise ValueError(f"member {name!r} cannot be decompressed ({err})") from err
    except RuntimeError as err:              # the member is flagged as encrypted
        raise ValueError(f"member {name!r} cannot be read ({err})") from err
