"""torch's names on Tensor (engine/methods.py, engine/shapes.py) and the function forms (operations.py).

Each entry is one lambda run on our tensors and on torch's (the names are the same), in float64:
values, gradients and, for the composites, second derivatives against torch itself (skipped without
torch); the composites also pass tg.gradcheck. Then what torch documents for the results' types
(Size, the (values, indices) tuple, int64 and bool tensors, dtypes) and the errors of bad input.
"""
import numpy as np
import pytest

import tinygrad_ae as tg
import tinygrad_ae.functional as F
from tinygrad_ae import Tensor

RNG = np.random.default_rng(19)
X34 = RNG.normal(size=(3, 4))                       # distinct values: no ties for max, min, sort
X234 = RNG.normal(size=(2, 3, 4))
POS = RNG.uniform(0.5, 2.0, size=(3, 4))
IDX = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])

# (id, fn(x, ...) for both frameworks' tensors, the inputs, differentiated twice against torch)
CASES = [
    ("sum-dim", lambda x: x.sum(dim=1), [X34], False),
    ("sum-tuple-keepdim", lambda x: x.sum((0, 2), keepdim=True), [X234], False),
    ("mean-dim", lambda x: x.mean(-1, keepdim=True), [X234], False),
    ("max-values", lambda x: x.max(1).values, [X34], False),
    ("min-values", lambda x: x.min(dim=0, keepdim=True)[0], [X34], False),
    ("max-all", lambda x: x.max(), [X34], False),
    ("amax", lambda x: x.amax(dim=(0, 1)), [X234], False),
    ("max-other", lambda x, y: x.max(y), [X34, POS], False),
    ("var", lambda x: x.var(1), [X34], True),
    ("var-correction0", lambda x: x.var(dim=0, correction=0, keepdim=True), [X34], True),
    ("var-unbiased-false", lambda x: x.var(1, False), [X34], True),
    ("std", lambda x: x.std(), [X34], True),
    ("std-dim", lambda x: x.std(dim=(0, 2)), [X234], True),
    ("prod", lambda x: x.prod(1), [X34], True),
    ("prod-all", lambda x: x.prod(), [X34[:2]], True),
    ("logsumexp", lambda x: x.logsumexp(1), [X34], True),
    ("logsumexp-keepdim", lambda x: x.logsumexp((0, 2), keepdim=True), [X234], True),
    ("cumsum", lambda x: x.cumsum(1), [X34], False),          # (linear: no second derivative)
    ("cumsum-0", lambda x: x.cumsum(dim=0) ** 2, [X234], True),
    ("norm", lambda x: x.norm(), [X34], True),
    ("norm-dim", lambda x: x.norm(dim=1, keepdim=True), [X34], True),
    ("norm-p1", lambda x: x.norm(p=1, dim=0), [X34], False),
    ("norm-p3", lambda x: x.norm(3, 1), [X34], True),
    ("softmax", lambda x: x.softmax(1), [X34], True),
    ("log_softmax", lambda x: x.log_softmax(dim=0), [X34], True),
    ("pow-number", lambda x: x.pow(3), [X34], True),
    ("pow-tensor", lambda x, e: x.pow(e), [POS, X34], True),
    ("pow-integer-tensor", lambda x, e: x.pow(e), [X34, np.array([[1, 2, 3, 0]])], True),   # negative bases too
    ("sin-cos", lambda x: x.sin() * x.cos(), [X34], True),
    ("rsqrt", lambda x: x.rsqrt(), [POS], True),
    ("log2", lambda x: x.log2(), [POS], True),
    ("log10", lambda x: x.log10(), [POS], True),
    ("log1p", lambda x: x.log1p(), [POS], True),
    ("expm1", lambda x: x.expm1(), [X34], True),
    ("square", lambda x: x.square(), [X34], True),
    ("reciprocal", lambda x: x.reciprocal(), [POS], True),
    ("clamp", lambda x: x.clamp(min=-0.5, max=0.5) * x, [X34], False),
    ("clamp-min", lambda x: x.clamp_min(0.1), [X34], False),
    ("clamp-tensors", lambda x, lo: x.clamp(lo), [X34, POS - 1.25], False),
    ("sign-floor-ceil-round", lambda x: x.sign() + x.floor() + x.ceil() + x.round() + x.trunc() + x, [X34 * 3], False),
    ("add-alpha", lambda x, y: x.add(y, alpha=2.5).sub(y, alpha=0.5).mul(x).div(y), [X34, POS], True),
    ("neg-abs-exp", lambda x: x.neg().abs().exp().relu().sigmoid().tanh(), [X34], True),
    ("mm", lambda a, b: a.mm(b), [X34, X34.T.copy()], True),
    ("bmm", lambda a, b: a.bmm(b), [X234, X234.transpose(0, 2, 1).copy()], True),
    ("dot", lambda a, b: a.dot(b), [X34[0], X34[1]], True),
    ("matmul", lambda a, b: a.matmul(b), [X234, X34.T.copy()], True),
    ("view", lambda x: x.view(4, -1) * 2, [X34], False),
    ("view_as-reshape", lambda x, y: x.reshape(2, 6).view_as(y), [X34, X34.T.copy()], False),
    ("unsqueeze-squeeze", lambda x: x.unsqueeze(1).unsqueeze(-1).squeeze(1).squeeze(), [X34], False),
    ("squeeze-dim", lambda x: x[:, :1].squeeze(1) + x[:, :1].squeeze(0).sum(), [X34], False),
    ("flatten", lambda x: x.flatten(1) + x.flatten(0, 1).sum(), [X234], False),
    ("unflatten", lambda x: x.unflatten(1, (2, 2)), [X34], False),
    ("permute", lambda x: x.permute(2, 0, 1) * x.permute((1, 2, 0)).sum(), [X234], False),
    ("transpose", lambda x: x.transpose(0, 2), [X234], False),
    ("swapaxes", lambda x: x.swapaxes(-1, 1), [X234], False),
    ("t", lambda x: x.t(), [X34], False),
    ("T-mT", lambda x: x.mT * x.transpose(-2, -1), [X234], True),
    ("expand", lambda x: x[:, :1].expand(2, -1, 4), [X34], False),
    ("expand_as", lambda x, y: x[:1].expand_as(y), [X34, X34], False),
    ("repeat", lambda x: x.repeat(2, 1, 3), [X34], False),
    ("contiguous-clone", lambda x: x.contiguous().clone() * x, [X34], True),
    ("chunk", lambda x: x.chunk(3, 1)[1] * x.chunk(3, 1)[0], [X34], True),
    ("split-int", lambda x: x.split(2, dim=1)[1], [X234], False),
    ("split-sizes", lambda x: x.split([1, 3], 1)[1] * 3, [X34], False),
    ("gather", lambda x, i: x.gather(0, i) ** 2, [X34, IDX], True),
    ("masked_fill", lambda x, m: x.masked_fill(m, -1.5) * x, [X34, X34 > 0], True),
]


