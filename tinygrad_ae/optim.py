"""Optimizers with PyTorch's update rules: `SGD` (momentum, dampening, Nesterov, weight decay) and `Adam`.

Parameters are updated in place (`p.data` is never replaced, so anything holding the array sees the
update) and a step allocates nothing: state buffers and a scratch buffer per parameter are created at
that parameter's first step and reused. Each ufunc gets its output as its last positional argument
(np.multiply(g, lr, s) is s = g * lr), which numpy parses faster than out=s. Parameters whose `.grad`
is None are skipped.
`state_dict()` is a flat dict of ndarrays (hyperparameters and per-parameter state as "name.index"),
so it can go through `tg.save`, and `load_state_dict` restores it for an exact resume.

The numbers a step multiplies by (the learning rate, Adam's bias corrections) are computed in Python
by `_numbers()` into 0-d arrays of the parameter's dtype, which numpy combines with an array exactly
as it would the Python float. `_numbers` runs through `capture.replayed`, so a compiled step
(`tg.compile`) calls it again on every replay: a learning rate changed after capture takes effect, and
Adam's step count goes on. `_branches()` names the branches a step takes; a compiled step whose
branches change (momentum set from 0 to 0.9) is captured again. SGD's numbers depend on its
attributes only, so a replay calls `_numbers` and `_branches` again only after an attribute was
assigned (`settings_version`, counted by `__setattr__`).
"""
import numbers

import numpy as np

from .capture import replayed
from .engine.tensor import Tensor


