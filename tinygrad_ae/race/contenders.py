"""The contenders: tinygrad_ae's public training calls, naive numpy, and the peer frameworks.

Each one builds from a `Problem` and offers `step()` (one training step) and `loss_and_gradients()`
(for the gate). PyTorch, HIPS autograd and MyGrad are imported only when raced, and skipped with a
note saying how to install them when they are missing.
"""
import os
import sys

import numpy as np

from .. import optim
from ..models import reference
from ..models.autoencoder import Autoencoder
from ..capture import compile
from ..engine.tensor import Tensor
from .problem import BASELINE, PARAMETERS, Contender, FoldedNumpyBaseline, NumpyBaseline, check_agreement


class TinygradStep(Contender):
    name = "tinygrad_ae"

    def __init__(self, problem):
        super().__init__(problem)
        p = problem
        self.model = Autoencoder(p.n, p.k, encoder="sigmoid", decoder=p.decoder, dtype=p.dtype, seed=0)
        self._params = [self.model.encoder.weight, self.model.encoder.bias,
                        self.model.decoder.weight, self.model.decoder.bias]
        for tensor, name in zip(self._params, PARAMETERS):
            np.copyto(tensor.data, p.params[name])
        self.optimizer = optim.SGD(self.model.parameters(), lr=p.lr)
        self.X = p.X

    def step(self):
        self.optimizer.zero_grad()
        loss = self.model.loss(Tensor(self.X))
        loss.backward()
        self.optimizer.step()

    def loss_and_gradients(self):
        self.optimizer.zero_grad()
        loss = self.model.loss(Tensor(self.X))
        loss.backward()
        return float(loss.item()), {name: t.grad for name, t in zip(PARAMETERS, self._params)}


class CompiledTinygradStep(TinygradStep):
    """The same public calls, as one step function under tg.compile: captured once, replayed (the
    planned numpy program)."""
    name = "tinygrad_ae compiled"
    backend = "numpy"

    def __init__(self, problem):
        super().__init__(problem)
        model, optimizer = self.model, self.optimizer

        def train_step(x):
            optimizer.zero_grad()
            loss = model.loss(x)
            loss.backward()
            optimizer.step()
            return loss

        def gradients(x):
            optimizer.zero_grad()
            loss = model.loss(x)
            loss.backward()
            return loss

        self._step, self._gradients = compile(train_step, self.backend), compile(gradients, self.backend)

    def step(self):
        self._step(Tensor(self.X))

    def loss_and_gradients(self):
        for _ in range(4):                  # eager, two captures, then a replay: the program is checked
            loss = self._gradients(Tensor(self.X))
        assert self._gradients.program is not None
        return float(loss.item()), {name: t.grad.copy() for name, t in zip(PARAMETERS, self._params)}


class FusedTinygradStep(CompiledTinygradStep):
    """The same compiled step on the fused backend (numba kernels between the BLAS calls)."""
    name = "tinygrad_ae fused"
    backend = "fused"
    module = "numba"


class NaiveNumpy(Contender):
    """The same maths written the obvious way: every expression allocates a fresh array."""
    name = "naive numpy"

    def __init__(self, problem):
        super().__init__(problem)
        self.X, self.lr, self.m = problem.X, problem.lr, problem.m
        self.params = problem.copy_params()

    def loss_and_gradients(self):
        X, m = self.X, self.m
        W, b, W_star, c = (self.params[name] for name in PARAMETERS)
        with np.errstate(over="ignore"):
            h = 1 / (1 + np.exp(-(X @ W.T + b)))
            a2 = h @ W_star.T + c
            if self.problem.loss == "mse":
                loss = np.sum((a2 - X) ** 2) / m
                d_a2 = 2 * (a2 - X) / m
            else:
                loss = np.sum(np.maximum(a2, 0) + np.log1p(np.exp(-np.abs(a2))) - X * a2) / m
                d_a2 = (1 / (1 + np.exp(-a2)) - X) / m
        d_a1 = (d_a2 @ W_star) * h * (1 - h)
        return float(loss), {"W": d_a1.T @ X, "b": d_a1.sum(axis=0), "W_star": d_a2.T @ h, "c": d_a2.sum(axis=0)}

    def step(self):
        _, grads = self.loss_and_gradients()
        for name, grad in grads.items():
            self.params[name] -= self.lr * grad


