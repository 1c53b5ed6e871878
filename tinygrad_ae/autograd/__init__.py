"""torch.autograd's surface: `grad`, `backward`, `Function` (with its ctx, `FunctionCtx`), `Variable`
(the legacy alias: Variable(t) is a Tensor), `no_grad`/`enable_grad`, and the submodules `function`
and `functional` (vjp, jvp, jacobian, hessian, hvp, vhp; also importable from here as before).

`grad` and `backward` take torch's signatures and are built on the engine's one walk through its
`grad()` (engine/functions.py)."""
import warnings

import numpy as np

from . import function, functional
from .function import Function, FunctionCtx
from .functional import hessian, hvp, jacobian, jvp, vhp, vjp
from ..engine.functions import grad as _engine_grad, stack
from ..engine.tensor import Tensor, enable_grad, no_grad

__all__ = ["grad", "backward", "Function", "FunctionCtx", "Variable", "no_grad", "enable_grad", "function",
           "functional", "vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(tensors):
    return (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)


def _grad_values(values, count):
    """grad_outputs / grad_tensors as torch takes them: None, a Tensor (or an array), or a sequence."""
    if values is None:
        return (None,) * count
    if isinstance(values, (Tensor, np.ndarray)):
        return (values,)
    return tuple(values)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of outputs with respect to inputs, summed over the outputs (each weighted by its
    grad_outputs entry), as a tuple of Tensors, one per input; nothing is accumulated into .grad.
    torch.autograd.grad's arguments and meaning:

    inputs: a Tensor, a sequence of them, or a dict (e.g. dict(model.named_parameters())): the result
    is then a dict with the same keys. allow_unused (default: materialize_grads): None for an input
    the outputs do not depend on instead of an error; materialize_grads: zeros instead of None.
    is_grads_batched: the first dimension of each grad_outputs entry is a batch of vectors, one
    vector-Jacobian product each, stacked along a first dimension of each result. retain_graph
    (default: create_graph) keeps the graph for another pass; create_graph records the gradients'
    computation, to be differentiated again."""
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.",
                      FutureWarning, stacklevel=2)
    keys = list(inputs) if type(inputs) is dict else None
    inputs = tuple(inputs.values()) if keys is not None else _as_tuple(inputs)
    if not inputs:
        raise RuntimeError("grad: `inputs` cannot be empty; pass the Tensors to differentiate with respect to")
    outputs = _as_tuple(outputs)
    grad_outputs = _grad_values(grad_outputs, len(outputs))
    if not is_grads_batched:
        results = _engine_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused)
    else:
        results = _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused)
    if materialize_grads:
        results = tuple(Tensor(np.zeros(x.shape, x.dtype)) if g is None else g for g, x in zip(results, inputs))
    return dict(zip(keys, results)) if keys is not None else results


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused):
    """One vector-Jacobian product per row of the grad_outputs, stacked (torch vectorizes it; a loop here)."""
    sizes = {len(g) for g in grad_outputs if g is not None}
    if len(sizes) != 1:
        raise ValueError("grad: is_grads_batched=True needs every grad_outputs entry to have the same size "
                         f"in its first (batch) dimension, got {sorted(sizes) or 'none'}")
    n = sizes.pop()
    rows = []
    for b in range(n):
        last = b == n - 1
        rows.append(_engine_grad(outputs, inputs, tuple(None if g is None else g[b] for g in grad_outputs),
                                 retain_graph if last else True, create_graph, allow_unused))
    results = []
    for i in range(len(inputs)):
        column = [row[i] for row in rows]
        results.append(None if column[0] is None else stack(column))
    return tuple(results)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    """Accumulate the gradients of tensors (each weighted by its grad_tensors entry) into the .grad of the
    leaves they depend on that require grad, or only into `inputs` (Tensors, leaves or not, or a dict of
    them) when given. torch.autograd.backward's arguments and meaning; one pass over the tensors' graph."""
    if grad_variables is not None:
        warnings.warn("`grad_variables` is deprecated. Use `grad_tensors` instead.", FutureWarning, stacklevel=2)
        if grad_tensors is not None:
            raise RuntimeError("`grad_tensors` and `grad_variables` (deprecated) arguments both passed to "
                               "`backward()`. Please only use `grad_tensors`.")
        grad_tensors = grad_variables
    tensors = _as_tuple(tensors)
    grad_tensors = _grad_values(grad_tensors, len(tensors))
    if len(grad_tensors) != len(tensors):
        raise ValueError(f"backward: {len(grad_tensors)} grad_tensors for {len(tensors)} tensors; give one per "
                         "tensor (None for a single-value tensor)")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward: tensor {i} is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"backward: tensor {i} does not require grad and has no grad_fn: no input it was "
                               "computed from has requires_grad=True (or it was made under no_grad())")
    if inputs is not None:
        inputs = tuple(inputs.values()) if type(inputs) is dict else _as_tuple(inputs)
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    elif len(tensors) == 1:             # the engine's own Tensor.backward
        tensors[0].backward(grad_tensors[0], retain_graph=retain_graph, create_graph=create_graph)
        return
    else:
        inputs = _leaves(tensors)
    grads = _engine_grad(tensors, inputs, grad_tensors, retain_graph, create_graph, allow_unused=True)
    for x, g in zip(inputs, grads):
        if g is None:
            continue
        # Tensor.backward's accumulation rule (engine/tensor.py): a Tensor gradient stays a Tensor, summed
        # out of place; an array is kept (grad() returns fresh arrays of x's dtype), later ones added in place
        if create_graph or isinstance(x.grad, Tensor):
            x.grad = g if x.grad is None else x.grad + g
        elif x.grad is None:
            x.grad = g.data
        else:
            np.add(x.grad, g.data, out=x.grad, casting="unsafe")


def _leaves(tensors):
    """The leaves that require grad behind the tensors (an explicit stack: graphs of any depth)."""
    seen, leaves, stack_ = set(), [], list(tensors)
    while stack_:
        t = stack_.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.grad_fn is None:
            leaves.append(t)
            continue
        stack_.extend(p for p in t.grad_fn.parents if isinstance(p, Tensor) and p.requires_grad)
    return tuple(leaves)


class _VariableMeta(type):
    def __instancecheck__(cls, other):
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """The legacy wrapper of PyTorch before 0.4: Variable(t) is a Tensor sharing t's data, cut from the
    graph, with requires_grad as given; every Tensor is an instance of Variable."""

    def __new__(cls, data=None, requires_grad=False, volatile=None):
        if volatile is not None:
            warnings.warn("volatile was removed and now has no effect. Use `with tg.no_grad():` instead.",
                          UserWarning, stacklevel=2)
        if data is None:
            data = Tensor([])
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        variable = data.detach()
        variable.requires_grad = bool(requires_grad)
        return variable
