"""Optimizers with PyTorch's update rules: `SGD` (momentum, dampening, Nesterov, weight decay) and `Adam`.

Each optimizer writes its rule once, for one parameter (`update`), as PyTorch's documentation writes
it; `step()` applies it to every parameter that has a gradient (a parameter whose `.grad` is None is
skipped). Parameters are updated in place (`p.data` is never replaced, so anything holding the array
sees the update) and a step allocates no array: state buffers and a scratch buffer per parameter are
made at that parameter's first step and reused. Each ufunc gets its output as its last positional
argument (np.multiply(g, lr, s) is s = g * lr).

The numbers live in arrays. A hyperparameter reads and assigns as a Python number (`opt.lr = 0.01`,
also through `configure` and `load_state_dict`); assigning checks it and writes the numbers the rule
multiplies by (`numbers_of`) into 0-d arrays of each parameter dtype, in place (`numbers(dtype)`:
numpy multiplies an array by a 0-d array of its own dtype exactly as by the Python float). The rule's
`if`s test those arrays. Adam's step count is a 0-d array that step() increments, and its bias
corrections are computed from it by numpy calls in float64, as PyTorch computes them in Python floats.
So a step is numpy calls on arrays and nothing else, which is what a captured step (`tg.compile`)
replays: it reads the learning rate where it is written, counts Adam's steps, and checks the `if`s.

`state_dict()` is a flat dict of ndarrays (hyperparameters and per-parameter state as "name.index"),
so it can go through `tg.save`, and `load_state_dict` restores it for an exact resume.

A new optimizer (AdamW, RMSprop, Adagrad) names its hyperparameters, says what numbers they make
(`numbers_of`) and writes `update`; a learning-rate schedule assigns `opt.lr`.
"""
import numbers
import types

import numpy as np

from .engine.tensor import Tensor

FLOAT64 = np.dtype(np.float64)


