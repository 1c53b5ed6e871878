"""Lowering a planned program: which calls become loops, and how they group into kernels.

Each call is either an `Op` (an elementwise ufunc, np.where, np.clip, a copy or fill, a reduction, a
vdot: something a loop computes element by element; a 2-D matrix product: numpy's cblas gemm, called
by the kernel) or stays a numpy call (a guard; a product BLAS cannot take as laid out; anything else,
listed as a fallback). Consecutive ops make one kernel; inside a kernel,
ops over the same iteration shape make one loop nest, unless one reads memory another writes through
a different index (a broadcast, a view, a block of shared memory, a reduction not yet complete): then
a new nest starts. An op may join an earlier nest when nothing in between touches its bytes (_place).
A temp written and read only inside one nest is never stored: it
lives in a register (that is the fusion).
"""
import numpy as np

from ...engine.numerics import seed_ones
from ..calls import Buffer
from . import blas
from .mathf import POINTER
from .scalar import elementwise_kind

BLAS = {np.matmul, np.dot}            # matrix products: numpy's own BLAS (in a kernel, or np.dot)
_REDUCE_FUNCTIONS = {np.sum: np.add, np.max: np.maximum, np.amax: np.maximum, np.min: np.minimum,
                     np.amin: np.minimum, np.prod: np.multiply}
_REDUCE_UFUNCS = {np.add, np.multiply, np.maximum, np.minimum, np.logical_and, np.logical_or}


class Op:
    """One call as a loop body. kind: "map" (out[idx] = f(operands)), "reduce" (out[idx(axes dropped)]
    op= operand), "dot" (out[()] += a * b over a's shape). shape: the iteration shape."""

    def __init__(self, call, kind, fn, operands, shape, axes=(), acc_dtype=None):
        self.call, self.kind, self.fn, self.operands, self.shape = call, kind, fn, operands, shape
        self.out, self.axes, self.acc_dtype = call.out, axes, acc_dtype


def as_op(call):
    """The Op of a call, or (None, why it stays a numpy call)."""
    if call.how == "guard":
        return None, None
    if any(v not in ("ignore", "warn") for v in call.errstate.values()):
        return None, "an error state that raises"
    ones_sum = _sum_by_ones(call)
    if ones_sum is not None:
        return ones_sum, None
    if call.fn in BLAS:
        return _gemm(call), None
    out = call.out
    if not _addressable(out) or out.kind in ("arg", "const") or out.root.kind == "arg":
        return None, "writes an argument, a constant or an array of an unsupported dtype"
    operands = call.reads()
    if not all(_addressable(b) for b in operands):
        return None, "reads an array of an unsupported dtype or layout"
    fn, args, kwargs = call.fn, call.args, call.kwargs
    if call.how == "out" and isinstance(fn, np.ufunc) and "." not in call.name:
        if kwargs or not elementwise_kind(fn) or not _numbers_or_buffers(args):
            return None, f"np.{call.name} with these arguments has no loop here"
        return _map(call, fn, args)
    if fn is np.copyto and call.how == "into" and set(kwargs) <= {"casting"} and len(args) == 2:
        return _map(call, np.copyto, args[1:]) if _numbers_or_buffers(args[1:]) else (None, "copyto of this value")
    if fn is np.where and len(args) == 3 and not kwargs and _numbers_or_buffers(args):
        return _map(call, np.where, args)
    if fn is np.clip and len(args) == 3 and not kwargs and _numbers_or_buffers(args) and args[1] is not None \
            and args[2] is not None:
        return _map(call, np.clip, args)
    if fn is np.vdot and call.how == "set" and len(args) == 2 and all(type(a) is Buffer for a in args) \
            and args[0].shape == args[1].shape and out.shape == ():
        return Op(call, "dot", np.vdot, list(args), args[0].shape), None
    ufunc = _REDUCE_FUNCTIONS.get(fn)
    if ufunc is None and call.name.endswith(".reduce") and getattr(fn, "__self__", None) in _REDUCE_UFUNCS:
        ufunc = fn.__self__
    if fn is seed_ones and call.how == "set" and len(args) == 1:
        return Op(call, "map", np.copyto, [1], out.shape), None        # the backward walk's seed: ones
    if ufunc is not None and len(args) == 1 and type(args[0]) is Buffer and call.how in ("out", "set") \
            and set(kwargs) <= {"axis", "keepdims", "dtype", "where"} and kwargs.get("where", True) is True:
        x = args[0]
        axis = kwargs.get("axis", 0 if call.name.endswith(".reduce") else None)   # ufunc.reduce: axis 0
        axes = _axes(axis, len(x.shape))
        if axes is None or (x.shape and 0 in x.shape and ufunc in (np.maximum, np.minimum)):
            return None, "a reduction over these axes"
        return Op(call, "reduce", ufunc, [x], x.shape, axes, np.dtype(kwargs.get("dtype") or out.dtype)), None
    return None, f"{call.name} has no loop here"


