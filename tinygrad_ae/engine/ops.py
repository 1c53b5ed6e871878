"""The derivative table: every primitive's forward and its vector-Jacobian product, side by side.

Each primitive is a small `Function`:

    forward(self, *inputs, **constants)            -> the output, from plain ndarrays (and numbers)
    backward(self, grad, out, *inputs, **constants) -> one dL/d(input) per input (None: not needed)

`backward` is a pure function of the incoming gradient `grad`, the forward's output `out`, the
inputs and the constants (an axis, a scale): a node keeps its inputs and nothing a forward made on
the side (the one exception, the fused squared error's residual, says why). It is written in plain
numpy, and the engine runs the same formula on two kinds of values:
  * ndarrays, for a plain `backward()`: full speed, no graph;
  * Tensors, for `backward(create_graph=True)`: a Tensor speaks enough of numpy's protocols
    (`__array_ufunc__`, `__array_function__`) that `np.exp(t)`, `np.dot(a, b)` or `grad * out` record
    graph nodes, so the derivative can itself be differentiated, to any order.
So every derivative is written once. Rules each entry follows:
  * backward uses only operators, ndarray methods that Tensor also has (reshape, transpose, T, sum)
    and the numpy functions Tensor dispatches (see tensor.py); it never writes into its arguments;
  * backward reuses the forward's output where the derivative is a function of it;
  * formulas make new arrays rather than writing in place: the captured step (tg.compile) plans where
    to write in place, and it can drop a repeated computation only when each result is written once;
  * the engine sums each gradient back to its input's shape, so a backward may return a gradient of
    the broadcast shape (broadcasting is undone in one place, never op by op).

Numerics:
  * sigmoid is 1/(1 + exp(-x)): for x < -709 (float64) or x < -88 (float32) exp(-x) overflows to inf
    and 1/(1 + inf) = 0 is the exact limit, so that overflow is silenced rather than avoided (the
    two-branch form costs twice the passes);
  * softplus is numpy's logaddexp(0, x), which never overflows; its derivative is sigmoid;
  * the fused losses are primitives because their backward is the lecture's closed form
    (dL/da = sigmoid(a) - x for cross-entropy on logits), cheaper and finite where the composed chain
    is not; binary cross-entropy on probabilities clamps each log at -100, as PyTorch does.

This module imports only numerics.py (the speed tricks and numerical helpers), so the table reads on its own.
"""
import numpy as np

from .numerics import DIVIDE_IGNORED, OVERFLOW_IGNORED, ErrorState, cached_arange, column_sums


class Function:
    """A node of the graph: the primitive that made a tensor, its inputs and its constants.

    `parents` are the inputs (Tensors, or Python numbers for number operands) and `arrays` their
    values as forward saw them, which a plain backward reads. A backward pass that does not retain
    the graph releases `arrays` (sets it to None): a second pass through the node is then an error,
    as in PyTorch, while the graph's structure stays to be drawn."""

    # "site" is set only by debug observers (where in user code the op was called)
    __slots__ = ("parents", "arrays", "constants", "site")
    # Pass-through ops return the incoming gradient object itself (or a view of it); the engine
    # copies such a gradient before it stores it as a leaf's .grad, so no two leaves share one.
    passes_grad_through = False

    def forward(self, *inputs, **constants):
        raise NotImplementedError

    def backward(self, grad, out, *inputs, **constants):
        raise NotImplementedError

    def needs_grad(self, i):
        """Whether input i wants a gradient (lets backward skip work, e.g. a GEMM for the data)."""
        return getattr(self.parents[i], "requires_grad", False)

    @property
    def name(self):
        return type(self).__name__.lower()


def sigmoid(x):
    """1/(1 + exp(-x)) on an ndarray or a Tensor: the helper two entries share (see Numerics)."""
    token = OVERFLOW_IGNORED.enter()
    try:
        return 1 / (1 + np.exp(-x))
    finally:
        ErrorState.exit(token)


def clamped_log(x):
    """log(x), at least -100: PyTorch's clamp in binary cross-entropy (log(0) is -100, not -inf)."""
    token = DIVIDE_IGNORED.enter()
    try:
        return np.maximum(np.log(x), -100.0)
    finally:
        ErrorState.exit(token)


# ---------------------------------------------------------------------------------------------
# Unary
# ---------------------------------------------------------------------------------------------

class Neg(Function):
    __slots__ = ()
    def forward(self, x): return np.negative(x)
    def backward(self, grad, out, x): return (-grad,)


