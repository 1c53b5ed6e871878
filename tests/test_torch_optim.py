"""optim and optim.lr_scheduler against torch itself (skipped without torch): every optimizer and
option combination, and every scheduler driving an optimizer, run from the same float64 weights on
the same gradients, parameters to 1e-9 (relative) and learning rates to 1e-12; state dicts in torch's
shape; bad options refused with torch's kind of error, naming the option."""
import itertools
import warnings

import numpy as np
import pytest

from tinygrad_ae import Tensor, optim
from tinygrad_ae.optim import lr_scheduler

torch = pytest.importorskip("torch", reason="compares optim with torch.optim; pip install torch to run it")

STEPS = 30
SHAPES = ((3, 2), (4,))
RTOL, LR_TOL = 1e-9, 1e-12


class Problem:
    """Per parameter i: gradient a_i * theta - c_i plus fixed noise for step t (it depends on where the
    parameter is, so a wrong update sends the trajectory elsewhere); parameter 1 has no gradient at
    every fourth step, which both frameworks skip."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.init = [rng.normal(size=s) for s in SHAPES]
        self.curvature = [rng.uniform(0.5, 2.0, size=s) for s in SHAPES]
        self.target = [rng.normal(size=s) for s in SHAPES]
        self.noise = [[0.3 * rng.normal(size=s) for s in SHAPES] for _ in range(STEPS)]

    def grad(self, i, t, theta):
        if i == 1 and t % 4 == 3:
            return None
        return self.curvature[i] * theta - self.target[i] + self.noise[t][i]

    def metric(self, t):
        """A made-up validation loss that improves, then stalls (ReduceLROnPlateau's input)."""
        return 1.0 / (1 + t) if t < 8 else 0.125 + 0.001 * np.sin(t)


def ours_and_torch(problem):
    ours = [Tensor(x.copy(), requires_grad=True) for x in problem.init]
    theirs = [torch.tensor(x.copy(), dtype=torch.float64, requires_grad=True) for x in problem.init]
    return ours, theirs


def set_grads(problem, t, ours, theirs):
    for i, (p, q) in enumerate(zip(ours, theirs)):
        g = problem.grad(i, t, p.data)
        p.grad = g
        h = problem.grad(i, t, q.detach().numpy())
        q.grad = None if h is None else torch.from_numpy(h)


def groups(params, group_options):
    """One group per parameter, each with its own options, or all parameters in one list."""
    if group_options is None:
        return list(params)
    return [{"params": [p], **options} for p, options in zip(params, group_options)]


def assert_close_params(ours, theirs, what):
    for i, (p, q) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=RTOL, atol=1e-12, err_msg=f"{what}: parameter {i}")


def run_both(name, kwargs, group_options=None, seed=0, steps=STEPS):
    problem = Problem(seed)
    ours, theirs = ours_and_torch(problem)
    opt = getattr(optim, name)(groups(ours, group_options), **kwargs)
    ref = getattr(torch.optim, name)(groups(theirs, group_options), **kwargs)
    for t in range(steps):
        set_grads(problem, t, ours, theirs)
        opt.step()
        ref.step()
    assert_close_params(ours, theirs, f"{name}({kwargs})")
    return opt, ref, ours, theirs


def combos(**choices):
    names = list(choices)
    return [dict(zip(names, values)) for values in itertools.product(*choices.values())]


SGD_CASES = [c for c in combos(lr=[0.05], momentum=[0.0, 0.9], dampening=[0.0, 0.3], nesterov=[False, True],
                               weight_decay=[0.0, 0.1], maximize=[False, True])
             if not (c["nesterov"] and (c["momentum"] == 0 or c["dampening"] != 0))]
ADAM_CASES = combos(lr=[0.05], betas=[(0.9, 0.999), (0.5, 0.8)], weight_decay=[0.0, 0.1], amsgrad=[False, True],
                    maximize=[False, True])
RMSPROP_CASES = combos(lr=[0.01], alpha=[0.99, 0.8], momentum=[0.0, 0.5], centered=[False, True],
                       weight_decay=[0.0, 0.1], maximize=[False, True])
ADAGRAD_CASES = combos(lr=[0.1], lr_decay=[0.0, 0.05], weight_decay=[0.0, 0.1], initial_accumulator_value=[0.0, 0.5],
                       maximize=[False, True])
