"""tg.compile(backend="fused"): numba kernels between the BLAS calls (tinygrad_ae/capture/fused).

Not bit for bit: every compiled test case (tests/test_compile.py's models and optimizers, the library
steps, random steps of test_fuzz_compile.py, a conv autoencoder, the VAE, MADE, the new optimizers)
runs fused and eagerly from the same start for 50 steps, the loss and every parameter within TOLERANCE
of the eager ones, relative to the largest magnitude (measured: ~6e-7 in float32, ~1e-15 in float64).
The float32 exp/log/log1p polynomials are held to numpy's within a few ulps on a dense sweep. Skipped
without numba (pip install ".[fast]").
"""
import os
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("numba", reason="the fused backend needs numba: pip install '.[fast]'")

import tinygrad_ae as tg                                          # noqa: E402
import tinygrad_ae.functional as F                                # noqa: E402
from tinygrad_ae import Tensor, nn, optim                         # noqa: E402
from tinygrad_ae.capture import fused                             # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from test_compile import COMBOS, LIBRARY_STEPS, OPTIMIZERS, batches, make, train_step   # noqa: E402

STEPS = 50
TOLERANCE = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-12}


def assert_close(got, expected, what):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape and got.dtype == expected.dtype, what
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-30)
    worst = float(np.max(np.abs(got.astype(np.float64) - expected))) / scale if expected.size else 0.0
    assert worst <= TOLERANCE[expected.dtype], f"{what}: fused differs from eager by {worst:.2e} (relative)"


def run_against_eager(make_run, data, steps=STEPS):
    """make_run() -> (step function, parameters, optimizer); one copy eager, one fused; compare the loss
    and the parameters after every step. Returns the compiled step."""
    eager_step, eager_params, eager_opt = make_run()
    step, params, opt = make_run()
    step = tg.compile(step, backend="fused")
    for i in range(steps):
        xs = data[i % len(data)]
        xs = xs if type(xs) is tuple else (xs,)
        expected, got = eager_step(*map(Tensor, xs)), step(*map(Tensor, xs))
        assert_close(got.data, expected.data, f"loss of step {i}")
        for k, (p, q) in enumerate(zip(params, eager_params)):
            assert_close(p.data, q.data, f"parameter {k} after step {i}")
    if eager_opt is not None:
        state, eager_state = (optim.flat.flatten(o.state_dict()) for o in (opt, eager_opt))
        for key in eager_state:
            if np.asarray(eager_state[key]).dtype.kind == "f":
                assert_close(state[key], eager_state[key], f"optimizer state {key}")
    assert step.program is not None and step.program.fused is not None and step.captures == 2
    return step


def autoencoder_run(enc, dec, tied, loss, dtype, opt_name):
    def make_run():
        ae, opt = make(enc, dec, tied, loss, dtype, opt_name)
        return train_step(ae, opt), list(ae.parameters()), opt
    return make_run


# ----- the float32 exp and log of the kernels ------------------------------------------------------------

def ulps(a, b):
    """Distance in units in the last place between float32 arrays (equal nans: 0)."""
    ia, ib = (x.astype(np.float32).view(np.int32).astype(np.int64) for x in (a, b))
    ia, ib = (np.where(i < 0, -(i & 0x7FFFFFFF), i) for i in (ia, ib))
    d = np.abs(ia - ib)
    d[np.isnan(a) & np.isnan(b)] = 0
    return d


