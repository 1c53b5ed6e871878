"""Capture: run a step once with its arrays replaced by `Traced` views and write down every numpy call.

A `Traced` array is an ndarray (same memory, same values) whose `__array_ufunc__` and
`__array_function__` send every numpy call made on it to the `Recorder` of the capture in progress.
The recorder runs the call on plain arrays, so the captured run computes exactly what an eager run
computes, and records it as a `Call`: the function, the buffers it reads, its constants, the buffer it
writes. Views (.T, reshape, broadcast_to, a[i]) are not calls: a view is a `Buffer` that names its root
buffer, byte offset, shape and strides, found by address.

What a capture cannot replay is refused while capturing (`CaptureError`): a value read back into
Python (`.item()`, `float()`, `int()`) would be frozen. `bool()` of a traced value (an `if` on data, or
on a setting such as an optimizer's momentum kept in a 0-d array) is recorded as a guard: a replay
checks it and, if the branch would go the other way, runs the step eagerly instead.
"""
import inspect
import os
import sys
import threading

import numpy as np
from numpy.lib.array_utils import byte_bounds

from .. import random
from ..engine.tensor import Tensor
from .calls import Buffer, Call, CaptureError


class _Capturing(threading.local):
    """The Recorder of the capture in progress in this thread (None: none). Per thread, as grad mode
    is: two threads capturing their own steps at once never see each other's arrays."""

    def __init__(self):
        self.recorder = None


_capturing = _Capturing()


def begin(recorder):
    """Make recorder this thread's capture in progress; it also sees the package's random draws."""
    _capturing.recorder = recorder
    random.observe_draws(recorder.draw)


def end():
    _capturing.recorder = None
    random.observe_draws(None)


def _address(array):
    return array.__array_interface__["data"][0]


def _plain(x):
    return x.view(np.ndarray) if isinstance(x, Traced) else x


