"""`save` and `load` with torch's shapes: what PyTorch programs save (state dicts, and checkpoints
such as {"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(), "loss": 0.25}) as
one `.npz` file, written atomically and read without pickle.

The file is a plain numpy `.npz` (a zip of `.npy` members): the arrays, one member each (a flat state
dict's members are its keys), and the structure as JSON text in the member `__tinygrad_ae_structure__`
(serialization_tree.py), so np.load(path, allow_pickle=False) reads every part. A state dict of
arrays (a dict or OrderedDict of str -> ndarray) is written as np.savez writes it, with no structure. A file without that
member (np.savez's, or tg.save's before the structure) loads as a dict name -> ndarray, as it always did.
A PyTorch pickle file is refused unread, with the way to convert it.
"""
import collections
import io
import json
import math
import os
import tokenize
import zipfile
import zlib

import numpy as np

from . import dtypes
from .fileio import atomic_write
from .serialization_tree import STRUCTURE, decode, encode

_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_CONVERT = ("convert it once in PyTorch: np.savez(\"weights.npz\", **{k: v.detach().numpy() for k, v in "
            "torch.load(p).items()}), then tg.load(\"weights.npz\")")


class _PickleRefused(ValueError):
    pass


def _write_npz(f, arrays):
    # what np.savez does, written out so a key such as "file" or "allow_pickle" cannot
    # collide with np.savez's own keyword arguments
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in arrays.items():
            with zf.open(key + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _plain_arrays(obj):
    """True for a state dict of arrays (a dict or OrderedDict of str -> ndarray): written without the
    structure, as np.savez would, so that `dict(np.load(path))` gives exactly the weights (the way to
    move them to PyTorch); it loads back as a dict of the same keys, in order, and arrays."""
    return (type(obj) in (dict, collections.OrderedDict) and all(isinstance(k, str) and k != STRUCTURE and "\x00" not in k for k in obj)
            and all(type(v) is np.ndarray and not v.dtype.hasobject for v in obj.values()))


def save(obj, f):
    """torch.save(obj, f): write `obj` to `f` (a path, or a binary file object such as io.BytesIO) as an
    uncompressed .npz. obj: tensors, numpy arrays and scalars, numbers, bools, None, strings, bytes, and
    dicts (str or int keys; OrderedDict stays one), lists and tuples of them. TypeError, before anything
    is written, names the place of anything else.

    A path is written with fileio.atomic_write (a temporary file in the same folder, flushed to disk,
    then renamed onto `path`): an interrupted save leaves any previous file at `path` intact.
    """
    if _plain_arrays(obj):
        arrays = dict(obj)          # np.savez's own format holds exactly this: no structure needed
    else:
        tree, arrays = encode(obj)
        arrays[STRUCTURE] = np.array(json.dumps(tree, allow_nan=False))      # a 0-d unicode array
    if hasattr(f, "write"):
        _write_npz(f, arrays)
        return
    if not isinstance(f, (str, bytes, os.PathLike)):
        raise TypeError(f"save: f must be a path or a binary file object, got {type(f).__name__}")
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: the folder {folder!r} does not exist")
    atomic_write(path, lambda out: _write_npz(out, arrays))


def _check_load_options(map_location, pickle_module, weights_only, mmap, pickle_load_args):
    if pickle_module is not None:
        raise NotImplementedError("load: pickle_module is not supported: tinygrad_ae never unpickles; leave it out")
    if pickle_load_args:
        raise NotImplementedError(f"load: {', '.join(sorted(pickle_load_args))} (arguments for pickle) not supported: "
                                  "tinygrad_ae never unpickles; leave them out")
    if weights_only not in (None, True, False):
        raise TypeError(f"load: weights_only must be True, False or None, got {weights_only!r}")
    if mmap not in (None, False):
        raise NotImplementedError("load: mmap=True is not supported (the arrays are read into memory); pass "
                                  "mmap=None or leave it out")
    if isinstance(map_location, dict):
        for source, target in map_location.items():
            dtypes.check_device(f"load: map_location[{source!r}]", target)
    elif callable(map_location) and not isinstance(map_location, dtypes.device):
        raise NotImplementedError("load: a callable map_location is not supported; everything loads on the CPU, "
                                  "so pass map_location='cpu' or None")
    else:
        dtypes.check_device("load: map_location", map_location)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """torch.load(f): what `save` wrote, the same structure again (Tensors where Tensors were saved,
    ndarrays where arrays, numbers as numbers, an OrderedDict where one was, except that a state dict
    of arrays comes back a dict: see _plain_arrays). f: a path or a binary file object. A .npz
    without the structure (np.savez's) gives a dict name -> ndarray.

    Nothing is ever unpickled, so weights_only (True, False or None) changes nothing; map_location may
    be None or the CPU ("cpu", tg.device("cpu")); another device is a RuntimeError. Raises
    FileNotFoundError for a missing file, and ValueError for a file that is not a valid .npz, that
    carries pickled objects, or that is a PyTorch pickle file (never unpickled: unpickling can run
    arbitrary code; the message says how to convert it).
    """
    _check_load_options(map_location, pickle_module, weights_only, mmap, pickle_load_args)
    if hasattr(f, "read"):
        return _load_file(f, getattr(f, "name", None) or f"<{type(f).__name__}>")
    if not isinstance(f, (str, bytes, os.PathLike)):
        raise TypeError(f"load: f must be a path or a binary file object, got {type(f).__name__}")
    path = os.fspath(f)
    with open(path, "rb") as file:   # a missing file raises FileNotFoundError naming the path
        return _load_file(file, path)


def _load_file(f, path):
    if isinstance(f, io.TextIOBase):
        raise TypeError(f"load: {path!r} is a text file object; open the file in binary mode ('rb')")
    if not (hasattr(f, "seek") and hasattr(f, "tell") and (not hasattr(f, "seekable") or f.seekable())):
        f = io.BytesIO(f.read())                  # zipfile needs to seek
    start = f.tell()
    head = f.read(2)
    f.seek(start)
    if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:     # pickle's PROTO opcode
        raise _PickleRefused(f"load: {path!r} is a pickle file (PyTorch's legacy torch.save format, or pickle.dump); "
                             f"it is not loaded because unpickling runs code stored in the file. To use it, {_CONVERT}")
    try:
        arrays = _read_npz(f, path)
        if STRUCTURE not in arrays:
            return arrays
        text = arrays.pop(STRUCTURE)
        if text.dtype.kind != "U" or text.ndim != 0:
            raise ValueError(f"its member {STRUCTURE!r} is not the JSON text tg.save writes")
        return decode(json.loads(str(text[()])), arrays)
    except _PickleRefused:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, zlib.error, RecursionError) as err:
        raise ValueError(f"load: {path!r} is not a valid .npz file (truncated or corrupt?): "
                         f"{str(err) or type(err).__name__}; "
                         "save it again with tg.save, or use an intact copy") from err


def _read_npz(f, path):
    arrays = {}
    start = f.tell()
    archive_size = f.seek(0, os.SEEK_END) - start
    f.seek(start)
    try:
        zf = zipfile.ZipFile(f)
    except NotImplementedError as err:       # a member needs a newer zip version (or the byte is corrupt)
        raise ValueError(f"its zip structure cannot be read ({err})") from err
    with zf:
        if any(name.endswith(".pkl") for name in zf.namelist()):
            raise _PickleRefused(f"load: {path!r} is a PyTorch pickle file (torch.save's zip format, members such "
                                 f"as 'archive/data.pkl'); it is not loaded because unpickling runs code stored in "
                                 f"the file. To use it, {_CONVERT}")
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
