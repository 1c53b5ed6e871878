"""The Autoencoder against the lecture's closed forms (tinygrad_ae.reference), central differences, and its API.

Gradients in float64 to 1e-10 relative for every encoder x decoder x tied x loss combination, under- and
over-complete; then state dicts, shapes, dtypes, loss choice, error messages and the training loop.
"""
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import tinygrad_ae as tg
from tinygrad_ae import reference as ref
from tinygrad_ae.models import spec
from tinygrad_ae.training import loop
from helpers import close
from strategies import autoencoder_problems

# every loss an autoencoder accepts: None (the default pairing) everywhere, and squared error with a sigmoid decoder
COMBOS = [(enc, dec, tied, loss)
          for enc, dec, tied in itertools.product(spec.ENCODERS, spec.DECODERS, (False, True))
          for loss in ((None, "mse") if dec == "sigmoid" else (None,))]

# 32 combinations x 2 sizes: half the profile's examples each keeps the file fast and scales with the profile
FEW = settings(max_examples=max(5, settings.default.max_examples // 2))


def state(W, b, W_star, c, tied):
    d = {"encoder.weight": W, "encoder.bias": b, "decoder.bias": c}
    if not tied:
        d["decoder.weight"] = W_star
    return d


def build(X, W, b, W_star, c, encoder, decoder, tied, loss=None):
    """A float64 autoencoder carrying exactly these parameters (loaded through load_state_dict)."""
    k, n = W.shape
    ae = tg.Autoencoder(n, k, encoder=encoder, decoder=decoder, tied=tied, loss=loss, dtype=np.float64, seed=0)
    ae.load_state_dict(state(W, b, W_star, c, tied))
    return ae


def grads_of(ae):
    return {"W": ae.encoder.weight.grad, "b": ae.encoder.bias.grad,
            "W_star": None if ae.tied else ae.decoder.weight.grad, "c": ae.decoder.bias.grad}


# ---------------------------------------------------------------- loss and gradients vs the closed forms

@pytest.mark.parametrize("undercomplete", [True, False], ids=["under", "over"])
@pytest.mark.parametrize("encoder,decoder,tied,loss", COMBOS)
@FEW
@given(data=st.data())
def test_loss_and_gradients_equal_the_closed_forms(encoder, decoder, tied, loss, undercomplete, data):
    bce = decoder == "sigmoid" and loss is None
    X, W, b, W_star, c = data.draw(autoencoder_problems(unit_targets=bce, undercomplete=undercomplete))
    if encoder == "relu":   # relu has a kink at 0: keep every pre-activation clearly on one side
        assume(np.all(np.abs(X @ W.T + b) > 1e-6))
    ae = build(X, W, b, W_star if not tied else None, c, encoder, decoder, tied, loss)
    assert ae.is_undercomplete == undercomplete

    value = ae.loss(X)
    value.backward()
    expected_loss = ref.loss(X, W, b, None if tied else W_star, c, encoder, decoder, tied, loss)
    expected = ref.gradients(X, W, b, None if tied else W_star, c, encoder, decoder, tied, loss)
    assert close(value.item(), expected_loss), (value.item(), expected_loss)
    got = grads_of(ae)
    for name in ("W", "b", "c") + (() if tied else ("W_star",)):
        assert got[name] is not None, f"no gradient reached {name}"
        assert got[name].dtype == np.float64
        assert close(got[name], expected[name]), (name, got[name], expected[name])
    if tied:   # the tied decoder has no weight of its own: decoder.weight reads W.T
        assert "decoder.weight" not in dict(ae.named_parameters()) and expected["W_star"] is None


def test_default_loss_is_the_lectures_pairing():
    """loss=None: cross-entropy from the logits for a sigmoid decoder, squared error for linear and tanh."""
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (5, 4))
    W, b, W_star, c = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(4, 3)), rng.normal(size=4)
    for decoder in ("linear", "tanh", "sigmoid"):
        ae = build(X, W, b, W_star, c, "tanh", decoder, tied=False)
        a2 = np.tanh(X @ W.T + b) @ W_star.T + c
        x_hat = {"linear": a2, "tanh": np.tanh(a2), "sigmoid": 1 / (1 + np.exp(-a2))}[decoder]
        squared = np.sum((x_hat - X) ** 2) / len(X)
        if decoder == "sigmoid":
            cross_entropy = -np.sum(X * np.log(x_hat) + (1 - X) * np.log(1 - x_hat)) / len(X)
            assert not np.isclose(squared, cross_entropy)   # so the two choices are told apart
            assert np.isclose(ae.loss(X).item(), cross_entropy, rtol=1e-12, atol=0)
        else:
            assert np.isclose(ae.loss(X).item(), squared, rtol=1e-12, atol=0)
    # and asking for squared error with a sigmoid decoder gives squared error
    ae = build(X, W, b, W_star, c, "tanh", "sigmoid", tied=False, loss="mse")
    x_hat = 1 / (1 + np.exp(-(np.tanh(X @ W.T + b) @ W_star.T + c)))
    assert np.isclose(ae.loss(X).item(), np.sum((x_hat - X) ** 2) / len(X), rtol=1e-12, atol=0)