class Exp(Function):
    __slots__ = ()
    def forward(self, x): return np.exp(x)
    def backward(self, grad, out, x): return (grad * out,)            # d exp(x) = exp(x)


class Log(Function):
    """Natural log. log(0) is -inf and log(x < 0) is nan, with numpy's warnings, as numpy does."""
    __slots__ = ()
    def forward(self, x): return np.log(x)
    def backward(self, grad, out, x): return (grad / x,)


class Sqrt(Function):
    __slots__ = ()
    def forward(self, x): return np.sqrt(x)
    def backward(self, grad, out, x): return (grad / (2 * out),)      # 1 / (2 sqrt(x))


class Sigmoid(Function):
    """One node instead of four, and backward is y(1 - y) from the output y."""
    __slots__ = ()
    def forward(self, x): return sigmoid(x)
    def backward(self, grad, out, x): return (grad * out * (1 - out),)


class Tanh(Function):
    __slots__ = ()
    def forward(self, x): return np.tanh(x)
    def backward(self, grad, out, x): return (grad * (1 - out * out),)


class Softplus(Function):
    """log(1 + exp(x)); a primitive so that the derivative at 0 is exactly 0.5 (a composite with
    |x| has a kink there)."""
    __slots__ = ()
    def forward(self, x): return np.logaddexp(0, x)
    def backward(self, grad, out, x): return (grad * sigmoid(x),)


class ReLU(Function):
    __slots__ = ()
    def forward(self, x): return np.maximum(x, 0)
    def backward(self, grad, out, x): return (grad * (x > 0),)        # 0 at the kink, as PyTorch


class Pow(Function):
    """x ** exponent for a constant number exponent."""
    __slots__ = ()

    def forward(self, x, exponent):
        return x ** exponent

    def backward(self, grad, out, x, exponent):
        if exponent == 0:
            return (grad * 0,)                      # not 0 * x**-1, which is nan at x = 0
        if exponent == 2:
            return (grad * (2 * x),)                # the common case, without a power call
        return (grad * (exponent * x ** (exponent - 1)),)


# ---------------------------------------------------------------------------------------------
# Binary (broadcasting: the engine sums each gradient back to its input's shape)
# ---------------------------------------------------------------------------------------------

class Add(Function):
    __slots__ = ()
    passes_grad_through = True
    def forward(self, a, b): return a + b
    def backward(self, grad, out, a, b): return grad, grad


class Sub(Function):
    """A primitive rather than a + (-b): one node and one temporary less per subtraction."""
    __slots__ = ()
    passes_grad_through = True
    def forward(self, a, b): return a - b
    def backward(self, grad, out, a, b): return grad, (-grad if self.needs_grad(1) else None)


class Mul(Function):
    __slots__ = ()

    def forward(self, a, b):
        return a * b

    def backward(self, grad, out, a, b):
        return (grad * b if self.needs_grad(0) else None,
                grad * a if self.needs_grad(1) else None)


class Div(Function):
    """A primitive rather than a * b**-1: d/db = -y/b reuses the output y = a/b."""
    __slots__ = ()

    def forward(self, a, b):
        return a / b

    def backward(self, grad, out, a, b):
        grad_a = grad / b
        return grad_a, (-grad_a * out if self.needs_grad(1) else None)


class Maximum(Function):
    """Elementwise max; at a tie each input gets half the gradient, as PyTorch does."""
    __slots__ = ()

    def forward(self, a, b):
        return np.maximum(a, b)

    def backward(self, grad, out, a, b):
        share = (np.greater(a, b) + 0.5 * np.equal(a, b)).astype(out.dtype)   # a's share: 1, 1/2 or 0
        return (grad * share if self.needs_grad(0) else None,
                grad * (1 - share) if self.needs_grad(1) else None)


class Minimum(Function):
    """Elementwise min; at a tie each input gets half the gradient, as PyTorch does."""
    __slots__ = ()

    def forward(self, a, b):
        return np.minimum(a, b)

    def backward(self, grad, out, a, b):
        share = (np.less(a, b) + 0.5 * np.equal(a, b)).astype(out.dtype)
        return (grad * share if self.needs_grad(0) else None,
                grad * (1 - share) if self.needs_grad(1) else None)


# ---------------------------------------------------------------------------------------------
# Reduce
# ---------------------------------------------------------------------------------------------

