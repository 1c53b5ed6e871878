"""tg.autograd (vjp, jvp, jacobian, hessian, hvp, vhp) and higher-order gradients through tg.grad,
in float64: against closed forms, against central differences, and against each other
(hvp = H v, jvp = J v, vjp = v^T J). Also the contractive penalty computed generically through the
Jacobian against reference.py's closed form, and per-thread grad mode."""
import threading

import numpy as np
import pytest

import tinygrad_ae as tg
import tinygrad_ae.functional as F
from tinygrad_ae import Tensor, reference as ref
from tinygrad_ae.autograd import hessian, hvp, jacobian, jvp, vhp, vjp

EXACT = dict(rtol=1e-13, atol=1e-14)      # two ways of computing the same floating-point formula
NUMERIC = dict(rtol=1e-6, atol=1e-8)      # against central differences with eps = 1e-6


def rng(seed=0):
    return np.random.default_rng(seed)


def numerical_jacobian(f, x, eps=1e-6):
    """d f(x) / d x by central differences, shaped f(x).shape + x.shape (f: ndarray -> ndarray)."""
    x = np.array(x, dtype=np.float64)
    out_shape = np.shape(f(x))
    J = np.zeros(out_shape + x.shape)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = eps
        J[(Ellipsis,) + idx] = (np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * eps)
    return J


def flat(J, out_shape, in_shape):
    return J.reshape(int(np.prod(out_shape)), int(np.prod(in_shape)))


def values(f):
    """A Tensor function as an ndarray function, for central differences."""
    def g(*arrays):
        with tg.no_grad():
            return f(*[Tensor(a) for a in arrays]).data
    return g


# ----- jacobian ------------------------------------------------------------------------------------

def test_jacobian_of_tanh_Wx_is_diag_one_minus_y_squared_times_W():
    W, x = rng().standard_normal((3, 4)), rng(1).standard_normal(4)
    J = jacobian(lambda x: (Tensor(W) @ x).tanh(), Tensor(x))
    y = np.tanh(W @ x)
    assert J.shape == (3, 4) and J.dtype == np.float64
    np.testing.assert_allclose(J.data, (1 - y ** 2)[:, None] * W, **EXACT)


def test_jacobian_of_a_matrix_function_has_shape_out_plus_in_and_matches_central_differences():
    A, X = rng().standard_normal((2, 3)), rng(1).standard_normal((3, 4))
    f = lambda X: (Tensor(A) @ X).sigmoid() * X.sum(axis=0)      # (2, 4), broadcasting included
    J = jacobian(f, Tensor(X))
    assert J.shape == (2, 4, 3, 4)
    np.testing.assert_allclose(J.data, numerical_jacobian(values(f), X), **NUMERIC)


def test_jacobian_with_tuple_inputs_and_outputs_is_a_tuple_of_tuples():
    a, b = rng().standard_normal(3), rng(1).standard_normal((2, 3))
    f = lambda a, b: (b @ a, (a * a).sum(), (b * a).tanh())
    J = jacobian(f, (Tensor(a), Tensor(b)))
    assert isinstance(J, tuple) and len(J) == 3 and all(isinstance(row, tuple) and len(row) == 2 for row in J)
    outs = values(lambda a, b: f(a, b)[0])(a, b), np.float64(0), values(lambda a, b: f(a, b)[2])(a, b)
    for i, out in enumerate(outs):
        for j, (x, shape) in enumerate(((a, a.shape), (b, b.shape))):
            assert J[i][j].shape == np.shape(out) + shape
            fi = lambda z, i=i, j=j: values(lambda a, b: f(a, b)[i])(*((z, b) if j == 0 else (a, z)))
            np.testing.assert_allclose(J[i][j].data, numerical_jacobian(fi, x), **NUMERIC)


def test_jacobian_one_output_several_inputs_is_a_tuple_over_inputs():
    J = jacobian(lambda a, b: a * b, (Tensor(np.array([1.0, 2.0])), Tensor(np.array([3.0, 4.0]))))
    assert isinstance(J, tuple) and len(J) == 2
    np.testing.assert_array_equal(J[0].data, np.diag([3.0, 4.0]))
    np.testing.assert_array_equal(J[1].data, np.diag([1.0, 2.0]))