# ---------------------------------------------------------------- through the shipped gradcheck

@pytest.mark.parametrize("encoder,decoder,tied,loss", [
    ("sigmoid", "linear", False, None),
    ("tanh", "sigmoid", False, None),
    ("relu", "tanh", True, None),
    ("linear", "sigmoid", True, "mse"),
    ("sigmoid", "sigmoid", True, None),
])
@pytest.mark.parametrize("n,k", [(5, 3), (3, 4)], ids=["under", "over"])
def test_gradcheck_through_the_autoencoder(encoder, decoder, tied, loss, n, k):
    """Central differences on X and every parameter: the parameters are swapped for gradcheck's Tensors."""
    rng = np.random.default_rng(n * 10 + k)
    X = rng.uniform(0.1, 0.9, (4, n))   # inside [0, 1] even after gradcheck's +-eps, for cross-entropy
    W, b, c = rng.normal(size=(k, n)), rng.normal(size=k), rng.normal(size=n)
    W_star = rng.normal(size=(n, k))
    if encoder == "relu":
        assert np.all(np.abs(X @ W.T + b) > 1e-3), "pick another seed: a pre-activation sits on the kink"
    ae = tg.Autoencoder(n, k, encoder=encoder, decoder=decoder, tied=tied, loss=loss, dtype=np.float64, seed=0)

    def loss_of(x, w, bias, w_star, c_):
        ae.encoder.weight, ae.encoder.bias, ae.decoder.bias = w, bias, c_
        if not tied:
            ae.decoder.weight = w_star
        return ae.loss(x)

    assert tg.gradcheck(loss_of, X, W, b, W_star, c, atol=1e-7, rtol=1e-6)


# ---------------------------------------------------------------- tied weights

def test_tied_gradient_is_the_sum_of_the_encoder_and_decoder_paths():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(6, 5))
    W, b, c = rng.normal(size=(3, 5)), rng.normal(size=3), rng.normal(size=5)
    ae = build(X, W, b, None, c, "tanh", "linear", tied=True)
    ae.loss(X).backward()
    # the same network untied, with W* = W^T: the two paths' gradients, separately
    untied = ref.gradients(X, W, b, W.T.copy(), c, "tanh", "linear", tied=False)
    assert close(ae.encoder.weight.grad, untied["W"] + untied["W_star"].T)
    assert not close(ae.encoder.weight.grad, untied["W"], rtol=1e-3)   # the decoder path is really there
    tied = ref.gradients(X, W, b, None, c, "tanh", "linear", tied=True)
    assert close(ae.encoder.weight.grad, tied["W"])


def test_tied_decoder_follows_the_encoder_weight():
    """W* = W^T at all times: changing W changes the decoder, and training keeps them one array."""
    X, _ = tg.data.load_digits(np.float64)
    ae = tg.Autoencoder(64, 6, encoder="sigmoid", decoder="linear", tied=True, dtype=np.float64, seed=1)
    ae.fit(X[:100], epochs=2, batch_size=50, lr=1e-2, seed=0)
    sd = ae.state_dict()
    h = 1 / (1 + np.exp(-(X[:7] @ sd["encoder.weight"].T + sd["encoder.bias"])))
    assert np.allclose(ae.forward(X[:7]).numpy(), h @ sd["encoder.weight"] + sd["decoder.bias"], rtol=1e-12)


