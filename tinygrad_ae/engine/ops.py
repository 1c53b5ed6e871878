"""The derivative table: every primitive's forward and its vector-Jacobian product, side by side.

Each primitive is a small `Function`, a node of the graph:

    forward(self, *inputs, **constants)            -> the output, from plain ndarrays (and numbers)
    backward(self, grad, out, *inputs, **constants) -> one dL/d(input) per input (None: not needed)

`backward` is a pure function of the incoming gradient `grad`, the forward's output `out`, the
inputs and the constants (an axis, a scale), in plain numpy. The engine runs it on ndarrays for a
plain `backward()` (full speed, no graph) and on Tensors for `backward(create_graph=True)`: a Tensor
speaks enough of numpy's protocols that `np.exp(t)` or `grad * out` records graph nodes, so every
derivative is written once and can itself be differentiated, to any order. Rules each entry follows:
  * backward uses only operators, the ndarray methods Tensor also has (reshape, transpose, T, sum)
    and the numpy functions Tensor dispatches (tensor.py); it never writes into its arguments;
  * backward reuses the forward's output where the derivative is a function of it;
  * formulas make new arrays rather than writing in place: the captured step (tg.compile) plans where
    to write in place, and it can drop a repeated computation only when each result is written once;
  * a backward may return a gradient of the broadcast shape: the engine sums it back to the input's;
  * saved values, the one exception to "pure": a fused loss's forward may keep, in a slot, one array
    its backward would compute again (the squared error's residual, the logistic loss's exp(-|a|)).
    Backward takes it once, releasing it, and computes it again from the inputs on Tensors (so that
    it is recorded) or in a second pass (retain_graph); a test checks both, bit for bit.
Numerics (the helpers, and each faster spelling's measured reason, are in numerics.py):
  * sigmoid is 1/(1 + exp(-x)) with the overflow to inf silenced (1/(1 + inf) = 0 is the limit);
    softplus is logaddexp(0, x), which never overflows;
  * the fused losses are primitives because their backward is the lecture's closed form
    (dL/da = sigmoid(a) - x for cross-entropy on logits), cheaper and finite where the chain is not.
    On logits, softplus(a) = max(a, 0) + log1p(e) with e = exp(-|a|) <= 1, and backward's sigmoid is
    1/(1 + e) where a >= 0, e/(1 + e) where a < 0: nothing overflows, at +-1000 either;
  * binary cross-entropy on probabilities clamps each log at -100, as PyTorch does;
  * softmax subtracts the row's max first: a constant shift, through which no gradient flows.
"""
import numpy as np

from .numerics import clamped_log, column_sums, dispatches, one_hot, sigmoid, sigmoid_from_exp_neg_abs, softmax


class Function:
    """A node of the graph: the primitive that made a tensor, its inputs (`parents`: Tensors, or Python
    numbers) and its constants. `arrays` are the inputs' values as forward saw them, which a plain
    backward reads; a backward pass that does not retain the graph releases them (sets None): a second
    pass through the node is then an error, as in PyTorch, while the graph's structure stays to be drawn."""

    __slots__ = ("parents", "arrays", "constants", "site")    # site: set by debug observers only
    # True where backward may return the incoming gradient itself, or a view of it: the engine then
    # copies that gradient before it keeps it as a leaf's .grad (no two leaves share one array).
    may_return_grad_view = False

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


# ----- Elementwise (unary) -------------------------------------------------------------------

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
    """log(1 + exp(x)); a primitive so that the derivative at 0 is exactly 1/2 (no kink of |x|)."""
    __slots__ = ()
    def forward(self, x): return np.logaddexp(0, x)
    def backward(self, grad, out, x): return (grad * sigmoid(x),)


class ReLU(Function):
    __slots__ = ()
    def forward(self, x): return np.maximum(x, 0)
    def backward(self, grad, out, x): return (grad * (x > 0),)        # 0 at the kink, as PyTorch


class Pow(Function):
    """x ** exponent for a constant number exponent; d/dx is 0 for exponent 0 (not 0 * x**-1, nan at 0)."""
    __slots__ = ()
    def forward(self, x, exponent): return x ** exponent
    def backward(self, grad, out, x, exponent):
        return (grad * (exponent * x ** (exponent - 1)) if exponent != 0 else grad * 0,)


