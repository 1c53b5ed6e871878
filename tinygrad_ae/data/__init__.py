"""Data for the autoencoder: the embedded digits, an IDX (MNIST format) reader, other people's arrays, batching.

Everything returned for training is a float array of rows: shape (m, n), one example per row, as the
lecture's X. Needs numpy only.
"""
import gzip
import math
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple, Optional, Tuple

import numpy as np

__all__ = [
    "Dataset", "load_dataset", "load_digits", "read_idx", "load_mnist", "load_fashion_mnist",
    "load_array", "scale_to_unit", "validate_rows", "train_val_split", "iterate_minibatches",
    "FASHION_MNIST_DIR", "DATASET_NAMES", "has_test_split",
]

DIGITS_FILE = Path(__file__).resolve().parent.parent / "_datasets" / "digits.npz"
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")   # where Debian's dataset-fashion-mnist puts them
DATASET_NAMES = ("digits", "fashion-mnist", "mnist")


class Dataset(NamedTuple):
    """Rows X (m, n) float32 in [0, 1], labels y (m,) int64 or None, image_shape (h, w) or None, name."""
    X: np.ndarray
    y: Optional[np.ndarray]
    image_shape: Optional[Tuple[int, int]]
    name: str


# ---------------------------------------------------------------- the embedded digits

