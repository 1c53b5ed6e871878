"""The Tensor and the reverse-mode engine.

A Tensor holds an ndarray, its gradient, and the node (an ops.Function) that made it, which only
`apply` makes. A node points at its input tensors, never at its output: the graph has no reference
cycles, so when the last reference to a loss goes away, reference counting frees that step's arrays.

`backward()` and `grad()` share one walk, `backward_walk`: it collects the graph with an explicit
stack (no recursion: chains of any length work), takes the tensors newest first (a topological
order, as every op's output is made after its inputs), hands each tensor's gradient to its node's
backward, sums what comes back to each input's shape (the one place broadcasting is undone) and adds
it to that input's gradient (the one accumulation rule). A plain backward runs the table's formulas
on ndarrays with grad mode off; `create_graph=True` runs them on the Tensors with grad mode on
(Tensor speaks numpy's protocols), so the gradient is a graph, to be differentiated again. Grad
mode is per thread, as in PyTorch: `no_grad()` in one thread does not stop another from training.
"""
import functools
import itertools
import operator
import threading

import numpy as np

from . import arguments, ops, versions
from .numerics import seed_ones


class _GradMode(threading.local):
    def __init__(self):                         # runs once in each thread that reads the mode
        self.enabled = True                     # (an instance attribute: faster to read than a class one)


_grad_mode = _GradMode()
# Observers of every op (trace(), detect_anomaly() in debug.py), by add_observer(): on_forward(ctx,
# inputs, out) and on_backward(ctx, out, grad, input_grads). Outside them the cost is one truth test.
_observers = []
# Every recorded op's output gets the next number: an op's output is always made after its inputs,
# so newest-first is a topological order of any graph (PyTorch's engine orders by the same idea).
_next_sequence_number = itertools.count().__next__
_sequence_number = operator.attrgetter("_seq")


def is_grad_enabled():
    """True unless inside `no_grad()` (in this thread)."""
    return _grad_mode.enabled


class _set_grad_mode:
    """Context manager and decorator that sets this thread's grad mode and restores it after."""
    mode = None

    def __enter__(self):
        self._previous, _grad_mode.enabled = _grad_mode.enabled, self.mode

    def __exit__(self, *exc_info):
        _grad_mode.enabled = self._previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_set_grad_mode):
    """Nothing computed inside it builds a graph (in this thread)."""
    mode = False


class enable_grad(_set_grad_mode):
    """Ops record a graph again inside it, even within no_grad()."""
    mode = True


def add_observer(observer):
    """Call observer.on_forward / on_backward for every op until remove_observer(observer)."""
    _observers.append(observer)


def remove_observer(observer):
    """Remove this observer only (by identity): another one may be active around or inside it."""
    for i, registered in enumerate(_observers):
        if registered is observer:
            del _observers[i]
            return


def _operand(value):
    """An input of apply() as the graph keeps it: a Tensor, None (an absent optional input), or a
    Python number (arguments.as_number); an array becomes a constant Tensor."""
    if type(value) is Tensor or value is None:
        return value
    if isinstance(value, np.ndarray):
        return Tensor(value)
    return arguments.as_number(value)


