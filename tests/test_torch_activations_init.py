"""Issue 20's activations, functional forms, nn.init and nn.Embedding: values and gradients against torch
in float64 (kinks included: the gradient there is torch's), modules' extra_repr against torch's, erf
against math.erf, init's distributions (seeded, bounds exact, moments on 10^5 draws), Embedding's padding row."""
import math
import warnings

import numpy as np
import pytest

import tinygrad_ae as tg
import tinygrad_ae.functional as F
from tinygrad_ae import Tensor, nn
from tinygrad_ae.engine.special import erf

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = TF = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch; pip install torch to run it")

# kinks and switches of every activation below (0, +-1, +-3, 6, softplus's thresholds) and the far ends
X = np.array([-1000.0, -40.0, -6.0, -3.0, -2.5, -1.0, -0.7, -1e-3, 0.0, 1e-3, 0.4, 1.0, 2.9, 3.0, 3.5, 6.0,
              7.5, 10.0, 20.0, 20.5, 40.0, 1000.0])


def same(ours, theirs, x, *, params=(), rtol=1e-12):
    """ours(Tensor) equals theirs(torch tensor) in value and in the gradient of a weighted sum, for the
    input and for each (ours, theirs) pair of parameter tensors."""
    t, tt = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(t), theirs(tt)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=1e-15)
    w = np.linspace(0.5, 1.5, out.data.size).reshape(out.shape)
    (out * Tensor(w)).sum().backward()
    (expected * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=rtol, atol=1e-15)
    for p, tp in params:
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=rtol)
    return out


# ----- erf --------------------------------------------------------------------------------------

def test_erf_matches_math_erf_to_a_few_ulps_everywhere():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-6, 6, 20000), rng.normal(0, 0.3, 5000), rng.uniform(-1e-6, 1e-6, 500),
                        np.linspace(-30, 30, 1201), [0.46875, -0.46875, 4.0, -4.0, 1e-300, 5e-324, -0.0, np.inf, -np.inf]])
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(erf(x), expected, rtol=1e-15, atol=0)
    assert np.signbit(erf(np.array(-0.0))) and np.isnan(erf(np.array([np.nan]))[0])
    assert erf(np.float32(0.5)).dtype == np.float32


