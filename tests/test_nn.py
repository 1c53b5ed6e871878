"""nn: Module registry and state dicts, Linear (init, forward, gradients, errors), activations, Sequential."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_ae as tg
from tinygrad_ae import Tensor, nn
from tinygrad_ae.models.autoencoder import GlorotLinear


class TwoLayer(nn.Module):
    """encoder/decoder submodules plus a direct parameter, a frozen tensor and a plain attribute."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.encoder = nn.Linear(4, 3, dtype=np.float64, rng=rng)
        self.scale = Tensor(np.ones(3), requires_grad=True)
        self.frozen = Tensor(np.ones(3))                  # requires_grad=False: not a parameter
        self.label = "not a parameter"
        self.decoder = nn.Linear(3, 4, dtype=np.float64, rng=rng)

    def forward(self, x):
        return self.decoder(self.encoder(x).sigmoid() * self.scale)


# ----- Linear ---------------------------------------------------------------------------------

def test_linear_shapes_and_dtype():
    layer = nn.Linear(5, 3)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert layer.weight.requires_grad and layer.bias.requires_grad
    layer64 = nn.Linear(5, 3, dtype=np.float64)
    assert layer64.weight.dtype == np.float64 and layer64.bias.dtype == np.float64
    no_bias = nn.Linear(5, 3, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]


@pytest.mark.parametrize("layer_type", [nn.Linear, GlorotLinear])
def test_linear_uniform_start_bounds_and_spread(layer_type):
    """nn.Linear: PyTorch's U(+-1/sqrt(fan_in)) for weight and bias; the lecture's layer: Glorot's
    U(+-sqrt(6 / (fan_in + fan_out))) and a zero bias."""
    n_in, n_out = 300, 200
    layer = layer_type(n_in, n_out, dtype=np.float64, rng=1)
    bound = 1 / np.sqrt(n_in) if layer_type is nn.Linear else np.sqrt(6.0 / (n_in + n_out))
    for values in (layer.weight.data, layer.bias.data) if layer_type is nn.Linear else (layer.weight.data,):
        assert np.all(np.abs(values) <= bound)
        assert values.max() > 0.9 * bound and values.min() < -0.9 * bound     # fills the interval
        assert abs(values.mean()) < 0.1 * bound
    w = layer.weight.data
    np.testing.assert_allclose(w.var(), bound ** 2 / 3, rtol=0.02)  # variance of U(-a, a)
    if layer_type is GlorotLinear:
        np.testing.assert_array_equal(layer.bias.data, np.zeros(n_out))
        assert repr(layer) == "Linear(in_features=300, out_features=200, bias=True)"


def test_linear_seeding_is_reproducible():
    a = nn.Linear(6, 4, rng=7).weight.data
    np.testing.assert_array_equal(a, nn.Linear(6, 4, rng=7).weight.data)
    np.testing.assert_array_equal(a, nn.Linear(6, 4, rng=np.random.default_rng(7)).weight.data)
    assert not np.array_equal(a, nn.Linear(6, 4, rng=8).weight.data)
    gen = np.random.default_rng(7)               # a shared Generator advances: two layers differ
    first, second = nn.Linear(6, 4, rng=gen), nn.Linear(6, 4, rng=gen)
    np.testing.assert_array_equal(first.weight.data, a)
    assert not np.array_equal(first.weight.data, second.weight.data)
    assert not np.array_equal(nn.Linear(6, 4).weight.data, nn.Linear(6, 4).weight.data)  # the default stream goes on


@pytest.mark.parametrize("x_shape", [(5, 4), (4,), (2, 5, 4)])
def test_linear_forward_equals_numpy(x_shape):
    layer = nn.Linear(4, 3, dtype=np.float64, rng=0)
    layer.bias.data[:] = [0.5, -1.0, 2.0]
    x = np.random.default_rng(1).normal(size=x_shape)
    y = layer(Tensor(x))
    assert y.shape == x_shape[:-1] + (3,)
    np.testing.assert_allclose(y.data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(nn.Linear(4, 3, bias=False, dtype=np.float64, rng=0)(Tensor(x)).data,
                               x @ layer.weight.data.T, rtol=1e-14, atol=1e-14)


@given(m=st.integers(1, 4), n_in=st.integers(1, 4), n_out=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_linear_gradients_gradcheck(m, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(n_in, n_out, dtype=np.float64, rng=rng)

    def fn(x, weight, bias):
        layer.weight, layer.bias = weight, bias
        return layer(x)

    x, b = rng.normal(size=(m, n_in)), rng.normal(size=n_out)
    assert tg.gradcheck(fn, x, layer.weight.data, b, atol=1e-8, rtol=1e-7)


def test_linear_gradients_closed_form():
    rng = np.random.default_rng(3)
    layer = nn.Linear(4, 3, dtype=np.float64, rng=rng)
    x, upstream = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    (layer(Tensor(x)) * Tensor(upstream)).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, upstream.T @ x, rtol=1e-13)
    np.testing.assert_allclose(layer.bias.grad, upstream.sum(axis=0), rtol=1e-13)


def test_linear_wrong_input_width_names_layer_and_shapes():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"Linear\(in_features=3.*3 features.*\(2, 5\)"):
        layer(Tensor(np.ones((2, 5))))
    with pytest.raises(ValueError, match=r"Linear.*shape \(\)"):
        layer(Tensor(1.0))


@pytest.mark.parametrize("kwargs, error", [
    (dict(in_features=0, out_features=2), ValueError), (dict(in_features=2.5, out_features=2), ValueError),
    (dict(in_features=2, out_features=-1), ValueError), (dict(in_features=2, out_features=2, dtype=np.int32), TypeError),
])
def test_linear_refuses_bad_arguments(kwargs, error):
    with pytest.raises(error, match="Linear"):
        nn.Linear(**kwargs)


# ----- activations and Sequential ----------------------------------------------------------------

@pytest.mark.parametrize("module, reference", [
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))), (nn.Tanh(), np.tanh),
    (nn.ReLU(), lambda x: np.maximum(x, 0)), (nn.Identity(), lambda x: x),
])
def test_activations_forward(module, reference):
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(module(Tensor(x)).data, reference(x), rtol=1e-14, atol=1e-15)
    assert module.parameters() == []