class Sum(Function):
    __slots__ = ()
    passes_grad_through = True                      # backward returns a broadcast view of grad

    def forward(self, x, axis=None, keepdims=False):
        return np.sum(x, axis=axis, keepdims=keepdims)

    def backward(self, grad, out, x, axis=None, keepdims=False):
        if not keepdims and axis is not None:       # put the reduced axes back as size-1 dims
            grad = np.expand_dims(grad, axis)
        return (np.broadcast_to(grad, x.shape),)    # a read-only view; the engine copies if kept


# ---------------------------------------------------------------------------------------------
# Movement
# ---------------------------------------------------------------------------------------------

class Reshape(Function):
    __slots__ = ()
    passes_grad_through = True
    def forward(self, x, shape): return x.reshape(shape)
    def backward(self, grad, out, x, shape): return (grad.reshape(x.shape),)


class Transpose(Function):
    """axes=None reverses the axes, as numpy does."""
    __slots__ = ()
    passes_grad_through = True

    def forward(self, x, axes=None):
        return np.transpose(x, axes)

    def backward(self, grad, out, x, axes=None):
        inverse = None if axes is None else tuple(np.argsort([a % x.ndim for a in axes]))
        return (np.transpose(grad, inverse),)


class BroadcastTo(Function):
    """x repeated along new or size-1 axes; backward is the engine's one sum back to x's shape."""
    __slots__ = ()
    passes_grad_through = True
    def forward(self, x, shape): return np.broadcast_to(x, shape)
    def backward(self, grad, out, x, shape): return (grad,)


# ---------------------------------------------------------------------------------------------
# Matmul
# ---------------------------------------------------------------------------------------------

class MatMul(Function):
    """a @ b with numpy's rules: a 1-D a is a row, a 1-D b a column, batch dims broadcast."""
    __slots__ = ()

    def forward(self, a, b):
        return a @ b

    def backward(self, grad, out, a, b):
        if a.ndim == 1 and b.ndim == 1:             # a dot product
            return grad * b, grad * a
        # promote 1-D operands to matrices (and grad with them), then drop the added axis again
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        if a.ndim == 1:
            grad = np.expand_dims(grad, -2)
        if b.ndim == 1:
            grad = np.expand_dims(grad, -1)
        grad_a = grad_b = None
        if self.needs_grad(0):
            grad_a = grad @ np.swapaxes(b2, -1, -2)
            grad_a = grad_a.sum(axis=-2) if a.ndim == 1 else grad_a
        if self.needs_grad(1):
            grad_b = np.swapaxes(a2, -1, -2) @ grad
            grad_b = grad_b.sum(axis=-1) if b.ndim == 1 else grad_b
        return grad_a, grad_b


class Linear(Function):
    """x @ W.T + b, PyTorch's F.linear: one node instead of three, W's gradient made directly in
    W's (out, in) layout, and b's a column sum. It is the autoencoder's hot path."""
    __slots__ = ()

    def forward(self, x, weight, bias=None):
        # np.dot is matmul's cheaper entry point for 2-D operands
        out = np.dot(x, weight.T) if x.ndim == 2 else x @ weight.T
        if bias is not None:
            out += bias                             # out is new: adding in place is safe
        return out

    def backward(self, grad, out, x, weight, bias=None):
        rows_x = x
        if grad.ndim != 2 or x.ndim != 2:           # batch dims (if any) flattened into rows
            grad, rows_x = grad.reshape(-1, weight.shape[0]), x.reshape(-1, weight.shape[1])
        parents = self.parents                  # all Tensors (bias None if absent): read without needs_grad's getattr
        grad_x = np.dot(grad, weight).reshape(x.shape) if parents[0].requires_grad else None
        grad_w = np.dot(grad.T, rows_x) if parents[1].requires_grad else None
        grad_b = column_sums(grad) if bias is not None and parents[2].requires_grad else None
        return grad_x, grad_w, grad_b


# ---------------------------------------------------------------------------------------------
# Fused losses: scale * sum(...), so "mean", "sum" and the lecture's (1/m) sum_i sum_j share one op
# ---------------------------------------------------------------------------------------------

class SquaredErrorSum(Function):
    """scale * sum((pred - target)^2); backward 2 scale (pred - target), the slides' 2(x_hat - x).

    The one entry that keeps something its forward made: the residual pred - target, which a plain
    backward reads (once) instead of computing it again, a pass over the batch saved. On Tensors
    (create_graph) or in a second pass (retain_graph) backward computes it from the inputs, the same
    formula; tests/test_tensor.py checks that both paths give the same gradient."""
    __slots__ = ("residual",)

    def forward(self, pred, target, scale):
        diff = self.residual = pred - target
        return scale * np.vdot(diff, diff)      # a float32 number stays float32 (numpy >= 2)

    def backward(self, grad, out, pred, target, scale):
        diff, self.residual = self.residual, None
        if diff is None or not isinstance(pred, np.ndarray):
            diff = pred - target                # (on Tensors: recomputed, so that it is recorded)
        g = diff * (grad * (2.0 * scale))       # number arithmetic first: one pass over the array
        return g, (-g if self.needs_grad(1) else None)