CASES = ([("SGD", c) for c in SGD_CASES] + [("Adam", c) for c in ADAM_CASES] + [("AdamW", c) for c in ADAM_CASES]
         + [("RMSprop", c) for c in RMSPROP_CASES] + [("Adagrad", c) for c in ADAGRAD_CASES]
         + [("Adam", dict(decoupled_weight_decay=True, weight_decay=0.1)), ("RMSprop", dict(eps=1e-3)),
            ("Adagrad", dict(eps=1e-3)), ("Adam", dict(eps=1e-2)), ("AdamW", dict())])


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in c.items())}" for n, c in CASES])
def test_every_optimizer_and_option_follows_torch(name, kwargs):
    opt, ref, ours, theirs = run_both(name, kwargs)
    ours_sd, torch_sd = opt.state_dict(), ref.state_dict()
    assert ours_sd["state"].keys() == torch_sd["state"].keys()
    for i, entry in torch_sd["state"].items():
        assert set(ours_sd["state"][i]) == {k for k, v in entry.items() if v is not None}, i
        for key, value in entry.items():
            if value is not None:
                np.testing.assert_allclose(ours_sd["state"][i][key], value.numpy(), rtol=RTOL, atol=1e-12, err_msg=key)
    ours_group, torch_group = ours_sd["param_groups"][0], torch_sd["param_groups"][0]
    assert all(ours_group[k] == torch_group[k] for k in ours_group), (ours_group, torch_group)


@pytest.mark.parametrize("name, options", [
    ("SGD", [dict(lr=0.1, momentum=0.9), dict(lr=0.01, nesterov=True, momentum=0.5)]),
    ("Adam", [dict(lr=0.05), dict(betas=(0.5, 0.7), amsgrad=True, weight_decay=0.2)]),
    ("RMSprop", [dict(centered=True), dict(momentum=0.3, alpha=0.9)]),
    ("Adagrad", [dict(lr_decay=0.1), dict(initial_accumulator_value=1.0)]),
])
def test_parameter_groups_with_their_own_options_follow_torch(name, options):
    opt, ref, _, _ = run_both(name, dict(lr=0.02), group_options=options)
    assert [g["params"] for g in opt.state_dict()["param_groups"]] == [[0], [1]]


def test_a_learning_rate_set_in_a_group_between_steps_follows_torch():
    problem = Problem(3)
    ours, theirs = ours_and_torch(problem)
    opt = optim.Adam([{"params": ours[:1]}, {"params": ours[1:], "lr": 0.01}], lr=0.1)
    ref = torch.optim.Adam([{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.01}], lr=0.1)
    for t in range(STEPS):
        set_grads(problem, t, ours, theirs)
        opt.step(), ref.step()
        for o in (opt, ref):
            o.param_groups[t % 2]["lr"] *= 0.9
            o.param_groups[0]["betas"] = (0.9 - 0.01 * t, 0.999)
    assert_close_params(ours, theirs, "lr and betas set between steps")


def test_a_loaded_state_dict_continues_as_torch_does():
    problem = Problem(4)
    ours, theirs = ours_and_torch(problem)
    opt, ref = optim.RMSprop(ours, lr=0.01, momentum=0.5, centered=True), torch.optim.RMSprop(theirs, lr=0.01, momentum=0.5, centered=True)
    for t in range(10):
        set_grads(problem, t, ours, theirs)
        opt.step(), ref.step()
    saved = opt.state_dict()
    fresh = [Tensor(p.data.copy(), requires_grad=True) for p in ours]
    resumed = optim.RMSprop(fresh, lr=1.0)
    resumed.load_state_dict(saved)
    for t in range(10, STEPS):
        set_grads(problem, t, fresh, theirs)
        resumed.step(), ref.step()
    assert_close_params(fresh, theirs, "resumed RMSprop")


# ----- schedulers ------------------------------------------------------------------------------------

