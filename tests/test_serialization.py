"""save/load: exact round trip, atomic writes, corrupt and truncated files, pickled payloads refused unrun."""
import io
import os
import zipfile

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor, nn, serialization
from tinygrad_ae.serialization import load, save


def _write_marker(path):
    with open(path, "w") as f:
        f.write("unpickled: code ran")
    return 0


class Payload:
    """Unpickling this object calls _write_marker(marker): proof that code in a file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return _write_marker, (self.marker,)


def sample_state():
    rng = np.random.default_rng(0)
    return {
        "encoder.weight": rng.normal(size=(3, 4)).astype(np.float32),
        "encoder.bias": np.array([np.nan, np.inf, -np.inf], dtype=np.float64),
        "counts": np.arange(6, dtype=np.int64).reshape(2, 3),
        "mask": np.array([True, False]),
        "pixels": np.array([0, 255], dtype=np.uint8),
        "transposed": rng.normal(size=(2, 5)).T,                  # non-contiguous
        "fortran": np.asfortranarray(rng.normal(size=(3, 2))),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "step": np.array(7),
        "file": np.array(1.5),                                   # names np.savez would take as its own arguments
        "allow_pickle": np.array(2.5),
    }


def test_round_trip_is_exact(tmp_path):
    state = sample_state()
    path = tmp_path / "state.npz"
    save(state, path)
    loaded = load(path)
    assert list(loaded) == list(state)
    for key, value in state.items():
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape, key
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)
        assert isinstance(loaded[key], np.ndarray) and loaded[key].flags.writeable
    with np.load(path, allow_pickle=False) as npz:               # a plain .npz that numpy reads
        np.testing.assert_array_equal(npz["encoder.weight"], state["encoder.weight"])


def test_numbers_tensors_and_str_paths(tmp_path):
    # numbers come back as the Python numbers they were (torch.load's rule); numpy scalars as numpy scalars
    path = str(tmp_path / "numbers.npz")
    save({"lr": 0.1, "step": 3, "flag": True, "w": Tensor(np.ones(2)), "np_lr": np.float64(0.1)}, path)
    loaded = load(path)
    assert loaded["lr"] == 0.1 and type(loaded["lr"]) is float
    assert loaded["step"] == 3 and type(loaded["step"]) is int
    assert loaded["flag"] is True
    assert loaded["np_lr"] == 0.1 and loaded["np_lr"].dtype == np.float64 and isinstance(loaded["np_lr"], np.float64)
    assert isinstance(loaded["w"], Tensor) and loaded["w"].dtype == np.float64
    np.testing.assert_array_equal(loaded["w"].data, np.ones(2))


def test_reads_numpy_savez_files(tmp_path):
    for writer in (np.savez, np.savez_compressed):
        path = tmp_path / f"{writer.__name__}.npz"
        writer(path, a=np.arange(3.0), b=np.eye(2))
        loaded = load(path)
        np.testing.assert_array_equal(loaded["a"], np.arange(3.0))
        np.testing.assert_array_equal(loaded["b"], np.eye(2))


def test_module_state_dict_round_trip(tmp_path):
    source, target = nn.Linear(4, 3, rng=1), nn.Linear(4, 3, rng=2)
    save(source.state_dict(), tmp_path / "linear.npz")
    target.load_state_dict(load(tmp_path / "linear.npz"))
    np.testing.assert_array_equal(target.weight.data, source.weight.data)
    assert target.weight.dtype == np.float32


def test_exported_as_tg_save_and_tg_load():
    assert tg.save is serialization.save and tg.load is serialization.load


def test_saved_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    save({"a": np.ones(1)}, tmp_path / "a.npz")
    assert (tmp_path / "a.npz").stat().st_mode & 0o777 == 0o666 & ~umask


# ----- atomic writes -----------------------------------------------------------------------------

def _assert_old_file_intact(folder, path, old):
    assert sorted(os.listdir(folder)) == [path.name]             # no temporary file left behind
    np.testing.assert_array_equal(load(path)["w"], old["w"])


def test_failed_rename_keeps_old_file(tmp_path, monkeypatch):
    path, old = tmp_path / "model.npz", {"w": np.arange(4.0)}
    save(old, path)

    def failing_replace(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(serialization.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated crash"):
        save({"w": np.zeros(4)}, path)
    _assert_old_file_intact(tmp_path, path, old)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failure_mid_write_keeps_old_file(tmp_path, monkeypatch, error):
    path, old = tmp_path / "model.npz", {"w": np.arange(4.0)}
    save(old, path)
    real_write_array, calls = np.lib.format.write_array, []

    def write_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:                                        # the first array is already written
            raise error("simulated failure mid-write")
        return real_write_array(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(error, match="mid-write"):
        save({"w": np.zeros(4), "b": np.zeros(2)}, path)
    monkeypatch.undo()
    _assert_old_file_intact(tmp_path, path, old)


def test_non_numeric_value_refused_naming_the_key(tmp_path):
    path, old = tmp_path / "model.npz", {"w": np.arange(4.0)}
    save(old, path)
    with pytest.raises(TypeError, match=r"save: cannot save the object at the saved object\['bad'\]\['nested'\]"):
        save({"w": np.zeros(4), "bad": {"nested": object()}}, path)
    with pytest.raises(TypeError, match="'objects'.*dtype object"):
        save({"objects": np.array([1, "a"], dtype=object)}, path)
    with pytest.raises(TypeError, match=r"save: dict keys must be str or int, got float 1.5 at the saved object\['m'\]"):
        save({"m": {1.5: np.zeros(1)}}, path)
    _assert_old_file_intact(tmp_path, path, old)


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({"w": np.ones(1)}, tmp_path / "nowhere" / "model.npz")


# ----- bad files ---------------------------------------------------------------------------------

def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load(tmp_path / "absent.npz")


def test_truncated_file_is_a_value_error_naming_the_path(tmp_path):
    good = tmp_path / "good.npz"
    save(sample_state(), good)
    data = good.read_bytes()
    for size in (0, 1, 30, len(data) // 2, len(data) - 1):
        bad = tmp_path / f"cut{size}.npz"
        bad.write_bytes(data[:size])
        with pytest.raises(ValueError, match=rf"{bad.name}.*not a valid \.npz"):
            load(bad)


def test_corrupt_files_are_value_errors(tmp_path):
    good = tmp_path / "good.npz"
    save({"w": np.arange(1000.0)}, good)
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF                                 # one flipped byte inside the array data
    flipped = tmp_path / "flipped.npz"
    flipped.write_bytes(bytes(data))
    text = tmp_path / "text.npz"
    text.write_text("not a zip file at all")
    single = tmp_path / "single.npz"
    with open(single, "wb") as f:
        np.save(f, np.ones(3))                                   # a .npy, not a .npz
    bad_header = tmp_path / "header.npz"
    with zipfile.ZipFile(bad_header, "w") as zf:
        zf.writestr("w.npy", b"\x93NUMPY garbage")
    other_member = tmp_path / "other.npz"
    with zipfile.ZipFile(other_member, "w") as zf:
        zf.writestr("readme.txt", b"hello")
    for path in (flipped, text, single, bad_header, other_member):
        with pytest.raises(ValueError, match=rf"{path.name}.*not a valid \.npz"):
            load(path)


def test_pickled_payload_is_refused_and_never_runs(tmp_path):
    # control: the payload is live, loading it with pickle allowed runs its code
    live_marker, live = tmp_path / "live-marker", tmp_path / "live.npz"
    np.savez(live, evil=np.array([Payload(live_marker)], dtype=object), allow_pickle=True)
    with np.load(live, allow_pickle=True) as npz:
        npz["evil"]
    assert live_marker.exists()

    marker, path = tmp_path / "marker", tmp_path / "evil.npz"
    np.savez(path, weight=np.ones(3), evil=np.array([Payload(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"evil\.npz.*pickled objects.*'evil'.*refused"):
        load(path)
    assert not marker.exists()


def _npz_with_member(path, member_bytes, name="w.npy"):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(name, member_bytes)
    return path


def _npy_header(shape, descr="<f8"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _patch_central_directory(path, offset, new_bytes):
    """Overwrite bytes of the (only) central directory entry, offset counted from its signature."""
    data = bytearray(path.read_bytes())
    start = data.find(b"PK\x01\x02")
    assert start > 0
    data[start + offset:start + offset + len(new_bytes)] = new_bytes
    path.write_bytes(bytes(data))


def _assert_clear_error(path, what):
    with pytest.raises(ValueError, match=rf"{path.name}.*not a valid \.npz.*{what}.*save it again") as info:
        load(path)
    assert type(info.value) is ValueError
    return info.value


def test_unsupported_compression_method_or_zip_version_is_a_value_error(tmp_path):
    good = tmp_path / "good.npz"
    save({"w": np.arange(10.0)}, good)
    method = tmp_path / "method.npz"
    method.write_bytes(good.read_bytes())
    _patch_central_directory(method, 10, b"\xff\x00")            # compression method 0 (stored) -> 255
    _assert_clear_error(method, "'w.npy' cannot be decompressed")
    version = tmp_path / "version.npz"
    version.write_bytes(good.read_bytes())
    _patch_central_directory(version, 6, b"\xd2\x00")            # version needed to extract: 21.0
    _assert_clear_error(version, "zip structure cannot be read")


def test_a_header_declaring_more_data_than_the_member_holds_allocates_nothing(tmp_path, monkeypatch):
    # 300 bytes that declare 100e9 float64 (745 GiB): refused from the header, before any allocation
    huge = _npz_with_member(tmp_path / "huge.npz", _npy_header((100_000_000_000,)) + bytes(64))
    assert len(huge.read_bytes()) < 400
    read_array = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("read_array reached"))
    _assert_clear_error(huge, r"'w\.npy' declares shape \(100000000000,\) of float64 \(800000000000 bytes\) "
                              r"but holds 64 bytes")
    # a few bytes short or long are refused the same way
    short = _npz_with_member(tmp_path / "short.npz", _npy_header((3, 2)) + bytes(47))
    _assert_clear_error(short, r"declares shape \(3, 2\).*48 bytes.*holds 47 bytes")
    monkeypatch.setattr(np.lib.format, "read_array", read_array)
    exact = _npz_with_member(tmp_path / "exact.npz", _npy_header((3, 2)) + np.arange(6.0).tobytes())
    np.testing.assert_array_equal(load(exact)["w"], np.arange(6.0).reshape(3, 2))


def test_a_zip_directory_claiming_more_than_the_file_holds_allocates_nothing(tmp_path, monkeypatch):
    # the header and the zip's sizes agree on 3.2 GB, in a 300-byte file: the zip's claim is bounded too
    count = 400_000_000
    header = _npy_header((count,))
    lying = _npz_with_member(tmp_path / "lying.npz", header + bytes(64))
    claimed = (len(header) + 8 * count).to_bytes(4, "little")
    _patch_central_directory(lying, 20, claimed + claimed)        # compressed size, uncompressed size
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("read_array reached"))
    _assert_clear_error(lying, "'w.npy' claims 3200000128 bytes, more than the whole file")


def test_highly_compressed_numpy_files_still_load(tmp_path):
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, z=np.zeros(1_000_000))             # deflate near its 1032-fold limit
    assert path.stat().st_size < 20_000
    np.testing.assert_array_equal(load(path)["z"], np.zeros(1_000_000))


def test_a_truncated_header_dict_is_a_value_error(tmp_path):
    text = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,"   # the dict cut off mid-shape
    header = b"\x93NUMPY\x01\x00" + len(text + b"\n").to_bytes(2, "little") + text + b"\n"
    cut = _npz_with_member(tmp_path / "cut.npz", header + bytes(24))
    _assert_clear_error(cut, "'w.npy' has a malformed .npy header")