def test_the_tied_decoder_is_a_layer_that_works_when_called_and_reads_right():
    ae = tg.Autoencoder(5, 3, encoder="tanh", decoder="linear", tied=True, dtype=np.float64, seed=2)
    assert isinstance(ae.decoder, tg.nn.TiedLinear) and ae.decoder.tied_to is ae.encoder
    assert [name for name, _ in ae.decoder.named_parameters()][0] == "bias"     # its own first, as torch lists
    assert [name for name, _ in ae.named_parameters()] == ["encoder.weight", "encoder.bias", "decoder.bias"]
    text = repr(ae.decoder)
    assert text.startswith("TiedLinear(in_features=3, out_features=5, bias=True")
    assert "transpose of Linear(in_features=5, out_features=3" in text
    W, c = ae.encoder.weight.data, np.linspace(-1, 1, 5)
    ae.decoder.bias.data[:] = c
    h = np.random.default_rng(0).standard_normal((4, 3))
    assert np.allclose(ae.decoder(h).numpy(), h @ W + c, rtol=1e-13)          # calling it: W* h + c, W* = W^T
    assert np.array_equal(ae.decoder.weight.numpy(), W.T)                      # W* as PyTorch lays it out
    assert ae.decoder.weight.shape == (ae.decoder.out_features, ae.decoder.in_features)
    with pytest.raises(ValueError, match=r"TiedLinear\(in_features=3.*\(4, 5\)"):
        ae.decoder(np.zeros((4, 5)))
    with pytest.raises(TypeError, match="Linear"):
        tg.nn.TiedLinear(ae.decoder)


def test_the_tied_decoder_gets_the_gradient_of_both_uses_in_the_encoders_weight():
    enc = tg.nn.Linear(4, 2, dtype=np.float64, rng=0)
    dec = tg.nn.TiedLinear(enc, bias=False)
    assert dec.bias is None and dec.named_parameters()[0][1] is enc.weight    # standalone: listed as tied_to.weight
    x = np.random.default_rng(1).standard_normal((3, 4))
    dec(enc(x)).sum().backward()
    W = enc.weight.data
    # d/dW sum((x W^T + b) W): from the encoder x^T (1 W^T) and from the decoder h^T 1
    ones = np.ones((3, 4))
    h = x @ W.T + enc.bias.data
    assert np.allclose(enc.weight.grad, (ones @ W.T).T @ x + h.T @ ones, rtol=1e-12)


def test_encode_and_decode_call_the_models_layers(monkeypatch):
    ae = tg.Autoencoder(4, 2, seed=0)
    calls = []
    for layer in (ae.encoder, ae.decoder):
        forward = layer.forward
        monkeypatch.setattr(layer, "forward", lambda x, forward=forward: calls.append(1) or forward(x))
    ae.forward(np.zeros((1, 4), np.float32))
    assert len(calls) == 2


# ---------------------------------------------------------------- state dict, shapes, dtypes

@pytest.mark.parametrize("n,k", [(7, 3), (3, 7), (4, 4)])
def test_state_dict_keys_and_shapes_follow_pytorch(n, k):
    ae = tg.Autoencoder(n, k, seed=0)
    sd = ae.state_dict()
    assert list(sd) == ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"]
    assert {key: v.shape for key, v in sd.items()} == {
        "encoder.weight": (k, n), "encoder.bias": (k,), "decoder.weight": (n, k), "decoder.bias": (n,)}
    assert all(v.dtype == np.float32 for v in sd.values())
    tied = tg.Autoencoder(n, k, tied=True, seed=0).state_dict()
    assert list(tied) == ["encoder.weight", "encoder.bias", "decoder.bias"]
    assert tied["encoder.weight"].shape == (k, n) and tied["decoder.bias"].shape == (n,)


def test_is_undercomplete_means_fewer_hidden_units_than_inputs():
    assert tg.Autoencoder(8, 3).is_undercomplete
    assert not tg.Autoencoder(8, 8).is_undercomplete   # the lecture: over-complete is dim h >= dim x
    assert not tg.Autoencoder(3, 8).is_undercomplete


def test_load_state_dict_with_a_wrong_shape_or_tied_mismatch_is_refused():
    ae = tg.Autoencoder(5, 2, tied=True)
    with pytest.raises(ValueError, match="decoder.weight"):   # an untied model's weights do not fit a tied one
        ae.load_state_dict(tg.Autoencoder(5, 2).state_dict())
    with pytest.raises(ValueError, match="encoder.weight"):
        ae.load_state_dict(tg.Autoencoder(5, 3, tied=True).state_dict())


