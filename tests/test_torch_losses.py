"""The losses with torch's options (functional_losses.py, nn/losses.py) against torch in float64: values,
and the gradients of a weighted sum with respect to the input (and the target, and BCE's weights, where
torch differentiates them) to 1e-10; the shipped gradcheck/gradgradcheck on the composed paths; the
fused fast paths still taken with the default options; torch's errors."""
import warnings

import numpy as np
import pytest

import tinygrad_ae as tg
import tinygrad_ae.functional as F
from tinygrad_ae import Tensor, nn
from tinygrad_ae.engine import ops

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = TF = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares the losses with PyTorch; pip install torch to run it")
REDUCTIONS = ["mean", "sum", "none"]


def check(ours, theirs, arrays, wrt=(0,), seed=0):
    """ours(*Tensors) equals theirs(*torch tensors), and so do the gradients of sum(w * loss), w drawn
    once, with respect to arrays[i] for i in wrt. Integer arrays are class indices."""
    def make(lib, a, i):
        if a.dtype.kind in "iu":
            return tg.tensor(a) if lib == "tg" else torch.tensor(a)
        return Tensor(a.copy(), requires_grad=i in wrt) if lib == "tg" else torch.tensor(a, requires_grad=i in wrt)
    ts = [make("tg", a, i) for i, a in enumerate(arrays)]
    tt = [make("torch", a, i) for i, a in enumerate(arrays)]
    out, expected = ours(*ts), theirs(*tt)
    assert out.shape == tuple(expected.shape) and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = np.random.default_rng(seed).uniform(0.5, 1.5, out.shape)
    (out * Tensor(w)).sum().backward()
    (expected * torch.tensor(w)).sum().backward()
    for i in wrt:
        np.testing.assert_allclose(ts[i].grad, tt[i].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"argument {i}")
    return out


rng = np.random.default_rng(20)
A, B = rng.normal(0, 1.5, (5, 4)), rng.normal(0, 1.5, (5, 4))


# ----- regression --------------------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.5, 2.5, 0.0])
def test_smooth_l1_loss_and_module(reduction, beta):
    check(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
          lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta), [A, B], wrt=(0, 1))
    check(lambda a, b: nn.SmoothL1Loss(reduction=reduction, beta=beta)(a, b),
          lambda a, b: torch.nn.SmoothL1Loss(reduction=reduction, beta=beta)(a, b), [A, B])


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [1.0, 0.3, 2.0])
def test_huber_loss_and_module(reduction, delta):
    check(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta),
          lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=delta), [A, B], wrt=(0, 1))
    check(lambda a, b: nn.HuberLoss(reduction=reduction, delta=delta)(a, b),
          lambda a, b: torch.nn.HuberLoss(reduction=reduction, delta=delta)(a, b), [A, B])


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_and_module(reduction, log_target):
    log_p = np.log(rng.dirichlet(np.ones(4), 5))
    q = rng.dirichlet(np.ones(4), 5)
    target = np.log(q) if log_target else q
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)       # both warn about "mean"
        check(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
              lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target), [log_p, target], wrt=(0, 1))
        check(lambda a, b: nn.KLDivLoss(reduction=reduction, log_target=log_target)(a, b),
              lambda a, b: torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(a, b), [log_p, target])
        if not log_target:                                 # a zero target adds 0 (xlogy), gradient to the input too
            q0 = q.copy()
            q0[:, 0] = 0
            check(lambda a, b: F.kl_div(a, b, reduction=reduction), lambda a, b: TF.kl_div(a, b, reduction=reduction),
                  [log_p, q0])


def test_kl_div_mean_warns_as_torch_and_batchmean_divides_by_the_batch():
    log_p, q = Tensor(np.log(np.full((2, 4), 0.25))), Tensor(np.full((2, 4), 0.25))
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(log_p, q)
    q2 = Tensor(np.array([[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]]))
    expected = np.sum(q2.data * (np.log(q2.data) - log_p.data)) / 2
    assert F.kl_div(log_p, q2, reduction="batchmean").item() == pytest.approx(expected, rel=1e-14)


