"""Numerical gradients by central differences; `gradcheck`, which compares them with backward(), and
`gradgradcheck`, which does the same for the second derivative (the backward of the backward).

Shipped with the library (not hidden in the tests) so that anyone adding an op can check it.
Everything runs in float64: float32's rounding would drown the differences.
"""
import numpy as np

from .engine.functions import grad
from .engine.tensor import Tensor, enable_grad, no_grad


def _scalar_output(fn, tensors, weights):
    """fn's output reduced to a scalar: summed with fixed random weights if it is not one already,
    so that every element of the output (not just their sum) is checked."""
    out = fn(*tensors)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    return out if weights is None else (out * weights).sum()


def _output_weights(fn, arrays):
    with no_grad():
        out = fn(*[Tensor(a) for a in arrays])
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    if out.data.size == 1:
        return None
    return np.random.default_rng(0).uniform(0.5, 1.5, size=out.shape)


def numerical_grad(fn, *arrays, eps=1e-6):
    """Central differences of fn (Tensors -> Tensor) with respect to each array, in float64."""
    # C order: the perturbations go through reshape(-1), which is a view only of a C-contiguous array
    # (a transposed input would be perturbed in a copy, and its gradient read as zero)
    arrays = [np.array(a, dtype=np.float64, order="C") for a in arrays]
    weights = _output_weights(fn, arrays)
    grads = []
    with no_grad():
        for array in arrays:
            grad = np.zeros_like(array)
            flat, flat_grad = array.reshape(-1), grad.reshape(-1)  # views: writes reach array
            for i in range(flat.size):
                original = flat[i]
                flat[i] = original + eps
                up = _scalar_output(fn, [Tensor(a) for a in arrays], weights).item()
                flat[i] = original - eps
                down = _scalar_output(fn, [Tensor(a) for a in arrays], weights).item()
                flat[i] = original
                flat_grad[i] = (up - down) / (2 * eps)
            grads.append(grad)
    return grads


def gradcheck(fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Check fn's backward() against central differences for every input, in float64.

    fn takes one Tensor per array and returns a Tensor. Returns True, or raises AssertionError
    naming the input, the worst element, both values and the error.
    """
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    weights = _output_weights(fn, arrays)
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = _scalar_output(fn, tensors, weights)
    if out.requires_grad:      # otherwise fn does not depend on its inputs: every gradient is 0
        out.backward()
    expected = numerical_grad(fn, *arrays, eps=eps)
    for index, (tensor, numeric) in enumerate(zip(tensors, expected)):
        analytic = np.zeros_like(numeric) if tensor.grad is None else tensor.grad
        if analytic.shape != numeric.shape:
            raise AssertionError(f"gradcheck: input {index} has shape {numeric.shape} but its gradient "
                                 f"has shape {analytic.shape}")
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(excess > 0) or not np.all(np.isfinite(analytic)):
            worst = np.unravel_index(np.nanargmax(np.where(np.isfinite(excess), excess, np.inf)),
                                     numeric.shape)
            raise AssertionError(
                f"gradcheck: input {index} (shape {numeric.shape}): at index {tuple(int(i) for i in worst)} "
                f"backward gives {analytic[worst]!r} but central differences give {numeric[worst]!r} "
                f"(error {abs(analytic[worst] - numeric[worst]):.3g}, allowed atol={atol} + rtol={rtol}*|numeric|)")
    return True


def gradgradcheck(fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Check the second derivative of fn against central differences of its first, in float64.

    The first derivative is taken with create_graph=True and weighted by fixed random vectors into
    one number, g(x) = sum_i <w_i, d(fn)/d(x_i)>; gradcheck then compares backward() through g, which
    runs every backward formula on Tensors, with central differences of g. Returns True or raises
    AssertionError as gradcheck does."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    weights = _output_weights(fn, arrays)
    rng = np.random.default_rng(1)
    grad_weights = [rng.uniform(0.5, 1.5, size=a.shape) for a in arrays]

    def first_derivative(*tensors):
        with enable_grad():    # numerical_grad evaluates under no_grad(); g itself needs a graph
            leaves = [t if t.requires_grad else Tensor(t.data, requires_grad=True) for t in tensors]
            out = _scalar_output(fn, leaves, weights)
            if not out.requires_grad:
                return Tensor(np.zeros(()))
            grads = grad(out, leaves, create_graph=True, allow_unused=True)
            total = Tensor(np.zeros(()))
            for g, w in zip(grads, grad_weights):
                if g is not None:
                    total = total + (g * w).sum()
            return total

    return gradcheck(first_derivative, *arrays, eps=eps, atol=atol, rtol=rtol)
