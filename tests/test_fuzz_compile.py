"""tg.compile against the eager step, bit for bit, on random training steps whose inputs change between calls.

The rule a compiled step must keep: its results are the eager step's, bit for bit, or it refuses to
replay and runs eagerly, with a RuntimeWarning naming the cause. It must never silently give other
numbers. So every test here runs a step under tg.compile on one copy of a model and plainly on another
copy (same seeds, same state), call after call, and compares the losses and every parameter bit for bit
after each call. That holds in both the replay and the fallback case; where a step must be captured
(index arrays and integer labels passed as arguments, the library's own noise drawn through the model,
softmax/log_softmax/cross_entropy) the tests also check that it was captured and replayed, and where it
must fall back (a user's own numpy random draw inside the step) that it said so.

Calls: 1 runs eagerly (warm-up), 2 and 3 capture, 4 and on replay (tinygrad_ae/capture/step.py).
"""
import sys
import threading
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_ae as tg
import tinygrad_ae.functional as F
from tinygrad_ae import Tensor, optim

CALLS = 8
PROFILE_EXAMPLES = settings.default.max_examples     # ci 60, thorough 1000: a share of it per test
FUZZ_SETTINGS = dict(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def examples(share):
    return max(5, int(PROFILE_EXAMPLES * share))


def bits(x):
    """The exact bits of a loss or parameter (np.array_equal would call -0.0 and 0.0 equal, nan unequal)."""
    array = np.asarray(x.data if isinstance(x, Tensor) else x)
    return array.dtype.str, array.shape, array.tobytes()


def assert_same_bits(got, expected, what):
    assert bits(got) == bits(expected), f"{what}: compiled {np.asarray(getattr(got, 'data', got))!r}, " \
                                        f"eager {np.asarray(getattr(expected, 'data', expected))!r}"


def compile_warnings(caught):
    return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)
            and str(w.message).startswith("tg.compile")]


# ----- the random steps ------------------------------------------------------------------------------

TERMS = ("gather", "nll", "cross_entropy", "softmax", "mse", "denoising")
OPTIMIZERS = {
    "sgd": lambda ps, lr: optim.SGD(ps, lr=lr),
    "momentum": lambda ps, lr: optim.SGD(ps, lr=lr, momentum=0.9),
    "nesterov": lambda ps, lr: optim.SGD(ps, lr=lr, momentum=0.5, nesterov=True, weight_decay=0.01),
    "adam": lambda ps, lr: optim.Adam(ps, lr=lr),
}
LEARNING_RATES = [0.01, 0.05, 0.1, 0.3]