# ----- Binary (broadcasting: the engine sums each gradient back to its input's shape) ---------

class Add(Function):
    __slots__ = ()
    may_return_grad_view = True
    def forward(self, a, b): return a + b
    def backward(self, grad, out, a, b): return grad, grad


class Sub(Function):
    """A primitive rather than a + (-b): one node and one temporary less per subtraction."""
    __slots__ = ()
    may_return_grad_view = True
    def forward(self, a, b): return a - b
    def backward(self, grad, out, a, b): return grad, (-grad if self.needs_grad(1) else None)


class Mul(Function):
    __slots__ = ()
    def forward(self, a, b): return a * b
    def backward(self, grad, out, a, b):
        return grad * b if self.needs_grad(0) else None, grad * a if self.needs_grad(1) else None


class Div(Function):
    """A primitive rather than a * b**-1: d/db = -y/b reuses the output y = a/b."""
    __slots__ = ()
    def forward(self, a, b): return a / b
    def backward(self, grad, out, a, b):
        grad_a = grad / b
        return grad_a, (-grad_a * out if self.needs_grad(1) else None)


class Maximum(Function):
    """Elementwise max; at a tie each input gets half the gradient, as PyTorch does."""
    __slots__ = ()
    def forward(self, a, b): return np.maximum(a, b)
    def backward(self, grad, out, a, b):
        share = (np.greater(a, b) + 0.5 * np.equal(a, b)).astype(out.dtype)   # a's share: 1, 1/2 or 0
        return grad * share if self.needs_grad(0) else None, grad * (1 - share) if self.needs_grad(1) else None


class Minimum(Function):
    """Elementwise min; at a tie each input gets half the gradient, as PyTorch does."""
    __slots__ = ()
    def forward(self, a, b): return np.minimum(a, b)
    def backward(self, grad, out, a, b):
        share = (np.less(a, b) + 0.5 * np.equal(a, b)).astype(out.dtype)      # a's share: 1, 1/2 or 0
        return grad * share if self.needs_grad(0) else None, grad * (1 - share) if self.needs_grad(1) else None


# ----- Reduce: sum, max and min over an axis (None: all), keepdims as numpy's -----------------

class Sum(Function):
    __slots__ = ()
    may_return_grad_view = True                     # backward returns a broadcast view of grad
    def forward(self, x, axis=None, keepdims=False): return np.sum(x, axis=axis, keepdims=keepdims)
    def backward(self, grad, out, x, axis=None, keepdims=False):
        if not keepdims and axis is not None:       # put the reduced axes back as size-1 dims
            grad = np.expand_dims(grad, axis)
        return (np.broadcast_to(grad, x.shape),)    # a read-only view; the engine copies if kept


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


# ----- Movement and selection -----------------------------------------------------------------

class Reshape(Function):
    __slots__ = ()
    may_return_grad_view = True
    def forward(self, x, shape): return x.reshape(shape)
    def backward(self, grad, out, x, shape): return (grad.reshape(x.shape),)


class Transpose(Function):
    """axes=None reverses the axes, as numpy does."""
    __slots__ = ()
    may_return_grad_view = True
    def forward(self, x, axes=None): return np.transpose(x, axes)
    def backward(self, grad, out, x, axes=None):
        return (np.transpose(grad, None if axes is None else tuple(np.argsort([a % x.ndim for a in axes]))),)


class BroadcastTo(Function):
    """x repeated along new or size-1 axes; backward is the engine's one sum back to x's shape."""
    __slots__ = ()
    may_return_grad_view = True
    def forward(self, x, shape): return np.broadcast_to(x, shape)
    def backward(self, grad, out, x, shape): return (grad,)


# `index`: a tuple of ints, slices, None, Ellipsis and integer arrays (arguments.py turns masks into
# integer arrays). Index and IndexAdd are each other's backward: derivatives of any order go through.

@dispatches
def index_add(values, index, shape):
    """Zeros of `shape` with `values` added at `index`, repeated indices accumulating (np.add.at)."""
    out = np.zeros_like(values, shape=shape)   # (made from values: a captured step sees it made)
    if any(isinstance(i, np.ndarray) for i in index):
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
    may_return_grad_view = True                     # a basic index gives a view of grad
    def forward(self, values, index, shape): return index_add(values, index, shape)
    def backward(self, grad, out, values, index, shape): return (grad[index],)