def _real(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    return float(value)


class Optimizer:
    """Base class: holds the parameter list, per-parameter state and the state-dict logic."""

    hyperparameters = ()   # attribute names saved in the state dict
    state_names = ()       # per-parameter state, saved as "name.index"; "step" is an int, the rest arrays
    settings_version = 0   # counts attribute assignments (opt.lr = ...): a compiled step's hook reruns then

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        object.__setattr__(self, "settings_version", self.settings_version + 1)

    def __init__(self, params):
        owner = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{owner}: params must be an iterable of Tensors such as model.parameters(); "
                            "got a single Tensor, wrap it in a list")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{owner}: params must be an iterable of Tensors, got {type(params).__name__}") from None
        if not params:
            raise ValueError(f"{owner}: got an empty parameter list; pass e.g. model.parameters()")
        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                hint = " (parameter groups are not supported)" if isinstance(p, dict) else ""
                raise TypeError(f"{owner}: parameter {i} is a {type(p).__name__}, expected a Tensor{hint}")
            if id(p) in seen:
                raise ValueError(f"{owner}: parameter {i} appears more than once in the parameter list")
            seen.add(id(p))
        self.params = params
        self.state = [{} for _ in params]          # per parameter, as PyTorch's optimizer.state
        self._scratch = [None] * len(params)       # workspace reused by every step; not state
        self._decayed = [None] * len(params)       # holds grad + weight_decay * p when weight decay is on
        self._number_arrays = {}                   # 0-d arrays written by _numbers(), made once

    def _set_hyperparameters(self, values):
        self._check(values)
        for name, value in values.items():
            setattr(self, name, value)

    def _check(self, values):
        """Raise ValueError for an invalid hyperparameter (subclasses)."""

    def zero_grad(self):
        """Drop the gradients of all parameters (PyTorch's default, set_to_none=True)."""
        for p in self.params:
            p.grad = None

    def step(self):
        raise NotImplementedError

    def _scratch_for(self, i, p):
        if self._scratch[i] is None:
            self._scratch[i] = np.empty_like(p.data)
        return self._scratch[i]

    def _decayed_grad(self, i, p, weight_decay):
        """p.grad, plus weight_decay * p (PyTorch's L2 penalty) in a reused buffer; p.grad is not modified."""
        if not self.weight_decay:
            return p.grad
        if self._decayed[i] is None:
            self._decayed[i] = np.empty_like(p.data)
        buf = self._decayed[i]
        np.multiply(p.data, weight_decay, buf)
        buf += p.grad
        return buf

    def _zero_d(self, key, dtype, count):
        """count 0-d arrays of this dtype, made once per key (see the module docstring)."""
        arrays = self._number_arrays.get(key)
        if arrays is None:
            arrays = self._number_arrays[key] = tuple(np.zeros((), dtype) for _ in range(count))
        return arrays

    def state_dict(self):
        """Flat dict of ndarray copies: the hyperparameters and each parameter's state as "name.index"."""
        d = {name: np.asarray(getattr(self, name)) for name in self.hyperparameters}
        for i, state in enumerate(self.state):
            for name, value in state.items():
                d[f"{name}.{i}"] = np.array(value)
        return d

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state; every key and shape is checked before anything changes."""
        problems, hyper, new_state = [], {}, []
        for name in self.hyperparameters:
            if name not in state_dict:
                problems.append(f"missing key {name!r}")
                continue
            current, value = getattr(self, name), np.asarray(state_dict[name])
            if value.shape != np.shape(current):
                problems.append(f"key {name!r} has shape {value.shape}, expected {np.shape(current)}")
            elif isinstance(current, bool):
                hyper[name] = bool(value)
            elif isinstance(current, tuple):
                hyper[name] = tuple(float(v) for v in value)
            else:
                hyper[name] = float(value)
        for i, p in enumerate(self.params):
            keys = {name: f"{name}.{i}" for name in self.state_names}
            entry = {}
            if any(key in state_dict for key in keys.values()):   # no keys at all: not stepped yet
                for name, key in keys.items():
                    if key not in state_dict:
                        problems.append(f"missing key {key!r}")
                        continue
                    value = np.asarray(state_dict[key])
                    if name == "step":
                        if value.shape != () or value.dtype.kind not in "iu" or value < 1:
                            problems.append(f"key {key!r} must be a positive integer, got {value!r}")
                        else:
                            entry[name] = int(value)
                    elif value.shape != p.shape:
                        problems.append(f"key {key!r} has shape {value.shape}, parameter {i} has shape {p.shape}")
                    else:
                        entry[name] = value.astype(p.dtype)   # a fresh copy in the parameter's dtype
            new_state.append(entry)
        known = set(self.hyperparameters) | {f"{n}.{i}" for n in self.state_names for i in range(len(self.params))}
        problems += [f"unexpected key {key!r}" for key in state_dict if key not in known]
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))
        self._set_hyperparameters(hyper)   # validates before assigning anything
        self.state = new_state

    def __repr__(self):
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, torch.optim.SGD's rule:
        g = grad + weight_decay * p
        b = g at the first step, else momentum * b + (1 - dampening) * g
        g = g + momentum * b if nesterov else b          (when momentum != 0)
        p = p - lr * g
    """

    hyperparameters = ("lr", "momentum", "dampening", "nesterov", "weight_decay")
    state_names = ("momentum_buffer",)

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params)
        self._set_hyperparameters(dict(
            lr=_real("SGD", "lr", lr), momentum=_real("SGD", "momentum", momentum),
            dampening=_real("SGD", "dampening", dampening), nesterov=bool(nesterov),
            weight_decay=_real("SGD", "weight_decay", weight_decay)))

    def _check(self, hp):
        for name in ("lr", "momentum", "weight_decay"):
            if not hp[name] >= 0:   # also refuses NaN
                raise ValueError(f"SGD: invalid {name} {hp[name]}; it must be >= 0")
        if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
            raise ValueError("SGD: nesterov=True requires momentum > 0 and dampening = 0")

    def _branches(self):
        return bool(self.momentum), bool(self.dampening), self.nesterov, bool(self.weight_decay)

    def _numbers(self):
        """{dtype: (lr, momentum, 1 - dampening, weight_decay)} as 0-d arrays of each parameter dtype."""
        numbers = self._number_arrays
        if not numbers:                     # made at the first step (parameters keep their dtype)
            for p in self.params:
                self._zero_d(p.dtype, p.dtype, 4)
        for lr, mu, keep, decay in numbers.values():
            lr[()] = self.lr
            if self.momentum:
                mu[()] = self.momentum
                keep[()] = 1.0 - self.dampening
            if self.weight_decay:
                decay[()] = self.weight_decay
        return numbers

    def step(self):
        numbers = replayed(self._numbers, guard=self._branches, stamp=(self, "settings_version"))
        if not (self.momentum or self.weight_decay):
            self._plain_step(numbers)
            return
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            lr, mu, keep, decay = numbers[p.dtype]
            g = self._decayed_grad(i, p, decay) if self.weight_decay else p.grad
            s = self._scratch[i]
            if s is None:
                s = self._scratch_for(i, p)
            if not self.momentum:
                np.multiply(g, lr, s)
                np.subtract(p.data, s, p.data)
                continue
            state = self.state[i]
            buf = state.get("momentum_buffer")
            if buf is None:
                # PyTorch starts the buffer at the first gradient itself: no dampening at step 1
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= mu
                if self.dampening:
                    np.multiply(g, keep, s)
                    buf += s
                else:
                    buf += g
            if self.nesterov:
                np.multiply(buf, mu, s)
                s += g
                g = s
            else:
                g = buf
            np.multiply(g, lr, s)
            np.subtract(p.data, s, p.data)

    def _plain_step(self, numbers):
        """p -= lr * g for every parameter with a gradient: plain SGD, the common case, in a loop that
        looks nothing up twice (the small autoencoder's step feels every attribute read)."""
        multiply, subtract, scratch = np.multiply, np.subtract, self._scratch
        for i, p in enumerate(self.params):
            g, data = p.grad, p.data
            if g is None:
                continue
            s = scratch[i]
            if s is None:
                s = self._scratch_for(i, p)
            multiply(g, numbers[data.dtype][0], s)      # s = lr * g, no temporary
            subtract(data, s, data)