class BCEWithLogitsSum(Function):
    """scale * sum(softplus(a) - x a) = scale * sum(-x log s(a) - (1-x) log(1-s(a))), from the logits a.
    Backward is the lecture's simplified chain: dL/da = scale (sigmoid(a) - x)."""
    __slots__ = ()

    def forward(self, logits, target, scale):
        # softplus(a) - x a = max(a, 0) + log1p(exp(-|a|)) - x a, each term summed on its own;
        # max(a, 0) = (a + |a|) / 2 exactly, and an add is cheaper than np.maximum. No array is
        # written in place: a 0-d input makes numpy scalars, which have no buffer to write to.
        t = np.abs(logits)
        total = np.log1p(np.exp(-t)).sum() + 0.5 * (logits + t).sum() - np.vdot(target, logits)
        return scale * total

    def backward(self, grad, out, logits, target, scale):
        g = (sigmoid(logits) - target) * (grad * scale)
        # d/dx of (softplus(a) - x a) is -a
        return g, (logits * (-scale * grad) if self.needs_grad(1) else None)


class BinaryCrossEntropy(Function):
    """-(x log p + (1-x) log(1-p)) elementwise on probabilities p, each log clamped at -100 as
    PyTorch does, so p = 0 or 1 gives a finite loss (0 where the target agrees)."""
    __slots__ = ()

    def forward(self, prob, target):
        return -(target * clamped_log(prob) + (1 - target) * clamped_log(1 - prob))

    def backward(self, grad, out, prob, target):
        # d/dp = (p - x) / (p (1 - p)); the floor keeps the denominator away from 0 as PyTorch's eps does
        grad_p = grad * (prob - target) / np.maximum(prob * (1 - prob), 1e-12)
        grad_x = grad * (clamped_log(1 - prob) - clamped_log(prob)) if self.needs_grad(1) else None
        return grad_p, grad_x


# ---------------------------------------------------------------------------------------------
# Reduce: max and min (ties share the gradient equally, as PyTorch's amax/amin)
# ---------------------------------------------------------------------------------------------

def _extreme_backward(grad, out, x, axis, keepdims):
    """grad spread evenly over the elements equal to the extreme (out) along the reduced axes."""
    if not keepdims and axis is not None:
        grad, out = np.expand_dims(grad, axis), np.expand_dims(out, axis)
    hits = np.equal(x, out)                                   # a plain mask, even on Tensors
    share = (hits / hits.sum(axis=axis, keepdims=True)).astype(x.dtype)
    return (grad * share,)


class Max(Function):
    __slots__ = ()
    def forward(self, x, axis=None, keepdims=False): return np.max(x, axis=axis, keepdims=keepdims)
    def backward(self, grad, out, x, axis=None, keepdims=False): return _extreme_backward(grad, out, x, axis, keepdims)


class Min(Function):
    __slots__ = ()
    def forward(self, x, axis=None, keepdims=False): return np.min(x, axis=axis, keepdims=keepdims)
    def backward(self, grad, out, x, axis=None, keepdims=False): return _extreme_backward(grad, out, x, axis, keepdims)


# ---------------------------------------------------------------------------------------------
# Indexing and joining. `index` is a normalized numpy index (tensor.py makes it: a tuple of ints,
# slices, None, Ellipsis and integer arrays, boolean masks already turned into integer arrays).
# Index and IndexAdd are each other's backward, so derivatives of any order go through them.
# ---------------------------------------------------------------------------------------------

def dispatches(function):
    """Let a helper of the table dispatch as numpy's own functions do: when one of its arguments (or
    an array inside a tuple argument, such as an index) has a type that overrides numpy's
    __array_function__ protocol, the call goes there: a Tensor maps the helper to its primitive
    (tensor.py), a captured step's traced array records the call (so an index passed into the step
    stays an input of the program, never a frozen constant)."""
    def helper(*args, **kwargs):
        for x in args:
            for item in x if type(x) is tuple else (x,):
                kind = type(item)
                if kind is not np.ndarray and getattr(kind, "__array_function__", _PLAIN) is not _PLAIN:
                    return kind.__array_function__(item, helper, (kind,), args, kwargs)
        return function(*args, **kwargs)
    helper.__name__, helper.__doc__ = function.__name__, function.__doc__
    return helper


