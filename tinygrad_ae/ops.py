"""The derivative table: every primitive's forward and its vector-Jacobian product, side by side.

Each primitive is a small `Function`. `forward(*arrays)` computes the output from plain ndarrays and
saves what backward needs; `backward(grad)` takes dL/d(output) and returns one dL/d(input) per
input (None where no gradient is needed). Everything here is numpy on ndarrays: no graph is built
during backward. The engine in tensor.py undoes broadcasting, so a backward may return a gradient
of the broadcast shape and let the engine sum it back to the input's own shape.

Rules every entry follows:
  * backward never writes into the `grad` it is given (it may be shared with another input);
  * backward reuses the forward's output where the derivative is a function of it;
  * only what backward needs is saved.

This module imports nothing from the rest of the package, so the table reads on its own.
"""
import numpy as np


# Below this many elements numpy's fixed cost per call dominates, and an in-place update (out=)
# costs more than a fresh array; above it, fewer temporaries mean fewer passes and page faults.
SMALL = 4096


class Function:
    """A node of the graph: the primitive that made a tensor, its inputs and its saved arrays."""

    # "site" is set only by debug observers (where in user code the op was called)
    __slots__ = ("parents", "saved", "site")
    # True while a backward(retain_graph=True) runs: only then may a backward not consume its saved
    # arrays (set by the engine; a backward that would reuse a saved buffer checks it)
    retaining = False
    # Pass-through ops return the incoming gradient object itself (or a view of it); the engine
    # copies such a gradient before it stores it as a leaf's .grad, so no two leaves share one.
    passes_grad_through = False

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def needs_grad(self, i):
        """Whether input i wants a gradient (lets backward skip work, e.g. a GEMM for the data)."""
        return self.parents[i].requires_grad

    @property
    def name(self):
        return type(self).__name__.lower()


# ---------------------------------------------------------------------------------------------
# Unary
# ---------------------------------------------------------------------------------------------

class Neg(Function):
    __slots__ = ()

    def forward(self, x):
        return np.negative(x)

    def backward(self, grad):
        return (np.negative(grad),)


class Exp(Function):
    __slots__ = ()

    def forward(self, x):
        y = np.exp(x)
        self.saved = y
        return y

    def backward(self, grad):
        return (grad * self.saved,)                 # d exp(x) = exp(x): reuse the output


class Log(Function):
    """Natural log. log(0) is -inf and log(x < 0) is nan, with numpy's warnings, as numpy does."""
    __slots__ = ()

    def forward(self, x):
        self.saved = x
        return np.log(x)

    def backward(self, grad):
        return (grad / self.saved,)


class Sigmoid(Function):
    """A primitive, not exp/add/div composed: one node instead of four, and backward is y(1 - y)
    from the saved output. 1/(1 + exp(-x)) is accurate on both sides; for x < -709 (float64) or
    x < -88 (float32) exp(-x) becomes inf and 1/(1 + inf) = 0 is the exact limit, so that overflow
    is harmless and silenced. (The two-branch form exp(-|x|) never overflows either, but costs
    twice the passes over the array.)"""
    __slots__ = ()

    def forward(self, x):
        with np.errstate(over="ignore"):
            if x.size <= SMALL:
                y = 1 / (1 + np.exp(-x))
            else:                                   # one array, updated in place
                y = np.negative(x)
                np.exp(y, out=y)
                y += 1
                np.reciprocal(y, out=y)
        self.saved = y
        return y

    def backward(self, grad):
        y = self.saved
        if y.size <= SMALL:
            return (grad * y * (1 - y),)
        d = 1 - y                                   # one temporary, then in place: y(1 - y) grad
        d *= y
        d *= grad
        return (d,)


class Tanh(Function):
    """A primitive for the same reasons as sigmoid: stable, and backward is 1 - y^2 from the output."""
    __slots__ = ()

    def forward(self, x):
        y = np.tanh(x)
        self.saved = y
        return y

    def backward(self, grad):
        y = self.saved
        if y.size <= SMALL:
            return (grad * (1 - y * y),)
        d = y * y
        np.subtract(1, d, out=d)                    # one temporary, then in place: (1 - y^2) grad
        d *= grad
        return (d,)


class Softplus(Function):
    """log(1 + exp(x)). A primitive for stability and exactness: numpy's logaddexp(0, x) never
    overflows, and the derivative sigmoid(x) is smooth. (The composite relu(x) + log(1 + exp(-|x|))
    is stable too, but its two kinks at 0 give the subgradient 0 there instead of 0.5.)"""
    __slots__ = ()

    def forward(self, x):
        self.saved = x
        return np.logaddexp(0, x)

    def backward(self, grad):
        return (grad * Sigmoid().forward(self.saved),)


