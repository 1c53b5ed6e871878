"""The problem every contender solves, its fast numpy solution, and the gate's comparison.

One step is forward, loss (the lecture's normalization: summed over features, averaged over examples),
backward and an SGD update, for a sigmoid encoder with a linear decoder + squared error ("mse") and
with a logistic decoder + cross-entropy ("bce"), on seeded data that every contender shares.

The numpy baseline is the lecture's closed-form gradients as fast as numpy allows: preallocated
buffers, in-place ufuncs, np.dot(out), h(1 - h) from the saved h, the residual turned into dL/da2 in
place, and the update p -= lr g on the true gradients (as a framework's step must keep them in .grad).
A variant folds the learning rate into the scaling of dL/da2 so that its update is one subtraction per
parameter (`FoldedNumpyBaseline`, "numpy baseline (lr folded)"). Every contender is checked against the
baseline (`check_agreement`) before anything is timed. The GEMM
bound (the step's five GEMMs and nothing else) is the floor every time is compared with.
"""
import math

import numpy as np

SIZES = {"tiny": (16, 64, 16), "digits": (64, 64, 32), "mnist": (256, 784, 128), "wide": (1024, 784, 1024)}
DTYPES = ("float32", "float64")
LOSSES = {"mse": "sigmoid encoder, linear decoder, squared error",
          "bce": "sigmoid encoder, logistic decoder, cross-entropy"}
LEARNING_RATE = 0.01
BASELINE = "numpy baseline"
# Relative tolerance of the correctness gate (max abs difference / max abs value), per dtype: float32
# GEMMs that sum in a different order differ by a few units in the last place of the largest entry.
GATE_TOLERANCE = {"float32": 2e-4, "float64": 1e-10}
PARAMETERS = ("W", "b", "W_star", "c")


class GateError(AssertionError):
    """A contender's loss or gradients differ from the numpy baseline's: its times would mean nothing."""


# ----- the problem every contender solves ----------------------------------------------------------

class Problem:
    """Data X (m, n) in [0, 1) and the starting parameters, the same for every contender (seeded)."""

    def __init__(self, size, dtype, loss, seed=0):
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; choose from {', '.join(SIZES)}")
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPES)}")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose from {', '.join(LOSSES)}")
        self.size, self.dtype, self.loss = size, np.dtype(dtype), loss
        self.m, self.n, self.k = m, n, k = SIZES[size]
        self.decoder = "sigmoid" if loss == "bce" else "linear"
        self.lr = LEARNING_RATE
        rng = np.random.default_rng(seed)
        bound_w, bound_ws = math.sqrt(6 / (n + k)), math.sqrt(6 / (k + n))
        self.X = rng.random((m, n)).astype(dtype)
        self.params = {"W": rng.uniform(-bound_w, bound_w, (k, n)).astype(dtype),
                       "b": rng.uniform(-0.1, 0.1, k).astype(dtype),
                       "W_star": rng.uniform(-bound_ws, bound_ws, (n, k)).astype(dtype),
                       "c": rng.uniform(-0.1, 0.1, n).astype(dtype)}

    def copy_params(self):
        return {name: value.copy() for name, value in self.params.items()}

    @property
    def label(self):
        return f"{self.size} {SIZES[self.size]}, {self.dtype}, {self.loss}"


# ----- a contender: step() is one training step, loss_and_gradients() is what the gate checks -----

class Contender:
    name = "?"

    def __init__(self, problem):
        self.problem = problem

    def step(self):
        raise NotImplementedError

    def loss_and_gradients(self):
        """(loss, {"W", "b", "W_star", "c"} as ndarrays) at the current parameters, without an update."""
        raise NotImplementedError


def _sigmoid_into(a, out, one):
    """out = 1 / (1 + exp(-a)) in four in-place passes; exp(-a) = inf for very negative a gives 0, exactly.
    one is a 0-d array of a's dtype (numpy converts a Python 1 again on every call)."""
    np.negative(a, out)
    with np.errstate(over="ignore"):
        np.exp(out, out)
    np.add(out, one, out)
    np.reciprocal(out, out)
    return out