class TorchStep(Contender):
    """PyTorch eager on the CPU: F.linear (what nn.Linear calls), its fused losses, torch.optim.SGD."""
    name = "PyTorch"
    module = "torch"

    def __init__(self, problem):
        super().__init__(problem)
        import torch
        import torch.nn.functional as F
        self.torch, self.F = torch, F
        self.X = torch.from_numpy(problem.X)
        self.params = [torch.tensor(problem.params[name], requires_grad=True) for name in PARAMETERS]
        self.optimizer = torch.optim.SGD(self.params, lr=problem.lr)
        self.scale = 1.0 / problem.m

    def _loss(self):
        F, X = self.F, self.X
        W, b, W_star, c = self.params
        a2 = F.linear(self.torch.sigmoid(F.linear(X, W, b)), W_star, c)
        if self.problem.loss == "mse":
            return F.mse_loss(a2, X, reduction="sum") * self.scale
        return F.binary_cross_entropy_with_logits(a2, X, reduction="sum") * self.scale

    def step(self):
        self.optimizer.zero_grad()
        self._loss().backward()
        self.optimizer.step()

    def loss_and_gradients(self):
        self.optimizer.zero_grad()
        loss = self._loss()
        loss.backward()
        return loss.item(), {name: p.grad.numpy() for name, p in zip(PARAMETERS, self.params)}


class AutogradStep(Contender):
    """HIPS autograd: value_and_grad of a numpy-style loss, and its own functional SGD update."""
    name = "HIPS autograd"
    module = "autograd"

    def __init__(self, problem):
        super().__init__(problem)
        import autograd
        import autograd.numpy as anp
        self.params = [problem.params[name].copy() for name in PARAMETERS]
        m, X = problem.m, problem.X

        def loss(params):
            W, b, W_star, c = params
            h = 1 / (1 + anp.exp(-(anp.dot(X, W.T) + b)))
            a2 = anp.dot(h, W_star.T) + c
            if problem.loss == "mse":
                return anp.sum((a2 - X) ** 2) / m
            return anp.sum(anp.maximum(a2, 0) + anp.log1p(anp.exp(-anp.abs(a2))) - X * a2) / m

        self.value_and_grad = autograd.value_and_grad(loss)

    def step(self):
        _, grads = self.value_and_grad(self.params)
        lr = self.problem.lr
        self.params = [p - lr * g for p, g in zip(self.params, grads)]

    def loss_and_gradients(self):
        loss, grads = self.value_and_grad(self.params)
        return float(loss), dict(zip(PARAMETERS, grads))


class MyGradStep(Contender):
    """MyGrad: Tensors with .backward(), and the update written into p.data in place."""
    name = "MyGrad"
    module = "mygrad"

    def __init__(self, problem):
        super().__init__(problem)
        import mygrad as mg
        from mygrad.nnet.activations import sigmoid
        self.mg, self.sigmoid = mg, sigmoid
        self.params = [mg.Tensor(problem.params[name]) for name in PARAMETERS]
        self.X = problem.X

    def _loss(self):
        mg, X = self.mg, self.X
        W, b, W_star, c = self.params
        h = self.sigmoid(mg.matmul(X, W.T) + b)
        a2 = mg.matmul(h, W_star.T) + c
        if self.problem.loss == "mse":
            return mg.sum((a2 - X) ** 2) / self.problem.m
        return mg.sum(mg.maximum(a2, 0) + mg.log1p(mg.exp(-mg.abs(a2))) - X * a2) / self.problem.m

    def step(self):
        self._loss().backward()
        lr = self.problem.lr
        for p in self.params:
            p.data -= lr * p.grad

    def loss_and_gradients(self):
        loss = self._loss()
        loss.backward()
        return float(loss.item()), {name: p.grad for name, p in zip(PARAMETERS, self.params)}