def load_digits(dtype=np.float32):
    """The 1,797 8x8 UCI handwritten digits (Alpaydin and Kaynak, 1998; CC BY 4.0).

    Returns (X, y): X (1797, 64) = pixels / 16, in [0, 1]; y (1797,) int64 digits 0..9.
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"load_digits: dtype must be a floating type such as np.float32, got {dtype}")
    with np.load(DIGITS_FILE, allow_pickle=False) as f:
        pixels, labels = f["pixels"], f["labels"]
    return (pixels / 16.0).astype(dtype), labels.astype(np.int64)


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


def _split_prefix(split):
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return "train" if split == "train" else "t10k"


def _idx_candidates(prefix, kind):
    """Names a standard IDX file goes by: Debian's and LeCun's (train-images-idx3-ubyte) and the dotted variant."""
    dims = 3 if kind == "images" else 1
    stems = (f"{prefix}-{kind}-idx{dims}-ubyte", f"{prefix}-{kind}.idx{dims}-ubyte")
    return [name for stem in stems for name in (stem + ".gz", stem)]


def _find_idx(folder, prefix, kind):
    for name in _idx_candidates(prefix, kind):
        if (folder / name).is_file():
            return folder / name
    return None


def _load_idx_pair(folder, split, what, how_to_get):
    """Images (n, h, w) as float32 rows in [0, 1] and labels int64 from a folder in the standard layout."""
    folder = Path(folder)
    prefix = _split_prefix(split)
    images, labels = _find_idx(folder, prefix, "images"), _find_idx(folder, prefix, "labels")
    if images is None or labels is None:
        missing = [k for k, p in (("images", images), ("labels", labels)) if p is None]
        looked = ", ".join(_idx_candidates(prefix, missing[0]))
        raise FileNotFoundError(f"{what} {split} {' and '.join(missing)} not found in {folder} (looked for {looked}). "
                                f"{how_to_get}")
    X, y = read_idx(images), read_idx(labels)
    if X.ndim != 3 or y.ndim != 1:
        raise ValueError(f"{images} and {labels}: expected images of shape (n, height, width) and labels of shape "
                         f"(n,), got {X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"{images} holds {len(X)} images but {labels} holds {len(y)} labels")
    rows = X.reshape(len(X), -1)
    # unsigned bytes are 0..255 pixels by definition, whatever range this particular file uses
    rows = rows / np.float32(255) if rows.dtype == np.uint8 else scale_to_unit(validate_rows(rows, what=str(images)))[0]
    return rows.astype(np.float32), y.astype(np.int64), X.shape[1:]


def load_mnist(folder, split="train"):
    """MNIST from a folder holding the four standard IDX files (plain or .gz).

    Returns (X, y): X float32 (n, 784) in [0, 1], y int64 (n,). split: 'train' (60,000) or 'test' (10,000).
    """
    how = ("Download the four MNIST files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
           "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into one folder and pass that folder "
           "(load_mnist(folder), or --data FOLDER on the command line).")
    X, y, _ = _load_idx_pair(folder, split, "MNIST", how)
    return X, y


def load_fashion_mnist(folder=None, split="train"):
    """Fashion-MNIST from `folder`, by default where Debian's dataset-fashion-mnist package installs it.

    Returns (X, y): X float32 (n, 784) in [0, 1], y int64 (n,). split: 'train' (60,000) or 'test' (10,000).
    """
    folder = FASHION_MNIST_DIR if folder is None else folder
    how = ("Install them with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu, puts them in "
           f"{FASHION_MNIST_DIR}), or pass a folder holding the four Fashion-MNIST IDX files.")
    X, y, _ = _load_idx_pair(folder, split, "Fashion-MNIST", how)
    return X, y


# ---------------------------------------------------------------- a user's own arrays

def scale_to_unit(X):
    """Bring numbers into [0, 1] as float32; returns (X, how) with `how` saying what was done.

    - already within [0, 1]: kept as they are;
    - whole numbers within 0..255 (8-bit pixels): divided by 255, the usual image convention;
    - anything else: one min-max map for the whole array, (X - min) / (max - min). A single affine map
      (not one per column) keeps the geometry between rows, so PCA and the autoencoder see the same
      structure, only rescaled.
    Assumes finite values (validate_rows checks that first).
    """
    X = np.asarray(X)
    lo, hi = (X.min(), X.max()) if X.size else (0, 0)
    if 0 <= lo and hi <= 1:
        return X.astype(np.float32), "none"
    if 0 <= lo and hi <= 255 and (X.dtype.kind in "iub" or np.array_equal(X, np.round(X))):
        return (X / np.float32(255)).astype(np.float32), "divided by 255 (0..255 pixels)"
    span = float(hi) - float(lo)
    if span == 0:                                           # one value everywhere: nothing to rescale but the offset
        return np.zeros(X.shape, np.float32), f"constant {lo:g} shifted to 0"
    X = (X.astype(np.float64) - float(lo)) / span
    return X.astype(np.float32), f"min-max scaled from [{lo:g}, {hi:g}]"


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


def _read_idx_folder(folder, split):
    """Images (and labels when present) from a folder of IDX files.

    Standard names first (train-images-idx3-ubyte[.gz], t10k-...); otherwise the folder's only *idx3* file.
    """
    prefix = _split_prefix(split)
    images = _find_idx(folder, prefix, "images")
    labels = _find_idx(folder, prefix, "labels")
    if images is None:
        found = sorted(p.name for p in folder.iterdir() if p.is_file() and "idx3" in p.name)
        if len(found) != 1:
            raise FileNotFoundError(
                f"{folder}: expected IDX image files named like {_idx_candidates(prefix, 'images')[0]} "
                f"(plain or .gz), or exactly one file with 'idx3' in its name; found {found or 'none'}")
        images, labels = folder / found[0], None
    X = read_idx(images)
    y = read_idx(labels).astype(np.int64) if labels is not None else None
    if y is not None and len(y) != len(X):
        raise ValueError(f"{images} holds {len(X)} images but {labels} holds {len(y)} labels")
    return X, y


def _read_any(path, split="train"):
    """Raw array and labels (or None) from .npy, .npz, .csv or a folder of IDX files."""
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


def _as_rows(X):
    """(n, h, w) images become (n, h*w) rows; returns (rows, (h, w) or None)."""
    X = np.asarray(X)
    if X.ndim == 3:
        return X.reshape(len(X), -1), X.shape[1:]
    return X, None


def load_array(path, scale=True):
    """A user's own rows as float32 (m, n): .npy, .npz (array X or the first one), .csv, or a folder of IDX files.

    Image stacks (m, h, w) are flattened to rows. Bad data (non-numeric, empty, NaN/inf, wrong rank) is
    refused with a ValueError. With scale=True the values are brought into [0, 1] as `scale_to_unit` says
    (kept if already there, 0..255 pixels divided by 255, otherwise one min-max map).
    """
    X, _ = _read_any(path)
    X, _ = _as_rows(X)
    X = validate_rows(X, what=str(path))
    return scale_to_unit(X)[0] if scale else X.astype(np.float32)


def _guess_image_shape(n_features):
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else None


def has_test_split(name_or_path, folder=None):
    """True if the data set comes with its own test files: Fashion-MNIST and MNIST (t10k-* in their folder),
    or a folder of IDX files that holds t10k-images and t10k-labels next to the training files."""
    key = str(name_or_path).strip().lower().replace("_", "-")
    if key == "fashion-mnist":
        folder = FASHION_MNIST_DIR if folder is None else folder
    elif key == "mnist":
        if folder is None:
            return False
    elif key == "digits" or not Path(name_or_path).is_dir():
        return False
    else:
        folder = name_or_path
    folder = Path(folder)
    return _find_idx(folder, "t10k", "images") is not None and _find_idx(folder, "t10k", "labels") is not None


def load_dataset(name_or_path, split="train", folder=None):
    """What `--data` names: 'digits', 'fashion-mnist', 'mnist', or a path (.npy/.npz/.csv or a folder of IDX files).

    split: 'train' or 'test' for the MNIST-like sets; the digits and a user's file have one set only, so they
    take 'train' (all rows; split them with train_val_split). folder: where the MNIST-like files are
    (Fashion-MNIST defaults to Debian's folder; MNIST needs it). Returns a Dataset.
    """
    key = str(name_or_path).strip().lower().replace("_", "-")
    if key in ("fashion-mnist", "mnist"):
        if key == "mnist" and folder is None:
            raise FileNotFoundError(
                "MNIST is not shipped with tinygrad_ae. Download the four MNIST files (train-images-idx3-ubyte.gz, "
                "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into one folder "
                "and pass that folder (--data FOLDER, or load_dataset('mnist', folder=FOLDER)).")
        loader = load_fashion_mnist if key == "fashion-mnist" else load_mnist
        X, y = loader(folder, split=split)
        return Dataset(X, y, (28, 28), key)
    path = Path(name_or_path)
    if key != "digits" and not path.exists():
        raise FileNotFoundError(f"no data set or file named {str(name_or_path)!r}: choose one of "
                                f"{', '.join(DATASET_NAMES)}, or give a .npy/.npz/.csv file or a folder of IDX files")
    if split != "train" and (key == "digits" or not path.is_dir()):
        raise ValueError(f"{name_or_path}: has no separate {split!r} split; load it with split='train' "
                         "and hold out rows with train_val_split")
    if key == "digits":
        X, y = load_digits()
        return Dataset(X, y, (8, 8), "digits")
    X, y = _read_any(path, split)
    X, image_shape = _as_rows(X)
    X = scale_to_unit(validate_rows(X, what=str(path)))[0]
    if y is not None:
        y = np.asarray(y).reshape(-1)
        if len(y) != len(X):
            raise ValueError(f"{path}: {len(X)} rows but {len(y)} labels")
    return Dataset(X, y, image_shape or _guess_image_shape(X.shape[1]), str(path))


# ---------------------------------------------------------------- checking rows before training

def validate_rows(X, n_features=None, what="X"):
    """Refuse data the autoencoder cannot train on, with a message that says what to do.

    X must be numeric, 2-D (rows = examples), non-empty, finite and, when n_features is given, that wide.
    Returns X as a float array: float32 and float64 are kept, everything else becomes float32.
    A Tensor (anything with a .numpy() method) is checked as its array.
    """
    if not isinstance(X, np.ndarray) and callable(getattr(X, "numpy", None)):
        X = X.numpy()                                       # duck-typed: data.py does not import the engine
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{what} has dtype {X.dtype}, which is not real numbers; convert it first, "
                         f"e.g. np.asarray(..., dtype=np.float32)")
    if X.ndim != 2:
        hint = ("one example? use X.reshape(1, -1); one feature? use X.reshape(-1, 1)" if X.ndim == 1
                else "flatten each example into a row with X.reshape(len(X), -1)")
        raise ValueError(f"{what} must be 2-D (rows = examples, columns = features), got shape {X.shape}: {hint}")
    if X.size == 0:
        raise ValueError(f"{what} is empty (shape {X.shape}): it needs at least one row and one column")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{what} has {X.shape[1]} features per row, expected {n_features}: "
                         f"use data of width {n_features} or a model built for {X.shape[1]} inputs")
    if X.dtype.kind == "f":
        bad = ~np.isfinite(X)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(f"{what} has {int(bad.sum())} NaN or infinite values (first at row {row}, "
                             f"column {col}); remove or fill those rows before training")
    return X if X.dtype in (np.float32, np.float64) else X.astype(np.float32)


# ---------------------------------------------------------------- splitting and batching

def train_val_split(X, val_fraction=0.2, seed=0):
    """(X_train, X_val): a fixed-seed random permutation of the rows, round(val_fraction * m) held out."""
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    X = np.asarray(X)
    n_val = int(round(len(X) * val_fraction))
    if n_val >= len(X):
        raise ValueError(f"val_fraction={val_fraction} of {len(X)} rows leaves no rows to train on")
    order = np.random.default_rng(seed).permutation(len(X))
    return X[order[n_val:]], X[order[:n_val]]


def iterate_minibatches(X, batch_size, shuffle=True, rng=None):
    """Yield row batches of X covering every row once; the last may be smaller.

    rng: a np.random.Generator (or a seed) for the shuffle; None draws a fresh one. Passing the same
    Generator across epochs gives a new, reproducible order each epoch.
    """
    # checked here, not inside the generator, so a bad call fails where it is made
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    X = np.asarray(X)
    if not shuffle:
        return (X[start:start + batch_size] for start in range(0, len(X), batch_size))
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    order = rng.permutation(len(X))                          # drawn now: the rng advances once per call
    return (X[order[start:start + batch_size]] for start in range(0, len(X), batch_size))
