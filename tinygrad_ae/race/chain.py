"""The per-op overhead chain: forward + backward of a long chain of elementwise ops on a 1-element array.

x*1.5, x+0.1, tanh, sigmoid, repeated: values stay bounded; on a 1-element float64 array the
arithmetic costs nothing and the time is each framework's bookkeeping per op (making the node and
the output tensor, the walk backward, dispatching each backward). The same chain is written by hand
in plain numpy (forward, then the hand-derived backward) and timed interleaved with the others.
"""
import statistics
import time

import numpy as np

from ..engine.tensor import Tensor
from .problem import GateError


def _run_chain(tanh, sigmoid, y, n_ops):
    """The chain written out as the numpy version is, so no contender pays for extra calls per op."""
    for i in range(n_ops):
        step = i % 4
        if step == 0:
            y = y * 1.5
        elif step == 1:
            y = y + 0.1
        elif step == 2:
            y = tanh(y)
        else:
            y = sigmoid(y)
    return y


def chain_tinygrad(n_ops, x0):
    x = Tensor(x0, requires_grad=True)
    _run_chain(Tensor.tanh, Tensor.sigmoid, x, n_ops).sum().backward()
    return x.grad


def chain_numpy(n_ops, x0):
    """By hand: save each output, then walk back multiplying by each derivative."""
    saved, y = [], x0
    for i in range(n_ops):
        step = i % 4
        y = y * 1.5 if step == 0 else y + 0.1 if step == 1 else np.tanh(y) if step == 2 else 1 / (1 + np.exp(-y))
        saved.append(y)
    grad = np.ones_like(x0)
    for i in range(n_ops - 1, -1, -1):
        step, y = i % 4, saved[i]
        if step == 0:
            grad = grad * 1.5
        elif step == 2:
            grad = grad * (1 - y * y)
        elif step == 3:
            grad = grad * y * (1 - y)
    return grad


def chain_torch(n_ops, x0):
    import torch
    x = torch.tensor(x0, requires_grad=True)
    _run_chain(torch.tanh, torch.sigmoid, x, n_ops).sum().backward()
    return x.grad.numpy()


def chain_autograd(n_ops, x0):
    import autograd
    import autograd.numpy as anp
    try:
        from autograd.scipy.special import expit as sigmoid   # needs scipy
    except ImportError:
        def sigmoid(y):
            return 1 / (1 + anp.exp(-y))
    return autograd.grad(lambda x: anp.sum(_run_chain(anp.tanh, sigmoid, x, n_ops)))(x0)


def chain_mygrad(n_ops, x0):
    import mygrad as mg
    from mygrad.nnet.activations import sigmoid
    x = mg.Tensor(x0)
    _run_chain(mg.tanh, sigmoid, x, n_ops).sum().backward()
    return x.grad


CHAINS = {"tinygrad_ae": chain_tinygrad, "numpy by hand": chain_numpy, "PyTorch": chain_torch,
          "HIPS autograd": chain_autograd, "MyGrad": chain_mygrad}


def overhead_chain(names, n_ops, rounds):
    """Microseconds per op of the chain (forward + backward), interleaved round by round."""
    chains = {name: fn for name, fn in CHAINS.items() if name in names or name == "numpy by hand"}
    x0 = np.array([0.3])
    expected = chain_numpy(40, x0)            # short enough that the gradient has not vanished
    for name, fn in chains.items():
        got = np.asarray(fn(40, x0), dtype=np.float64)
        if not np.allclose(got, expected, rtol=1e-10, atol=0):
            raise GateError(f"overhead chain: {name} gives gradient {got} instead of {expected}")
        fn(n_ops // 10, x0)                   # warm-up
    times = {name: [] for name in chains}
    order = list(chains)
    for r in range(rounds):
        for name in order[r % len(order):] + order[:r % len(order)]:
            start = time.perf_counter()
            chains[name](n_ops, x0)
            times[name].append((time.perf_counter() - start) / n_ops * 1e6)
    return {name: {"median_us_per_op": statistics.median(t), "min_us_per_op": min(t), "max_us_per_op": max(t)}
            for name, t in times.items()}
