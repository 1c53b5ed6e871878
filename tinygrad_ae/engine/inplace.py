"""In-place updates, torch's: `x -= y`, `add_`, `zero_`, `x[i] = v` ... change the tensor itself.

The rules are torch's:
* A leaf that requires grad (a parameter) may be updated in place only under `no_grad()`, as an
  optimizer does; elsewhere it is torch's RuntimeError, since the graph could not see the change.
* The new value is computed out of place with the Tensor's own ops, then written into the tensor's
  array (so every view of it sees the change), in the tensor's dtype: an update that would need
  another dtype (an integer tensor += 0.5) is refused, as in torch.
* With grad mode on and a graph involved (the tensor is in one, or the operand requires grad) the
  update is recorded: the tensor takes the update's node as its history, and that node's input is a
  copy of the old value (torch calls this rebasing the history).
* Every update is numbered and recorded (versions.py): a backward through a node that saved the old
  value raises torch's "modified by an inplace operation" error, never a wrong gradient.
"""
import numbers

import numpy as np

from .. import random
from . import arguments, ops, versions
from .tensor import Tensor, _data, _next_sequence_number, apply, is_grad_enabled, wrap

LEAF = ("a leaf Variable that requires grad is being used in an in-place operation ({op}). Update a "
        "parameter inside `with torch.no_grad():`, or compute a new tensor out of place (x = x - y)")


def update(tensor, op, compute):
    """Give `tensor` the value compute(tensor) in place, by the rules above; returns the tensor.
    compute takes a Tensor holding the old value and returns the new one (a Tensor, array or number)."""
    recording = is_grad_enabled()
    if recording and tensor.requires_grad and tensor._ctx is None:
        raise RuntimeError(LEAF.format(op=op))
    if not tensor.data.flags.writeable:
        raise ValueError(f"{op}: the tensor's array is read-only (e.g. made from a read-only numpy array); "
                         "clone() it first to get a tensor you can change")
    if not recording:
        new = compute(tensor)
    elif tensor.requires_grad:                  # in a graph: the update's input is a copy of the old value
        new = compute(_old_value(tensor))
    else:                                       # outside any graph: a copy only if the operand is in one
        new = compute(tensor)                   # (no node is made unless the operand requires grad)
        if type(new) is Tensor and new.requires_grad:
            new = compute(_old_value(tensor))   # (the node must not point at the tensor it will become)
    recording = type(new) is Tensor and new.requires_grad
    values = _data(new)
    if not _fits(np.shape(values), tensor.shape):
        raise RuntimeError(f"{op}: the result has shape {np.shape(values)}, which does not fit the tensor's "
                           f"shape {tensor.shape} (an in-place update keeps the tensor's shape)")
    if not np.can_cast(np.result_type(values), tensor.dtype, "same_kind"):
        raise RuntimeError(f"{op}: result type {np.result_type(values)} can't be cast to the tensor's dtype "
                           f"{tensor.dtype}; convert the tensor first (e.g. x = x.float()) or update out of place")
    versions.record(tensor.data, _next_sequence_number())
    np.copyto(tensor.data, values, casting="same_kind")
    if recording:               # the tensor's history is now the update's node, numbered after the update
        tensor._ctx, tensor.requires_grad, tensor._seq = new._ctx, True, _next_sequence_number()
    return tensor


def _old_value(tensor):
    """A tensor standing for `tensor` before the update: a copy of its value, with its history."""
    old = Tensor.__new__(Tensor)
    old.data, old._grad, old.requires_grad, old._ctx, old.name = tensor.data.copy(), None, tensor.requires_grad, tensor._ctx, None
    if tensor._ctx is not None:
        old._seq = tensor._seq
    return old