class ReLU(Function):
    __slots__ = ()

    def forward(self, x):
        y = np.maximum(x, 0)
        self.saved = y
        return y

    def backward(self, grad):
        return (grad * (self.saved > 0),)           # derivative 0 at the kink, as PyTorch


class Pow(Function):
    """x ** p for a constant scalar p (a tensor exponent is not supported)."""
    __slots__ = ()

    def forward(self, x, p):
        self.saved = (x, p)
        return x ** p

    def backward(self, grad):
        x, p = self.saved
        if p == 2:
            return (grad * (2 * x),)                # the common case, without a power call
        if p == 0:
            return (np.zeros_like(grad),)           # not 0 * x**-1, which is nan at x = 0
        return (grad * (p * x ** (p - 1)),)


# ---------------------------------------------------------------------------------------------
# Binary (broadcasting: the engine sums each gradient back to its input's shape)
# ---------------------------------------------------------------------------------------------

class Add(Function):
    __slots__ = ()
    passes_grad_through = True

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    """A primitive rather than a + (-b) to save one node and one temporary per subtraction."""
    __slots__ = ()
    passes_grad_through = True

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, (np.negative(grad) if self.needs_grad(1) else None)


class Mul(Function):
    __slots__ = ()

    def forward(self, a, b):
        self.saved = (a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved
        return (grad * b if self.needs_grad(0) else None,
                grad * a if self.needs_grad(1) else None)


class Div(Function):
    """A primitive rather than a * b**-1: one node, and d/db = -y/b reuses the output y = a/b."""
    __slots__ = ()

    def forward(self, a, b):
        y = a / b
        self.saved = (b, y)
        return y

    def backward(self, grad):
        b, y = self.saved
        grad_a = grad / b
        return grad_a, (-grad_a * y if self.needs_grad(1) else None)


# ---------------------------------------------------------------------------------------------
# Reduce
# ---------------------------------------------------------------------------------------------

class Sum(Function):
    __slots__ = ()
    passes_grad_through = True                      # backward returns a broadcast view of grad

    def forward(self, x, axis=None, keepdims=False):
        self.saved = (x.shape, axis, keepdims)
        return np.sum(x, axis=axis, keepdims=keepdims)

    def backward(self, grad):
        shape, axis, keepdims = self.saved
        if not keepdims and axis is not None:       # put the reduced axes back as size-1 dims
            grad = np.expand_dims(grad, axis)
        return (np.broadcast_to(grad, shape),)      # a read-only view; the engine copies if kept


# ---------------------------------------------------------------------------------------------
# Movement
# ---------------------------------------------------------------------------------------------

class Reshape(Function):
    __slots__ = ()
    passes_grad_through = True

    def forward(self, x, shape):
        self.saved = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return (grad.reshape(self.saved),)


class Transpose(Function):
    __slots__ = ()
    passes_grad_through = True

    def forward(self, x, axes=None):
        if axes is not None:
            axes = tuple(a % x.ndim for a in axes)  # negative axes count from the end
        self.saved = None if axes is None else tuple(np.argsort(axes))
        return np.transpose(x, axes)

    def backward(self, grad):
        return (np.transpose(grad, self.saved),)    # the inverse permutation (None reverses again)


# ---------------------------------------------------------------------------------------------
# Matmul
# ---------------------------------------------------------------------------------------------

class MatMul(Function):
    """a @ b with numpy's rules (1-D operands promoted, batch dims broadcast)."""
    __slots__ = ()

    def forward(self, a, b):
        self.saved = (a, b)
        return a @ b

    def backward(self, grad):
        a, b = self.saved
        if a.ndim >= 2 and b.ndim >= 2:             # the common case: no promotion needed
            return (grad @ np.swapaxes(b, -1, -2) if self.needs_grad(0) else None,
                    np.swapaxes(a, -1, -2) @ grad if self.needs_grad(1) else None)
        if a.ndim == 1 and b.ndim == 1:             # a dot product
            return grad * b, grad * a
        # 1-D operands: a (n,) acts as a (1, n) row and b (n,) as an (n, 1) column; undo after
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            grad = grad[..., None, :]
        if b.ndim == 1:
            grad = grad[..., None]
        grad_a = grad_b = None
        if self.needs_grad(0):
            grad_a = grad @ np.swapaxes(b2, -1, -2)
            grad_a = grad_a[..., 0, :] if a.ndim == 1 else grad_a
        if self.needs_grad(1):
            grad_b = np.swapaxes(a2, -1, -2) @ grad
            grad_b = grad_b[..., 0] if b.ndim == 1 else grad_b
        return grad_a, grad_b


class Linear(Function):
    """x @ W.T + b, PyTorch's F.linear. A primitive rather than transpose, matmul and add composed:
    one node instead of three, the bias added in place, W's gradient made directly in W's (out, in)
    layout, and b's gradient a plain column sum. It is the autoencoder's hot path."""
    __slots__ = ()

    def forward(self, x, weight, bias=None):
        # np.dot is matmul's cheaper entry point for 2-D operands (about 0.6 us less per call)
        out = np.dot(x, weight.T) if x.ndim == 2 else x @ weight.T
        if bias is not None:
            out += bias
        self.saved = (x, weight)
        return out

    def backward(self, grad):
        x, weight = self.saved
        parents = self.parents
        if grad.ndim != 2 or x.ndim != 2:           # batch dims (if any) flattened into rows
            grad, x = grad.reshape(-1, weight.shape[0]), x.reshape(-1, weight.shape[1])
        grad_x = np.dot(grad, weight).reshape(self.saved[0].shape) if parents[0].requires_grad else None
        grad_w = np.dot(grad.T, x) if parents[1].requires_grad else None
        grad_b = None
        if len(parents) == 3 and parents[2].requires_grad:
            grad_b = np.add.reduce(grad, axis=0)    # the column sum, without np.sum's wrapper
        return grad_x, grad_w, grad_b


# ---------------------------------------------------------------------------------------------
# Fused losses: primitives on purpose, because their backward is the lecture's closed form,
# which is both cheaper than the composed chain and finite where that chain is not.
# Each returns scale * sum(...), so "mean" and the lecture's (1/m) sum_i sum_j share one op.
# ---------------------------------------------------------------------------------------------

class SquaredErrorSum(Function):
    """scale * sum((pred - target)^2); backward 2 * scale * (pred - target), the slides' 2(x_hat - x)."""
    __slots__ = ()

    def forward(self, pred, target, scale):
        diff = pred - target
        self.saved = (diff, scale)
        return np.array(scale * np.vdot(diff, diff), dtype=diff.dtype)

    def backward(self, grad):
        diff, scale = self.saved
        factor = 2.0 * scale * float(grad)
        if self.retaining or diff.size <= SMALL:
            g = diff * factor
        else:                                       # the graph is being freed: diff becomes the gradient
            g = diff
            g *= factor
        return g, (np.negative(g) if self.needs_grad(1) else None)


class BCEWithLogitsSum(Function):
    """scale * sum(softplus(a) - x a) = scale * sum(-x log s(a) - (1-x) log(1-s(a))), from the logits a.
    Backward is the lecture's simplified chain: dL/da = scale * (sigmoid(a) - x)."""
    __slots__ = ()

    def forward(self, logits, target, scale):
        self.saved = (logits, target, scale)
        # softplus(a) - x a = max(a, 0) + log1p(exp(-|a|)) - x a, each term summed on its own;
        # max(a, 0) = (a + |a|) / 2 exactly, and an add is several times cheaper than np.maximum
        t = np.abs(logits)
        twice_relu = logits + t
        np.negative(t, out=t)
        np.exp(t, out=t)
        np.log1p(t, out=t)
        total = t.sum() + 0.5 * twice_relu.sum() - np.vdot(target, logits)
        return np.asarray(scale * total, dtype=logits.dtype)

    def backward(self, grad):
        logits, target, scale = self.saved
        g = Sigmoid().forward(logits)               # dL/da = scale * (sigmoid(a) - x)
        g -= target
        g *= scale * grad
        # d/dx of (softplus(a) - x a) is -a: targets rarely need it, so it is computed on demand
        return g, (logits * (-scale * grad) if self.needs_grad(1) else None)


class BCESum(Function):
    """scale * sum(-(x log p + (1-x) log(1-p))) on probabilities p, with each log clamped at -100
    as PyTorch does, so p = 0 or 1 gives a large finite loss rather than inf or nan."""
    __slots__ = ()

    def forward(self, prob, target, scale):
        with np.errstate(divide="ignore"):          # log(0) = -inf is clamped just below
            log_p = np.maximum(np.log(prob), -100)
            log_1mp = np.maximum(np.log1p(-prob), -100)
        self.saved = (prob, target, scale, log_p, log_1mp)
        return np.asarray(-scale * np.sum(target * log_p + (1 - target) * log_1mp), dtype=prob.dtype)

    def backward(self, grad):
        prob, target, scale, log_p, log_1mp = self.saved
        # d/dp = (p - x) / (p (1 - p)); the clamp keeps the denominator away from 0 as PyTorch's eps does
        denom = np.maximum(prob * (1 - prob), 1e-12)
        g = (prob - target) / denom * (scale * grad)
        return g, ((log_1mp - log_p) * (scale * grad) if self.needs_grad(1) else None)