# ----- binary cross-entropy ------------------------------------------------------------------------

P = rng.uniform(0.05, 0.95, (5, 4))
Y = (rng.random((5, 4)) > 0.5).astype(float)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [(4,), (5, 4), (5, 1)])
def test_binary_cross_entropy_with_weight(reduction, weight_shape):
    w = rng.uniform(0.2, 2.0, weight_shape)
    check(lambda p, y: F.binary_cross_entropy(p, y, weight=Tensor(w), reduction=reduction),
          lambda p, y: TF.binary_cross_entropy(p, y, weight=torch.tensor(w), reduction=reduction), [P, Y], wrt=(0, 1))
    check(lambda p, y: nn.BCELoss(weight=Tensor(w), reduction=reduction)(p, y),
          lambda p, y: torch.nn.BCELoss(weight=torch.tensor(w), reduction=reduction)(p, y), [P, rng.random((5, 4))])


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["weight", "pos_weight", "both"])
def test_binary_cross_entropy_with_logits_weight_and_pos_weight(reduction, options):
    w, pw = rng.uniform(0.2, 2.0, (5, 1)), rng.uniform(0.2, 3.0, (4,))
    target = rng.random((5, 4))
    use_w, use_pw = options in ("weight", "both"), options in ("pos_weight", "both")

    def ours(a, y, w, pw):
        return F.binary_cross_entropy_with_logits(a, y, weight=w if use_w else None, reduction=reduction,
                                                  pos_weight=pw if use_pw else None)

    def theirs(a, y, w, pw):
        return TF.binary_cross_entropy_with_logits(a, y, weight=w if use_w else None, reduction=reduction,
                                                   pos_weight=pw if use_pw else None)
    # (torch does not differentiate weight and pos_weight; here they may be in the graph: see the gradcheck below)
    check(ours, theirs, [A * 3, target, w, pw], wrt=(0, 1))
    check(lambda a, y: nn.BCEWithLogitsLoss(pos_weight=Tensor(pw), reduction=reduction)(a, y),
          lambda a, y: torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw), reduction=reduction)(a, y), [A, target])


@needs_torch
def test_binary_cross_entropy_with_logits_pos_weight_is_finite_and_torchs_at_large_logits():
    logits = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]] * 2)
    target = np.array([[1.0, 0.0, 0.5, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0, 1.0]])
    pw = np.array([2.0, 0.5, 3.0, 1.5, 4.0])
    out = check(lambda a, y: F.binary_cross_entropy_with_logits(a, y, pos_weight=Tensor(pw), reduction="none"),
                lambda a, y: TF.binary_cross_entropy_with_logits(a, y, pos_weight=torch.tensor(pw), reduction="none"),
                [logits, target], wrt=(0, 1))
    assert np.all(np.isfinite(out.data))


# ----- classes ------------------------------------------------------------------------------------

def labels(shape, classes, seed=1):
    return np.random.default_rng(seed).integers(0, classes, shape)


CLASS_CASES = {   # logits shape, target shape
    "(N, C)": ((6, 4), (6,)),
    "(N, C, d)": ((3, 4, 5), (3, 5)),
    "(N, C, d1, d2)": ((2, 3, 2, 3), (2, 2, 3)),
    "(C,)": ((4,), ()),
}


