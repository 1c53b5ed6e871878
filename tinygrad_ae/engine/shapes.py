"""Tensor's methods of shape, movement, selection and dtype, torch's (size, view, permute, transpose(d0, d1),
expand, repeat, split, gather, masked_fill, to, float, ...): installed on Tensor by methods.py with the rest.

Each is a primitive of the table through `apply` (Reshape, Transpose, BroadcastTo, Index, Where, Cast) or a
composite of them, so it is differentiable to any order.
"""
import math
import numbers

import numpy as np

from .. import dtypes
from . import arguments, ops
from .tensor import Tensor, apply, wrap


class Size(tuple):
    """torch.Size: what t.size() returns, a tuple of ints."""
    __slots__ = ()
    def numel(self): return math.prod(self)
    def __repr__(self): return f"Size({list(self)})"


_TYPE_NAMES = {dtypes.float32: "Float", dtypes.float64: "Double", dtypes.float16: "Half", dtypes.int64: "Long",
               dtypes.int32: "Int", dtypes.int16: "Short", dtypes.int8: "Char", dtypes.uint8: "Byte", dtypes.bool: "Bool"}


def check_dim(where, ndim, dim, extra=0):
    """dim as a non-negative int, or torch's IndexError when it lies outside -n..n-1 (n = ndim + extra)."""
    n = max(ndim + extra, 1)
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{where}: dim must be an int, got {type(dim).__name__} {dim!r:.40}")
    if not -n <= dim < n:
        raise IndexError(f"{where}: dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return int(dim) % n


def _sizes(args):
    """view(2, 3), view((2, 3)) or view([2, 3]): the sizes as one tuple of ints."""
    return tuple(int(n) for n in arguments.shape(args))


class ShapeMethods:
    """A namespace: every function and property below becomes an attribute of Tensor (methods.py)."""

    # ----- shapes and movement --------------------------------------------------------------------
    def size(self, dim=None):
        """t.size() is the shape as a Size; t.size(d) one dimension's length."""
        return Size(self.data.shape) if dim is None else self.data.shape[check_dim("size", self.ndim, dim)]

    def dim(self): return self.data.ndim
    ndimension = dim
    def numel(self): return self.data.size
    nelement = numel
    def element_size(self): return self.data.itemsize

    def reshape(self, *shape):
        shape = arguments.shape(shape)
        try:
            return apply(ops.Reshape, self, shape=shape)
        except ValueError:
            raise RuntimeError(f"reshape: shape {tuple(shape)} is invalid for a tensor of shape {self.shape} "
                               f"({self.data.size} elements)") from None

    view = reshape
    def view_as(self, other): return self.reshape(other.shape)
    def reshape_as(self, other): return self.reshape(other.shape)

    def unsqueeze(self, dim):
        return apply(ops.Reshape, self, shape=arguments.expanded_shape(self.shape, check_dim("unsqueeze", self.ndim, dim, 1)))

    def squeeze(self, dim=None):
        """Without the dimensions of size 1 (None: all of them; an int or a tuple: those, if of size 1)."""
        dims = range(self.ndim) if dim is None else [check_dim("squeeze", self.ndim, d) for d in
                                                     (dim if isinstance(dim, (tuple, list)) else (dim,))]
        drop = {d for d in dims if self.shape[d] == 1}
        return apply(ops.Reshape, self, shape=tuple(n for d, n in enumerate(self.shape) if d not in drop))

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = check_dim("flatten", self.ndim, start_dim), check_dim("flatten", self.ndim, end_dim)
        if start > end:
            raise RuntimeError(f"flatten: start_dim ({start_dim}) comes after end_dim ({end_dim})")
        return self.reshape(self.shape[:start] + (-1 if 0 not in self.shape else 0,) + self.shape[end + 1:])

    def unflatten(self, dim, sizes):
        d = check_dim("unflatten", self.ndim, dim)
        return self.reshape(self.shape[:d] + tuple(sizes) + self.shape[d + 1:])

    def permute(self, *dims):
        """The dimensions in the order given (numpy's transpose(axes))."""
        dims = arguments.axes(dims)
        if dims is None or sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)) or len(dims) != self.ndim:
            raise RuntimeError(f"permute: dims {dims} are not a permutation of the {self.ndim} dimensions of a "
                               f"tensor of shape {self.shape}")
        return apply(ops.Transpose, self, axes=dims)

    def transpose(self, *dims):
        """torch's transpose(dim0, dim1): the two dimensions swapped (permute reorders them all)."""
        if len(dims) != 2:
            raise TypeError(f"transpose: takes two dims to swap, transpose(dim0, dim1), got {dims}; for numpy's "
                            "transpose(axes) use permute(axes), to reverse all dimensions use .T")
        if self.ndim == 0:
            check_dim("transpose", 0, dims[0]), check_dim("transpose", 0, dims[1])
            return self
        d0, d1 = check_dim("transpose", self.ndim, dims[0]), check_dim("transpose", self.ndim, dims[1])
        return apply(ops.Transpose, self, axes=arguments.swapped_axes(self.ndim, d0, d1))

    swapaxes = swapdims = transpose

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, got shape {self.shape}; use transpose(d0, d1)")
        return self if self.ndim < 2 else apply(ops.Transpose, self, axes=(1, 0))

    T = property(lambda self: apply(ops.Transpose, self, axes=None), doc="All dimensions reversed.")
    mT = property(lambda self: self.transpose(-2, -1), doc="The last two dimensions swapped.")

    def broadcast_to(self, shape): return apply(ops.BroadcastTo, self, shape=tuple(shape))

    def expand(self, *sizes):
        """A view repeating the dimensions of size 1 (and new leading ones) to `sizes`; -1 keeps a size."""
        sizes, extra = _sizes(sizes), len(_sizes(sizes)) - self.ndim
        if extra < 0 or any(n == -1 for n in sizes[:extra]):
            raise RuntimeError(f"expand: sizes {sizes} do not fit a tensor of shape {self.shape}")
        target = sizes[:extra] + tuple(s if n == -1 else n for s, n in zip(self.shape, sizes[extra:]))
        if any(s != n and s != 1 for s, n in zip(self.shape, target[extra:])):
            raise RuntimeError(f"expand: the shape {self.shape} cannot be expanded to {sizes}: only dimensions "
                               "of size 1 can grow")
        return apply(ops.BroadcastTo, self, shape=target)

    def expand_as(self, other): return self.expand(other.shape)

    def repeat(self, *sizes):
        """The tensor tiled sizes[d] times along each dimension d (numpy's tile), as one broadcast."""
        sizes = _sizes(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"repeat: {len(sizes)} repeats for a tensor of {self.ndim} dimensions; give at least one per dimension")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        interleaved = tuple(n for s in shape for n in (1, s))
        tiled = tuple(n for r, s in zip(sizes, shape) for n in (r, s))
        return self.reshape(interleaved).broadcast_to(tiled).reshape(tuple(r * s for r, s in zip(sizes, shape)))

    def contiguous(self, memory_format=None): return self

    def clone(self, memory_format=None):
        """A copy, differentiable (the gradient passes unchanged)."""
        return apply(ops.Mul, self, 1.0) if self.data.dtype.kind == "f" else wrap(self.data.copy())

    def chunk(self, chunks, dim=0):
        """At most `chunks` pieces along dim, each of ceil(size / chunks) (the last may be smaller)."""
        if isinstance(chunks, bool) or not isinstance(chunks, numbers.Integral) or chunks < 1:
            raise RuntimeError(f"chunk: chunks must be an int >= 1, got {chunks!r}")
        n = self.shape[check_dim("chunk", self.ndim, dim)]
        return self.split(max(-(-n // chunks), 1), dim)

    def split(self, split_size_or_sections, dim=0):
        """Pieces along dim: of split_size each (the last may be smaller), or of the sizes listed."""
        d = check_dim("split", self.ndim, dim)
        n, sizes = self.shape[d], split_size_or_sections
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            if sizes < 1 and n:
                raise RuntimeError(f"split: split_size must be >= 1, got {sizes}")
            sizes = [min(sizes, n - start) for start in range(0, n, sizes)] if n else [0]
        elif sum(sizes) != n:
            raise RuntimeError(f"split: sizes {list(sizes)} do not add up to dim {dim}'s size {n}")
        lead, pieces, start = (slice(None),) * d, [], 0
        for size in sizes:
            pieces.append(self[lead + (slice(start, start + size),)])
            start += size
        return tuple(pieces)

    def gather(self, dim, index):
        """out[i][j][k] = self[index[i][j][k]][j][k] for dim 0 (and so on); the gradient is scattered back."""
        d = check_dim("gather", self.ndim, dim)
        index = np.asarray(index.data if type(index) is Tensor else index)
        if index.dtype.kind not in "iu" or index.ndim != self.ndim:
            raise RuntimeError(f"gather: index must be an int64 tensor with as many dimensions as the input "
                               f"({self.ndim}), got dtype {index.dtype} and shape {index.shape}")
        return apply(ops.Gather, self, axis=d, index=index)

    def masked_fill(self, mask, value):
        """value where mask (a bool tensor, broadcast) is True, else self; no gradient into the value's places."""
        mask = np.asarray(mask.data if type(mask) is Tensor else mask)
        if mask.dtype != bool:
            raise RuntimeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype}")
        if type(value) is Tensor:
            if value.ndim != 0:
                raise RuntimeError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
            value = value.data.astype(self.dtype)
        return apply(ops.Where, np.asarray(value, self.dtype), self, condition=mask)

    # ----- dtypes and devices ---------------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False, memory_format=None):
        """to(dtype), to("cpu"), to(device, dtype), to(other_tensor): the tensor with that dtype
        (self if it already has it and copy is False); only the CPU computes here."""
        for arg in args:
            if type(arg) is Tensor:
                dtype = arg.dtype
            elif isinstance(arg, (str, dtypes.device)) or hasattr(arg, "type") and not isinstance(arg, np.dtype):
                device = arg
            else:
                dtype = arg
        dtypes.check_device("to", device)
        out = self if dtype is None else self._cast("to", dtype)
        return out.clone() if copy and out is self else out

    def _cast(self, where, dtype):
        dtype = dtypes.as_dtype(where, dtype)
        if dtype == self.data.dtype:
            return self
        if dtype.kind == "f" and self.data.dtype.kind == "f" and self.requires_grad:
            return apply(ops.Cast, self, dtype=dtype)
        return wrap(self.data.astype(dtype)) if dtype.kind != "f" else Tensor(self.data.astype(dtype))

    def astype(self, dtype): return self._cast("astype", dtype)
    def float(self): return self._cast("float", dtypes.float32)
    def double(self): return self._cast("double", dtypes.float64)
    def half(self): return self._cast("half", dtypes.float16)
    def long(self): return self._cast("long", dtypes.int64)
    def int(self): return self._cast("int", dtypes.int32)
    def short(self): return self._cast("short", dtypes.int16)
    def bool(self): return self._cast("bool", dtypes.bool)
    def byte(self): return self._cast("byte", dtypes.uint8)

    def type(self, dtype=None):
        """type() is torch's type string ("torch.FloatTensor"); type(dtype) the tensor in that dtype."""
        if dtype is None:
            return f"torch.{_TYPE_NAMES[self.dtype]}Tensor"
        if isinstance(dtype, str):
            named = {f"torch.{name}Tensor": d for d, name in _TYPE_NAMES.items()}
            if dtype not in named:
                raise ValueError(f"type: unknown type {dtype!r}; expected one of {', '.join(named)} or a dtype")
            dtype = named[dtype]
        return self._cast("type", dtype)

    def type_as(self, other): return self._cast("type_as", other.dtype)
    def cpu(self): return self
    def cuda(self, device=None): dtypes.check_device("cuda", device or "cuda")
    device = property(lambda self: dtypes.CPU, doc="Where the tensor lives: always the CPU.")
    is_cuda = False
    def tolist(self): return self.data.tolist()
    def is_floating_point(self): return self.data.dtype.kind == "f"