@needs_torch
def test_erf_tensor_method_and_function_against_torch_with_second_derivative():
    x = np.linspace(-4, 4, 17)
    same(lambda t: t.erf(), lambda t: torch.erf(t), x)
    same(lambda t: tg.operations.erf(t), lambda t: torch.special.erf(t), x)
    t = Tensor(x.copy(), requires_grad=True)
    (g,) = tg.grad(t.erf().sum(), t, create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(t.grad, -4 / np.sqrt(np.pi) * x * np.exp(-x * x), rtol=1e-13, atol=1e-300)


# ----- activations --------------------------------------------------------------------------------

def _activations():
    return [
        (nn.GELU(), torch.nn.GELU()), (nn.GELU("tanh"), torch.nn.GELU("tanh")),
        (nn.Softplus(), torch.nn.Softplus()), (nn.Softplus(beta=2, threshold=5), torch.nn.Softplus(beta=2, threshold=5)),
        (nn.Softplus(beta=0.5, threshold=10.0), torch.nn.Softplus(beta=0.5, threshold=10.0)),
        (nn.Hardtanh(), torch.nn.Hardtanh()), (nn.Hardtanh(-2.5, 3.0), torch.nn.Hardtanh(-2.5, 3.0)),
        (nn.ReLU6(), torch.nn.ReLU6()), (nn.Softsign(), torch.nn.Softsign()), (nn.Mish(), torch.nn.Mish()),
        (nn.Hardsigmoid(), torch.nn.Hardsigmoid()), (nn.Hardswish(), torch.nn.Hardswish()),
        (nn.LogSigmoid(), torch.nn.LogSigmoid()), (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
        (nn.ELU(0.5), torch.nn.ELU(0.5)), (nn.SiLU(), torch.nn.SiLU()), (nn.ReLU(), torch.nn.ReLU()),
        (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.Tanh(), torch.nn.Tanh()),
    ]


@needs_torch
def test_activation_modules_against_torch_values_and_gradients_at_kinks_and_far_ends():
    for ours, theirs in _activations():
        with np.errstate(over="ignore"):
            out = same(ours, theirs, X, rtol=1e-7 if isinstance(ours, nn.Hardsigmoid) else 1e-10)   # (see below)
        assert np.all(np.isfinite(out.data)), type(ours).__name__


@needs_torch
def test_prelu_learns_its_slopes_as_torch():
    x = np.random.default_rng(1).normal(size=(4, 3, 5))
    for n in (1, 3):
        ours, theirs = nn.PReLU(n, init=0.1, dtype=tg.float64), torch.nn.PReLU(n, init=0.1, dtype=torch.float64)
        assert [name for name, _ in ours.named_parameters()] == ["weight"] and ours.weight.shape == (n,)
        same(ours, theirs, x, params=[(ours.weight, theirs.weight)])
    assert nn.PReLU().weight.dtype == np.float32
    with pytest.raises(ValueError, match=r"prelu: weight of shape \(3,\) needs one entry, or one per channel"):
        nn.PReLU(3)(Tensor(np.zeros((2, 4))))


@needs_torch
def test_functional_forms_against_torch():
    x = np.random.default_rng(2).normal(0, 3, (4, 5))
    cases = [
        (lambda t: F.gelu(t), lambda t: TF.gelu(t)), (lambda t: F.gelu(t, approximate="tanh"), lambda t: TF.gelu(t, approximate="tanh")),
        (lambda t: F.softplus(t, beta=3, threshold=4), lambda t: TF.softplus(t, beta=3, threshold=4)),
        (lambda t: F.hardtanh(t, -0.5, 2.0), lambda t: TF.hardtanh(t, -0.5, 2.0)), (F.relu6, TF.relu6),
        (F.logsigmoid, TF.logsigmoid), (lambda t: F.leaky_relu(t, 0.3), lambda t: TF.leaky_relu(t, 0.3)),
        (F.silu, TF.silu), (F.mish, TF.mish), (F.hardswish, TF.hardswish),
        (F.softsign, TF.softsign), (lambda t: F.elu(t, 2.0), lambda t: TF.elu(t, 2.0)),
        (lambda t: F.normalize(t), lambda t: TF.normalize(t)),
        (lambda t: F.normalize(t, p=1, dim=0), lambda t: TF.normalize(t, p=1, dim=0)),
        (lambda t: F.normalize(t, p=3, dim=-1), lambda t: TF.normalize(t, p=3, dim=-1)),
        (lambda t: F.cosine_similarity(t, t * t), lambda t: TF.cosine_similarity(t, t * t)),
        (lambda t: F.cosine_similarity(t, t[:1] - 1, dim=0), lambda t: TF.cosine_similarity(t, t[:1] - 1, dim=0)),
    ]
    for ours, theirs in cases:
        same(ours, theirs, x, rtol=1e-10)
    # torch's hardsigmoid backward multiplies by 1/6 rounded to float32, even in float64: 3e-8 off
    same(F.hardsigmoid, TF.hardsigmoid, x, rtol=1e-7)


@needs_torch
def test_normalize_and_cosine_similarity_of_a_zero_vector_are_torchs():
    x = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]])
    same(lambda t: F.normalize(t), lambda t: TF.normalize(t), x)
    same(lambda t: F.normalize(t * 1e-14), lambda t: TF.normalize(t * 1e-14), x[1:])      # below eps: x / eps


