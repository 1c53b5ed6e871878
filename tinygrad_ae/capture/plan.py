"""Plan a captured step's memory and write it out as one flat Python function of numpy calls.

Every "temp" buffer (an array the eager step allocates anew) gets memory once:
  * in place: an elementwise ufunc writes into an input of the same shape, dtype and layout when that
    input is dead afterwards (numpy computes an elementwise ufunc identically in place, so results stay
    bit for bit those of the eager step);
  * shared: buffers whose lifetimes (first write to last read) do not overlap share one block of bytes
    (a smaller one at the start of a larger one, so it keeps numpy's alignment).
Each buffer keeps the strides the eager step's array had, so BLAS sees the same layouts. Buffers on
the same bytes with the same layout are one ndarray object: numpy checks an output for overlap with
its inputs unless it is the very same object, which costs more than the call itself on small arrays.

The replay is generated source: checks that the bound arrays are still the objects captured, then one
line per numpy call with every output passed as out=, and the assignments of .grad that the step made. No array is allocated. What
keeps it cheap, each exact: Python numbers of ufunc calls are 0-d arrays of the result's dtype made
once; 0-d results are numpy scalars in local variables; the error state is set through numpy's
context variable.
"""
import numpy as np

from ..engine.numerics import ErrorState
from .trace import Buffer, CaptureError

MISS = object()             # a replay that cannot run (the state changed, or a guard failed): run eagerly
WRONG_ARGUMENTS = object()  # arguments of other types, shapes or dtypes: another program, if any


def _view(base, offset, shape, strides, dtype):
    """The array at byte `offset` of base's memory with this shape and strides."""
    if base.flags.c_contiguous or base.flags.f_contiguous:
        return np.ndarray(shape, dtype, buffer=base, offset=offset, strides=strides)
    if offset:
        raise CaptureError("a view at an offset into a non-contiguous array is not supported")
    return np.lib.stride_tricks.as_strided(base, shape, strides)


def _is_reduce(fn):
    return getattr(fn, "__name__", None) == "reduce" and isinstance(getattr(fn, "__self__", None), np.ufunc)


_SCALAR_OPERATORS = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/", np.less: "<",
                     np.less_equal: "<=", np.greater: ">", np.greater_equal: ">=", np.equal: "==",
                     np.not_equal: "!="}


def _scalar_call(call):
    """Whether a call makes a 0-d result that a replay can hold as a numpy scalar in a local variable:
    a reduction to one number, a function returning one (vdot), or arithmetic on 0-d operands."""
    if call.how == "set":
        return True
    if _is_reduce(call.fn):
        return set(call.kwargs) <= {"axis", "dtype", "keepdims", "where"} and not call.kwargs.get("keepdims") \
            and call.kwargs.get("where", True) is True
    return (call.how == "ufunc" and call.fn in _SCALAR_OPERATORS and not call.kwargs
            and all(a.shape == () for a in call.reads()))


def _identity(value, version):
    """What makes two operands the same: a buffer and the number of writes into its memory so far, or
    a constant's type and value."""
    if type(value) is Buffer:
        return (id(value), version.get(value.root, 0))
    if type(value) is tuple:
        return tuple(_identity(v, version) for v in value)
    try:
        hash(value)
        return (type(value), value)
    except TypeError:
        return (type(value), id(value))


def _numbers_to_zero_d(call, value):
    """Whether a Python number operand of this ufunc call may be passed as a 0-d array of the result's
    dtype instead: the same loop on the same value (numpy converts a Python number to the array's
    dtype, NEP 50), without converting it again on every call (a quarter of a microsecond each)."""
    if type(value) not in (int, float) or call.out.dtype.kind != "f":
        return False
    if any(b.dtype != call.out.dtype for b in call.reads()) or not call.reads():
        return False
    with np.errstate(all="ignore"):
        converted = call.out.dtype.type(value)
    return bool(np.isfinite(converted)) and (type(value) is float or float(converted) == value)