def _real(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    return float(value)


def _count_dtype(dtype):
    """The dtype of a parameter's step count: a float, as PyTorch keeps it, of the parameter's precision
    (exact up to 2^24 steps in float32) but never below float32."""
    return np.promote_types(dtype, np.float32)


class Optimizer:
    """Base class: the parameter list, per-parameter state, the hyperparameters and the 0-d arrays of
    the numbers made from them, the state dict. A subclass names its hyperparameters, says what numbers
    they make (`numbers_of`) and writes one parameter's rule (`update`)."""

    hyperparameters = ()   # the settings, in the state dict's order; each one is a property (below)
    state_names = ()       # per-parameter state, saved as "name.index"; "step" is saved as an integer

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls.hyperparameters:        # opt.lr reads the value, opt.lr = 0.01 configures it
            setattr(cls, name, property(lambda self, name=name: self._settings[name],
                                        lambda self, value, name=name: self.configure(**{name: value})))

    def __init__(self, params, **settings):
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
        self._settings = {}                        # hyperparameter name -> its Python value
        self._numbers = {}                         # dtype -> the numbers_of() as 0-d arrays of that dtype
        self.configure(**settings)

    # ----- hyperparameters and their numbers --------------------------------------------------------
    def configure(self, **settings):
        """Set hyperparameters (each checked before any is set) and write the numbers made from them
        into their 0-d arrays, in place."""
        values = dict(self._settings)
        values.update((name, self._convert(name, value)) for name, value in settings.items())
        self._check(values)
        self._settings = values
        for dtype in self._numbers:
            self._write(dtype)

    def numbers(self, dtype):
        """numbers_of(the hyperparameters) as 0-d arrays of this dtype: made once, rewritten in place."""
        n = self._numbers.get(dtype)
        if n is None:
            n = self._numbers[dtype] = types.SimpleNamespace()
            self._write(dtype)
        return n

    def _write(self, dtype):
        n = self._numbers[dtype]
        for name, value in self.numbers_of(**self._settings).items():
            if hasattr(n, name):
                getattr(n, name)[()] = value
            else:
                setattr(n, name, np.array(value, dtype))

    def numbers_of(self, **settings):
        """{name: number} the rule multiplies by, from the hyperparameters (subclasses)."""
        return settings

    def _convert(self, name, value):
        return _real(type(self).__name__, name, value)

    def _check(self, values):
        """Raise ValueError for an invalid hyperparameter (subclasses)."""

    # ----- the step ---------------------------------------------------------------------------------
    def zero_grad(self):
        """Drop the gradients of all parameters (PyTorch's default, set_to_none=True)."""
        for p in self.params:       # (the slot behind .grad: None needs no check, and this is the hot path)
            p._grad = None

    def step(self):
        """Apply the rule to every parameter that has a gradient."""
        numbers = self._numbers
        for i, p in enumerate(self.params):
            g = p._grad                 # (.grad's slot, read without the property: the hot path)
            if g is not None:
                n = numbers.get(p.data.dtype)           # (the dict read inline: step() is on the hot path)
                self.update(i, p, g, self.numbers(p.data.dtype) if n is None else n)

    def update(self, i, p, g, n):
        """The rule for parameter i: p, its gradient g, the numbers n in p's dtype (subclasses)."""
        raise NotImplementedError

    def scratch(self, i, p):
        if self._scratch[i] is None:
            self._scratch[i] = np.empty_like(p.data)
        return self._scratch[i]

    def decayed(self, i, p, g, weight_decay):
        """g + weight_decay * p (PyTorch's L2 penalty) in a reused buffer; p.grad is not modified."""
        if self._decayed[i] is None:
            self._decayed[i] = np.empty_like(p.data)
        buf = self._decayed[i]
        np.multiply(p.data, weight_decay, buf)
        buf += g
        return buf

    # ----- state dicts --------------------------------------------------------------------------------
    def state_dict(self):
        """Flat dict of ndarray copies: the hyperparameters and each parameter's state as "name.index"."""
        d = {name: np.asarray(getattr(self, name)) for name in self.hyperparameters}
        for i, state in enumerate(self.state):
            for name, value in state.items():
                d[f"{name}.{i}"] = np.array(int(value)) if name == "step" else np.array(value)
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
                            entry[name] = np.array(int(value), _count_dtype(p.dtype))
                    elif value.shape != p.shape:
                        problems.append(f"key {key!r} has shape {value.shape}, parameter {i} has shape {p.shape}")
                    else:
                        entry[name] = value.astype(p.dtype)   # a fresh copy in the parameter's dtype
            new_state.append(entry)
        known = set(self.hyperparameters) | {f"{n}.{i}" for n in self.state_names for i in range(len(self.params))}
        problems += [f"unexpected key {key!r}" for key in state_dict if key not in known]
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))
        self.configure(**hyper)   # validates before assigning anything
        self.state = new_state

    def __repr__(self):
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, torch.optim.SGD's rule (lr γ, momentum μ, dampening τ, weight decay λ):
        g = g + λ p                                      (when λ != 0)
        b = g at the first step, else μ b + (1 - τ) g    (when μ != 0)
        g = g + μ b if nesterov else b
        p = p - γ g
    """

    hyperparameters = ("lr", "momentum", "dampening", "nesterov", "weight_decay")
    state_names = ("momentum_buffer",)

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                         weight_decay=weight_decay)

    def _convert(self, name, value):
        return bool(value) if name == "nesterov" else super()._convert(name, value)

    def _check(self, hp):
        for name in ("lr", "momentum", "weight_decay"):
            if not hp[name] >= 0:   # also refuses NaN
                raise ValueError(f"SGD: invalid {name} {hp[name]}; it must be >= 0")
        if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
            raise ValueError("SGD: nesterov=True requires momentum > 0 and dampening = 0")

    def numbers_of(self, lr, momentum, dampening, nesterov, weight_decay):
        return dict(lr=lr, momentum=momentum, dampening=dampening, one_minus_dampening=1.0 - dampening,
                    nesterov=float(nesterov), weight_decay=weight_decay)

    def update(self, i, p, g, n):
        s = self._scratch[i]
        if s is None:
            s = self.scratch(i, p)
        if n.weight_decay:
            g = self.decayed(i, p, g, n.weight_decay)       # g = g + λ p
        if n.momentum:
            state = self.state[i]
            b = state.get("momentum_buffer")
            if b is None:                                   # b = g at the first step (no dampening)
                b = state["momentum_buffer"] = g.copy()
            else:                                           # b = μ b + (1 - τ) g
                b *= n.momentum
                if n.dampening:
                    np.multiply(g, n.one_minus_dampening, s)
                    b += s
                else:
                    b += g
            if n.nesterov:                                  # g = g + μ b
                np.multiply(b, n.momentum, s)
                s += g
                g = s
            else:                                           # g = b
                g = b
        np.multiply(g, n.lr, s)                             # p = p - γ g
        np.subtract(p.data, s, p.data)


class Adam(Optimizer):
    """Adam, torch.optim.Adam's rule (amsgrad off; lr γ, betas β1 β2, eps ε, weight decay λ), per
    parameter with its own step count t:
        g = g + λ p                                      (when λ != 0: L2, not AdamW's decoupled decay)
        m = β1 m + (1 - β1) g;  v = β2 v + (1 - β2) g²   (m = v = 0 before the first step)
        m̂ = m / (1 - β1^t);     v̂ = v / (1 - β2^t)
        p = p - γ m̂ / (√v̂ + ε)
    """

    hyperparameters = ("lr", "betas", "eps", "weight_decay")
    state_names = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _convert(self, name, value):
        if name != "betas":
            return super()._convert(name, value)
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {value!r}")
        return (_real("Adam", "beta1", value[0]), _real("Adam", "beta2", value[1]))

    def _check(self, hp):
        for name in ("lr", "eps", "weight_decay"):
            if not hp[name] >= 0:
                raise ValueError(f"Adam: invalid {name} {hp[name]}; it must be >= 0")
        for k, beta in enumerate(hp["betas"]):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Adam: invalid beta{k + 1} {beta}; it must be in [0, 1)")

    def numbers_of(self, lr, betas, eps, weight_decay):
        beta1, beta2 = betas
        return dict(lr=lr, beta1=beta1, one_minus_beta1=1.0 - beta1, beta2=beta2, one_minus_beta2=1.0 - beta2,
                    eps=eps, weight_decay=weight_decay)

    def update(self, i, p, g, n):
        s, state = self.scratch(i, p), self.state[i]
        if not state:
            state.update(step=np.zeros((), _count_dtype(p.dtype)), exp_avg=np.zeros_like(p.data),
                         exp_avg_sq=np.zeros_like(p.data))
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        t += 1
        if n.weight_decay:
            g = self.decayed(i, p, g, n.weight_decay)       # g = g + λ p
        m *= n.beta1                                        # m = β1 m + (1 - β1) g
        np.multiply(g, n.one_minus_beta1, s)
        m += s
        v *= n.beta2                                        # v = β2 v + (1 - β2) g²
        np.multiply(g, g, s)
        s *= n.one_minus_beta2
        v += s
        f = self.numbers(FLOAT64)                           # 1 - β^t and γ / (1 - β1^t) in float64
        bias_correction1 = 1.0 - np.power(f.beta1, t)
        bias_correction2 = 1.0 - np.power(f.beta2, t)
        np.divide(v, bias_correction2.astype(p.dtype), s)   # v̂
        np.sqrt(s, s)
        s += n.eps                                          # √v̂ + ε
        np.divide(m, s, s)                                  # m / (√v̂ + ε), times γ / (1 - β1^t):
        s *= (f.lr / bias_correction1).astype(p.dtype)      # γ m̂ / (√v̂ + ε)
        np.subtract(p.data, s, p.data)