def test_unused_inputs_and_constant_outputs_give_zeros():
    a, b = Tensor(np.array([1.0, 2.0])), Tensor(np.ones((2, 2)))
    J = jacobian(lambda a, b: (a * 2, Tensor(np.ones(3))), (a, b))
    np.testing.assert_array_equal(J[0][0].data, 2 * np.eye(2))
    assert J[0][1].shape == (2, 2, 2) and not J[0][1].data.any()
    assert J[1][0].shape == (3, 2) and not J[1][0].data.any()
    _, (ga, gb) = vjp(lambda a, b: (a ** 2).sum(), (a, b))
    np.testing.assert_array_equal(ga.data, [2.0, 4.0])
    assert gb.shape == (2, 2) and not gb.data.any()
    _, (ha, hb) = hvp(lambda a, b: (a ** 3).sum(), (a, b), (Tensor(np.ones(2)), Tensor(np.ones((2, 2)))))
    np.testing.assert_array_equal(ha.data, [6.0, 12.0])
    assert not hb.data.any()


def test_arrays_are_accepted_as_inputs_and_v():
    x = np.array([0.5, -1.0])
    np.testing.assert_array_equal(jacobian(lambda x: x * x, x).data, np.diag(2 * x))
    out, g = vjp(lambda x: x * 3, x, np.array([1.0, 2.0]))
    assert isinstance(out, Tensor) and isinstance(g, Tensor)
    np.testing.assert_array_equal(g.data, [3.0, 6.0])


# ----- hessian -------------------------------------------------------------------------------------

def test_hessian_of_a_quadratic_form_is_A_plus_A_transpose():
    A, x = rng().standard_normal((4, 4)), rng(1).standard_normal(4)
    H = hessian(lambda x: x @ (Tensor(A) @ x), Tensor(x))
    assert H.shape == (4, 4)
    np.testing.assert_allclose(H.data, A + A.T, **EXACT)


def test_hessian_of_a_matrix_input_has_shape_in_plus_in():
    X = rng().standard_normal((2, 3))
    H = hessian(lambda X: (X ** 3).sum(), Tensor(X))
    assert H.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(flat(H.data, X.shape, X.shape), np.diag(6 * X.ravel()), **EXACT)


def _ae_loss_of_W(ae, X):
    """The autoencoder's objective as a function of its encoder weight W (F.linear, so W is an input)."""
    act = {"sigmoid": Tensor.sigmoid, "tanh": Tensor.tanh, "linear": lambda a: a}
    def loss(W):
        h = act[ae.encoder_activation](F.linear(Tensor(X), W, ae.encoder.bias))
        a2 = F.linear(h, ae.decoder.weight, ae.decoder.bias)
        if ae.loss_name == "bce":
            return F.binary_cross_entropy_with_logits(a2, Tensor(X), reduction="batchmean")
        return F.mse_loss(act[ae.decoder_activation](a2), Tensor(X), reduction="batchmean")
    return loss


@pytest.mark.parametrize("encoder,decoder", [("sigmoid", "linear"), ("tanh", "sigmoid"), ("sigmoid", "tanh")])
def test_hessian_of_the_autoencoder_loss_wrt_W_matches_central_differences_of_the_gradient(encoder, decoder):
    ae = tg.Autoencoder(n_inputs=4, n_hidden=3, encoder=encoder, decoder=decoder, dtype=np.float64, seed=0)
    X = rng(1).uniform(0, 1, (5, 4))
    loss = _ae_loss_of_W(ae, X)
    W = ae.encoder.weight.data.copy()
    # the function differentiated is the lecture's loss, and its gradient the slides' closed form
    assert loss(Tensor(W)).item() == pytest.approx(ae.loss(X).item(), rel=1e-14)
    params = [p.data for p in (ae.encoder.weight, ae.encoder.bias, ae.decoder.weight, ae.decoder.bias)]
    Wt = Tensor(W, requires_grad=True)
    np.testing.assert_allclose(tg.grad(loss(Wt), Wt)[0].data,
                               ref.gradients(X, *params, encoder=encoder, decoder=decoder)["W"], **EXACT)

    def gradient(W_array):
        Wt = Tensor(W_array, requires_grad=True)
        return tg.grad(loss(Wt), Wt)[0].data

    H = hessian(loss, Tensor(W))
    assert H.shape == (3, 4, 3, 4)
    np.testing.assert_allclose(H.data, numerical_jacobian(gradient, W), **NUMERIC)
    Hf = flat(H.data, W.shape, W.shape)
    np.testing.assert_allclose(Hf, Hf.T, rtol=1e-12, atol=1e-14)