class Recorder:
    """Everything one capture saw: buffers and calls; and which Python objects they came from."""

    def __init__(self):
        self.buffers, self.calls = [], []
        self.by_id = {}                 # id(ndarray object) -> Buffer (objects are kept alive in .keep)
        self.roots = []                 # root Buffers, searched by address for views
        self.keep = []
        self.counts = {}
        self.base_errstate = np.geterr()
        self.written = set()            # the root buffers calls have written so far
        self.front = 0                  # the checks on values the step did not compute: calls[:front]
        self.generators = []            # the numpy Generators the step drew from (random.draw)

    # ----- buffers ------------------------------------------------------------------------------
    def _new(self, kind, array, root=None, offset=0, label=None):
        index = self.counts.get(kind, 0)
        self.counts[kind] = index + 1
        buf = Buffer(index, kind, array, root, offset, label)
        self.buffers.append(buf)
        if root is None:
            self.roots.append(buf)
        return buf

    def bind(self, kind, array, label=None):
        """A Traced view of an array the step reads (argument or state), registered as a root buffer."""
        traced = array.view(Traced)
        buf = self._new(kind, array, label=label)
        self._register(traced, buf)
        self._register(array, buf)
        return traced, buf

    def _register(self, obj, buf):
        self.by_id[id(obj)] = buf
        self.keep.append(obj)

    def resolve(self, x):
        """The Buffer of an ndarray: known, a view of a known root (by address), or a new constant."""
        buf = self.by_id.get(id(x))
        if buf is not None:
            return buf
        low, high = byte_bounds(x)
        for root in reversed(self.roots):
            r_low, r_high = byte_bounds(root.array)
            if r_low <= low and high <= r_high and (high > low or r_low <= low < r_high):
                if x.shape == root.shape and x.strides == root.strides and low == r_low and x.dtype == root.dtype:
                    buf = root
                else:
                    buf = self._new("view", x, root=root, offset=_address(x) - _address(root.array))
                self._register(x, buf)
                return buf
        buf = self._new("const", x)
        buf.site = _user_site()
        self._register(x, buf)
        return buf

    def _operand(self, x):
        """How a call's argument is recorded: a Buffer for arrays, the value itself otherwise."""
        if isinstance(x, np.ndarray):
            return self.resolve(x)
        if isinstance(x, (tuple, list)) and any(isinstance(v, np.ndarray) for v in x):
            return tuple(self._operand(v) for v in x)
        return x

    def _result(self, value):
        """A new array made by a call: a Traced root buffer of kind "temp"."""
        plain = np.asarray(value)
        traced = plain.view(Traced)
        buf = self._new("temp", plain)
        self._register(traced, buf)
        self._register(plain, buf)
        return traced, buf

    def _record(self, fn, args, kwargs, out, how, name):
        errstate = np.geterr()
        delta = {k: v for k, v in errstate.items() if self.base_errstate[k] != v}
        call = Call(fn, args, kwargs, out, how, delta, name)
        self.written.add(out.root)
        self.calls.append(call)
        return call

    # ----- the numpy protocols ---------------------------------------------------------------------
    def ufunc(self, ufunc, method, inputs, kwargs):
        out = kwargs.get("out")
        if method == "at":                      # in place into its first argument: records no new buffer
            target, rest = inputs[0], inputs[1:]
            ufunc.at(_plain(target), *(_plain_index(x) for x in rest))
            self._record(ufunc.at, [self.resolve(target)] + [self._operand(x) for x in rest], {},
                         self.resolve(target), "into", f"{ufunc.__name__}.at")
            return None
        if ufunc.nout != 1:
            raise CaptureError(f"numpy's {ufunc.__name__} has {ufunc.nout} outputs; the captured program "
                               "supports one-output functions only")
        plain_kwargs = dict(kwargs)
        if out is not None:
            plain_kwargs["out"] = tuple(_plain(o) for o in out)
        result = getattr(ufunc, method)(*map(_plain, inputs), **plain_kwargs)
        args = [self._operand(x) for x in inputs]
        rest = {k: self._operand(v) for k, v in kwargs.items() if k != "out"}
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        if out is not None:
            target = out[0]
            self._record(fn, args, rest, self.resolve(target), "out", name)
            return target
        traced, buf = self._result(result)
        self._record(fn, args, rest, buf, "out", name)
        return traced

    def function(self, func, args, kwargs):
        if func in _METADATA:
            return func(*map(_plain, args), **kwargs)
        if func in _FILLS:                      # zeros_like(x) and its kin: a fill of a planned buffer
            traced, buf = self._result(func(*map(_plain, args), **kwargs))
            value = 0 if func in (np.zeros_like, np.empty_like) else 1 if func is np.ones_like else (
                args[1] if len(args) > 1 else kwargs["fill_value"])
            self._record(np.copyto, [buf, self._operand(value)], {"casting": "unsafe"}, buf, "into",
                         func.__name__)
            return traced
        if func in _UNSUPPORTED:
            raise CaptureError(f"np.{func.__name__} inside a compiled step: {_UNSUPPORTED[func]}")
        plain_args = [type(a)(map(_plain, a)) if isinstance(a, (tuple, list)) else _plain(a) for a in args]
        plain_kwargs = {k: _plain(v) for k, v in kwargs.items()}
        result = func(*plain_args, **plain_kwargs)
        if isinstance(result, (tuple, list)):
            raise CaptureError(f"np.{func.__name__} returns several arrays; the captured program supports "
                               "functions that return one")
        operands = [self._operand(a) for a in args]
        rest = {k: self._operand(v) for k, v in kwargs.items() if k != "out"}
        out = kwargs.get("out")
        if out is not None:
            self._record(func, operands, rest, self.resolve(out), "out", func.__name__)
            return out
        if isinstance(result, np.ndarray) and not result.flags.owndata and result.base is not None:
            for a in plain_args:     # a view of an input: no call, a view buffer
                if isinstance(a, np.ndarray) and np.shares_memory(result, a):
                    view = result.view(Traced)
                    buf = self.resolve(result)
                    self._register(view, buf)
                    return view
        traced, buf = self._result(result)
        self._record(func, operands, rest, buf, "out" if _has_out(func) else "set", func.__name__)
        return traced

    def draw(self, generator, method, size, dtype):
        """A random draw of the package (random.draw): recorded, so a replay draws anew from the same
        generator, continuing its stream exactly as the eager step would."""
        fn = getattr(generator, method)
        traced, buf = self._result(fn(size, dtype=dtype))
        how = "out" if method in random.DRAWS_WITH_OUT else "set"
        self._record(fn, [size], {"dtype": np.dtype(dtype)}, buf, how, method)
        if not any(g is generator for g in self.generators):
            self.generators.append(generator)
        return traced

    # ----- methods of Traced that are not numpy calls ------------------------------------------------
    def copy(self, src, dtype, casting="unsafe"):
        plain = _plain(src).astype(dtype) if dtype is not None else _plain(src).copy()
        traced, buf = self._result(plain)
        self._record(np.copyto, [buf, self.resolve(src)], {"casting": casting}, buf, "into",
                     "copy" if dtype is None else f"astype({np.dtype(dtype).name})")
        return traced

    def setitem(self, dst, key, value):
        plain_value = _plain(value)
        _plain(dst)[key] = plain_value
        if isinstance(key, np.ndarray) or (isinstance(key, tuple) and any(isinstance(k, np.ndarray) for k in key)):
            raise CaptureError("indexing with an array inside a compiled step is not supported")
        self._record(_setitem, [self.resolve(dst), key, self._operand(value)], {}, self.resolve(dst),
                     "into", "setitem")

    def guard(self, x):
        """bool() of a traced value: the branch taken becomes a check of the program. A value the step
        did not compute (a setting kept in a 0-d array, an argument) is checked once, at the start of
        the program, wherever the step tests it; a computed value is checked where it is computed, and
        only before the step writes into its state (a failed check then runs the step eagerly)."""
        value = bool(_plain(x))
        buf = self.resolve(x)
        check = Call(bool, [buf], {"expected": value}, None, "guard", {}, "guard")
        if buf.root not in self.written:
            if not any(c.args[0] is buf for c in self.calls[:self.front]):
                self.calls.insert(self.front, check)
                self.front += 1
            return value
        if any(b.kind != "temp" for b in self.written):     # the step has written into its state
            raise CaptureError(
                "a Python `if` (or bool()) on a value computed inside the step, after the step has already "
                "written into its parameters or optimizer state: a replay could not take the other branch. "
                "Move the test before the updates, or outside the step")
        self.calls.append(check)
        return value


