"""Batch normalization (functional_pool.batch_norm, nn/normalization.py): F.batch_norm and the modules
against PyTorch in float64 in training and eval mode (values, gradients of input, weight and bias), the
running statistics over several steps (momentum, momentum=None's cumulative average), the buffers and
state-dict keys, the options (affine, track_running_stats, bias), the errors; gradcheck and
gradgradcheck without torch."""
import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor, nn
import tinygrad_ae.nn.functional as F

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch; pip install torch to run it")
TOL = dict(rtol=1e-10, atol=1e-10)


def rand(*shape, seed=0, scale=1.0, shift=0.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale + shift


def pair(cls_name, *args, **kwargs):
    """Our module and torch's, float64, from the same weights."""
    ours = getattr(nn, cls_name)(*args, dtype=tg.float64, **kwargs)
    theirs = getattr(torch.nn, cls_name)(*args, dtype=torch.float64, **kwargs)
    if ours.affine:
        with tg.no_grad():
            ours.weight.data[...] = rand(args[0], seed=7, shift=1.0)
            if ours.bias is not None:
                ours.bias.data[...] = rand(args[0], seed=8)
        theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def forward_backward_both(ours, theirs, x, seed=1):
    """One forward and backward of each on x (and a random output gradient): the outputs and the input's
    and parameters' gradients are equal."""
    mine, them = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(mine), theirs(them)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOL)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(mine.grad, them.grad.numpy(), **TOL)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), err_msg=name, **TOL)
        p.grad = None
        q.grad = None


def assert_same_buffers(ours, theirs):
    for (name, b), (tname, tb) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert name == tname
        np.testing.assert_allclose(b.data, tb.numpy(), err_msg=name, **TOL)


CASES = [("BatchNorm2d", (3,), {}, (4, 3, 5, 6)),
         ("BatchNorm2d", (3,), {"momentum": None}, (4, 3, 5, 6)),
         ("BatchNorm2d", (3,), {"momentum": 0.3, "eps": 1e-3}, (2, 3, 2, 3)),
         ("BatchNorm2d", (3,), {"affine": False}, (4, 3, 5, 6)),
         ("BatchNorm2d", (3,), {"bias": False}, (4, 3, 5, 6)),
         ("BatchNorm1d", (5,), {}, (8, 5)),
         ("BatchNorm1d", (5,), {"momentum": None}, (6, 5, 4)),
         ("BatchNorm1d", (5,), {"track_running_stats": False}, (8, 5))]


@needs_torch
@pytest.mark.parametrize("name,args,kwargs,shape", CASES)
def test_training_steps_then_eval_match_torch(name, args, kwargs, shape):
    ours, theirs = pair(name, *args, **kwargs)
    for step in range(4):           # statistics that differ from step to step (and from 0 and 1)
        forward_backward_both(ours, theirs, rand(*shape, seed=step, scale=2 + step, shift=step - 1.5), seed=step)
        assert_same_buffers(ours, theirs)
    ours.eval()
    theirs.eval()
    forward_backward_both(ours, theirs, rand(*shape, seed=9, scale=3.0))
    assert_same_buffers(ours, theirs)                   # eval leaves the running statistics alone


@needs_torch
@pytest.mark.parametrize("name,args,kwargs,shape", CASES)
def test_state_dict_keys_shapes_and_dtypes_match_torch(name, args, kwargs, shape):
    ours, theirs = pair(name, *args, **kwargs)
    mine, them = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(them)
    for key in them:
        assert mine[key].shape == tuple(them[key].shape)
        assert mine[key].dtype == them[key].numpy().dtype, key       # num_batches_tracked: int64
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


@needs_torch
def test_a_torch_state_dict_loads_and_gives_torchs_eval_output():
    theirs = torch.nn.BatchNorm2d(4, dtype=torch.float64)
    theirs.train()
    for step in range(3):
        theirs(torch.tensor(rand(5, 4, 3, 3, seed=step, scale=2.0, shift=1.0)))
    ours = nn.BatchNorm2d(4, dtype=tg.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert int(ours.num_batches_tracked.data) == 3
    ours.eval()
    theirs.eval()
    x = rand(2, 4, 3, 3, seed=5)
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), **TOL)