@pytest.mark.parametrize("model_dtype", [None, np.float64])
@pytest.mark.parametrize("input_dtype", [np.float32, np.float64])
def test_encode_decode_forward_shapes_dtypes_and_values(model_dtype, input_dtype):
    """Shapes (m, k) and (m, n); the model's dtype wins (float32 by default, whatever the input)."""
    kwargs = {} if model_dtype is None else {"dtype": model_dtype}
    ae = tg.Autoencoder(6, 4, encoder="tanh", decoder="sigmoid", seed=2, **kwargs)
    want = np.float32 if model_dtype is None else np.float64
    X = np.random.default_rng(0).uniform(0, 1, (5, 6)).astype(input_dtype)
    h, x_hat, recon = ae.encode(X), ae.decode(ae.encode(X)), ae.forward(X)
    assert h.shape == (5, 4) and x_hat.shape == (5, 6) and recon.shape == (5, 6)
    assert h.dtype == want and x_hat.dtype == want and recon.dtype == want
    sd = {key: v.astype(np.float64) for key, v in ae.state_dict().items()}
    expected = ref.forward(X.astype(want).astype(np.float64), sd["encoder.weight"], sd["encoder.bias"],
                           sd["decoder.weight"], sd["decoder.bias"], "tanh", "sigmoid")
    tol = 1e-5 if want == np.float32 else 1e-12
    assert np.allclose(h.numpy(), expected["h"], rtol=tol, atol=tol)
    assert np.allclose(recon.numpy(), expected["x_hat"], rtol=tol, atol=tol)
    assert np.array_equal(recon.numpy(), x_hat.numpy())
    assert ae.loss(X).dtype == want


# ---------------------------------------------------------------- errors

def test_cross_entropy_needs_the_sigmoid_decoder():
    for decoder in ("linear", "tanh"):
        with pytest.raises(ValueError, match="sigmoid"):
            tg.Autoencoder(4, 2, decoder=decoder, loss="bce")


@pytest.mark.parametrize("bad", [-0.5, 1.5])
def test_cross_entropy_refuses_targets_outside_the_unit_interval(bad):
    ae = tg.Autoencoder(3, 2, decoder="sigmoid")
    X = np.full((2, 3), 0.5, np.float32)
    X[1, 2] = bad
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ae.loss(X)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ae.fit(X, epochs=1)
    ae.loss(np.clip(X, 0, 1))   # the same data in range is fine
    mse = tg.Autoencoder(3, 2, decoder="sigmoid", loss="mse")
    assert np.isfinite(mse.loss(X).item())   # squared error takes any targets


def test_the_one_pass_target_check_refuses_exactly_what_min_and_max_refuse():
    """spec.check_targets reads the floats' bits as unsigned integers (one pass over the batch): on edge values
    it agrees with the plain rule x.min() < 0 or x.max() > 1, which lets -0.0 and NaN through."""
    for dtype in (np.float16, np.float32, np.float64):
        one, zero, tiny = np.ones((), dtype), np.zeros((), dtype), np.finfo(dtype).tiny
        edges = [0.0, -0.0, 0.5, 1.0, 2.0, -0.5, np.nan, np.inf, -np.inf, tiny, -tiny,
                 np.nextafter(one, 2 * one), np.nextafter(zero, one), np.nextafter(zero, -one)]
        for a, b in itertools.product(edges, repeat=2):
            X = np.array([[0.25, a], [b, 0.75]], dtype)
            if X.min() < 0 or X.max() > 1:
                with pytest.raises(ValueError, match=r"\[0, 1\]"):
                    spec.check_targets(X)
            else:
                spec.check_targets(X)
        spec.check_targets(np.linspace(0, 1, 12, dtype=dtype).reshape(3, 4)[:, ::2])     # a strided view