@needs_torch
def test_pad_against_torch_in_every_mode():
    x = np.random.default_rng(3).normal(size=(2, 3, 4, 5))
    cases = [((1, 2), "constant", None), ((1, 2, 0, 3), "constant", 1.5), ((2, 1, 1, 0, 1, 1, 0, 2), "constant", -2.0),
             ((-1, 2, 1, -2), "constant", None), ((2, 3), "reflect", None), ((1, 2, 3, 1), "reflect", None),
             ((4, 4, 3, 3), "replicate", None), ((2, 0), "replicate", None), ((1, 3, 2, 2), "circular", None),
             ((5, 5), "circular", None), ((-1, 2), "reflect", None)]
    for pad, mode, value in cases:
        kwargs = {} if value is None else {"value": value}
        v = x[0] if mode != "constant" and len(pad) == 2 else x     # torch: pad one dim of a 2-D or 3-D input
        out = same(lambda t: F.pad(t, pad, mode=mode, **kwargs), lambda t: TF.pad(t, pad, mode=mode, **kwargs), v)
        assert out.shape == tuple(TF.pad(torch.tensor(v), pad, mode=mode, **kwargs).shape)
    with pytest.raises(NotImplementedError, match="padding size 2 is not supported for a 4-D input"):
        F.pad(Tensor(x), (1, 1), mode="circular")
    same(lambda t: F.pad(t, (1, 1, 1, 1, 1, 1), mode="replicate"),
         lambda t: TF.pad(t, (1, 1, 1, 1, 1, 1), mode="replicate"), x)
    with pytest.raises(ValueError, match="pad: padding length must be divisible by 2"):
        F.pad(Tensor(x), (1, 2, 3))
    with pytest.raises(NotImplementedError, match="unrecognised padding mode 'wrap'"):
        F.pad(Tensor(x), (1, 1), mode="wrap")
    with pytest.raises(NotImplementedError, match="padding size 2 is not supported for a 1-D input"):
        F.pad(Tensor(np.zeros(5)), (1, 1), mode="reflect")
    with pytest.raises(ValueError, match=r"reflect padding \(5, 1\) must be smaller than the dim's size 5"):
        F.pad(Tensor(x[0]), (5, 1), mode="reflect")


def test_dropout_follows_torchs_rules():
    x = tg.ones(200, 500, dtype=tg.float64)
    assert F.dropout(x, 0.3, training=False) is x and F.dropout(x, 0.0) is x
    tg.manual_seed(0)
    y = F.dropout(x, 0.3).data
    assert set(np.unique(y)) == {0.0, 1 / 0.7}
    assert abs((y == 0).mean() - 0.3) < 0.01 and abs(y.mean() - 1) < 0.02
    tg.manual_seed(0)
    np.testing.assert_array_equal(F.dropout(x, 0.3, True, False).data, y)    # torch's 4th argument, inplace
    assert not F.dropout(x, 1.0).data.any()
    for p in (-0.1, 1.5, True):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            F.dropout(x, p)


@needs_torch
def test_extra_repr_and_repr_text_match_torchs():
    pairs = _activations() + [
        (nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)), (nn.LeakyReLU(inplace=True), torch.nn.LeakyReLU(inplace=True)),
        (nn.ELU(alpha=2, inplace=True), torch.nn.ELU(alpha=2, inplace=True)), (nn.ReLU6(True), torch.nn.ReLU6(True)),
        (nn.Hardtanh(-2, 3), torch.nn.Hardtanh(-2, 3)), (nn.Mish(inplace=True), torch.nn.Mish(inplace=True)),
        (nn.Hardswish(True), torch.nn.Hardswish(True)), (nn.PReLU(4), torch.nn.PReLU(4)),
        (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)), (nn.Softmax(), torch.nn.Softmax()),
        (nn.LogSoftmax(0), torch.nn.LogSoftmax(0)), (nn.Embedding(10, 3), torch.nn.Embedding(10, 3)),
        (nn.Embedding(10, 3, padding_idx=-1), torch.nn.Embedding(10, 3, padding_idx=-1)),
        (nn.CrossEntropyLoss(label_smoothing=0.1), torch.nn.CrossEntropyLoss(label_smoothing=0.1)),
        (nn.HuberLoss(delta=2.0), torch.nn.HuberLoss(delta=2.0)),
    ]
    for ours, theirs in pairs:
        assert ours.extra_repr() == theirs.extra_repr(), type(theirs).__name__
        assert repr(ours) == repr(theirs)
    assert repr(nn.Sequential(*[o for o, _ in pairs])) == repr(torch.nn.Sequential(*[t for _, t in pairs]))


