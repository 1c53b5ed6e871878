"""Function transforms with torch.autograd.functional's names: vjp, jvp, jacobian, hessian, hvp, vhp.

Each takes a function of Tensors and the point to differentiate it at, and returns Tensors shaped as
PyTorch returns them:

    vjp(f, x, v)    -> (f(x), v^T J)          one backward pass
    jvp(f, x, v)    -> (f(x), J v)            two backward passes (the double-vjp trick, below)
    jacobian(f, x)  -> J, of shape f(x).shape + x.shape: one backward pass per output element
    hessian(f, x)   -> H, of shape x.shape + x.shape, for f(x) a single value
    hvp(f, x, v)    -> (f(x), H v)            two backward passes (reverse over reverse)
    vhp(f, x, v)    -> (f(x), v^T H)          the same computation: H is symmetric

`inputs` is a Tensor (or an array, converted) or a tuple of them; so is what `func` returns. With
several inputs or outputs the results are tuples (tuples of tuples for jacobian and hessian), one
entry per input (and per output). An input the function does not use gets zeros, as PyTorch's
default strict=False gives. Without create_graph the results are plain, detached Tensors; with
create_graph=True they are graphs that can be differentiated again.

Everything here is built on one engine call, `tg.grad`, so every derivative still comes from the one
table in ops.py:
  * vjp is tg.grad with v as grad_outputs;
  * jvp uses the double-vjp trick: g(u) = J^T u is linear in u, with Jacobian J^T, so the vjp of g
    with v as its grad_outputs is (J^T)^T v = J v, whatever u is. The first tg.grad runs with a dummy
    u (zeros that require grad) as grad_outputs and create_graph=True; the second differentiates its
    result with respect to u, weighted by v;
  * jacobian runs one vjp per output element, with a one-hot grad_outputs, and stacks the rows;
  * hessian is the jacobian of the gradient (computed with create_graph=True);
  * hvp differentiates the gradient once more, weighted by v: d/dx (grad f(x) . v) = v^T H, which is
    H v because a Hessian is symmetric. (PyTorch's hvp adds a third pass, the double-vjp trick again,
    to transpose exactly; for the functions this engine differentiates the two are equal, and the
    direct form is the one HIPS autograd documents at about 4x one gradient.)
"""
import numpy as np

from ..engine.functions import grad as _engine_grad
from ..engine.tensor import Tensor, enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


# ----- inputs and outputs -------------------------------------------------------------------------

def _as_tuple(value, what, fn_name):
    """(was it a tuple, the values as a tuple of Tensors). Arrays and numbers become Tensors."""
    is_tuple = isinstance(value, (tuple, list))
    values = tuple(value) if is_tuple else (value,)
    converted = []
    for i, item in enumerate(values):
        if isinstance(item, Tensor):
            converted.append(item)
        elif isinstance(item, (np.ndarray, np.generic, int, float)) and not isinstance(item, bool):
            converted.append(Tensor(item))
        else:
            where = f" (entry {i})" if is_tuple else ""
            raise TypeError(f"{fn_name}: {what}{where} must be a Tensor, an array or a tuple of them, "
                            f"got {type(item).__name__}")
    return is_tuple, tuple(converted)


def _outputs_as_tuple(outputs, fn_name):
    is_tuple = isinstance(outputs, (tuple, list))
    values = tuple(outputs) if is_tuple else (outputs,)
    for i, out in enumerate(values):
        if not isinstance(out, Tensor):
            where = f" (entry {i})" if is_tuple else ""
            raise TypeError(f"{fn_name}: func must return a Tensor or a tuple of Tensors, but its output{where} "
                            f"is a {type(out).__name__}; build it from the input Tensors' operations")
    return is_tuple, values


def _prepare_inputs(inputs, create_graph):
    """The Tensors func is called with. Each is a leaf that requires grad, cut from the caller's graph,
    unless create_graph=True and the caller's tensor requires grad: then it is an identity view of it
    (PyTorch's view_as), so the results stay connected to the caller's graph."""
    prepared = []
    for x in inputs:
        if create_graph and x.requires_grad:
            prepared.append(x.reshape(x.shape))            # a recorded identity
        else:
            prepared.append(Tensor(x.data, requires_grad=True))
    return tuple(prepared)


