"""Convolutions, pooling and interpolate (engine/conv.py, functional_conv.py, functional_pool.py, nn/conv.py,
nn/pooling.py): forward values and gradients against PyTorch in float64 over many configurations, the
modules' shapes, initialization and repr against torch's, the errors of bad input (skipped parts without
torch); gradcheck and gradgradcheck of every entry point, the adjoint identities of the family, a
captured training step equal to the eager one bit for bit, and the benchmark's smoke run (without torch)."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor, nn, optim
import tinygrad_ae.nn.functional as F
from tinygrad_ae.engine import conv

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = TF = None
needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch; pip install torch to run it")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = dict(rtol=1e-10, atol=1e-10)


def rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


def against_torch(ours, theirs, *arrays, seed=1):
    """ours(*Tensors) and theirs(*torch tensors): values and every input's gradient equal (float64)."""
    mine = [Tensor(a, requires_grad=True) for a in arrays]
    them = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*mine), theirs(*them)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOL)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for i, (a, b) in enumerate(zip(mine, them)):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), err_msg=f"gradient of input {i}", **TOL)


# ----- conv2d, conv_transpose2d, conv1d against torch ------------------------------------------------

CONV2D = [  # input shape, weight shape, options
    ((2, 3, 7, 8), (4, 3, 3, 2), {}),
    ((2, 3, 7, 8), (4, 3, 1, 1), {"stride": 2}),
    ((2, 4, 9, 8), (6, 2, 3, 3), {"stride": 2, "padding": 1, "groups": 2}),
    ((1, 6, 9, 10), (6, 1, 3, 3), {"padding": (1, 2), "groups": 6}),
    ((2, 4, 9, 8), (6, 4, 3, 3), {"stride": (2, 3), "padding": (2, 1), "dilation": (2, 1)}),
    ((2, 4, 9, 8), (6, 4, 4, 3), {"padding": "same", "dilation": (1, 2)}),
    ((2, 2, 6, 7), (3, 2, 2, 2), {"padding": "same"}),
    ((2, 2, 6, 7), (3, 2, 3, 5), {"padding": "valid"}),
    ((3, 9, 8), (6, 3, 3, 3), {"padding": 1}),                  # unbatched
    ((8, 16, 14, 14), (32, 16, 3, 3), {"stride": 2, "padding": 1}),   # the benchmark's layer
]


@needs_torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape,w_shape,options", CONV2D)
def test_conv2d_matches_torch(x_shape, w_shape, options, bias):
    arrays = [rand(*x_shape), rand(*w_shape)] + ([rand(w_shape[0])] if bias else [])
    against_torch(lambda *t: F.conv2d(*t, **options), lambda *t: TF.conv2d(*t, **options), *arrays)


CONV_TRANSPOSE2D = [
    ((2, 4, 5, 6), (4, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((2, 4, 5, 6), (4, 3, 3, 2), {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2), "groups": 2,
                                  "dilation": (1, 2)}),
    ((2, 3, 4, 4), (3, 2, 2, 2), {}),
    ((2, 3, 4, 5), (3, 2, 5, 3), {"padding": 2, "dilation": 2}),
    ((3, 4, 4), (3, 2, 3, 3), {"stride": 3}),                    # unbatched
    ((4, 32, 7, 7), (32, 16, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
]


@needs_torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape,w_shape,options", CONV_TRANSPOSE2D)
def test_conv_transpose2d_matches_torch(x_shape, w_shape, options, bias):
    out_channels = w_shape[1] * options.get("groups", 1)
    arrays = [rand(*x_shape), rand(*w_shape)] + ([rand(out_channels)] if bias else [])
    against_torch(lambda *t: F.conv_transpose2d(*t, **options), lambda *t: TF.conv_transpose2d(*t, **options),
                  *arrays)


@needs_torch
@pytest.mark.parametrize("options", [{}, {"stride": 2, "padding": 1}, {"padding": "same", "dilation": 2},
                                     {"groups": 2, "padding": 2}])
def test_conv1d_matches_torch(options):
    against_torch(lambda *t: F.conv1d(*t, **options), lambda *t: TF.conv1d(*t, **options),
                  rand(3, 4, 11), rand(6, 4 // options.get("groups", 1), 3), rand(6))


@needs_torch
@pytest.mark.parametrize("options", [{}, {"stride": 2, "padding": 1, "output_padding": 1}, {"groups": 2, "dilation": 2}])
def test_conv_transpose1d_matches_torch(options):
    against_torch(lambda *t: F.conv_transpose1d(*t, **options), lambda *t: TF.conv_transpose1d(*t, **options),
                  rand(3, 4, 9), rand(4, 3, 3), rand(3 * options.get("groups", 1)))


@needs_torch
def test_second_derivatives_match_torch():
    x, w = rand(2, 3, 6, 6), rand(4, 3, 3, 3)
    mine = [Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)]
    them = [torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)]
    results = []
    for (a, b), conv2d, grad in ((mine, F.conv2d, tg.grad), (them, TF.conv2d, torch.autograd.grad)):
        y = conv2d(a, b, stride=2, padding=1)
        gx, gw = grad((y * y).sum(), (a, b), create_graph=True)
        second = grad((gx * gx).sum() + (gw * gw * gw).sum(), (a, b))
        results.append([np.asarray(t.detach().numpy() if hasattr(t, "detach") else t.data) for t in second])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)


# ----- without torch: central differences and the adjoint identities --------------------------------

GEOMETRIES = [dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1),
              dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)]