def test_hessian_with_tuple_inputs_has_blocks_in_i_plus_in_j():
    a, b = rng().standard_normal(3), rng(1).standard_normal((2, 3))
    f = lambda a, b: ((b @ a).tanh() * (a * a).sum()).sum()
    H = hessian(f, (Tensor(a), Tensor(b)))
    assert [[H[i][j].shape for j in range(2)] for i in range(2)] == [[(3, 3), (3, 2, 3)], [(2, 3, 3), (2, 3, 2, 3)]]

    def gradient(a_array, b_array):
        at, bt = Tensor(a_array, requires_grad=True), Tensor(b_array, requires_grad=True)
        return tuple(g.data for g in tg.grad(f(at, bt), (at, bt)))

    for j, x in enumerate((a, b)):
        for i in range(2):
            gi = lambda z, i=i, j=j: gradient(*((z, b) if j == 0 else (a, z)))[i]
            np.testing.assert_allclose(H[i][j].data, numerical_jacobian(gi, x), **NUMERIC)
    np.testing.assert_allclose(flat(H[0][1].data, a.shape, b.shape), flat(H[1][0].data, b.shape, a.shape).T, **EXACT)


def test_second_derivative_of_sigmoid_is_s_times_one_minus_s_times_one_minus_two_s():
    x = Tensor(np.linspace(-6, 6, 25), requires_grad=True)
    s = x.sigmoid()
    (first,) = tg.grad(s.sum(), x, create_graph=True)
    (second,) = tg.grad(first.sum(), x)
    sv = s.data
    np.testing.assert_allclose(first.data, sv * (1 - sv), **EXACT)
    np.testing.assert_allclose(second.data, sv * (1 - sv) * (1 - 2 * sv), **EXACT)


# ----- hvp, vhp, jvp, vjp against the full matrices ------------------------------------------------

def _smooth(x, y):
    return ((x @ y).sigmoid() * x.sum(axis=1, keepdims=True)).sum() + (y ** 3).sum() * 0.1


