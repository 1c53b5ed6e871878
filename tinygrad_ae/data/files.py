"""Reading a data set's images (or rows) and labels from files: the IDX format of MNIST, and a user's own
.npy, .npz and .csv. read() is the one reader, by the path's kind; load_array() makes a user's rows of it.

IDX file names (the train and test split of a folder): Debian's and LeCun's train-images-idx3-ubyte[.gz],
t10k-labels-idx1-ubyte[.gz], ..., and the dotted variant train-images.idx3-ubyte.
"""
import gzip
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .rows import as_rows, scale_to_unit, validate_rows


# ---------------------------------------------------------------- IDX files (MNIST format)

# type code -> big-endian dtype, as in the format's description on the MNIST page
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read one IDX file, plain or gzipped (told by its first bytes, not its name), into an ndarray.

    Raises ValueError naming the file and what is wrong with it.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{path}: gzip data is damaged or cut short ({e})") from None
    if len(raw) < 4:
        raise ValueError(f"{path}: not an IDX file: only {len(raw)} bytes, the header alone needs 4")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file: wrong magic number, the first two bytes are "
                         f"{raw[0]:#04x} {raw[1]:#04x} instead of 0x00 0x00")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"{c:#04x}" for c in IDX_TYPES)
        raise ValueError(f"{path}: unknown IDX type code {code:#04x} (known: {known})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header says 0 dimensions; expected at least 1")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated header: {ndim} dimensions need {header} bytes, the file has {len(raw)}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_TYPES[code])
    expected = math.prod(shape) * dtype.itemsize          # Python ints: no overflow on absurd sizes
    got = len(raw) - header
    if got < expected:
        raise ValueError(f"{path}: truncated: the header's sizes {shape} of {dtype.itemsize}-byte values "
                         f"need {expected} data bytes, got {got}")
    if got > expected:
        raise ValueError(f"{path}: {got - expected} trailing bytes after the data: the header's sizes {shape} "
                         f"of {dtype.itemsize}-byte values need {expected} data bytes, got {got}")
    # astype to native byte order also copies, so the result is writable
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def idx_names(split, kind):
    """The names a standard IDX file of `split` ('train' or 'test') and `kind` ('images' or 'labels') goes by."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    dims = 3 if kind == "images" else 1
    stems = (f"{prefix}-{kind}-idx{dims}-ubyte", f"{prefix}-{kind}.idx{dims}-ubyte")
    return [name for stem in stems for name in (stem + ".gz", stem)]


def find_idx(folder, split, kind):
    """The path of the standard IDX file of `split` and `kind` in folder, or None."""
    for name in idx_names(split, kind):
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def read_idx_pair(images, labels=None):
    """(images, labels or None) as stored in two IDX files; ValueError if they hold different counts."""
    X = read_idx(images)
    y = None if labels is None else read_idx(labels)
    if y is not None and len(y) != len(X):
        raise ValueError(f"{images} holds {len(X)} images but {labels} holds {len(y)} labels")
    return X, y


def _read_idx_folder(folder, split):
    """Images (and labels when present) from a folder of IDX files.

    Standard names first (train-images-idx3-ubyte[.gz], t10k-...); otherwise the folder's only *idx3* file.
    """
    images = find_idx(folder, split, "images")
    labels = find_idx(folder, split, "labels")
    if images is None:
        found = sorted(p.name for p in folder.iterdir() if p.is_file() and "idx3" in p.name)
        if len(found) != 1:
            raise FileNotFoundError(
                f"{folder}: expected IDX image files named like {idx_names(split, 'images')[0]} "
                f"(plain or .gz), or exactly one file with 'idx3' in its name; found {found or 'none'}")
        images, labels = folder / found[0], None
    X, y = read_idx_pair(images, labels)
    return X, None if y is None else y.astype(np.int64)


# ---------------------------------------------------------------- a user's own arrays

# what np.load raises on a damaged, truncated or pickled file
UNREADABLE = (ValueError, EOFError, OSError, zipfile.BadZipFile)


def _read_npz(path):
    """The array named X (else the first array) and, if present, labels named y or labels."""
    try:
        with np.load(path, allow_pickle=False) as f:
            names = f.files
            X = (f["X"] if "X" in names else f[names[0]]) if names else None
            label_key = next((k for k in ("y", "labels") if k in names), None)
            y = f[label_key] if label_key else None
    except UNREADABLE as e:
        raise ValueError(f"{path}: cannot read the .npz file ({e}); save plain numeric arrays with np.savez") from None
    if X is None:
        raise ValueError(f"{path}: the .npz file holds no arrays")
    return X, y


def _read_csv(path):
    """Numeric rows separated by commas, semicolons or whitespace; a first row that is not numeric is a header."""
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    if not first.strip():
        raise ValueError(f"{path}: the CSV file is empty or starts with a blank line; expected numeric rows")
    delimiter = "," if "," in first else ";" if ";" in first else None
    try:
        [float(v) for v in first.split(delimiter)]
        header = 0
    except ValueError:
        header = 1                                          # e.g. column names
    try:
        return np.loadtxt(path, delimiter=delimiter, skiprows=header, ndmin=2, dtype=np.float64)
    except ValueError as e:
        raise ValueError(f"{path}: not a CSV of numeric rows ({e})") from None


def read(path, split="train"):
    """(array, labels or None) as stored in path: a .npy, .npz or .csv file, an IDX file, or a folder of IDX files."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        return _read_idx_folder(path, split)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            return np.load(path, allow_pickle=False), None
        except UNREADABLE as e:
            raise ValueError(f"{path}: cannot read the .npy file ({e}); save a plain numeric array with np.save") from None
    if suffix == ".npz":
        return _read_npz(path)
    if suffix in (".csv", ".txt"):
        return _read_csv(path), None
    if "idx" in path.name.lower():                          # a single IDX file, e.g. train-images-idx3-ubyte.gz
        return read_idx(path), None
    raise ValueError(f"{path}: unsupported file type {suffix or '(none)'!r}; "
                     "give a .npy, .npz or .csv file of rows, an IDX file, or a folder of IDX files")


def load_array(path, scale=True):
    """A user's own rows as float32 (m, n): .npy, .npz (array X or the first one), .csv, or a folder of IDX files.

    Image stacks (m, h, w) are flattened to rows. Bad data (non-numeric, empty, NaN/inf, wrong rank) is
    refused with a ValueError. With scale=True the values are brought into [0, 1] as `scale_to_unit` says
    (kept if already there, 0..255 pixels divided by 255, otherwise one min-max map).
    """
    X, _ = read(path)
    X, _ = as_rows(X)
    X = validate_rows(X, what=str(path))
    return scale_to_unit(X)[0] if scale else X.astype(np.float32)