class JaxStep(Contender):
    """JAX's jit of the whole step (value_and_grad and the SGD update), on the CPU."""
    name = "JAX jit"
    module = "jax"

    def __init__(self, problem):
        super().__init__(problem)
        _jax_threads()
        import jax
        import jax.numpy as jnp
        self.jax = jax
        m, lr, mse = problem.m, problem.lr, problem.loss == "mse"
        self.X = jnp.asarray(problem.X)
        self.params = [jnp.asarray(problem.params[name]) for name in PARAMETERS]

        def loss(params, X):
            W, b, W_star, c = params
            a2 = jax.nn.sigmoid(X @ W.T + b) @ W_star.T + c
            if mse:
                return jnp.sum((a2 - X) ** 2) / m
            return jnp.sum(jnp.maximum(a2, 0) - X * a2 + jnp.log1p(jnp.exp(-jnp.abs(a2)))) / m

        value_and_grad = jax.value_and_grad(loss)

        def step(params, X):
            _, grads = value_and_grad(params, X)
            return [p - lr * g for p, g in zip(params, grads)]

        self._step, self._value_and_grad = jax.jit(step), jax.jit(value_and_grad)

    def step(self):
        self.params = self._step(self.params, self.X)
        self.params[0].block_until_ready()

    def loss_and_gradients(self):
        loss, grads = self._value_and_grad(self.params, self.X)
        return float(loss), {name: np.asarray(g) for name, g in zip(PARAMETERS, grads)}


# ----- which contenders there are, and which can run here -------------------------------------------

CONTENDERS = {cls.name: cls for cls in (TinygradStep, CompiledTinygradStep, FusedTinygradStep, NumpyBaseline,
                                        FoldedNumpyBaseline, NaiveNumpy, TorchStep, JaxStep, AutogradStep, MyGradStep)}
# numpy-based contenders whose allocations tracemalloc sees (PyTorch's allocator is invisible to it)
TRACEABLE = ("tinygrad_ae", "tinygrad_ae compiled", "tinygrad_ae fused", BASELINE, FoldedNumpyBaseline.name,
             "naive numpy", "HIPS autograd",
             "MyGrad")


def _jax_threads():
    """XLA's CPU runtime runs its own thread pool, blind to OPENBLAS_NUM_THREADS and to its own
    XLA_FLAGS thread options (measured: 1.85x its wall time in CPU time at the wide size); it sizes the
    pool by the process's CPU affinity. So with one BLAS thread, a race that imports JAX keeps its
    process (and the workers it starts) to one CPU, before jax is first imported: every contender
    then computes on one core."""
    if "jax" not in sys.modules and os.environ.get("OPENBLAS_NUM_THREADS") == "1" and \
            hasattr(os, "sched_setaffinity"):
        cpus = os.sched_getaffinity(0)
        if len(cpus) > 1:
            os.sched_setaffinity(0, {min(cpus)})


def available(name):
    """None if the contender can run here, else the note that says why it is skipped."""
    module = getattr(CONTENDERS[name], "module", None)
    if module is None:
        return None
    if module == "jax":
        _jax_threads()
    try:
        __import__(module)
    except ImportError as error:
        how = {"torch": "install PyTorch's CPU build (pip install torch)",
               "numba": "pip install 'tinygrad_ae[fast]'", "jax": "pip install jax"}.get(
            module, f"pip install {module}, or pip install 'tinygrad_ae[bench]'")
        return f"{name} skipped: {module} is not installed ({error}); {how}"
    return None


# ----- the correctness gate ------------------------------------------------------------------------

def gate(problem, names):
    """Check the baseline against reference.py's closed forms (float64), then every other contender
    against the baseline. Returns {name: worst relative difference}."""
    baseline = NumpyBaseline(problem).loss_and_gradients()
    p64 = {name: value.astype(np.float64) for name, value in problem.params.items()}
    X64 = problem.X.astype(np.float64)
    args = (X64, p64["W"], p64["b"], p64["W_star"], p64["c"])
    closed_form = (reference.loss(*args, decoder=problem.decoder),
                   reference.gradients(*args, decoder=problem.decoder))
    report = {"reference.py": check_agreement(baseline, closed_form, problem.dtype, "reference.py")}
    for name in names:
        if name != BASELINE:
            report[name] = check_agreement(baseline, CONTENDERS[name](problem).loss_and_gradients(),
                                           problem.dtype, name)
    return report
