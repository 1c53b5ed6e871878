"""tg.compile: a captured and replayed training step gives bit for bit the eager step's results, and a
replay allocates no array memory. (Its surprises are in test_compile_footguns.py.)"""
import itertools
import warnings
import tracemalloc

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor, optim
from tinygrad_ae.capture.emit import MISS
from tinygrad_ae.capture.plan import interpret
from tinygrad_ae.capture.calls import Buffer

STEPS = 50
COMBOS = [(enc, dec, tied, loss) for enc in ("sigmoid", "tanh", "relu", "linear")
          for dec, loss in (("linear", "mse"), ("tanh", "mse"), ("sigmoid", "mse"), ("sigmoid", "bce"))
          for tied in (False, True)]
OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.05),
    "momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
    "nesterov": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "decay+dampening": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.5, dampening=0.25, weight_decay=0.01),
    "adam": lambda ps: optim.Adam(ps, lr=1e-2),
    "adam+decay": lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=0.01),
}


def batches(n_inputs, dtype, count=3, rows=8, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random((rows, n_inputs)).astype(dtype) for _ in range(count)]


def make(enc, dec, tied, loss, dtype, opt_name, n_inputs=12, n_hidden=5):
    ae = tg.Autoencoder(n_inputs, n_hidden, encoder=enc, decoder=dec, tied=tied, loss=loss, dtype=dtype, seed=3)
    return ae, OPTIMIZERS[opt_name](ae.parameters())


def train_step(ae, opt):
    """The library's eager step (zero_grad, loss, backward, step), for tg.compile to wrap here."""
    return ae.training_step(opt, compile=False)


def assert_same_state(a, b):
    ae_a, opt_a = a
    ae_b, opt_b = b
    for (name, p), q in zip(ae_a.named_parameters(), ae_b.parameters()):
        assert np.array_equal(p.data, q.data), name
        assert (p.grad is None) == (q.grad is None) and (p.grad is None or np.array_equal(p.grad, q.grad)), name
    state_a, state_b = optim.flat.flatten(opt_a.state_dict()), optim.flat.flatten(opt_b.state_dict())
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert np.array_equal(state_a[key], state_b[key]), key


def run_both(enc, dec, tied, loss, dtype, opt_name, steps=STEPS, as_tensor=True):
    eager = make(enc, dec, tied, loss, dtype, opt_name)
    compiled = make(enc, dec, tied, loss, dtype, opt_name)
    eager_step = train_step(*eager)
    step = tg.compile(train_step(*compiled))
    data = batches(12, dtype)
    for i in range(steps):
        x = data[i % len(data)]
        expected = eager_step(Tensor(x))
        got = step(Tensor(x) if as_tensor else x)
        assert got.dtype == expected.dtype and np.array_equal(got.data, expected.data), (i, got, expected)
    assert_same_state(eager, compiled)
    return step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("enc,dec,tied,loss", COMBOS)
def test_every_autoencoder_bit_exact_sgd_and_adam(enc, dec, tied, loss, dtype):
    for opt_name in ("sgd", "adam"):
        step = run_both(enc, dec, tied, loss, dtype, opt_name)
        assert step.program is not None and step.captures == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("enc,dec,tied,loss", [("sigmoid", "linear", False, "mse"), ("tanh", "sigmoid", True, "bce")])
def test_every_optimizer_bit_exact(enc, dec, tied, loss, dtype, opt_name):
    run_both(enc, dec, tied, loss, dtype, opt_name)


def test_ndarray_arguments_work_like_tensors():
    run_both("sigmoid", "sigmoid", False, "bce", np.float32, "adam", steps=12, as_tensor=False)