def test_float32_exp_log_log1p_agree_with_numpy_within_a_few_ulps():
    from numba import njit
    from tinygrad_ae.capture.fused.mathf import exp32, log1p32, log32

    @njit(fastmath={"reassoc", "contract"})        # the kernels' flags
    def apply(x, out, which):
        for i in range(x.shape[0]):
            out[i] = exp32(x[i]) if which == 0 else log32(x[i]) if which == 1 else log1p32(x[i])

    rng = np.random.default_rng(0)
    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, 1e-45, 1e-38, 3e38]
    sweeps = {0: np.concatenate([rng.uniform(-110, 90, 200_000), rng.uniform(-1, 1, 50_000), specials,
                                 [88.72, 88.73, -87.3, -103.9, -104.0]]),
              1: np.concatenate([rng.integers(0, 0x7F800000, 200_000).astype(np.int32).view(np.float32),
                                 specials, [-1.0, -1e-30]]),
              2: np.concatenate([rng.uniform(-0.999, 3, 100_000), 10.0 ** rng.uniform(-30, 30, 100_000),
                                 specials, [-1.0, -2.0]])}
    bounds = {0: (np.exp, 2), 1: (np.log, 4), 2: (np.log1p, 4)}
    for which, x in sweeps.items():
        x = x.astype(np.float32)
        out = np.empty_like(x)
        apply(x, out, which)
        reference, allowed = bounds[which]
        with np.errstate(all="ignore"):
            expected = reference(x)
        d = ulps(out, expected)
        assert d.max() <= allowed, (reference.__name__, x[d.argmax()], out[d.argmax()], expected[d.argmax()])
        assert np.array_equal(np.isnan(out), np.isnan(expected)), reference.__name__


# ----- every compiled test case, fused against eager ---------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("enc,dec,tied,loss", COMBOS)
def test_every_autoencoder_fused_equals_eager_sgd_and_adam(enc, dec, tied, loss, dtype):
    data = batches(12, dtype)
    for opt_name in ("sgd", "adam"):
        run_against_eager(autoencoder_run(enc, dec, tied, loss, dtype, opt_name), data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("enc,dec,tied,loss", [("sigmoid", "linear", False, "mse"), ("tanh", "sigmoid", True, "bce")])
def test_every_optimizer_fused_equals_eager(enc, dec, tied, loss, dtype, opt_name):
    run_against_eager(autoencoder_run(enc, dec, tied, loss, dtype, opt_name), batches(12, dtype))


@pytest.mark.parametrize("name", list(LIBRARY_STEPS))
def test_the_library_steps_fused_equal_eager(name):
    make_model, opt_name, make_step, dtype = LIBRARY_STEPS[name]

    def make_run():
        ae = make_model()
        opt = OPTIMIZERS[opt_name](ae.parameters())
        return make_step(ae, opt), list(ae.parameters()), opt
    step = run_against_eager(make_run, batches(12, dtype))
    if "noise" in name:             # the noise draw stays a numpy call; the program says so
        assert "numpy:" in str(step.program)


NEW_OPTIMIZERS = {
    "adamw": lambda ps: optim.AdamW(ps, lr=1e-2, weight_decay=0.05),
    "adam amsgrad": lambda ps: optim.Adam(ps, lr=1e-2, amsgrad=True),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True),
    "adagrad": lambda ps: optim.Adagrad(ps, lr=5e-2, weight_decay=0.01),
}


@pytest.mark.parametrize("opt_name", list(NEW_OPTIMIZERS))
def test_the_other_optimizers_fused_equal_eager(opt_name):
    def make_run():
        ae = tg.Autoencoder(12, 5, seed=3)
        opt = NEW_OPTIMIZERS[opt_name](ae.parameters())
        return train_step(ae, opt), list(ae.parameters()), opt
    run_against_eager(make_run, batches(12, np.float32))


def module_run(build, loss_of, seed=3):
    def make_run():
        tg.manual_seed(seed)
        model = build()
        opt = optim.Adam(model.parameters(), lr=1e-2)

        def step(x):
            opt.zero_grad()
            loss = loss_of(model, x)
            loss.backward()
            opt.step()
            return loss
        return step, list(model.parameters()), opt
    return make_run


def test_a_conv_autoencoder_step_fused_equals_eager():
    def build():
        return nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(),
                             nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())
    rng = np.random.default_rng(0)
    data = [rng.random((4, 1, 8, 8)).astype(np.float32) for _ in range(3)]
    run_against_eager(module_run(build, lambda m, x: F.mse_loss(m(x), x)), data, steps=20)


def test_the_vae_and_made_steps_fused_equal_eager():
    rng = np.random.default_rng(0)
    data = [(rng.random((8, 12)) > 0.5).astype(np.float32) for _ in range(3)]

    def made_run():
        made = tg.MADE(12, (16,), seed=0)
        opt = optim.Adam(made.parameters(), lr=1e-2)
        return made.training_step(opt, compile=False), list(made.parameters()), opt
    run_against_eager(made_run, data)

    def vae_run():
        vae = tg.VAE(12, 10, 3, seed=0)
        opt = optim.Adam(vae.parameters(), lr=1e-2)
        return vae.training_step(opt, compile=False), list(vae.parameters()), opt
    eps = [rng.standard_normal((8, 3)).astype(np.float32) for _ in range(3)]
    run_against_eager(vae_run, list(zip(data, eps)))