SCHEDULERS = [
    ("StepLR", dict(step_size=4, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 7, 7, 12], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=8, eta_min=0.001)),        # past T_max: back up, torch's recursion
    ("CosineAnnealingLR", dict(T_max=STEPS)),
    ("LinearLR", dict(start_factor=0.25, end_factor=1.0, total_iters=10)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=5)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 0.95 ** epoch / (1 + epoch % 3))),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=STEPS)),
    ("OneCycleLR", dict(max_lr=[0.3, 0.6], total_steps=STEPS, anneal_strategy="linear", three_phase=True)),
    ("OneCycleLR", dict(max_lr=0.2, epochs=5, steps_per_epoch=6, pct_start=0.4, div_factor=10.0,
                        base_momentum=0.7, max_momentum=0.9)),
    ("OneCycleLR", dict(max_lr=0.2, total_steps=STEPS, cycle_momentum=False)),
    ("ReduceLROnPlateau", dict(patience=2, factor=0.5, cooldown=1, min_lr=0.003)),
    ("ReduceLROnPlateau", dict(mode="max", patience=1, threshold=0.01, threshold_mode="abs")),
]


@pytest.mark.parametrize("opt_name, opt_kwargs", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.05)),
                                                  ("RMSprop", dict(lr=0.01, momentum=0.5))])