def test_program_lists_every_call_and_a_summary():
    step = run_both("sigmoid", "linear", False, "mse", np.float32, "sgd", steps=4)
    text = str(step.program)
    assert "dot(" in text and "vdot(" in text and "float32" in text
    summary = text.splitlines()[-1]
    assert "numpy calls" in summary and "planned" in summary and "eager step allocates" in summary
    assert step.program.planned_bytes < step.program.eager_bytes
    calls = [line for line in text.splitlines() if line[:6].strip().isdigit()]
    assert len(calls) == len(step.program.calls)


def test_buffers_are_reused_in_place_and_shared():
    step = run_both("sigmoid", "sigmoid", False, "bce", np.float64, "sgd", steps=4)
    program = step.program
    assert any(call.inplace for call in program.calls)
    assert program.n_slots < len(program.arrays)


# numpy itself takes a scratch buffer of at most 8192 elements per operand for a broadcasting ufunc
# (the bias adds); the hand-written numpy step pays the same. Array memory of the step's size: none.
NUMPY_SCRATCH = 3 * 8192 * 8


@pytest.mark.parametrize("opt_name", ["momentum", "adam"])
def test_replay_allocates_no_array_memory(opt_name):
    ae, opt = make("sigmoid", "linear", False, "mse", np.float64, opt_name, n_inputs=256, n_hidden=64)
    step = tg.compile(train_step(ae, opt))
    x = Tensor(batches(256, np.float64, count=1, rows=128)[0])
    for _ in range(4):
        step(x)
    assert step.program.eager_bytes > 1_000_000
    tracemalloc.start()
    try:
        step(x)
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(10):
            step(x)
        current, peak = tracemalloc.get_traced_memory()
        eager_step = train_step(ae, opt)
        eager_step(x)
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        eager_step(x)
        eager_peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert peak - before < NUMPY_SCRATCH, (peak - before, step.program.eager_bytes)
    assert current - before < 1_000                 # the returned loss is a fresh 0-d copy, dropped
    assert eager_peak > 5 * (peak - before)


def test_decorator_and_method_use():
    ae, opt = make("sigmoid", "linear", False, "mse", np.float32, "sgd")

    class Trainer:
        def __init__(self):
            self.ae, self.opt = ae, opt

        @tg.compile
        def step(self, x):
            self.opt.zero_grad()
            loss = self.ae._loss(x)
            loss.backward()
            self.opt.step()
            return loss

    eager = make("sigmoid", "linear", False, "mse", np.float32, "sgd")
    eager_step = train_step(*eager)
    trainer = Trainer()
    for x in itertools.islice(itertools.cycle(batches(12, np.float32)), 10):
        assert np.array_equal(trainer.step(Tensor(x)).data, eager_step(Tensor(x)).data)
    assert trainer.step.program is not None


def test_returns_structures_of_tensors_and_arrays():
    ae, opt = make("sigmoid", "linear", False, "mse", np.float32, "sgd")

    @tg.compile
    def step(x):
        opt.zero_grad()
        h = ae.encode(x)
        loss = F_mse(ae.decode(h), x)
        loss.backward()
        opt.step()
        return {"loss": loss, "h": h.data, "n": 3}

    eager_ae, eager_opt = make("sigmoid", "linear", False, "mse", np.float32, "sgd")
    for x in batches(12, np.float32, count=6):
        out = step(Tensor(x))
        eager_opt.zero_grad()
        h = eager_ae.encode(Tensor(x))
        loss = F_mse(eager_ae.decode(h), Tensor(x))
        loss.backward()
        eager_opt.step()
        assert out["n"] == 3 and np.array_equal(out["h"], h.data) and np.array_equal(out["loss"].data, loss.data)


def F_mse(pred, target):
    return tg.functional.mse_loss(pred, target, reduction="batchmean")


# ----- what a program means: plan.interpret, the reference the generated replay must equal ---------------

def model_step(ae, opt):
    """The step with the model's own loss (its noise drawn inside the step, as the race's step does)."""
    def step(x):
        opt.zero_grad()
        loss = ae.loss(x)
        loss.backward()
        opt.step()
        return loss
    return step