def test_bad_activation_arguments_are_refused():
    with pytest.raises(ValueError, match="GELU: approximate must be 'none' or 'tanh', got 'fast'"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="gelu: approximate must be"):
        F.gelu(Tensor(np.zeros(2)), approximate="erf")
    with pytest.raises(ValueError, match=r"Hardtanh: max_val \(1\) must be above min_val \(2\)"):
        nn.Hardtanh(2, 1)


# ----- nn.init -----------------------------------------------------------------------------------

@needs_torch
def test_calculate_gain_and_fans_are_torchs():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                 "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert nn.init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-15)
    for slope in (0, 0.2, 1, 3.5):
        assert nn.init.calculate_gain("leaky_relu", slope) == pytest.approx(
            torch.nn.init.calculate_gain("leaky_relu", slope), rel=1e-15)
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        nn.init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        nn.init.calculate_gain("leaky_relu", "0.1")
    for shape in [(3, 4), (8, 3, 5), (6, 2, 3, 3), (4, 2, 1, 2, 3)]:
        assert nn.init._calculate_fan_in_and_fan_out(tg.zeros(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init._calculate_fan_in_and_fan_out(tg.zeros(5))


def _draws(fn, shape=(400, 250), seed=0, **kwargs):
    """A tensor of 10^5 numbers filled by fn with a seeded generator; fn returns it, in place."""
    t = tg.zeros(*shape, dtype=tg.float64)
    out = fn(t, generator=tg.Generator().manual_seed(seed), **kwargs)
    assert out is t
    return t.data


def test_uniform_normal_and_constant_fills():
    u = _draws(nn.init.uniform_, a=-2.0, b=3.0)
    assert u.min() >= -2 and u.max() < 3 and abs(u.mean() - 0.5) < 0.02 and abs(u.std() - 5 / np.sqrt(12)) < 0.05 * 5 / np.sqrt(12)
    n = _draws(nn.init.normal_, mean=1.0, std=2.0)
    assert abs(n.mean() - 1) < 0.03 and abs(n.std() - 2) < 0.1
    np.testing.assert_array_equal(_draws(nn.init.normal_, seed=4), _draws(nn.init.normal_, seed=4))     # seeded
    t = tg.zeros(2, 3)
    assert nn.init.constant_(t, 0.5) is t and np.all(t.data == 0.5) and t.dtype == np.float32
    assert np.all(nn.init.ones_(t).data == 1) and not nn.init.zeros_(t).data.any()


def test_xavier_and_kaiming_bounds_and_stds():
    fan_in, fan_out = 250, 400
    bound = math.sqrt(6 / (fan_in + fan_out))
    x = _draws(nn.init.xavier_uniform_, gain=2.0)
    assert np.abs(x).max() <= 2 * bound and np.abs(x).max() > 0.99 * 2 * bound
    assert abs(_draws(nn.init.xavier_normal_, gain=1.5).std() / (1.5 * math.sqrt(2 / (fan_in + fan_out))) - 1) < 0.05
    for mode, fan in (("fan_in", fan_in), ("fan_out", fan_out)):
        for nonlinearity, a, gain in (("relu", 0, math.sqrt(2)), ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
                                      ("tanh", 0, 5 / 3), ("linear", 0, 1.0)):
            k = _draws(nn.init.kaiming_uniform_, a=a, mode=mode, nonlinearity=nonlinearity)
            assert np.abs(k).max() <= gain * math.sqrt(3 / fan) and np.abs(k).max() > 0.99 * gain * math.sqrt(3 / fan)
            k = _draws(nn.init.kaiming_normal_, a=a, mode=mode, nonlinearity=nonlinearity)
            assert abs(k.std() / (gain / math.sqrt(fan)) - 1) < 0.05
    conv = _draws(nn.init.kaiming_normal_, shape=(16, 8, 5, 5), nonlinearity="relu")     # fan_in = 8 * 25
    assert abs(conv.std() / math.sqrt(2 / 200) - 1) < 0.05
    with pytest.raises(ValueError, match="mode 'fan_avg' is not supported"):
        nn.init.kaiming_normal_(tg.zeros(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_normal_(tg.zeros(3))
    with pytest.warns(UserWarning, match="zero-element"):
        nn.init.kaiming_normal_(tg.zeros(0, 3))


def _truncated_normal_moments(mean, std, a, b):
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)       # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))              # noqa: E731
    alpha, beta = (a - mean) / std, (b - mean) / std
    z = cdf(beta) - cdf(alpha)
    m = mean + std * (phi(alpha) - phi(beta)) / z
    var = std ** 2 * (1 + (alpha * phi(alpha) - beta * phi(beta)) / z - ((phi(alpha) - phi(beta)) / z) ** 2)
    return m, math.sqrt(var)


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, -2.0, 2.0), (1.0, 0.5, 0.0, 1.2), (0.0, 1.0, 2.5, 4.0),
                                             (0.0, 0.02, -0.04, 0.04)])
