"""What a captured step cannot see, one test per surprise (as tinygrad's test_jit_footguns.py): each
shows exactly what happens. Calls: 1 eager (warm-up), 2 and 3 capture (and must agree), 4+ replay."""
import warnings

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import CaptureError, Tensor, optim

X = [np.random.default_rng(i).random((8, 12)).astype(np.float32) for i in range(4)]


def model(opt="sgd", **kw):
    ae = tg.Autoencoder(12, 5, seed=1)
    return ae, (optim.SGD(ae.parameters(), lr=0.1, **kw) if opt == "sgd" else optim.Adam(ae.parameters(), lr=0.01))


def eager_step(ae, opt, x):
    opt.zero_grad()
    loss = ae._loss(Tensor(x))
    loss.backward()
    opt.step()
    return loss


def compiled(ae, opt):
    return tg.compile(ae.training_step(opt, compile=False))


def same_params(a, b):
    return all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))


def test_item_inside_the_step_raises_at_capture():
    ae, opt = model()

    @tg.compile
    def step(x):
        opt.zero_grad()
        loss = ae._loss(Tensor(x))
        print(loss.item())                       # would be frozen: refused
        loss.backward()
        opt.step()

    step(X[0])                                   # eager
    with pytest.raises(CaptureError, match=r"\.item\(\)"):
        step(X[0])


def test_float_of_an_intermediate_raises_at_capture():
    ae, opt = model()

    @tg.compile
    def step(x):
        h = ae.encode(Tensor(x))
        return float(h.data.sum())

    step(X[0])
    with pytest.raises(CaptureError, match="float"):
        step(X[0])


def test_numpy_of_an_intermediate_is_a_traced_array_and_reading_a_number_from_it_raises():
    ae, opt = model()
    seen = []

    @tg.compile
    def step(x):
        h = ae.encode(Tensor(x)).numpy()
        seen.append(type(h).__name__)
        return int(h[0, 0] > 0.5)

    step(X[0])
    with pytest.raises(CaptureError, match="int"):
        step(X[0])
    assert seen == ["ndarray", "Traced"]


def test_if_on_data_before_the_update_is_a_guard_the_other_branch_runs_eagerly():
    ae, opt = model()
    ref_ae, ref_opt = model()

    def body(a, o, x):
        o.zero_grad()
        loss = a._loss(x if isinstance(x, Tensor) else Tensor(x))
        if (x.data if isinstance(x, Tensor) else x).max() > 0.5:      # value-dependent control flow
            loss = loss * 2.0
        loss.backward()
        o.step()
        return loss

    step = tg.compile(lambda x: body(ae, opt, x))
    batches = [X[0], X[1], X[2], X[3], X[0] * 0.5, X[1], X[0] * 0.5]   # max <= 0.5: the other branch
    # the other branch makes one numpy call fewer: that step runs eagerly, and the step says so once
    with pytest.warns(RuntimeWarning, match="runs eagerly: its two captures made different numbers"):
        for x in batches:
            assert np.array_equal(step(x).data, body(ref_ae, ref_opt, x).data)
    assert same_params(ae, ref_ae)
    assert any(call.how == "guard" for call in step.program.calls)


def test_if_on_data_after_the_update_raises():
    ae, opt = model()

    @tg.compile
    def step(x):
        loss = eager_step(ae, opt, x)
        if ae.encoder.weight.data.max() > 100:   # after opt.step(): a replay could not undo the update
            print("large weights")
        return loss

    step(X[0])
    with pytest.raises(CaptureError, match="after the step has already written"):
        step(X[0])


