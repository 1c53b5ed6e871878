"""The data sets `--data` names: the embedded 8x8 digits, Fashion-MNIST and MNIST (IDX files in a folder),
and a user's own file or folder (read by files.py), each as a Dataset of rows in [0, 1].
"""
import math
from pathlib import Path
from typing import NamedTuple, Optional, Tuple

import numpy as np

from . import files
from .rows import as_rows, scale_to_unit, validate_rows

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


# ---------------------------------------------------------------- MNIST and Fashion-MNIST

def _load_idx_pair(folder, split, what, how_to_get):
    """Images (n, h, w) as float32 rows in [0, 1] and labels int64 from a folder in the standard layout."""
    folder = Path(folder)
    images, labels = files.find_idx(folder, split, "images"), files.find_idx(folder, split, "labels")
    if images is None or labels is None:
        missing = [k for k, p in (("images", images), ("labels", labels)) if p is None]
        looked = ", ".join(files.idx_names(split, missing[0]))
        raise FileNotFoundError(f"{what} {split} {' and '.join(missing)} not found in {folder} (looked for {looked}). "
                                f"{how_to_get}")
    X, y = files.read_idx_pair(images, labels)
    if X.ndim != 3 or y.ndim != 1:
        raise ValueError(f"{images} and {labels}: expected images of shape (n, height, width) and labels of shape "
                         f"(n,), got {X.shape} and {y.shape}")
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


# ---------------------------------------------------------------- any of them by name, or a user's file

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
    return files.find_idx(folder, "test", "images") is not None and files.find_idx(folder, "test", "labels") is not None


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
    X, y = files.read(path, split)
    X, image_shape = as_rows(X)
    X = scale_to_unit(validate_rows(X, what=str(path)))[0]
    if y is not None:
        y = np.asarray(y).reshape(-1)
        if len(y) != len(X):
            raise ValueError(f"{path}: {len(X)} rows but {len(y)} labels")
    return Dataset(X, y, image_shape or _guess_image_shape(X.shape[1]), str(path))