def test_a_compiled_step_of_ae_loss_checks_every_batch_it_replays():
    ae = tg.Autoencoder(8, 3, decoder="sigmoid", seed=0)
    opt = tg.optim.SGD(ae.parameters(), lr=0.1)

    @tg.compile
    def step(x):
        opt.zero_grad()
        loss = ae.loss(x)
        loss.backward()
        opt.step()
        return loss

    X = np.random.default_rng(1).random((5, 8)).astype(np.float32)
    for _ in range(4):
        step(tg.Tensor(X))
    assert step.program is not None
    bad = X.copy()
    bad[2, 3] = 1.5
    before = ae.state_dict()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        step(tg.Tensor(bad))
    assert all(np.array_equal(before[key], v) for key, v in ae.state_dict().items())   # refused before the update


@pytest.mark.parametrize("kwargs,allowed", [
    ({"encoder": "softmax"}, spec.ENCODERS),
    ({"decoder": "relu"}, spec.DECODERS),
    ({"loss": "l1"}, spec.LOSSES),
])
def test_unknown_names_are_refused_naming_the_allowed_values(kwargs, allowed):
    with pytest.raises(ValueError) as info:
        tg.Autoencoder(4, 2, **kwargs)
    message = str(info.value)
    assert next(iter(kwargs.values())) in message
    for name in allowed:
        assert name in message


def test_unknown_optimizer_is_refused_naming_the_allowed_values():
    ae = tg.Autoencoder(4, 2)
    with pytest.raises(ValueError) as info:
        ae.fit(np.zeros((3, 4), np.float32), epochs=1, optimizer="rmsprop")
    assert "rmsprop" in str(info.value) and "adam" in str(info.value) and "sgd" in str(info.value)


@pytest.mark.parametrize("X,match", [
    (np.array([[0.1, np.nan, 0.2, 0.3]]), "NaN or infinite"),
    (np.array([[0.1, 0.2, np.inf, 0.3]]), "NaN or infinite"),
    (np.zeros(4), "2-D"),
    (np.zeros((2, 2, 4)), "2-D"),
    (np.zeros((3, 5)), "5 features per row, expected 4"),
])
def test_fit_refuses_bad_data_saying_what_is_wrong(X, match):
    ae = tg.Autoencoder(4, 2, seed=0)
    before = ae.state_dict()
    with pytest.raises(ValueError, match=match):
        ae.fit(X, epochs=1)
    with pytest.raises(ValueError, match="X_val"):   # the validation set is checked too, and named
        ae.fit(np.zeros((3, 4)), epochs=1, X_val=X)
    assert all(np.array_equal(before[key], v) for key, v in ae.state_dict().items())


# ---------------------------------------------------------------- training

@pytest.fixture(scope="module")
def digits():
    X, _ = tg.data.load_digits()
    return X


def test_fit_returns_per_epoch_losses_that_decrease(digits):
    X_train, X_val = digits[:1200], digits[1200:]
    ae = tg.Autoencoder(64, 16, encoder="sigmoid", decoder="sigmoid", seed=0)
    start_train, start_val = ae.evaluate(X_train), ae.evaluate(X_val)
    history = ae.fit(X_train, epochs=4, batch_size=64, lr=1e-2, seed=0, X_val=X_val)
    assert len(history["train"]) == 4 and len(history["val"]) == 4
    train, val = [start_train] + history["train"], [start_val] + history["val"]
    assert all(later < earlier for earlier, later in zip(train, train[1:])), train
    assert all(later < earlier for earlier, later in zip(val, val[1:])), val
    # each entry is the loss on the whole set after that epoch
    assert history["train"][-1] == pytest.approx(ae.evaluate(X_train), rel=1e-6)
    assert history["val"][-1] == pytest.approx(ae.evaluate(X_val), rel=1e-6)
    assert tg.Autoencoder(64, 4, seed=0).fit(X_val, epochs=1)["val"] == []


def test_evaluate_is_the_lecture_loss_on_all_rows(digits):
    ae = tg.Autoencoder(64, 5, encoder="relu", decoder="linear", dtype=np.float64, seed=4)
    sd = ae.state_dict()
    X = digits.astype(np.float64)
    expected = ref.loss(X, sd["encoder.weight"], sd["encoder.bias"], sd["decoder.weight"], sd["decoder.bias"],
                        "relu", "linear")
    assert ae.evaluate(X, batch_size=500) == pytest.approx(expected, rel=1e-12)   # uneven last batch