@pytest.mark.parametrize("g", GEOMETRIES)
def test_the_family_is_adjoint(g):
    """<y, Conv2d(x, w)> = <ConvTranspose2d(y, w), x> = <Conv2dWeight(x, y), w>: each is the others' derivative."""
    x, w = rand(2, 4, 7, 8), rand(6, 4 // g["groups"], 3, 2)
    y = conv.Conv2d().forward(x, w, None, **g)
    yy = rand(*y.shape)
    inner = np.vdot(yy, y)
    np.testing.assert_allclose(np.vdot(conv.ConvTranspose2d().forward(yy, w, None, size=x.shape[2:], **g), x), inner)
    np.testing.assert_allclose(np.vdot(conv.Conv2dWeight().forward(x, yy, kernel=w.shape[2:], **g), w), inner)


@pytest.mark.parametrize("fn,shapes", [
    (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2), [(2, 4, 5, 6), (4, 2, 3, 2), (4,)]),
    (lambda x, w: F.conv2d(x, w, padding="same", dilation=2), [(1, 2, 5, 5), (3, 2, 2, 3)]),
    (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
     [(2, 4, 3, 4), (4, 1, 3, 2), (2,)]),
    (lambda x, w: F.conv1d(x, w, stride=2, padding=1), [(2, 3, 7), (2, 3, 3)]),
    (lambda x, w: F.conv_transpose1d(x, w, stride=2, dilation=2), [(2, 3, 4), (3, 2, 2)]),
    (lambda x, y: tg.apply(conv.Conv2dWeight, x, y, kernel=(3, 2), **GEOMETRIES[1]), [(2, 4, 5, 6), (2, 6, 3, 8)]),
])
def test_gradcheck_and_gradgradcheck(fn, shapes):
    arrays = [rand(*s) for s in shapes]
    assert tg.gradcheck(fn, *arrays) and tg.gradgradcheck(fn, *arrays)


def test_float32_stays_float32():
    x = Tensor(rand(2, 3, 8, 8).astype(np.float32), requires_grad=True)
    layer = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    y = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)(layer(x))
    assert y.dtype == np.float32 and y.shape == x.shape
    y.sum().backward()
    assert x.grad.dtype == layer.weight.grad.dtype == layer.bias.grad.dtype == np.float32


# ----- the modules ---------------------------------------------------------------------------------

MODULES = [
    ("Conv2d", (1, 16, 3), {"stride": 2, "padding": 1}),
    ("Conv2d", (4, 6, (3, 2)), {"groups": 2, "bias": False, "dilation": (2, 1), "padding": "same"}),
    ("Conv2d", (3, 5, 3), {"padding": "valid"}),
    ("ConvTranspose2d", (32, 16, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ("ConvTranspose2d", (4, 6, 2), {"groups": 2, "dilation": 2, "bias": False}),
    ("Conv1d", (4, 6, 3), {"padding": "same", "groups": 2, "dilation": 2}),
    ("ConvTranspose1d", (4, 6, 3), {"stride": 2}),
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}),
    ("AvgPool2d", (3, 2, 1), {}),
    ("AdaptiveAvgPool2d", ((2, 3),), {}),
    ("Upsample", (), {"scale_factor": 2}),
    ("Upsample", (), {"size": (3, 4), "mode": "bilinear", "align_corners": True}),
]


@needs_torch
@pytest.mark.parametrize("name,args,kwargs", MODULES)
def test_module_repr_and_state_dict_match_torch(name, args, kwargs):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]