def class_problem(case, ignore_index=None):
    logits_shape, target_shape = CLASS_CASES[case]
    classes = logits_shape[1 if len(logits_shape) > 1 else 0]
    x = np.random.default_rng(3).normal(0, 2, logits_shape)
    y = labels(target_shape, classes)
    if ignore_index is not None and y.ndim:
        y.flat[::3] = ignore_index                       # every third position ignored
    return x, y, classes


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CLASS_CASES)
@pytest.mark.parametrize("options", ["defaults", "weight", "ignore_index", "ignore_index=1", "all"])
def test_nll_loss_and_cross_entropy_with_weight_and_ignore_index(reduction, case, options):
    ignore = {"ignore_index": -100, "ignore_index=1": 1, "all": 2}.get(options)
    x, y, classes = class_problem(case, ignore)
    kw = {} if ignore is None or ignore == -100 else {"ignore_index": ignore}
    weight = np.random.default_rng(4).uniform(0.3, 2.0, classes) if options in ("weight", "all") else None
    wt = (lambda lib: None if weight is None else (Tensor(weight) if lib is tg else torch.tensor(weight)))
    check(lambda a, t: F.cross_entropy(a, t, weight=wt(tg), reduction=reduction, **kw),
          lambda a, t: TF.cross_entropy(a, t, weight=wt(torch), reduction=reduction, **kw), [x, y])
    lp = torch.log_softmax(torch.tensor(x), dim=1 if x.ndim > 1 else 0).numpy()
    check(lambda a, t: F.nll_loss(a, t, weight=wt(tg), reduction=reduction, **kw),
          lambda a, t: TF.nll_loss(a, t, weight=wt(torch), reduction=reduction, **kw), [lp, y])
    check(lambda a, t: nn.CrossEntropyLoss(weight=wt(tg), reduction=reduction, **kw)(a, t),
          lambda a, t: torch.nn.CrossEntropyLoss(weight=wt(torch), reduction=reduction, **kw)(a, t), [x, y])
    check(lambda a, t: nn.NLLLoss(weight=wt(tg), reduction=reduction, **kw)(a, t),
          lambda a, t: torch.nn.NLLLoss(weight=wt(torch), reduction=reduction, **kw)(a, t), [lp, y])


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CLASS_CASES)
@pytest.mark.parametrize("options", ["plain", "weight", "ignore_index", "weight+ignore_index"])
def test_cross_entropy_with_label_smoothing(reduction, case, options):
    x, y, classes = class_problem(case, 1 if "ignore" in options else None)
    kw = {"ignore_index": 1} if "ignore" in options else {}
    weight = np.random.default_rng(5).uniform(0.3, 2.0, classes) if "weight" in options else None
    wt = (lambda lib: None if weight is None else (Tensor(weight) if lib is tg else torch.tensor(weight)))
    for smoothing in (0.1, 1.0):
        check(lambda a, t: F.cross_entropy(a, t, weight=wt(tg), reduction=reduction, label_smoothing=smoothing, **kw),
              lambda a, t: TF.cross_entropy(a, t, weight=wt(torch), reduction=reduction, label_smoothing=smoothing,
                                            **kw), [x, y])
    check(lambda a, t: nn.CrossEntropyLoss(weight=wt(tg), reduction=reduction, label_smoothing=0.2, **kw)(a, t),
          lambda a, t: torch.nn.CrossEntropyLoss(weight=wt(torch), reduction=reduction, label_smoothing=0.2,
                                                 **kw)(a, t), [x, y])


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CLASS_CASES)
@pytest.mark.parametrize("options", ["plain", "weight", "label_smoothing", "both"])
def test_cross_entropy_with_probabilities_as_targets(reduction, case, options):
    x, _, classes = class_problem(case)
    axis = 1 if x.ndim > 1 else 0
    probs = np.moveaxis(np.random.default_rng(6).dirichlet(np.ones(classes), x.size // classes), -1, 0)
    probs = np.moveaxis(probs.reshape((classes,) + x.shape[:axis] + x.shape[axis + 1:]), 0, axis)
    weight = np.random.default_rng(7).uniform(0.3, 2.0, classes) if options in ("weight", "both") else None
    smoothing = 0.15 if options in ("label_smoothing", "both") else 0.0
    wt = (lambda lib: None if weight is None else (Tensor(weight) if lib is tg else torch.tensor(weight)))
    check(lambda a, t: F.cross_entropy(a, t, weight=wt(tg), reduction=reduction, label_smoothing=smoothing),
          lambda a, t: TF.cross_entropy(a, t, weight=wt(torch), reduction=reduction, label_smoothing=smoothing),
          [x, probs], wrt=(0, 1))


@needs_torch
def test_every_position_ignored_gives_torchs_nan_mean_with_a_zero_gradient_and_a_zero_sum():
    x, y = np.random.default_rng(15).normal(size=(3, 4)), np.full(3, -100)
    for reduction in ("mean", "sum"):
        for smoothing in (0.0, 0.1):
            t, tt = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
            ours = F.cross_entropy(t, tg.tensor(y), reduction=reduction, label_smoothing=smoothing)
            theirs = TF.cross_entropy(tt, torch.tensor(y), reduction=reduction, label_smoothing=smoothing)
            np.testing.assert_array_equal(ours.data, theirs.detach().numpy())      # nan for "mean", 0 for "sum"
            ours.backward()
            theirs.backward()
            np.testing.assert_array_equal(t.grad, tt.grad.numpy())
            assert not t.grad.any()


# ----- the composed paths against central differences, first and second order ---------------------

def test_gradcheck_and_gradgradcheck_of_the_new_paths():
    x = np.random.default_rng(8).normal(0, 1.5, (3, 4, 2))
    y = labels((3, 2), 4)
    y[0, 0] = 1
    w = np.array([0.5, 1.0, 2.0, 1.5])
    # (C-contiguous: tg.numerical_grad perturbs its inputs through reshape(-1), a copy for a transposed array)
    probs = np.ascontiguousarray(np.random.default_rng(9).dirichlet(np.ones(4), 6).reshape(3, 2, 4).transpose(0, 2, 1))
    a, t, pw = np.random.default_rng(10).normal(0, 2, (4, 3)), np.random.default_rng(11).random((4, 3)), np.array([0.5, 2.0, 3.0])
    cases = [
        (lambda v: F.cross_entropy(v, y, weight=w, ignore_index=1, label_smoothing=0.2), [x]),
        (lambda v: F.cross_entropy(v, y, reduction="none", label_smoothing=0.3), [x]),
        (lambda v, p: F.cross_entropy(v, p, weight=w, label_smoothing=0.1), [x, probs]),
        (lambda v: F.nll_loss(v.log_softmax(1), y, weight=w, ignore_index=2, reduction="sum"), [x]),
        (lambda v, u, q: F.binary_cross_entropy_with_logits(v, u, pos_weight=q, reduction="sum"), [a, t, pw]),
        (lambda p, u, q: F.binary_cross_entropy(p, u, weight=q), [1 / (1 + np.exp(-a)), t, pw]),
        (lambda v, u: F.smooth_l1_loss(v, u, beta=0.7), [a, t * 2]),
        (lambda v, u: F.huber_loss(v, u, delta=0.6, reduction="sum"), [a, t * 2]),
        (lambda v, u: F.kl_div(v, u, reduction="batchmean", log_target=True), [a, t]),
    ]
    for fn, arrays in cases:
        assert tg.gradcheck(fn, *arrays) is True
        assert tg.gradgradcheck(fn, *arrays) is True


# ----- the defaults keep the fused primitives; dtypes --------------------------------------------

def test_default_options_still_take_the_fused_primitives():
    x = Tensor(np.random.default_rng(12).normal(size=(4, 3)), requires_grad=True)
    target = np.random.default_rng(13).random((4, 3))
    assert type(F.cross_entropy(x, [0, 2, 1, 2]).grad_fn) is ops.SoftmaxCrossEntropySum
    assert type(nn.CrossEntropyLoss(reduction="sum")(x, tg.tensor([0, 2, 1, 2])).grad_fn) is ops.SoftmaxCrossEntropySum
    assert type(F.binary_cross_entropy_with_logits(x, target).grad_fn) is ops.BCEWithLogitsSum
    assert type(nn.BCEWithLogitsLoss()(x, Tensor(target)).grad_fn) is ops.BCEWithLogitsSum
    assert type(F.mse_loss(x, target, reduction="batchmean").grad_fn) is ops.SquaredErrorSum
    # and an option in use leaves them
    assert type(F.cross_entropy(x, [0, 2, 1, 2], label_smoothing=0.1).grad_fn) is not ops.SoftmaxCrossEntropySum
    # the old positional reduction still works where torch's third argument is weight
    assert F.cross_entropy(x, [0, 2, 1, 2], "sum").item() == pytest.approx(
        F.cross_entropy(x, [0, 2, 1, 2], reduction="sum").item(), rel=1e-15)


@pytest.mark.parametrize("fn", [
    lambda x: F.cross_entropy(x, [0, 2, 1, 2], weight=np.ones(3), label_smoothing=0.1),
    lambda x: F.cross_entropy(x, Tensor(np.full((4, 3), 1 / 3, np.float32))),
    lambda x: F.binary_cross_entropy_with_logits(x, np.ones((4, 3)), pos_weight=np.ones(3)),
    lambda x: F.huber_loss(x, np.ones((4, 3))),
    lambda x: F.smooth_l1_loss(x, np.ones((4, 3)), beta=0.5),
    lambda x: F.nll_loss(x, [0, -100, 1, 2]),
])
def test_float32_stays_float32_on_the_composed_paths(fn):
    x = Tensor(np.random.default_rng(14).normal(size=(4, 3)).astype(np.float32), requires_grad=True)
    out = fn(x)
    assert out.dtype == np.float32
    out.backward()
    assert x.grad.dtype == np.float32


# ----- errors -----------------------------------------------------------------------------------

def test_bad_options_get_torchs_kind_of_error_naming_the_loss():
    x, y = Tensor(np.zeros((3, 4))), np.array([0, 1, 2])
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be >= 0"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match="huber_loss: delta must be > 0"):
        nn.HuberLoss(delta=0.0)(x, x)
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(x, y, label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have one entry per class, shape \(4,\)"):
        F.cross_entropy(x, y, weight=np.ones(3))
    with pytest.raises(ValueError, match="nll_loss: weight must have one entry per class"):
        nn.NLLLoss(weight=Tensor(np.ones(5)))(x, y)
    with pytest.raises(TypeError, match="class probabilities and must be floating point, got dtype int64"):
        F.cross_entropy(x, np.zeros((3, 4), np.int64))
    with pytest.raises(ValueError, match="ignore_index is not supported for probabilities"):
        F.cross_entropy(x, np.full((3, 4), 0.25), ignore_index=0)
    with pytest.raises(ValueError, match=r"target holds class 4 .* \(or ignore_index, 1\)"):
        F.cross_entropy(x, np.array([1, 4, 0]), ignore_index=1)
    with pytest.raises(ValueError, match=r"logits of shape \(3, 4, 2\) need a target of shape \(3, 2\)"):
        F.cross_entropy(Tensor(np.zeros((3, 4, 2))), np.zeros((3, 4), np.int64))
    with pytest.raises(ValueError, match="kl_div: reduction must be one of"):
        F.kl_div(x, x, reduction="average")
    with pytest.raises(ValueError, match="KLDivLoss: reduction must be one of"):
        nn.KLDivLoss(reduction="average")
    with pytest.raises(ValueError, match=r"binary_cross_entropy: weight of shape \(3,\) does not broadcast"):
        F.binary_cross_entropy(Tensor(np.full((3, 4), 0.5)), np.ones((3, 4)), weight=np.ones(3))
    with pytest.raises(ValueError, match="pos_weight of shape"):
        nn.BCEWithLogitsLoss(pos_weight=Tensor(np.ones(2)))(x, x)
    with pytest.raises(ValueError, match="huber_loss: reduction must be one of"):
        F.huber_loss(x, x, reduction="batchmean")


def test_loss_weights_are_buffers_in_the_state_dict_as_torchs():
    w = Tensor(np.array([1.0, 2.0, 0.5]))
    loss = nn.CrossEntropyLoss(weight=w)
    assert loss.weight is w and not loss.parameters() and list(loss.state_dict()) == ["weight"]
    assert list(nn.BCEWithLogitsLoss(pos_weight=w).state_dict()) == ["pos_weight"]
    assert not nn.NLLLoss().state_dict()
    if torch is not None:
        assert list(torch.nn.CrossEntropyLoss(weight=torch.ones(3)).state_dict()) == ["weight"]
        assert list(torch.nn.BCEWithLogitsLoss(pos_weight=torch.ones(3)).state_dict()) == ["pos_weight"]