class Adam(Optimizer):
    """Adam, torch.optim.Adam's rule (amsgrad off), per parameter with its own step count t:
        g = grad + weight_decay * p                        (L2 penalty, not AdamW's decoupled decay)
        m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g**2
        p = p - lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)
    """

    hyperparameters = ("lr", "betas", "eps", "weight_decay")
    state_names = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self._set_hyperparameters(dict(
            lr=_real("Adam", "lr", lr), betas=(_real("Adam", "beta1", betas[0]), _real("Adam", "beta2", betas[1])),
            eps=_real("Adam", "eps", eps), weight_decay=_real("Adam", "weight_decay", weight_decay)))

    def _check(self, hp):
        for name in ("lr", "eps", "weight_decay"):
            if not hp[name] >= 0:
                raise ValueError(f"Adam: invalid {name} {hp[name]}; it must be >= 0")
        for k, beta in enumerate(hp["betas"]):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Adam: invalid beta{k + 1} {beta}; it must be in [0, 1)")

    def _branches(self):
        return bool(self.weight_decay)

    def _numbers(self, active):
        """Counts a step (t) for each parameter index in `active` and returns, per index, as 0-d arrays
        of its dtype: beta1, 1 - beta1, beta2, 1 - beta2, 1 - beta2**t, eps, lr / (1 - beta1**t), weight_decay.
        Only the two that depend on t are rewritten while the hyperparameters stay the same."""
        beta1, beta2 = self.betas
        hyper = (self.lr, beta1, beta2, self.eps, self.weight_decay)
        numbers = {}
        for i in active:
            p, state = self.params[i], self.state[i]
            if not state:
                state.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
            state["step"] += 1
            t = state["step"]
            arrays = numbers[i] = self._zero_d(i, p.dtype, 8)
            if self._number_arrays.get(("hyper", i)) != hyper:
                self._number_arrays[("hyper", i)] = hyper
                for array, value in zip(arrays, (beta1, 1.0 - beta1, beta2, 1.0 - beta2, 0.0, self.eps, 0.0,
                                                 self.weight_decay)):
                    array[()] = value
            arrays[4][()] = 1.0 - beta2 ** t
            arrays[6][()] = self.lr / (1.0 - beta1 ** t)
        return numbers

    def step(self):
        active = tuple(i for i, p in enumerate(self.params) if p.grad is not None)
        numbers = replayed(self._numbers, active, guard=self._branches)
        for i in active:
            p = self.params[i]
            beta1, rest1, beta2, rest2, correction2, eps, step_size, decay = numbers[i]
            g = self._decayed_grad(i, p, decay)
            s = self._scratch_for(i, p)
            m, v = self.state[i]["exp_avg"], self.state[i]["exp_avg_sq"]
            m *= beta1                                   # m = beta1 m + (1 - beta1) g
            np.multiply(g, rest1, s)
            m += s
            v *= beta2                                   # v = beta2 v + (1 - beta2) g^2
            np.multiply(g, g, s)
            s *= rest2
            v += s
            np.divide(v, correction2, s)                 # s = sqrt(v_hat) + eps
            np.sqrt(s, s)
            s += eps
            np.divide(m, s, s)                           # s = lr * m_hat / (sqrt(v_hat) + eps)
            s *= step_size
            np.subtract(p.data, s, p.data)