def test_hvp_and_vhp_equal_the_hessian_times_v():
    x, y = rng().standard_normal((2, 3)), rng(1).standard_normal((3, 2))
    vx, vy = rng(2).standard_normal((2, 3)), rng(3).standard_normal((3, 2))
    H = hessian(_smooth, (Tensor(x), Tensor(y)))
    shapes = (x.shape, y.shape)
    expected = [sum(flat(H[i][j].data, shapes[i], shapes[j]) @ v.ravel() for j, v in enumerate((vx, vy)))
                for i in range(2)]
    for fn in (hvp, vhp):
        value, (px, py) = fn(_smooth, (Tensor(x), Tensor(y)), (Tensor(vx), Tensor(vy)))
        assert value.item() == pytest.approx(values(_smooth)(x, y).item(), rel=1e-15)
        assert px.shape == x.shape and py.shape == y.shape
        np.testing.assert_allclose(px.data.ravel(), expected[0], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(py.data.ravel(), expected[1], rtol=1e-12, atol=1e-13)


def test_hvp_of_a_single_input():
    x, v = rng().standard_normal(5), rng(1).standard_normal(5)
    f = lambda x: (x.tanh() ** 2).sum()
    _, hv = hvp(f, Tensor(x), Tensor(v))
    np.testing.assert_allclose(hv.data, hessian(f, Tensor(x)).data @ v, rtol=1e-12, atol=1e-14)


def _two_outputs(x, y):
    return (x @ y).tanh(), (x * x).sum(axis=0) * y.sum()


def test_jvp_equals_the_jacobian_times_v_and_vjp_equals_v_times_the_jacobian():
    x, y = rng().standard_normal((2, 3)), rng(1).standard_normal((3, 2))
    vx, vy = rng(2).standard_normal((2, 3)), rng(3).standard_normal((3, 2))
    J = jacobian(_two_outputs, (Tensor(x), Tensor(y)))
    outs = [o.data for o in _two_outputs(Tensor(x), Tensor(y))]
    ins = (x, y)

    outputs, (jx, jy) = jvp(_two_outputs, (Tensor(x), Tensor(y)), (Tensor(vx), Tensor(vy)))
    for i, (o, jv) in enumerate(zip(outs, (jx, jy))):
        assert jv.shape == o.shape
        np.testing.assert_allclose(outputs[i].data, o, **EXACT)
        expected = sum(flat(J[i][j].data, o.shape, ins[j].shape) @ v.ravel() for j, v in enumerate((vx, vy)))
        np.testing.assert_allclose(jv.data.ravel(), expected, rtol=1e-12, atol=1e-14)

    u = [rng(4).standard_normal(o.shape) for o in outs]
    outputs, (gx, gy) = vjp(_two_outputs, (Tensor(x), Tensor(y)), tuple(Tensor(a) for a in u))
    for j, g in enumerate((gx, gy)):
        assert g.shape == ins[j].shape
        expected = sum(u[i].ravel() @ flat(J[i][j].data, outs[i].shape, ins[j].shape) for i in range(2))
        np.testing.assert_allclose(g.data.ravel(), expected, rtol=1e-12, atol=1e-14)


def test_jvp_against_central_differences_along_v():
    x, v = rng().standard_normal((3, 2)), rng(1).standard_normal((3, 2))
    f = lambda x: (x.exp() @ x.exp().T).sqrt()            # entries > 0: sqrt is smooth there
    _, jv = jvp(f, Tensor(x), Tensor(v))
    eps = 1e-6
    expected = (values(f)(x + eps * v) - values(f)(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(jv.data, expected, **NUMERIC)


def test_single_value_input_or_output_allows_v_none():
    x = Tensor(np.array(0.3))
    _, d = jvp(lambda x: x.tanh(), x)
    assert d.item() == pytest.approx(1 - np.tanh(0.3) ** 2, rel=1e-15)
    _, g = vjp(lambda x: (x * x).sum(), Tensor(np.array([1.0, 2.0])))
    np.testing.assert_array_equal(g.data, [2.0, 4.0])
    _, h = hvp(lambda x: x ** 4, Tensor(np.array([2.0])))
    assert h.data.tolist() == pytest.approx([48.0])


# ----- create_graph and detaching ------------------------------------------------------------------

def test_without_create_graph_results_are_detached():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    for out, res in (vjp(lambda x: x * x, x, np.ones(2)), jvp(lambda x: x * x, x, np.ones(2)),
                     hvp(lambda x: (x ** 3).sum(), x, np.ones(2))):
        for t in (out, res):
            assert not t.requires_grad and t._ctx is None
    for t in (jacobian(lambda x: x * x, x), hessian(lambda x: (x ** 3).sum(), x)):
        assert not t.requires_grad and t._ctx is None
    assert x.grad is None                       # nothing touched the caller's .grad


def test_create_graph_results_can_be_differentiated_again():
    W, x = rng().standard_normal((3, 4)), rng(1).standard_normal(4)
    xt = Tensor(x, requires_grad=True)
    J = jacobian(lambda x: (Tensor(W) @ x).tanh(), xt, create_graph=True)
    assert J.requires_grad
    (g,) = tg.grad((J * J).sum(), xt)             # d ||J||_F^2 / dx
    norm = lambda x: np.sum(((1 - np.tanh(W @ x) ** 2)[:, None] * W) ** 2)
    np.testing.assert_allclose(g.data, numerical_jacobian(norm, x), **NUMERIC)

    # third derivative: d/dx trace(H) of sum(x^4) = d/dx sum(12 x^2) = 24 x
    H = hessian(lambda x: (x ** 4).sum(), xt, create_graph=True)
    (g3,) = tg.grad((H * Tensor(np.eye(4))).sum(), xt)
    np.testing.assert_allclose(g3.data, 24 * x, **EXACT)

    # hvp, jvp and vjp stay connected to an input that is itself computed from a leaf (y = 2 x)
    v = np.arange(4.0)
    for fn, expected in ((lambda y: hvp(lambda y: (y ** 3).sum(), y, v, create_graph=True)[1], 12 * v),
                         (lambda y: jvp(lambda y: y ** 3, y, v, create_graph=True)[1], 24 * x * v),
                         (lambda y: vjp(lambda y: y ** 3, y, v, create_graph=True)[1], 24 * x * v)):
        result = fn(xt * 2)
        assert result.requires_grad
        (g,) = tg.grad(result.sum(), xt)
        np.testing.assert_allclose(g.data, expected, **EXACT)


def test_create_graph_with_v_that_requires_grad():
    x = Tensor(np.array([1.0, -2.0]))
    v = Tensor(np.array([0.5, 3.0]), requires_grad=True)
    _, jv = jvp(lambda x: x ** 3, x, v, create_graph=True)       # 3 x^2 v
    (gv,) = tg.grad(jv.sum(), v)
    np.testing.assert_allclose(gv.data, 3 * x.data ** 2, **EXACT)


# ----- errors --------------------------------------------------------------------------------------

def test_v_of_the_wrong_shape_names_both_shapes():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"vjp: v has shape \(3,\) but the output has shape \(2, 3\)"):
        vjp(lambda x: x * 2, x, np.ones(3))
    with pytest.raises(ValueError, match=r"jvp: v has shape \(3, 2\) but the input has shape \(2, 3\)"):
        jvp(lambda x: x * 2, x, np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"hvp: v 1 has shape \(2,\) but the input 1 has shape \(3,\)"):
        hvp(lambda a, b: (a * a).sum() + b.sum(), (x, Tensor(np.ones(3))), (np.ones((2, 3)), np.ones(2)))
    with pytest.raises(ValueError, match="v has 1 entries but there are 2 outputs"):
        vjp(lambda x: (x, x), x, np.ones((2, 3)))


def test_v_none_needs_a_single_value():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"vjp: v=None .* output has shape \(2, 3\)"):
        vjp(lambda x: x * 2, x)
    with pytest.raises(ValueError, match=r"jvp: v=None .* input shapes are \(2, 3\)"):
        jvp(lambda x: x * 2, x)
    with pytest.raises(ValueError, match=r"hvp: v=None"):
        hvp(lambda x: x.sum(), x)


def test_second_order_functions_need_a_single_value_function():
    x = Tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"hessian: .* output has shape \(3,\)"):
        hessian(lambda x: x * x, x)
    with pytest.raises(ValueError, match=r"hvp: .* output has shape \(3,\)"):
        hvp(lambda x: x * x, x, np.ones(3))


