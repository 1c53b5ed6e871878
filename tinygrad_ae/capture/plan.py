"""A captured step as a program: what it means (`interpret`), and how its replay is planned.

A program is the list of calls a capture recorded (trace.py), over buffers: the step's array arguments,
the state it reads (parameters, optimizer buffers), constants, and temps (every array the step made).
`interpret(program, *arrays)` says what it means: the calls run one by one on plain arrays, each
buffer its own array. The replay computes the same bits with less work, planned here:
  * repeated calls dropped: an elementwise ufunc called again on unchanged inputs reads the first
    call's result;
  * in place: an elementwise ufunc writes into an input of the same shape, dtype and layout when that
    input is dead afterwards (numpy computes an elementwise ufunc identically in place);
  * shared memory: temps whose lifetimes (first write to last read) do not overlap share one block of
    bytes (a smaller one at the start of a larger one, so it keeps numpy's alignment); numbers and
    arrays of at most 64 bytes keep their own.
Each temp keeps the strides the eager step's array had, so BLAS sees the same layouts. Temps on the
same bytes with the same layout are one ndarray object: numpy checks an output for overlap with its
inputs unless it is the very same object, which costs more than the call itself on small arrays.
emit.py then writes the replay as Python source.
"""
import numpy as np

from . import emit
from .emit import MISS
from .calls import Buffer, strided_view


