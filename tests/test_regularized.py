"""The regularized autoencoders (weight decay, denoising, sparse, contractive) and the deep one.

Gradients in float64 against the closed forms of reference.py (weight decay, sparsity, the lecture's chain rule
on a corrupted input) to 1e-10, for every penalty alone and combined, every encoder it allows, tied or not;
the contractive penalty against its closed form written out here and against central differences;
gradcheck through the deep model; modes, the generator, state-dict names and the errors that name an argument.
"""
import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import tinygrad_ae as tg
from tinygrad_ae import reference as ref
from tinygrad_ae.models import spec
from helpers import close
from strategies import autoencoder_problems

FEW = settings(max_examples=max(5, settings.default.max_examples // 2), deadline=None)


def build(W, b, W_star, c, encoder, decoder, tied, **regularization):
    k, n = W.shape
    ae = tg.Autoencoder(n, k, encoder=encoder, decoder=decoder, tied=tied, dtype=np.float64, seed=0,
                        **regularization)
    state = {"encoder.weight": W, "encoder.bias": b, "decoder.bias": c}
    if not tied:
        state["decoder.weight"] = W_star
    ae.load_state_dict(state)
    return ae


# ---------------------------------------------------------------- the contractive penalty in closed form

def slope(encoder, h):
    """g'(a) from the output h."""
    return {"sigmoid": h * (1 - h), "tanh": 1 - h * h, "relu": (h > 0).astype(h.dtype),
            "linear": np.ones_like(h)}[encoder]


def contractive_closed_form(X, W, b, encoder, lam):
    """lam (1/m) sum_i sum_j g'(a_ij)^2 sum_l W_jl^2 and its gradient {"W", "b"} (Rifai et al. 2011):
    reference.py's closed form for the sigmoid and tanh encoders, written out here for relu and linear."""
    if encoder in ref.CONTRACTIVE_ENCODERS:
        grads = ref.contractive_penalty_grads(X, W, b, encoder)
        return lam * ref.contractive_penalty(X, W, b, encoder), {k: lam * v for k, v in grads.items()}
    m = len(X)
    a = X @ W.T + b
    h = {"sigmoid": ref.sigmoid, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "linear": lambda z: z}[encoder](a)
    d = slope(encoder, h)
    s = (W * W).sum(axis=1)
    value = lam * float((d * d @ s).sum() / m)
    # d(d_j^2)/da_j = 2 d_j d'_j with d' = h(1-h)(1-2h) (sigmoid), -2h(1-h^2) (tanh), 0 (relu, linear)
    dd = {"sigmoid": d * (1 - 2 * h), "tanh": -2 * h * d, "relu": 0 * h, "linear": 0 * h}[encoder]
    dA = 2 * d * dd * s                                          # (m, k)
    grad_W = lam * (dA.T @ X + 2 * (d * d).sum(axis=0)[:, None] * W) / m
    grad_b = lam * dA.sum(axis=0) / m
    return value, {"W": grad_W, "b": grad_b}


def expected_gradients(X, W, b, W_star, c, encoder, decoder, tied, penalties, inputs=None):
    """The closed forms, added: the lecture's chain rule (on the corrupted inputs if any), weight decay and
    sparsity from reference.py, the contractive term from contractive_closed_form."""
    grads = ref.regularized_gradients(X, W, b, None if tied else W_star, c, encoder, decoder, tied,
                                      weight_decay=penalties.get("weight_decay", 0.0),
                                      sparsity=penalties.get("sparsity"),
                                      sparsity_weight=penalties.get("sparsity_weight", 1.0))
    if inputs is not None:   # the reconstruction term with the corrupted input; penalties do not see X again
        plain = ref.gradients(X, W, b, None if tied else W_star, c, encoder, decoder, tied)
        noisy = ref.gradients(X, W, b, None if tied else W_star, c, encoder, decoder, tied, inputs=inputs)
        grads = {k: None if v is None else v - plain[k] + noisy[k] for k, v in grads.items()}
    if penalties.get("contractive"):
        _, contract = contractive_closed_form(X if inputs is None else inputs, W, b, encoder, penalties["contractive"])
        grads["W"], grads["b"] = grads["W"] + contract["W"], grads["b"] + contract["b"]
    return grads


def allowed(encoder, penalties):
    return not ("sparsity" in penalties and encoder != "sigmoid")


PENALTY_SETS = [dict(p) for r in (1, 2, 3) for p in itertools.combinations(
    (("weight_decay", 0.3), ("sparsity", 0.2), ("contractive", 0.7)), r)]
CASES = [(enc, dec, tied, pen) for pen in PENALTY_SETS for enc in spec.ENCODERS for dec in ("linear", "sigmoid")
         for tied in (False, True) if allowed(enc, pen)]


def case_id(case):
    enc, dec, tied, pen = case
    return f"{'+'.join(pen)}-{enc}-{dec}{'-tied' if tied else ''}"


@pytest.mark.parametrize("encoder,decoder,tied,penalties", CASES, ids=[case_id(c) for c in CASES])
@FEW
@given(data=st.data())
def test_every_penalty_alone_and_combined_has_the_closed_forms_gradients(encoder, decoder, tied, penalties, data):
    X, W, b, W_star, c = data.draw(autoencoder_problems(unit_targets=decoder == "sigmoid"))
    if encoder == "relu":
        assume(np.all(np.abs(X @ W.T + b) > 1e-6))
    penalties = dict(penalties)
    if "sparsity" in penalties:
        penalties["sparsity_weight"] = 1.7
    ae = build(W, b, W_star, c, encoder, decoder, tied, **penalties)
    value = ae.loss(X)
    value.backward()
    expected_value = ref.loss(X, W, b, None if tied else W_star, c, encoder, decoder, tied)
    if "weight_decay" in penalties:
        expected_value += ref.weight_decay_penalty(W, None if tied else W_star, penalties["weight_decay"])
    if "sparsity" in penalties:
        expected_value += ref.sparsity_penalty(X, W, b, penalties["sparsity"], 1.7)
    if "contractive" in penalties:
        expected_value += contractive_closed_form(X, W, b, encoder, penalties["contractive"])[0]
    assert close(value.item(), expected_value)
    expected = expected_gradients(X, W, b, W_star, c, encoder, decoder, tied, penalties)
    got = {"W": ae.encoder.weight.grad, "b": ae.encoder.bias.grad, "c": ae.decoder.bias.grad,
           "W_star": None if tied else ae.decoder.weight.grad}
    for name in ("W", "b", "c") + (() if tied else ("W_star",)):
        assert close(got[name], expected[name]), (name, got[name], expected[name])
    terms = ae.loss_terms(X)
    assert set(terms) == {"reconstruction", *[p for p in penalties if p != "sparsity_weight"], "objective"}
    assert close(terms["objective"].item(), expected_value)


@pytest.mark.parametrize("encoder", ["sigmoid", "tanh", "relu", "linear"])
@pytest.mark.parametrize("tied", [False, True])
@FEW
@given(data=st.data())
def test_the_contractive_term_equals_the_mean_squared_jacobian_norm(encoder, tied, data):
    """||J_h(x)||_F^2 from the Jacobian itself, column by column (central differences of encode)."""
    X, W, b, W_star, c = data.draw(autoencoder_problems(unit_targets=False))
    if encoder == "relu":
        assume(np.all(np.abs(X @ W.T + b) > 1e-3))
    ae = build(W, b, W_star, c, encoder, "linear", tied, contractive=1.0)
    norms = []
    for x in X:
        def h(v):
            return ae.encode(v[None, :]).numpy()[0]
        columns = [(h(x + e) - h(x - e)) / 2e-6 for e in np.eye(len(x)) * 1e-6]    # dh/dx_i, one per input
        norms.append(np.sum(np.square(columns)))
    terms = ae.loss_terms(X)
    assert terms["contractive"].item() == pytest.approx(np.mean(norms), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("encoder", ["sigmoid", "tanh", "relu", "linear"])
@pytest.mark.parametrize("tied", [False, True])
def test_the_contractive_term_and_its_gradient_equal_the_generic_jacobian(encoder, tied):
    """The closed form in the model against ||J||_F^2 from tg.autograd.jacobian (create_graph=True), and its
    gradient with respect to W and b against the one obtained by differentiating through that Jacobian."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((5, 4))
    ae = tg.Autoencoder(4, 3, encoder=encoder, tied=tied, dtype=np.float64, seed=1, contractive=0.7)
    if encoder == "relu":
        assert np.all(np.abs(X @ ae.encoder.weight.data.T + ae.encoder.bias.data) > 1e-3)
    J = tg.autograd.jacobian(lambda x: ae.encode(x), tg.Tensor(X), create_graph=True)     # (m, k, m, n)
    generic = (J * J).sum() * (0.7 / len(X))
    closed = ae.loss_terms(X)["contractive"]
    assert closed.item() == pytest.approx(generic.item(), rel=1e-12, abs=1e-14)
    W, b = ae.encoder.weight, ae.encoder.bias
    want = tg.grad(generic, (W, b), allow_unused=True)
    got = tg.grad(closed, (W, b), allow_unused=True)
    for g, w in zip(got, want):
        g = np.zeros_like(b.data) if g is None else g.data      # a linear encoder's penalty does not depend on b
        w = np.zeros_like(g) if w is None else w.data
        assert close(g, w)


# ---------------------------------------------------------------- denoising

@pytest.mark.parametrize("noise,level", [("mask", 0.4), ("gaussian", 0.5)])
@pytest.mark.parametrize("encoder,decoder,tied", [("sigmoid", "linear", False), ("tanh", "sigmoid", True),
                                                  ("sigmoid", "sigmoid", False)])
@FEW
@given(data=st.data())
def test_denoising_encodes_the_corrupted_copy_and_compares_with_the_clean_input(noise, level, encoder, decoder,
                                                                                tied, data):
    X, W, b, W_star, c = data.draw(autoencoder_problems(unit_targets=decoder == "sigmoid"))
    penalties = data.draw(st.sampled_from([{}, {"weight_decay": 0.2}, {"contractive": 0.5},
                                           {"sparsity": 0.1} if encoder == "sigmoid" else {}]))
    ae = build(W, b, W_star, c, encoder, decoder, tied, noise=noise, noise_level=level, **penalties)
    ae.generator = np.random.default_rng(5)
    corrupted = ae.corrupt(X, generator=np.random.default_rng(5)).numpy()
    value = ae.loss(X)                         # training mode: draws the same corruption from ae.generator
    value.backward()
    if noise == "mask":
        assert np.all((corrupted == X) | (corrupted == 0))
    expected_value = ref.loss(X, W, b, None if tied else W_star, c, encoder, decoder, tied, inputs=corrupted)
    if "weight_decay" in penalties:
        expected_value += ref.weight_decay_penalty(W, None if tied else W_star, penalties["weight_decay"])
    if "sparsity" in penalties:             # the penalties see the code of the corrupted input
        expected_value += ref.sparsity_penalty(corrupted, W, b, penalties["sparsity"], 1.0)
    if "contractive" in penalties:
        expected_value += contractive_closed_form(corrupted, W, b, encoder, penalties["contractive"])[0]
    assert close(value.item(), expected_value)
    expected = expected_gradients(X, W, b, W_star, c, encoder, decoder, tied, penalties, inputs=corrupted)
    if "sparsity" in penalties:   # the sparsity term sees the corrupted code: its closed form on the corrupted rows
        plain = ref.sparsity_grads(X, W, b, penalties["sparsity"], 1.0)
        noisy = ref.sparsity_grads(corrupted, W, b, penalties["sparsity"], 1.0)
        for k in ("W", "b"):
            expected[k] = expected[k] - plain[k] + noisy[k]
    for name, got in (("W", ae.encoder.weight.grad), ("b", ae.encoder.bias.grad), ("c", ae.decoder.bias.grad)):
        assert close(got, expected[name]), name
    if not tied:
        assert close(ae.decoder.weight.grad, expected["W_star"])


def test_noise_only_in_training_mode_and_reproducible_from_the_seed():
    X, _ = tg.data.load_digits(np.float64)
    X = X[:50]
    ae = tg.Autoencoder(64, 20, noise="mask", noise_level=0.3, dtype=np.float64, seed=3)
    assert ae.training
    clean = ae.reconstruction_loss(X).item()
    assert ae.loss(X).item() != clean                        # training mode: the corrupted copy
    assert ae.eval() is ae and not ae.training and not ae.encoder.training
    assert ae.loss(X).item() == clean                        # eval mode: clean inputs
    assert np.array_equal(ae(X).numpy(), ae.forward(X).numpy())
    ae.train()
    a = tg.Autoencoder(64, 20, noise="mask", noise_level=0.3, dtype=np.float64, seed=3)
    b = tg.Autoencoder(64, 20, noise="mask", noise_level=0.3, dtype=np.float64, seed=3)
    assert [a.loss(X).item() for _ in range(3)] == [b.loss(X).item() for _ in range(3)]
    masked = a.corrupt(np.ones((2000, 64)), generator=np.random.default_rng(0)).numpy()
    assert masked.mean() == pytest.approx(0.7, abs=0.01)
    noisy = tg.Autoencoder(64, 20, noise="gaussian", noise_level=0.5, seed=0).corrupt(np.zeros((2000, 64)))
    assert noisy.dtype == np.float32 and noisy.numpy().std() == pytest.approx(0.5, rel=0.02)


def test_fit_trains_in_training_mode_and_returns_to_the_mode_it_found():
    X, _ = tg.data.load_digits()
    ae = tg.Autoencoder(64, 16, noise="gaussian", noise_level=0.2, weight_decay=1e-4, seed=0).eval()
    history = ae.fit(X[:200], epochs=2, batch_size=50, seed=0, X_val=X[200:300])
    assert not ae.training
    assert len(history["weight_decay"]) == len(history["objective"]) == 2
    assert history["objective"][-1] == pytest.approx(history["train"][-1] + history["weight_decay"][-1])
    assert history["train"][-1] == pytest.approx(ae.evaluate(X[:200]), rel=1e-6)
    plain = tg.Autoencoder(64, 16, seed=0).fit(X[:200], epochs=1, batch_size=50, seed=0)
    assert set(plain) == {"train", "val", "seconds"}         # no penalties: the history as it always was


# ---------------------------------------------------------------- deep

def set_parameters(ae, names, tensors):
    for name, tensor in zip(names, tensors):
        *path, attr = name.split(".")
        obj = ae
        for part in path:
            obj = getattr(obj, part)
        setattr(obj, attr, tensor)


@pytest.mark.parametrize("encoder,code,decoder,tied,extra", [
    ("sigmoid", "linear", "sigmoid", False, {}),
    ("tanh", "tanh", "linear", True, {"weight_decay": 0.1}),
    ("relu", "linear", "linear", False, {"weight_decay": 0.05}),
    ("sigmoid", "sigmoid", "sigmoid", True, {"sparsity": 0.2, "sparsity_weight": 0.5}),
    ("sigmoid", "linear", "linear", False, {"noise": "gaussian", "noise_level": 0.3, "weight_decay": 0.01}),
])
def test_gradcheck_through_the_deep_model(encoder, code, decoder, tied, extra):
    rng = np.random.default_rng(11)
    X = rng.uniform(0.1, 0.9, (3, 5))
    ae = tg.Autoencoder(5, (4, 3, 2), encoder=encoder, code_activation=code, decoder=decoder, tied=tied,
                        dtype=np.float64, seed=1, **extra)
    named = ae.named_parameters()
    names = [n for n, _ in named]
    arrays_ = [p.data.copy() + (0.05 if n.endswith("bias") else 0) for n, p in named]
    if encoder == "relu":
        ae.load_state_dict(dict(zip(names, arrays_)))
        with tg.no_grad():
            a = X @ arrays_[0].T + arrays_[1]
        assert np.all(np.abs(a) > 1e-3), "pick another seed: a pre-activation sits on relu's kink"

    def loss_of(x, *params):
        set_parameters(ae, names, params)
        ae.generator = np.random.default_rng(0)              # the same corruption on every call
        return ae.loss(x)

    assert tg.gradcheck(loss_of, X, *arrays_, atol=1e-7, rtol=1e-6)


def test_deep_state_dict_names_layers_input_to_code_then_code_to_output():
    ae = tg.Autoencoder(784, (1000, 500, 250, 30), code_activation="linear", decoder="sigmoid", seed=0)
    shapes = [(n, p.shape) for n, p in ae.named_parameters()]
    sizes = (784, 1000, 500, 250, 30)
    expected = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        expected += [(f"encoder.{i}.weight", (b, a)), (f"encoder.{i}.bias", (b,))]
    back = sizes[::-1]
    for i, (a, b) in enumerate(zip(back, back[1:])):
        expected += [(f"decoder.{i}.weight", (b, a)), (f"decoder.{i}.bias", (b,))]
    assert shapes == expected
    assert ae.code_size == 30 and ae.is_undercomplete and ae.n_hidden == (1000, 500, 250, 30)
    assert ae.encode(np.zeros((2, 784))).shape == (2, 30)
    tied = tg.Autoencoder(8, (6, 3), tied=True, seed=0)
    assert [n for n, _ in tied.named_parameters()] == ["encoder.0.weight", "encoder.0.bias", "encoder.1.weight",
                                                       "encoder.1.bias", "decoder.0.bias", "decoder.1.bias"]
    assert tied.decoder[0].tied_to is tied.encoder[1]
    one = tg.Autoencoder(8, [3], seed=0)                       # a one-element sequence is the one-layer model
    assert [n for n, _ in one.named_parameters()] == ["encoder.weight", "encoder.bias", "decoder.weight",
                                                      "decoder.bias"]


def test_deep_forward_is_the_layers_with_their_activations():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (4, 6))
    ae = tg.Autoencoder(6, (5, 2), encoder="tanh", code_activation="linear", decoder="sigmoid",
                        dtype=np.float64, seed=2)
    sd = ae.state_dict()
    h = np.tanh(X @ sd["encoder.0.weight"].T + sd["encoder.0.bias"]) @ sd["encoder.1.weight"].T + sd["encoder.1.bias"]
    z = np.tanh(h @ sd["decoder.0.weight"].T + sd["decoder.0.bias"]) @ sd["decoder.1.weight"].T + sd["decoder.1.bias"]
    assert np.allclose(ae.encode(X).numpy(), h, rtol=1e-12)
    assert np.allclose(ae(X).numpy(), ref.sigmoid(z), rtol=1e-12)
    assert ae.loss(X).item() == pytest.approx(float(np.sum(ref.softplus(z) - X * z) / 4), rel=1e-12)


# ---------------------------------------------------------------- errors that name the argument

@pytest.mark.parametrize("kwargs,match", [
    ({"sparsity": 0.05, "encoder": "tanh"}, "sparsity .*sigmoid"),
    ({"sparsity": 0.05, "encoder": "linear"}, "sparsity .*sigmoid"),
    ({"sparsity": 1.5}, r"sparsity must be a number in \(0, 1\)"),
    ({"sparsity_weight": 3}, "sparsity_weight=3 is given without sparsity"),
    ({"noise": "mask"}, "noise_level"),
    ({"noise": "mask", "noise_level": 1.0}, r"noise_level must be a number in \[0, 1\)"),
    ({"noise": "gaussian", "noise_level": -0.1}, "noise_level must be a number"),
    ({"noise": "salt"}, "noise must be one of mask, gaussian"),
    ({"noise_level": 0.3}, "without noise"),
    ({"weight_decay": -1}, "weight_decay must be"),
    ({"contractive": float("nan")}, "contractive must be"),
    ({"n_hidden": (8, 4), "contractive": 0.1}, "contractive .*one-hidden-layer"),
    ({"n_hidden": (8, 4), "code_activation": "linear", "sparsity": 0.1}, "code_activation='sigmoid'"),
    ({"code_activation": "linear"}, "code_activation is for a deep autoencoder"),
    ({"n_hidden": (8, 0)}, "n_hidden must be a positive integer"),
    ({"n_hidden": (8, 4), "code_activation": "softmax"}, "code_activation must be one of"),
])
def test_what_does_not_make_sense_is_a_clear_error_naming_the_argument(kwargs, match):
    kwargs = {"n_hidden": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        tg.Autoencoder(n_inputs=6, **kwargs)


def test_repr_shows_what_differs_from_the_lecture_model():
    ae = tg.Autoencoder(64, (32, 8), code_activation="linear", weight_decay=1e-3, noise="mask", noise_level=0.3)
    text = repr(ae)
    assert "n_hidden=(32, 8)" in text and "code_activation='linear'" in text and "noise='mask'" in text
    assert "sparsity" not in text and "contractive" not in text
    assert "noise" not in repr(tg.Autoencoder(64, 8))


# ---------------------------------------------------------------- under tg.compile

@pytest.mark.parametrize("kwargs", [
    {"n_hidden": 20, "noise": "mask", "noise_level": 0.3},
    {"n_hidden": 20, "noise": "gaussian", "noise_level": 0.2, "weight_decay": 1e-3},
    {"n_hidden": 20, "sparsity": 0.1, "sparsity_weight": 2.0, "tied": True},
    {"n_hidden": 20, "contractive": 0.1},
    {"n_hidden": 20, "contractive": 0.1, "encoder": "relu"},
    {"n_hidden": 20, "contractive": 0.1, "encoder": "tanh", "noise": "mask", "noise_level": 0.2},
    {"n_hidden": (24, 8), "code_activation": "linear", "decoder": "sigmoid", "weight_decay": 1e-3},
], ids=lambda k: "-".join(f"{key}={v}" for key, v in k.items() if key != "n_hidden"))
def test_a_compiled_fit_trains_bit_for_bit_as_the_eager_one_with_new_noise_every_step(kwargs):
    X, _ = tg.data.load_digits()
    X = X[:300]
    results = []
    for compile_ in (False, True):
        ae = tg.Autoencoder(64, seed=0, **kwargs)
        history = ae.fit(X, epochs=3, batch_size=64, lr=1e-2, seed=0, compile=compile_)
        results.append((ae.state_dict(), history, ae.generator.bit_generator.state))
    (eager, h_eager, g_eager), (compiled, h_compiled, g_compiled) = results
    for key in eager:
        assert np.array_equal(eager[key], compiled[key]), key
    assert h_eager["train"] == h_compiled["train"] and g_eager == g_compiled