def test_same_seed_same_weights(digits):
    def train(init_seed, fit_seed):
        ae = tg.Autoencoder(64, 8, encoder="tanh", seed=init_seed)
        ae.fit(digits[:300], epochs=2, batch_size=32, lr=1e-2, seed=fit_seed)
        return ae.state_dict()

    first, second, other = train(0, 1), train(0, 1), train(0, 2)
    assert all(np.array_equal(first[key], second[key]) for key in first)
    assert not all(np.array_equal(first[key], other[key]) for key in first)   # the fit seed matters (shuffling)


def test_save_and_load_reproduce_the_reconstructions(digits, tmp_path):
    ae = tg.Autoencoder(64, 8, encoder="sigmoid", decoder="sigmoid", seed=0)
    ae.fit(digits[:200], epochs=1, batch_size=50, lr=1e-2, seed=0)
    path = tmp_path / "model.npz"
    tg.save(ae.state_dict(), path)
    other = tg.Autoencoder(64, 8, encoder="sigmoid", decoder="sigmoid", seed=1)
    assert not np.array_equal(other.forward(digits[:20]).numpy(), ae.forward(digits[:20]).numpy())
    other.load_state_dict(tg.load(path))
    assert np.array_equal(other.forward(digits[:20]).numpy(), ae.forward(digits[:20]).numpy())


def test_callback_returning_false_stops_early(digits):
    seen = []

    def stop_after_two(epoch, history):
        seen.append((epoch, len(history["train"])))
        return False if epoch == 1 else None   # None (no return value) means go on

    history = tg.Autoencoder(64, 4, seed=0).fit(digits[:100], epochs=10, batch_size=50, callback=stop_after_two)
    assert seen == [(0, 1), (1, 2)]
    assert len(history["train"]) == 2


def test_fit_continues_a_history_with_its_optimizer_and_generator_exactly_as_one_long_fit(digits):
    X, X_val = digits[:300], digits[300:400]
    whole = tg.Autoencoder(64, 5, seed=3)
    full = whole.fit(X, epochs=4, batch_size=50, lr=1e-2, seed=7, X_val=X_val)
    split = tg.Autoencoder(64, 5, seed=3)
    opt, rng, steps = loop.make_optimizer(split, "adam", 1e-2), np.random.default_rng(7), []
    history = split.fit(X, epochs=2, batch_size=50, optimizer=opt, seed=rng, X_val=X_val)
    again = split.fit(X, epochs=2, batch_size=50, optimizer=opt, seed=rng, X_val=X_val, history=history,
                      on_step=lambda epoch, i, loss: steps.append((epoch, i)))
    assert again is history and history["train"] == full["train"] and history["val"] == full["val"]
    assert len(history["seconds"]) == 4 and all(s > 0 for s in history["seconds"])
    assert steps == [(epoch, i) for epoch in (2, 3) for i in range(6)]       # epochs counted across the history
    assert all(np.array_equal(v, whole.state_dict()[k]) for k, v in split.state_dict().items())


def test_diverging_run_raises_and_suggests_a_lower_learning_rate(digits):
    ae = tg.Autoencoder(64, 8, encoder="sigmoid", decoder="linear", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # numpy's overflow warnings on the way to inf
        with pytest.raises(FloatingPointError, match="lower learning rate"):
            ae.fit(digits[:200], epochs=5, optimizer="sgd", lr=1e6, seed=0)
    steps, ae = [], tg.Autoencoder(64, 8, encoder="sigmoid", decoder="linear", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # fit keeps numpy's overflow warnings to itself
        with pytest.raises(tg.TrainingDiverged, match=r"in epoch 1 \(batch \d+\).*1e\+06") as info:
            ae.fit(digits[:200], epochs=5, optimizer="sgd", lr=1e6, seed=0,
                   on_step=lambda epoch, i, loss: steps.append(loss))
    assert len(steps) > 1 and not np.isfinite(steps[-1]) and all(np.isfinite(steps[:-1]))   # the first bad step
    assert info.value.epoch == 1 and info.value.batch == len(steps) and info.value.lr == 1e6


def test_models_import_nothing_from_training_when_they_load():
    """training/ builds on models/, so the reading order is top-down: no module of models/ imports training/
    at its top (fit, train_epoch and evaluate import the loop when they are called)."""
    import ast
    from pathlib import Path
    for path in (Path(tg.__file__).parent / "models").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            assert not any("training" in name for name in names), f"{path.name} imports {names}"