class Program:
    """A planned step: `run(*arrays)` replays it (`source` is its text); `str(program)` lists it."""

    def __init__(self, recorder, outputs, grads, locations, template):
        self.recorder, self.locations, self.template = recorder, locations, template
        self.recorded = (recorder.calls, outputs, grads)          # what interpret() runs
        self.calls, self.outputs, self.grads, self.dropped = _drop_repeats(recorder.buffers, *self.recorded)
        self.first, self.last = _lifetimes(self.calls, self.outputs, self.grads)
        self.group = _in_place(self.calls, self.first, self.last)
        self._share_memory()
        self.generated = emit.replay(self)
        self.run, self.source, self.scalars = self.generated.function, self.generated.source, self.generated.scalars
        self._release()

    def entry_point(self, spec, tensor_type, rebuild):
        return emit.entry_point(self, spec, tensor_type, rebuild)

    def _share_memory(self):
        """self.arrays: an ndarray for every temp, in as few blocks of bytes as their lifetimes allow."""
        temps = [b for b in self.recorder.buffers if b.kind == "temp" and b in self.first]
        spans = {}                              # owner -> [start, end, nbytes]
        for b in temps:
            owner = self.group.get(b, b)
            span = spans.setdefault(owner, [self.first[b], self.last[b], b.nbytes])
            span[0], span[1] = min(span[0], self.first[b]), max(span[1], self.last[b])
        slots, slot_of = [], {}                 # slots: [nbytes, free after call index, storage]
        for owner, (start, stop, nbytes) in sorted(spans.items(), key=lambda item: item[1][0]):
            # a number or a tiny array keeps its own block: sharing saves nothing worth having, and a
            # shared number's bytes order the fused backend's loops (two sums into one block are two loops)
            free = [slot for slot in slots if slot[0] >= nbytes and slot[1] < start] if nbytes > 64 else []
            if free:                            # the smallest free block it fits in, from its start
                slot = min(free, key=lambda slot: slot[0])
                slot[1] = stop
            else:
                slot = [nbytes, stop, np.empty(max(nbytes, 1), np.uint8)]
                slots.append(slot)
            slot_of[owner] = slot
        self.arrays, made = {}, {}
        for b in temps:                         # temps on the same bytes with the same layout share
            storage = slot_of[self.group.get(b, b)][2]      # one array object
            key = (id(storage), b.shape, b.dtype, b.strides)
            if key not in made:
                made[key] = np.ndarray(b.shape, b.dtype, buffer=storage, strides=b.strides)
            self.arrays[b] = made[key]
        self.planned_bytes = sum(slot[0] for slot in slots)
        self.eager_bytes = sum(b.nbytes for b in self.recorder.buffers if b.kind == "temp")
        self.n_slots = len(slots)

    def _release(self):
        """Drop the arrays of the capture run (the program has its own): a program holds its planned
        memory, not a copy of every array the eager step made."""
        rec = self.recorder
        rec.keep, rec.by_id, rec.roots = [], {}, []
        for b in rec.buffers:
            if b.kind in ("temp", "arg", "view"):
                b.array = None

    # ----- for people who study it ----------------------------------------------------------------------
    def __str__(self):
        lines = ["# tg.compile program: one line per numpy call; buffers x = arguments, s = state "
                 "(parameters, optimizer buffers), k = constants, t = planned, v = views"]
        for i, call in enumerate(self.calls):
            if call.how == "guard":
                lines.append(f"  {i:4d}  guard bool({self._show(call.args[0])}) is {call.kwargs['expected']}")
                continue
            reads = [self._show(a) for a in call.args if not (call.how == "into" and a is call.out)]
            kwargs = [f"{k}={self._show(v)}" for k, v in call.kwargs.items() if v is not None]
            note = " in place" if call.inplace and self._memory_of(call.out) is not None else ""
            err = "  [errstate " + ", ".join(f"{k}={v}" for k, v in call.errstate.items()) + "]" if call.errstate else ""
            lines.append(f"  {i:4d}  {call.name}({', '.join(reads + kwargs)}) -> {self._show(call.out)}{note}{err}")
        for tensor, b in self.grads:
            lines.append(f"  .grad of {tensor.name or 'a tensor'} {tensor.shape} = {b.name if b else None}")
        lines.append(f"# {len(self.calls)} numpy calls ({self.dropped} repeated calls dropped), "
                     f"{len(self.recorder.buffers)} buffers ({len(self.arrays)} planned in {self.n_slots} blocks); "
                     f"planned {self.planned_bytes:,} bytes, an eager step allocates {self.eager_bytes:,} bytes")
        if getattr(self, "fused", None) is not None:        # the fused backend's kernels (capture/fused)
            lines.append(str(self.fused))
        return "\n".join(lines)

    __repr__ = __str__

    def _show(self, b):
        if type(b) is tuple and any(type(v) is Buffer for v in b):
            return "(" + ", ".join(map(self._show, b)) + ")"
        if type(b) is not Buffer:
            return repr(b) if not isinstance(b, np.dtype) else f"dtype {b}"
        text = b.describe()
        if b.kind == "view":
            text += f" (view of {b.root.name}{' ' + b.root.label if b.root.label else ''})"
        elif b in self.scalars:
            text += " (a number)"
        elif self._memory_of(b) is not None:
            text += f" (in {self._memory_of(b).name}'s memory)"
        return text

    def _memory_of(self, b):
        """The temp whose memory b (a temp made in place) is in, if that one is an array, not a number."""
        owner = self.group.get(b)
        return None if owner is None or owner in self.scalars or b in self.scalars else owner


def interpret(program, *arrays):
    """What a program means: with the step's array arguments, check that the arrays it is bound to are
    still where the step finds them, then run the recorded calls one by one on plain arrays, every
    buffer its own memory (nothing dropped, shared or in place), then assign the .grads. Returns the
    outputs as a replay does (program.run(*arrays)), or MISS where a replay would; the replay must give
    the same bits (tests/test_compile.py)."""
    calls, outputs, grads = program.recorded
    for root, path, bound in program.locations:
        found = root
        try:
            for how, key in path:
                found = getattr(found, key) if how == "attr" else found[key]
        except (LookupError, AttributeError):
            return MISS
        if found is not (bound.array if type(bound) is Buffer else bound):
            return MISS
    memory = _memory(program.recorder.buffers, arrays)

    def value(x):
        return memory[x] if type(x) is Buffer else tuple(map(value, x)) if type(x) is tuple else x

    for call in calls:
        args, kwargs = [value(a) for a in call.args], {k: value(v) for k, v in call.kwargs.items()}
        with np.errstate(**call.errstate):
            if call.how == "guard":
                if bool(args[0]) is not kwargs["expected"]:
                    return MISS
            elif call.how == "out":
                call.fn(*args, **kwargs, out=memory[call.out])
            elif call.how == "set":
                memory[call.out][...] = call.fn(*args, **kwargs)
            else:                               # "into": writes into its first argument
                call.fn(*args, **kwargs)
    for tensor, b in grads:
        tensor.grad = None if b is None else memory[b]
    return tuple(memory[b] for b in outputs)