@needs_torch
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 3, 2, 4)])
def test_functional_batch_norm_matches_torch(shape, training):
    x, w, b = rand(*shape, scale=2.0, shift=0.5), rand(3, seed=1), rand(3, seed=2)
    stats = [rand(3, seed=3), np.abs(rand(3, seed=4)) + 0.5]
    ours_stats, their_stats = [Tensor(s.copy()) for s in stats], [torch.tensor(s.copy()) for s in stats]
    mine = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    them = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = F.batch_norm(mine[0], *ours_stats, mine[1], mine[2], training=training, momentum=0.2, eps=1e-4)
    expected = torch.nn.functional.batch_norm(them[0], *their_stats, them[1], them[2], training=training,
                                              momentum=0.2, eps=1e-4)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOL)
    g = rand(*shape, seed=6)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for a, t in zip(mine, them):
        np.testing.assert_allclose(a.grad, t.grad.numpy(), **TOL)
    for s, t in zip(ours_stats, their_stats):
        np.testing.assert_allclose(s.data, t.numpy(), **TOL)


# ----- without torch ---------------------------------------------------------------------------------

def test_training_normalizes_with_the_batch_and_updates_the_running_statistics_as_written():
    x = rand(8, 2, 3, 3, scale=3.0, shift=2.0)
    layer = nn.BatchNorm2d(2, momentum=0.25, dtype=tg.float64)
    out = layer(Tensor(x)).data
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), x.var(axis=(0, 2, 3)) / (x.var(axis=(0, 2, 3)) + 1e-5))
    np.testing.assert_allclose(layer.running_mean.data, 0.25 * x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(layer.running_var.data, 0.75 + 0.25 * x.var(axis=(0, 2, 3), ddof=1))
    assert layer.num_batches_tracked.data == 1 and layer.num_batches_tracked.dtype == np.int64


def test_momentum_none_is_the_cumulative_average():
    layer = nn.BatchNorm1d(3, momentum=None, dtype=tg.float64)
    batches = [rand(5, 3, seed=s, shift=s) for s in range(4)]
    for x in batches:
        layer(Tensor(x))
    np.testing.assert_allclose(layer.running_mean.data, np.mean([x.mean(0) for x in batches], axis=0))
    np.testing.assert_allclose(layer.running_var.data, np.mean([x.var(0, ddof=1) for x in batches], axis=0))


def test_eval_uses_the_running_statistics_and_no_tracking_uses_the_batch():
    layer = nn.BatchNorm1d(2, dtype=tg.float64).eval()
    x = rand(4, 2, shift=3.0)
    np.testing.assert_allclose(layer(Tensor(x)).data, x / np.sqrt(1 + 1e-5))
    untracked = nn.BatchNorm1d(2, track_running_stats=False, dtype=tg.float64).eval()
    assert untracked.running_mean is None and list(untracked.state_dict()) == ["weight", "bias"]
    np.testing.assert_allclose(untracked(Tensor(x)).data, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5))


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_and_gradgradcheck(training):
    stats = (Tensor(rand(3, seed=3)), Tensor(np.abs(rand(3, seed=4)) + 0.5))
    fn = lambda x, w, b: F.batch_norm(x, *stats, w, b, training=training, momentum=0.0)  # noqa: E731
    arrays = [rand(4, 3, 2, 2, scale=2.0), rand(3, seed=1), rand(3, seed=2)]
    assert tg.gradcheck(fn, *arrays) and tg.gradgradcheck(fn, *arrays)


def test_float32_stays_float32():
    layer = nn.BatchNorm2d(3)
    x = Tensor(rand(4, 3, 2, 2).astype(np.float32), requires_grad=True)
    out = layer(x)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == layer.weight.grad.dtype == layer.running_var.dtype == np.float32


@pytest.mark.parametrize("call,match", [
    (lambda: nn.BatchNorm2d(3)(Tensor(np.ones((2, 3, 4), np.float32))), r"BatchNorm2d: expected 4D input \(got 3D"),
    (lambda: nn.BatchNorm1d(3)(Tensor(np.ones((2, 4), np.float32))), "expected 3 channels in dim 1"),
    (lambda: nn.BatchNorm1d(3)(Tensor(np.ones((1, 3), np.float32))), "more than 1 value per channel"),
    (lambda: nn.BatchNorm1d(0), "num_features must be a positive integer"),
    (lambda: F.batch_norm(Tensor(np.ones((2, 3))), Tensor(np.zeros(2)), Tensor(np.ones(3))), r"running_mean must have shape \(3,\)"),
    (lambda: F.batch_norm(Tensor(np.ones((2, 3))), None, None), "needed when training=False"),
])
def test_bad_input_is_refused_clearly(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("momentum", [0.1, None])
def test_a_captured_training_step_replays_bit_for_bit(momentum):
    from test_conv import replays_bit_for_bit
    replays_bit_for_bit(lambda: [nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3, momentum=momentum), nn.ReLU(),
                                 nn.Flatten(), nn.Linear(3 * 64, 4), nn.BatchNorm1d(4)])
