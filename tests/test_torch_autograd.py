"""tg.autograd with torch.autograd's names: Function (torch's style: static forward/backward, ctx), grad,
backward, Variable. Each feature runs the same program here and in PyTorch (float64: values and
gradients equal to 1e-12; skipped, saying so, without torch), with torch's documentation examples
(Exp, LegendrePolynomial3, MulConstant, LinearFunction) as the programs; then the error messages."""
import warnings

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor
from tinygrad_ae.autograd import Function

from helpers import close

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="compares tg.autograd with PyTorch; pip install torch to run it")


def same(ours, theirs):
    """ours (a Tensor or an array) equals theirs (a torch tensor) in float64, to 1e-12."""
    ours = ours.data if isinstance(ours, Tensor) else np.asarray(ours)
    theirs = theirs.detach().numpy()
    assert ours.dtype == theirs.dtype == np.float64
    return close(ours, theirs, rtol=1e-12)


def pair(array, requires_grad=True):
    """The same float64 values as a Tensor and as a torch tensor, both leaves."""
    array = np.array(array, dtype=np.float64)
    return Tensor(array.copy(), requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


# ----- the programs: torch's documentation examples, written once per framework ---------------------------

def exp_function(base):
    """torch.autograd.Function's own example: the output saved, the gradient grad_output * result."""
    class Exp(base):
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            result, = ctx.saved_tensors
            return grad_output * result
    return Exp


def legendre_function(base):
    """"Learning PyTorch with Examples": P3(x) = (5x^3 - 3x)/2, its input saved."""
    class LegendrePolynomial3(base):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)
    return LegendrePolynomial3


def mul_constant_functions(base):
    """"Extending PyTorch": a non-tensor argument, its gradient None; in torch 2's setup_context style and
    in the style with ctx in forward."""
    class MulConstant(base):
        @staticmethod
        def forward(tensor, constant):
            return tensor * constant

        @staticmethod
        def setup_context(ctx, inputs, output):
            tensor, constant = inputs
            ctx.constant = constant

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.constant, None

    class MulConstantCtx(base):
        @staticmethod
        def forward(ctx, tensor, constant):
            ctx.constant = constant
            return tensor * constant

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.constant, None
    return MulConstant, MulConstantCtx


def linear_function(base, matmul, transpose):
    """"Extending PyTorch"'s LinearFunction: needs_input_grad, an optional bias (None passes through)."""
    class LinearFunction(base):
        @staticmethod
        def forward(ctx, input, weight, bias=None):
            ctx.save_for_backward(input, weight, bias)
            output = matmul(input, transpose(weight))
            if bias is not None:
                output = output + bias
            return output

        @staticmethod
        def backward(ctx, grad_output):
            input, weight, bias = ctx.saved_tensors
            grad_input = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0]:
                grad_input = matmul(grad_output, weight)
            if ctx.needs_input_grad[1]:
                grad_weight = matmul(transpose(grad_output), input)
            if bias is not None and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum(0)
            return grad_input, grad_weight, grad_bias
    return LinearFunction


def tanh_scaled_function(base):
    """A backward built from differentiable Tensor ops on the input and the output: y = tanh(x) * s,
    dy/dx = s (1 - tanh(x)^2), with the output reused (y / s = tanh x)."""
    class TanhScaled(base):
        @staticmethod
        def forward(ctx, x, s):
            y = x.tanh() * s
            ctx.save_for_backward(x, y, s)
            return y

        @staticmethod
        def backward(ctx, grad_output):
            x, y, s = ctx.saved_tensors
            t = y / s
            return grad_output * s * (1 - t * t), (grad_output * t).sum()
    return TanhScaled


def split_function(base):
    """Two differentiable outputs of different shapes and a mask marked non-differentiable."""
    class Split(base):
        @staticmethod
        def forward(ctx, x):
            doubled, total = x * 2, (x * x).sum()
            positive = (x.data > 0).astype(np.float64) if base is Function else (x > 0).double()
            positive = Tensor(positive) if base is Function else positive
            ctx.mark_non_differentiable(positive)
            ctx.save_for_backward(x)
            return doubled, total, positive

        @staticmethod
        def backward(ctx, grad_doubled, grad_total, grad_positive):
            x, = ctx.saved_tensors
            return grad_doubled * 2 + grad_total * 2 * x
    return Split


