"""tinygrad_ae.data: the embedded digits, the IDX reader, loaders, validation, splitting and batching.

IDX files are written here byte by byte from the format's description, independently of the reader.
"""
import gzip
import re
import struct

import numpy as np
import pytest

from tinygrad_ae import data
from tinygrad_ae.data import datasets

# type code -> numpy dtype, from the IDX format description (big-endian on disk)
IDX_CODES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32, 0x0D: np.float32, 0x0E: np.float64}


def idx_bytes(array, code):
    array = np.asarray(array, dtype=IDX_CODES[code])
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, payload, gzipped=False):
    path.write_bytes(gzip.compress(payload) if gzipped else payload)
    return path


def write_mnist_folder(folder, split, n=5, gzipped=True, dotted=False, seed=0):
    """A tiny MNIST-layout folder: n random 28x28 images and labels for one split."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    prefix = "train" if split == "train" else "t10k"
    sep = "." if dotted else "-"
    gz = ".gz" if gzipped else ""
    write(folder / f"{prefix}-images{sep}idx3-ubyte{gz}", idx_bytes(images, 0x08), gzipped)
    write(folder / f"{prefix}-labels{sep}idx1-ubyte{gz}", idx_bytes(labels, 0x08), gzipped)
    return images, labels


# ---------------------------------------------------------------- the embedded digits

def test_digits_shape_range_and_labels():
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    pixels = X * 16                                        # stored as pixel counts 0..16 divided by 16
    np.testing.assert_array_equal(pixels, np.round(pixels))
    assert y.shape == (1797,) and y.dtype == np.int64
    # class counts of the UCI optdigits test set, as its description lists them
    np.testing.assert_array_equal(np.bincount(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    # first row of the original file: a zero whose top row of pixels is 0 0 5 13 9 1 0 0
    assert y[0] == 0
    np.testing.assert_array_equal(pixels[0, :8], [0, 0, 5, 13, 9, 1, 0, 0])


def test_digits_dtype_and_fresh_arrays():
    X64, _ = data.load_digits(dtype=np.float64)
    X32, _ = data.load_digits()
    assert X64.dtype == np.float64
    np.testing.assert_allclose(X64, X32, rtol=0, atol=1e-7)
    X32[:] = 0                                             # callers may modify what they get
    assert data.load_digits()[0].max() == 1.0
    with pytest.raises(TypeError, match="floating"):
        data.load_digits(dtype=np.int32)


def test_digits_ship_with_their_license():
    text = (datasets.DIGITS_FILE.parent / "DIGITS_LICENSE.txt").read_text()
    for needed in ("Alpaydin", "Kaynak", "1998", "CC BY 4.0", "Optical Recognition of Handwritten Digits"):
        assert needed in text


def test_load_dataset_digits():
    ds = data.load_dataset("Digits")
    assert ds.name == "digits" and ds.image_shape == (8, 8) and ds.X.shape == (1797, 64) and len(ds.y) == 1797
    with pytest.raises(ValueError, match="train_val_split"):
        data.load_dataset("digits", split="test")


# ---------------------------------------------------------------- IDX reader

@pytest.mark.parametrize("code", sorted(IDX_CODES))
@pytest.mark.parametrize("gzipped", [False, True])
def test_idx_round_trip(tmp_path, code, gzipped):
    rng = np.random.default_rng(code)
    values = rng.normal(0, 50, size=(3, 4, 5)) if code >= 0x0D else rng.integers(-100, 100, size=(3, 4, 5))
    if code == 0x08:
        values = np.abs(values)
    expected = np.asarray(values, dtype=IDX_CODES[code])
    path = write(tmp_path / "f.idx", idx_bytes(expected, code), gzipped)
    got = data.read_idx(path)
    assert got.dtype == expected.dtype and got.dtype.isnative
    np.testing.assert_array_equal(got, expected)
    got[0, 0, 0] = 1                                       # writable, not a view on the file's bytes


def test_idx_gzip_told_by_content_not_name(tmp_path):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz_without_suffix = write(tmp_path / "images-idx2-ubyte", idx_bytes(a, 0x08), gzipped=True)
    plain_with_gz_suffix = write(tmp_path / "images-idx2-ubyte.gz", idx_bytes(a, 0x08))
    np.testing.assert_array_equal(data.read_idx(gz_without_suffix), a)
    np.testing.assert_array_equal(data.read_idx(plain_with_gz_suffix), a)


def test_idx_one_dimension_and_big_endian_values(tmp_path):
    path = write(tmp_path / "labels", bytes([0, 0, 0x0B, 1]) + struct.pack(">I", 2) + struct.pack(">hh", 258, -2))
    np.testing.assert_array_equal(data.read_idx(path), [258, -2])


GOOD = idx_bytes(np.arange(12).reshape(3, 4), 0x0C)       # header 12 bytes, then 48 data bytes


@pytest.mark.parametrize("payload, problem", [
    (b"\x01\x00" + GOOD[2:], "wrong magic"),
    (b"\x00\x01" + GOOD[2:], "wrong magic.*0x00 0x01"),
    (b"\x00\x00\x0a" + GOOD[3:], "unknown IDX type code 0x0a"),
    (GOOD[:-1], "truncated.*need 48 data bytes, got 47"),
    (GOOD + b"\x00", "1 trailing bytes.*need 48 data bytes, got 49"),
    # header claims (3, 5) of int32 but holds data for (3, 4)
    (GOOD[:4] + struct.pack(">II", 3, 5) + GOOD[12:], "truncated.*need 60 data bytes, got 48"),
    # header claims (2, 4): the data for a third row is left over
    (GOOD[:4] + struct.pack(">II", 2, 4) + GOOD[12:], "16 trailing bytes"),
    (GOOD[:10], "truncated header"),
    (b"\x00\x00", "only 2 bytes"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
])
@pytest.mark.parametrize("gzipped", [False, True])
def test_idx_malformed_files_name_the_file_and_problem(tmp_path, payload, problem, gzipped):
    path = write(tmp_path / "bad-idx3-ubyte", payload, gzipped)
    with pytest.raises(ValueError, match=re.escape(str(path))) as err:
        data.read_idx(path)
    assert re.search(problem, str(err.value)), str(err.value)


def test_idx_damaged_gzip(tmp_path):
    path = write(tmp_path / "cut.gz", gzip.compress(GOOD)[:-6])
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*gzip"):
        data.read_idx(path)


# ---------------------------------------------------------------- MNIST-layout folders

@pytest.mark.parametrize("gzipped", [False, True])
@pytest.mark.parametrize("split", ["train", "test"])
def test_load_mnist_from_folder(tmp_path, gzipped, split):
    images, labels = write_mnist_folder(tmp_path, split, gzipped=gzipped)
    X, y = data.load_mnist(tmp_path, split=split)
    assert X.shape == (5, 784) and X.dtype == np.float32
    np.testing.assert_allclose(X, images.reshape(5, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    assert y.dtype == np.int64
    # the same files under Fashion-MNIST's loader and through load_dataset
    X2, _ = data.load_fashion_mnist(tmp_path, split=split)
    np.testing.assert_array_equal(X2, X)
    ds = data.load_dataset("mnist", split=split, folder=tmp_path)
    assert ds.image_shape == (28, 28) and ds.name == "mnist"
    np.testing.assert_array_equal(ds.X, X)


def test_has_test_split_needs_both_test_files(tmp_path, monkeypatch):
    write_mnist_folder(tmp_path, "train", gzipped=True)
    assert not data.has_test_split(tmp_path) and not data.has_test_split("mnist", folder=tmp_path)
    write_mnist_folder(tmp_path, "test", gzipped=True)
    assert data.has_test_split(tmp_path) and data.has_test_split("mnist", folder=tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    assert not data.has_test_split(tmp_path)
    assert not data.has_test_split("digits") and not data.has_test_split("mnist")   # MNIST needs its folder
    assert not data.has_test_split(tmp_path / "t10k-images-idx3-ubyte.gz")          # a file, not a folder
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIR", tmp_path / "nowhere")
    assert not data.has_test_split("fashion-mnist")


def test_load_mnist_dotted_file_names(tmp_path):
    images, _ = write_mnist_folder(tmp_path, "train", gzipped=False, dotted=True)
    X, _ = data.load_mnist(tmp_path)
    np.testing.assert_allclose(X, images.reshape(5, -1) / 255.0, rtol=1e-6)


def test_load_mnist_count_mismatch(tmp_path):
    write_mnist_folder(tmp_path, "train", gzipped=False)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(4), 0x08))
    with pytest.raises(ValueError, match="5 images.*4 labels"):
        data.load_mnist(tmp_path)


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        data.load_fashion_mnist(tmp_path)
    message = str(err.value)
    assert str(tmp_path) in message and "apt-get install dataset-fashion-mnist" in message
    assert "train-images-idx3-ubyte.gz" in message          # what it looked for


def test_missing_mnist_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        data.load_mnist(tmp_path, split="test")
    message = str(err.value)
    assert str(tmp_path) in message and "Download the four MNIST files" in message and "t10k" in message
    with pytest.raises(FileNotFoundError, match="Download the four MNIST files"):
        data.load_dataset("mnist")                          # no folder given


def test_missing_labels_named(tmp_path):
    images, _ = write_mnist_folder(tmp_path, "train", gzipped=False)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="train labels not found"):
        data.load_mnist(tmp_path)


def test_bad_split(tmp_path):
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load_mnist(tmp_path, split="validation")


@pytest.mark.skipif(not (data.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists(),
                    reason="Debian's Fashion-MNIST files are not installed "
                           "(apt-get install dataset-fashion-mnist puts them in /usr/share/datasets/fashion-mnist)")
def test_debian_fashion_mnist():
    X, y = data.load_fashion_mnist(split="test")
    assert X.shape == (10000, 784) and X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y), [1000] * 10)   # the test set is balanced
    ds = data.load_dataset("fashion-mnist", split="test")
    assert ds.image_shape == (28, 28) and ds.X.shape == (10000, 784)


# ---------------------------------------------------------------- a user's own arrays

def test_load_array_npy_pixels_are_divided_by_255(tmp_path):
    a = np.random.default_rng(1).integers(0, 256, size=(6, 9), dtype=np.uint8)
    np.save(tmp_path / "a.npy", a)
    X = data.load_array(tmp_path / "a.npy")
    assert X.dtype == np.float32
    np.testing.assert_allclose(X, a / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.load_array(tmp_path / "a.npy", scale=False), a.astype(np.float32))


def test_load_array_unit_range_kept(tmp_path):
    a = np.random.default_rng(2).random((5, 4))
    np.save(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(data.load_array(tmp_path / "a.npy"), a.astype(np.float32))


def test_load_array_other_ranges_min_max_scaled(tmp_path):
    a = np.random.default_rng(3).normal(size=(7, 3))          # negative values: not pixels
    np.save(tmp_path / "a.npy", a)
    X = data.load_array(tmp_path / "a.npy")
    np.testing.assert_allclose(X, (a - a.min()) / (a.max() - a.min()), rtol=1e-6, atol=1e-7)
    X, how = data.scale_to_unit(np.full((2, 2), 7.5))
    np.testing.assert_array_equal(X, np.zeros((2, 2)))
    assert "constant" in how


def test_load_array_image_stack_is_flattened(tmp_path):
    a = np.random.default_rng(4).random((3, 5, 5))
    np.save(tmp_path / "imgs.npy", a)
    assert data.load_array(tmp_path / "imgs.npy").shape == (3, 25)
    assert data.load_dataset(tmp_path / "imgs.npy").image_shape == (5, 5)


def test_load_array_npz_prefers_X_and_loads_labels(tmp_path):
    first, X = np.zeros((2, 3)), np.full((4, 16), 0.5)
    np.savez(tmp_path / "named.npz", first=first, X=X, y=np.arange(4))
    np.testing.assert_array_equal(data.load_array(tmp_path / "named.npz"), X)
    ds = data.load_dataset(tmp_path / "named.npz")
    np.testing.assert_array_equal(ds.y, np.arange(4))
    assert ds.image_shape == (4, 4) and ds.name == str(tmp_path / "named.npz")
    np.savez(tmp_path / "unnamed.npz", first, X)
    np.testing.assert_array_equal(data.load_array(tmp_path / "unnamed.npz"), first)


@pytest.mark.parametrize("text", [
    "0.1,0.2,0.3\n0.4,0.5,0.6\n",
    "a,b,c\n0.1,0.2,0.3\n0.4,0.5,0.6\n",                     # header row
    "0.1 0.2 0.3\n0.4 0.5 0.6\n",
    "x;y;z\n0.1;0.2;0.3\n0.4;0.5;0.6\n",
])
def test_load_array_csv(tmp_path, text):
    (tmp_path / "rows.csv").write_text(text)
    X = data.load_array(tmp_path / "rows.csv")
    np.testing.assert_allclose(X, [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], rtol=1e-6)
    ds = data.load_dataset(tmp_path / "rows.csv")
    assert ds.y is None and ds.image_shape is None           # 3 is not a square


def test_load_array_single_row_csv_is_2d(tmp_path):
    (tmp_path / "one.csv").write_text("0.5,0.25\n")
    assert data.load_array(tmp_path / "one.csv").shape == (1, 2)


def test_load_array_idx_folder(tmp_path):
    images, labels = write_mnist_folder(tmp_path, "train")
    np.testing.assert_allclose(data.load_array(tmp_path), images.reshape(5, -1) / 255.0, rtol=1e-6)
    ds = data.load_dataset(tmp_path)
    np.testing.assert_array_equal(ds.y, labels)
    assert ds.image_shape == (28, 28)


def test_load_array_refuses_bad_files(tmp_path):
    (tmp_path / "nan.csv").write_text("0.1,nan\n0.2,0.3\n")
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "nan.csv")) + ".*1 NaN"):
        data.load_array(tmp_path / "nan.csv")
    (tmp_path / "words.csv").write_text("a,b\n1,2\nthree,4\n")
    with pytest.raises(ValueError, match="words.csv.*numeric"):
        data.load_array(tmp_path / "words.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        data.load_array(tmp_path / "empty.csv")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="objects.npy"):
        data.load_array(tmp_path / "objects.npy")
    (tmp_path / "data.json").write_text("[]")
    with pytest.raises(ValueError, match="unsupported file type"):
        data.load_array(tmp_path / "data.json")
    with pytest.raises(FileNotFoundError):
        data.load_array(tmp_path / "nowhere.npy")
    np.save(tmp_path / "flat.npy", np.arange(5.0))
    with pytest.raises(ValueError, match="2-D"):
        data.load_array(tmp_path / "flat.npy")


def test_load_dataset_unknown_name():
    with pytest.raises(FileNotFoundError, match="digits, fashion-mnist, mnist"):
        data.load_dataset("cifar")


# ---------------------------------------------------------------- validate_rows

def test_validate_rows_messages():
    with pytest.raises(ValueError, match="X_val has dtype <U1"):
        data.validate_rows(np.array([["a", "b"]]), what="X_val")
    with pytest.raises(ValueError, match=re.escape("2-D") + ".*shape \\(3,\\).*reshape\\(1, -1\\)"):
        data.validate_rows(np.zeros(3))
    with pytest.raises(ValueError, match=re.escape("shape (2, 3, 4)") + ".*reshape\\(len\\(X\\), -1\\)"):
        data.validate_rows(np.zeros((2, 3, 4)))
    for shape in [(0, 5), (5, 0)]:
        with pytest.raises(ValueError, match="empty"):
            data.validate_rows(np.zeros(shape))
    with pytest.raises(ValueError, match="10 features per row, expected 64"):
        data.validate_rows(np.zeros((3, 10)), n_features=64)
    X = np.zeros((4, 5))
    X[2, 3] = np.nan
    X[3, 0] = np.inf
    with pytest.raises(ValueError, match="2 NaN or infinite values \\(first at row 2, column 3\\)"):
        data.validate_rows(X)


def test_validate_rows_dtypes():
    X64 = np.zeros((2, 3))
    assert data.validate_rows(X64) is X64                      # float64 kept as it is, no copy
    assert data.validate_rows(X64.astype(np.float32)).dtype == np.float32
    for other in (np.int64, np.uint8, np.bool_, np.float16):
        assert data.validate_rows(np.ones((2, 3), dtype=other)).dtype == np.float32
    assert data.validate_rows([[1, 2], [3, 4]], n_features=2).dtype == np.float32


def test_validate_rows_accepts_tensors():
    from tinygrad_ae import Tensor
    X = np.zeros((2, 3))
    np.testing.assert_array_equal(data.validate_rows(Tensor(X)), X)
    X[1, 2] = np.nan
    with pytest.raises(ValueError, match="row 1, column 2"):
        data.validate_rows(Tensor(X))


# ---------------------------------------------------------------- splitting and batching

def test_train_val_split_partitions_rows():
    X = np.arange(100 * 2).reshape(100, 2)
    train, val = data.train_val_split(X, val_fraction=0.2, seed=5)
    assert train.shape == (80, 2) and val.shape == (20, 2)
    np.testing.assert_array_equal(np.sort(np.concatenate([train[:, 0], val[:, 0]])), X[:, 0])
    again_train, again_val = data.train_val_split(X, val_fraction=0.2, seed=5)
    np.testing.assert_array_equal(again_val, val)
    np.testing.assert_array_equal(again_train, train)
    _, other_val = data.train_val_split(X, val_fraction=0.2, seed=6)
    assert not np.array_equal(other_val, val)
    assert data.train_val_split(X, val_fraction=0.0)[1].shape == (0, 2)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="val_fraction"):
            data.train_val_split(X, val_fraction=bad)


def test_train_val_split_digits_sizes():
    X, _ = data.load_digits()
    train, val = data.train_val_split(X)
    assert (len(train), len(val)) == (1438, 359)             # round(0.2 * 1797) = 359


@pytest.mark.parametrize("n, batch_size", [(50, 7), (48, 8), (3, 10), (1, 1)])
def test_minibatches_cover_every_row_once(n, batch_size):
    X = np.arange(n, dtype=np.float32).reshape(n, 1)
    rng = np.random.default_rng(0)
    for _ in range(2):                                        # two epochs from the same generator
        batches = list(data.iterate_minibatches(X, batch_size, rng=rng))
        sizes = [len(b) for b in batches]
        assert sizes[:-1] == [batch_size] * (len(batches) - 1) and 0 < sizes[-1] <= batch_size
        np.testing.assert_array_equal(np.sort(np.concatenate(batches)[:, 0]), np.arange(n))


def test_minibatches_deterministic_and_shuffled():
    X = np.arange(50).reshape(50, 1)
    first = np.concatenate(list(data.iterate_minibatches(X, 8, rng=np.random.default_rng(3))))
    second = np.concatenate(list(data.iterate_minibatches(X, 8, rng=np.random.default_rng(3))))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, X)                       # shuffled
    rng = np.random.default_rng(3)
    epoch1 = np.concatenate(list(data.iterate_minibatches(X, 8, rng=rng)))
    epoch2 = np.concatenate(list(data.iterate_minibatches(X, 8, rng=rng)))
    assert not np.array_equal(epoch1, epoch2)                 # a new order each epoch
    in_order = np.concatenate(list(data.iterate_minibatches(X, 8, shuffle=False)))
    np.testing.assert_array_equal(in_order, X)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, None])
def test_minibatches_bad_batch_size_fails_at_call(bad):
    with pytest.raises(ValueError, match="batch_size"):
        data.iterate_minibatches(np.zeros((4, 2)), bad)