LIBRARY_STEPS = {   # name: (make model, optimizer, step, dtype)
    **{f"sigmoid-linear {o}": (lambda: tg.Autoencoder(12, 5, seed=3), o, train_step, np.float32) for o in OPTIMIZERS},
    "tanh-sigmoid tied bce float64 adam+decay": (
        lambda: tg.Autoencoder(12, 5, encoder="tanh", decoder="sigmoid", tied=True, loss="bce", dtype=np.float64,
                               seed=3), "adam+decay", train_step, np.float64),
    "deep relu, weight decay": (lambda: tg.Autoencoder(12, (8, 4), encoder="relu", weight_decay=1e-3, seed=3),
                                "momentum", train_step, np.float32),
    "sparse": (lambda: tg.Autoencoder(12, 5, sparsity=0.05, sparsity_weight=3.0, seed=3), "nesterov", train_step,
               np.float32),
    "contractive": (lambda: tg.Autoencoder(12, 5, contractive=0.1, seed=3), "adam", train_step, np.float32),
    "denoising, noise drawn in the step": (lambda: tg.Autoencoder(12, 5, noise="mask", noise_level=0.2, seed=3),
                                           "sgd", model_step, np.float32),
}


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", list(LIBRARY_STEPS))
def test_the_replay_equals_interpret_bit_for_bit(name):
    """interpret(program, *arrays) runs the recorded calls one by one on plain arrays, every buffer its
    own memory: what a program means. The generated replay (repeated calls dropped, memory shared, in
    place, numbers as 0-d arrays or local scalars) must give the same bits. Two equal models: one
    replays its program, the other's program is interpreted, step after step."""
    make_model, opt_name, make_step, dtype = LIBRARY_STEPS[name]
    runs = []
    for _ in range(2):
        ae = make_model()
        opt = OPTIMIZERS[opt_name](ae.parameters())
        runs.append((ae, opt, tg.compile(make_step(ae, opt))))
    (ae_a, opt_a, step_a), (ae_b, opt_b, step_b) = runs
    data = batches(12, dtype, count=3)
    for x in data:                                  # eager, then the two captures
        assert same_bits(step_a(Tensor(x)).data, step_b(Tensor(x)).data)
    for i in range(8):
        x = data[i % 3]
        replayed, (interpreted,) = step_a(Tensor(x)), interpret(step_b.program, x)
        assert same_bits(replayed.data, interpreted), i
        for (key, p), q in zip(ae_a.named_parameters(), ae_b.parameters()):
            assert same_bits(p.data, q.data) and same_bits(p.grad, q.grad), (i, key)
        state_a, state_b = optim.flat.flatten(opt_a.state_dict()), optim.flat.flatten(opt_b.state_dict())
        assert all(same_bits(state_a[key], state_b[key]) for key in state_a), i
    assert step_a.captures == 2
    if ae_a.generator is not None:
        assert ae_a.generator.bit_generator.state == ae_b.generator.bit_generator.state
    p = next(iter(ae_b.parameters()))
    p.data = p.data.copy()                          # a bound array moved: MISS, as a replay would say
    assert interpret(step_b.program, data[0]) is MISS


# ----- Autoencoder.fit and the train job use a compiled step by default ----------------------------------

def digits_split():
    from tinygrad_ae.data import load_digits, train_val_split
    return train_val_split(load_digits()[0], 0.2, 0)