def test_func_must_return_tensors_and_inputs_must_be_tensors_or_arrays():
    with pytest.raises(TypeError, match="func must return a Tensor"):
        jacobian(lambda x: x.data * 2, Tensor(np.ones(2)))
    with pytest.raises(TypeError, match="vjp: inputs must be a Tensor, an array"):
        vjp(lambda x: x, "abc")


# ----- the contractive penalty through the generic Jacobian ----------------------------------------

def _penalty_through_jacobian(X, W, b, encoder):
    """(1/m) sum_i ||dh_i/dx_i||_F^2 with the Jacobian of the whole batch: h_i depends only on x_i,
    so the (m, k, m, n) Jacobian's off-diagonal blocks are 0 and its squared norm is the sum."""
    J = jacobian(lambda X: getattr(F.linear(X, W, b), encoder)(), Tensor(X), create_graph=True)
    assert J.shape == (X.shape[0], W.shape[0]) + X.shape
    return (J * J).sum() * (1.0 / X.shape[0])


def _penalty_through_double_backward(X, W, b, encoder):
    """The same with one backward pass per hidden unit j (rows i of d h_j / d X are example i's)."""
    Xt = Tensor(X, requires_grad=True)
    h = getattr(F.linear(Xt, W, b), encoder)()
    total = None
    for j in range(W.shape[0]):
        one_hot = np.zeros(h.shape)
        one_hot[:, j] = 1
        (rows,) = tg.grad(h, Xt, one_hot, create_graph=True)       # row i: d h_ij / d x_i
        term = (rows * rows).sum()
        total = term if total is None else total + term
    return total * (1.0 / X.shape[0])