def _plain_index(x):
    if type(x) is tuple:
        return tuple(map(_plain, x))
    return _plain(x)


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NUMPY = os.path.dirname(os.path.abspath(np.__file__))
_CAPTURE = os.path.dirname(os.path.abspath(__file__))


def _user_site():
    """'file:line in function' of the code that made a constant: the innermost frame outside numpy and
    the capture machinery (a table formula, a user's step), named in the fallback warning."""
    frame = sys._getframe(2)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith((_NUMPY, _CAPTURE)):
            where = os.path.relpath(path, os.path.dirname(_PACKAGE)) if path.startswith(_PACKAGE) else path
            return f"{where}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return "an unknown place"


def _setitem(array, key, value):
    array[key] = value


def _getitem(array, key):
    """array[key] with an index array (a copy): recorded as a call."""
    return array[key]


def _is_basic_index(key):
    """Whether array[key] is a view (integers, slices, ..., None), not a copy (an index array)."""
    parts = key if type(key) is tuple else (key,)
    return all(k is None or k is Ellipsis or type(k) in (int, slice) or isinstance(k, np.integer)
               for k in parts)


def _frozen(name, what):
    def method(self, *args, **kwargs):
        if _capturing.recorder is None:
            return getattr(_plain(self), name)(*args, **kwargs)
        raise CaptureError(
            f"{what} on a value computed inside a compiled step: the number would be frozen at capture "
            "and every replay would reuse it. Return the Tensor from the step and read it outside "
            "(loss = step(x); loss.item()), or run this step eagerly (compile=False)")
    method.__name__ = what
    return method


