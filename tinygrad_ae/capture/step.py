"""`tg.compile(fn)`: the first call runs eagerly, the next two capture, later calls replay.

The arrays a step reads are found from the function itself: its arguments, and the objects its code
names (globals, closure cells, `self` of a bound method), walked through attributes, lists and dicts:
the Tensors' data and grad, the optimizer's buffers. During a capture each is swapped for a `Traced`
view of itself, and swapped back after.

The step is captured twice and the two recordings must agree: the same calls on the same buffers
with the same numbers. An array the step reads that no traced numpy call made (random numbers drawn
with numpy's own generators, an array built from data in Python) is a constant only if it is the very
same object in both captures: a fresh array, even one with equal values, proves nothing, so the step
then stays eager, with a warning that names where that array was made. The package's own random
draws go through `random.draw`, which a capture records: a replay draws anew from the same Generator.
"""
import os
import types
import warnings

import numpy as np

from ..engine.tensor import Tensor
from . import fused, trace
from .discover import is_array, discover, get, put
from .emit import MISS, WRONG_ARGUMENTS
from .plan import Program
from .calls import Buffer, Workspace
from .trace import Recorder, Traced

RECAPTURE_WARNING = 4       # more captures than this (another shape, changed state...) say so once


class CompiledStep:
    """A step function that is captured once and replayed. `program` is the last captured program."""

    def __init__(self, fn, backend=None):
        self.fn, self.backend = fn, _backend(backend)
        self._entries = {}      # key of the arguments' shapes -> {"calls", "pending", "program", "eager"}
        self.captures = 0
        self._warned = False
        self.program = None
        self._fast = None       # the entry point of the program used last (positional array arguments)
        self.__wrapped__ = fn
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__name__ = getattr(fn, "__name__", "step")

    def __get__(self, instance, owner):         # used as a method decorator: bind like a function
        if instance is None:
            return self
        bound = CompiledStep(types.MethodType(self.fn, instance), self.backend)
        instance.__dict__[self.__name__] = bound
        return bound

    def __call__(self, *args, **kwargs):
        fast = self._fast
        if fast is not None and not kwargs and len(args) == fast.arity:
            result = fast(*args)
            if result is not WRONG_ARGUMENTS and result is not MISS:
                return result
            if result is MISS:                  # the state changed, or a guard failed: capture again
                self._fast = None
                for entry in self._entries.values():
                    if entry["call"] is fast:
                        entry["program"] = entry["pending"] = entry["call"] = None
        return self._call(args, kwargs)

    def _call(self, args, kwargs):
        leaves = list(args) + [kwargs[k] for k in sorted(kwargs)]
        key = (len(args), tuple(sorted(kwargs)), tuple(map(_key, leaves)))
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = {"calls": 0, "pending": None, "program": None, "eager": None,
                                           "call": None}
        program = entry["program"]
        if program is not None:
            if entry["call"] is not None:
                self._fast = entry["call"]
            outputs = program.run(*[x.data if type(x) is Tensor else x for x in leaves if is_array(x)])
            if outputs is not MISS:
                return _rebuild(program.template, outputs)
            entry["program"] = entry["pending"] = entry["call"] = self._fast = None   # state changed, or a guard failed
        entry["calls"] += 1
        if entry["eager"] is not None or entry["calls"] == 1:
            return self.fn(*args, **kwargs)
        return self._capture(entry, args, kwargs)

    def _capture(self, entry, args, kwargs):
        self.captures += 1
        if self.captures > RECAPTURE_WARNING + 1 and not self._warned:
            self._warned = True
            warnings.warn(f"tg.compile: {self.__name__} was captured {self.captures} times (arguments of "
                          "new shapes or dtypes, or state that changed between calls); each capture "
                          "runs slower than an eager step", RuntimeWarning, stacklevel=3)
        result, recording = capture(self.fn, args, kwargs)
        if recording is None:
            return result
        pending = entry["pending"]
        if pending is None and type(recording) is not str:
            entry["pending"] = recording
            return result
        difference = recording if type(recording) is str else _difference(pending, recording)
        if difference:
            entry["eager"] = difference
            warnings.warn(f"tg.compile: {self.__name__} runs eagerly: {difference}", RuntimeWarning,
                          stacklevel=3)
            return result
        entry["program"] = self.program = Program(*recording)
        if self.backend == "fused":
            fused.lower(self.program)
        entry["pending"] = None
        if not kwargs and all(is_array(a) for a in args) and len(set(map(id, args))) == len(args):
            spec = [(type(a) is Tensor,) + _key(a)[1:] for a in args]
            entry["call"] = self._fast = self.program.entry_point(spec, Tensor, _rebuild)
            self._fast.arity = len(args)
        return result


