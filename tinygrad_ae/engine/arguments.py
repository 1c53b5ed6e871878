"""What users pass, turned into what the engine takes, and the error messages when it cannot.

Numbers, lists and arrays become the ndarray a Tensor wraps (`as_array`) or the Python number the
graph keeps (`as_number`); `dim`/`axis`, shapes, an exponent, clip bounds and indices are checked
and normalized; the joining functions' inputs are checked against each other. Nothing here makes a
Tensor or a node: tensor.py calls these helpers, then `apply`. Tensors are told apart from other
values by their `requires_grad` attribute, so this module needs nothing from tensor.py.
"""
import numbers

import numpy as np


def refuse_longdouble(where, dtype):
    """np.longdouble (float128 on x86 Linux) is refused, not supported: no op of the table is
    checked in it, and its scalars' .item() is a longdouble again, never a Python number."""
    raise TypeError(f"{where}: {np.dtype(dtype)} (np.longdouble) is not supported; "
                    "use float64, e.g. x.astype(np.float64) or float(x)")


def as_array(data):
    """The ndarray a new Tensor wraps: floating arrays keep their dtype (and are not copied);
    Python numbers, lists and integer or bool arrays become float32, as in PyTorch."""
    if isinstance(data, np.ndarray):
        if data.dtype.kind == "f":
            if data.dtype.type is np.longdouble:
                refuse_longdouble("Tensor", data.dtype)
            return data
        if data.dtype.kind in "biu":
            return data.astype(np.float32)
        raise TypeError(f"Tensor: cannot make a tensor from an array of dtype {data.dtype}; "
                        "pass numbers (a float or integer array, a number or a list of numbers)")
    if isinstance(data, np.floating):
        if isinstance(data, np.longdouble):
            refuse_longdouble("Tensor", data.dtype)
        return np.asarray(data)
    if isinstance(data, (numbers.Real, list, tuple)) and not isinstance(data, (str, bytes)):
        try:
            array = np.array(data)
        except ValueError as error:  # ragged nested lists
            raise TypeError(f"Tensor: cannot make a tensor from this {type(data).__name__}: {error}") from None
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Tensor: cannot make a tensor from a {type(data).__name__} holding "
                            f"{array.dtype} values; pass numbers")
        return array.astype(np.float32)
    raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__!s} {data!r:.60}; "
                    "pass a numpy array, a number or a list of numbers")


def as_number(value):
    """A number operand as the graph keeps it: a Python number, which numpy combines with an array
    without changing the array's dtype (float32 stays float32). numpy scalars (np.bool_ included)
    and bools become Python numbers; anything else is refused."""
    if isinstance(value, np.generic):
        if isinstance(value, np.longdouble):    # (its .item() is a longdouble again: apply would recurse)
            refuse_longdouble("cannot combine a Tensor with this number", value.dtype)
        value = value.item()
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        return value
    raise TypeError(f"cannot combine a Tensor with {type(value).__name__}; use a number, "
                    "a numpy array or a Tensor")


def shape_error(name, arrays, constants, error):
    """A ValueError from numpy inside a forward, retold with the op's name and every input's shape."""
    shapes = " and ".join(str(np.shape(a)) for a in arrays if a is not None and not isinstance(a, (int, float)))
    details = "".join(f", {key}={value!r}" for key, value in constants.items() if key != "scale")
    problem = "are not aligned" if name in ("matmul", "linear") else "cannot be combined"
    return ValueError(f"{name}: shapes {shapes} {problem}{details} ({error})")


# ----- shapes, axes, numbers ---------------------------------------------------------------------

def axis(axis):
    """dim/axis as the reductions take it: None, an int, or a tuple of ints."""
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)):
        return int(axis)
    return tuple(int(a) for a in axis)


def reduced_count(shape, axis):
    """How many elements a reduction over axis (None: all, as `axis` returns it) takes together."""
    return int(np.prod(shape if axis is None else [shape[a] for a in ((axis,) if type(axis) is int else axis)]))