class NumpyBaseline(Contender):
    """The closed-form step with no allocation after construction: every array lives in a buffer.
    Outputs are passed positionally and GEMMs go through np.dot(a, b, out), the cheapest calls numpy
    has (a keyword out= or np.sum(..., out=) costs a microsecond more, which shows at the tiny size);
    the numbers it multiplies by are 0-d arrays of the data's dtype, made once (a Python float is
    converted again on every call). Its gradients are the gradients, as a framework's .grad must be,
    and the update is p -= lr g, two passes per parameter (multiply into a scratch buffer, subtract)."""
    name = BASELINE
    fold_lr = False

    def __init__(self, problem):
        super().__init__(problem)
        p, dtype = problem, problem.dtype
        self.X, self.lr = p.X, p.lr
        self.W, self.b, self.W_star, self.c = (p.params[name].copy() for name in PARAMETERS)
        self.A1, self.H, self.DH = (np.empty((p.m, p.k), dtype) for _ in range(3))
        self.A2 = np.empty((p.m, p.n), dtype)
        self.T = np.empty((p.m, p.n), dtype) if p.loss == "bce" else None
        self.grads = {name: np.empty_like(value) for name, value in p.params.items()}
        self.scratch = {name: np.empty_like(value) for name, value in p.params.items()}
        self.scale = 1.0 / p.m
        number = lambda value: np.array(value, dtype)                       # noqa: E731
        self.one, self.lr0 = number(1), number(p.lr)
        self.ones_row = np.ones(p.m, dtype)                                 # column sums as ones @ A (gemv)
        two = 1.0 if p.loss == "bce" else 2.0                               # d(r^2)/dr = 2r
        factor = p.lr if self.fold_lr else 1.0
        self.d_scale = {1.0: number(two * self.scale), factor: number(two * self.scale * factor)}

    def forward_backward(self, factor=1.0):
        """The loss, and factor x the gradients in self.grads (the lr-folded variant passes the
        learning rate, so its update is one subtraction per parameter; the gate checks factor 1)."""
        X, A1, H, A2, DH, T, g = self.X, self.A1, self.H, self.A2, self.DH, self.T, self.grads
        dot, add_reduce, one, ones_row = np.dot, np.add.reduce, self.one, self.ones_row
        dot(X, self.W.T, A1)                                # a1 = X W^T + b
        A1 += self.b
        _sigmoid_into(A1, H, one)                           # h = sigmoid(a1)
        dot(H, self.W_star.T, A2)                           # a2 = h W*^T + c
        A2 += self.c
        if T is None:                                       # squared error, linear decoder:
            A2 -= X                                         # the residual x_hat - x ...
            loss = np.vdot(A2, A2) * self.scale
            A2 *= self.d_scale[factor]                      # ... turned into factor dL/da2 in place
        else:                                               # cross-entropy from the logits a2:
            np.abs(A2, T)                                   # sum softplus(a) - x a, with softplus(a) =
            sum_abs = add_reduce(T, None)                   #   max(a, 0) + log1p(exp(-|a|)) and
            np.negative(T, T)                               #   sum max(a, 0) = (sum a + sum |a|) / 2
            np.exp(T, T)
            np.log1p(T, T)
            loss = (add_reduce(T, None) + 0.5 * (add_reduce(A2, None) + sum_abs) - np.vdot(X, A2)) * self.scale
            _sigmoid_into(A2, A2, one)                      # x_hat, then factor dL/da2 = factor (x_hat - x) / m
            A2 -= X
            A2 *= self.d_scale[factor]
        dot(A2.T, H, g["W_star"])                           # dL/dW* = dA2^T h
        dot(ones_row, A2, g["c"])                           # dL/dc = column sums of dA2
        dot(A2, self.W_star, DH)                            # dL/dh = dA2 W*
        np.subtract(one, H, A1)                             # h (1 - h) from the saved h, in a1's buffer
        A1 *= H
        DH *= A1                                            # dL/da1
        dot(DH.T, X, g["W"])                                # dL/dW = dA1^T X
        dot(ones_row, DH, g["b"])
        return loss

    def step(self):
        self.forward_backward()
        g, s, lr, multiply = self.grads, self.scratch, self.lr0, np.multiply
        multiply(g["W"], lr, s["W"])                        # p -= lr g: two passes per parameter
        self.W -= s["W"]
        multiply(g["b"], lr, s["b"])
        self.b -= s["b"]
        multiply(g["W_star"], lr, s["W_star"])
        self.W_star -= s["W_star"]
        multiply(g["c"], lr, s["c"])
        self.c -= s["c"]

    def loss_and_gradients(self):
        loss = float(self.forward_backward())
        return loss, {name: value.copy() for name, value in self.grads.items()}