def test_trunc_normal_bounds_exact_and_moments_of_the_truncated_normal(mean, std, a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # (2.5, 4.0) is more than 2 std from the mean, as torch warns
        t = _draws(nn.init.trunc_normal_, mean=mean, std=std, a=a, b=b)
    expected_mean, expected_std = _truncated_normal_moments(mean, std, a, b)
    assert t.min() >= a and t.max() <= b
    assert abs(t.mean() - expected_mean) < 0.02 * expected_std + 1e-12
    assert abs(t.std() / expected_std - 1) < 0.05
    with pytest.warns(UserWarning, match="more than 2 std"):
        nn.init.trunc_normal_(tg.zeros(3), mean=0.0, std=1.0, a=3.0, b=4.0)


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (7, 3), (4, 2, 3, 3)])
def test_orthogonal_is_orthogonal_to_rounding(shape):
    t = tg.zeros(*shape, dtype=tg.float64)
    nn.init.orthogonal_(t, gain=2.0, generator=tg.Generator().manual_seed(1))
    flat = t.data.reshape(shape[0], -1)
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] == small else flat.T @ flat
    np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-13)
    with pytest.raises(ValueError, match="only tensors with 2 or more dimensions"):
        nn.init.orthogonal_(tg.zeros(4))


@needs_torch
def test_eye_dirac_and_sparse():
    np.testing.assert_array_equal(nn.init.eye_(tg.zeros(3, 5)).data, torch.nn.init.eye_(torch.zeros(3, 5)).numpy())
    for shape, groups in [((4, 4, 3), 1), ((6, 3, 3, 3), 1), ((4, 2, 3, 3), 2), ((2, 4, 1, 3, 5), 1)]:
        np.testing.assert_array_equal(nn.init.dirac_(tg.zeros(*shape), groups).data,
                                      torch.nn.init.dirac_(torch.zeros(shape), groups).numpy())
    for fn, arg in ((nn.init.eye_, tg.zeros(2, 2, 2)), (nn.init.dirac_, tg.zeros(2, 2))):
        with pytest.raises(ValueError, match="only tensors with"):
            fn(arg)
    s = nn.init.sparse_(tg.zeros(10, 50, dtype=tg.float64), 0.3, std=0.5, generator=tg.Generator().manual_seed(2)).data
    assert np.all((s == 0).sum(axis=0) >= 3) and abs(s[s != 0].std() - 0.5) < 0.1


def test_init_refuses_what_is_not_a_tensor():
    with pytest.raises(TypeError, match="uniform_: expected a Tensor"):
        nn.init.uniform_(np.zeros(3))
    with pytest.raises(ValueError, match="trunc_normal_: the bounds must satisfy a < b"):
        nn.init.trunc_normal_(tg.zeros(3), a=1.0, b=0.0)