class Cat(Function):
    """np.concatenate(inputs, axis); each input gets its slice of the gradient."""
    __slots__ = ()
    may_return_grad_view = True                     # the slices are views of grad
    def forward(self, *inputs, axis=0): return np.concatenate(inputs, axis=axis)
    def backward(self, grad, out, *inputs, axis=0):
        lead = (slice(None),) * (axis % out.ndim)
        grads, start = [], 0
        for x in inputs:
            stop = start + x.shape[axis]
            grads.append(grad[lead + (slice(start, stop),)])
            start = stop
        return tuple(grads)


class Where(Function):
    """np.where(condition, a, b) with a constant boolean condition: a gets the gradient where it is
    True, b where it is False (the engine sums each back to its input's shape)."""
    __slots__ = ()
    def forward(self, a, b, condition): return np.where(condition, a, b)
    def backward(self, grad, out, a, b, condition):
        return (np.where(condition, grad, 0) if self.needs_grad(0) else None,
                np.where(condition, 0, grad) if self.needs_grad(1) else None)


# ----- Matmul and linear ----------------------------------------------------------------------

class MatMul(Function):
    """a @ b with numpy's rules: a 1-D a is a row, a 1-D b a column, batch dims broadcast."""
    __slots__ = ()
    def forward(self, a, b): return a @ b
    def backward(self, grad, out, a, b):
        if a.ndim == 1 and b.ndim == 1:             # a dot product
            return grad * b, grad * a
        # a 1-D operand as a matrix (a row a, a column b), grad with it; the added axis summed away after
        a2, b2 = (a.reshape(1, -1) if a.ndim == 1 else a), (b.reshape(-1, 1) if b.ndim == 1 else b)
        grad = np.expand_dims(grad, -2) if a.ndim == 1 else np.expand_dims(grad, -1) if b.ndim == 1 else grad
        grad_a = grad @ np.swapaxes(b2, -1, -2) if self.needs_grad(0) else None
        grad_b = np.swapaxes(a2, -1, -2) @ grad if self.needs_grad(1) else None
        return (grad_a.sum(axis=-2) if a.ndim == 1 and grad_a is not None else grad_a,
                grad_b.sum(axis=-1) if b.ndim == 1 and grad_b is not None else grad_b)


class Linear(Function):
    """x @ W.T + b, PyTorch's F.linear: one node instead of three, W's gradient made directly in
    W's (out, in) layout, and b's a column sum. It is the autoencoder's hot path."""
    __slots__ = ()

    def forward(self, x, weight, bias=None):
        # np.dot: matmul's BLAS call, bit for bit, without the generalized-ufunc machinery (1.7 against
        # 2.3 us at 16x64 @ 64x16 float32); written here, not as a helper, as a call less (0.12 us at tiny)
        out = np.dot(x, weight.T) if x.ndim == 2 else x @ weight.T
        return out if bias is None else out + bias

    def backward(self, grad, out, x, weight, bias=None):
        rows, grad_rows = x, grad                   # 2-D, where np.dot is the matrix product
        if x.ndim != 2:                             # batch dims (if any) flattened into rows
            rows, grad_rows = x.reshape(-1, weight.shape[1]), grad.reshape(-1, weight.shape[0])
        parents = self.parents      # all Tensors (apply makes arrays Tensors): needs_grad inlined, the hot path
        return (np.dot(grad_rows, weight).reshape(x.shape) if parents[0].requires_grad else None,
                np.dot(grad_rows.T, rows) if parents[1].requires_grad else None,
                column_sums(grad_rows) if bias is not None and parents[2].requires_grad else None)


# ----- Fused losses: scale * sum(...), so "mean", "sum" and the slides' (1/m) sum_i sum_j share one op