def test_sequential_forward_indexing_and_names():
    first, second = nn.Linear(4, 3, dtype=np.float64, rng=0), nn.Linear(3, 2, dtype=np.float64, rng=1)
    model = nn.Sequential(first, nn.Tanh(), second)
    assert len(model) == 3 and model[0] is first and model[-1] is second and list(model)[2] is second
    assert isinstance(model[1:], nn.Sequential) and len(model[1:]) == 2 and model[1:][1] is second
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = np.random.default_rng(2).normal(size=(5, 4))
    expected = np.tanh(x @ first.weight.data.T + first.bias.data) @ second.weight.data.T + second.bias.data
    np.testing.assert_allclose(model(Tensor(x)).data, expected, rtol=1e-13)
    with pytest.raises(TypeError, match="argument 1"):
        nn.Sequential(first, np.tanh)


# ----- Module: registry --------------------------------------------------------------------------

def test_named_parameters_names_and_order():
    model = TwoLayer()
    named = model.named_parameters()
    # torch's order: a module's own parameters, then its submodules' in assignment order
    assert [n for n, _ in named] == ["scale", "encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"]
    assert named[1][1] is model.encoder.weight and named[0][1] is model.scale
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in named]
    outer = nn.Sequential(TwoLayer(), nn.Sigmoid())
    assert [n for n, _ in outer.named_parameters()][:2] == ["0.scale", "0.encoder.weight"]


def test_shared_parameters_listed_once():
    model = TwoLayer()
    model.tied = model.encoder.weight           # the same Tensor under a second name
    model.again = model.decoder                 # the same submodule twice
    names = [n for n, _ in model.named_parameters()]
    assert names == ["scale", "tied", "encoder.bias", "decoder.weight", "decoder.bias"]    # as torch lists them


def test_call_runs_forward_and_zero_grad_clears():
    model = TwoLayer()
    x = np.random.default_rng(0).normal(size=(2, 4))
    np.testing.assert_array_equal(model(Tensor(x)).data, model.forward(Tensor(x)).data)
    (model(Tensor(x)) ** 2).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(NotImplementedError, match="Module"):
        nn.Module()(1)


# ----- Module: state dicts -----------------------------------------------------------------------

def test_state_dict_is_an_ordered_copy():
    model = TwoLayer()
    state = model.state_dict()
    assert list(state) == [n for n, _ in model.named_parameters()]
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(state[name], p.data)
        assert state[name] is not p.data and not np.shares_memory(state[name], p.data)
    before = model.encoder.weight.data.copy()
    state["encoder.weight"][:] = 123.0
    np.testing.assert_array_equal(model.encoder.weight.data, before)


def test_load_state_dict_copies_in_place_and_casts():
    source, target = TwoLayer(seed=1), TwoLayer(seed=2)
    arrays = {name: p.data for name, p in target.named_parameters()}
    target.load_state_dict(source.state_dict())
    for name, p in target.named_parameters():
        assert p.data is arrays[name]                      # same array objects, new values
        np.testing.assert_array_equal(p.data, source.state_dict()[name])
    layer = nn.Linear(2, 2)                                # float32 parameters, float64 values
    values = {"weight": np.array([[1.0, 2.0], [3.0, 1 / 3]]), "bias": np.array([0.25, -0.5])}
    layer.load_state_dict(values)
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data, values["weight"].astype(np.float32))


@pytest.mark.parametrize("edit, pattern", [
    (lambda d: d.pop("decoder.bias"), r"missing key 'decoder\.bias'"),
    (lambda d: d.update(extra=np.zeros(2)), r"unexpected key 'extra'"),
    (lambda d: d.update({"encoder.weight": np.zeros((4, 3))}),
     r"'encoder\.weight' has shape \(4, 3\), the model's tensor has shape \(3, 4\)"),
    (lambda d: d.update({"scale": np.ones(3, dtype=complex)}), r"'scale' has dtype complex128"),
    (lambda d: d.update({"encoder.weight": [[0.5] * 4, [0.5] * 3, [0.5] * 4]}),  # ragged
     r"^TwoLayer\.load_state_dict: key 'encoder\.weight' holds a list that is not a rectangular array \(.*\); "
     r"pass an array, or nested lists of equal lengths$"),
])
def test_load_state_dict_errors_name_the_key_and_change_nothing(edit, pattern):
    model = TwoLayer(seed=1)
    before = model.state_dict()
    state = TwoLayer(seed=2).state_dict()            # valid except for the one edit, applied last
    edit(state)
    with pytest.raises(ValueError, match=pattern):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_reports_every_problem():
    model = TwoLayer()
    state = model.state_dict()
    state.pop("scale")
    state["bogus"] = np.zeros(1)
    with pytest.raises(ValueError, match=r"missing key 'scale'.*unexpected key 'bogus'"):
        model.load_state_dict(state)


def test_linear_and_the_autoencoder_still_take_numpys_dtype_strings():
    assert nn.Linear(3, 2, dtype="float64").weight.dtype == np.float64
    assert tg.Autoencoder(6, 2, dtype="float32", seed=0).encoder.weight.dtype == np.float32