class Traced(np.ndarray):
    """An ndarray whose numpy calls are recorded by the capture in progress (see the module docstring).
    Outside a capture (an array kept after its capture) it acts as a plain array."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if any(_defers_to(x) for x in inputs):
            return NotImplemented               # x @ W with W a Tensor: the Tensor's op (a graph node)
        recorder = _capturing.recorder
        if recorder is None:
            if "out" in kwargs:
                kwargs["out"] = tuple(map(_plain, kwargs["out"]))
            return getattr(ufunc, method)(*map(_plain_index, inputs), **kwargs)
        return recorder.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if any(_defers_to_type(t) for t in types):
            return NotImplemented
        recorder = _capturing.recorder
        if recorder is None:
            return func(*map(_plain, args), **{k: _plain(v) for k, v in kwargs.items()})
        return recorder.function(func, args, kwargs)

    def __bool__(self):
        recorder = _capturing.recorder
        return bool(_plain(self)) if recorder is None else recorder.guard(self)

    item = _frozen("item", ".item()")
    tolist = _frozen("tolist", ".tolist()")
    __float__ = _frozen("__float__", "float()")
    __int__ = _frozen("__int__", "int()")
    __index__ = _frozen("__index__", "an index or int()")
    __complex__ = _frozen("__complex__", "complex()")

    def copy(self, order="C"):
        recorder = _capturing.recorder
        return _plain(self).copy(order) if recorder is None else recorder.copy(self, None)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        recorder = _capturing.recorder
        if recorder is None:
            return _plain(self).astype(dtype, order, casting, subok, copy)
        return recorder.copy(self, np.dtype(dtype), casting)

    def fill(self, value):
        self[...] = value

    def __setitem__(self, key, value):
        recorder = _capturing.recorder
        if recorder is None:
            _plain(self)[key] = _plain(value)
        else:
            recorder.setitem(self, key, value)

    def __getitem__(self, key):
        recorder = _capturing.recorder
        if recorder is None or _is_basic_index(key):
            value = super().__getitem__(key if recorder is not None else _plain_index(key))
            if recorder is None or isinstance(value, np.ndarray):
                return value                    # a view: found by address when used
        return recorder.function(_getitem, (self, key), {})    # an element, or a copy (index arrays)

    def __repr__(self):
        return f"Traced(shape={self.shape}, dtype={self.dtype})"

    __str__ = __repr__


def _defers_to_type(kind):
    """Whether a type overrides numpy's protocols itself (a Tensor): its own method must run."""
    return not issubclass(kind, np.ndarray) and getattr(kind, "__array_ufunc__", None) is not None


def _defers_to(x):
    return _defers_to_type(type(x))


_FILLS = {np.zeros_like, np.ones_like, np.empty_like, np.full_like}
_METADATA = {np.shape, np.ndim, np.size, np.result_type, np.can_cast, np.may_share_memory, np.shares_memory,
             np.iscomplexobj, np.isrealobj}
_UNSUPPORTED = {np.copyto: "write with out= or [...] = instead"}


def _has_out(func, cache={}):
    """Whether numpy's func takes out= (then a replay writes into the planned buffer directly)."""
    found = cache.get(func)
    if found is None:
        try:
            found = cache[func] = "out" in inspect.signature(func).parameters
        except (TypeError, ValueError):
            found = cache[func] = False
    return found