class Spec:
    """One random training step and its CALLS inputs (shown by hypothesis when a case fails)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        shown = {k: v for k, v in self.__dict__.items() if k not in ("xs",)}
        return "Spec(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


@st.composite
def specs(draw):
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    rows, features = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    classes = draw(st.integers(2, features))
    table = draw(st.integers(2, 5))                           # rows of the gathered table W
    terms = draw(st.lists(st.sampled_from(TERMS), min_size=1, max_size=3, unique=True))
    user_noise = draw(st.sampled_from([None, None, "normal", "mask"]))
    idx_shape = draw(st.sampled_from([(1,), (2,), (4,), (2, 2)]))
    idxs = draw(st.lists(hnp.arrays(np.int64, idx_shape, elements=st.integers(-table, table - 1)),
                         min_size=CALLS, max_size=CALLS))
    labels = draw(st.lists(hnp.arrays(np.int64, (rows,), elements=st.integers(0, classes - 1)),
                           min_size=CALLS, max_size=CALLS))
    seed = draw(st.integers(0, 2**16))
    data = np.random.default_rng(seed)
    xs = [data.random((rows, features)).astype(dtype) for _ in range(CALLS)]
    return Spec(dtype=np.dtype(dtype).name, rows=rows, features=features, classes=classes, table=table,
                terms=terms, user_noise=user_noise, optimizer=draw(st.sampled_from(sorted(OPTIMIZERS))),
                lrs=draw(st.lists(st.sampled_from(LEARNING_RATES), min_size=CALLS, max_size=CALLS)),
                noise_level=draw(st.sampled_from([0.1, 0.3, 0.5])), hidden=draw(st.integers(1, 3)),
                x_as_tensor=draw(st.booleans()), seed=seed, idxs=idxs, labels=labels, xs=xs)


class Setup:
    """A model, its optimizer and the step function over them; built twice from one Spec."""

    def __init__(self, spec):
        dtype = np.dtype(spec.dtype)
        init = np.random.default_rng(spec.seed + 1)
        self.W = Tensor(init.standard_normal((spec.table, spec.features)).astype(dtype), requires_grad=True)
        self.V = Tensor(init.standard_normal((spec.features, spec.classes)).astype(dtype), requires_grad=True)
        self.b = Tensor(np.zeros(spec.classes, dtype), requires_grad=True)
        self.params = [self.W, self.V, self.b]
        self.ae = None
        if "denoising" in spec.terms:
            self.ae = tg.Autoencoder(spec.features, spec.hidden, noise="mask", noise_level=spec.noise_level,
                                     seed=spec.seed, dtype=dtype)
            self.params += self.ae.parameters()
        self.opt = OPTIMIZERS[spec.optimizer](self.params, spec.lrs[0])
        self.step = make_step(self, spec)


def make_step(setup, spec):
    W, V, b, ae, opt = setup.W, setup.V, setup.b, setup.ae, setup.opt
    dtype = np.dtype(spec.dtype)
    terms = tuple(spec.terms) + (("noisy_input",) if spec.user_noise else ())
    user_noise, classes = spec.user_noise, spec.classes
    rows = np.arange(spec.rows)                       # made once: the same array object in every call
    user_rng = np.random.default_rng(spec.seed + 2)   # the user's own generator, drawn inside the step

    def step(x, idx, labels):
        opt.zero_grad()
        x_in = x
        if user_noise == "normal":
            x_in = x + Tensor(user_rng.normal(0.0, 0.1, x.shape).astype(dtype))
        elif user_noise == "mask":
            x_in = x * (user_rng.random(x.shape) >= 0.5).astype(dtype)
        z = x_in @ V + b
        loss = None
        for term in terms:
            if term == "gather":
                value = (W[idx].tanh() * x_in[0]).sum()
            elif term == "nll":
                value = -F.log_softmax(z, axis=-1)[rows, labels].mean()
            elif term == "cross_entropy":
                value = F.cross_entropy(z, labels)
            elif term == "softmax":
                value = -F.softmax(z, axis=-1)[rows, labels].log().mean()
            elif term == "mse":
                value = F.mse_loss(z, x_in[:, :classes])
            elif term == "denoising":
                value = ae.loss(x)                     # the model's own mask noise, from ae.generator
            else:                                      # "noisy_input": the user's noise always counts
                value = (z * z).mean()
            loss = value if loss is None else loss + value
        loss.backward()
        opt.step()
        return loss

    return step


def run_against_eager(spec):
    """Run the spec's step CALLS times compiled and eagerly; compare after every call. Returns the
    compiled step and the tg.compile warnings it gave."""
    compiled_setup, eager_setup = Setup(spec), Setup(spec)
    step = tg.compile(compiled_setup.step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for call in range(CALLS):
            lr = spec.lrs[call]
            if lr != compiled_setup.opt.lr:
                compiled_setup.opt.lr = eager_setup.opt.lr = lr
            x = spec.xs[call]
            args = [lambda: Tensor(x.copy()) if spec.x_as_tensor else x.copy(),
                    lambda: spec.idxs[call].copy(), lambda: spec.labels[call].copy()]
            got = step(*(make() for make in args))
            expected = eager_setup.step(*(make() for make in args))
            assert_same_bits(got, expected, f"loss of call {call + 1}")
            for i, (p, q) in enumerate(zip(compiled_setup.params, eager_setup.params)):
                assert_same_bits(p, q, f"parameter {i} {p.shape} after call {call + 1}")
            if compiled_setup.ae is not None:           # the noise stream went exactly as far
                assert compiled_setup.ae.generator.bit_generator.state == \
                    eager_setup.ae.generator.bit_generator.state, f"ae.generator after call {call + 1}"
            state, eager_state = (optim.flat.flatten(s.opt.state_dict()) for s in (compiled_setup, eager_setup))
            assert state.keys() == eager_state.keys()
            for key in state:
                assert_same_bits(state[key], eager_state[key], f"optimizer state {key} after call {call + 1}")
    return step, compile_warnings(caught)


@settings(max_examples=examples(1.0), **FUZZ_SETTINGS)
@given(specs())
def test_random_steps_compiled_equal_eager_bit_for_bit(spec):
    step, said = run_against_eager(spec)
    if spec.user_noise:
        # numbers the user drew from numpy's generator inside the step: a replay cannot redraw them
        assert any("random" in message for message in said), \
            f"a user's np.random draw inside the step did not make tg.compile fall back with a warning: {said}"
    else:
        # index arrays, integer labels and the library's own noise: all of it must be captured
        assert not said, f"tg.compile fell back: {said}"
        assert step.program is not None and step.captures == 2, (step.program, step.captures)


# ----- regression tests of known bugs ----------------------------------------------------------------

def test_gather_by_an_index_argument_follows_the_index_of_each_call():
    """(a) W[idx].sum() with SGD lr 1, idx [0], [0], [0], [2]: the replay must use [2], not the captured [0]."""
    results = []
    for compiled in (True, False):
        W = Tensor(np.zeros(3), requires_grad=True)
        opt = optim.SGD([W], lr=1.0)

        def step(idx):
            opt.zero_grad()
            loss = W[idx].sum()
            loss.backward()
            opt.step()
            return loss

        run = tg.compile(step) if compiled else step
        for idx in ([0], [0], [0], [2]):
            run(np.array(idx))
        results.append(W.data.copy())
    compiled_W, eager_W = results
    assert np.array_equal(eager_W, [-3.0, 0.0, -1.0])
    assert np.array_equal(compiled_W, eager_W), f"compiled W {compiled_W}, eager W {eager_W}"


def denoising_run(seed, compiled, steps=8):
    ae = tg.Autoencoder(3, 2, noise="mask", noise_level=0.1, seed=seed)
    opt = optim.SGD(ae.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = ae.loss(x)
        loss.backward()
        opt.step()
        return loss

    run = tg.compile(step) if compiled else step
    data = np.random.default_rng(1000 + seed)
    losses = [run(Tensor(data.random((2, 3)))) for _ in range(steps)]
    return run, losses, ae


@pytest.mark.parametrize("seed", range(10))
def test_denoising_step_through_ae_loss_equals_eager(seed):
    """(b) The model's mask noise (noise_level 0.1 on 2x3 batches: two captures often draw the same mask)
    must not be frozen by a replay: eight steps give eager's losses and weights, bit for bit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # a fallback is allowed here: only numbers count
        _, compiled_losses, compiled_ae = denoising_run(seed, True)
    _, eager_losses, eager_ae = denoising_run(seed, False)
    for i, (got, expected) in enumerate(zip(compiled_losses, eager_losses)):
        assert_same_bits(got, expected, f"seed {seed}: loss of step {i + 1}")
    for (name, p), q in zip(compiled_ae.named_parameters(), eager_ae.parameters()):
        assert_same_bits(p, q, f"seed {seed}: {name}")