class SquaredErrorSum(Function):
    """scale * sum((pred - target)^2); backward 2 scale (pred - target), the slides' 2(x_hat - x)."""
    __slots__ = ("residual",)                       # pred - target, saved: one pass over the batch less

    def forward(self, pred, target, scale):
        diff = self.residual = pred - target
        return scale * np.vdot(diff, diff)          # a float32 number stays float32 (numpy >= 2)

    def backward(self, grad, out, pred, target, scale):
        diff, self.residual = self.residual, None
        if diff is None or not isinstance(pred, np.ndarray):
            diff = pred - target                    # (on Tensors: computed again, so that it is recorded)
        g = diff * (grad * (2.0 * scale))           # number arithmetic first: one pass over the array
        return g, (-g if self.needs_grad(1) else None)


class BCEWithLogitsSum(Function):
    """scale * sum(softplus(a) - x a) = scale * sum(-x log s(a) - (1-x) log(1-s(a))), from the logits a.
    Backward is the lecture's simplified chain: dL/da = scale (sigmoid(a) - x); and dL/dx = -scale a."""
    __slots__ = ("exp_neg_abs",)                    # e = exp(-|a|), saved: backward's sigmoid needs no exp

    def forward(self, logits, target, scale):
        # max(a, 0) = (a + |a|) / 2 exactly, an add cheaper than np.maximum (37 against 100 us); np.log1p
        # itself: numpy 2.4's is vectorized, 2.1-2.3x faster than log-and-correct (0.82 against 3.75 us at 1024)
        t = np.abs(logits)
        e = self.exp_neg_abs = np.exp(-t)
        return scale * (0.5 * (logits + t).sum() + np.log1p(e).sum() - np.vdot(target, logits))

    def backward(self, grad, out, logits, target, scale):
        e, self.exp_neg_abs = self.exp_neg_abs, None
        if e is not None and isinstance(logits, np.ndarray):
            s = sigmoid_from_exp_neg_abs(logits, e)
        else:                                       # on Tensors (create_graph): each branch differentiable
            positive = logits >= 0                  # a constant mask; e = exp(-|a|):
            e = np.exp(np.where(positive, -logits, logits))
            s = (e + positive * (1 - e)) / (1 + e)  # sigmoid(a): 1/(1+e) where a >= 0, else e/(1+e)
        return (s - target) * (grad * scale), (logits * (-scale * grad) if self.needs_grad(1) else None)


class BinaryCrossEntropy(Function):
    """-(x log p + (1-x) log(1-p)) elementwise on probabilities p, each log clamped at -100 as
    PyTorch does, so p = 0 or 1 gives a finite loss (0 where the target agrees)."""
    __slots__ = ()
    def forward(self, prob, target): return -(target * clamped_log(prob) + (1 - target) * clamped_log(1 - prob))
    def backward(self, grad, out, prob, target):
        # d/dp = (p - x) / (p (1 - p)); the floor keeps the denominator away from 0 as PyTorch's eps does
        grad_p = grad * (prob - target) / np.maximum(prob * (1 - prob), 1e-12)
        grad_x = grad * (clamped_log(1 - prob) - clamped_log(prob)) if self.needs_grad(1) else None
        return grad_p, grad_x


class SoftmaxCrossEntropySum(Function):
    """scale * sum_i -log softmax(logits_i)[target_i], logits (N, C) or (C,), integer targets (N,) or 0-d.
    Backward is the closed form scale (softmax(logits) - one_hot(target)), itself differentiable."""
    __slots__ = ()

    def forward(self, logits, target, scale):
        shifted = logits - np.max(logits, axis=-1, keepdims=True)
        log_norm = np.log(np.sum(np.exp(shifted), axis=-1))
        picked = np.take_along_axis(shifted, np.expand_dims(target, -1), axis=-1)[..., 0]
        return np.asarray(scale * np.sum(log_norm - picked), dtype=logits.dtype)

    def backward(self, grad, out, logits, target, scale):
        return ((softmax(logits) - one_hot(target, logits.shape[-1], logits.dtype)) * (grad * scale),)


# The table continues in ops_more.py (clip, roundings, more elementwise, scans, gather, dtype), named here.
from .ops_more import (Cast, Clip, Cos, Cumsum, Erf, Expm1, Gather, Log1p, Prod, Rounding,  # noqa: E402,F401
                       ScatterAdd, Sign, Sin)
# ... and in conv.py (the convolution family: Conv2d, its adjoints in the input and in the weight).
from .conv import Conv2d, Conv2dWeight, ConvTranspose2d  # noqa: E402,F401