# ----- Function against torch ------------------------------------------------------------------------------

@needs_torch
def test_exp_example_values_gradients_and_second_derivative_equal_torchs():
    ours_fn, theirs_fn = exp_function(Function), exp_function(torch.autograd.Function)
    x, tx = pair(np.linspace(-1, 1, 5))
    y, ty = ours_fn.apply(x), theirs_fn.apply(tx)
    assert same(y, ty) and y.grad_fn.name == ty.grad_fn.name() == "ExpBackward"
    w = np.linspace(0.5, 1.5, 5)
    (g,) = tg.autograd.grad((y * w).sum(), x, create_graph=True)
    (tg_,) = torch.autograd.grad((ty * torch.tensor(w)).sum(), tx, create_graph=True)
    assert same(g, tg_) and g.requires_grad
    (h,) = tg.autograd.grad((g * g).sum(), x)      # through the saved output: the node runs again
    (th,) = torch.autograd.grad((tg_ * tg_).sum(), tx)
    assert same(h, th)


@needs_torch
def test_legendre_polynomial_fit_follows_torchs_loss_trajectory():
    """"Learning PyTorch with Examples" (the custom autograd Function), 60 steps in float64 in both."""
    xs = np.linspace(-np.pi, np.pi, 2000)
    ys = np.sin(xs)
    start = [0.0, -1.0, 0.0, 0.3]
    learning_rate = 5e-6

    P3 = legendre_function(Function)
    x, y = Tensor(xs), Tensor(ys)
    a, b, c, d = (Tensor(np.array(v), requires_grad=True) for v in start)
    ours = []
    for _ in range(60):
        y_pred = a + b * P3.apply(c + d * x)
        loss = ((y_pred - y) ** 2).sum()
        ours.append(loss.item())
        loss.backward()
        with tg.no_grad():
            for p in (a, b, c, d):
                p.data -= learning_rate * p.grad
                p.grad = None

    TP3 = legendre_function(torch.autograd.Function)
    tx, ty = torch.tensor(xs), torch.tensor(ys)
    ta, tb, tc, td = (torch.full((), v, dtype=torch.float64, requires_grad=True) for v in start)
    theirs = []
    for _ in range(60):
        y_pred = ta + tb * TP3.apply(tc + td * tx)
        loss = (y_pred - ty).pow(2).sum()
        theirs.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in (ta, tb, tc, td):
                p -= learning_rate * p.grad
                p.grad = None

    assert ours[-1] < 0.6 * ours[0]                                 # it learns
    assert close(ours, theirs, rtol=1e-12)
    assert all(close(p.data, tp.detach().numpy(), rtol=1e-12) for p, tp in zip((a, b, c, d), (ta, tb, tc, td)))


@needs_torch
@pytest.mark.parametrize("which", [0, 1], ids=["setup_context", "ctx_in_forward"])
def test_mul_constant_non_tensor_argument_gets_no_gradient(which):
    ours_fn = mul_constant_functions(Function)[which]
    theirs_fn = mul_constant_functions(torch.autograd.Function)[which]
    x, tx = pair([[1.0, -2.0], [0.5, 3.0]])
    y, ty = ours_fn.apply(x, 2.5), theirs_fn.apply(tx, 2.5)
    assert same(y, ty)
    w = np.array([[1.0, 2.0], [3.0, 4.0]])
    (y * w).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert same(x.grad, tx.grad)


@needs_torch
def test_setup_context_sees_forwards_defaults_as_torch_does():
    seen = []

    def make(base):
        class Shift(base):
            @staticmethod
            def forward(x, shift=0.5, scale=2.0):
                return x * scale + shift

            @staticmethod
            def setup_context(ctx, inputs, output):
                seen.append(len(inputs))
                ctx.scale = inputs[2]

            @staticmethod
            def backward(ctx, grad_output):
                return grad_output * ctx.scale, None, None
        return Shift

    x, tx = pair([1.0, -1.0])
    y, ty = make(Function).apply(x, scale=3.0), make(torch.autograd.Function).apply(tx, scale=3.0)
    assert same(y, ty) and seen == [3, 3]
    y.sum().backward()
    ty.sum().backward()
    assert same(x.grad, tx.grad)