def test_denoising_step_through_ae_loss_is_captured_and_replayed():
    """The library's own noise (drawn from ae.generator inside ae.loss) is part of the program: the step
    is captured and replayed, with no fallback (its numbers are test_denoising_step_through_ae_loss_equals_eager's)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        step, losses, _ = denoising_run(3, True)
    assert not compile_warnings(caught)
    assert step.program is not None and step.captures == 2


LABEL_STEPS = {
    "cross_entropy": lambda z, rows, labels: F.cross_entropy(z, labels),
    "softmax": lambda z, rows, labels: -F.softmax(z, axis=-1)[rows, labels].log().mean(),
    "log_softmax": lambda z, rows, labels: -F.log_softmax(z, axis=-1)[rows, labels].mean(),
}


@pytest.mark.parametrize("kind", sorted(LABEL_STEPS))
def test_a_classifier_step_with_labels_as_an_argument_is_captured(kind):
    """(c) F.cross_entropy / F.softmax / F.log_softmax with integer labels passed to the step: captured
    (no fallback warning), replayed, and bit for bit the eager step with each call's labels."""
    data = np.random.default_rng(7)
    batches = [(data.random((5, 4)), data.integers(0, 3, 5)) for _ in range(CALLS)]
    runs = []
    for compiled in (True, False):
        layer = tg.nn.Linear(4, 3, rng=np.random.default_rng(0), dtype=np.float64)
        opt = optim.SGD(layer.parameters(), lr=0.5)
        rows = np.arange(5)
        loss_of = LABEL_STEPS[kind]

        def step(x, labels):
            opt.zero_grad()
            loss = loss_of(layer(x), rows, labels)
            loss.backward()
            opt.step()
            return loss

        run = tg.compile(step) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            losses = [run(Tensor(x), labels.copy()) for x, labels in batches]
        runs.append((run, losses, [p.data.copy() for p in layer.parameters()], compile_warnings(caught)))
    (step, got, got_params, said), (_, expected, expected_params, _) = runs
    for i, (a, b) in enumerate(zip(got, expected)):
        assert_same_bits(a, b, f"loss of call {i + 1}")
    for i, (a, b) in enumerate(zip(got_params, expected_params)):
        assert_same_bits(a, b, f"parameter {i}")
    assert not said, f"tg.compile fell back: {said}"
    assert step.program is not None and step.captures == 2


