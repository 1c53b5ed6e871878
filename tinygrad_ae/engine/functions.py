"""The engine's functions of several tensors, beside Tensor's methods: the joining and selection
functions (numpy's names: cat, stack, where, maximum, minimum), `grad`, and what each numpy ufunc
and function the derivative table calls does when a Tensor is among its arguments.

That last part is numpy's protocols (__array_ufunc__, __array_function__): `np.where(mask, t, 0)` on
a Tensor t calls Tensor.__array_function__, which looks np.where up in tensor.ARRAY_FUNCTIONS
(ufuncs: tensor.UFUNC_OPS and COMPARISONS), the tables this module fills; the engine package
imports it, so they are full whenever Tensor can be imported. They live here, not in tensor.py,
because their entries are these functions, which make their results through tensor.apply: this
module uses tensor.py, never the reverse (numerics <- ops, arguments <- tensor <- functions).
"""
import numpy as np

from . import arguments, ops
from .tensor import ARRAY_FUNCTIONS, COMPARISONS, UFUNC_OPS, Tensor, apply, backward_walk, start_gradient


def maximum(a, b):
    """Elementwise max (numpy broadcasting); at a tie each input gets half the gradient, as in PyTorch."""
    return apply(ops.Maximum, a, b)


def minimum(a, b):
    """Elementwise min (numpy broadcasting); at a tie each input gets half the gradient, as in PyTorch."""
    return apply(ops.Minimum, a, b)


def where(condition, a, b):
    """a where condition holds, else b (numpy broadcasting). condition is a boolean array, such as
    the mask a comparison of Tensors gives (x > 0); no gradient flows into it."""
    return apply(ops.Where, a, b, condition=arguments.condition(condition))


def cat(tensors, axis=0):
    """Join tensors along an existing axis (np.concatenate); each input gets its slice of the gradient."""
    tensors = _tensors("cat", tensors)
    return apply(ops.Cat, *tensors, axis=arguments.cat_axis(tensors, axis))


def stack(tensors, axis=0):
    """Join tensors of one shape along a new axis (np.stack): cat of each with a size-1 axis inserted."""
    tensors = _tensors("stack", tensors)
    axis = arguments.stack_axis(tensors, axis)
    return cat([expand_dims(t, axis) for t in tensors], axis)


def expand_dims(x, axis):
    """x with a size-1 axis inserted at each position in axis (np.expand_dims)."""
    return x.reshape(arguments.expanded_shape(x.shape, axis))


def _tensors(name, values):
    """The inputs of cat or stack: Tensors (an array becomes a constant one), at least one."""
    tensors = [Tensor(t) if isinstance(t, np.ndarray) else t for t in values]
    if not tensors or not all(type(t) is Tensor for t in tensors):
        raise TypeError(f"{name}: pass a non-empty list of Tensors (or arrays)")
    return tensors


UFUNC_OPS.update({np.add: ops.Add, np.subtract: ops.Sub, np.multiply: ops.Mul, np.true_divide: ops.Div,
                  np.negative: ops.Neg, np.exp: ops.Exp, np.log: ops.Log, np.sqrt: ops.Sqrt, np.tanh: ops.Tanh,
                  np.matmul: ops.MatMul, np.maximum: ops.Maximum, np.minimum: ops.Minimum})
COMPARISONS.update({np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal})
ARRAY_FUNCTIONS.update({
    np.dot: lambda a, b: apply(ops.MatMul, a, b),
    np.transpose: lambda x, axes=None: apply(ops.Transpose, x, axes=None if axes is None else tuple(axes)),
    np.swapaxes: lambda x, axis1, axis2: x.swapaxes(axis1, axis2),
    np.reshape: lambda x, shape: x.reshape(shape),
    np.expand_dims: expand_dims,
    np.broadcast_to: lambda x, shape: x.broadcast_to(shape),
    np.sum: lambda x, axis=None, keepdims=False: x.sum(axis, keepdims),
    # (amax/amin: the values; torch's max(dim) returns (values, indices))
    np.max: lambda x, axis=None, keepdims=False: x.amax(axis, keepdims),
    np.min: lambda x, axis=None, keepdims=False: x.amin(axis, keepdims),
    np.amax: lambda x, axis=None, keepdims=False: x.amax(axis, keepdims),
    np.amin: lambda x, axis=None, keepdims=False: x.amin(axis, keepdims),
    np.clip: lambda x, lo, hi: x.clip(lo, hi),
    np.where: where,
    np.concatenate: lambda arrays, axis=0: cat(arrays, axis),
    np.stack: lambda arrays, axis=0: stack(arrays, axis),
    ops.index_add: lambda values, index, shape: apply(ops.IndexAdd, values, index=index, shape=tuple(shape)),
    np.shape: lambda x: x.shape,
    np.ndim: lambda x: x.ndim,
})


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d(outputs)/d(inputs) as a tuple of Tensors, one per input, with PyTorch's semantics.

    outputs and inputs are Tensors or sequences of them; grad_outputs (one per output; None for a
    single-value output) weights the outputs. No .grad is touched. With create_graph=True the
    results are graphs that can be differentiated again. An input the outputs do not depend on is an
    error unless allow_unused=True, which returns None for it."""
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    grad_outputs = arguments.grad_outputs(grad_outputs, len(outputs))
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad; make it with requires_grad=True")
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(f"grad: output {i} does not require grad: it does not depend on any input "
                               "that requires grad (or it was made under no_grad())")
    seeds = [start_gradient(out, g, create_graph) for out, g in zip(outputs, grad_outputs)]
    grads, _ = backward_walk(outputs, seeds, retain_graph, create_graph, inputs)
    results = []
    for i, t in enumerate(inputs):
        g = grads.get(t)
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) was not used to compute the outputs; "
                               "pass allow_unused=True to get None for it")
        if g is not None and type(g) is not Tensor:
            g = Tensor(np.array(g, dtype=t.dtype))   # a fresh array: never a view of a seed
        results.append(g)
    return tuple(results)