def _fits(shape, target):
    """Whether an array of `shape` broadcasts to `target` (the shape an in-place update keeps)."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _number(op, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__} {value!r:.40}")
    return value


class InPlaceMethods:
    """The in-place methods, installed on Tensor below (this class is only their namespace)."""

    def add_(self, other, *, alpha=1):
        return update(self, "add_", lambda t: t + (other if alpha == 1 else other * _number("add_", "alpha", alpha)))

    def sub_(self, other, *, alpha=1):
        return update(self, "sub_", lambda t: t - (other if alpha == 1 else other * _number("sub_", "alpha", alpha)))

    def mul_(self, other): return update(self, "mul_", lambda t: t * other)
    def div_(self, other): return update(self, "div_", lambda t: t / other)
    def pow_(self, exponent): return update(self, "pow_", lambda t: t ** exponent)
    def neg_(self): return update(self, "neg_", lambda t: -t)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_
    __ipow__ = pow_

    def zero_(self): return update(self, "zero_", lambda t: np.zeros((), t.dtype))

    def fill_(self, value):
        return update(self, "fill_", lambda t: value if type(value) is Tensor else _number("fill_", "value", value))

    def copy_(self, src, non_blocking=False):
        if not isinstance(src, (Tensor, np.ndarray)):
            raise TypeError(f"copy_: src must be a Tensor (or ndarray), got {type(src).__name__}")
        if not _fits(np.shape(src), self.shape):
            raise RuntimeError(f"copy_: src of shape {np.shape(src)} cannot be broadcast to the tensor's shape {self.shape}")
        # the values are cast to the tensor's dtype, as torch's copy_ does (a float into an int tensor truncates)
        return update(self, "copy_", lambda t: src.to(t.dtype) if type(src) is Tensor and hasattr(src, "to")
                      else np.asarray(_data(src)).astype(t.dtype))

    def clamp_(self, min=None, max=None):
        return update(self, "clamp_", lambda t: t.clamp(min, max) if hasattr(t, "clamp") else t.clip(min, max))

    clip_ = clamp_

    def masked_fill_(self, mask, value):
        mask = np.asarray(_data(mask))
        if mask.dtype != bool:
            raise TypeError(f"masked_fill_: mask must be a bool tensor (e.g. x > 0), got dtype {mask.dtype}")
        from .functions import where
        if not _fits(mask.shape, self.shape):
            raise RuntimeError(f"masked_fill_: mask of shape {mask.shape} does not broadcast to the tensor's shape {self.shape}")
        return update(self, "masked_fill_", lambda t: where(mask, value if type(value) is Tensor else np.asarray(value, t.dtype), t))

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        rng = random.generator_argument("uniform_", generator)
        return update(self, "uniform_", lambda t: random.draw(rng, "random", t.shape, np.float64) * (b - a) + a)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        if std < 0:
            raise ValueError(f"normal_: std must be >= 0, got {std}")
        rng = random.generator_argument("normal_", generator)
        return update(self, "normal_", lambda t: random.draw(rng, "standard_normal", t.shape, np.float64) * std + mean)

    def requires_grad_(self, requires_grad=True):
        """Start (or stop) recording operations on this tensor; returns it. Only floating tensors, and
        only leaves: a non-leaf's requires_grad comes from its inputs."""
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError(f"requires_grad_: only floating point tensors can require gradients, got dtype "
                               f"{self.dtype}; convert first (x = x.float())")
        if self._ctx is not None and not requires_grad:
            raise RuntimeError("requires_grad_: you can only change requires_grad flags of leaf variables; "
                               "use x.detach() to get a tensor that does not require grad")
        self.requires_grad = bool(requires_grad)
        return self

    def __setitem__(self, index, value):
        """x[index] = value: a write into the selected elements (numpy's indexing rules), as an in-place update."""
        key = arguments.index(index, self.shape)

        def compute(t):
            if type(t) is Tensor and (t.requires_grad or (type(value) is Tensor and value.requires_grad)):
                # recorded: t where not selected, the value where selected (x * (1 - mask) + scatter(v))
                selected = np.zeros(t.shape, t.dtype)
                selected[key] = 1
                source = value if type(value) is Tensor else wrap(np.asarray(value, t.dtype))
                spread = source.broadcast_to(np.shape(selected[key]))
                return t * (1 - selected) + apply(ops.IndexAdd, spread, index=key, shape=t.shape)
            out = t.data.copy()
            try:
                out[key] = _data(value)
            except (ValueError, IndexError) as error:
                raise type(error)(f"setitem: {error} (tensor of shape {self.shape})") from None
            return out
        update(self, "setitem", compute)


def _elementwise_in_place(name):
    def method(self):
        return update(self, name + "_", lambda t: getattr(t, name)())
    method.__name__, method.__doc__ = name + "_", f"x.{name}_(): x.{name}() written into x, by the rules above."
    return method


# torch's in-place forms of the elementwise functions (x.exp_(), x.relu_(), ...): each the function, then
# the update (the function is looked up when called, so this list needs nothing from methods.py)
for _name in ("exp", "log", "sqrt", "rsqrt", "sigmoid", "tanh", "relu", "abs", "sin", "cos", "log1p", "expm1",
              "square", "reciprocal", "sign", "floor", "ceil", "round", "trunc"):
    setattr(InPlaceMethods, _name + "_", _elementwise_in_place(_name))

for _name, _method in vars(InPlaceMethods).items():
    if not _name.startswith("__") or _name in ("__iadd__", "__isub__", "__imul__", "__itruediv__", "__ipow__", "__setitem__"):
        setattr(Tensor, _name, _method)
del _name, _method