@pytest.mark.parametrize("optimizer,decoder", [("adam", "linear"), ("sgd", "sigmoid")])
def test_fit_compiled_and_eager_agree_bit_for_bit(optimizer, decoder):
    X_train, X_val = digits_split()
    X_train, X_val = X_train[:500] / 16, X_val / 16        # 500 rows: 7 batches of 64 and one of 52
    runs = []
    for compiled in (True, False):
        model = tg.Autoencoder(64, 8, decoder=decoder, seed=0)
        history = model.fit(X_train, epochs=5, batch_size=64, lr=0.01, optimizer=optimizer, seed=0,
                            X_val=X_val, compile=compiled)
        runs.append((model.state_dict(), history))
    (a, history_a), (b, history_b) = runs
    assert history_a["train"] == history_b["train"] and history_a["val"] == history_b["val"]
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def test_fit_stops_a_diverging_run_at_the_same_step_compiled_or_not():
    X_train, _ = digits_split()
    errors = []
    for compiled in (True, False):
        model = tg.Autoencoder(64, 8, seed=0)
        with pytest.raises(tg.TrainingDiverged) as caught:
            model.fit(X_train, epochs=20, batch_size=64, lr=50.0, optimizer="sgd", seed=0, compile=compiled)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]


def test_fit_interrupted_mid_epoch_leaves_the_same_model_compiled_or_not():
    X_train, _ = digits_split()
    states = []
    for compiled in (True, False):
        model = tg.Autoencoder(64, 8, seed=0)

        def interrupt(epoch, batch, loss):
            if epoch == 2 and batch == 7:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            model.fit(X_train, epochs=4, batch_size=64, seed=0, on_step=interrupt, compile=compiled)
        states.append(model.state_dict())
    for key in states[0]:
        assert np.array_equal(states[0][key], states[1][key]), key


def test_train_job_no_compile_gives_the_same_weights(tmp_path, capsys):
    from tinygrad_ae import cli
    from tinygrad_ae.training import job as training
    options = ["--hidden", "4", "--batch-size", "100", "--epochs", "3", "--lr", "0.003"]
    assert cli.parse_train_args(options)["compile"] is None
    assert cli.parse_train_args(options + ["--no-compile"])["compile"] is False
    for name, extra in (("compiled", []), ("eager", ["--no-compile"])):
        assert training.run_job(cli.parse_train_args(options + ["--out", str(tmp_path / name)] + extra)) == 0
    a, b = tg.load(tmp_path / "compiled" / "model.npz"), tg.load(tmp_path / "eager" / "model.npz")
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def test_a_step_with_cat_where_and_indexing_compiles_bit_for_bit():
    def body(ae, opt, x):
        opt.zero_grad()
        h = ae.encode(x)
        both = tg.cat([h, h * 2.0], axis=1)
        penalty = (tg.where(both.data > 0.5, both, both * 0.5) ** 2).sum() + h[:, 1].sum()
        loss = ae._loss(x) + penalty * 0.01
        loss.backward()
        opt.step()
        return loss

    eager = make("sigmoid", "linear", False, "mse", np.float64, "adam")
    compiled = make("sigmoid", "linear", False, "mse", np.float64, "adam")
    step = tg.compile(lambda x: body(*compiled, x))
    for x in batches(12, np.float64, count=10):
        assert np.array_equal(step(Tensor(x)).data, body(*eager, Tensor(x)).data)
    assert_same_state(eager, compiled)
    assert step.program is not None and "concatenate" in str(step.program)


# ----- what keeps a replay cheap, each shown not to change a result ------------------------------------

def test_a_learning_rate_assigned_or_loaded_after_capture_is_read_by_the_replay():
    """opt.lr = ... and load_state_dict write the optimizer's 0-d numbers in place: the program reads
    them there, so both take effect without a new capture (and the program runs no Python of its own)."""
    ae, opt = make("sigmoid", "linear", False, "mse", np.float32, "sgd")
    ref_ae, ref_opt = make("sigmoid", "linear", False, "mse", np.float32, "sgd")
    step, eager_step = tg.compile(train_step(ae, opt)), train_step(ref_ae, ref_opt)
    data = batches(12, np.float32, count=4)
    for i in range(12):
        if i == 6:
            opt.lr = ref_opt.lr = 0.01
        if i == 9:                              # a checkpoint's hyperparameters take effect too
            state = opt.state_dict()
            state["param_groups"][0]["lr"] = 0.2
            opt.load_state_dict(state), ref_opt.load_state_dict(state)
        x = data[i % 4]
        assert np.array_equal(step(Tensor(x)).data, eager_step(Tensor(x)).data)
    assert step.captures == 2 and opt.param_groups[0].numbers[np.dtype(np.float32)].lr == np.float32(0.2)
    assert_same_state((ae, opt), (ref_ae, ref_opt))