@needs_torch
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("wants", [(True, True, True), (False, True, True), (True, False, False)])
def test_linear_function_needs_input_grad_and_optional_bias(with_bias, wants):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)]
    ours = [Tensor(a.copy(), requires_grad=r) for a, r in zip(arrays, wants)]
    theirs = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, wants)]
    if not with_bias:
        ours[2] = theirs[2] = None
    seen = []

    def record(base, matmul, transpose):
        fn = linear_function(base, matmul, transpose)
        backward = fn.backward

        def spy(ctx, grad_output):
            seen.append(tuple(ctx.needs_input_grad))
            return backward(ctx, grad_output)
        fn.backward = staticmethod(spy)
        return fn

    ours_fn = record(Function, lambda p, q: p @ q, lambda t: t.T)
    theirs_fn = record(torch.autograd.Function, torch.mm, torch.t)
    y, ty = ours_fn.apply(*ours), theirs_fn.apply(*theirs)
    assert same(y, ty)
    w = rng.standard_normal((4, 2))
    (y * w).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert seen[0] == seen[1] == (wants[0], wants[1], with_bias and wants[2])
    for t, tt in zip(ours, theirs):
        if t is None:
            continue
        assert (t.grad is None) == (tt.grad is None)
        if t.grad is not None:
            assert same(t.grad, tt.grad)


@needs_torch
def test_second_derivatives_through_input_output_and_a_tensor_argument_equal_torchs():
    """A backward written with Tensor ops on the saved input, output and a second tensor argument,
    differentiated again (create_graph=True), twice over: all of it as torch computes it."""
    ours_fn, theirs_fn = tanh_scaled_function(Function), tanh_scaled_function(torch.autograd.Function)
    x, tx = pair([-1.5, -0.2, 0.4, 2.0])
    s, ts = pair(1.7)
    y, ty = ours_fn.apply(x, s), theirs_fn.apply(tx, ts)
    assert same(y, ty)
    first = tg.autograd.grad((y * y).sum(), (x, s), create_graph=True)
    tfirst = torch.autograd.grad((ty * ty).sum(), (tx, ts), create_graph=True)
    assert all(same(g, tg_) for g, tg_ in zip(first, tfirst))
    second = tg.autograd.grad(first[0].sum() + first[1] * 3, (x, s), create_graph=True)
    tsecond = torch.autograd.grad(tfirst[0].sum() + tfirst[1] * 3, (tx, ts), create_graph=True)
    assert all(same(g, tg_) for g, tg_ in zip(second, tsecond))
    third = tg.autograd.grad(second[0].sum(), x)
    tthird = torch.autograd.grad(tsecond[0].sum(), tx)
    assert same(third[0], tthird[0])


@needs_torch
def test_several_outputs_and_a_non_differentiable_one_equal_torchs():
    ours_fn, theirs_fn = split_function(Function), split_function(torch.autograd.Function)
    x, tx = pair([[-1.0, 2.0, 0.5], [3.0, -0.25, 1.0]])
    doubled, total, positive = ours_fn.apply(x)
    tdoubled, ttotal, tpositive = theirs_fn.apply(tx)
    assert same(doubled, tdoubled) and same(total, ttotal) and same(positive, tpositive)
    assert doubled.shape == (2, 3) and total.shape == () and not positive.requires_grad
    assert doubled.requires_grad and total.requires_grad
    w = np.arange(6.0).reshape(2, 3)
    ((doubled * w).sum() + total * 0.5).backward()
    ((tdoubled * torch.tensor(w)).sum() + ttotal * 0.5).backward()
    assert same(x.grad, tx.grad)
    (only_total,) = tg.autograd.grad(ours_fn.apply(x)[1], x)           # the other output's gradient: zeros
    (tonly_total,) = torch.autograd.grad(theirs_fn.apply(tx)[1], tx)
    assert same(only_total, tonly_total)


@needs_torch
def test_a_function_inside_hessian_and_jacobian_equals_torchs():
    ours_fn, theirs_fn = legendre_function(Function), legendre_function(torch.autograd.Function)
    x = np.array([0.3, -0.7, 1.1])
    H = tg.autograd.functional.hessian(lambda t: (ours_fn.apply(t) * t).sum(), Tensor(x))
    tH = torch.autograd.functional.hessian(lambda t: (theirs_fn.apply(t) * t).sum(), torch.tensor(x))
    assert same(H, tH)
    J = tg.autograd.functional.jacobian(lambda t: ours_fn.apply(t.tanh()), Tensor(x))
    tJ = torch.autograd.functional.jacobian(lambda t: theirs_fn.apply(t.tanh()), torch.tensor(x))
    assert same(J, tJ)