@pytest.mark.parametrize("encoder", ref.CONTRACTIVE_ENCODERS)
@pytest.mark.parametrize("generic", [_penalty_through_jacobian, _penalty_through_double_backward])
def test_contractive_penalty_and_its_gradient_equal_the_closed_form(encoder, generic):
    X = rng(1).standard_normal((5, 4))
    ae = tg.Autoencoder(n_inputs=4, n_hidden=3, encoder=encoder, dtype=np.float64, seed=0)
    W, b = ae.encoder.weight, ae.encoder.bias
    penalty = generic(X, W, b, encoder)
    assert penalty.item() == pytest.approx(ref.contractive_penalty(X, W.data, b.data, encoder), rel=1e-12)
    h = ae.encode(X).data
    d = h * (1 - h) if encoder == "sigmoid" else 1 - h * h
    assert penalty.item() == pytest.approx(np.mean((d ** 2) @ (W.data ** 2).sum(axis=1)), rel=1e-12)
    dW, db = tg.grad(penalty, (W, b))
    closed = ref.contractive_penalty_grads(X, W.data, b.data, encoder)
    np.testing.assert_allclose(dW.data, closed["W"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(db.data, closed["b"], rtol=0, atol=1e-10)
    assert W.grad is None and b.grad is None


# ----- grad mode is per thread ---------------------------------------------------------------------

def _train_steps(n_steps=3):
    ae = tg.Autoencoder(n_inputs=4, n_hidden=3, dtype=np.float64, seed=0)
    opt = tg.optim.SGD(ae.parameters(), lr=0.1)
    X = rng(2).standard_normal((8, 4))
    losses = []
    for _ in range(n_steps):
        opt.zero_grad()
        loss = ae.loss(X)
        assert loss.requires_grad and tg.is_grad_enabled()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_no_grad_in_one_thread_does_not_stop_another_from_training():
    """Thread A holds no_grad() open while thread B trains, then B holds it while A trains; barriers
    make each phase overlap the other thread's."""
    barrier = threading.Barrier(2, timeout=30)
    errors, seen = [], {}
    x = Tensor(np.ones(3), requires_grad=True)

    def a():
        try:
            with tg.no_grad():
                barrier.wait()                           # 1: A is inside no_grad
                barrier.wait()                           # 2: B has trained meanwhile
                seen["a_inside"] = (tg.is_grad_enabled(), (x * 2).requires_grad)
            barrier.wait()                               # 3: B enters no_grad
            seen["a_losses"] = _train_steps()
            seen["a_after"] = (tg.is_grad_enabled(), (x * 2).requires_grad)
            barrier.wait()                               # 4
        except Exception as error:                       # noqa: BLE001 (reported below)
            errors.append(error)
            barrier.abort()

    def b():
        try:
            barrier.wait()                               # 1
            seen["b_losses"] = _train_steps()
            seen["b_trained"] = (tg.is_grad_enabled(), (x * 2).requires_grad)
            barrier.wait()                               # 2
            with tg.no_grad():
                barrier.wait()                           # 3: A trains while B is inside no_grad
                barrier.wait()                           # 4
                seen["b_inside"] = (tg.is_grad_enabled(), (x * 2).requires_grad)
        except Exception as error:                       # noqa: BLE001
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert seen["a_inside"] == (False, False) and seen["b_inside"] == (False, False)
    assert seen["b_trained"] == (True, True) and seen["a_after"] == (True, True)
    assert seen["a_losses"] == seen["b_losses"] == _train_steps()     # same seed: same training
    assert tg.is_grad_enabled()                          # the main thread never left grad mode


def test_a_backward_pass_in_one_thread_does_not_turn_grad_mode_off_in_another():
    """A plain backward() runs its formulas with grad mode off. An observer holds thread B inside its
    backward pass while thread A builds a graph: A must still record it."""
    inside_backward, a_done = threading.Event(), threading.Event()
    seen, errors = {}, []
    worker = {}

    class Pause:
        def on_forward(self, ctx, inputs, out):
            pass

        def on_backward(self, ctx, out, grad, input_grads):
            if threading.current_thread() is worker.get("b") and not inside_backward.is_set():
                seen["b_mode_in_backward"] = tg.is_grad_enabled()
                inside_backward.set()
                a_done.wait(30)

    def b():
        try:
            x = Tensor(np.arange(3.0), requires_grad=True)
            ((x * x).sum()).backward()
            seen["b_grad"] = x.grad.tolist()
        except Exception as error:                       # noqa: BLE001
            errors.append(error)

    pause = Pause()
    tg.engine.tensor.add_observer(pause)
    try:
        worker["b"] = threading.Thread(target=b)
        worker["b"].start()
        assert inside_backward.wait(30)
        y = Tensor(np.ones(2), requires_grad=True)
        z = (y * 3).sum()                                # built while B is inside its backward pass
        seen["a"] = (tg.is_grad_enabled(), z.requires_grad)
        a_done.set()
        worker["b"].join(30)
        z.backward()
    finally:
        tg.engine.tensor.remove_observer(pause)
    assert not errors, errors
    assert seen["b_mode_in_backward"] is False and seen["a"] == (True, True)
    assert seen["b_grad"] == [0.0, 2.0, 4.0] and y.grad.tolist() == [3.0, 3.0]


# ----- tg.grad stops at its inputs (engine) --------------------------------------------------------

def test_grad_runs_no_op_beyond_its_inputs():
    """As in PyTorch: grad(w, y) needs nothing behind y, so a graph behind y that an earlier backward()
    spent is no obstacle, and no backward formula runs there. (Needed by create_graph=True in
    tg.autograd, whose inputs are identity views of the caller's tensors.)"""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2
    (y * y).sum().backward()                             # spends y's op
    w = (y * 3).sum()
    ran = []

    class Record:
        def on_forward(self, ctx, inputs, out):
            pass

        def on_backward(self, ctx, out, grad, input_grads):
            ran.append(ctx.name)

    record = Record()
    tg.engine.tensor.add_observer(record)
    try:
        (gy,) = tg.grad(w, y)
    finally:
        tg.engine.tensor.remove_observer(record)
    np.testing.assert_array_equal(gy.data, [3.0, 3.0])
    assert sorted(ran) == ["mul", "sum"]                  # y's own op (x * 2) did not run
    with pytest.raises(RuntimeError, match="already freed by an earlier backward"):
        (y * y).sum().backward()                         # through the spent op itself: still an error


def test_grad_with_an_input_behind_another_runs_the_ops_between_them():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x
    z = (y * 3).sum()
    gy, gx = tg.grad(z, (y, x))
    np.testing.assert_array_equal(gy.data, [3.0, 3.0])
    np.testing.assert_array_equal(gx.data, [6.0, 12.0])


def test_float32_stays_float32_through_every_transform():
    x = Tensor(np.array([0.5, -1.0], dtype=np.float32))
    v = np.array([1.0, 2.0])                              # a float64 v is cast to the input's dtype
    f = lambda x: (x.tanh() ** 3).sum()
    results = [*vjp(f, x), *jvp(lambda x: x.tanh(), x, v), jacobian(lambda x: x.tanh(), x),
               hessian(f, x), *hvp(f, x, v), *vhp(f, x, v)]
    assert [r.dtype for r in results] == [np.float32] * len(results)
