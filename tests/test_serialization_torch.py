"""save/load in torch's shapes: nested checkpoints round-trip in types and values, the file stays a plain
.npz (arrays as members, the structure as JSON), state dicts load into modules bit for bit, file
objects, torch.load's arguments; a real torch.save file is refused unread, with a recipe that works."""
import collections
import io
import json
import zipfile

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor, nn
from tinygrad_ae.serialization import load, save
from tinygrad_ae.serialization_tree import STRUCTURE
from test_serialization import Payload          # unpickling it would write a marker: code ran


def _assert_clear_error(path):
    with pytest.raises(ValueError, match=rf"{path.name}.*not a valid \.npz.*save it again") as info:
        load(path)
    assert type(info.value) is ValueError


def _same(a, b, where="obj"):
    """a and b equal in type and value all the way down (arrays bit for bit, NaN equal to NaN)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, Tensor):
        assert a.requires_grad == b.requires_grad, where
        _same(a.data, b.data, where)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), where
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), where
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def checkpoint():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    weights = collections.OrderedDict((k, Tensor(np.asarray(v))) for k, v in model.state_dict().items())
    return {
        "epoch": 3, "loss": 0.25, "best": float("inf"), "missing": float("nan"), "big": 2 ** 80, "done": False,
        "name": "run-1", "note": None, "raw": b"\x00\xffab",
        "model": weights,
        "optimizer": {"state": {0: {"step": 5, "exp_avg": Tensor(np.full((4, 3), 0.5))}, 1: {}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1, 2, 3],
                                        "amsgrad": False, "foreach": None}]},
        "numpy": {"scalar": np.float32(1.5), "small": np.int8(-3), "flag": np.bool_(True), "array": np.arange(6).reshape(2, 3),
                  "text": np.array("a 0-d string"), "f16": np.ones(2, np.float16)},
        "history": [[0.5, 0.4], (1, "two", [3.0])], "empty": {}, "none": [],
        "leaf": Tensor(np.ones(2), requires_grad=True), "ints": tg.arange(4), "mask": tg.arange(3) > 0,
        "": "empty key", 7: "int key", STRUCTURE: "the reserved name as a key",
    }


def test_a_nested_checkpoint_round_trips_in_types_and_values(tmp_path):
    saved = checkpoint()
    save(saved, tmp_path / "ckpt.pth")
    loaded = load(tmp_path / "ckpt.pth", weights_only=True, map_location="cpu")
    _same(saved, loaded)
    assert isinstance(loaded["model"], collections.OrderedDict) and type(loaded["optimizer"]) is dict
    assert loaded["leaf"].requires_grad and loaded["leaf"].is_leaf and loaded["leaf"].grad is None


def test_the_file_is_a_plain_npz_with_json_structure(tmp_path):
    path = tmp_path / "ckpt.npz"
    save(checkpoint(), path)
    with np.load(path, allow_pickle=False) as npz:
        tree = json.loads(str(npz[STRUCTURE]))
        assert tree["format"] == "tinygrad_ae.save" and tree["version"] == 1
        assert npz["model/0.weight"].shape == (4, 3) and npz["optimizer/state/0/exp_avg"].shape == (4, 3)
    save({"encoder.weight": Tensor(np.ones((2, 2)))}, path)     # a flat state dict: its keys are the members
    with np.load(path, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["encoder.weight"], np.ones((2, 2)))
    save({"encoder.weight": np.ones((2, 2)), "step": np.array(3)}, path)   # plain arrays: np.savez's file exactly
    with np.load(path, allow_pickle=False) as npz:
        assert npz.files == ["encoder.weight", "step"]


def test_load_state_dict_of_a_sequential_round_trips_bit_for_bit(tmp_path):
    tg.manual_seed(0)
    source = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3, dtype=np.float64))
    tg.manual_seed(1)
    target = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3, dtype=np.float64))
    save(source.state_dict(), tmp_path / "model.pth")
    target.load_state_dict(load(tmp_path / "model.pth"))
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        assert np.asarray(a).dtype == np.asarray(b).dtype and np.asarray(a).tobytes() == np.asarray(b).tobytes(), name
    x = Tensor(np.random.default_rng(0).normal(size=(2, 5)).astype(np.float32))
    assert target(x).data.tobytes() == source(x).data.tobytes()


def test_a_tensor_saved_twice_is_stored_once_and_loads_as_one(tmp_path):
    shared = Tensor(np.arange(1000.0))
    path = tmp_path / "tied.npz"
    save({"encoder.weight": shared, "decoder.weight": shared, "copy": Tensor(np.arange(1000.0))}, path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == sorted(["encoder.weight.npy", "copy.npy", "__tinygrad_ae_structure__.npy"])
    loaded = load(path)
    assert loaded["encoder.weight"] is loaded["decoder.weight"] and loaded["copy"] is not loaded["encoder.weight"]


def test_file_objects_as_torch_allows(tmp_path):
    buffer = io.BytesIO()
    save({"w": Tensor(np.eye(2)), "step": 4}, buffer)
    buffer.seek(0)
    loaded = load(buffer)
    assert loaded["step"] == 4 and loaded["w"].data.tolist() == [[1, 0], [0, 1]]
    with open(tmp_path / "f.npz", "wb") as f:
        save([1, 2.5], f)
    with open(tmp_path / "f.npz", "rb") as f:
        assert load(f) == [1, 2.5]
    with pytest.raises(TypeError, match=r"load: .* is a text file object; open the file in binary mode"):
        with open(tmp_path / "f.npz") as f:
            load(f)


def test_load_takes_torchs_arguments_and_refuses_other_devices(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": Tensor(np.ones(2))}, path)
    for where in (None, "cpu", tg.device("cpu"), {"cuda:0": "cpu"}):
        for weights_only in (None, True, False):
            assert load(path, map_location=where, weights_only=weights_only)["w"].shape == (2,)
    with pytest.raises(RuntimeError, match=r"load: map_location: device 'cuda' is not available"):
        load(path, map_location="cuda")
    with pytest.raises(NotImplementedError, match=r"load: a callable map_location is not supported"):
        load(path, map_location=lambda storage, loc: storage)
    with pytest.raises(NotImplementedError, match=r"load: mmap=True is not supported"):
        load(path, mmap=True)
    with pytest.raises(NotImplementedError, match=r"load: pickle_module is not supported"):
        load(path, pickle_module=object())
    with pytest.raises(NotImplementedError, match=r"load: encoding \(arguments for pickle\) not supported"):
        load(path, encoding="latin1")
    with pytest.raises(TypeError, match=r"load: weights_only must be True, False or None"):
        load(path, weights_only="yes")


def test_what_save_cannot_hold_is_named(tmp_path):
    with pytest.raises(TypeError, match=r"save: cannot save the Sequential at the saved object \(a module: save its state_dict"):
        save(nn.Sequential(nn.Linear(2, 2)), tmp_path / "m.npz")
    with pytest.raises(TypeError, match=r"save: the namedtuple P at the saved object\[0\] cannot be saved without pickle"):
        save([collections.namedtuple("P", "x")(1)], tmp_path / "m.npz")
    with pytest.raises(TypeError, match=r"save: cannot save the set at the saved object\['a'\]\[1\]"):
        save({"a": [1, {2}]}, tmp_path / "m.npz")
    with pytest.raises(TypeError, match=r"save: dict keys must be str or int, got bool True"):
        save({True: 1}, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_a_corrupt_structure_is_a_value_error(tmp_path):
    for text in ("{not json", '{"format": "other", "root": 1}', '{"format": "tinygrad_ae.save", "version": 9, "root": 1}',
                 '{"format": "tinygrad_ae.save", "version": 1, "root": {"tensor": "absent"}}'):
        path = tmp_path / "bad.npz"
        with zipfile.ZipFile(path, "w") as zf:
            with zf.open("__tinygrad_ae_structure__.npy", "w") as member:
                np.lib.format.write_array(member, np.array(text))
        _assert_clear_error(path)


def _torch_checkpoints(torch, tmp_path, marker):
    state = {"weight": torch.ones(2, 3), "bias": torch.zeros(2)}
    zipped, legacy, evil = tmp_path / "model.pt", tmp_path / "legacy.pt", tmp_path / "evil.pt"
    torch.save(state, zipped)
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    torch.save({"weight": torch.ones(1), "payload": Payload(marker)}, evil)
    return state, zipped, legacy, evil


def test_a_pytorch_checkpoint_is_refused_unread_with_the_way_to_convert_it(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: no real torch.save file to refuse")
    marker = tmp_path / "marker"
    state, zipped, legacy, evil = _torch_checkpoints(torch, tmp_path, marker)
    with zipfile.ZipFile(zipped) as zf:
        assert any(n.endswith("data.pkl") for n in zf.namelist())       # torch's format, as the message says
    for path, kind in ((zipped, "PyTorch pickle file"), (legacy, "pickle file"), (evil, "PyTorch pickle file")):
        with pytest.raises(ValueError, match=rf"{path.name}.*{kind}.*not loaded because unpickling runs code.*"
                                             r"np\.savez\(\"weights\.npz\", \*\*\{k: v\.detach\(\)\.numpy\(\)"):
            load(path)
        with open(path, "rb") as f, pytest.raises(ValueError, match="unpickling runs code"):
            load(f)
    assert not marker.exists()
    # the recipe of the message works: converted in PyTorch, the weights load here
    p = zipped
    np.savez(tmp_path / "weights.npz", **{k: v.detach().numpy() for k, v in torch.load(p).items()})
    converted = load(tmp_path / "weights.npz")
    assert sorted(converted) == sorted(state)
    for k, v in state.items():
        np.testing.assert_array_equal(converted[k], v.numpy())


def test_a_state_dict_of_arrays_is_np_savez_s_file(tmp_path):
    # so that dict(np.load(path)) is exactly the weights: the way they move to PyTorch
    state = collections.OrderedDict([("b.weight", np.ones((2, 3), np.float32)), ("a.bias", np.arange(2.0))])
    save(state, tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as npz:
        assert npz.files == ["b.weight", "a.bias"]
    loaded = load(tmp_path / "model.npz")
    assert list(loaded) == list(state) and type(loaded) is dict
    _same(dict(state), loaded)