# ----- Function: gradcheck, gradgradcheck, and the engine's rules --------------------------------------

@pytest.mark.parametrize("make", [exp_function, legendre_function, tanh_scaled_function], ids=lambda f: f.__name__)
def test_gradcheck_and_gradgradcheck_of_functions_with_differentiable_backwards(make):
    fn = make(Function)
    if make is tanh_scaled_function:
        arrays = (np.array([-1.2, 0.1, 0.9]), np.array(1.3))
    else:
        arrays = (np.array([[0.2, -0.6], [0.9, -1.1]]),)
    assert tg.gradcheck(lambda *ts: fn.apply(*ts), *arrays)
    assert tg.gradgradcheck(lambda *ts: fn.apply(*ts), *arrays)


def test_gradgradcheck_finds_a_backward_that_leaves_the_graph():
    """A backward that reads .data is right once and wrong when differentiated again: gradgradcheck says so."""
    class LeakyExp(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.exp()

        @staticmethod
        def backward(ctx, grad_output):
            x, = ctx.saved_tensors
            return grad_output * np.exp(x.data)             # a constant: no second derivative recorded

    x = np.array([0.3, -0.4])
    assert tg.gradcheck(lambda t: LeakyExp.apply(t), x)
    with pytest.raises(AssertionError):
        tg.gradgradcheck(lambda t: LeakyExp.apply(t), x)


def test_forward_runs_under_no_grad_and_ctx_keeps_any_attribute():
    seen = {}

    class Scale(Function):
        @staticmethod
        def forward(ctx, x, alpha, name=None, *, shift=0.0):
            seen["grad mode"] = tg.is_grad_enabled()
            seen["needs"] = ctx.needs_input_grad
            ctx.alpha, ctx.name = alpha, name
            return x * alpha + shift

        @staticmethod
        def backward(ctx, grad_output):
            seen["attributes"] = (ctx.alpha, ctx.name)
            return grad_output * ctx.alpha, None, None

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = Scale.apply(x, 3.0, "three", shift=1.0)
    assert seen["grad mode"] is False and seen["needs"] == (True, False, False)
    np.testing.assert_array_equal(y.data, [4.0, 7.0])
    y.sum().backward()
    assert seen["attributes"] == (3.0, "three")
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_no_graph_under_no_grad_or_without_inputs_that_require_grad():
    Exp = exp_function(Function)
    x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    with tg.no_grad():
        y = Exp.apply(x)
    assert not y.requires_grad and y.grad_fn is None
    z = Exp.apply(Tensor(np.array([0.0, 1.0])))
    assert not z.requires_grad and z.grad_fn is None
    np.testing.assert_allclose(z.data, np.exp([0.0, 1.0]))


def test_graph_is_freed_after_backward_unless_retained():
    Exp = exp_function(Function)
    x = Tensor(np.array([0.5]), requires_grad=True)
    y = Exp.apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp([0.5]))
    with pytest.raises(RuntimeError, match="freed"):
        y.backward()


def test_a_backward_returning_its_grad_output_does_not_alias_two_leaves_gradients():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    c = Tensor(np.array([5.0, 6.0]))
    out = ((Identity.apply(a) + Identity.apply(b)) * c).sum()   # one array, grad * c, reaches both
    out.backward(retain_graph=True)
    assert not np.shares_memory(a.grad, b.grad)
    out.backward()                                                  # adds into each .grad in place
    np.testing.assert_array_equal(a.grad, [10.0, 12.0])
    np.testing.assert_array_equal(b.grad, [10.0, 12.0])


def test_a_broadcast_gradient_is_summed_back_as_torch_does():
    class Broadcasting(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * Tensor(np.ones((4, 3)))   # (4, 3) for an input of shape (3,)

    x = Tensor(np.zeros(3), requires_grad=True)
    Broadcasting.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 4.0, 4.0])


def test_the_node_is_seen_by_trace():
    Exp = exp_function(Function)
    x = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    with tg.trace() as t:
        Exp.apply(x).sum().backward()
    assert "ExpBackward" in str(t)