_PLAIN = np.ndarray.__array_function__


def _has_array(index):
    return any(isinstance(i, np.ndarray) for i in index)


@dispatches
def index_add(values, index, shape):
    """Zeros of `shape` with `values` added at `index`, repeated indices accumulating (np.add.at)."""
    out = np.zeros_like(values, shape=shape)   # (made from values: a captured step sees it made)
    if _has_array(index):
        np.add.at(out, index, values)
    else:                                       # a basic index selects each element at most once
        out[index] = values
    return out


class Index(Function):
    """x[index]; backward scatters the gradient into zeros of x's shape (np.add.at semantics)."""
    __slots__ = ()
    def forward(self, x, index): return x[index]
    def backward(self, grad, out, x, index): return (index_add(grad, index, x.shape),)


class IndexAdd(Function):
    """index_add(values, index, shape); backward gathers: grad[index]."""
    __slots__ = ()
    passes_grad_through = True                      # a basic index gives a view of grad
    def forward(self, values, index, shape): return index_add(values, index, shape)
    def backward(self, grad, out, values, index, shape): return (grad[index],)


class Cat(Function):
    """np.concatenate(inputs, axis); each input gets its slice of the gradient."""
    __slots__ = ()
    passes_grad_through = True                      # the slices are views of grad

    def forward(self, *inputs, axis=0):
        return np.concatenate(inputs, axis=axis)

    def backward(self, grad, out, *inputs, axis=0):
        lead = (slice(None),) * (axis % out.ndim)
        grads, start = [], 0
        for x in inputs:
            stop = start + x.shape[axis]
            grads.append(grad[lead + (slice(start, stop),)])
            start = stop
        return tuple(grads)


# ---------------------------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------------------------

class Where(Function):
    """np.where(condition, a, b) with a constant boolean condition: a gets the gradient where it is
    True, b where it is False (the engine sums each back to its input's shape)."""
    __slots__ = ()

    def forward(self, a, b, condition):
        return np.where(condition, a, b)

    def backward(self, grad, out, a, b, condition):
        return (np.where(condition, grad, 0) if self.needs_grad(0) else None,
                np.where(condition, 0, grad) if self.needs_grad(1) else None)


class Clip(Function):
    """np.clip(x, lo, hi) with constant bounds (None: no bound); the gradient passes where
    lo <= x <= hi, as PyTorch's clamp."""
    __slots__ = ()

    def forward(self, x, lo=None, hi=None):
        return np.clip(x, lo, hi)

    def backward(self, grad, out, x, lo=None, hi=None):
        inside = True
        if lo is not None:
            inside = x >= lo
        if hi is not None:
            inside = inside & (x <= hi)
        return (np.where(inside, grad, 0),)


# ---------------------------------------------------------------------------------------------
# Fused classification loss
# ---------------------------------------------------------------------------------------------

def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) on an ndarray or a Tensor, shifted by the (constant) max so that exp
    never overflows; the shift does not change the value, so no gradient needs to flow through it."""
    e = np.exp(x - np.max(np.asanyarray(x), axis=axis, keepdims=True))   # (a traced array stays traced)
    return e / e.sum(axis=axis, keepdims=True)


def one_hot(target, classes, dtype):
    """Rows of the identity picked by integer class labels: shape target.shape + (classes,)."""
    return np.equal(np.expand_dims(target, -1), cached_arange(classes)).astype(dtype)


class SoftmaxCrossEntropySum(Function):
    """scale * sum_i -log softmax(logits_i)[target_i] for logits (N, C) (or (C,)) and integer class
    targets (N,) (or a 0-d one). Backward is the closed form scale (softmax(logits) - one_hot(target)),
    written with ops a Tensor has, so it can itself be differentiated."""
    __slots__ = ()

    def forward(self, logits, target, scale):
        shifted = logits - np.max(logits, axis=-1, keepdims=True)
        log_norm = np.log(np.sum(np.exp(shifted), axis=-1))
        picked = np.take_along_axis(shifted, np.expand_dims(target, -1), axis=-1)[..., 0]
        return np.asarray(scale * np.sum(log_norm - picked), dtype=logits.dtype)

    def backward(self, grad, out, logits, target, scale):
        onehot = one_hot(target, logits.shape[-1], logits.dtype)
        return ((softmax(logits) - onehot) * (grad * scale),)