def _ours(arrays):
    return [tg.tensor(a) if a.dtype.kind in "biu" else Tensor(a.copy(), requires_grad=True) for a in arrays]


def _theirs(torch, arrays):
    return [torch.from_numpy(a.copy()) if a.dtype.kind in "biu" else torch.tensor(a, requires_grad=True) for a in arrays]


def _seed(out):
    return np.random.default_rng(out.ndim + out.numel()).normal(size=tuple(out.shape))


@pytest.mark.parametrize("name, fn, arrays, twice", CASES, ids=[c[0] for c in CASES])
def test_against_torch_values_and_gradients(name, fn, arrays, twice):
    torch = pytest.importorskip("torch")
    ours, theirs = _ours(arrays), _theirs(torch, arrays)
    out, expected = fn(*ours), fn(*theirs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert out.shape == tuple(expected.shape) and out.dtype == np.float64
    weights = _seed(out)
    wanted = [(a, b) for a, b in zip(ours, theirs) if b.requires_grad]
    ours_g = tg.grad(out, [a for a, _ in wanted], Tensor(weights), create_graph=twice, allow_unused=True)
    theirs_g = torch.autograd.grad(expected, [b for _, b in wanted], torch.from_numpy(weights), create_graph=twice,
                                   allow_unused=True)
    for g, h in zip(ours_g, theirs_g):
        assert (g is None) == (h is None)
        if h is not None:
            np.testing.assert_allclose(g.data, h.detach().numpy(), rtol=1e-10, atol=1e-10)
    if twice:       # second derivatives: d/dx of sum(grad * v) for a fixed v
        ours_gg = tg.grad(sum((g * _seed(g)).sum() for g in ours_g), [a for a, _ in wanted], allow_unused=True)
        theirs_gg = torch.autograd.grad(sum((h * torch.from_numpy(_seed(g))).sum() for g, h in zip(ours_g, theirs_g)),
                                        [b for _, b in wanted], allow_unused=True)
        for g, h in zip(ours_gg, theirs_gg):
            if h is None:
                assert g is None or not np.any(g.data)
            else:
                np.testing.assert_allclose(g.data, h.numpy(), rtol=1e-9, atol=1e-9)


COMPOSITES = [c for c in CASES if c[3] and all(a.dtype.kind == "f" for a in c[2])]


@pytest.mark.parametrize("name, fn, arrays, twice", COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_composites_pass_gradcheck_and_gradgradcheck(name, fn, arrays, twice):
    assert tg.gradcheck(fn, *arrays) is True
    assert tg.gradgradcheck(fn, *arrays) is True


def test_gather_and_masked_fill_pass_gradcheck():
    assert tg.gradcheck(lambda x: x.gather(1, tg.tensor(IDX[:, :3].T.copy() % 4)), X34) is True
    assert tg.gradgradcheck(lambda x: x.masked_fill(tg.tensor(X34 > 0), 2.0) ** 2, X34) is True


# ----- what the results are --------------------------------------------------------------------

def test_size_dim_numel_as_torch():
    x = tg.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and isinstance(x.size(), tg.Size) and isinstance(x.size(), tuple)
    assert x.size(0) == 2 and x.size(-1) == 4 and x.size().numel() == 24
    assert x.dim() == 3 == x.ndimension() and x.numel() == 24 == x.nelement() == tg.numel(x)
    with pytest.raises(IndexError, match="size: dimension out of range"):
        x.size(3)


def test_max_min_with_dim_are_values_and_indices():
    torch = pytest.importorskip("torch")
    x = Tensor(X34)
    result = x.max(1)
    values, indices = result
    assert type(result).__name__ == "max" and result.values is values and result.indices is indices
    assert indices.dtype == tg.int64 and not indices.requires_grad
    np.testing.assert_array_equal(indices.data, torch.from_numpy(X34).max(1).indices.numpy())
    low = tg.min(x, 0, keepdim=True)
    assert type(low).__name__ == "min" and low.indices.shape == (1, 4)
    assert x.max().shape == () and tg.max(x, Tensor(POS)).shape == (3, 4)


def test_argmax_argmin_all_any_give_int64_and_bool_tensors():
    x = Tensor(X34)
    assert x.argmax().dtype == tg.int64 and x.argmax().item() == int(np.argmax(X34))
    np.testing.assert_array_equal(x.argmin(dim=1, keepdim=True).data, np.argmin(X34, 1)[:, None])
    assert (x > 0).all().dtype == tg.bool and bool((x > -10).all()) and not bool((x > 10).any())
    np.testing.assert_array_equal((x > 0).any(1).data, (X34 > 0).any(1))


def test_dtype_conversions():
    x = Tensor(X34.astype(np.float32), requires_grad=True)
    d = x.double()
    assert d.dtype == tg.float64 and d.requires_grad and x.float() is x
    d.sum().backward()
    assert x.grad.dtype == np.float32 and np.all(x.grad == 1)
    assert x.long().dtype == tg.int64 and x.int().dtype == tg.int32 and x.bool().dtype == tg.bool
    assert x.half().dtype == tg.float16 and x.to(tg.float64).dtype == tg.float64 and x.to("cpu") is x
    assert x.to(tg.tensor([1, 2])).dtype == tg.int64 and x.to("cpu", tg.float64).dtype == tg.float64
    assert x.type() == "torch.FloatTensor" and x.double().type() == "torch.DoubleTensor"
    assert x.type(tg.int64).type() == "torch.LongTensor" and x.type("torch.DoubleTensor").dtype == tg.float64
    assert x.cpu() is x and x.is_floating_point() and not x.long().is_floating_point()
    assert x.element_size() == 4 and x.tolist() == X34.astype(np.float32).tolist() and x.device == tg.device("cpu")
    with pytest.raises(RuntimeError, match="cuda.*not available"):
        x.to("cuda")
    with pytest.raises(RuntimeError, match="not available"):
        x.cuda()


def test_roundings_keep_the_graph_with_zero_gradient():
    x = Tensor(X34 * 3, requires_grad=True)
    for name in ("floor", "ceil", "round", "trunc", "sign"):
        out = getattr(x, name)()
        assert out.requires_grad
        (g,) = tg.grad(out.sum(), x)
        assert np.all(g.data == 0)
    assert np.array_equal(Tensor(np.array([0.5, 1.5, -2.5])).round().data, [0.0, 2.0, -2.0])   # halves to even


def test_pow_with_an_integer_tensor_exponent_keeps_the_base_dtype():
    x = Tensor(np.array([-2.0, 0.0, 3.0], np.float32))
    out = x.pow(tg.tensor([3, 0, 2]))
    assert out.dtype == tg.float32 and out.tolist() == [-8.0, 1.0, 9.0]


def test_clone_is_a_copy_and_repeat_tiles_as_torch():
    x = Tensor(X34)
    c = x.clone()
    c.data[0, 0] = 99.0
    assert x.data[0, 0] != 99.0
    np.testing.assert_array_equal(tg.tensor([1, 2]).repeat(2, 2).data, [[1, 2, 1, 2], [1, 2, 1, 2]])


def test_function_forms():
    x = Tensor(X34, requires_grad=True)
    np.testing.assert_allclose(tg.exp(x).data, np.exp(X34))
    np.testing.assert_allclose(tg.sum(x, dim=1).data, X34.sum(1))
    assert tg.transpose(x, 0, 1).shape == (4, 3) and tg.permute(x, (1, 0)).shape == (4, 3) and tg.t(x).shape == (4, 3)
    assert tg.flatten(Tensor(X234), 1).shape == (2, 12) and tg.unsqueeze(x, 0).shape == (1, 3, 4)
    assert tg.clamp(x, -0.1, 0.1).data.max() <= 0.1 and tg.matmul(x, x.T).shape == (3, 3)
    assert [c.shape for c in tg.chunk(x, 2, 1)] == [(3, 2), (3, 2)] and len(tg.split(x, 1)) == 3
    assert tg.allclose(x, x + 1e-9) and not tg.allclose(x, x + 1) and tg.equal(x, Tensor(X34.copy()))
    assert not tg.equal(x, x[:2]) and tg.isclose(x, x).all().item()
    np.testing.assert_allclose(tg.softmax(x, 1).data, F.softmax(x, dim=1).data)
    np.testing.assert_allclose(F.log_softmax(x, 0).data, F.log_softmax(x, axis=0).data)
    assert tg.is_tensor(x) and not tg.is_tensor(X34)


def test_set_grad_enabled_and_inference_mode():
    x = Tensor(X34, requires_grad=True)
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    tg.set_grad_enabled(False)
    try:
        assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()
    with tg.inference_mode():
        assert not (x * 2).requires_grad
    with tg.inference_mode(False):
        assert (x * 2).requires_grad


# ----- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, match", [
    (lambda x: x.transpose(1, 0, 2), TypeError, "transpose: takes two dims.*permute"),
    (lambda x: x.permute(0), RuntimeError, "permute: dims .* not a permutation"),
    (lambda x: x.sum(dim=1.5), TypeError, "sum: dim must be an int or a tuple"),
    (lambda x: x.sum(dim=1, axis=1), TypeError, "sum: pass dim or axis"),
    (lambda x: x.unsqueeze(5), IndexError, "unsqueeze: dimension out of range"),
    (lambda x: x.expand(2, 5, 4), RuntimeError, "expand: the shape .* cannot be expanded"),
    (lambda x: x.view(5, -1), RuntimeError, "reshape: shape .* is invalid for a tensor of shape"),
    (lambda x: x.mm(x[0]), RuntimeError, "mm: expects two 2-D matrices"),
    (lambda x: x.split([1, 1], 1), RuntimeError, "split: sizes"),
    (lambda x: x.gather(1, np.zeros((2, 2))), RuntimeError, "gather: index must be an int64 tensor"),
    (lambda x: x.masked_fill(x.data, 0.0), RuntimeError, "masked_fill: mask must be a bool tensor"),
    (lambda x: x.clamp(), ValueError, "at least one of min and max"),
    (lambda x: x.to(tg.float32, device="mps"), RuntimeError, "'mps' is not available"),
    (lambda x: x.type("torch.CudaTensor"), ValueError, "type: unknown type"),
    (lambda x: tg.exp(X34), TypeError, r"exp\(\): argument 'input' must be a Tensor, got ndarray"),
    (lambda x: tg.allclose(x, X34), TypeError, r"allclose\(\): argument 'other' must be a Tensor"),
    (lambda x: tg.set_grad_enabled("no"), TypeError, "set_grad_enabled.*must be a bool"),
    (lambda x: Tensor(X234).t(), RuntimeError, "t: expects a tensor with <= 2 dimensions"),
])
def test_bad_input_is_refused_in_words(call, error, match):
    with pytest.raises(error, match=match):
        call(Tensor(X34))
