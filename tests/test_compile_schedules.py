"""A captured training step follows what a scheduler, or the user through param_groups, changes
between calls: learning rates, momentum and Adam's beta1 (OneCycleLR), options loaded from a state
dict; every replay bit for bit the eager trajectory, without a new capture. What a replay could not
see (a group added, replaced or removed, a group's params replaced, a bool option such as nesterov
switched) makes it capture again, so it is
never replayed stale."""
import warnings

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor, nn, optim
from tinygrad_ae.optim import lr_scheduler

CALLS = 14


def net(seed=0):
    return nn.Sequential(nn.Linear(6, 5, dtype=np.float64, rng=seed), nn.Tanh(), nn.Linear(5, 3, dtype=np.float64, rng=seed + 1))


DATA = [(x, np.tanh(x[:, :3])) for x in np.random.default_rng(7).normal(size=(4, 8, 6))]


def make_step(model, opt):
    def step(x, y):
        opt.zero_grad()
        model.zero_grad()       # (also the parameters an optimizer does not hold yet)
        diff = model(x) - y
        loss = (diff * diff).mean()
        loss.backward()
        opt.step()
        return loss
    return step


def setup(make_opt, make_sched, groups=True):
    model = net()
    params = [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.02}] if groups \
        else model.parameters()
    opt = make_opt(params)
    return model, opt, (make_sched(opt) if make_sched else None)


def assert_same(a, b, what):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert p.data.tobytes() == q.data.tobytes(), f"{what}: {name}"


def run_pair(make_opt, make_sched, between=None, calls=CALLS, groups=True):
    """The same training twice, one step tg.compile'd; between(i, opt, sched) after each call."""
    runs = []
    for compiled in (True, False):
        model, opt, sched = setup(make_opt, make_sched, groups)
        start = [g["lr"] for g in opt.param_groups]
        step = tg.compile(make_step(model, opt)) if compiled else make_step(model, opt)
        losses = []
        for i in range(calls):
            x, y = DATA[i % len(DATA)]
            losses.append(step(Tensor(x), Tensor(y)).data.tobytes())
            if sched is not None:
                sched.step(float(np.frombuffer(losses[-1])[0])) if isinstance(sched, lr_scheduler.ReduceLROnPlateau) \
                    else sched.step()
            if between is not None:
                between(i, model, opt, sched)
        runs.append((model, opt, step, losses))
    (model, opt, step, losses), (ref_model, ref_opt, _, ref_losses) = runs
    assert losses == ref_losses
    assert_same(model, ref_model, "parameters")
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in ref_opt.param_groups]
    return step, opt, start


SCHEDULES = {
    "StepLR": (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    "MultiStepLR": (lambda ps: optim.Adam(ps, lr=0.05), lambda o: lr_scheduler.MultiStepLR(o, [2, 5, 9], gamma=0.3)),
    "ExponentialLR": (lambda ps: optim.RMSprop(ps, lr=0.01), lambda o: lr_scheduler.ExponentialLR(o, gamma=0.8)),
    "CosineAnnealingLR": (lambda ps: optim.AdamW(ps, lr=0.05), lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=5)),
    "LinearLR": (lambda ps: optim.Adagrad(ps, lr=0.1), lambda o: lr_scheduler.LinearLR(o, 0.2, total_iters=8)),
    "LambdaLR": (lambda ps: optim.SGD(ps, lr=0.1), lambda o: lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + e))),
    "OneCycleLR+Adam(beta1)": (lambda ps: optim.Adam(ps), lambda o: lr_scheduler.OneCycleLR(o, 0.1, total_steps=CALLS)),
    "OneCycleLR+SGD(momentum)": (lambda ps: optim.SGD(ps, momentum=0.9, nesterov=True),
                                 lambda o: lr_scheduler.OneCycleLR(o, [0.1, 0.2], total_steps=CALLS, three_phase=True)),
    "ReduceLROnPlateau": (lambda ps: optim.SGD(ps, lr=0.3, momentum=0.5),
                          lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=0, threshold=0.5)),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_a_scheduler_stepping_between_calls_is_followed_by_the_replay(name):
    make_opt, make_sched = SCHEDULES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)      # no "runs eagerly", no recapture warning
        step, opt, start = run_pair(make_opt, make_sched)
    assert step.captures == 2 and step.program is not None   # replayed throughout, never captured again
    assert all(g["lr"] != lr for g, lr in zip(opt.param_groups, start))   # the schedule moved every group


def test_the_user_setting_group_options_between_calls_is_followed():
    def between(i, model, opt, sched):
        opt.param_groups[i % 2]["lr"] *= 0.7
        opt.param_groups[1]["betas"] = (0.9 - 0.02 * i, 0.99)
        if i == 8:
            saved = opt.state_dict()
            saved["param_groups"][0]["eps"] = 1e-3
            opt.load_state_dict(saved)          # options loaded in place; the state arrays are new: recapture

    step, opt, _ = run_pair(lambda ps: optim.Adam(ps, lr=0.05), None, between)
    assert step.captures == 4 and opt.param_groups[0]["eps"] == 1e-3


@pytest.mark.parametrize("change", ["add_param_group", "replace group", "replace params", "delete group",
                                    "assign param_groups", "switch maximize", "switch nesterov"])
def test_a_change_the_replay_cannot_see_makes_it_capture_again(change):
    def between(i, model, opt, sched):
        if i != 5:
            return
        head = list(model[2].parameters())
        if change == "add_param_group":
            opt.add_param_group({"params": head, "lr": 0.05})
        elif change == "replace group":
            opt.param_groups[0] = {"params": opt.param_groups[0]["params"], "lr": 0.5}
        elif change == "replace params":
            opt.param_groups[0]["params"] = opt.param_groups[0]["params"] + head
        elif change == "delete group":
            del opt.param_groups[0]
        elif change == "switch maximize":       # a bool picks the rule's branch: not a guard, a renewal
            opt.param_groups[1]["maximize"] = True
        elif change == "switch nesterov":
            opt.param_groups[0]["nesterov"] = True
        else:
            opt.param_groups = [{"params": list(model.parameters()), "lr": 0.01, "momentum": 0.0}]

    groups = change not in ("add_param_group", "replace params")

    def first(ps):      # two groups, or the first layer only at first
        return optim.SGD(ps if groups else list(ps)[:2], lr=0.1, momentum=0.9)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        step, opt, _ = run_pair(first, None, between, groups=groups)
    assert step.captures > 2                                # captured again after the change: never stale
    assert all("replaced" in str(w.message) or "runs eagerly" in str(w.message) or "captured" in str(w.message)
               for w in caught)