def test_replay_sets_the_steps_error_state_and_restores_the_callers():
    ae, opt = make("sigmoid", "linear", False, "mse", np.float32, "sgd")
    ref_ae, ref_opt = make("sigmoid", "linear", False, "mse", np.float32, "sgd")
    for model in (ae, ref_ae):
        model.encoder.bias.data[:] = -200       # exp(200) overflows float32: the sigmoid ignores that
    step, eager_step = tg.compile(train_step(ae, opt)), train_step(ref_ae, ref_opt)
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise"):
            for x in batches(12, np.float32, count=6):
                assert np.array_equal(step(Tensor(x)).data, eager_step(Tensor(x)).data)
            assert np.geterr()["over"] == "raise"
    assert np.geterr() == before and step.program is not None
    assert_same_state((ae, opt), (ref_ae, ref_opt))


def test_in_place_calls_write_into_their_input_object_and_the_residual_is_computed_once():
    step = run_both("sigmoid", "linear", False, "mse", np.float32, "sgd", steps=4)
    program = step.program
    inplace = [call for call in program.calls if call.inplace]
    assert inplace and all(any(program.arrays.get(a) is program.arrays[call.out] for a in call.args)
                           for call in inplace)
    ones = [a for call in program.calls for a in call.args     # (the bias gradients' ones vector is not a seed)
            if isinstance(a, Buffer) and a.kind == "const" and a.array.ndim == 0 and np.all(a.array == 1)]
    assert not ones         # backward's seed (ones) meets only numbers, folded before the program sees them
    # backward reads forward's residual x_hat - x: one subtraction of x in the whole step
    assert [call.fn for call in program.calls if any(isinstance(a, Buffer) and a.kind == "arg" for a in call.args)
            ].count(np.subtract) == 1


def test_a_repeated_elementwise_call_on_unchanged_inputs_is_dropped():
    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    W_eager = Tensor(W.data.copy(), requires_grad=True)

    def make_step(W):
        def step(x):
            W.grad = None
            loss = ((x - W) * (x - W)).sum()        # x - W twice, on the same arrays
            loss.backward()
            return loss
        return step

    step, eager = tg.compile(make_step(W)), make_step(W_eager)
    for _ in range(3):
        x = rng.standard_normal((4, 3))
        assert np.array_equal(step(Tensor(x)).data, eager(Tensor(x)).data)
        assert np.array_equal(W.grad, W_eager.grad)
    # forward's second x - W, and backward's grad * (x - W) made twice (then negated twice), are dropped
    assert step.program.dropped == 3
    assert [call.fn for call in step.program.calls].count(np.subtract) == 1


def test_numbers_held_in_local_variables_come_back_as_fresh_arrays():
    ae, opt = make("sigmoid", "sigmoid", False, "bce", np.float64, "momentum")
    ref_ae, ref_opt = make("sigmoid", "sigmoid", False, "bce", np.float64, "momentum")

    def body(model, optimizer, x):
        optimizer.zero_grad()
        loss = model.loss(x)
        loss.backward()
        optimizer.step()
        return loss, loss.data

    step = tg.compile(lambda x: body(ae, opt, x))
    kept = []
    for x in batches(12, np.float64, count=6):
        loss, value = step(Tensor(x))
        ref_loss, ref_value = body(ref_ae, ref_opt, Tensor(x))
        assert type(value) is np.ndarray and value.shape == () and np.array_equal(value, ref_value)
        assert np.array_equal(loss.data, ref_loss.data)
        kept.append(value)
    assert step.program is not None and step.program.scalars
    assert len({float(v) for v in kept}) == len(kept)