def apply(op, *inputs, **constants):
    """Run the primitive `op` (a Function class of ops.py) on `inputs` (Tensors, numbers, arrays: kept
    as constants) and return its output Tensor; `constants` (an axis, a scale) go to forward and
    backward as keywords. The only place a node is made: when grad mode is on and an input requires grad."""
    arrays = []
    requires_grad = False
    for x in inputs:
        if type(x) is Tensor:
            arrays.append(x.data)
            if x.requires_grad:
                requires_grad = True
        elif type(x) is float or type(x) is int or x is None:
            arrays.append(x)
        else:                                   # arrays, numpy scalars: convert them and start again
            return apply(op, *map(_operand, inputs), **constants)
    ctx = op()
    try:    # (most ops have no constants: a call without ** is cheaper)
        data = ctx.forward(*arrays, **constants) if constants else ctx.forward(*arrays)
    except ValueError as error:
        raise arguments.shape_error(ctx.name, arrays, constants, error) from None
    if not isinstance(data, np.ndarray):        # numpy reductions and ufuncs on 0-d input return scalars
        data = np.asarray(data)
    out = Tensor.__new__(Tensor)
    out.data, out._grad, out.name = data, None, None
    if requires_grad and _grad_mode.enabled:
        ctx.parents, ctx.arrays, ctx.constants = inputs, arrays, constants
        out._ctx, out.requires_grad, out._seq = ctx, True, _next_sequence_number()
    else:
        out._ctx, out.requires_grad = None, False
    if _observers:
        for observer in list(_observers):
            observer.on_forward(ctx, inputs, out)
    return out