def test_an_if_on_an_array_the_step_does_not_compute_is_checked_first_even_after_the_update():
    """bool() of a 0-d array the step reads but never writes (a setting, as the optimizers keep theirs)
    is a check at the start of the program, wherever the step tests it: after the update too. Flipping
    it takes the other branch: the step is captured again and replays that one."""
    def make():
        ae, opt = model()
        return ae, opt, {"halve": np.array(False)}

    def body(a, o, settings, x):
        loss = eager_step(a, o, x)
        if settings["halve"]:                    # after opt.step() wrote the parameters
            a.encoder.bias.data *= 0.5
        return loss

    (ae, opt, settings), (ref_ae, ref_opt, ref_settings) = make(), make()
    step = tg.compile(lambda x: body(ae, opt, settings, x))
    for i in range(10):
        if i == 5:
            settings["halve"][()] = ref_settings["halve"][()] = True      # in place: the same array
        assert np.array_equal(step(Tensor(X[i % 4])).data, body(ref_ae, ref_opt, ref_settings, X[i % 4]).data)
    assert same_params(ae, ref_ae) and step.captures == 4
    calls = step.program.calls                   # the checks come first: the optimizer's settings, then this one
    checks = [call for call in calls if call.how == "guard"]
    assert calls[:len(checks)] == checks and checks[-1].kwargs["expected"] is True


def test_python_values_that_do_not_change_between_the_two_captures_are_frozen():
    """A Python number the step reads is a constant of the program: changing it later has no effect."""
    ae, opt = model()
    settings = {"scale": 1.0}

    @tg.compile
    def step(x):
        opt.zero_grad()
        loss = ae._loss(x) * settings["scale"]
        loss.backward()
        opt.step()
        return loss

    for x in X:
        step(Tensor(x))
    settings["scale"] = 0.0                      # frozen at capture: the replay still multiplies by 1.0
    assert step(Tensor(X[0])).item() > 0
    assert step.program is not None


def test_python_values_that_change_between_captures_keep_the_step_eager():
    ae, opt = model()
    ref_ae, ref_opt = model()
    counter = [0]

    def body(a, o, x, c):
        o.zero_grad()
        loss = a._loss(Tensor(x)) * (1.0 + 0.1 * c)
        loss.backward()
        o.step()
        return loss

    @tg.compile
    def step(x):
        counter[0] += 1
        return body(ae, opt, x, counter[0])

    with pytest.warns(RuntimeWarning, match="runs eagerly"):
        for i in range(6):
            assert np.array_equal(step(X[i % 4]).data, body(ref_ae, ref_opt, X[i % 4], i + 1).data)
    assert step.program is None and same_params(ae, ref_ae)


def test_random_numbers_drawn_inside_the_step_are_fresh_every_call():
    """The two captures see different noise, so the step stays eager (with a warning): every call draws."""
    ae, opt = model()
    ref_ae, ref_opt = model()
    rng, ref_rng = np.random.default_rng(0), np.random.default_rng(0)

    def body(a, o, x, r):
        o.zero_grad()
        noisy = Tensor(x + r.normal(0, 0.1, x.shape).astype(np.float32))      # a denoising autoencoder
        loss = tg.functional.mse_loss(a.forward(noisy), Tensor(x), reduction="batchmean")
        loss.backward()
        o.step()
        return loss

    step = tg.compile(lambda x: body(ae, opt, x, rng))
    with pytest.warns(RuntimeWarning, match="random numbers"):
        for i in range(8):
            assert np.array_equal(step(X[i % 4]).data, body(ref_ae, ref_opt, X[i % 4], ref_rng).data)
    assert same_params(ae, ref_ae)


