"""optim: SGD and Adam against PyTorch's published update rules (written out below in plain numpy
float64), in-place updates without allocation, validation, parameter groups, and exact resume through
state dicts (nested, flat, and the first flat format, also through a training checkpoint). Against
torch itself: test_torch_optim.py."""
import tracemalloc

import numpy as np
import pytest

from tinygrad_ae import Tensor, nn, optim
from tinygrad_ae.serialization import load, save

STEPS = 20
SHAPES = ((3, 2), (4,))


# ----- the reference: torch.optim.SGD / Adam documentation pseudo-code, one parameter at a time ---

def sgd_reference(theta, grad_fns, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    buf = None
    for grad_fn in grad_fns:
        g = grad_fn(theta)
        if weight_decay:
            g = g + weight_decay * theta
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        theta = theta - lr * g
    return theta


def adam_reference(theta, grad_fns, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    (b1, b2), m, v = betas, np.zeros_like(theta), np.zeros_like(theta)
    for t, grad_fn in enumerate(grad_fns, start=1):
        g = grad_fn(theta)
        if weight_decay:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


class Quadratic:
    """Per parameter i: gradient a_i * theta - c_i plus fixed noise for step t (a gradient that
    depends on where the parameter is, so a wrong update sends the trajectory elsewhere)."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.init = [rng.normal(size=s) for s in SHAPES]
        self.curvature = [rng.uniform(0.5, 2.0, size=s) for s in SHAPES]
        self.target = [rng.normal(size=s) for s in SHAPES]
        self.noise = [[0.3 * rng.normal(size=s) for s in SHAPES] for _ in range(STEPS)]

    def grad(self, i, t, theta):
        return self.curvature[i] * theta - self.target[i] + self.noise[t][i]

    def grad_fns(self, i, steps):
        return [lambda theta, t=t: self.grad(i, t, theta) for t in steps]


def skip_some(i, t):
    """Parameter 1 has no gradient at every third step (including the first): it must be skipped
    and keep its own step count / momentum start."""
    return i == 1 and t % 3 == 0


def run(make_optimizer, problem, dtype=np.float64, skip=skip_some):
    params = [Tensor(x.astype(dtype), requires_grad=True) for x in problem.init]
    opt = make_optimizer(params)
    for t in range(STEPS):
        opt.zero_grad()
        for i, p in enumerate(params):
            if not skip(i, t):
                p.grad = problem.grad(i, t, p.data).astype(dtype)
        opt.step()
    return params, opt


def reference(reference_fn, problem, kwargs, skip=skip_some):
    return [reference_fn(problem.init[i], problem.grad_fns(i, [t for t in range(STEPS) if not skip(i, t)]), **kwargs)
            for i in range(len(SHAPES))]


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.8, dampening=0.5),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.2),
    dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1),
    dict(lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.1),
]
ADAM_CASES = [
    dict(),
    dict(lr=0.05),
    dict(lr=0.05, weight_decay=0.3),
    dict(lr=0.1, betas=(0.5, 0.8), eps=1e-3, weight_decay=0.1),
]


@pytest.mark.parametrize("kwargs", SGD_CASES)
def test_sgd_trajectory_equals_pytorch_rule(kwargs):
    problem = Quadratic(seed=1)
    params, _ = run(lambda ps: optim.SGD(ps, **kwargs), problem)
    for p, expected in zip(params, reference(sgd_reference, problem, kwargs)):
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs", ADAM_CASES)
def test_adam_trajectory_equals_pytorch_rule(kwargs):
    problem = Quadratic(seed=2)
    params, opt = run(lambda ps: optim.Adam(ps, **kwargs), problem)
    for p, expected in zip(params, reference(adam_reference, problem, kwargs)):
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-12)
    assert [opt.state[p]["step"] for p in params] == [STEPS, STEPS - 7]   # parameter 1 skipped 7 of 20 steps


@pytest.mark.parametrize("make_optimizer, reference_fn, kwargs", [
    (optim.SGD, sgd_reference, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (optim.Adam, adam_reference, dict(lr=0.05, weight_decay=0.1)),
])
def test_float32_parameters_stay_float32(make_optimizer, reference_fn, kwargs):
    problem = Quadratic(seed=3)
    params, opt = run(lambda ps: make_optimizer(ps, **kwargs), problem, dtype=np.float32)
    for p, expected in zip(params, reference(reference_fn, problem, kwargs)):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p.data, expected, rtol=1e-4, atol=1e-5)
    assert all(v.dtype == np.float32 for s in opt.state.values() for v in s.values() if isinstance(v, np.ndarray))


@pytest.mark.parametrize("kwargs", SGD_CASES[1:4] + [dict(lr=0.1, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)])
def test_matches_torch_if_installed(kwargs):
    torch = pytest.importorskip("torch", reason="torch is not installed; the numpy reference above covers the rules")
    problem = Quadratic(seed=4)
    is_adam = "betas" in kwargs
    params, _ = run(lambda ps: (optim.Adam if is_adam else optim.SGD)(ps, **kwargs), problem, skip=lambda i, t: False)
    torch_params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in problem.init]
    opt = (torch.optim.Adam if is_adam else torch.optim.SGD)(torch_params, **kwargs)
    for t in range(STEPS):
        for i, p in enumerate(torch_params):
            p.grad = torch.from_numpy(problem.grad(i, t, p.detach().numpy()))
        opt.step()
    for p, tp in zip(params, torch_params):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-12)


# ----- in place, no allocation -------------------------------------------------------------------

@pytest.mark.parametrize("make_optimizer", [
    lambda ps: optim.SGD(ps, lr=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1),
])
def test_step_updates_in_place_and_allocates_no_arrays(make_optimizer):
    rng = np.random.default_rng(0)
    p = Tensor(rng.normal(size=(200, 500)), requires_grad=True)      # 800 kB: any temporary would show
    data, data_id = p.data, id(p.data)
    opt = make_optimizer([p])
    p.grad = rng.normal(size=p.shape)
    opt.step()                                                       # first step creates the buffers
    buffers = {name: v for name, v in opt.state[p].items() if isinstance(v, np.ndarray)}
    before = p.data.copy()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        opt.step()
        opt.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak - baseline < p.data.nbytes / 20
    assert p.data is data and id(p.data) == data_id
    assert not np.array_equal(p.data, before)                        # it did move
    assert all(opt.state[p][name] is buf for name, buf in buffers.items())


def test_parameters_without_grad_are_skipped_and_zero_grad_clears():
    a, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = np.ones(3)
    opt.step()
    np.testing.assert_array_equal(b.data, np.ones(2))
    assert b not in opt.state and opt.state[a]["step"] == 1
    np.testing.assert_allclose(a.data, 1 - 0.1, rtol=1e-7)           # Adam's first step is lr * sign(g)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


# ----- validation --------------------------------------------------------------------------------

P = Tensor(np.ones(2), requires_grad=True)


@pytest.mark.parametrize("build, error, pattern", [
    (lambda: optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
    (lambda: optim.SGD(P, lr=0.1), TypeError, "single Tensor"),
    (lambda: optim.SGD([P, np.ones(2)], lr=0.1), TypeError, "parameter 1 is a ndarray"),
    (lambda: optim.SGD([{"lr": 0.1}]), ValueError, "must have a 'params' entry"),
    (lambda: optim.SGD([{"params": [P]}, {"params": [P]}]), ValueError, "more than one parameter group"),
    (lambda: optim.SGD([{"params": [P], "lr": -1.0}]), ValueError, "invalid lr -1.0"),
    (lambda: optim.SGD([{"params": {P}}]), TypeError, "not a set"),
    (lambda: optim.SGD([P * 2]), ValueError, "not a leaf"),
    (lambda: optim.SGD([P], nesterov=1), TypeError, "nesterov must be True or False"),
    (lambda: optim.SGD([P], fused=True), NotImplementedError, "fused=True"),
    (lambda: optim.Adam([P], differentiable=True), NotImplementedError, "differentiable=True"),
    (lambda: optim.RMSprop([P], alpha=-0.1), ValueError, "invalid alpha"),
    (lambda: optim.RMSprop([P], momentum=-0.1), ValueError, "invalid momentum"),
    (lambda: optim.Adagrad([P], lr_decay=-0.1), ValueError, "invalid lr_decay"),
    (lambda: optim.Adagrad([P], initial_accumulator_value=-1), ValueError, "invalid initial_accumulator_value"),
    (lambda: optim.AdamW([P], betas=(0.9, 1.5)), ValueError, "invalid beta2 1.5"),
    (lambda: optim.SGD([P, P], lr=0.1), ValueError, "parameter 1 appears more than once"),
    (lambda: optim.SGD([P], lr=-0.1), ValueError, "invalid lr -0.1"),
    (lambda: optim.SGD([P], lr=float("nan")), ValueError, "invalid lr nan"),
    (lambda: optim.SGD([P], lr="0.1"), TypeError, "lr must be a real number"),
    (lambda: optim.SGD([P], lr=0.1, momentum=-0.5), ValueError, "invalid momentum"),
    (lambda: optim.SGD([P], lr=0.1, weight_decay=-1), ValueError, "invalid weight_decay"),
    (lambda: optim.SGD([P], lr=0.1, nesterov=True), ValueError, "nesterov=True requires momentum > 0"),
    (lambda: optim.SGD([P], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "dampening = 0"),
    (lambda: optim.Adam([P], lr=-1), ValueError, "invalid lr"),
    (lambda: optim.Adam([P], betas=(1.0, 0.999)), ValueError, r"invalid beta1 1\.0.*\[0, 1\)"),
    (lambda: optim.Adam([P], betas=(0.9, -0.1)), ValueError, "invalid beta2"),
    (lambda: optim.Adam([P], betas=0.9), TypeError, "betas must be a pair"),
    (lambda: optim.Adam([P], eps=-1e-8), ValueError, "invalid eps"),
    (lambda: optim.Adam([P], weight_decay=-0.1), ValueError, "invalid weight_decay"),
])
def test_bad_arguments_are_refused_clearly(build, error, pattern):
    with pytest.raises(error, match=pattern):
        build()


# ----- state dicts and exact resume --------------------------------------------------------------

def make_model(seed):
    return nn.Sequential(nn.Linear(4, 3, dtype=np.float64, rng=seed), nn.Tanh(),
                         nn.Linear(3, 2, dtype=np.float64, rng=seed + 1))


BATCHES = [(x, x[:, :2] ** 2) for x in np.random.default_rng(5).normal(size=(3, 4, 4))]


def train(model, opt, steps):
    for t in steps:
        x, y = BATCHES[t % len(BATCHES)]
        opt.zero_grad()
        diff = model(Tensor(x)) - Tensor(y)
        (diff * diff).mean().backward()
        opt.step()


@pytest.mark.parametrize("make_optimizer", [
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.5),
    lambda ps: optim.Adam(ps, lr=0.02, weight_decay=0.01),
])
def test_resume_from_saved_state_dicts_equals_straight_run(tmp_path, make_optimizer):
    straight = make_model(0)
    train(straight, make_optimizer(straight.parameters()), range(12))

    first = make_model(0)
    first_opt = make_optimizer(first.parameters())
    train(first, first_opt, range(5))
    save(first.state_dict(), tmp_path / "model.npz")
    save(optim.flat.flatten(first_opt.state_dict()), tmp_path / "optim.npz")   # tg.save takes flat dicts

    resumed = make_model(42)                               # different initial weights, fresh optimizer
    resumed_opt = make_optimizer(resumed.parameters())
    resumed.load_state_dict(load(tmp_path / "model.npz"))
    resumed_opt.load_state_dict(load(tmp_path / "optim.npz"))
    train(resumed, resumed_opt, range(5, 12))
    for (name, p), q in zip(straight.named_parameters(), resumed.parameters()):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)

    # control: the optimizer state matters, so resuming without it lands elsewhere
    no_state = make_model(42)
    no_state.load_state_dict(load(tmp_path / "model.npz"))
    train(no_state, make_optimizer(no_state.parameters()), range(5, 12))
    assert not np.array_equal(no_state[0].weight.data, straight[0].weight.data)


def _stepped_adam():
    params = [Tensor(np.ones((2, 3)), requires_grad=True), Tensor(np.ones(4), requires_grad=True)]
    opt = optim.Adam(params, lr=0.1, betas=(0.5, 0.6), eps=1e-4)
    for p in params:
        p.grad = np.full(p.shape, 0.5)
    opt.step()
    return opt


def test_state_dict_has_torchs_shape_and_is_a_copy():
    opt = _stepped_adam()
    state = opt.state_dict()
    assert set(state) == {"state", "param_groups"}
    assert set(state["state"]) == {0, 1} and set(state["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    group = state["param_groups"][0]
    assert group["params"] == [0, 1] and (group["lr"], group["betas"], group["eps"]) == (0.1, (0.5, 0.6), 1e-4)
    state["state"][0]["exp_avg"][:] = 99.0
    assert not np.any(opt.state[opt.params[0]]["exp_avg"] == 99.0)
    fresh = optim.Adam([Tensor(np.zeros((2, 3)), requires_grad=True), Tensor(np.zeros(4), requires_grad=True)], lr=1.0)
    fresh.load_state_dict(opt.state_dict())
    assert fresh.param_groups[0]["betas"] == (0.5, 0.6) and fresh.state[fresh.params[1]]["step"] == 1
    np.testing.assert_array_equal(fresh.state[fresh.params[0]]["exp_avg"], opt.state[opt.params[0]]["exp_avg"])
    sgd = optim.SGD([Tensor(np.ones(2), requires_grad=True)], lr=0.1, momentum=0.9, nesterov=True)
    fresh_sgd = optim.SGD([Tensor(np.ones(2), requires_grad=True)], lr=1.0)
    fresh_sgd.load_state_dict(sgd.state_dict())
    assert (fresh_sgd.lr, fresh_sgd.momentum, fresh_sgd.nesterov) == (0.1, 0.9, True)


def _edit_group(key, value):
    return lambda d: d["param_groups"][0].__setitem__(key, value)


@pytest.mark.parametrize("edit, pattern", [
    (lambda d: d["param_groups"][0].pop("lr"), r"group 0 lacks the option 'lr'"),
    (lambda d: d["state"][1].pop("exp_avg_sq"), r"parameter 1's state lacks 'exp_avg_sq'"),
    (lambda d: d["state"][1].update(velocity=np.zeros(4)), r"parameter 1's state has an unexpected 'velocity'"),
    (lambda d: d["state"].update({2: {"step": np.array(1.0)}}), r"state for parameter 2, which no group has"),
    (lambda d: d["state"][0].update(exp_avg=np.zeros((3, 2))), r"parameter 0's exp_avg has shape \(3, 2\), the parameter has \(2, 3\)"),
    (_edit_group("betas", (0.9, 0.99, 0.5)), r"betas must be a pair"),
    (lambda d: d["state"][1].update(step=np.array(0.0)), r"parameter 1's step must be a positive whole number"),
    (_edit_group("lr", -1.0), r"invalid lr -1\.0"),
    (_edit_group("params", [0]), r"group 0 has 1 parameters in the state dict, 2 in the optimizer"),
    (lambda d: d["param_groups"].append({"params": [], "lr": 0.1}), r"2 parameter groups, the optimizer has 1"),
])
def test_load_state_dict_errors_say_what_mismatched_and_change_nothing(edit, pattern):
    opt = _stepped_adam()
    before = optim.flat.flatten(opt.state_dict())
    state = _stepped_adam().state_dict()
    state["state"][0]["exp_avg"] += 1.0                 # would be visible if anything were loaded
    state["param_groups"][0]["eps"] = 0.5
    edit(state)
    with pytest.raises(ValueError, match=pattern):
        opt.load_state_dict(state)
    after = optim.flat.flatten(opt.state_dict())
    assert set(after) == set(before) and all(np.array_equal(after[k], before[k]) for k in before)


def test_flat_state_dicts_round_trip_and_the_first_format_still_loads():
    opt = _stepped_adam()
    flat = optim.flat.flatten(opt.state_dict())
    assert flat["step.0"] == 1 and flat["step.0"].dtype.kind == "i"
    assert flat["param_groups.0.betas"].tolist() == [0.5, 0.6] and flat["param_groups.0.params"].tolist() == [0, 1]
    again = _stepped_adam()
    again.load_state_dict({k: v + 1 if k.startswith("exp_avg.") else v for k, v in flat.items()})
    np.testing.assert_array_equal(again.state[again.params[0]]["exp_avg"], opt.state[opt.params[0]]["exp_avg"] + 1)
    # the format before parameter groups: options at the top level, no maximize/amsgrad (their defaults)
    first = {"lr": np.array(0.25), "betas": np.array([0.7, 0.8]), "eps": np.array(1e-6),
             "weight_decay": np.array(0.0), **{k: v for k, v in flat.items() if not k.startswith("param_groups")}}
    old = _stepped_adam()
    old.load_state_dict(first)
    group = old.param_groups[0]
    assert (group["lr"], group["betas"], group["eps"], group["amsgrad"]) == (0.25, (0.7, 0.8), 1e-6, False)
    assert old.state[old.params[1]]["step"] == 1
    with pytest.raises(ValueError, match="beside the param_groups"):
        old.load_state_dict({**flat, "lr": np.array(0.1)})
    with pytest.raises(ValueError, match="no options"):
        old.load_state_dict({"step.0": np.array(1)})


# ----- parameter groups --------------------------------------------------------------------------

def test_param_groups_have_their_own_options_and_follow_assignments():
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.01}], lr=0.1, momentum=0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01] and opt.param_groups[1]["momentum"] == 0.5
    assert opt.param_groups[1]["params"] == [b] and opt.defaults["lr"] == 0.1
    a.grad, b.grad = np.ones(2), np.ones(3)
    opt.step()
    np.testing.assert_allclose(a.data, 1 - 0.1), np.testing.assert_allclose(b.data, 1 - 0.01)
    opt.param_groups[1]["lr"] = 1.0                    # what schedulers and user code do
    opt.step()                                          # b's momentum buffer: 0.5 * 1 + 1 = 1.5
    np.testing.assert_allclose(b.data, 1 - 0.01 - 1.5)
    np.testing.assert_allclose(a.data, 1 - 0.1 - 0.15)
    with pytest.raises(ValueError, match="invalid lr -2.0"):
        opt.param_groups[0]["lr"] = -2.0
    assert opt.param_groups[0]["lr"] == 0.1
    with pytest.raises(AttributeError, match="different values"):
        opt.lr
    opt.lr = 0.2                                        # the shorthand sets every group
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2]
    opt.param_groups[0]["initial_lr"] = 0.3             # a scheduler's own keys are plain entries
    assert opt.state_dict()["param_groups"][0]["initial_lr"] == 0.3
    with pytest.raises(KeyError, match="cannot be removed"):
        del opt.param_groups[0]["lr"]


def test_add_param_group_takes_defaults_and_refuses_a_parameter_twice():
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    opt = optim.Adam([a], lr=0.1, betas=(0.8, 0.9))
    opt.add_param_group({"params": [b], "lr": 0.5})
    assert opt.param_groups[1]["betas"] == (0.8, 0.9) and opt.param_groups[1]["lr"] == 0.5
    assert opt.state_dict()["param_groups"][1]["params"] == [1]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    b.grad = np.ones(3)
    opt.step()
    np.testing.assert_allclose(b.data, 1 - 0.5)         # Adam's first step: lr * sign(g)
    assert a not in opt.state


def test_zero_grad_set_to_none_false_keeps_zeroed_arrays():
    a = Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    a.grad = np.ones(2)
    g = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is g and not a.grad.any()
    opt.zero_grad()
    assert a.grad is None


def test_step_with_a_closure_returns_its_loss():
    w = Tensor(np.array([3.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss.data) == 9.0 and w.data[0] == 3.0 - 0.25 * 6.0


def test_a_training_checkpoint_in_the_first_optimizer_format_still_resumes(tmp_path):
    """Checkpoints written before parameter groups keep the optimizer's options at the top level."""
    import tinygrad_ae as tg
    from tinygrad_ae import cli
    from tinygrad_ae.training import job

    def run(args):
        return job.run_job(cli.parse_train_args(args))

    tiny = ["--hidden", "4", "--batch-size", "256", "--lr", "0.003"]
    straight, out = tmp_path / "straight", tmp_path / "old"
    assert run([*tiny, "--epochs", "3", "--out", str(straight)]) == 0
    assert run([*tiny, "--epochs", "2", "--out", str(out)]) == 0
    state = tg.load(out / "checkpoint.npz")
    assert "optimizer.param_groups.0.lr" in state and state["optimizer.step.0"] > 0
    old = {k.replace("optimizer.param_groups.0.", "optimizer."): v for k, v in state.items()
           if k not in ("optimizer.param_groups.0.params", "optimizer.param_groups.0.amsgrad",
                        "optimizer.param_groups.0.maximize", "optimizer.param_groups.0.decoupled_weight_decay")}
    assert "optimizer.lr" in old and "optimizer.betas" in old
    tg.save(old, out / "checkpoint.npz")
    assert run(["--resume", str(out / "checkpoint.npz"), "--epochs", "3"]) == 0
    a, b = tg.load(out / "model.npz"), tg.load(straight / "model.npz")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_named_parameters_are_taken_as_torch_takes_them():
    model = nn.Linear(2, 3, dtype=np.float64, rng=0)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.param_groups[0]["params"] == [model.weight, model.bias]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="all parameters must be given with names, or none"):
        optim.SGD([model.weight, ("bias", model.bias)], lr=0.1)