@pytest.mark.parametrize("name, kwargs", SCHEDULERS, ids=[f"{n}{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_every_scheduler_drives_an_optimizer_as_torch_does(name, kwargs, opt_name, opt_kwargs):
    if name == "OneCycleLR" and opt_name == "RMSprop" and kwargs.get("cycle_momentum", True):
        kwargs = dict(kwargs, cycle_momentum=False)     # (both cycle RMSprop's momentum: SGD covers that path)
    problem = Problem(5)
    ours, theirs = ours_and_torch(problem)
    split = [{"params": ours[:1]}, {"params": ours[1:], "lr": 0.02}]
    opt = getattr(optim, opt_name)(split, **opt_kwargs)
    ref = getattr(torch.optim, opt_name)([{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.02}], **opt_kwargs)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    ref_sched = getattr(torch.optim.lr_scheduler, name)(ref, **kwargs)
    momentum_key = "betas" if opt_name == "Adam" else "momentum"
    for t in range(STEPS - 1):
        set_grads(problem, t, ours, theirs)
        opt.step(), ref.step()
        if name == "ReduceLROnPlateau":
            sched.step(problem.metric(t)), ref_sched.step(problem.metric(t))
        else:
            sched.step(), ref_sched.step()
        np.testing.assert_allclose(sched.get_last_lr(), ref_sched.get_last_lr(), rtol=LR_TOL, atol=0, err_msg=str(t))
        assert sched.last_epoch == ref_sched.last_epoch
        for g, h in zip(opt.param_groups, ref.param_groups):
            np.testing.assert_allclose(np.ravel(g[momentum_key]), np.ravel(h[momentum_key]), rtol=LR_TOL, atol=0)
    assert_close_params(ours, theirs, f"{name} driving {opt_name}")


@pytest.mark.parametrize("name, kwargs", [s for s in SCHEDULERS if s[0] not in ("LambdaLR", "ReduceLROnPlateau", "OneCycleLR")])
def test_step_with_an_epoch_uses_the_closed_form_as_torch_does(name, kwargs):
    ours = optim.SGD([Tensor(np.ones(2), requires_grad=True)], lr=0.1)
    ref = torch.optim.SGD([torch.ones(2, requires_grad=True)], lr=0.1)
    sched, ref_sched = getattr(lr_scheduler, name)(ours, **kwargs), getattr(torch.optim.lr_scheduler, name)(ref, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (3, 7, 5, 12, 20):
            sched.step(epoch), ref_sched.step(epoch)
            np.testing.assert_allclose(sched.get_last_lr(), ref_sched.get_last_lr(), rtol=LR_TOL, atol=0)
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(1)


@pytest.mark.filterwarnings("ignore:Detected call of")   # (torch's warning: these steps have no optimizer steps)
@pytest.mark.parametrize("name, kwargs", [SCHEDULERS[i] for i in (0, 3, 7, 8, 12)])
def test_a_scheduler_resumed_from_its_state_dict_continues_as_torch_does(name, kwargs):
    def make(module, opt_module):
        params = [Tensor(np.ones(2), requires_grad=True)] if opt_module is optim else [torch.ones(2, requires_grad=True)]
        opt = opt_module.SGD(params, lr=0.1, momentum=0.9)
        return opt, getattr(module, name)(opt, **kwargs)

    def advance(sched, steps, start):
        for t in range(start, start + steps):
            sched.step(Problem().metric(t)) if name == "ReduceLROnPlateau" else sched.step()

    opt, sched = make(lr_scheduler, optim)
    ref_opt, ref_sched = make(torch.optim.lr_scheduler, torch.optim)
    advance(sched, 6, 0), advance(ref_sched, 6, 0)
    saved, saved_opt = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == ref_sched.state_dict()["last_epoch"]
    again_opt = optim.SGD([Tensor(np.ones(2), requires_grad=True)], lr=0.1, momentum=0.9)
    again_opt.load_state_dict(saved_opt)
    again = getattr(lr_scheduler, name)(again_opt, **kwargs)
    again.load_state_dict(saved)
    advance(again, 10, 6), advance(ref_sched, 10, 6)
    np.testing.assert_allclose(again.get_last_lr(), ref_sched.get_last_lr(), rtol=LR_TOL, atol=0)


# ----- errors: torch's kind, naming the option -------------------------------------------------------

P = Tensor(np.ones(2), requires_grad=True)
TP = torch.ones(2, requires_grad=True)


@pytest.mark.parametrize("name, kwargs, option", [
    ("SGD", dict(lr=-0.1), "lr"), ("SGD", dict(momentum=-0.1), "momentum"),
    ("SGD", dict(weight_decay=-1.0), "weight_decay"), ("SGD", dict(nesterov=True), "nesterov"),
    ("Adam", dict(lr=-1e-3), "lr"), ("Adam", dict(betas=(1.0, 0.9)), "beta1"), ("Adam", dict(betas=(0.9, 1.0)), "beta2"),
    ("Adam", dict(eps=-1.0), "eps"), ("AdamW", dict(weight_decay=-0.1), "weight_decay"), ("AdamW", dict(betas=(-0.1, 0.9)), "beta1"),
    ("RMSprop", dict(lr=-0.1), "lr"), ("RMSprop", dict(alpha=-0.5), "alpha"), ("RMSprop", dict(eps=-1.0), "eps"),
    ("RMSprop", dict(momentum=-0.5), "momentum"), ("RMSprop", dict(weight_decay=-0.5), "weight_decay"),
    ("Adagrad", dict(lr=-0.1), "lr"), ("Adagrad", dict(lr_decay=-0.1), "lr_decay"),
    ("Adagrad", dict(weight_decay=-0.1), "weight_decay"),
    ("Adagrad", dict(initial_accumulator_value=-0.1), "initial_accumulator_value"), ("Adagrad", dict(eps=-1.0), "eps"),
])
def test_bad_options_raise_torchs_value_error_naming_the_option(name, kwargs, option):
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([TP], **kwargs)
    with pytest.raises(ValueError, match=rf"^{name}: .*\b{option}\b"):
        getattr(optim, name)([P], **kwargs)


@pytest.mark.parametrize("build", [
    lambda m, o: m.LinearLR(o, start_factor=0.0),
    lambda m, o: m.LinearLR(o, end_factor=1.5),
    lambda m, o: m.OneCycleLR(o, max_lr=0.1),
    lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=0),
    lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5),
    lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="cosine"),
    lambda m, o: m.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=10),
    lambda m, o: m.ReduceLROnPlateau(o, factor=1.0),
    lambda m, o: m.ReduceLROnPlateau(o, mode="lowest"),
    lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="relative"),
    lambda m, o: m.LambdaLR(o, lr_lambda=[lambda e: 1.0, lambda e: 1.0]),
])
def test_bad_scheduler_arguments_raise_value_errors_as_torchs(build):
    with pytest.raises(ValueError):
        build(torch.optim.lr_scheduler, torch.optim.SGD([TP], lr=0.1))
    with pytest.raises(ValueError):
        build(lr_scheduler, optim.SGD([P], lr=0.1))


def test_a_scheduler_needs_an_optimizer_and_one_cycle_its_total_steps():
    with pytest.raises(TypeError, match="StepLR: list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=2)
    opt = optim.SGD([P], lr=0.1)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=2)
    sched.step(), sched.step()
    with pytest.raises(ValueError, match="tried to step 3 times"):
        sched.step()
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optim.SGD([P], lr=0.1), step_size=2, last_epoch=3)