def _unbroadcast(grad, shape):
    """Sum a gradient of a broadcast result back to an input's shape."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class Tensor:
    """An ndarray with a gradient and a record of the op that made it."""

    __slots__ = ("data", "_grad", "requires_grad", "_ctx", "_seq", "name", "__weakref__")

    def __init__(self, data, requires_grad=False, name=None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = arguments.as_array(data)
        self._grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self.name = name

    # ----- plain attributes -------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    grad_fn = property(lambda self: self._ctx, doc="The node (an ops.Function) that made this tensor; "
                       "None for a leaf or outside the graph.")
    is_leaf = property(lambda self: self._ctx is None)
    @property
    def grad(self):
        """d(output)/d(self) after backward(): an ndarray (a Tensor with create_graph=True), or None."""
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = None if value is None else arguments.grad_value(self, value)

    def numpy(self): return self.data
    def item(self): return self.data.item()
    def detach(self): return wrap(self.data)            # a new leaf sharing this data (and dtype), cut from the graph
    def __len__(self): return len(self.data)

    def __array__(self, dtype=None, copy=None):
        """np.asarray(t) is t's data (no gradient flows through it)."""
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self):
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self._ctx is not None:
            extra += f", grad_fn={self._ctx.name}"
        label = f"{self.name!r}, " if self.name else ""
        body = np.array2string(self.data, precision=4, threshold=20, separator=", ", prefix="Tensor(")
        return f"Tensor({label}{body}, shape={self.shape}, dtype={self.dtype}{extra})"

    # ----- operators: one-liners onto the derivative table -------------------------------------
    def __add__(self, other): return apply(ops.Add, self, other)
    def __radd__(self, other): return apply(ops.Add, other, self)
    def __sub__(self, other): return apply(ops.Sub, self, other)
    def __rsub__(self, other): return apply(ops.Sub, other, self)
    def __mul__(self, other): return apply(ops.Mul, self, other)
    def __rmul__(self, other): return apply(ops.Mul, other, self)
    def __truediv__(self, other): return apply(ops.Div, self, other)
    def __rtruediv__(self, other): return apply(ops.Div, other, self)
    def __matmul__(self, other): return apply(ops.MatMul, self, other)
    def __rmatmul__(self, other): return apply(ops.MatMul, other, self)
    def __neg__(self): return apply(ops.Neg, self)

    # Comparisons give bool tensors (masks, through which no gradient flows), as torch's do. A tensor
    # hashes by identity, so it stays a dictionary key although == compares elements.
    def __gt__(self, other): return wrap(np.greater(self.data, _data(other)))
    def __ge__(self, other): return wrap(np.greater_equal(self.data, _data(other)))
    def __lt__(self, other): return wrap(np.less(self.data, _data(other)))
    def __le__(self, other): return wrap(np.less_equal(self.data, _data(other)))
    def __eq__(self, other): return False if other is None else wrap(np.equal(self.data, _data(other)))
    def __ne__(self, other): return True if other is None else wrap(np.not_equal(self.data, _data(other)))
    __hash__ = object.__hash__
    # logical and bitwise operators, on bool and integer tensors (masks): no gradient
    def __and__(self, other): return wrap(np.bitwise_and(self.data, _data(other)))
    def __or__(self, other): return wrap(np.bitwise_or(self.data, _data(other)))
    def __xor__(self, other): return wrap(np.bitwise_xor(self.data, _data(other)))
    def __invert__(self): return wrap(np.invert(self.data))
    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous (shape {self.shape}); "
                               "use t.any() or t.all(), or compare one element")
        return bool(self.data.item())

    def __index__(self):
        if self.data.size != 1 or self.data.dtype.kind not in "biu":
            raise TypeError(f"only integer tensors of a single element can be converted to an index "
                            f"(got dtype {self.dtype}, shape {self.shape})")
        return int(self.data.item())

    def __float__(self): return float(self._single("float"))
    def __int__(self): return int(self._single("int"))

    def _single(self, what):
        if self.data.size != 1:
            raise TypeError(f"{what}(): only a tensor of one element converts to a Python number (shape {self.shape})")
        return self.data.item()

    def __pow__(self, exponent):
        return self.pow(exponent) if type(exponent) is Tensor else apply(ops.Pow, self, exponent=arguments.exponent(exponent))

    def __rpow__(self, base):       # base ** self, for a number base: exp(self log base), as torch
        return apply(ops.Exp, self * float(np.log(arguments.exponent(base)))) if base > 0 else wrap(np.asarray(base, self.dtype)).pow(self)

    # ----- indexing: numpy's rules; the gradient is scattered back (repeats accumulate) -----------
    def __getitem__(self, index):
        index = arguments.index(index, self.shape)
        try:
            return apply(ops.Index, self, index=index)
        except IndexError as error:
            raise IndexError(f"getitem: {error} (tensor of shape {self.shape}); an index along an axis "
                             "of size n must lie in -n..n-1") from None

    # ----- numpy's protocols: the table's formulas run on Tensors too (tables: functions.py) ------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs:
            op = UFUNC_OPS.get(ufunc)
            if op is not None:
                return apply(op, *inputs)
            if ufunc in COMPARISONS:            # masks: plain arrays, no gradient
                return ufunc(*map(_data, inputs))
        if method == "reduce" and ufunc is np.add and set(kwargs) <= {"axis", "keepdims"}:
            return inputs[0].sum(kwargs.get("axis", 0), kwargs.get("keepdims", False))
        raise TypeError(f"numpy's {ufunc.__name__}{'' if method == '__call__' else '.' + method} is not "
                        "defined on Tensors (or not with these arguments); use the Tensor's methods "
                        "and operators, or call it on t.data to leave the graph")

    def __array_function__(self, func, types, args, kwargs):
        implementation = ARRAY_FUNCTIONS.get(func)
        if implementation is None:
            raise TypeError(f"numpy's {func.__name__} is not defined on Tensors; use the Tensor's methods "
                            "and operators, or call it on t.data to leave the graph")
        return implementation(*args, **kwargs)

    # ----- the engine -------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into the .grad of every leaf that requires grad. create_graph=True
        records the backward pass itself: each .grad is then a Tensor that can be differentiated
        again. retain_graph (default: create_graph) keeps this graph for another pass."""
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad, so there is nothing to differentiate: "
                "no input it was computed from has requires_grad=True (or it was made under no_grad())")
        grads, views = backward_walk((self,), (start_gradient(self, grad, create_graph),), retain_graph, create_graph)
        for leaf, g in grads.items():
            _store_grad(leaf, g, leaf in views)


def _data(value): return value.data if type(value) is Tensor else value   # a Tensor's array, else value


def wrap(array):
    """A new tensor holding `array` itself, whatever its dtype (integer and bool tensors included: their
    values are labels, indices and masks, which carry no gradient)."""
    out = Tensor.__new__(Tensor)
    out.data = array if isinstance(array, np.ndarray) else np.asarray(array)   # (a traced array stays traced)
    out._grad, out.requires_grad, out._ctx, out.name = None, False, None, None
    return out


# What numpy's ufuncs (a primitive each), comparisons (a plain mask) and functions do on Tensors:
# filled by functions.py, whose entries make their results through apply (the engine imports it)
UFUNC_OPS, COMPARISONS, ARRAY_FUNCTIONS = {}, set(), {}


# ----- the backward walk, shared by Tensor.backward and grad() ------------------------------

def start_gradient(out, grad, create_graph):
    """The gradient that starts a walk at `out`: grad as given (checked), or 1 for a single value;
    a Tensor under create_graph, an array (or a number) otherwise."""
    if grad is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"backward: the output has shape {out.shape}, not a single value; pass grad= "
                "of that shape, or reduce it first (e.g. loss.sum().backward())")
        # (a plain ndarray cannot dispatch: the helper's argument scan is skipped on the hot path)
        grad = (seed_ones.plain if type(out.data) is np.ndarray else seed_ones)(out.data)
    else:
        if not (create_graph and type(grad) is Tensor):
            grad = np.asarray(_data(grad), dtype=out.dtype)
        if grad.shape != out.shape:
            raise ValueError(f"backward: grad has shape {grad.shape} but the output has shape {out.shape}")
    return Tensor(grad) if create_graph and type(grad) is not Tensor else grad


_FREED = ("backward: this graph's saved arrays were already freed by an earlier backward(); call "
          "backward(retain_graph=True) the first time to back-propagate through it twice")


def _reverse_topological_order(roots, check_freed=False):
    """Every non-leaf tensor among the roots or behind them through recorded ops (an explicit stack, no
    recursion), newest first. check_freed: refuse a graph part of which an earlier backward() freed,
    before any gradient is computed."""
    seen = set(roots)
    tensors = []                                # (a loop, not a comprehension: no frame of its own in 3.11)
    for tensor in seen:
        if tensor._ctx is not None:             # (a leaf root has no graph)
            tensors.append(tensor)
    stack = tensors[:]
    while stack:
        ctx = stack.pop()._ctx
        if check_freed and ctx.arrays is None:
            raise RuntimeError(_FREED)
        for parent in ctx.parents:
            if type(parent) is Tensor and parent._ctx is not None and parent.requires_grad and parent not in seen:
                seen.add(parent)
                tensors.append(parent)
                stack.append(parent)
    tensors.sort(key=_sequence_number, reverse=True)
    return tensors


def _leading_to(order, wanted):
    """The part of `order` that grad() walks: the tensors from which a wanted one is reached, and the
    set of those whose node must run (a wanted tensor's, only if another lies behind it). As in
    PyTorch, grad() runs no node beyond its inputs: no work there, and a spent graph is no obstacle."""
    runs = set()
    for tensor in reversed(order):              # oldest first: parents are decided before children
        for parent in tensor._ctx.parents:
            if type(parent) is Tensor and (parent in wanted or parent in runs):
                runs.add(tensor)
                break
    return [tensor for tensor in order if tensor in runs or tensor in wanted], runs


def backward_walk(roots, seeds, retain_graph, create_graph, inputs=None):
    """The one backward walk, from the roots (their seeds: start_gradient's) to the leaves: {leaf:
    gradient} (with `inputs`: for grad()) and the leaves whose gradient may be a view of another array."""
    retain_graph = create_graph if retain_graph is None else bool(retain_graph)
    # a plain backward checks the whole graph first, so that an error leaves every .grad as it was;
    # grad() runs no node beyond its inputs (as in PyTorch), so it checks only the nodes it runs
    order = _reverse_topological_order(roots, inputs is None)
    wanted = runs = None
    if inputs is not None:
        wanted = set(inputs)
        order, runs = _leading_to(order, wanted)
    # grad mode is create_graph while the formulas run: on Tensors and recorded, or on arrays and not
    previous_mode, _grad_mode.enabled = _grad_mode.enabled, bool(create_graph)
    # (an in-place update since this graph's oldest node was made: check each node's saved values)
    check_versions = bool(order) and versions.latest.number > order[-1]._seq
    try:
        return _walk(order, roots, seeds, wanted, runs, retain_graph, create_graph, check_versions)
    finally:
        _grad_mode.enabled = previous_mode


def _walk(order, roots, seeds, wanted, runs, retain_graph, create_graph, check_versions=False):
    """Hand each tensor's gradient, newest first, to its node's backward and add what comes back to the
    gradients of the node's inputs; the roots' seeds come in first, as if a node had made them."""
    grads, views = {}, set()                    # tensor -> its gradient so far; leaves holding a view
    parents, input_grads, may_return_grad_view = roots, seeds, True
    remaining = iter(order)
    while True:
        for parent, parent_grad in zip(parents, input_grads):
            if parent_grad is None or type(parent) is not Tensor or not parent.requires_grad:
                continue
            if wanted is not None and parent not in wanted and parent not in runs:
                continue                        # (grad(): nothing it wants lies behind this tensor)
            if parent_grad.shape != parent.data.shape:
                parent_grad = _unbroadcast(parent_grad, parent.data.shape)
            if parent in grads:                 # the one accumulation rule: a sum, never in place
                grads[parent] = grads[parent] + parent_grad    # (an array may be shared)
                views.discard(parent)
            else:
                grads[parent] = parent_grad
                if may_return_grad_view and parent._ctx is None:
                    views.add(parent)
        for tensor in remaining:                # the next tensor that has a gradient
            if wanted is None or tensor not in wanted:
                grad = grads.pop(tensor, None)  # (None: no path from the roots reached it)
            else:                               # a wanted tensor keeps its gradient for grad(), and
                grad = grads.get(tensor)        # its node runs only if another one lies behind it
                if tensor not in runs:
                    continue
            if grad is not None:
                break
        else:
            return grads, views
        ctx = tensor._ctx
        if ctx.arrays is None:
            raise RuntimeError(_FREED)
        if check_versions:
            versions.check_unchanged(tensor, ctx)
        if create_graph:                        # on the Tensors: the formulas are recorded
            input_grads = ctx.backward(grad, tensor, *ctx.parents, **ctx.constants)
        elif ctx.constants:                     # on the arrays forward saw: no graph, full speed
            input_grads = ctx.backward(grad, tensor.data, *ctx.arrays, **ctx.constants)
        else:                                   # (most ops have no constants: a call without ** is cheaper)
            input_grads = ctx.backward(grad, tensor.data, *ctx.arrays)
        if _observers:
            for observer in list(_observers):
                observer.on_backward(ctx, tensor, grad, input_grads)
        if not retain_graph:
            ctx.arrays = None                   # the one place saved arrays are released
        parents, may_return_grad_view = ctx.parents, ctx.may_return_grad_view


def _store_grad(leaf, grad, may_be_view):
    """Add a leaf's gradient from one pass into its .grad (PyTorch's AccumulateGrad): the first is kept,
    copied if it may be a view, is read-only or of another dtype; later ones are added in place into
    the leaf's own array. A Tensor gradient (create_graph=True) stays a Tensor, summed out of place."""
    if type(grad) is Tensor or type(leaf._grad) is Tensor:
        leaf._grad = grad if leaf._grad is None else leaf._grad + grad
    elif leaf._grad is None:
        if may_be_view or grad.dtype != leaf.data.dtype or not grad.flags.writeable:
            # a copy; for an array through its method, which a captured step (tg.compile) sees
            grad = grad.astype(leaf.data.dtype) if isinstance(grad, np.ndarray) else np.array(grad, leaf.data.dtype)
        leaf._grad = grad
    else:
        np.add(leaf._grad, grad, out=leaf._grad, casting="unsafe")