def _prepare_v(v, references, fn_name, what):
    """v as a tuple of Tensors, one per reference tensor (the outputs or the inputs), each of its
    reference's shape and dtype."""
    _, v = _as_tuple(v, "v", fn_name)
    if len(v) != len(references):
        raise ValueError(f"{fn_name}: v has {len(v)} entries but there are {len(references)} {what}s; "
                         f"give one v per {what}")
    prepared = []
    for i, (vi, ref) in enumerate(zip(v, references)):
        if vi.shape != ref.shape:
            where = f" {i}" if len(references) > 1 else ""
            raise ValueError(f"{fn_name}: v{where} has shape {vi.shape} but the {what}{where} has shape "
                             f"{ref.shape}; v must have the {what}'s shape")
        if not (vi.requires_grad and vi.dtype == ref.dtype):  # a v that requires grad keeps its graph
            vi = Tensor(np.asarray(vi.data, dtype=ref.dtype))
        prepared.append(vi)
    return tuple(prepared)


def _check_single_input_value(inputs, fn_name):
    if len(inputs) != 1 or inputs[0].numel() != 1:
        shapes = ", ".join(str(x.shape) for x in inputs)
        raise ValueError(f"{fn_name}: v=None is only allowed when the input is a single value, but the "
                         f"input shapes are {shapes}; pass v with the input's shape")


def _check_single_value(out, fn_name, reason):
    if out.numel() != 1:
        raise ValueError(f"{fn_name}: {reason}, but func's output has shape {out.shape}; "
                         "reduce it to a single value (e.g. .sum())")


def _grad(outputs, inputs, grad_outputs, create_graph):
    """tg.grad restricted to the outputs that require grad: None for every input when none does,
    and None (not an error) for an input no output depends on."""
    kept = [(out, g) for out, g in zip(outputs, grad_outputs) if out is not None and out.requires_grad]
    if not kept:
        return (None,) * len(inputs)
    outs, gs = zip(*kept)
    return _engine_grad(outs, inputs, gs, retain_graph=True, create_graph=create_graph, allow_unused=True)


def _zeros_for_missing(grads, references):
    return tuple(Tensor(np.zeros(ref.shape, ref.dtype)) if g is None else g for g, ref in zip(grads, references))


def _finish(tensors, create_graph):
    """Without create_graph, results are detached (PyTorch's _grad_postprocess)."""
    if create_graph:
        return tuple(tensors)
    return tuple(t if t.is_leaf and not t.requires_grad else Tensor(t.data) for t in tensors)


def _untuple(values, is_tuple):
    return tuple(values) if is_tuple else values[0]


# ----- the transforms ------------------------------------------------------------------------------

def vjp(func, inputs, v=None, create_graph=False):
    """(func(inputs), v^T J): the vector-Jacobian product, one backward pass.

    v has the output's shape (a tuple, one per output, when func returns a tuple); v=None is allowed
    when the output is a single value. The product has the inputs' structure."""
    with enable_grad():
        inputs_are_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare_inputs(inputs, create_graph)
        outputs_are_tuple, outputs = _outputs_as_tuple(func(*inputs), "vjp")
        if v is None:
            if len(outputs) != 1:
                raise ValueError(f"vjp: v=None needs func to return a single Tensor, but it returned "
                                 f"{len(outputs)}; pass v as a tuple with one entry per output")
            _check_single_value(outputs[0], "vjp", "v=None needs a single-value output")
            v = (None,)
        else:
            v = _prepare_v(v, outputs, "vjp", "output")
        result = _zeros_for_missing(_grad(outputs, inputs, v, create_graph), inputs)
    return (_untuple(_finish(outputs, create_graph), outputs_are_tuple),
            _untuple(_finish(result, create_graph), inputs_are_tuple))


def jvp(func, inputs, v=None, create_graph=False):
    """(func(inputs), J v): the Jacobian-vector product, by the double-vjp trick (two backward passes).

    v has the inputs' structure; v=None is allowed when the input is a single value. The product has
    the outputs' structure."""
    with enable_grad():
        inputs_are_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare_inputs(inputs, create_graph)
        if v is None:
            _check_single_input_value(inputs, "jvp")
            v = (Tensor(np.ones(inputs[0].shape, inputs[0].dtype)),)
        else:
            v = _prepare_v(v, inputs, "jvp", "input")
        outputs_are_tuple, outputs = _outputs_as_tuple(func(*inputs), "jvp")
        # u^T J is linear in u, so its value does not matter: zeros never put inf or nan in the graph
        dummies = tuple(Tensor(np.zeros(out.shape, out.dtype), requires_grad=True) for out in outputs)
        vjps = _grad(outputs, inputs, dummies, create_graph=True)
        result = _zeros_for_missing(_grad(vjps, dummies, v, create_graph), outputs)
    return (_untuple(_finish(outputs, create_graph), outputs_are_tuple),
            _untuple(_finish(result, create_graph), outputs_are_tuple))