def test_a_step_with_functions_compiles_and_replays_as_the_eager_step_bit_for_bit():
    P3, Split = legendre_function(Function), split_function(Function)

    def make():
        w = Tensor(np.array([0.1, -0.2, 0.3]), requires_grad=True)

        def step(x):
            doubled, total, positive = Split.apply(P3.apply(x * w))
            loss = (doubled * positive).sum() + total
            loss.backward()
            with tg.no_grad():
                w.data -= 0.01 * w.grad
            w.grad = None
            return loss
        return w, step

    (w, eager), (w_compiled, step) = make(), make()
    compiled = tg.compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                              # (a step that cannot replay warns)
        for i in range(6):
            x = Tensor(np.linspace(-1.0, 1.0, 3) * (i + 1) / 6)
            assert eager(x).item() == compiled(x).item()
            np.testing.assert_array_equal(w.data, w_compiled.data)
    assert compiled.program is not None


# ----- Function: the errors --------------------------------------------------------------------------------

def returning(result, arguments=1):
    """A Function of `arguments` Tensors whose backward returns result(grad_output)."""
    class Returning(Function):
        @staticmethod
        def forward(ctx, *xs):
            return sum(xs[1:], xs[0] * 2)

        @staticmethod
        def backward(ctx, grad_output):
            return result(grad_output)
    return Returning


def run(fn, *args):
    fn.apply(*args).sum().backward()


def test_a_bare_array_is_refused_naming_the_function_and_what_it_returned():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Returning\.backward returned a numpy array of shape \(3,\) as the "
                                           r"gradient of argument 0; return a Tensor"):
        run(returning(lambda g: np.ones(3)), x)
    with pytest.raises(RuntimeError, match=r"Returning\.backward returned a float as the gradient"):
        run(returning(lambda g: 3.0), x)


def test_a_bare_tensor_for_several_arguments_is_refused():
    x, y = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Returning\.backward returned a Tensor of shape \(3,\), but forward "
                                           r"took 2 arguments: return a tuple of 2 gradients"):
        run(returning(lambda g: g, arguments=2), x, y)
    run(returning(lambda g: g), x)                                   # one argument: a bare Tensor is fine
    np.testing.assert_array_equal(x.grad, np.ones(3))


def test_the_wrong_number_of_gradients_is_refused():
    x, y = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Returning\.backward returned 3 gradients \(a Tensor of shape "
                                           r"\(3,\), a Tensor of shape \(3,\), a Tensor of shape \(3,\)\), but "
                                           r"forward took 2 arguments"):
        run(returning(lambda g: (g, g, g)), x, y)
    with pytest.raises(RuntimeError, match=r"returned 1 gradients \(a Tensor of shape \(3,\)\), but forward took 2"):
        run(returning(lambda g: (g,)), x, y)
    run(returning(lambda g: (g * 2, None)), x)                      # extra Nones are allowed, as in torch
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_a_gradient_of_the_wrong_shape_is_refused():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Returning\.backward returned a gradient of shape \(\) for argument 0, "
                                           r"which has shape \(3,\)"):
        run(returning(lambda g: g.sum()), x)
    with pytest.raises(RuntimeError, match=r"shape \(3, 2\) for argument 0, which has shape \(3,\)"):
        run(returning(lambda g: Tensor(np.ones((3, 2)))), x)


def test_a_gradient_for_a_non_tensor_argument_is_refused():
    class WithConstant(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * 2, grad_output.sum()

    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"WithConstant\.backward returned a Tensor of shape \(\) as the gradient "
                                           r"of argument 1, which is not a Tensor \(a float\); return None for it"):
        WithConstant.apply(x, 2.0).sum().backward()


def test_the_errors_hold_under_create_graph_too():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Returning\.backward returned a gradient of shape \(\)"):
        tg.autograd.grad(returning(lambda g: g.sum()).apply(x).sum(), x, create_graph=True)


def test_missing_methods_misuse_and_saving_non_tensors():
    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(NotImplementedError, match="backward or vjp"):
        NoBackward.apply(x).sum().backward()
    with pytest.raises(NotImplementedError, match="forward"):
        type("NoForward", (Function,), {}).apply(x)
    with pytest.warns(DeprecationWarning, match="should not be instantiated"):
        instance = NoBackward()
    with pytest.raises(RuntimeError, match=r"call NoBackward\.apply"):
        instance(x)

    class SavesANumber(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 2.0)
            return x

    with pytest.raises(TypeError, match="save_for_backward can only save Tensors .* argument 1 is a float"):
        SavesANumber.apply(x)


