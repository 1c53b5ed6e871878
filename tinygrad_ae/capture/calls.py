"""What a captured program is made of: `Buffer`s (the arrays it reads and writes) and `Call`s (the numpy
calls, in order). trace.py records them, plan.py gives them a meaning (`interpret`) and a memory plan,
emit.py writes them out as Python source.
"""
import numpy as np


class Workspace(dict):
    """Scratch arrays (name -> ndarray) whose values mean nothing between steps: whoever uses one writes
    it before reading it, within the same step. A compiled step may therefore keep a value it writes
    there in a register and never store it (the fused backend does, where it proves the write comes
    before every read; tests/test_fused.py). An optimizer's per-parameter scratch buffers are one."""
    __slots__ = ()


class CaptureError(RuntimeError):
    """The step does something a captured program could not repeat faithfully."""


class Buffer:
    """An array of the program. kind: "arg" (an array argument of the step), "state" (an array the step
    reads from its objects: a parameter, an optimizer buffer), "const" (any other array it reads:
    bound by reference), "temp" (made by the step; the planner gives it memory) or "view" (of root)."""

    __slots__ = ("index", "kind", "shape", "dtype", "root", "offset", "strides", "array", "label", "arg",
                 "site", "workspace")

    def __init__(self, index, kind, array, root=None, offset=0, label=None):
        self.index, self.kind, self.root, self.offset, self.label = index, kind, root or self, offset, label
        self.shape, self.dtype, self.strides = array.shape, array.dtype, array.strides
        self.array = array          # the plain ndarray seen while capturing (kept alive: addresses stay unique)
        self.arg = None
        self.site = None            # for a constant: where in Python code it was first read
        self.workspace = False      # a state array held in a Workspace: its value need not outlive the step

    @property
    def nbytes(self):
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def describe(self):
        shape = "x".join(map(str, self.shape)) or "scalar"
        label = f" {self.label}" if self.label else ""
        return f"{self.name}{label} {shape} {self.dtype}"

    @property
    def name(self):
        prefix = {"arg": "x", "state": "s", "const": "k", "temp": "t", "view": "v"}[self.kind]
        return f"{prefix}{self.index}"


class Call:
    """One numpy call, reading the Buffers among its args and kwargs and writing the Buffer `out`, in
    one of four ways (`how`):
      "out"    fn(*args, **kwargs, out=out)           ufuncs, reductions, np.dot, np.concatenate...
      "set"    out[...] = fn(*args, **kwargs)         a function with no out= (np.vdot, a random draw)
      "into"   fn(*args, **kwargs), out is args[0]    np.copyto (copies, astype, fills), ufunc.at, a[key] = v
      "guard"  bool(args[0]) must be kwargs["expected"], or the step runs eagerly; writes nothing (out None)
    """

    __slots__ = ("fn", "args", "kwargs", "out", "how", "errstate", "inplace", "name")

    def __init__(self, fn, args, kwargs, out, how, errstate, name):
        self.fn, self.args, self.kwargs, self.out, self.how, self.errstate = fn, args, kwargs, out, how, errstate
        self.inplace, self.name = False, name

    def reads(self):
        found = []
        for a in self.args + list(self.kwargs.values()):
            if type(a) is Buffer:
                found.append(a)
            elif type(a) is tuple:              # the arrays np.concatenate or np.stack joins
                found += [v for v in a if type(v) is Buffer]
        return found

    def renamed(self, same):
        """A copy of this call with every buffer b in `same` replaced by same[b]."""
        def swap(a):
            return same.get(a, a) if type(a) is Buffer else tuple(map(swap, a)) if type(a) is tuple else a
        call = Call(self.fn, [swap(a) for a in self.args], {k: swap(v) for k, v in self.kwargs.items()},
                    swap(self.out), self.how, self.errstate, self.name)
        call.inplace = self.inplace
        return call


def strided_view(base, offset, shape, strides, dtype):
    """The array at byte `offset` of base's memory with this shape and strides (a view Buffer's array)."""
    if base.flags.c_contiguous or base.flags.f_contiguous:
        return np.ndarray(shape, dtype, buffer=base, offset=offset, strides=strides)
    if offset:
        raise CaptureError("a view at an offset into a non-contiguous array is not supported")
    return np.lib.stride_tricks.as_strided(base, shape, strides)