def _gemm(call):
    """A 2-D matrix product as a call of numpy's cblas gemm from inside the kernel (blas.py), when the
    routine is found and the layouts are BLAS's; else None (it stays an np.dot call in the driver)."""
    args, out = call.args, call.out
    if call.how != "out" or call.kwargs or len(args) != 2 or not all(type(a) is Buffer for a in args):
        return None
    a, b = args
    if not (len(a.shape) == len(b.shape) == len(out.shape) == 2 and a.dtype == b.dtype == out.dtype
            and blas.routine(out.dtype) is not None and out.kind != "arg" and out.root.kind != "arg"):
        return None
    (m, k), (k2, n) = a.shape, b.shape
    item = out.dtype.itemsize
    if k != k2 or out.shape != (m, n) or min(m, n, k) < 1 or out.strides != (n * item, item):
        return None
    if blas.layout(a, m, k) is None or blas.layout(b, k, n) is None:
        return None
    return Op(call, "gemm", call.fn, [a, b], ("gemm", id(call)))


def _sum_by_ones(call):
    """np.dot(ones, M) or np.dot(M, ones) with a read-only constant vector of ones (how the engine
    sums a bias's gradient over the batch through BLAS): a sum over M's rows or columns, which fuses
    with the loop that made M."""
    if call.fn is not np.dot or call.kwargs or len(call.args) != 2 or not all(type(a) is Buffer for a in call.args):
        return None
    a, b = call.args
    for ones, m, axis in ((a, b, 0), (b, a, 1)):
        if (ones.kind == "const" and len(ones.shape) == 1 and len(m.shape) == 2 and ones.array is not None
                and not ones.array.flags.writeable and ones.dtype == m.dtype == call.out.dtype
                and m.shape[axis] == ones.shape[0] and _addressable(m) and _addressable(call.out)
                and call.out.kind == "temp" and np.all(ones.array == 1)):
            return Op(call, "reduce", np.add, [m], m.shape, (axis,), m.dtype)
    return None


def _map(call, fn, args):
    try:
        shape = np.broadcast_shapes(*[a.shape for a in args if type(a) is Buffer], call.out.shape)
    except ValueError:
        return None, "shapes that do not broadcast"
    if shape != call.out.shape:
        return None, "an output smaller than its inputs"
    return Op(call, "map", fn, list(args), shape), None


def _numbers_or_buffers(args):
    return all(type(a) is Buffer or type(a) in (int, float, bool) or isinstance(a, (np.bool_, np.number))
               for a in args)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if type(axis) is int or isinstance(axis, np.integer) else axis
    if type(axis) is not tuple or not all(type(a) is int or isinstance(a, np.integer) for a in axis):
        return None
    axes = tuple(sorted({int(a) % ndim for a in axis})) if ndim else ()
    return axes


def _addressable(b):
    return (b.dtype.name in POINTER and all(s % b.dtype.itemsize == 0 for s in b.strides)
            and b.offset % b.dtype.itemsize == 0 and all(s >= 0 for s in b.strides))


# ----- where each buffer lives, and how an op indexes it ------------------------------------------------