# ----- Embedding ---------------------------------------------------------------------------------

def test_embedding_starts_from_a_standard_normal_of_the_default_generator_with_the_padding_row_zero():
    tg.manual_seed(3)
    e = nn.Embedding(1000, 100, padding_idx=-2)
    assert e.padding_idx == 998 and e.weight.dtype == np.float32 and e.weight.requires_grad
    assert not e.weight.data[998].any()
    rows = np.delete(e.weight.data, 998, axis=0)
    assert abs(rows.mean()) < 0.01 and abs(rows.std() - 1) < 0.01
    tg.manual_seed(3)
    np.testing.assert_array_equal(nn.Embedding(1000, 100, padding_idx=-2).weight.data, e.weight.data)
    assert [name for name, _ in e.named_parameters()] == ["weight"]
    assert nn.Embedding(3, 2, dtype=tg.float64).weight.dtype == np.float64


@needs_torch
def test_embedding_lookup_and_padding_gradient_against_torch():
    weight = np.random.default_rng(5).normal(size=(6, 3))
    weight[2] = 0.7                                       # a padding row that is not zero keeps its value, no gradient
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    for padding_idx in (None, 2):
        ours = nn.Embedding(6, 3, padding_idx=padding_idx, _weight=Tensor(weight.copy(), requires_grad=True))
        theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx, _weight=torch.tensor(weight))
        out, expected = ours(tg.tensor(idx)), theirs(torch.tensor(idx))
        np.testing.assert_array_equal(out.data, expected.detach().numpy())
        w = np.arange(out.data.size, dtype=float).reshape(out.shape)
        (out * Tensor(w)).sum().backward()
        (expected * torch.tensor(w)).sum().backward()
        np.testing.assert_array_equal(ours.weight.grad, theirs.weight.grad.numpy())
    assert not ours.weight.grad[2].any()
    f = F.embedding(tg.tensor(idx), Tensor(weight), padding_idx=2)
    np.testing.assert_array_equal(f.data, TF.embedding(torch.tensor(idx), torch.tensor(weight), padding_idx=2).numpy())


def test_embedding_from_pretrained_freezes_by_default():
    table = Tensor(np.arange(12.0).reshape(4, 3))
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and frozen.weight.data is table.data
    assert [name for name, _ in frozen.named_parameters()] == ["weight"] and list(frozen.state_dict()) == ["weight"]
    np.testing.assert_array_equal(frozen(tg.tensor([3, 0])).data, [[9, 10, 11], [0, 1, 2]])
    trained = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1)
    assert trained.weight.requires_grad and trained.padding_idx == 1 and trained.extra_repr() == "4, 3, padding_idx=1"
    with pytest.raises(ValueError, match="from_pretrained: embeddings must be 2-D"):
        nn.Embedding.from_pretrained(Tensor(np.zeros(3)))


def test_embedding_errors_name_the_option_or_the_index():
    with pytest.raises(NotImplementedError, match="Embedding: max_norm is not supported"):
        nn.Embedding(4, 2, max_norm=1.0)
    with pytest.raises(NotImplementedError, match="embedding: sparse is not supported"):
        F.embedding(tg.tensor([0]), Tensor(np.zeros((4, 2))), sparse=True)
    e = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match=r"embedding: index 4 is out of range for 4 embeddings \(indices are 0..3\)"):
        e(tg.tensor([1, 4]))
    with pytest.raises(TypeError, match="the indices must be an integer tensor"):
        e(Tensor(np.array([1.0])))
    with pytest.raises(ValueError, match=r"padding_idx 4 must be within num_embeddings \(4\)"):
        nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(ValueError, match=r"_weight has shape \(3, 2\), expected \(4, 2\)"):
        nn.Embedding(4, 2, _weight=Tensor(np.zeros((3, 2))))