@needs_torch
@pytest.mark.parametrize("name,args,kwargs", [m for m in MODULES if m[0].startswith("Conv")])
def test_conv_modules_forward_like_torch_from_the_same_weights(name, args, kwargs):
    ours = getattr(nn, name)(*args, **kwargs, dtype=tg.float64)
    theirs = getattr(torch.nn, name)(*args, **kwargs, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = rand(2, args[0], 9) if name.endswith("1d") else rand(2, args[0], 9, 8)
    against_torch(ours, theirs, x)


@pytest.mark.parametrize("cls,args,fan_in", [(nn.Conv2d, (6, 8, (3, 2)), 6 * 6), (nn.Conv2d, (6, 9, 3, 1, 0, 1, 3), 2 * 9),
                                             (nn.ConvTranspose2d, (6, 8, 3), 8 * 9), (nn.Conv1d, (4, 2, 5), 20)])
def test_initialization_is_torchs_bound_from_the_default_generator(cls, args, fan_in):
    tg.manual_seed(5)
    a = cls(*args)
    tg.manual_seed(5)
    b = cls(*args)
    bound = 1 / np.sqrt(fan_in)
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p.data, q.data) and p.dtype == tg.get_default_dtype()
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.5 * bound


@needs_torch
def test_conv_transpose_output_size_picks_output_padding():
    ours = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=tg.float64)
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = rand(2, 3, 4, 5)
    against_torch(lambda t: ours(t, output_size=(8, 10)), lambda t: theirs(t, output_size=(8, 10)), x)
    with pytest.raises(ValueError, match="ConvTranspose2d: requested an output size"):
        ours(Tensor(x), output_size=(12, 10))


# ----- pooling and interpolate against torch ----------------------------------------------------------