def _memory(buffers, arrays):
    """{buffer: ndarray} for interpret: the arguments, the bound arrays, a new array for every temp
    (with the strides the eager step's had), views of those."""
    memory = {}
    for b in buffers:
        if b.kind == "arg":
            memory[b] = arrays[b.arg]
        elif b.kind in ("state", "const"):
            memory[b] = b.array
        elif b.kind == "temp":
            memory[b] = np.ndarray(b.shape, b.dtype, buffer=np.empty(max(b.nbytes, 1), np.uint8), strides=b.strides)
    for b in buffers:
        if b.kind == "view":
            memory[b] = strided_view(memory[b.root], b.offset, b.shape, b.strides, b.dtype)
    return memory


# ----- the plan, step by step -------------------------------------------------------------------------

def _drop_repeats(buffers, calls, outputs, grads):
    """An elementwise ufunc called again on the same unchanged buffers and constants (a step that
    computes x - W twice) makes the same array: the later call is dropped, its result read from the
    first. Only for results written once and never viewed. Returns the calls kept (new Call objects
    where they read a dropped result), the outputs and gradients renamed, and how many were dropped."""
    writes, viewed = {}, {b.root for b in buffers if b.kind == "view"}
    for call in calls:
        if call.out is not None:
            writes[call.out.root] = writes.get(call.out.root, 0) + 1
    version, seen, same, kept = {}, {}, {}, []
    for call in calls:
        if same and any(b in same for b in call.reads()):
            call = call.renamed(same)
        out = call.out
        if isinstance(call.fn, np.ufunc) and out.kind == "temp" and writes[out] == 1 and out not in viewed:
            key = (call.fn, tuple(_identity(a, version) for a in call.args),
                   tuple((k, _identity(v, version)) for k, v in call.kwargs.items()))
            if key in seen:
                same[out] = seen[key]
                continue
            seen[key] = out
        if out is not None:
            version[out.root] = version.get(out.root, 0) + 1
        kept.append(call)
    return kept, [same.get(b, b) for b in outputs], [(t, same.get(b, b)) for t, b in grads], len(same)


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


def _lifetimes(calls, outputs, grads):
    """first[b], last[b]: the first call writing root buffer b, the last one using it (len(calls) for
    the outputs and gradients: they outlive the program)."""
    first, last = {}, {}
    for i, call in enumerate(calls):
        for b in call.reads():
            last[b.root] = i
        if call.out is not None:
            first.setdefault(call.out.root, i)
            last[call.out.root] = i
    for b in list(outputs) + [b for _, b in grads if b is not None]:
        last[b.root] = len(calls)
    return first, last


def _in_place(calls, first, last):
    """{temp: the temp whose memory it uses}: an elementwise ufunc's new result takes the memory of an
    input temp of the same shape, dtype and strides that this call reads last (the call is marked
    inplace)."""
    group = {}
    for i, call in enumerate(calls):
        out = call.out
        if not isinstance(call.fn, np.ufunc) or out.kind != "temp" or first[out] != i:
            continue
        for a in call.args:
            if (type(a) is Buffer and a.kind == "temp" and last[a] == i and a.shape == out.shape
                    and a.dtype == out.dtype and a.strides == out.strides):
                group[out] = group.get(a, a)
                call.inplace = True
                break
    return group