class FoldedNumpyBaseline(NumpyBaseline):
    """The numpy baseline with the learning rate folded into the scaling of dL/da2: its gradients come
    out times lr and the update is one subtraction per parameter (4 numpy calls fewer per step). The
    fastest SGD step we can write by hand; a framework cannot do this, its .grad must be the gradient."""
    name = BASELINE + " (lr folded)"
    fold_lr = True

    def step(self):
        self.forward_backward(self.lr)                      # the gradients come out times lr:
        g = self.grads                                      # p -= lr g is one pass per parameter
        self.W -= g["W"]
        self.b -= g["b"]
        self.W_star -= g["W_star"]
        self.c -= g["c"]


class GemmBound(Contender):
    """Not a contender: the five GEMMs of a step, with the baseline's shapes and layouts, and nothing else."""
    name = "GEMM bound"

    def __init__(self, problem):
        super().__init__(problem)
        p, dtype = problem, problem.dtype
        self.X, self.W, self.W_star = p.X, p.params["W"], p.params["W_star"]
        self.A1, self.DH = np.empty((p.m, p.k), dtype), np.empty((p.m, p.k), dtype)
        self.A2 = np.empty((p.m, p.n), dtype)
        self.gW, self.gW_star = np.empty((p.k, p.n), dtype), np.empty((p.n, p.k), dtype)
        self.A1[...] = 0.5
        self.A2[...] = 0.5

    def step(self):
        np.dot(self.X, self.W.T, self.A1)
        np.dot(self.A1, self.W_star.T, self.A2)
        np.dot(self.A2.T, self.A1, self.gW_star)
        np.dot(self.A2, self.W_star, self.DH)
        np.dot(self.DH.T, self.X, self.gW)

    @staticmethod
    def flops(problem):
        return 5 * 2 * problem.m * problem.n * problem.k


# ----- the correctness gate ------------------------------------------------------------------------

def check_agreement(expected, actual, dtype, who):
    """Raise GateError unless `actual` (loss, grads) matches `expected` (loss, grads) to the dtype's
    tolerance, relative to the largest value of each. Returns the worst relative difference."""
    tolerance = GATE_TOLERANCE[np.dtype(dtype).name]
    (loss_e, grads_e), (loss_a, grads_a) = expected, actual
    worst = abs(loss_a - loss_e) / max(abs(loss_e), 1e-30)
    if not worst <= tolerance:  # also catches NaN
        raise GateError(f"{who}: loss {loss_a!r} differs from the numpy baseline's {loss_e!r} "
                        f"(relative difference {worst:.3g} > {tolerance:g})")
    for name in PARAMETERS:
        e, a = np.asarray(grads_e[name], dtype=np.float64), np.asarray(grads_a[name], dtype=np.float64)
        if a.shape != e.shape:
            raise GateError(f"{who}: gradient of {name} has shape {a.shape}, the baseline's is {e.shape}")
        diff = np.max(np.abs(a - e)) / max(np.max(np.abs(e)), 1e-30)
        if not diff <= tolerance:
            index = np.unravel_index(np.argmax(np.abs(a - e)), e.shape)
            raise GateError(f"{who}: gradient of {name} differs from the numpy baseline's at {index}: "
                            f"{a[index]!r} vs {e[index]!r} (relative difference {diff:.3g} > {tolerance:g})")
        worst = max(worst, diff)
    return float(worst)