def test_noise_passed_in_as_an_argument_compiles():
    ae, opt = model()
    ref_ae, ref_opt = model()
    rng = np.random.default_rng(0)

    def body(a, o, x, noise):
        o.zero_grad()
        loss = tg.functional.mse_loss(a.forward(x + noise), x, reduction="batchmean")
        loss.backward()
        o.step()
        return loss

    step = tg.compile(lambda x, noise: body(ae, opt, x, noise))
    for i in range(8):
        noise = rng.normal(0, 0.1, X[0].shape).astype(np.float32)
        assert np.array_equal(step(Tensor(X[i % 4]), Tensor(noise)).data,
                              body(ref_ae, ref_opt, Tensor(X[i % 4]), Tensor(noise)).data)
    assert step.program is not None and same_params(ae, ref_ae)


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_learning_rate_changed_after_capture_takes_effect(opt_name):
    ae, opt = model(opt_name)
    ref_ae, ref_opt = model(opt_name)
    step = compiled(ae, opt)
    for i in range(12):
        if i == 6:
            opt.lr = ref_opt.lr = opt.lr / 10
        assert np.array_equal(step(Tensor(X[i % 4])).data, eager_step(ref_ae, ref_opt, X[i % 4]).data)
    assert same_params(ae, ref_ae) and step.captures == 2
    if opt_name == "adam":
        assert opt.state[opt.params[0]]["step"] == ref_opt.state[ref_opt.params[0]]["step"] == 12


def test_momentum_switched_on_after_capture_captures_again():
    ae, opt = model()
    ref_ae, ref_opt = model()
    step = compiled(ae, opt)
    # the first step with momentum makes its buffer (a copy), the next updates it: those two captures
    # differ, so that call runs eagerly and says so; the captures after it agree and replay
    with pytest.warns(RuntimeWarning, match="runs eagerly: its two captures made different numbers"):
        for i in range(12):
            if i == 6:
                opt.momentum = ref_opt.momentum = 0.9
            assert np.array_equal(step(Tensor(X[i % 4])).data, eager_step(ref_ae, ref_opt, X[i % 4]).data)
    assert same_params(ae, ref_ae) and step.captures == 4