def compile(fn=None, backend=None):  # noqa: A001 (the name users expect, as torch.compile)
    """Capture fn (a whole training step) on its second and third calls, then replay it, allocating
    nothing per step. backend="numpy": a planned numpy program, bit for bit the eager step's results;
    "fused": numba kernels for the elementwise work between the BLAS calls (the `fast` extra), equal
    to eager to float tolerance (capture/fused); "auto": "fused" when numba imports, else "numpy",
    saying so once. The default is $TINYGRAD_AE_COMPILE_BACKEND, else "auto". Usable as @tg.compile
    or @tg.compile(backend=...)."""
    if fn is None:
        return lambda f: CompiledStep(f, backend)
    return CompiledStep(fn, backend)


def _backend(backend):
    if backend is None:
        backend = os.environ.get("TINYGRAD_AE_COMPILE_BACKEND") or "auto"
    if backend not in ("auto", "fused", "numpy"):
        raise ValueError(f"tg.compile: backend must be 'auto', 'fused' or 'numpy', not {backend!r}")
    if backend == "numpy":
        return backend
    missing = fused.available()
    if missing is None:
        return "fused"
    if backend == "fused":
        raise ImportError(f"tg.compile(backend='fused'): {missing}")
    fused.note_once("missing", f"tg.compile: the fused backend is not installed ({missing}); using the numpy "
                               "program")
    return "numpy"


# ----- one capture ----------------------------------------------------------------------------------

def capture(fn, args, kwargs):
    """Run fn once with its arrays traced. Returns (result, (recorder, outputs, grads, locations,
    template)), (result, None) when the step replaced state it reads (capture again next time), or
    (result, reason) when it can never be replayed (run it eagerly)."""
    rec = Recorder()
    tensors, locations, generators = discover(fn, list(args) + list(kwargs.values()), skip=(CompiledStep,))
    swapped = _bind_state(rec, locations)
    new_args, new_kwargs, saved_args = _bind_arguments(rec, args, kwargs)
    grads_before = {id(t): t.grad for t in tensors}
    trace.begin(rec)
    try:
        result = fn(*new_args, **new_kwargs)
    finally:
        trace.end()
        for tensor, data in saved_args:
            tensor.data = data
        replaced = _restore(swapped)
    _label_graph(result, rec)
    outputs = []
    template = _template(result, rec, outputs)
    plain_result = _rebuild(template, [b.array for b in outputs])
    used = {b.root for call in rec.calls for b in call.reads() + ([call.out] if call.out else [])}
    grads = _gradients(rec, tensors, grads_before, swapped)
    if grads is None or any(buf in used for buf in replaced):
        return plain_result, None
    kept = _kept_locations(rec, swapped, used, grads, generators)
    if kept is None or type(kept) is str:
        return plain_result, kept
    return plain_result, (rec, outputs, grads, kept, template)


def _bind_state(rec, locations):
    """Swap every array the step can find for a Traced view of itself (a "state" buffer)."""
    swapped = []
    for owner, key, how, root, path in locations:
        array = get(owner, key, how)
        traced, buf = rec.bind("state", array, label=_label(owner, key))
        buf.workspace = type(owner) is Workspace
        put(owner, key, how, traced)
        swapped.append((owner, key, how, array, traced, buf, root, path))
    return swapped