def _as_zero_d(value, call):
    array = np.array(value, call.out.dtype)
    array.flags.writeable = False
    return array


class Program:
    """A planned step: `run(*arrays)` replays it; `str(program)` lists it."""

    def __init__(self, recorder, outputs, grads, locations, template):
        self.recorder, self.calls = recorder, recorder.calls
        self.outputs, self.grads, self.locations, self.template = outputs, grads, locations, template
        self._common_subexpressions()
        self._liveness()
        self._share_memory()
        self.run = self._generate()
        self._release()

    def _release(self):
        """Drop the arrays of the capture run (the program has its own): a program holds its planned
        memory, not a copy of every array the eager step made."""
        rec = self.recorder
        rec.keep, rec.by_id, rec.roots = [], {}, []
        for b in rec.buffers:
            if b.kind in ("temp", "arg", "view"):
                b.array = None

    # ----- repeated calls, lifetimes, in-place, shared memory ---------------------------------------------
    def _common_subexpressions(self):
        """An elementwise ufunc called again on the same unchanged buffers and constants (a step that
        computes x - W twice) makes the same array: the second call is dropped and its result read
        from the first. Only for results written once and never viewed."""
        writes, viewed = {}, {b.root for b in self.recorder.buffers if b.kind == "view"}
        for call in self.calls:
            if call.how != "guard":
                writes[call.out.root] = writes.get(call.out.root, 0) + 1
        version, seen, same, kept = {}, {}, {}, []
        for call in self.calls:
            call.args = [same.get(a, a) if type(a) is Buffer else a for a in call.args]
            call.kwargs = {k: same.get(v, v) if type(v) is Buffer else v for k, v in call.kwargs.items()}
            out = call.out = same.get(call.out, call.out)
            if call.how == "ufunc" and out.kind == "temp" and writes[out] == 1 and out not in viewed:
                key = (call.fn, tuple(_identity(a, version) for a in call.args),
                       tuple((k, _identity(v, version)) for k, v in call.kwargs.items()))
                if key in seen:
                    same[out] = seen[key]
                    continue
                seen[key] = out
            if call.how != "guard":
                version[out.root] = version.get(out.root, 0) + 1
            kept.append(call)
        self.calls = kept
        self.outputs = [same.get(b, b) for b in self.outputs]
        self.grads = [(t, same.get(b, b)) for t, b in self.grads]
        self.dropped = len(same)

    def _liveness(self):
        end = len(self.calls)
        first, last = {}, {}
        for i, call in enumerate(self.calls):
            for b in call.reads():
                last[b.root] = i
            if call.how != "guard":
                first.setdefault(call.out.root, i)
                last[call.out.root] = i
        for b in list(self.outputs) + [b for _, b in self.grads if b is not None]:
            last[b.root] = end
        self.first, self.last = first, last
        group = {}                              # temp root -> the root whose memory it uses
        for i, call in enumerate(self.calls):
            out = call.out
            if call.how != "ufunc" or out.kind != "temp" or first[out] != i:
                continue
            for a in call.args:
                if (type(a) is Buffer and a.kind == "temp" and last[a] == i and a.shape == out.shape
                        and a.dtype == out.dtype and a.strides == out.strides):
                    owner = group.get(a, a)
                    group[out] = owner
                    call.inplace = True
                    break
        self.group = group

    def _share_memory(self):
        temps = [b for b in self.recorder.buffers if b.kind == "temp" and b in self.first]
        spans = {}                              # owner -> [start, end, nbytes]
        for b in temps:
            owner = self.group.get(b, b)
            span = spans.setdefault(owner, [self.first[b], self.last[b], b.nbytes])
            span[0], span[1] = min(span[0], self.first[b]), max(span[1], self.last[b])
        slots, slot_of = [], {}                 # slots: [nbytes, free after call index, storage]
        for owner, (start, stop, nbytes) in sorted(spans.items(), key=lambda item: item[1][0]):
            free = [slot for slot in slots if slot[0] >= nbytes and slot[1] < start]
            if free:                            # the smallest free block it fits in, from its start
                slot = min(free, key=lambda slot: slot[0])
                slot[1] = stop
            else:
                slot = [nbytes, stop, np.empty(max(nbytes, 1), np.uint8)]
                slots.append(slot)
            slot_of[owner] = slot
        self.arrays, made = {}, {}
        for b in temps:                         # buffers on the same bytes with the same layout share
            storage = slot_of[self.group.get(b, b)][2]      # one array object: numpy checks an output
            key = (id(storage), b.shape, b.dtype, b.strides)  # for overlap with its inputs unless it is
            if key not in made:                             # the same object (0.3 us per call at 16x16)
                made[key] = np.ndarray(b.shape, b.dtype, buffer=storage, strides=b.strides)
            self.arrays[b] = made[key]
        self.planned_bytes = sum(slot[0] for slot in slots)
        self.eager_bytes = sum(b.nbytes for b in self.recorder.buffers if b.kind == "temp")
        self.n_slots = len(slots)

    # ----- the replay function -----------------------------------------------------------------------
    def _generate(self):
        ns = {"MISS": MISS, "_view": _view, "np": np, "ErrorState": ErrorState}
        names = {}

        def constant(value, label=None):
            if label is not None:           # a function: named after itself, so the source reads as numpy
                name = label.replace(".", "_")
                if name in ns and not (ns[name] is value or ns[name] == value):
                    name += f"_{len(ns)}"
            else:
                name = f"c{len(ns)}"
            ns[name] = value
            return name

        def ref(value):
            if type(value) is tuple and any(type(v) is Buffer for v in value):
                return "(" + "".join(ref(v) + ", " for v in value) + ")"
            if type(value) is not Buffer:
                if value is None or type(value) in (bool, int, float, str) or value is Ellipsis:
                    return repr(value)
                return constant(value)
            return names[value]

        # 0-d results written once by a call that returns a number are held as numpy scalars in local
        # variables (t7 = vdot(t6, t6); t8 = 0.0625 * t7): no 0-d array is written and read back
        writes, blocked = {}, {b.root for b in self.recorder.buffers if b.kind == "view"}
        for call in self.calls:
            if call.how != "guard":
                writes.setdefault(call.out, []).append(call)
        blocked |= {b for _, b in self.grads}
        self.scalars = {b for b, made in writes.items() if b.kind == "temp" and b.shape == () and
                        b not in blocked and len(made) == 1 and _scalar_call(made[0])}
        args = sorted((b for b in self.recorder.buffers if b.kind == "arg"), key=lambda b: b.arg)
        lines, body = [], []
        for b in self.recorder.buffers:
            if b.kind == "arg":
                names[b] = b.name
            elif b.kind in ("state", "const"):
                names[b] = b.name
                ns[b.name] = b.array
            elif b.kind == "temp":
                if b in self.scalars:
                    names[b] = b.name
                elif b in self.arrays:
                    names[b] = b.name
                    ns[b.name] = self.arrays[b]
            elif b.kind == "view":
                names[b] = b.name
                root = b.root
                if root.kind == "arg":
                    body.append(f"    {b.name} = _view({root.name}, {b.offset}, {b.shape}, {b.strides}, {constant(b.dtype)})")
                else:
                    base = self.arrays[root] if root.kind == "temp" else root.array
                    ns[b.name] = _view(base, b.offset, b.shape, b.strides, b.dtype)
        checks = []
        for root, path, buf in self.locations:     # the arrays bound are still where the step finds them
            expr = constant(root)
            for how, key in path:
                expr += f".{key}" if how == "attr" else f"[{ref(key)}]"
            checks.append(f"{expr} is not {names[buf] if type(buf) is Buffer else constant(buf)}")  # (or a Generator)
        lines.append(f"def replay({', '.join(b.name for b in args)}):")
        for i in range(0, len(checks), 4):
            lines.append(f"    if {' or '.join(checks[i:i + 4])}:\n        return MISS")
        lines += body
        current = {}
        for call in self.calls:
            if call.errstate != current:
                if current:
                    lines.append("    finally:\n        ErrorState.exit(_token)")
                current = call.errstate
                if current:
                    lines.append(f"    _token = {constant(ErrorState(current))}.enter()\n    try:")
            indent = "        " if current else "    "
            lines.append(indent + self._line(call, ref, constant))
        if current:
            lines.append("    finally:\n        ErrorState.exit(_token)")
        for tensor, b in self.grads:
            lines.append(f"    {constant(tensor)}.grad = {'None' if b is None else names[b]}")
        self._body = lines[1:]                  # the entry point inlines it after its argument checks
        self._output_names = [names[b] for b in self.outputs]
        lines.append(f"    return ({''.join(names[b] + ', ' for b in self.outputs)})")
        self.source = "\n".join(lines)
        exec(compile(self.source, "<tg.compile program>", "exec"), ns)
        self._namespace = ns
        return ns["replay"]

    def entry_point(self, spec, tensor_type, rebuild):
        """call(*args): the replay for positional array arguments, checking each one's type, shape,
        dtype and strides first (WRONG_ARGUMENTS if one differs), returning the step's result. One
        function: the checks, then the replay's lines, then the result built from the outputs."""
        ns = self._namespace
        ns.update(Tensor=tensor_type, WRONG_ARGUMENTS=WRONG_ARGUMENTS, _rebuild=rebuild,
                  _template=self.template)
        names = [f"a{i}" for i in range(len(spec))]
        lines = [f"def call({', '.join(names)}):"]
        for i, (is_tensor, shape, dtype, strides) in enumerate(spec):
            ns[f"dtype{i}"] = dtype
            if is_tensor:
                lines += [f"    if type(a{i}) is not Tensor:\n        return WRONG_ARGUMENTS", f"    x{i} = a{i}.data"]
            else:
                lines += [f"    x{i} = a{i}"]
            lines.append(f"    if type(x{i}) is not np.ndarray or x{i}.shape != {shape} or x{i}.dtype is not dtype{i} "
                         f"or x{i}.strides != {strides}:\n        return WRONG_ARGUMENTS")
        lines += self._body
        outputs = self._output_names
        if self.template[0] is tensor_type:
            b = self.outputs[self.template[1]]
            name = outputs[self.template[1]]
            copy = name if b in self.scalars and b.dtype.kind == "f" else (
                f"np.array({name})" if b in self.scalars else f"{name}.copy()")
            lines.append(f"    return Tensor({copy})")
        else:
            lines.append(f"    return _rebuild(_template, ({''.join(n + ', ' for n in outputs)}))")
        self.entry_source = "\n".join(lines)
        exec(compile(self.entry_source, "<tg.compile entry>", "exec"), ns)
        return ns["call"]

    def _line(self, call, ref, constant):
        args = [ref(a) for a in call.args]
        kwargs = "".join(f", {k}={ref(v)}" for k, v in call.kwargs.items())
        fn = constant(call.fn, call.name if call.how != "copy" else "copyto")
        out = ref(call.out)
        scalars = self.scalars
        if (call.how == "ufunc" and call.fn in _SCALAR_OPERATORS and not call.kwargs and call.out.shape == ()
                and all(a.shape == () for a in call.reads())):
            # on 0-d arrays Python's operators on numpy scalars make the same IEEE operation, 3x cheaper
            a, b = (f"{name}[()]" if type(v) is Buffer and v not in scalars else name
                    for v, name in zip(call.args, args))
            target = out if call.out in scalars else f"{out}[()]"
            return f"{target} = {a} {_SCALAR_OPERATORS[call.fn]} {b}"
        if call.out in scalars and call.how != "guard":
            if call.how == "set":
                return f"{out} = {fn}({', '.join(args)}{kwargs})"
            axis, dtype = (ref(call.kwargs.get(k)) for k in ("axis", "dtype"))
            return f"{out} = {fn}({args[0]}, {axis}, {dtype})"
        if call.how == "ufunc" and call.fn not in (np.maximum, np.minimum):   # those want out= by name
            args = [constant(_as_zero_d(a, call)) if _numbers_to_zero_d(call, a) else name
                    for a, name in zip(call.args, args)]
            return f"{fn}({', '.join(args)}, {out}{kwargs})"
        if call.fn is np.dot and not call.kwargs:           # numpy's positional out: the cheapest call
            return f"{fn}({', '.join(args)}, {out})"
        if _is_reduce(call.fn) and set(call.kwargs) <= {"axis", "dtype", "keepdims", "where"} and \
                call.kwargs.get("where", True) is True:
            axis, dtype = (ref(call.kwargs.get(k)) for k in ("axis", "dtype"))
            keepdims = ", True" if call.kwargs.get("keepdims") else ""
            return f"{fn}({args[0]}, {axis}, {dtype}, {out}{keepdims})"
        if call.how in ("kw", "ufunc"):
            return f"{fn}({', '.join(args)}{kwargs}, out={out})"
        if call.how == "set":
            return f"{out}[...] = {fn}({', '.join(args)}{kwargs})"
        if call.how == "copy":
            return f"{fn}({', '.join(args)}{kwargs})"
        if call.how == "setitem":
            return f"{args[0]}[{args[1]}] = {args[2]}"
        if call.how == "guard":
            return f"if bool({args[0]}) is not {call.kwargs['expected']}:\n            return MISS"
        raise AssertionError(call.how)

    # ----- for people who study it ----------------------------------------------------------------------
    def __str__(self):
        def show(b):
            if type(b) is tuple and any(type(v) is Buffer for v in b):
                return "(" + ", ".join(map(show, b)) + ")"
            if type(b) is not Buffer:
                return repr(b) if not isinstance(b, np.dtype) else f"dtype {b}"
            text = b.describe()
            if b.kind == "view":
                text += f" (view of {b.root.name}{' ' + b.root.label if b.root.label else ''})"
            elif b.kind == "temp" and b in self.group:
                text += f" (in {self.group[b].name}'s memory)"
            return text

        lines = ["# tg.compile program: one line per numpy call; buffers x = arguments, s = state "
                 "(parameters, optimizer buffers), k = constants, t = planned, v = views"]
        for i, call in enumerate(self.calls):
            if call.how == "guard":
                lines.append(f"  {i:4d}  guard bool({show(call.args[0])}) is {call.kwargs['expected']}")
                continue
            reads = [show(a) for a in call.args if not (call.how in ("copy", "setitem") and a is call.out)]
            kwargs = [f"{k}={show(v)}" for k, v in call.kwargs.items() if v is not None]
            note = " in place" if call.inplace else ""
            err = "  [errstate " + ", ".join(f"{k}={v}" for k, v in call.errstate.items()) + "]" if call.errstate else ""
            lines.append(f"  {i:4d}  {call.name}({', '.join(reads + kwargs)}) -> {show(call.out)}{note}{err}")
        for tensor, b in self.grads:
            lines.append(f"  .grad of {tensor.name or 'a tensor'} {tensor.shape} = {b.name if b else None}")
        temps = [b for b in self.arrays]
        lines.append(f"# {len(self.calls)} numpy calls ({self.dropped} repeated calls dropped), "
                     f"{len(self.recorder.buffers)} buffers "
                     f"({len(temps)} planned in {self.n_slots} blocks); planned {self.planned_bytes:,} bytes, "
                     f"an eager step allocates {self.eager_bytes:,} bytes")
        return "\n".join(lines)

    __repr__ = __str__
