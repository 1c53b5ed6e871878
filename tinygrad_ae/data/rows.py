"""Rows: the form every data set takes for training, one example per row (shape (m, n), as the lecture's X),
and what is done to them on the way in: checks, scaling into [0, 1], images flattened, split, batched.
Needs numpy only.
"""
import numpy as np

from .. import random


def validate_rows(X, n_features=None, what="X"):
    """Refuse data the autoencoder cannot train on, with a message that says what to do.

    X must be numeric, 2-D (rows = examples), non-empty, finite and, when n_features is given, that wide.
    Returns X as a float array: float32 and float64 are kept, everything else becomes float32.
    A Tensor (anything with a .numpy() method) is checked as its array.
    """
    if not isinstance(X, np.ndarray) and callable(getattr(X, "numpy", None)):
        X = X.numpy()                                       # duck-typed: data/ does not import the engine
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


def as_rows(X):
    """(n, h, w) images become (n, h*w) rows; returns (rows, (h, w) or None)."""
    X = np.asarray(X)
    if X.ndim == 3:
        return X.reshape(len(X), -1), X.shape[1:]
    return X, None


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

    rng: a Generator (numpy's or tg's) or a seed for the shuffle; None: the default generator
    (tg.manual_seed). Passing the same Generator across epochs gives a new, reproducible order each epoch.
    """
    # checked here, not inside the generator, so a bad call fails where it is made
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    X = np.asarray(X)
    if not shuffle:
        return (X[start:start + batch_size] for start in range(0, len(X), batch_size))
    rng = random.numpy_generator(rng)
    order = rng.permutation(len(X))                          # drawn now: the rng advances once per call
    return (X[order[start:start + batch_size]] for start in range(0, len(X), batch_size))
