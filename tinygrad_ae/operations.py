"""torch's top-level function forms: tg.exp(x), tg.sum(x, dim=1), tg.max(x, 1), tg.matmul(a, b), ...

Each is the Tensor method of the same name (engine/methods.py, engine/shapes.py) called on its first
argument, which must be a Tensor: torch.exp(x) is x.exp(). A few have no method form (allclose,
isclose, equal, set_grad_enabled, inference_mode).
"""
import numpy as np

from .engine.tensor import Tensor, enable_grad, is_grad_enabled, no_grad, wrap


def _function_form(name):
    """torch.<name>(input, ...) as input.<name>(...), with an error naming the function for a non-Tensor."""
    def function(input, *args, **kwargs):  # noqa: A002 (torch's name)
        if type(input) is not Tensor:
            raise TypeError(f"{name}(): argument 'input' must be a Tensor, got {type(input).__name__} "
                            f"{input!r:.40}; make one with tg.tensor(...) or tg.from_numpy(array)")
        return getattr(input, name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"torch.{name}(input, ...): input.{name}(...), the Tensor method."
    return function


_METHODS = ("exp", "log", "sqrt", "rsqrt", "sigmoid", "tanh", "relu", "abs", "neg", "sin", "cos", "log2", "log10",
            "log1p", "expm1", "erf", "square", "reciprocal", "sign", "floor", "ceil", "round", "trunc", "pow",
            "sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "prod", "var", "std", "logsumexp",
            "cumsum", "norm", "all", "any", "matmul", "mm", "bmm", "dot", "clamp", "clip", "flatten", "unflatten",
            "reshape", "permute", "transpose", "swapaxes", "squeeze", "unsqueeze", "softmax", "log_softmax", "t",
            "chunk", "split", "gather", "masked_fill", "add", "sub", "mul", "div", "clone")
globals().update({_name: _function_form(_name) for _name in _METHODS})


def _values(where, name, x):
    if type(x) is Tensor:
        return x.data
    raise TypeError(f"{where}(): argument '{name}' must be a Tensor, got {type(x).__name__} {x!r:.40}")


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """|input - other| <= atol + rtol |other| elementwise, a bool tensor (torch.isclose)."""
    return wrap(np.isclose(_values("isclose", "input", input), _values("isclose", "other", other), rtol, atol, equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """Whether every element is close (isclose), a Python bool (torch.allclose)."""
    return bool(np.allclose(_values("allclose", "input", input), _values("allclose", "other", other), rtol, atol, equal_nan))


def equal(input, other):  # noqa: A002
    """True if both tensors have the same shape and elements (torch.equal)."""
    a, b = _values("equal", "input", input), _values("equal", "other", other)
    return a.shape == b.shape and bool(np.array_equal(a, b))


class set_grad_enabled:  # noqa: N801 (torch's name)
    """Grad mode on or off in this thread, from the call on (torch.set_grad_enabled(False)); as a
    context manager, restored when the block ends."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): mode must be a bool, got {type(mode).__name__} {mode!r:.40}")
        self._mode = (enable_grad if mode else no_grad)()
        self._mode.__enter__()

    def __enter__(self):
        return None

    def __exit__(self, *exc_info):
        self._mode.__exit__(*exc_info)


class inference_mode(no_grad):  # noqa: N801 (torch's name)
    """torch.inference_mode(): no graph is recorded inside it (here: no_grad); inference_mode(False) changes nothing."""

    def __init__(self, mode=True):
        self.mode = not mode and is_grad_enabled()
