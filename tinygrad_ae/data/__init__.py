"""Data for the autoencoder: the data sets, the files they come from, and the rows they become.

Everything returned for training is a float array of rows: shape (m, n), one example per row, as the
lecture's X. Needs numpy only. Read in this order:

    rows.py       validate_rows, scale_to_unit, train_val_split, iterate_minibatches: rows on their way in
    files.py      read_idx and load_array: images (or rows) and labels from IDX, .npy, .npz and .csv files
    datasets.py   load_digits, load_mnist, load_fashion_mnist, load_dataset: the data sets `--data` names

The public names of all three are here, as tg.data.load_digits() etc.
"""
from .datasets import (DATASET_NAMES, FASHION_MNIST_DIR, Dataset, has_test_split, load_dataset, load_digits,
                       load_fashion_mnist, load_mnist)
from .files import load_array, read_idx
from .rows import iterate_minibatches, scale_to_unit, train_val_split, validate_rows

__all__ = [
    "Dataset", "load_dataset", "load_digits", "read_idx", "load_mnist", "load_fashion_mnist",
    "load_array", "scale_to_unit", "validate_rows", "train_val_split", "iterate_minibatches",
    "FASHION_MNIST_DIR", "DATASET_NAMES", "has_test_split",
]
