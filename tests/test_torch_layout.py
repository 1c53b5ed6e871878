"""`import tinygrad_ae as torch`: the package's layout answers torch's submodule imports
(`nn.functional`, `nn.init`, `optim`, `utils.data`), a torch-style training script runs unchanged, and
`nn.init` and `utils.data` behave as torch documents (against torch itself where it is installed)."""
import importlib.util
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor
from tinygrad_ae.nn import init
from tinygrad_ae.utils.data import DataLoader, Dataset, TensorDataset, default_collate

ROOT = pathlib.Path(__file__).resolve().parent.parent
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="PyTorch is not installed (pip install '.[test]'): no differential check")


def torch_module():
    return pytest.importorskip("torch", reason="PyTorch is not installed: no differential check against it")


# ===================================================================================== layout
IMPORTS = """
import tinygrad_ae as torch
import tinygrad_ae.nn as nn
import tinygrad_ae.nn.functional as F
import tinygrad_ae.nn.init
import tinygrad_ae.optim as optim
import tinygrad_ae.utils.data
from tinygrad_ae import nn, optim
from tinygrad_ae.nn import functional, init
from tinygrad_ae.nn.functional import mse_loss, relu, cross_entropy
from tinygrad_ae.nn.init import xavier_uniform_, kaiming_uniform_
from tinygrad_ae.utils.data import DataLoader, Dataset, TensorDataset
x = torch.zeros(2, 3)
"""


def test_torchs_submodule_imports_work_in_a_fresh_interpreter():
    checks = ("\nassert F is functional is torch.nn.functional is torch.functional"
              "\nassert init is torch.nn.init and torch.utils.data.DataLoader is DataLoader\n")
    subprocess.run([sys.executable, "-c", IMPORTS + checks], check=True, cwd=ROOT, timeout=120)


ATTRIBUTES = """
import tinygrad_ae as torch
torch.nn.functional.mse_loss, torch.nn.init.xavier_uniform_, torch.optim.SGD, torch.utils.data.DataLoader
torch.utils.data.TensorDataset, torch.nn.Linear, torch.manual_seed, torch.float32, torch.zeros
"""


def test_import_tinygrad_ae_as_torch_alone_reaches_the_submodules():
    """As after `import torch`: no submodule import needed to reach torch.nn.init or torch.utils.data."""
    subprocess.run([sys.executable, "-c", ATTRIBUTES], check=True, cwd=ROOT, timeout=120)


@needs_torch
def test_the_same_import_lines_are_torchs():
    """The lines above, with torch for tinygrad_ae, run in PyTorch: the paths are torch's own."""
    for text in (IMPORTS, ATTRIBUTES):
        subprocess.run([sys.executable, "-c", text.replace("tinygrad_ae", "torch")], check=True, cwd=ROOT, timeout=120)


def test_nn_functional_is_the_functional_module():
    """One module under two names: everything of tinygrad_ae.functional, now and whatever it gains."""
    import tinygrad_ae.functional
    import tinygrad_ae.nn.functional as F
    assert F is tinygrad_ae.functional and tg.nn.functional is F
    for name in ("mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
                 "softmax", "log_softmax", "dropout", "relu", "sigmoid", "tanh", "linear"):
        assert callable(getattr(F, name))


def test_every_package_folder_is_listed_in_pyproject():
    """pip installs only the packages pyproject.toml lists: a folder missing there would be missing
    from an installed tinygrad_ae."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib comes with Python 3.11")
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "tinygrad_ae").rglob("__init__.py")}
    assert found == listed
    assert {"tinygrad_ae.nn", "tinygrad_ae.utils", "tinygrad_ae.utils.data"} <= listed


# ============================================================================ a torch-style script
SCRIPT = """
torch.manual_seed(0)
X = torch.randn(256, 4)
w = torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
y = X @ w + 0.1 * torch.randn(256, 1)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
nn.init.kaiming_uniform_(model[0].weight, nonlinearity="relu")
nn.init.zeros_(model[0].bias)
opt = optim.SGD(model.parameters(), lr=0.05)
loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
losses = []
for epoch in range(15):
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * len(xb)
    losses.append(total / len(X))