def _bind_arguments(rec, args, kwargs):
    """The arguments with each array (a Tensor's data) traced as an "arg" buffer, numbered in order."""
    bound, saved = {}, []

    def bind(x):
        if not is_array(x):
            return x
        if id(x) not in bound:
            if type(x) is Tensor:
                traced, buf = rec.bind("arg", x.data)
                saved.append((x, x.data))
                x.data, result = traced, x
            else:
                result, buf = rec.bind("arg", x)
            buf.arg = len(bound)
            bound[id(x)] = result
        return bound[id(x)]

    new_args = [bind(a) for a in args]
    return new_args, {k: bind(kwargs[k]) for k in sorted(kwargs)}, saved


def _gradients(rec, tensors, before, swapped):
    """[(tensor, buffer or None)]: the .grad assignments the step made; None if one is a Tensor
    (create_graph: not a numpy program)."""
    grads = []
    for t in tensors:
        g = t.grad
        if g is before[id(t)] or (isinstance(g, Traced) and _is_bound(g, swapped, t)):
            if isinstance(g, Traced):
                t.grad = g.view(np.ndarray)
            continue
        if isinstance(g, np.ndarray):
            grads.append((t, rec.resolve(g)))
            t.grad = g.view(np.ndarray)
        elif g is None:
            grads.append((t, None))
        else:
            return None
    return grads


def _kept_locations(rec, swapped, used, grads, generators):
    """[(root, path, buffer or Generator)]: what a replay checks is still where the step finds it. None
    if the step read a .grad and then replaced it (not supported: capture again); a reason (str) if
    it draws from a Generator no object holds."""
    assigned = lambda owner, key: key == "grad" and any(t is owner for t, _ in grads)   # noqa: E731
    kept = [(root, path, buf) for owner, key, how, array, traced, buf, root, path in swapped
            if buf in used and not assigned(owner, key)]
    for generator in rec.generators:
        found = next(((root, path) for g, root, path in generators if g is generator), None)
        if found is None:
            return ("it draws random numbers from a numpy Generator that none of its objects holds (a new "
                    "one made in each call?), so a replay could not continue its stream; keep the Generator "
                    "on the model or pass it in (e.g. F.dropout(x, rng=self.rng))")
        kept.append(found + (generator,))
    if any(assigned(owner, key) and buf in used for owner, key, how, array, traced, buf, root, path in swapped):
        return None
    return kept


def tensors_in(value):
    """The Tensors a step returned (for the program's outputs)."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


def _label(owner, key):
    """A bound array's name in the listing: a named Tensor's (W, W.grad), else the attribute or key
    that holds it (lr, exp_avg)."""
    if type(owner) is Tensor:
        return (owner.name if key == "data" else f"{owner.name}.grad") if owner.name else None
    return key if isinstance(key, str) else None


def _label_graph(result, rec):
    """Give the buffers of named Tensors in the returned graph their names (a1, h, x_hat, L...)."""
    stack, seen = [t for t in tensors_in(result)], set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        buf = rec.by_id.get(id(t.data))
        if t.name and buf is not None and buf.label is None:
            buf.label = t.name
        if t.grad_fn is not None:
            stack.extend(p for p in t.grad_fn.parents if type(p) is Tensor)


def _is_bound(g, swapped, tensor):
    return any(owner is tensor and key == "grad" and traced is g for owner, key, how, array, traced, buf, *_ in swapped)


def _restore(swapped):
    """Put the original arrays back; returns the buffers whose array the step replaced by another."""
    replaced = []
    for owner, key, how, array, traced, buf, *_ in swapped:
        current = get(owner, key, how)
        if current is traced:
            put(owner, key, how, array)
        elif key != "grad":
            replaced.append(buf)
            if isinstance(current, Traced):
                put(owner, key, how, current.view(np.ndarray))
    return replaced


def _template(value, rec, outputs):
    """The step's return value with every Tensor or array replaced by its output index."""
    if isinstance(value, Tensor) or isinstance(value, np.ndarray):
        data = value.data if isinstance(value, Tensor) else value
        if not isinstance(data, np.ndarray):
            return value
        outputs.append(rec.resolve(data))
        return (Tensor if isinstance(value, Tensor) else np.ndarray, len(outputs) - 1)
    if isinstance(value, (tuple, list)):
        return (type(value), [_template(v, rec, outputs) for v in value])
    if isinstance(value, dict):
        return (dict, {k: _template(v, rec, outputs) for k, v in value.items()})
    return (None, value)


