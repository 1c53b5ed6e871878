"""The Tensor and the reverse-mode engine.

A Tensor holds an ndarray, its gradient, and the `Function` node (from ops.py) that made it. The
node points at its input tensors, never at its output, so the graph has no reference cycles: when
the last reference to a loss goes away, reference counting alone frees every array of that step.

`backward()` collects the graph with an explicit stack (no recursion, so chains of any length work),
walks it newest op first (a topological order, since every op's output is made after its inputs),
calls each node's backward on plain ndarrays,
sums each gradient back to its input's shape (the one place where broadcasting is undone), and
accumulates into the `.grad` of every leaf that requires grad.
"""
import functools
import itertools
import numbers
import operator

import numpy as np

from . import ops

_grad_enabled = True
# Observers of every op (trace(), detect_anomaly() in debug.py). Empty outside those contexts, where
# the only cost is one truth test per op. Each has on_forward(ctx, inputs, out) and
# on_backward(ctx, out, grad, input_grads).
_observers = []
_RELEASED = object()
# Every recorded op's output gets the next number: an op's output is always made after its inputs,
# so newest-first is a topological order of any graph (PyTorch's engine orders by the same idea).
_next_sequence_number = itertools.count().__next__
_sequence_number = operator.attrgetter("_seq")  # marks a node whose saved arrays were freed by a backward pass


def is_grad_enabled():
    """True unless inside `no_grad()`."""
    return _grad_enabled


class no_grad:
    """Context manager and decorator: nothing computed inside it builds a graph."""

    def __enter__(self):
        global _grad_enabled
        self._previous, _grad_enabled = _grad_enabled, False

    def __exit__(self, *exc_info):
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)
        return wrapper


def _as_array(data):
    """The ndarray a new Tensor wraps: floating arrays keep their dtype (and are not copied);
    Python numbers, lists and integer or bool arrays become float32, as in PyTorch."""
    if isinstance(data, np.ndarray):
        if data.dtype.kind == "f":
            return data
        if data.dtype.kind in "biu":
            return data.astype(np.float32)
        raise TypeError(f"Tensor: cannot make a tensor from an array of dtype {data.dtype}; "
                        "pass numbers (a float or integer array, a number or a list of numbers)")
    if isinstance(data, np.floating):
        return np.asarray(data)
    if isinstance(data, (numbers.Real, list, tuple)) and not isinstance(data, (str, bytes)):
        try:
            array = np.array(data)
        except ValueError as error:  # ragged nested lists
            raise TypeError(f"Tensor: cannot make a tensor from this {type(data).__name__}: {error}") from None
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Tensor: cannot make a tensor from a {type(data).__name__} holding "
                            f"{array.dtype} values; pass numbers")
        return array.astype(np.float32)
    raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__!s} {data!r:.60}; "
                    "pass a numpy array, a number or a list of numbers")