"""


def _run(torch):
    import importlib
    namespace = {"torch": torch, "nn": torch.nn, "optim": torch.optim,
                 "F": importlib.import_module(torch.__name__ + ".nn.functional"),
                 "DataLoader": torch.utils.data.DataLoader, "TensorDataset": torch.utils.data.TensorDataset}
    exec(SCRIPT, namespace)   # noqa: S102
    return namespace["losses"]


def test_a_torch_style_training_script_runs_unchanged_and_reproducibly():
    losses = _run(tg)
    assert losses[-1] < 0.1 * losses[0] and losses[-1] < 0.1
    assert _run(tg) == losses                           # tg.manual_seed(0) fixes every draw


@needs_torch
def test_the_script_learns_as_well_under_torch():
    torch = torch_module()
    ours, theirs = _run(tg), _run(torch)
    assert ours[-1] < 2 * theirs[-1] + 0.02 and theirs[-1] < 2 * ours[-1] + 0.02


# ===================================================================================== nn.init
def test_init_fills_in_place_without_a_graph_and_returns_the_tensor():
    for fill in (lambda t: init.uniform_(t, -1, 1), lambda t: init.normal_(t, 0, 2), lambda t: init.constant_(t, 0.3),
                 init.ones_, init.zeros_, init.xavier_uniform_, init.kaiming_uniform_):
        t = Tensor(np.full((4, 5), 9.0, np.float32), requires_grad=True)
        array = t.data
        assert fill(t) is t and t.data is array and t.dtype == tg.float32
        assert t.requires_grad and t.is_leaf and t.grad_fn is None and not np.all(array == 9.0)
    t = tg.zeros(3, 2, dtype=tg.float64)
    assert init.ones_(t).dtype == tg.float64 and np.all(t.data == 1)
    np.testing.assert_array_equal(init.constant_(tg.zeros(2), 0.25).data, [0.25, 0.25])


def test_init_bounds_and_distributions_are_torchs():
    g = tg.Generator().manual_seed(0)
    w = init.xavier_uniform_(tg.empty(300, 200), gain=2.0, generator=g).data
    bound = 2.0 * np.sqrt(6 / 500)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound and abs(w.var() - bound ** 2 / 3) < 0.01 * bound ** 2
    w = init.kaiming_uniform_(tg.empty(200, 300), generator=g).data                 # a=0: sqrt(2) * sqrt(3 / 300)
    bound = np.sqrt(6 / 300)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    w = init.kaiming_uniform_(tg.empty(200, 300), a=np.sqrt(5), mode="fan_out", generator=g).data   # nn.Linear's torch default
    bound = np.sqrt(2 / 6) * np.sqrt(3 / 200)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    w = init.kaiming_uniform_(tg.empty(16, 3, 5, 5), nonlinearity="relu", generator=g).data   # fan_in = 3 * 25
    assert np.abs(w).max() <= np.sqrt(2) * np.sqrt(3 / 75)
    z = init.normal_(tg.empty(100_000), 1.0, 0.5, generator=g).data
    assert abs(z.mean() - 1.0) < 0.01 and abs(z.std() - 0.5) < 0.01
    u = init.uniform_(tg.empty(100_000), -2.0, 3.0, generator=g).data
    assert u.min() >= -2 and u.max() <= 3 and abs(u.mean() - 0.5) < 0.03


def test_init_draws_from_the_default_generator_and_from_a_given_one():
    tg.manual_seed(5)
    a = init.xavier_uniform_(tg.empty(3, 4)).data.copy()
    tg.manual_seed(5)
    np.testing.assert_array_equal(init.xavier_uniform_(tg.empty(3, 4)).data, a)
    g1, g2 = tg.Generator().manual_seed(1), tg.Generator().manual_seed(1)
    np.testing.assert_array_equal(init.normal_(tg.empty(5), generator=g1).data, init.normal_(tg.empty(5), generator=g2).data)


def test_init_errors_name_the_function():
    with pytest.raises(TypeError, match=r"xavier_uniform_: expected a Tensor to fill in place, got ndarray"):
        init.xavier_uniform_(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"Fan in and fan out can not be computed for a tensor with fewer than 2 "
                                         r"dimensions, got shape \(3,\)"):
        init.xavier_uniform_(tg.zeros(3))
    with pytest.raises(ValueError, match=r"kaiming_uniform_: mode 'x' is not supported; use 'fan_in' or 'fan_out'"):
        init.kaiming_uniform_(tg.zeros(3, 4), mode="x")
    with pytest.raises(ValueError, match=r"calculate_gain: unsupported nonlinearity 'foo'"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match=r"normal_: std must be >= 0, got -1"):
        init.normal_(tg.zeros(2), 0, -1)
    with pytest.raises(TypeError, match=r"uniform_: generator must be a tinygrad_ae.Generator"):
        init.uniform_(tg.zeros(2), generator=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = tg.zeros(0, 4)
        assert init.kaiming_uniform_(t) is t
    assert [str(w.message) for w in caught] == ["Initializing zero-element tensors is a no-op"]


@needs_torch
def test_gains_and_fans_equal_torchs():
    torch = torch_module()
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert init.calculate_gain(name) == torch.nn.init.calculate_gain(name)
    assert init.calculate_gain("leaky_relu", 0.2) == torch.nn.init.calculate_gain("leaky_relu", 0.2)
    for shape in ((3, 4), (5, 2, 3), (16, 3, 5, 5), (1, 1)):
        assert init._calculate_fan_in_and_fan_out(tg.zeros(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))


@needs_torch
def test_init_samples_fill_the_same_range_as_torchs():
    torch = torch_module()
    for name, kwargs in (("xavier_uniform_", {"gain": 1.5}), ("kaiming_uniform_", {"a": 0.3, "mode": "fan_out"}),
                         ("uniform_", {"a": -0.5, "b": 2.0})):
        ours = getattr(init, name)(tg.empty(400, 300), **kwargs).data
        theirs = getattr(torch.nn.init, name)(torch.empty(400, 300), **kwargs).numpy()
        np.testing.assert_allclose([ours.min(), ours.max(), ours.std()], [theirs.min(), theirs.max(), theirs.std()],
                                   rtol=0.01, atol=1e-3)


# ================================================================================ utils.data
def test_tensor_dataset_indexes_its_tensors_together():
    X, y = tg.randn(5, 3), tg.arange(5)
    ds = TensorDataset(X, y)
    assert isinstance(ds, Dataset) and len(ds) == 5 and ds.tensors == (X, y)
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.data, X.data[2])
    assert yi.item() == 2 and yi.dtype == tg.int64
    with pytest.raises(ValueError, match=r"TensorDataset: the tensors must have the same size in their first "
                                         r"dimension, got shapes \(3,\), \(4,\)"):
        TensorDataset(tg.zeros(3), tg.zeros(4))
    with pytest.raises(TypeError, match=r"TensorDataset: argument 1 is a ndarray, expected a Tensor"):
        TensorDataset(tg.zeros(3), np.zeros(3))
    with pytest.raises(NotImplementedError, match="Dataset must define __getitem__"):
        Dataset()[0]


def test_data_loader_batches_in_order_and_counts_them():
    ds = TensorDataset(tg.arange(10), tg.arange(10.0).reshape(10, 1))
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].data.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][1].shape == (4, 1) and batches[0][1].dtype == tg.float32 and isinstance(batches[0], list)
    assert len(DataLoader(ds, batch_size=4)) == 3 and len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert [len(b[0]) for b in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    assert len(list(DataLoader(ds))) == 10 and list(DataLoader(range(3), batch_size=None)) == [0, 1, 2]


def test_data_loader_shuffles_each_pass_reproducibly():
    ds = TensorDataset(tg.arange(20))
    order = lambda loader: np.concatenate([b[0].data for b in loader]).tolist()   # noqa: E731
    loader = DataLoader(ds, batch_size=6, shuffle=True, generator=tg.Generator().manual_seed(0))
    first, second = order(loader), order(loader)
    assert sorted(first) == list(range(20)) and first != second                     # a new order each pass
    assert order(DataLoader(ds, batch_size=6, shuffle=True, generator=tg.Generator().manual_seed(0))) == first
    tg.manual_seed(3)
    a = order(DataLoader(ds, batch_size=6, shuffle=True))
    tg.manual_seed(3)
    assert order(DataLoader(ds, batch_size=6, shuffle=True)) == a


def test_data_loader_refuses_what_it_does_not_do():
    with pytest.raises(ValueError, match=r"DataLoader: batch_size must be a positive integer \(or None\), got 0"):
        DataLoader(range(3), batch_size=0)
    with pytest.raises(ValueError, match=r"DataLoader: sampler option is mutually exclusive with shuffle"):
        DataLoader(range(3), sampler=[0, 1, 2], shuffle=True)
    with pytest.raises(TypeError, match=r"DataLoader: the dataset must have __getitem__ and __len__, got int"):
        DataLoader(3)
    with pytest.raises(TypeError, match=r"DataLoader: generator must be a tinygrad_ae.Generator"):
        DataLoader(range(3), shuffle=True, generator=0)


COLLATE_CASES = [
    "[1, 2, 3]", "[1.0, 2.5]", "[True, False]", "[(1, 2.0), (3, 4.0)]", "[[1, 2], [3, 4]]", "[{'a': 1, 'b': 2.0}, {'a': 3, 'b': 4.0}]",
    "[np.zeros(2, np.float32), np.ones(2, np.float32)]", "[np.float32(1), np.float32(2)]", "[np.arange(3), np.arange(3)]",
    "[lib.zeros(2), lib.ones(2)]", "[lib.arange(3), lib.arange(3)]", "[(lib.ones(2), 1), (lib.zeros(2), 0)]",
]


def _structure(batch):
    if isinstance(batch, dict):
        return {k: _structure(v) for k, v in batch.items()}
    if isinstance(batch, list):
        return [_structure(v) for v in batch]
    data = batch.data if isinstance(batch, Tensor) else batch.numpy()
    return (data.dtype.name, data.shape, data.tolist())


@needs_torch
@pytest.mark.parametrize("case", COLLATE_CASES)
def test_default_collate_equals_torchs(case):
    torch = torch_module()
    from torch.utils.data import default_collate as torch_collate
    ours = default_collate(eval(case, {"np": np, "lib": tg}))                    # noqa: S307
    theirs = torch_collate(eval(case, {"np": np, "lib": torch}))                 # noqa: S307
    assert _structure(ours) == _structure(theirs)


def test_default_collate_keeps_strings_and_refuses_unknown_samples():
    assert default_collate(["a", "b"]) == ["a", "b"]
    with pytest.raises(TypeError, match=r"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found "
                                        r"<class 'object'>"):
        default_collate([object(), object()])
    with pytest.raises(ValueError, match=r"every sample of a batch must have the same number of fields, got 2, 1"):
        default_collate([(1, 2), (3,)])