def _stack(rows, shape):
    """Stack equally shaped rows along a new first axis and reshape to `shape`. On Tensors (the
    create_graph case) it is composed from the table's Mul and Add, row i placed by a one-hot
    constant, since the table has no stack primitive: O(rows^2) work, fine for the small Jacobians
    one differentiates again."""
    if not any(r.requires_grad for r in rows):
        return Tensor(np.stack([r.data for r in rows]).reshape(shape))
    n = len(rows)
    if n == 1:
        return rows[0].reshape(shape)
    one_hot = np.eye(n, dtype=rows[0].dtype).reshape((n, n) + (1,) * rows[0].ndim)
    stacked = None
    for i, row in enumerate(rows):
        placed = row * one_hot[i]                      # row broadcast into slot i of (n, *row.shape)
        stacked = placed if stacked is None else stacked + placed
    return stacked.reshape(shape)


def jacobian(func, inputs, create_graph=False):
    """The Jacobian of func at inputs, one backward pass per output element.

    For one output and one input, a Tensor of shape output.shape + input.shape. With several inputs,
    a tuple over the inputs; with several outputs, a tuple over the outputs (of tuples over the
    inputs when both are tuples)."""
    with enable_grad():
        inputs_are_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare_inputs(inputs, create_graph)
        outputs_are_tuple, outputs = _outputs_as_tuple(func(*inputs), "jacobian")
        result = []
        for out in outputs:
            rows = [[] for _ in inputs]
            for j in range(out.numel()):
                one_hot = np.zeros(out.numel(), out.dtype)
                one_hot[j] = 1
                grads = _grad((out,), inputs, (one_hot.reshape(out.shape),), create_graph)
                for row, g in zip(rows, _zeros_for_missing(grads, inputs)):
                    row.append(g)
            blocks = []
            for row, x in zip(rows, inputs):
                if out.numel() == 0:
                    blocks.append(Tensor(np.zeros(out.shape + x.shape, x.dtype)))
                else:
                    blocks.append(_stack(row, out.shape + x.shape))
            result.append(_untuple(_finish(blocks, create_graph), inputs_are_tuple))
    return _untuple(result, outputs_are_tuple)


def hessian(func, inputs, create_graph=False):
    """The Hessian of a single-value func: for one input, a Tensor of shape input.shape + input.shape;
    for a tuple of inputs, a tuple of tuples H[i][j] of shape inputs[i].shape + inputs[j].shape."""
    inputs_are_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def single_value(*xs):
        out = func(*xs)
        if not isinstance(out, Tensor):
            raise TypeError(f"hessian: func must return a single Tensor, got {type(out).__name__}")
        _check_single_value(out, "hessian", "the Hessian needs a single-value function")
        return out.reshape(())

    def gradient(*xs):
        return jacobian(single_value, xs, create_graph=True)

    result = jacobian(gradient, inputs, create_graph=create_graph)   # a tuple of tuples
    return tuple(result) if inputs_are_tuple else result[0][0]


def _second_order_product(fn_name, func, inputs, v, create_graph):
    """d/dx (grad f(x) . v) = v^T H: two backward passes, the second through the first."""
    with enable_grad():
        inputs_are_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
        inputs = _prepare_inputs(inputs, create_graph)
        if v is None:
            _check_single_input_value(inputs, fn_name)
            v = (Tensor(np.ones(inputs[0].shape, inputs[0].dtype)),)
        else:
            v = _prepare_v(v, inputs, fn_name, "input")
        outputs_are_tuple, outputs = _outputs_as_tuple(func(*inputs), fn_name)
        if outputs_are_tuple:
            raise ValueError(f"{fn_name}: func must return a single Tensor, not a tuple")
        _check_single_value(outputs[0], fn_name, f"{fn_name} needs a single-value function")
        gradient = _grad(outputs, inputs, (None,), create_graph=True)
        result = _zeros_for_missing(_grad(gradient, inputs, v, create_graph), inputs)
    return (_untuple(_finish(outputs, create_graph), False),
            _untuple(_finish(result, create_graph), inputs_are_tuple))


def hvp(func, inputs, v=None, create_graph=False):
    """(func(inputs), H v) for a single-value func: the Hessian-vector product without forming H
    (two backward passes). v has the inputs' structure; so has the product."""
    return _second_order_product("hvp", func, inputs, v, create_graph)


def vhp(func, inputs, v=None, create_graph=False):
    """(func(inputs), v^T H) for a single-value func; equal to hvp, since a Hessian is symmetric."""
    return _second_order_product("vhp", func, inputs, v, create_graph)