def _unbroadcast(grad, shape):
    """Sum a gradient of a broadcast result back to an input's shape."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _wrap(data, ctx, parents, requires_grad):
    """The output tensor of a primitive; records the node only when a gradient can flow."""
    out = Tensor.__new__(Tensor)
    if type(data) is not np.ndarray:  # numpy ufuncs on 0-d input return scalars
        data = np.asarray(data)
    out.data, out.grad, out.name = data, None, None
    if requires_grad and _grad_enabled:
        ctx.parents = parents
        out._ctx, out.requires_grad, out._seq = ctx, True, _next_sequence_number()
    else:
        out._ctx, out.requires_grad = None, False
    if _observers:
        _notify_forward(ctx, parents, out)
    return out


def _notify_forward(ctx, inputs, out):
    for observer in list(_observers):
        observer.on_forward(ctx, inputs, out)


def _unary(fn_class, x, *args):
    ctx = fn_class()
    out = Tensor.__new__(Tensor)  # _wrap inlined: this is the hottest path of the per-op overhead
    data = ctx.forward(x.data, *args)
    if type(data) is not np.ndarray:  # numpy reductions and ufuncs on 0-d input return scalars
        data = np.asarray(data)
    out.data, out.grad, out.name = data, None, None
    if x.requires_grad and _grad_enabled:
        ctx.parents = (x,)
        out._ctx, out.requires_grad, out._seq = ctx, True, _next_sequence_number()
    else:
        out._ctx, out.requires_grad = None, False
    if _observers:
        _notify_forward(ctx, (x,), out)
    return out


_SHAPE_ERROR = {"matmul": "are not aligned"}


def _operand(value):
    """(tensor, array) for one operand of a binary op. A Python number stays a Python number, which
    numpy combines with an array without changing the array's dtype (float32 stays float32); its
    tensor is the shared constant placeholder, which never asks for a gradient."""
    if type(value) is Tensor:
        return value, value.data
    if type(value) in (float, int):
        return _CONSTANT, value
    if isinstance(value, np.ndarray):
        return _operand(Tensor(value))
    if isinstance(value, numbers.Real):  # numpy scalars too: as Python numbers they keep float32 float32
        return _CONSTANT, value.item() if isinstance(value, np.generic) else value
    raise TypeError(f"cannot combine a Tensor with {type(value).__name__}; use a number, "
                    "a numpy array or a Tensor")


def _binary(fn_class, a, b):
    """Apply a two-input primitive to tensors, numbers or arrays."""
    # the common cases inline (Tensor op Tensor, Tensor op number): this is the per-op hot path
    if type(a) is Tensor:
        a_data = a.data
    else:
        a, a_data = _operand(a)
    if type(b) is Tensor:
        b_data = b.data
    elif type(b) is float or type(b) is int:
        b, b_data = _CONSTANT, b
    else:
        b, b_data = _operand(b)
    ctx = fn_class()
    try:
        data = ctx.forward(a_data, b_data)
    except ValueError:
        shape_a, shape_b = np.shape(a_data), np.shape(b_data)
        if _compatible(fn_class, shape_a, shape_b):
            raise  # not a shape problem: let numpy's own message through
        problem = _SHAPE_ERROR.get(ctx.name, "cannot be broadcast together")
        raise ValueError(f"{ctx.name}: shapes {shape_a} and {shape_b} {problem}") from None
    return _wrap(data, ctx, (a, b), a.requires_grad or b.requires_grad)


def _compatible(fn_class, shape_a, shape_b):
    if fn_class is ops.MatMul:
        if not shape_a or not shape_b:
            return False
        inner_b = shape_b[0] if len(shape_b) == 1 else shape_b[-2]
        return shape_a[-1] == inner_b
    try:
        np.broadcast_shapes(shape_a, shape_b)
        return True
    except ValueError:
        return False


class Tensor:
    """An ndarray with a gradient and a record of the op that made it."""

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_seq", "name", "__weakref__")
    __array_ufunc__ = None  # numpy defers to Tensor's reflected operators: array * tensor works

    def __init__(self, data, requires_grad=False, name=None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = _as_array(data)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self.name = name

    # ----- plain attributes -------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)

    def numpy(self):
        return self.data

    def item(self):
        return self.data.item()

    def detach(self):
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor(self.data)

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self._ctx is not None:
            extra += f", grad_fn={self._ctx.name}"
        label = f"{self.name!r}, " if self.name else ""
        body = np.array2string(self.data, precision=4, threshold=20, separator=", ", prefix="Tensor(")
        return f"Tensor({label}{body}, shape={self.shape}, dtype={self.dtype}{extra})"

    # ----- operators: one-liners onto the derivative table -------------------------------------
    def __add__(self, other): return _binary(ops.Add, self, other)
    def __radd__(self, other): return _binary(ops.Add, other, self)
    def __sub__(self, other): return _binary(ops.Sub, self, other)
    def __rsub__(self, other): return _binary(ops.Sub, other, self)
    def __mul__(self, other): return _binary(ops.Mul, self, other)
    def __rmul__(self, other): return _binary(ops.Mul, other, self)
    def __truediv__(self, other): return _binary(ops.Div, self, other)
    def __rtruediv__(self, other): return _binary(ops.Div, other, self)
    def __matmul__(self, other): return _binary(ops.MatMul, self, other)
    def __rmatmul__(self, other): return _binary(ops.MatMul, other, self)
    def __neg__(self): return _unary(ops.Neg, self)

    def __pow__(self, exponent):
        if not isinstance(exponent, numbers.Real):
            raise TypeError(f"pow: the exponent must be a Python number, got {type(exponent).__name__}")
        return _unary(ops.Pow, self, exponent.item() if isinstance(exponent, np.generic) else exponent)

    def exp(self): return _unary(ops.Exp, self)
    def log(self): return _unary(ops.Log, self)
    def sigmoid(self): return _unary(ops.Sigmoid, self)
    def tanh(self): return _unary(ops.Tanh, self)
    def relu(self): return _unary(ops.ReLU, self)

    def sum(self, axis=None, keepdims=False):
        return _unary(ops.Sum, self, _normalize_axis(axis), keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            return _unary(ops.Reshape, self, shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {self.shape} "
                             f"({self.size} elements) into shape {shape}") from None

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _unary(ops.Transpose, self, axes or None)

    @property
    def T(self):
        return _unary(ops.Transpose, self, None)

    # Composites live in functional.py; these methods are their PyTorch-style spellings.
    def mean(self, axis=None, keepdims=False): return F.mean(self, axis, keepdims)
    def softplus(self): return _unary(ops.Softplus, self)
    def abs(self): return F.abs(self)

    # ----- the engine -------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into the .grad of every leaf that requires grad."""
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad, so there is nothing to differentiate: "
                "no input it was computed from has requires_grad=True (or it was made under no_grad())")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: the output has shape {self.shape}, not a single value; pass grad= "
                    "of that shape, or reduce it first (e.g. loss.sum().backward())")
            grad = _seed(self.data)
        else:
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward: grad has shape {grad.shape} but the output has shape {self.shape}")

        grads = {self: grad}
        retain_graph = bool(retain_graph)
        if ops.Function.retaining is not retain_graph:  # (setting a class attribute is not free)
            ops.Function.retaining = retain_graph
        for node in self._reverse_topological_order():
            grad = grads.pop(node, None)
            if grad is None:  # no path from self reached this node with a gradient
                continue
            ctx = node._ctx
            if ctx is None:  # a leaf reached only as the root itself
                _accumulate(node, grad, True)
                continue
            if getattr(ctx, "saved", None) is _RELEASED:  # (ops with nothing to save never set it)
                raise RuntimeError(
                    "backward: this graph's saved arrays were already freed by an earlier backward(); "
                    "call backward(retain_graph=True) the first time to back-propagate through it twice")
            input_grads = ctx.backward(grad)
            if _observers:
                for observer in list(_observers):
                    observer.on_backward(ctx, node, grad, input_grads)
            borrowed = ctx.passes_grad_through
            for parent, parent_grad in zip(ctx.parents, input_grads):
                if parent_grad is None or not parent.requires_grad:
                    continue
                if parent_grad.shape != parent.data.shape:
                    parent_grad = _unbroadcast(parent_grad, parent.data.shape)
                if parent._ctx is None:
                    _accumulate(parent, parent_grad, borrowed)
                elif parent in grads:
                    grads[parent] = grads[parent] + parent_grad  # never in place: it may be shared
                else:
                    grads[parent] = parent_grad
            if not retain_graph:
                ctx.saved = _RELEASED

    def _reverse_topological_order(self):
        """Every non-leaf tensor that leads to self, outputs before inputs: the tensors reachable
        through recorded ops (an explicit stack, no recursion), newest first."""
        if self._ctx is None:
            return [self]
        nodes, stack, seen = [self], [self], {self}
        while stack:
            for parent in stack.pop()._ctx.parents:
                if parent._ctx is not None and parent.requires_grad and parent not in seen:
                    seen.add(parent)
                    nodes.append(parent)
                    stack.append(parent)
        nodes.sort(key=_sequence_number, reverse=True)
        return nodes