def shape(args):
    """reshape(2, 3) or reshape((2, 3)): the shape as one tuple."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def axes(args):
    """transpose(1, 0), transpose((1, 0)) or transpose(): the axes as a tuple, or None (reversed)."""
    if len(args) == 1 and (args[0] is None or isinstance(args[0], (tuple, list))):
        args = args[0]
    return tuple(args) if args else None


def swapped_axes(ndim, axis1, axis2):
    """swapaxes as a transpose: the axes in order, axis1 and axis2 exchanged."""
    axes = list(range(ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return axes


def expanded_shape(shape, axis):
    """shape with a size-1 axis inserted at each position in axis (np.expand_dims' rule)."""
    positions = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    ndim = len(shape) + len(positions)
    shape = list(shape)
    for a in sorted(a % ndim for a in positions):
        shape.insert(a, 1)
    return tuple(shape)


def exponent(exponent):
    """A power's exponent: a Python number (a numpy number becomes one)."""
    if not isinstance(exponent, numbers.Real):
        raise TypeError(f"pow: the exponent must be a Python number, got {type(exponent).__name__}")
    if isinstance(exponent, np.longdouble):
        refuse_longdouble("pow: the exponent", exponent.dtype)
    return exponent.item() if isinstance(exponent, np.generic) else exponent


def clip_bounds(lo, hi):
    """clip's bounds as floats (None: no bound); at least one of them."""
    for label, bound in (("lo", lo), ("hi", hi)):
        if bound is not None and not isinstance(bound, numbers.Real):
            raise TypeError(f"clip: {label} must be a number or None, got {type(bound).__name__}")
    if lo is None and hi is None:
        raise ValueError("clip: give lo, hi or both")
    return tuple(None if b is None else float(b) for b in (lo, hi))


# ----- indices ---------------------------------------------------------------------------------------

def index(index, shape):
    """The index as the table's Index op takes it: a tuple of ints, slices, None, Ellipsis and integer
    arrays, each boolean mask checked against the axes it selects and turned into integer arrays (so
    the backward's scatter sees only integer indices). Float indices and float tensors are refused; integer and bool tensors index as their arrays do."""
    items = index if type(index) is tuple else (index,)
    normalized, masks = [], []
    for item in items:
        if hasattr(item, "requires_grad"):      # a Tensor: an integer or bool one indexes as its array does
            if item.data.dtype.kind not in "biu":
                raise TypeError(f"getitem: cannot index with a tensor of dtype {item.data.dtype}; index with an "
                                "integer tensor (e.g. idx.long()), an integer array or list, or a bool mask such as x > 0")
            item = item.data if item.data.ndim else item.data.item()
        if isinstance(item, (list, np.ndarray)):
            array = np.asanyarray(item)         # (an array argument of a captured step stays traced)
            if array.size == 0 and array.dtype.kind == "f":  # [] is float64 to numpy: an empty selection
                array = array.astype(np.intp)
            if array.dtype.kind not in "biu":
                raise TypeError(f"getitem: index array of dtype {array.dtype}; index with integers "
                                "(e.g. idx.astype(int)) or a boolean mask")
            if array.dtype.kind == "b" and array.ndim > 0:
                masks.append(len(normalized))
            item = array
        elif isinstance(item, (float, np.floating)):
            raise TypeError(f"getitem: float index {item!r}; index with an int, a slice, an integer "
                            "array or list, or a boolean mask")
        normalized.append(item)
    if not masks:
        return tuple(normalized)
    # where each mask starts: count the axes the other items use
    used = [0 if i is None or i is Ellipsis else i.ndim if isinstance(i, np.ndarray) and i.dtype.kind == "b"
            else 1 for i in normalized]
    ellipsis = [k for k, i in enumerate(normalized) if i is Ellipsis]
    for k in masks:
        mask = normalized[k]
        start = sum(used[:k])
        if ellipsis and ellipsis[0] < k:
            start += len(shape) - sum(used)
        if mask.shape != tuple(shape[start:start + mask.ndim]):
            raise IndexError(f"getitem: a boolean mask of shape {mask.shape} does not fit a tensor of "
                             f"shape {tuple(shape)} at axis {start}; the mask must have the shape of "
                             f"the axes it selects, {tuple(shape[start:start + mask.ndim])}")
    expanded = []
    for i in normalized:
        expanded.extend(np.nonzero(i) if isinstance(i, np.ndarray) and i.dtype.kind == "b" and i.ndim else (i,))
    return tuple(expanded)


def grad_value(tensor, grad):
    """What `t.grad = value` may store: None, or an array or Tensor of t's shape and floating dtype."""
    if grad is None:
        return None
    if not (isinstance(grad, np.ndarray) or hasattr(grad, "requires_grad")):   # (an array or a Tensor)
        raise TypeError(f"assigned grad must be None or a Tensor (or ndarray) of shape {tensor.shape}, got "
                        f"{type(grad).__name__} {grad!r:.40}; to clear a gradient assign None")
    if grad.shape != tensor.shape or grad.dtype.kind != "f":
        raise ValueError(f"assigned grad has shape {grad.shape} and dtype {grad.dtype}, but the tensor has shape "
                         f"{tensor.shape} and dtype {tensor.dtype}; assign a floating gradient of the tensor's shape")
    if hasattr(grad, "requires_grad"):            # a Tensor: its array, unless it is a graph (create_graph)
        return grad if grad.requires_grad else grad.data
    return grad


# ----- joining and selection -----------------------------------------------------------------------

def grad_outputs(grad_outputs, count):
    """grad()'s grad_outputs as a tuple, one per output (None: a single-value output's 1)."""
    if grad_outputs is None or isinstance(grad_outputs, np.ndarray) or hasattr(grad_outputs, "requires_grad"):
        grad_outputs = (grad_outputs,) * count if grad_outputs is None else (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != count:
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {count} outputs; give one per output")
    return grad_outputs


def cat_axis(tensors, axis):
    """The axis cat joins along (non-negative), once every tensor is checked to fit the first."""
    first = tensors[0]
    if first.ndim == 0 or not -first.ndim <= axis < first.ndim:
        raise ValueError(f"cat: axis {axis} is out of range for tensors of shape {first.shape} "
                         "(0-d tensors have no axis to join along: use tg.stack)")
    axis = int(axis) % first.ndim
    for t in tensors[1:]:
        if t.dtype != first.dtype:
            raise TypeError(f"cat: tensors of dtypes {first.dtype} and {t.dtype} (shapes {first.shape} and "
                            f"{t.shape}); convert them to one dtype first, e.g. Tensor(x.data.astype(np.float32))")
        if t.ndim != first.ndim or any(a != b for k, (a, b) in enumerate(zip(first.shape, t.shape)) if k != axis):
            raise ValueError(f"cat: tensors of shapes {first.shape} and {t.shape} cannot be joined along axis "
                             f"{axis}; they must have the same number of dimensions and the same size in "
                             "every axis but the one they are joined along (tg.stack makes a new axis)")
    return axis


def stack_axis(tensors, axis):
    """The new axis stack makes, once the tensors are checked to have one shape."""
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensors of shapes {tensors[0].shape} and {t.shape}; stack needs one "
                             "shape for all (use cat to join along an existing axis)")
    ndim = tensors[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"stack: axis {axis} is out of range for the result's {ndim} dimensions")
    return axis


def condition(condition):
    """where's condition: a boolean array (a Tensor's comparison gives one), never differentiated."""
    condition = np.asarray(condition)           # (a Tensor's values: its __array__)
    if condition.dtype != bool:
        raise TypeError(f"where: the condition must be a boolean array (e.g. x > 0), got dtype "
                        f"{condition.dtype}; compare first, e.g. tg.where(c != 0, a, b)")
    return condition