POOLS = [
    ("max_pool2d", (2,), {}),
    ("max_pool2d", (3,), {"stride": 2, "padding": 1}),
    ("max_pool2d", ((3, 2),), {"stride": (2, 1), "dilation": (1, 2), "ceil_mode": True}),
    ("max_pool2d", (3,), {"stride": 2, "ceil_mode": True}),
    ("avg_pool2d", (2,), {}),
    ("avg_pool2d", (3,), {"stride": 2, "padding": 1}),
    ("avg_pool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}),
    ("avg_pool2d", ((3, 2),), {"stride": 2, "padding": (1, 0), "ceil_mode": True}),
    ("avg_pool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
    ("avg_pool2d", (2,), {"divisor_override": 3}),
    ("adaptive_avg_pool2d", ((3, 4),), {}),
    ("adaptive_avg_pool2d", ((2, None),), {}),
    ("adaptive_avg_pool2d", (1,), {}),
]


@needs_torch
@pytest.mark.parametrize("shape", [(2, 3, 9, 8), (3, 7, 7)])
@pytest.mark.parametrize("name,args,kwargs", POOLS)
def test_pooling_matches_torch(name, args, kwargs, shape):
    against_torch(lambda t: getattr(F, name)(t, *args, **kwargs), lambda t: getattr(TF, name)(t, *args, **kwargs),
                  rand(*shape))


@needs_torch
def test_max_pool_indices_and_ties_match_torch():
    x = np.round(rand(2, 3, 6, 7) * 2) / 2                       # many ties: torch's first maximum
    ours, idx = F.max_pool2d(Tensor(x), 3, 2, 1, return_indices=True)
    theirs, tidx = TF.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    np.testing.assert_array_equal(idx.data, tidx.numpy())
    assert idx.dtype == np.int64
    against_torch(lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: TF.max_pool2d(t, 3, 2, 1), x)


INTERPOLATIONS = [
    ((2, 3, 4, 5), {"scale_factor": 2}),
    ((2, 3, 4, 5), {"scale_factor": (1.5, 2.5)}),
    ((2, 3, 4, 5), {"size": (7, 3)}),
    ((2, 3, 4, 5), {"size": (7, 3), "mode": "nearest-exact"}),
    ((2, 3, 4, 5), {"size": (7, 9), "mode": "bilinear"}),
    ((2, 3, 4, 5), {"size": (7, 9), "mode": "bilinear", "align_corners": True}),
    ((2, 3, 6, 5), {"scale_factor": 0.5, "mode": "bilinear"}),
    ((2, 3, 6, 5), {"scale_factor": 1.7, "mode": "bilinear", "recompute_scale_factor": True}),
    ((2, 3, 6), {"scale_factor": 3, "mode": "linear"}),
    ((2, 3, 6), {"size": 4}),
]


@needs_torch
@pytest.mark.parametrize("shape,kwargs", INTERPOLATIONS)
def test_interpolate_matches_torch(shape, kwargs):
    against_torch(lambda t: F.interpolate(t, **kwargs), lambda t: TF.interpolate(t, **kwargs), rand(*shape))


def test_pooling_gradchecks():
    x = rand(2, 2, 5, 6)
    for fn in (lambda t: F.max_pool2d(t, 2, 1), lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True),
               lambda t: F.adaptive_avg_pool2d(t, (2, 4)), lambda t: F.interpolate(t, scale_factor=2, mode="bilinear")):
        assert tg.gradcheck(fn, x) and tg.gradgradcheck(fn, x)


def test_pooling_values_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(F.max_pool2d(Tensor(x), 2).data, [[[[5, 7], [13, 15]]]])
    np.testing.assert_array_equal(F.avg_pool2d(Tensor(x), 2).data, [[[[2.5, 4.5], [10.5, 12.5]]]])
    np.testing.assert_array_equal(F.interpolate(Tensor(x[:, :, :2, :2]), scale_factor=2).data,
                                  [[[[0, 0, 1, 1], [0, 0, 1, 1], [4, 4, 5, 5], [4, 4, 5, 5]]]])


# ----- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("call,error,match", [
    (lambda: F.conv2d(Tensor(rand(2, 3, 5, 5)), Tensor(rand(4, 2, 3, 3))), ValueError, r"3 channels.*expects 2"),
    (lambda: F.conv2d(Tensor(rand(2, 3, 5, 5)), Tensor(rand(4, 3, 7, 3))), ValueError, "larger than the padded input"),
    (lambda: F.conv2d(Tensor(rand(5, 5)), Tensor(rand(4, 3, 3, 3))), ValueError, r"conv2d: expected a 3-D .* got shape \(5, 5\)"),
    (lambda: F.conv2d(Tensor(rand(1, 2, 3, 5, 5)), Tensor(rand(4, 3, 3, 3))), ValueError, "4-D"),
    (lambda: F.conv2d(Tensor(rand(2, 4, 5, 5)), Tensor(rand(3, 2, 3, 3)), groups=2), ValueError, "groups=2 must divide"),
    (lambda: F.conv2d(Tensor(rand(2, 3, 5, 5)), Tensor(rand(4, 3, 3))), ValueError, "weight must be 4-D"),
    (lambda: F.conv2d(Tensor(rand(2, 3, 5, 5)), Tensor(rand(4, 3, 3, 3)), Tensor(rand(3))), ValueError, r"bias must have shape \(4,\)"),
    (lambda: F.conv2d(Tensor(rand(2, 3, 5, 5)), Tensor(rand(4, 3, 3, 3)), stride=2, padding="same"), ValueError, "strided"),
    (lambda: F.conv2d(Tensor(rand(2, 3, 5, 5)), Tensor(rand(4, 3, 3, 3)), padding="full"), ValueError, "'valid' or 'same'"),
    (lambda: F.conv2d(Tensor(rand(2, 3, 5, 5)), Tensor(rand(4, 3, 3, 3)), stride=0), ValueError, "stride must be an int >= 1"),
    (lambda: F.conv2d(Tensor(rand(2, 3, 5, 5).astype(np.float32)), Tensor(rand(4, 3, 3, 3))), TypeError, "one dtype"),
    (lambda: F.conv2d(rand(2, 3, 5, 5).tolist(), Tensor(rand(4, 3, 3, 3))), TypeError, "input must be a Tensor"),
    (lambda: F.conv_transpose2d(Tensor(rand(2, 3, 5, 5)), Tensor(rand(4, 2, 3, 3))), ValueError, "expects 4"),
    (lambda: F.conv_transpose2d(Tensor(rand(2, 3, 5, 5)), Tensor(rand(3, 2, 3, 3)), stride=2, output_padding=2),
     ValueError, "output_padding"),
    (lambda: F.conv_transpose2d(Tensor(rand(2, 3, 5, 5)), Tensor(rand(3, 2, 3, 3)), padding="same"),
     NotImplementedError, "padding='same'"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="reflect"), NotImplementedError, "padding_mode='reflect'"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), ValueError, "padding_mode must be one of"),
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, "divisible by groups"),
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), ValueError, "strided"),
    (lambda: F.max_pool2d(Tensor(rand(1, 1, 4, 4)), 2, padding=2), ValueError, "at most half"),
    (lambda: F.max_pool2d(Tensor(rand(1, 1, 2, 2)), 3), ValueError, "larger than the padded input"),
    (lambda: F.max_pool2d(Tensor(rand(4, 4)), 2), ValueError, "3-D"),
    (lambda: F.interpolate(Tensor(rand(1, 1, 4, 4)), scale_factor=2, mode="bicubic"), NotImplementedError, "bicubic"),
    (lambda: F.interpolate(Tensor(rand(1, 1, 4, 4)), scale_factor=2, mode="linear"), NotImplementedError, "3-D"),
    (lambda: F.interpolate(Tensor(rand(1, 1, 4, 4))), ValueError, "exactly one of size and scale_factor"),
    (lambda: F.interpolate(Tensor(rand(1, 1, 4, 4)), scale_factor=2, antialias=True), NotImplementedError, "antialias"),
])
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_conv_module_names_itself_on_a_wrong_channel_count():
    with pytest.raises(ValueError, match=r"conv2d: the input of shape \(2, 3, 8, 8\) has 3 channels"):
        nn.Conv2d(1, 4, 3)(Tensor(rand(2, 3, 8, 8).astype(np.float32)))