def _rebuild(template, outputs):
    kind, value = template
    if kind is Tensor:
        return Tensor(outputs[value].copy())
    if kind is np.ndarray:
        return np.array(outputs[value])     # a copy (of an array, or of a number the replay held)
    if kind is None:
        return value
    if kind is dict:
        return {k: _rebuild(v, outputs) for k, v in value.items()}
    return kind(_rebuild(v, outputs) for v in value)


# ----- finding the arrays a step reads ----------------------------------------------------------------

def _key(x):
    if type(x) is Tensor:
        x = x.data
        tag = "T"
    elif isinstance(x, np.ndarray):
        tag = "A"
    else:
        try:
            hash(x)
            return ("V", type(x), x)
        except TypeError:
            return ("I", id(x))
    return (tag, x.shape, x.dtype, x.strides)


# ----- comparing two captures ---------------------------------------------------------------------------

def _difference(first, second):
    """'' if two recordings of the step are the same program, else what differs, in words."""
    rec_a, outputs_a, grads_a, _, _ = first
    rec_b, outputs_b, grads_b, _, _ = second
    if len(rec_a.calls) != len(rec_b.calls):
        return (f"its two captures made different numbers of numpy calls ({len(rec_a.calls)} and "
                f"{len(rec_b.calls)}): Python control flow in the step changes from call to call")
    for i, (a, b) in enumerate(zip(rec_a.calls, rec_b.calls)):
        if a.name != b.name or a.how != b.how or a.fn != b.fn or list(a.kwargs) != list(b.kwargs):
            return f"call {i} was {a.name} in one capture and {b.name} in the other (control flow changes)"
        for x, y in zip(a.args + list(a.kwargs.values()) + [a.out], b.args + list(b.kwargs.values()) + [b.out]):
            problem = _operand_difference(x, y)
            if problem:
                return (f"call {i} ({a.name}) {problem}. Make such values outside the step and pass them "
                        "in as arguments (or draw them with tinygrad_ae.random.draw)")
    if [_sig(b) for b in outputs_a] != [_sig(b) for b in outputs_b] or \
            [(t, _sig(b)) for t, b in grads_a] != [(t, _sig(b)) for t, b in grads_b]:
        return "its outputs or gradients come from different buffers in the two captures"
    return ""


def _sig(b):
    if b is None:
        return None
    return (b.kind, b.index, b.shape, b.dtype, b.strides, b.offset, b.root.kind, b.root.index)


def _operand_difference(x, y):
    if type(x) is tuple and type(y) is tuple and len(x) == len(y):
        return next((d for d in map(_operand_difference, x, y) if d), "")
    if type(x) is Buffer or type(y) is Buffer:
        if type(x) is not Buffer or type(y) is not Buffer or _sig(x) != _sig(y):
            return "reads different arrays"
        if x.kind == "const" and x.array is not y.array:
            return (f"reads an array (first read at {y.site or x.site}) that no numpy call on the step's "
                    "arrays made, a new one in each call: random numbers drawn with numpy's own generators, or values "
                    "computed in Python (after np.asarray or .view(np.ndarray) stripped the tracing), "
                    "would be frozen by a replay, even where two calls happened to make equal values")
        return ""
    if type(x) is not type(y):
        return f"reads the constant {x!r} in one capture and {y!r} in the other"
    try:
        same = x is y or bool(x == y) or (x != x and y != y)
    except (TypeError, ValueError):
        same = False
    return "" if same else f"reads the number {x!r} in one capture and {y!r} in the other"