def region(b, arrays):
    """(space, low, high) of the bytes b covers: space "memory" for arrays with a fixed address, ("arg",
    n) for an argument (another array at every call)."""
    extent = sum((n - 1) * s for n, s in zip(b.shape, b.strides)) + b.dtype.itemsize if all(b.shape) else 0
    if b.root.kind == "arg":
        return ("arg", b.root.arg), b.offset, b.offset + extent
    base = address(b, arrays)
    return "memory", base, base + extent


def address(b, arrays):
    root = b.root
    array = arrays[root] if root.kind == "temp" else root.array
    return array.__array_interface__["data"][0] + b.offset


def strides_in(b, shape):
    """b's element strides over an iteration shape (right-aligned broadcasting: 0 where b has size 1
    or lacks the dimension)."""
    lead = len(shape) - len(b.shape)
    found = []
    for d, n in enumerate(shape):
        j = d - lead
        found.append(0 if j < 0 or b.shape[j] == 1 or n == 1 else b.strides[j] // b.dtype.itemsize)
    return tuple(found)


def out_strides(op):
    """How a reduction's output is indexed over its input's iteration shape: 0 on the reduced axes."""
    out, shape = op.out, op.shape
    keep = len(out.shape) == len(shape)
    found, j = [], 0
    for d in range(len(shape)):
        if d in op.axes:
            found.append(0)
            j += keep
        else:
            found.append(0 if out.shape[j] == 1 else out.strides[j] // out.dtype.itemsize)
            j += 1
    return tuple(found)


# ----- grouping ------------------------------------------------------------------------------------------

class Nest:
    """Ops over one iteration shape, run in one loop nest; accesses: (buffer, its strides there, mode),
    mode "read", "write", "acc" (a reduction's output, complete only after the nest) or "total" (one
    number, stored after the nest)."""

    def __init__(self, shape):
        self.shape, self.ops, self.accesses, self.touches = shape, [], [], []


def accesses_of(op):
    if op.kind == "gemm":
        return []
    found = [(b, strides_in(b, op.shape), "read") for b in op.operands if type(b) is Buffer]
    if op.kind == "map":
        found.append((op.out, strides_in(op.out, op.shape), "write"))
    elif op.kind == "dot" or len(op.axes) == len(op.shape):      # to one number: stored after the nest
        found.append((op.out, (0,) * len(op.shape), "total"))
    else:
        found.append((op.out, out_strides(op), "acc"))
    return found


def _conflict(a, b, arrays):
    """Whether access a (of an op joining a nest) and access b (of an op already in it) could see each
    other's bytes out of order. A "total" (a reduction to one number) is stored once the nest is done:
    only what later ops touch in its bytes conflicts with it (a block of shared memory often holds it)."""
    (buf_a, st_a, mode_a), (buf_b, st_b, mode_b) = a, b
    if mode_a == mode_b == "read" or mode_a == "total":
        return False
    space_a, low_a, high_a = region(buf_a, arrays)
    space_b, low_b, high_b = region(buf_b, arrays)
    if space_a != space_b or not (low_a < high_b and low_b < high_a):
        return False
    return mode_b in ("acc", "total") or mode_a == "acc" or low_a != low_b or st_a != st_b


def _fits(nest, op, arrays):
    """Whether op can join the nest: every byte it reads or writes that the nest (or op itself) also
    touches is touched through the very same index, and nothing else touches an accumulator."""
    if op.shape != nest.shape:
        return False
    mine = accesses_of(op)
    return not any(_conflict(a, b, arrays) for a in mine for b in nest.accesses)


def _self_consistent(op, arrays):
    mine = accesses_of(op)
    return not any(_conflict(a, b, arrays) for i, a in enumerate(mine) for b in mine[i + 1:]
                   if not (a[0] is op.out and b[0] is op.out) and "total" not in (a[2], b[2]))


def _overlap(a, b, arrays):
    space_a, low_a, high_a = region(a, arrays)
    space_b, low_b, high_b = region(b, arrays)
    return space_a == space_b and low_a < high_b and low_b < high_a


def _add(nest, op):
    nest.accesses += accesses_of(op)
    nest.touches += _touches(op)
    nest.ops.append(op)


def group(calls, arrays):
    """[("kernel", [Nest...]) or ("numpy", call, why)] in program order; why is None for BLAS and guards,
    else the reason the call is a fallback."""
    segments = []
    for call in calls:
        op, why = as_op(call)
        if op is not None and op.kind == "gemm" and any(_overlap(op.out, b, arrays) for b in op.operands):
            op, why = None, None        # BLAS may not write where it reads: np.dot copies such operands first
        elif op is not None and not _self_consistent(op, arrays):
            op, why = None, "reads its output's memory through another index"
        if op is None:
            segments.append(("numpy", call, why))
            continue
        if not segments or segments[-1][0] != "kernel":
            segments.append(("kernel", []))     # one kernel for every run of ops, products included: each
            #                                     kernel call costs ~0.3 us of numba's dispatch, a tenth of
            #                                     the digits step's margin; one bigger kernel compiles as fast
        _place(segments[-1][1], op, arrays)
    return segments


def _touches(op):
    """(buffer, written?) for every buffer op reads or writes, a product's too: what orders it."""
    if op.kind == "gemm":
        return [(b, False) for b in op.operands] + [(op.out, True)]
    return [(b, mode != "read") for b, _, mode in accesses_of(op)]


def _place(nests, op, arrays):
    """Put op into a nest of its kernel: the earliest nest of its shape that it fits, found walking back
    over nests that touch none of its bytes (a write on one side or the other), since running op before
    those is an order nothing can observe; else a new nest at the end. A number (a 0-d op) goes right
    after the last nest it depends on. This is what makes the loss's scalar arithmetic, which sits
    between the elementwise passes in program order, stop splitting them: the backward's first
    elementwise ops then join the forward's loop (one pass over the batch instead of three). Products
    keep their place."""
    if op.kind == "gemm":
        nests.append(Nest(op.shape))
        _add(nests[-1], op)
        return
    mine, found, after = _touches(op), None, 0
    for k in range(len(nests) - 1, -1, -1):
        nest = nests[k]
        if nest.shape == op.shape and _fits(nest, op, arrays):
            found = nest
        if any((w or v) and _overlap(b, c, arrays) for b, w in mine for c, v in nest.touches):
            after = k + 1
            break
    if op.shape == () and (found is None or after == len(nests) or found is not nests[after]):
        found = Nest(())                    # a number: as early as it can be (it costs no loop)
        nests.insert(after, found)
    elif found is None:
        found = Nest(op.shape)
        nests.append(found)
    _add(found, op)


def registers(segments, outputs, grads, buffers):
    """The temps that need no memory: written once, by a map, and read only later in the same nest. So
    is a workspace array (an optimizer's scratch: calls.Workspace), whose value need not outlive the
    step, when the one write covers all of it and comes before every read, all in that nest."""
    reads, writes, home = {}, {}, {}
    for k, seg in enumerate(segments):
        units = [(k, None, seg[1])] if seg[0] == "numpy" else [(k, n, op.call) for n, nest in enumerate(seg[1])
                                                               for op in nest.ops]
        for where in units:
            call = where[2]
            for b in call.reads():
                reads.setdefault(b.root, set()).add(where[:2])
            if call.out is not None:
                writes[call.out.root] = writes.get(call.out.root, 0) + 1
                home[call.out.root] = where[:2]
    kept = {b.root for b in outputs} | {b.root for _, b in grads if b is not None} | {
        b.root for b in buffers if b.kind == "view"}
    found = set()
    for seg in segments:
        if seg[0] != "kernel":
            continue
        for nest in seg[1]:
            for op in nest.ops:
                b = op.out
                if (op.kind == "map" and b.root is b and b not in kept and writes[b] == 1
                        and reads.get(b, set()) <= {home[b]}
                        and (b.kind == "temp" or (b.kind == "state" and b.workspace and op.shape == b.shape
                                                  and _written_before_read(nest, op, b)))):
                    found.add(b)
    return found


def _written_before_read(nest, op, b):
    """No op of the nest up to and including op (the one write of b) reads b: every read sees this step's
    value, never the one a previous step left (a temp cannot be read first; a state array can)."""
    for other in nest.ops[:nest.ops.index(op) + 1]:
        if any(r.root is b for r in other.call.reads()):
            return False
    return True