# ----- the benchmark's model: a captured step equals the eager one; the smoke run --------------------

def conv_autoencoder():
    return nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU(),
                         nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                         nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())


def test_a_captured_conv_training_step_equals_the_eager_one_bit_for_bit():
    runs = []
    for _ in range(2):
        tg.manual_seed(3)
        model = conv_autoencoder()
        runs.append((model, optim.Adam(model.parameters(), lr=1e-2)))

    def make_step(model, opt):
        def step(x):
            opt.zero_grad()
            loss = F.mse_loss(model(x), x)
            loss.backward()
            opt.step()
            return loss
        return step

    eager, compiled = make_step(*runs[0]), tg.compile(make_step(*runs[1]))
    rng = np.random.default_rng(0)
    for i in range(6):
        x = rng.random((4, 1, 12, 12)).astype(np.float32)
        expected, got = eager(Tensor(x)), compiled(Tensor(x))
        assert np.array_equal(expected.data, got.data), i
    assert compiled.program is not None
    for p, q in zip(runs[0][0].parameters(), runs[1][0].parameters()):
        assert np.array_equal(p.data, q.data)


def replays_bit_for_bit(layers, steps=5, shape=(4, 1, 8, 8)):
    """A compiled training step of nn.Sequential(*layers()) equals the eager one bit for bit, replayed
    (no fallback to eager: no warning), the state dicts equal after."""
    runs = []
    for _ in range(2):
        tg.manual_seed(0)
        model = nn.Sequential(*layers())
        runs.append((model, optim.Adam(model.parameters(), lr=1e-2)))

    def make_step(model, opt):
        def step(x):
            opt.zero_grad()
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return step

    eager, compiled = make_step(*runs[0]), tg.compile(make_step(*runs[1]))
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a step that falls back to eager warns
        for i in range(steps):
            x = rng.random(shape).astype(np.float32)
            assert np.array_equal(eager(Tensor(x)).data, compiled(Tensor(x)).data), i
    assert compiled.program is not None
    for (name, a), b in zip(runs[0][0].state_dict().items(), runs[1][0].state_dict().values()):
        assert np.array_equal(a, b), name


@pytest.mark.parametrize("layers", [
    lambda: [nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(3, 2, 1, ceil_mode=True)],
    lambda: [nn.Conv2d(1, 4, 3, padding=1), nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)],
    lambda: [nn.Conv2d(1, 4, 1), nn.AdaptiveAvgPool2d(3), nn.Upsample(scale_factor=2, mode="bilinear")],
    lambda: [nn.ConvTranspose2d(1, 4, 3, stride=2), nn.Upsample(size=(5, 7))],
    lambda: [nn.Conv1d(8, 4, 3, padding="same"), nn.ConvTranspose1d(4, 2, 2, stride=2)],
    lambda: [nn.Conv2d(1, 4, 3, padding=1), nn.Flatten(), nn.Linear(256, 8)],
], ids=["maxpool", "avgpool", "adaptive+bilinear", "convT+nearest", "1d", "flatten+linear"])
def test_captured_steps_through_every_layer_replay_bit_for_bit(layers):
    replays_bit_for_bit(layers, shape=(4, 8, 9) if "Conv1d" in repr(layers()) else (4, 1, 8, 8))


@needs_torch
def test_benchmark_quick_prints_a_ratio():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_conv.py"), "--quick", "--compile"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    ratios = [float(line.rsplit(":", 1)[1]) for line in result.stdout.splitlines() if line.startswith("ratio")]
    assert len(ratios) == 4 and all(r > 0 for r in ratios), result.stdout
    losses = [float(part.split()[-1]) for part in result.stdout.splitlines()[0].split(":", 1)[1].split(",")]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)    # the same start, the same first loss