def test_random_steps_of_the_fuzz_suite_fused_equal_eager():
    """A few of test_fuzz_compile's random steps (index arrays, labels, softmax, cross-entropy, the
    model's own noise), fused against eager; the gathers and draws stay numpy calls."""
    from hypothesis import HealthCheck, given, settings
    from test_fuzz_compile import CALLS, Setup, specs

    @settings(max_examples=4, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(specs())
    def check(spec):
        if spec.user_noise:
            return
        compiled, eager = Setup(spec), Setup(spec)
        step = tg.compile(compiled.step, backend="fused")
        for call in range(CALLS):
            compiled.opt.lr = eager.opt.lr = spec.lrs[call]
            args = [spec.xs[call], spec.idxs[call], spec.labels[call]]
            got, expected = step(*[a.copy() for a in args]), eager.step(*[a.copy() for a in args])
            assert_close(got.data, expected.data, f"loss of call {call}")
            for p, q in zip(compiled.params, eager.params):
                assert_close(p.data, q.data, f"parameter after call {call}")
    check()


# ----- what it shows and says ----------------------------------------------------------------------------

def test_the_program_shows_the_kernels_source_and_what_stayed_numpy():
    ae, opt = make("sigmoid", "sigmoid", False, "bce", np.float32, "sgd")
    step = tg.compile(train_step(ae, opt), backend="fused")
    for x in batches(12, np.float32, count=4):
        step(Tensor(x))
    text = str(step.program)
    assert "# fused backend:" in text and "@njit" in text and "def kernel(addrs" in text
    assert "exp32(" in text                                 # the polynomials, not numba's scalar calls
    # the cross-entropy's log1p(exp(-|a|)) has its argument in [0, 1]: the division-free polynomial
    assert "log1p_unit32(" in text and "log1p32(" not in text.replace("log1p_unit32(", "")
    assert "gemm_float32_" in text and "dot(" not in step.program.source   # products: numpy's cblas gemm
    assert "kernel0(addrs_kernel0" in step.program.source
    kernels = step.program.fused
    assert kernels.registers, "no temp was fused into a register"
    # nothing stayed numpy here, so the whole step (products and loops in order) is one kernel: one dispatch
    assert all(seg[0] == "kernel" for seg in kernels.segments)
    assert len(kernels.kernel_sources) == 1 and "kernel1" not in step.program.source
    assert kernels.kernel_sources[0].count("gemm_float32_") == 5   # 2 forward products, 3 backward


def test_the_loss_scalars_do_not_split_the_decoders_pass():
    """The cross-entropy's forward, its sum, the backward's sigmoid, the seed's scale and the bias's
    gradient all run over the decoder's output: one loop nest, though the loss's scalar arithmetic sits
    between them in program order (fuse._place), and the step still equals the eager one."""
    ae, opt = make("sigmoid", "sigmoid", False, "bce", np.float32, "sgd")
    eager_ae, eager_opt = make("sigmoid", "sigmoid", False, "bce", np.float32, "sgd")
    step, eager = tg.compile(train_step(ae, opt), backend="fused"), train_step(eager_ae, eager_opt)
    for x in batches(12, np.float32, count=6):
        got, expected = step(Tensor(x)), eager(Tensor(x))
        np.testing.assert_allclose(got.data, expected.data, rtol=2e-5)
    for p, q in zip(ae.parameters(), eager_ae.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=2e-5, atol=1e-6)
    nests = [nest for seg in step.program.fused.segments if seg[0] == "kernel" for nest in seg[1]]
    names = [{op.call.name for op in nest.ops} for nest in nests]
    decoder = [n for n in names if "log1p" in n]
    assert len(decoder) == 1 and {"exp", "log1p", "maximum", "divide", "vdot"} <= decoder[0], names


def test_backend_choices_and_errors(monkeypatch):
    with pytest.raises(ValueError, match="backend must be 'auto', 'fused' or 'numpy'"):
        tg.compile(lambda x: x, backend="jit")
    assert tg.compile(lambda x: x, backend="numpy").backend == "numpy"
    assert tg.compile(lambda x: x, backend="auto").backend == "fused"
    monkeypatch.setenv("TINYGRAD_AE_COMPILE_BACKEND", "fused")
    assert tg.compile(lambda x: x).backend == "fused"
    monkeypatch.setattr(fused, "available", lambda: "numba is not installed (test)")
    monkeypatch.setattr(fused, "_NOTED", set())
    with pytest.raises(ImportError, match="numba is not installed"):
        tg.compile(lambda x: x, backend="fused")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert tg.compile(lambda x: x, backend="auto").backend == "numpy"
        assert tg.compile(lambda x: x, backend="auto").backend == "numpy"
    said = [str(w.message) for w in caught if "fused backend is not installed" in str(w.message)]
    assert len(said) == 1, said                             # said once


def test_a_fallback_is_said_once_and_named(monkeypatch):
    monkeypatch.setattr(fused, "_NOTED", set())
    ae = tg.Autoencoder(12, 5, noise="mask", noise_level=0.2, seed=3)
    opt = optim.SGD(ae.parameters(), lr=0.05)

    def step(x):
        opt.zero_grad()
        loss = ae.loss(x)
        loss.backward()
        opt.step()
        return loss
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = tg.compile(step, backend="fused")
        for x in batches(12, np.float32, count=5):
            compiled(Tensor(x))
    notes = [str(w.message) for w in caught if "run as numpy calls" in str(w.message)]
    assert len(notes) == 1 and "random" in notes[0], notes
    assert "#   numpy: random" in str(compiled.program)


def test_kernels_compile_into_a_fresh_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_AE_KERNEL_CACHE", str(tmp_path))
    ae = tg.Autoencoder(7, 3, seed=1)                      # shapes no other test uses: new kernels
    opt = optim.SGD(ae.parameters(), lr=0.1)
    step = tg.compile(train_step(ae, opt), backend="fused")
    for x in batches(7, np.float32, count=4, rows=3):
        step(Tensor(x))
    written = sorted(p.name for p in tmp_path.iterdir())
    assert any(name.startswith("kernels_") and name.endswith(".py") for name in written), written
    assert (tmp_path / "__pycache__").is_dir()            # numba's cache of their machine code


def test_fit_on_the_fused_backend_follows_the_eager_fit(monkeypatch):
    """Autoencoder.fit compiles its step with the default backend: set to "fused", its history and
    weights follow the eager fit's (the last, smaller batch is a second program)."""
    X = tg.data.load_digits()[0][:200]
    runs = {}
    for compile_ in (False, True):
        monkeypatch.setenv("TINYGRAD_AE_COMPILE_BACKEND", "fused")
        ae = tg.Autoencoder(64, 16, seed=0)
        runs[compile_] = ae, ae.fit(X, epochs=3, batch_size=64, seed=1, compile=compile_)
    (eager, h_eager), (fused_ae, h_fused) = runs[False], runs[True]
    assert np.allclose(h_fused["train"], h_eager["train"], rtol=1e-5, atol=0)
    for p, q in zip(fused_ae.parameters(), eager.parameters()):
        assert_close(p.data, q.data, "a parameter after fit")


def test_the_cross_entropys_log1p_takes_the_unit_polynomial_and_stays_exact_at_the_extremes():
    """The cross-entropy's log1p(exp(-|a|)) has its argument proven in [0, 1], so the kernel calls
    log1p_unit32; at logits of every magnitude (0, tiny, huge, infinite, NaN) the fused loss equals the
    eager one to 2 ulp, NaN where eager gives NaN. A log1p whose argument is not known to be in [0, 1]
    (log1p(exp(a))) keeps log1p32."""
    values = np.array([0.0, -0.0, 1e-30, -1e-8, 0.5, -1.0, 3.0, -17.0, 88.0, -104.0, 1e30, -1e30, np.inf,
                       -np.inf, np.nan] + list(np.linspace(-30, 30, 41)), np.float32)
    zero = Tensor(np.zeros(1, np.float32))
    loss = lambda t: F.binary_cross_entropy_with_logits(t, zero, reduction="sum")     # noqa: E731
    unit = tg.compile(loss, backend="fused")
    other = tg.compile(lambda t: t.exp().log1p() * 1.0, backend="fused")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for v in values:
            a = Tensor(np.array([v], np.float32))
            got, expected = [unit(a).item() for _ in range(3)][-1], loss(a).item()
            assert np.isnan(got) == np.isnan(expected), (v, got, expected)
            if not np.isnan(expected):
                assert abs(got - expected) <= 2 * np.spacing(np.float32(max(abs(expected), 1e-38))), (v, got, expected)
        a = np.linspace(-30, 30, 64, dtype=np.float32)
        got_other = [other(Tensor(a)).data for _ in range(3)][-1]
    assert "log1p_unit32(" in unit.program.fused.module_source
    source = other.program.fused.module_source
    assert "log1p_unit32(" not in source and "log1p32(" in source
    np.testing.assert_allclose(got_other, np.log1p(np.exp(a)), rtol=1e-6)


def test_an_optimizers_scratch_is_kept_in_registers_its_state_is_stored():
    """SGD's scratch (lr g, a Workspace: meaningless between steps) is written and read in the update's
    nest only, so the fused kernel never stores it; momentum's buffer is state and is stored; the
    parameters still follow the eager ones over 50 steps."""
    for momentum in (0.0, 0.9):
        def make_run(momentum=momentum):
            ae = tg.Autoencoder(12, 5, encoder="sigmoid", decoder="linear", dtype=np.float64, seed=1)
            opt = optim.SGD(ae.parameters(), lr=0.05, momentum=momentum)
            return train_step(ae, opt), list(ae.parameters()), opt
        run_against_eager(make_run, batches(12, np.float64, count=STEPS))
        step, params, opt = make_run()
        compiled = tg.compile(step, backend="fused")
        for x in batches(12, np.float64, count=4):
            compiled(Tensor(x))
        program = compiled.program
        scratch = {id(work["scratch"]) for group in opt.param_groups for _, work in group.work}
        scratch_buffers = [b for b in program.recorder.buffers if b.kind == "state" and id(b.array) in scratch]
        assert len(scratch_buffers) == len(params) and all(b.workspace for b in scratch_buffers)
        kept = program.fused.registers
        assert all(b in kept for b in scratch_buffers), "an optimizer's scratch was stored"
        states = [b for b in program.recorder.buffers if b.kind == "state" and not b.workspace]
        assert not any(b in kept for b in states), "a state array (parameter, momentum) was not stored"
        if momentum:
            assert any(b.label == "momentum_buffer" for b in states), [b.label for b in states]


def test_a_workspace_read_before_it_is_written_is_stored():
    """A Workspace array whose step reads it before writing it (the previous step's value) is not kept in
    a register: the fused step matches the eager one, which carries the value over."""
    from tinygrad_ae.capture.calls import Workspace

    class Carry:
        def __init__(self):
            self.work = Workspace(acc=np.zeros(8))

    def make_run():
        holder, w = Carry(), Tensor(np.linspace(-1, 1, 8), requires_grad=True)

        def step(x):
            acc = holder.work["acc"]
            loss = (w * x).sum() * 1.0
            previous = acc + 1.0                        # reads last step's value first, in the same loop
            np.multiply(x.data, 3.0, out=acc)           # as the one write of acc
            w.data -= 0.1 * previous * acc
            return loss
        return step, [w], holder
    eager_step, (eager_w,), eager_holder = make_run()
    fused_step, (fused_w,), fused_holder = make_run()
    compiled = tg.compile(fused_step, backend="fused")
    for k in range(6):
        x = np.full(8, 0.5 + 0.1 * k)
        eager_step(Tensor(x))
        compiled(Tensor(x))
    assert compiled.program is not None and compiled.program.fused.kernel_sources     # replayed, fused
    np.testing.assert_allclose(fused_holder.work["acc"], eager_holder.work["acc"], rtol=1e-12)
    np.testing.assert_allclose(fused_w.data, eager_w.data, rtol=1e-12)