def test_outputs_of_two_dtypes_are_refused_and_outputs_without_gradients_pass_through():
    class TwoDtypes(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, Tensor(x.data.astype(np.float32))

    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"TwoDtypes\.apply: forward returned differentiable outputs of dtypes "
                                           r"float32, float64"):
        TwoDtypes.apply(x)

    class Count(Function):
        @staticmethod
        def forward(ctx, x, label):
            mask = Tensor((x.data > 0).astype(np.float64))
            ctx.mark_non_differentiable(mask)
            return mask, label, int(mask.data.sum())

    mask, label, count = Count.apply(Tensor(np.array([1.0, -1.0, 2.0]), requires_grad=True), "label")
    assert not mask.requires_grad and label == "label" and count == 2


def test_vjp_is_backwards_other_name():
    class WithVjp(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 3

        @staticmethod
        def vjp(ctx, grad_output):
            return grad_output * 3

    x = Tensor(np.ones(2), requires_grad=True)
    WithVjp.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


# ----- grad and backward against torch ---------------------------------------------------------------------

def program(lib, x, y):
    """Three outputs sharing a subgraph, and an intermediate to differentiate with respect to."""
    h = (x * y).tanh() if lib is tg else torch.tanh(x * y)
    return h, (h * h).sum(), (h * x).sum() + (y * y * y).sum(), h.exp() if lib is tg else torch.exp(h)


@needs_torch
def test_grad_with_torchs_arguments_equals_torchs():
    x, tx = pair([[0.2, -0.5], [1.0, 0.3]])
    y, ty = pair([[0.7, 0.1], [-0.4, 0.9]])
    unused, tunused = pair([1.0, 2.0])
    h, a, b, c = program(tg, x, y)
    th, ta, tb, tc = program(torch, tx, ty)
    w = np.array([[1.0, 2.0], [3.0, -1.0]])

    got = tg.autograd.grad((a, b, c), (x, y), (None, Tensor(np.array(2.0)), Tensor(w)), retain_graph=True)
    want = torch.autograd.grad((ta, tb, tc), (tx, ty), (None, torch.tensor(2.0), torch.tensor(w)), retain_graph=True)
    assert all(same(g, t) for g, t in zip(got, want))

    got = tg.autograd.grad(a, {"x": x, "h": h, "unused": unused}, retain_graph=True, allow_unused=True)
    want = torch.autograd.grad(ta, {"x": tx, "h": th, "unused": tunused}, retain_graph=True, allow_unused=True)
    assert list(got) == list(want) == ["x", "h", "unused"]
    assert same(got["x"], want["x"]) and same(got["h"], want["h"]) and got["unused"] is want["unused"] is None

    got = tg.autograd.grad(a, (x, unused), retain_graph=True, materialize_grads=True)
    want = torch.autograd.grad(ta, (tx, tunused), retain_graph=True, materialize_grads=True)
    assert all(same(g, t) for g, t in zip(got, want))

    batch = np.stack([w, -w, np.eye(2)])
    got = tg.autograd.grad(c, (x, y), Tensor(batch), retain_graph=True, is_grads_batched=True)
    want = torch.autograd.grad(tc, (tx, ty), torch.tensor(batch), retain_graph=True, is_grads_batched=True)
    assert all(g.shape == (3, 2, 2) and same(g, t) for g, t in zip(got, want))

    (gx,) = tg.autograd.grad(b, x, create_graph=True)
    (tgx,) = torch.autograd.grad(tb, tx, create_graph=True)
    assert same(gx, tgx)
    assert all(same(g, t) for g, t in zip(tg.autograd.grad(gx.sum(), (x, y)), torch.autograd.grad(tgx.sum(), (tx, ty))))


def test_grad_refuses_what_torch_refuses():
    x = Tensor(np.ones(2), requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(ValueError, match="allow_unused"):
        tg.autograd.grad(y, x, materialize_grads=True, allow_unused=False)
    with pytest.raises(RuntimeError, match="inputs.* cannot be empty"):
        tg.autograd.grad(y, ())
    with pytest.warns(FutureWarning, match="only_inputs"):
        tg.autograd.grad(y, x, only_inputs=False)


@needs_torch
def test_backward_with_torchs_arguments_equals_torchs():
    x, tx = pair([[0.2, -0.5], [1.0, 0.3]])
    y, ty = pair([[0.7, 0.1], [-0.4, 0.9]])
    w = np.array([[1.0, 2.0], [3.0, -1.0]])

    h, a, b, c = program(tg, x, y)                        # several tensors, one pass over the shared graph
    th, ta, tb, tc = program(torch, tx, ty)
    tg.autograd.backward((a, c), (None, Tensor(w)))
    torch.autograd.backward((ta, tc), (None, torch.tensor(w)))
    assert same(x.grad, tx.grad) and same(y.grad, ty.grad)

    h, a, b, c = program(tg, x, y)                        # accumulates; only into `inputs`, a non-leaf too
    th, ta, tb, tc = program(torch, tx, ty)
    th.retain_grad()                                      # (torch fills a non-leaf's .grad only so)
    tg.autograd.backward(b, inputs=[y, h])
    torch.autograd.backward(tb, inputs=[ty, th])
    assert same(x.grad, tx.grad) and same(y.grad, ty.grad) and same(h.grad, th.grad)

    h, a, b, c = program(tg, x, y)                        # the single-tensor form is Tensor.backward
    th, ta, tb, tc = program(torch, tx, ty)
    tg.autograd.backward(a, retain_graph=True)
    torch.autograd.backward(ta, retain_graph=True)
    tg.autograd.backward([a], grad_tensors=[Tensor(np.array(0.5))])
    torch.autograd.backward([ta], grad_tensors=[torch.tensor(0.5)])
    assert same(x.grad, tx.grad) and same(y.grad, ty.grad)

    x2, tx2 = pair([0.3, -0.8])                           # create_graph: .grad is a graph, differentiated again
    tg.autograd.backward(((x2 ** 3).sum(), (x2 * x2).sum()), create_graph=True)
    with warnings.catch_warnings():                       # (torch warns of the cycle .grad makes)
        warnings.simplefilter("ignore", UserWarning)
        torch.autograd.backward(((tx2 ** 3).sum(), (tx2 * tx2).sum()), create_graph=True)
    assert isinstance(x2.grad, Tensor) and same(x2.grad, tx2.grad)
    assert same(tg.autograd.grad(x2.grad.sum(), x2)[0], torch.autograd.grad(tx2.grad.sum(), tx2)[0])


def test_backward_refuses_what_torch_refuses():
    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="tensor 1 does not require grad"):
        tg.autograd.backward([(x * 2).sum(), Tensor(np.array(1.0))])
    with pytest.raises(RuntimeError, match="cannot be empty"):
        tg.autograd.backward((x * 2).sum(), inputs=[])
    with pytest.raises(RuntimeError, match="both passed"), pytest.warns(FutureWarning):
        tg.autograd.backward((x * 2).sum(), grad_tensors=[None], grad_variables=[None])
    with pytest.warns(FutureWarning, match="grad_variables"):
        tg.autograd.backward((x * 2).sum(), grad_variables=[None])
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


# ----- Variable, and the names -----------------------------------------------------------------------------

@needs_torch
def test_variable_is_the_legacy_alias_of_a_tensor():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2
    v = tg.autograd.Variable(y)
    tv = torch.autograd.Variable(torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True) * 2)
    assert type(v) is Tensor and v.requires_grad is tv.requires_grad is False and v.grad_fn is None
    assert np.shares_memory(v.data, y.data)
    leaf = tg.autograd.Variable(Tensor(np.ones(2)), requires_grad=True)
    assert leaf.requires_grad and leaf.is_leaf
    assert isinstance(y, tg.autograd.Variable) and not isinstance(y.data, tg.autograd.Variable)
    assert tg.autograd.Variable().shape == torch.autograd.Variable().shape == (0,)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        tg.autograd.Variable([1.0, 2.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tg.autograd.Variable(y, volatile=True)
    assert "volatile was removed" in str(caught[0].message)


def test_the_namespace():
    assert tg.autograd.functional.vjp is tg.autograd.vjp and tg.autograd.functional.hessian is tg.autograd.hessian
    assert tg.autograd.Function is tg.autograd.function.Function
    assert tg.autograd.no_grad is tg.no_grad and tg.autograd.enable_grad is tg.enable_grad
    import tinygrad_ae.autograd.functional as functional
    assert functional is tg.autograd.functional
