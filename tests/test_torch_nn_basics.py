"""The first of torch.nn's names beyond layers (issue 20, begun): nn.Parameter, nn.Flatten, nn.Unflatten and
the loss modules, against torch's documented behaviour and torch itself where it is installed."""
import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor, nn


def test_parameter_is_a_leaf_that_requires_grad_and_a_module_lists_it():
    array = np.ones((2, 3), np.float32)
    p = nn.Parameter(tg.from_numpy(array))
    assert p.requires_grad and p.is_leaf and p.data is array and isinstance(p, nn.Parameter)
    assert not isinstance(Tensor(array), nn.Parameter) and not isinstance(p * 2.0, nn.Parameter)
    assert not nn.Parameter(Tensor(array), requires_grad=False).requires_grad

    class Poly(nn.Module):
        def __init__(self):
            self.a = nn.Parameter(tg.randn(()))
            self.b = nn.Parameter(tg.randn(()))
    assert [name for name, _ in Poly().named_parameters()] == ["a", "b"]
    with pytest.raises(TypeError, match="only floating point tensors can require gradients"):
        nn.Parameter(tg.tensor([1, 2]))


def test_flatten_and_unflatten_against_torch():
    torch = pytest.importorskip("torch")
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    for args in [(), (0, 1), (1, 2), (0, -1)]:
        ours = nn.Flatten(*args)(Tensor(x))
        theirs = torch.nn.Flatten(*args)(torch.tensor(x))
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    ours = nn.Unflatten(1, (3, 1))(Tensor(x.reshape(2, 3, 20)))
    assert ours.shape == tuple(torch.nn.Unflatten(1, (3, 1))(torch.tensor(x.reshape(2, 3, 20))).shape)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules_equal_torchs(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)), rng.random((4, 3))
    labels = np.array([0, 2, 1, 2])
    cases = [(nn.MSELoss, torch.nn.MSELoss, a, b), (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss, a, b),
             (nn.BCELoss, torch.nn.BCELoss, b, (b > 0.5).astype(float))]
    for ours_cls, theirs_cls, x, y in cases:
        t = Tensor(x.copy(), requires_grad=True)
        tt = torch.tensor(x, requires_grad=True)
        ours, theirs = ours_cls(reduction=reduction)(t, Tensor(y)), theirs_cls(reduction=reduction)(tt, torch.tensor(y))
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12)
    ours = nn.CrossEntropyLoss(reduction=reduction)(Tensor(a), tg.tensor(labels))
    theirs = torch.nn.CrossEntropyLoss(reduction=reduction)(torch.tensor(a), torch.tensor(labels))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)


def test_loss_modules_refuse_what_torch_refuses():
    with pytest.raises(ValueError, match="MSELoss: reduction must be one of"):
        nn.MSELoss(reduction="batchmean")
    with pytest.raises(ValueError, match="CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    # torch's losses show no options in their repr
    assert repr(nn.MSELoss()) == "MSELoss()" and repr(nn.MSELoss(reduction="sum")) == "MSELoss()"


def test_activations_and_more_losses_against_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[-2.5, -0.3, 0.4, 3.0], [1.5, -1.0, -40.0, 60.0]])
    for ours, theirs in [(nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)), (nn.ELU(1.5), torch.nn.ELU(1.5)),
                         (nn.SiLU(), torch.nn.SiLU()), (nn.ReLU(inplace=True), torch.nn.ReLU()),
                         (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)), (nn.LogSoftmax(dim=0), torch.nn.LogSoftmax(dim=0))]:
        t, tt = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
        out, tout = ours(t), theirs(tt)
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-300)
        weights = np.arange(1.0, 9.0).reshape(2, 4)
        (out * Tensor(weights)).sum().backward()
        (tout * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12, atol=1e-300)
        assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(t.grad))
    labels = np.array([3, 0])
    for reduction in ("mean", "sum", "none"):
        lp = torch.log_softmax(torch.tensor(x), 1)
        ours = nn.NLLLoss(reduction=reduction)(Tensor(lp.numpy()), tg.tensor(labels))
        np.testing.assert_allclose(ours.data, torch.nn.NLLLoss(reduction=reduction)(lp, torch.tensor(labels)).numpy())
        y = np.ones_like(x)
        t, tt = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
        ours, theirs = nn.L1Loss(reduction=reduction)(t, Tensor(y)), torch.nn.L1Loss(reduction=reduction)(tt, torch.tensor(y))
        np.testing.assert_allclose(ours.data, theirs.detach().numpy())
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(t.grad, tt.grad.numpy())
    ours = nn.NLLLoss(ignore_index=0)(Tensor(lp.numpy()), tg.tensor(np.array([3, 0])))
    np.testing.assert_allclose(ours.item(), torch.nn.NLLLoss(ignore_index=0)(lp, torch.tensor([3, 0])).item())


def test_the_module_tree_with_torchs_names():
    class Net(nn.Module):
        def __init__(self):
            self.body = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
            self.heads = nn.ModuleList([nn.Linear(4, 2), nn.Linear(4, 1)])
            self.extra = nn.ModuleDict({"out": nn.Linear(2, 2)})

    net = Net()
    assert [n for n, _ in net.named_children()] == ["body", "heads", "extra"]
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.0", "body.1", "heads", "heads.0", "heads.1",
                                                   "extra", "extra.out"]
    assert [n for n, _ in net.named_parameters()] == [
        "body.0.weight", "body.0.bias", "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias",
        "extra.out.weight", "extra.out.bias"]
    assert len(net.heads) == 2 and isinstance(net.heads[1], nn.Linear) and "out" in net.extra
    visited = []
    assert net.apply(lambda m: visited.append(type(m).__name__)) is net
    assert visited[-1] == "Net" and visited.count("Linear") == 4
    assert net.double() is net and all(p.dtype == np.float64 for p in net.parameters())
    net.eval()
    assert not net.heads[0].training and not net.extra["out"].training
    seq = nn.Sequential(nn.Linear(2, 2))
    seq.append(nn.ReLU())
    assert len(seq) == 2 and isinstance(seq[1], nn.ReLU)
    with pytest.raises(TypeError, match="ModuleList.append: expected a Module"):
        nn.ModuleList([3])


def test_zero_grad_set_to_none_false_fills_zeros():
    layer = nn.Linear(3, 2)
    layer(Tensor(np.ones((1, 3), np.float32))).sum().backward()
    layer.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in layer.parameters())
    layer.zero_grad()
    assert all(p.grad is None for p in layer.parameters())