def test_a_users_draw_that_happens_to_repeat_in_both_captures_is_not_frozen():
    """A user's np.random draw inside the step whose two captures happen to give equal values (a
    one-element mask) must not become a constant of the program: the step falls back, with a warning."""
    def masks(seed):
        rng = np.random.default_rng(seed)
        return [bool(rng.random((1,))[0] >= 0.5) for _ in range(CALLS)]
    # a seed whose calls 2 and 3 (the captures) draw the same mask and a later call draws the other one
    seed = next(s for s in range(1000) if masks(s)[1] == masks(s)[2] and len(set(masks(s)[3:])) == 2)
    runs = []
    for compiled in (True, False):
        w = Tensor(np.array([1.0]), requires_grad=True)
        opt = optim.SGD([w], lr=0.1)
        rng = np.random.default_rng(seed)

        def step(x):
            opt.zero_grad()
            loss = ((x * w) * (rng.random((1,)) >= 0.5).astype(np.float64)).sum() + (w * w).sum()
            loss.backward()
            opt.step()
            return loss

        run = tg.compile(step) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            losses = [run(Tensor(np.array([float(i + 1)]))) for i in range(CALLS)]
        runs.append((losses, w.data.copy(), compile_warnings(caught)))
    (got, got_w, said), (expected, expected_w, _) = runs
    for i, (a, b) in enumerate(zip(got, expected)):
        assert_same_bits(a, b, f"loss of call {i + 1}")
    assert_same_bits(got_w, expected_w, "w")
    assert any("random" in message for message in said), said


# ----- two threads -----------------------------------------------------------------------------------

THREAD_BLOCKS = 15          # batch shapes, each for four steps: eager, capture, capture, replay


def thread_training(seed, barrier=None):
    """One model trained under tg.compile (the library's compiled step, Adam, the learning rate lowered
    halfway) on batches of a new shape every four steps: each shape's program is captured anew, so a
    thread captures again and again. With a barrier, every step starts together with the other thread's.
    Returns the bits of every loss and of the final weights, and how often the step was captured."""
    ae = tg.Autoencoder(6, 3, seed=seed)
    opt = optim.Adam(ae.parameters(), lr=0.01)
    step = ae.training_step(opt)
    data = np.random.default_rng(100 + seed)
    batches = [data.random((1 + block, 6)).astype(np.float32) for block in range(THREAD_BLOCKS) for _ in range(4)]
    losses = []
    for i, x in enumerate(batches):
        if i == len(batches) // 2:
            opt.lr = 0.003
        if barrier is not None:
            barrier.wait()
        losses.append(bits(step(Tensor(x))))
    return losses, [bits(p) for p in ae.parameters()], step.captures


def test_two_threads_training_under_compile_at_once_equal_the_same_trainings_one_after_another():
    """(d) Two threads, each training its own model under tg.compile, in lockstep (a barrier before every
    step, a tiny switch interval so that their captures and replays interleave): each ends with the
    losses and weights its training has when run alone, captured as often and with the same warnings
    (one thread's capture must neither corrupt nor refuse the other's)."""
    with warnings.catch_warnings(record=True) as caught:     # (entered once, here: it is not thread-safe)
        warnings.simplefilter("always")
        alone = [thread_training(seed) for seed in (1, 2)]
    alone_said = sorted(compile_warnings(caught))
    barrier = threading.Barrier(2, timeout=60)
    results, errors = [None, None], []

    def work(k, seed):
        try:
            results[k] = thread_training(seed, barrier)
        except BaseException as error:              # noqa: BLE001 (reported below, with the other thread's)
            errors.append((seed, repr(error)))
            barrier.abort()

    interval = sys.getswitchinterval()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sys.setswitchinterval(1e-6)
        try:
            threads = [threading.Thread(target=work, args=(k, seed)) for k, seed in enumerate((1, 2))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
        finally:
            sys.setswitchinterval(interval)
    together_said = sorted(compile_warnings(caught))
    assert not any(t.is_alive() for t in threads), "a training thread hung"
    assert not errors, errors
    for seed, together, (losses, params, captures) in zip((1, 2), results, alone):
        for i, (a, b) in enumerate(zip(together[0], losses)):
            assert a == b, f"model {seed}: loss of step {i + 1} differs from the training run alone"
        assert together[1] == params, f"model {seed}: final weights differ from the training run alone"
        assert together[2] == captures, f"model {seed}: captured {together[2]} times, alone {captures}"
    extra = [m for m in together_said if m not in alone_said]
    assert together_said == alone_said, \
        f"{len(together_said)} tg.compile warnings in threads, {len(alone_said)} alone; new ones: {extra[:3]}"