_SEEDS = {}


def _seed(data):
    """d(out)/d(out) = 1 for a single-value output: a cached read-only array per shape and dtype
    (backward never writes into the grad it is given, and a kept leaf gradient is copied)."""
    key = data.dtype if data.ndim == 0 else (data.shape, data.dtype)  # a dtype hashes faster than a tuple
    seed = _SEEDS.get(key)
    if seed is None:
        seed = _SEEDS[key] = np.ones(data.shape, data.dtype)
        seed.flags.writeable = False
    return seed


def _accumulate(leaf, grad, borrowed):
    """Add a gradient into a leaf's .grad. A borrowed array (one the graph may share elsewhere)
    is copied before it is kept; later contributions are added in place into the leaf's own array."""
    if leaf.grad is None:
        if borrowed or grad.dtype != leaf.data.dtype or not grad.flags.writeable:
            grad = np.array(grad, dtype=leaf.data.dtype)
        leaf.grad = grad
    else:
        np.add(leaf.grad, grad, out=leaf.grad, casting="unsafe")


def _normalize_axis(axis):
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)):
        return int(axis)
    return tuple(int(a) for a in axis)


_CONSTANT = Tensor(0.0)  # the parent recorded for a Python-number operand; requires_grad is False

from . import functional as F  # noqa: E402  (functional builds on Tensor; imported last to avoid a cycle)