def test_another_batch_shape_captures_a_second_program_and_many_shapes_warn_once():
    ae, opt = model()
    ref_ae, ref_opt = model()
    step = compiled(ae, opt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for rows in (8, 8, 8, 8, 3, 3, 3, 3, 8):          # the last, smaller batch of an epoch, and back
            x = X[0][:rows]
            assert np.array_equal(step(Tensor(x)).data, eager_step(ref_ae, ref_opt, x).data)
        assert step.captures == 4 and not caught
        for rows in (1, 1, 1, 2, 2, 2, 4, 4, 4):
            x = X[1][:rows]
            step(Tensor(x)), eager_step(ref_ae, ref_opt, x)
    assert same_params(ae, ref_ae)
    assert len([w for w in caught if "captured" in str(w.message)]) == 1


def test_the_returned_loss_is_a_detached_copy():
    ae, opt = model()
    step = compiled(ae, opt)
    losses = [step(Tensor(x)) for x in X + X]
    assert len({loss.item() for loss in losses}) == len(losses)   # kept losses are not overwritten
    assert not losses[-1].requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        losses[-1].backward()


def test_grad_after_a_replay_is_the_programs_buffer_overwritten_by_the_next_replay():
    ae, opt = model()
    step = compiled(ae, opt)
    for x in X:
        step(Tensor(x))
    kept = ae.encoder.weight.grad
    copy = kept.copy()
    step(Tensor(X[1]))
    assert ae.encoder.weight.grad is kept                 # the same array, with the new step's values
    assert not np.array_equal(kept, copy)                 # copy a gradient you want to keep


def test_replacing_a_parameters_array_captures_again():
    ae, opt = model()
    ref_ae, ref_opt = model()
    step = compiled(ae, opt)
    for i in range(8):
        if i == 5:
            ae.encoder.weight.data = ae.encoder.weight.data * 0.5      # a new array, not in place
            ref_ae.encoder.weight.data = ref_ae.encoder.weight.data * 0.5
        assert np.array_equal(step(Tensor(X[i % 4])).data, eager_step(ref_ae, ref_opt, X[i % 4]).data)
    assert same_params(ae, ref_ae) and step.captures == 4


def test_loading_a_checkpoint_into_the_model_and_optimizer_after_capture():
    ae, opt = model("adam")
    ref_ae, ref_opt = model("adam")
    step = compiled(ae, opt)
    for x in X:
        step(Tensor(x)), eager_step(ref_ae, ref_opt, x)
    saved, saved_opt = ref_ae.state_dict(), ref_opt.state_dict()
    for x in X:
        step(Tensor(x)), eager_step(ref_ae, ref_opt, x)
    ae.load_state_dict(saved), opt.load_state_dict(saved_opt)          # params in place, state replaced
    ref_ae.load_state_dict(saved), ref_opt.load_state_dict(saved_opt)
    for x in X + X:
        assert np.array_equal(step(Tensor(x)).data, eager_step(ref_ae, ref_opt, x).data)
    assert same_params(ae, ref_ae)


def test_an_array_kept_from_inside_the_step_is_not_updated_by_replays():
    ae, opt = model()
    kept = {}

    @tg.compile
    def step(x):
        opt.zero_grad()
        h = ae.encode(x)
        kept["h"] = h.data                       # the program does not know about this dict entry
        loss = tg.functional.mse_loss(ae.decode(h), x, reduction="batchmean")
        loss.backward()
        opt.step()
        return loss

    for x in X:
        step(Tensor(x))
    frozen = kept["h"]
    step(Tensor(X[0]))
    assert kept["h"] is frozen                   # a replay runs no Python: return what you need instead


def test_random_numbers_drawn_with_numpy_that_happen_to_be_equal_still_keep_the_step_eager():
    """A fresh array the capture did not see being made is never assumed constant, even when both
    captures drew the same values (a mask that keeps everything, here): the step stays eager."""
    ae, opt = model()
    ref_ae, ref_opt = model()
    rng, ref_rng = np.random.default_rng(0), np.random.default_rng(0)

    def body(a, o, x, r):
        o.zero_grad()
        keep = (r.random(x.shape) >= 0.0).astype(np.float32)        # all ones, but drawn each call
        loss = a._loss(Tensor(x * keep))
        loss.backward()
        o.step()
        return loss

    step = tg.compile(lambda x: body(ae, opt, x, rng))
    with pytest.warns(RuntimeWarning, match=r"runs eagerly: .*first read at .*test_compile_footguns\.py"):
        for i in range(6):
            assert np.array_equal(step(X[i % 4]).data, body(ref_ae, ref_opt, X[i % 4], ref_rng).data)
    assert step.program is None and same_params(ae, ref_ae)


def test_the_models_own_noise_inside_the_step_is_drawn_anew_by_every_replay():
    """ae.loss draws a denoising model's noise from ae.generator through tinygrad_ae.random.draw: the
    program records the draw, and each replay continues the generator's stream as eager steps do."""
    def make():
        ae = tg.Autoencoder(12, 5, noise="mask", noise_level=0.1, seed=3)
        return ae, optim.SGD(ae.parameters(), lr=0.1)
    (ae, opt), (ref_ae, ref_opt) = make(), make()

    def body(a, o, x):
        o.zero_grad()
        loss = a.loss(x)
        loss.backward()
        o.step()
        return loss

    step = tg.compile(lambda x: body(ae, opt, x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(8):
            assert np.array_equal(step(Tensor(X[i % 4])).data, body(ref_ae, ref_opt, Tensor(X[i % 4])).data)
    assert step.program is not None and "random" in step.program.source
    assert same_params(ae, ref_ae)
    assert ae.generator.bit_generator.state == ref_ae.generator.bit_generator.state


def test_a_generator_replaced_after_capture_is_followed():
    """Restoring a checkpoint puts a new Generator on the model: the replay checks where it draws from
    and captures again, so the noise continues from the restored state."""
    def make():
        ae = tg.Autoencoder(12, 5, noise="gaussian", noise_level=0.2, seed=4)
        return ae, optim.SGD(ae.parameters(), lr=0.1)
    (ae, opt), (ref_ae, ref_opt) = make(), make()

    def body(a, o, x):
        o.zero_grad()
        loss = a.loss(x)
        loss.backward()
        o.step()
        return loss

    step = tg.compile(lambda x: body(ae, opt, x))
    for i in range(5):
        step(Tensor(X[i % 4]))
        body(ref_ae, ref_opt, Tensor(X[i % 4]))
    assert step.program is not None
    ae.generator, ref_ae.generator = np.random.default_rng(99), np.random.default_rng(99)
    for i in range(5):
        assert np.array_equal(step(Tensor(X[i % 4])).data, body(ref_ae, ref_opt, Tensor(X[i % 4])).data)
    assert same_params(ae, ref_ae)


def test_dropout_from_a_new_generator_each_call_keeps_the_step_eager():
    """F.dropout(x, rng=np.random.default_rng()) draws from a new Generator every call: no replay could
    continue it."""
    ae, opt = model()

    @tg.compile
    def step(x):
        opt.zero_grad()
        mask_rng = np.random.default_rng()
        loss = tg.functional.mse_loss(ae.forward(tg.functional.dropout(x, 0.5, rng=mask_rng)), x, reduction="batchmean")
        loss.backward()
        opt.step()
        return loss

    with pytest.warns(RuntimeWarning, match="Generator that none of its objects holds"):
        for i in range(4):
            step(Tensor(X[i]))
    assert step.program is None


def test_dropout_from_the_default_generator_replays_its_stream():
    """F.dropout(x) without rng draws from the default generator (tg.manual_seed): a capture finds it
    there, and every replay draws anew from it, exactly as the eager step does after the same seed."""
    def body(a, o, x):
        o.zero_grad()
        loss = tg.functional.mse_loss(a.forward(tg.functional.dropout(x, 0.5)), x, reduction="batchmean")
        loss.backward()
        o.step()
        return loss

    (ae, opt), (ref_ae, ref_opt) = model(), model()
    step = tg.compile(lambda x: body(ae, opt, x))
    tg.manual_seed(7)
    losses = [step(Tensor(X[i % 4])).item() for i in range(6)]
    assert step.program is not None
    tg.manual_seed(7)
    assert losses == [body(ref_ae, ref_opt, Tensor(X[i % 4])).item() for i in range(6)]
    assert same_params(ae, ref_ae)


def test_an_array_argument_meeting_a_tensor_gives_the_tensors_op():
    """x @ W with x a plain array argument: under capture the array is traced, and the Tensor's op must
    still run (a graph node), as in the eager step."""
    W = Tensor(np.random.default_rng(0).standard_normal((12, 3)), requires_grad=True)
    ref = Tensor(W.data.copy(), requires_grad=True)
    opt, ref_opt = optim.SGD([W], lr=0.1), optim.SGD([ref], lr=0.1)

    def body(w, o, x):
        o.zero_grad()
        loss = ((x @ w) ** 2).sum()
        loss.backward()
        o.step()
        return loss

    step = tg.compile(lambda x: body(W, opt, x))
    for i in range(6):
        x = X[i % 4].astype(np.float64)
        assert np.array_equal(step(x).data, body(ref, ref_opt, x).data)
    assert step.program is not None and np.array_equal(W.data, ref.data)


def test_a_step_with_an_infinite_python_float_replays():
    """np.full_like(x, -np.inf) inside a step: the replay holds -inf as a constant (repr(-inf) is no literal)."""
    w = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)

    def step(x):
        floor = np.full_like(x.data, -np.inf)
        out = (tg.Tensor(np.maximum(x.data, floor)) * w).sum()
        return out

    compiled = tg.compile(step, backend="numpy")         # the numpy program's emitter writes the constant
    for k in range(4):
        x = tg.Tensor(np.full((2, 3), float(k)))
        np.testing.assert_array_equal(compiled(x).data, step(x).data)
