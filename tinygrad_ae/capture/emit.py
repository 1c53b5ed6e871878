"""Write a planned program as Python source: `replay(program)`, one flat function of numpy calls, and
`entry_point(...)`, the same lines behind checks of a call's arguments.

The replay checks that the arrays it is bound to are still where the step finds them and that every
guard holds (else it returns MISS and the step runs eagerly), then makes one line per numpy call with
every output passed in, then the .grad assignments the step made. It allocates no array. What keeps it
cheap, each the same numpy loop on the same values as the call recorded (plan.interpret is the
reference, and a test holds the replay to it bit for bit):
  * a ufunc gets its output as its last positional argument, which numpy parses fastest;
  * a Python number in a ufunc call is a 0-d array of the result's dtype, made once: numpy converts the
    number to that dtype anyway (NEP 50), a quarter of a microsecond on every call;
  * a 0-d result that only 0-d arithmetic reads is a numpy scalar in a local variable, and that
    arithmetic is Python's operators on numpy scalars (the same IEEE operation, 3x cheaper); one that a
    call on arrays reads stays a 0-d array, the cheaper operand there;
  * the error state is set through numpy's context variable (engine.numerics.ErrorState).
"""
import math

import numpy as np

from ..engine.numerics import ErrorState
from ..engine.tensor import Tensor, wrap
from .calls import Buffer, strided_view

MISS = object()             # a replay that cannot run (the state changed, or a guard failed): run eagerly
WRONG_ARGUMENTS = object()  # arguments of other types, shapes or dtypes: another program, if any

_OPERATORS = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/", np.less: "<",
              np.less_equal: "<=", np.greater: ">", np.greater_equal: ">=", np.equal: "==", np.not_equal: "!="}


class Generated:
    """The replay of one program: its function, source and namespace, the lines after its def line (the
    entry point reuses them), the names of its outputs, and the 0-d temps it holds as numpy scalars."""

    def __init__(self, program):
        self.namespace = {"MISS": MISS, "np": np, "ErrorState": ErrorState, "_view": strided_view}
        self.names = {}
        self.scalars = _scalars(program)

    def constant(self, value, label=None):
        """A name for value in the namespace: a function is named after itself (the source reads as numpy)."""
        ns = self.namespace
        if label is not None:
            name = label.replace(".", "_")
            if name in ns and not (ns[name] is value or ns[name] == value):
                name += f"_{len(ns)}"
        else:
            name = f"c{len(ns)}"
        ns[name] = value
        return name

    def ref(self, value):
        """Source for an operand: a buffer's name, a literal, or a constant's name."""
        if type(value) is tuple and any(type(v) is Buffer for v in value):
            return "(" + "".join(self.ref(v) + ", " for v in value) + ")"
        if type(value) is Buffer:
            return self.names[value]
        if value is None or type(value) in (bool, int, str) or value is Ellipsis or (
                type(value) is float and math.isfinite(value)):
            return repr(value)
        return self.constant(value)              # (inf and nan have no literal: repr gives a bare name)

    def number(self, value):
        """Source for a 0-d operand of arithmetic: a numpy scalar (a local, or read out of a 0-d array)."""
        name = self.ref(value)
        return f"{name}[()]" if type(value) is Buffer and value not in self.scalars else name


def replay(program):
    """Generate, compile and return the replay of a planned program (a Generated)."""
    gen = Generated(program)
    args = sorted((b for b in program.recorder.buffers if b.kind == "arg"), key=lambda b: b.arg)
    views = _bind_buffers(program, gen)
    lines = [f"def replay({', '.join(b.name for b in args)}):"]
    lines += _location_checks(program, gen) + views + _call_lines(program, gen)
    lines += grad_lines(program, gen)
    gen.body = lines[1:]
    gen.outputs = [gen.names[b] for b in program.outputs]
    lines.append(f"    return ({''.join(name + ', ' for name in gen.outputs)})")
    gen.source = "\n".join(lines)
    exec(compile(gen.source, "<tg.compile program>", "exec"), gen.namespace)
    gen.function = gen.namespace["replay"]
    return gen


def grad_lines(program, gen):
    """The .grad assignments the step made. A planned gradient has a fixed shape and floating dtype, so
    where the tensor's data still has that shape the setter's checks are proven and the array is
    stored directly (the setter costs a third of a microsecond); otherwise the setter runs and says
    what is wrong."""
    lines = []
    for tensor, b in program.grads:
        name = gen.constant(tensor)
        if b is None:
            lines.append(f"    {name}.grad = None")
        elif type(tensor).grad is Tensor.grad and b.dtype.kind == "f":
            lines += [f"    if {name}.data.shape == {b.shape!r}:", f"        {name}._grad = {gen.names[b]}",
                      "    else:", f"        {name}.grad = {gen.names[b]}"]
        else:
            lines.append(f"    {name}.grad = {gen.names[b]}")
    return lines


def _scalars(program):
    """The 0-d temps held as numpy scalars: written once, by a call that makes a number (a reduction to
    one number, a function returning one, arithmetic on 0-d operands), never viewed, never a .grad,
    and read by no ufunc on arrays."""
    writes = {}
    for call in program.calls:
        if call.out is not None:
            writes.setdefault(call.out, []).append(call)
    blocked = {b.root for b in program.recorder.buffers if b.kind == "view"} | {b for _, b in program.grads}
    for call in program.calls:
        if isinstance(call.fn, np.ufunc) and not _arithmetic(call):
            blocked.update(call.reads())
    return {b for b, made in writes.items() if b.kind == "temp" and b.shape == () and b not in blocked
            and len(made) == 1 and _makes_a_number(made[0])}


def _makes_a_number(call):
    if call.how == "set" or _arithmetic(call):
        return True
    return _plain_reduce(call) and not call.kwargs.get("keepdims")


def _arithmetic(call):
    """A ufunc with an operator (+, *, <...) on 0-d operands: Python's operator on numpy scalars."""
    return (isinstance(call.fn, np.ufunc) and call.fn in _OPERATORS and not call.kwargs
            and call.out.shape == () and all(a.shape == () for a in call.reads()))


def _plain_reduce(call):
    """ufunc.reduce with no arguments but axis, dtype, keepdims: positional arguments suffice."""
    fn = call.fn
    return (getattr(fn, "__name__", None) == "reduce" and isinstance(getattr(fn, "__self__", None), np.ufunc)
            and set(call.kwargs) <= {"axis", "dtype", "keepdims", "where"} and call.kwargs.get("where", True) is True)


def _bind_buffers(program, gen):
    """Name every buffer; bound arrays, planned arrays and views of them go into the namespace. Returns
    the lines making the views of arguments (new arrays every call)."""
    lines = []
    for b in program.recorder.buffers:
        gen.names[b] = b.name
        if b.kind in ("state", "const"):
            gen.namespace[b.name] = b.array
        elif b.kind == "temp" and b in program.arrays and b not in gen.scalars:
            gen.namespace[b.name] = program.arrays[b]
        elif b.kind == "view" and b.root.kind == "arg":
            lines.append(f"    {b.name} = _view({b.root.name}, {b.offset}, {b.shape}, {b.strides}, "
                         f"{gen.constant(b.dtype)})")
        elif b.kind == "view":
            base = program.arrays[b.root] if b.root.kind == "temp" else b.root.array
            gen.namespace[b.name] = strided_view(base, b.offset, b.shape, b.strides, b.dtype)
    return lines


def _location_checks(program, gen):
    """`if <root>.<path> is not <array> or ...: return MISS`, four tests to a line, inside a try that
    makes a lookup that fails a MISS too. A path prefix that several tests share (the model, an
    optimizer's group) is looked up once, into a local: a third of the checks' cost at the digits size."""
    roots, paths = {}, []
    for root, path, bound in program.locations:     # (a Generator is bound where the step draws from it)
        if id(root) not in roots:
            roots[id(root)] = gen.constant(root)
        steps = []
        for how, key in path:
            if how != "attr":
                steps.append(f"[{gen.ref(key)}]")
            else:       # (nn.Sequential's children are attributes named "0", "1"...)
                steps.append(f".{key}" if key.isidentifier() else ("getattr", repr(key)))
        paths.append(([roots[id(root)]] + steps, gen.names[bound] if type(bound) is Buffer else gen.constant(bound)))
    shared = {}
    for parts, _ in paths:
        for n in range(2, len(parts)):
            shared[tuple(parts[:n])] = shared.get(tuple(parts[:n]), 0) + 1
    lines, local, tests = [], {}, []
    for parts, bound in paths:
        n = max((n for n in range(2, len(parts)) if shared[tuple(parts[:n])] > 1), default=1)
        prefix = tuple(parts[:n])
        if n > 1 and prefix not in local:
            local[prefix] = f"_at{len(local)}"
            lines.append(f"        {local[prefix]} = {_join(prefix)}")
        head = local.get(prefix, parts[0])
        tests.append(f"{_join((head,) + tuple(parts[n:]))} is not {bound}")
    checks = [f"        if {' or '.join(tests[i:i + 4])}:\n            return MISS" for i in range(0, len(tests), 4)]
    # a path that no longer leads anywhere (an optimizer's group removed, its numbers renewed) is a miss too
    return ["    try:"] + lines + checks + ["    except (LookupError, AttributeError):\n        return MISS"] if checks else []


def _join(parts):
    expr = parts[0]
    for step in parts[1:]:
        expr = f"getattr({expr}, {step[1]})" if type(step) is tuple else expr + step
    return expr


def _call_lines(program, gen):
    """One line per call, runs of calls under the same error state inside one enter/exit."""
    lines, current = [], {}
    for call in program.calls:
        if call.errstate != current:
            if current:
                lines.append("    finally:\n        ErrorState.exit(_token)")
            current = call.errstate
            if current:
                lines.append(f"    _token = {gen.constant(ErrorState(current))}.enter()\n    try:")
        indent = "        " if current else "    "
        lines += [indent + line for line in call_source(call, gen).split("\n")]
    if current:
        lines.append("    finally:\n        ErrorState.exit(_token)")
    return lines


def call_source(call, gen):
    """The source of one call (a guard is two lines)."""
    args = [gen.ref(a) for a in call.args]
    kwargs = "".join(f", {k}={gen.ref(v)}" for k, v in call.kwargs.items())
    if call.how == "guard":
        return f"if bool({args[0]}) is not {call.kwargs['expected']}:\n    return MISS"
    if call.how == "into":
        return _into_source(call, args, kwargs, gen)
    out = gen.ref(call.out)
    if _arithmetic(call):
        a, b = (gen.number(v) for v in call.args)
        return f"{out if call.out in gen.scalars else out + '[()]'} = {a} {_OPERATORS[call.fn]} {b}"
    fn = gen.constant(call.fn, call.name)
    if _plain_reduce(call):
        axis, dtype = (gen.ref(call.kwargs.get(k)) for k in ("axis", "dtype"))
        if call.out in gen.scalars:
            return f"{out} = {fn}({args[0]}, {axis}, {dtype})"
        return f"{fn}({args[0]}, {axis}, {dtype}, {out}{', True' if call.kwargs.get('keepdims') else ''})"
    if call.how == "set":
        return f"{out} = {fn}({', '.join(args)}{kwargs})" if call.out in gen.scalars else \
            f"{out}[...] = {fn}({', '.join(args)}{kwargs})"
    if isinstance(call.fn, np.ufunc) and call.fn not in (np.maximum, np.minimum):   # those want out= by name
        args = [name if (zero := _zero_d(a, call)) is None else gen.constant(zero) for a, name in zip(call.args, args)]
        return f"{fn}({', '.join(args)}, {out}{kwargs})"
    if call.fn is np.dot and not call.kwargs:           # numpy's positional out: the cheapest call
        return f"{fn}({', '.join(args)}, {out})"
    return f"{fn}({', '.join(args)}{kwargs}, out={out})"


def _into_source(call, args, kwargs, gen):
    """A call writing into its first argument: np.copyto, ufunc.at, a[key] = value. A 0-d float copied
    into a 0-d float array (astype of a number) is an item assignment: the same rounding, 10x cheaper."""
    if call.fn is np.copyto:
        src = call.args[1]
        if call.out.shape == () and call.out.dtype.kind == "f" and type(src) is Buffer and src.shape == () \
                and src.dtype.kind == "f":
            return f"{args[0]}[()] = {args[1]}"
        return f"{gen.constant(np.copyto, 'copyto')}({', '.join(args)}{kwargs})"
    if call.name == "setitem":
        return f"{args[0]}[{args[1]}] = {args[2]}"
    return f"{gen.constant(call.fn, call.name)}({', '.join(args)}{kwargs})"


def _zero_d(value, call):
    """A Python number operand of a ufunc call as a read-only 0-d array of the result's dtype, when numpy
    would convert it to exactly that (a float result, every array operand of that dtype, the number
    finite and, for an int, exact in it); else None."""
    if type(value) not in (int, float) or call.out.dtype.kind != "f":
        return None
    reads = call.reads()
    if not reads or any(b.dtype != call.out.dtype for b in reads):
        return None
    with np.errstate(all="ignore"):
        converted = call.out.dtype.type(value)
    if not (np.isfinite(converted) and (type(value) is float or float(converted) == value)):
        return None
    array = np.array(value, call.out.dtype)
    array.flags.writeable = False
    return array


def entry_point(program, spec, tensor_type, rebuild):
    """call(*args): the replay for positional array arguments, checking each one's type, shape, dtype and
    strides first (WRONG_ARGUMENTS if one differs), returning the step's result. One function: the
    checks, then the replay's lines, then the result built from the outputs."""
    gen = program.generated
    ns = gen.namespace
    ns.update(Tensor=tensor_type, _wrap=wrap, WRONG_ARGUMENTS=WRONG_ARGUMENTS, _rebuild=rebuild, _template=program.template)
    lines = [f"def call({', '.join(f'a{i}' for i in range(len(spec)))}):"]
    for i, (is_tensor, shape, dtype, strides) in enumerate(spec):
        ns[f"dtype{i}"] = dtype
        if is_tensor:
            lines += [f"    if type(a{i}) is not Tensor:\n        return WRONG_ARGUMENTS", f"    x{i} = a{i}.data"]
        else:
            lines += [f"    x{i} = a{i}"]
        lines.append(f"    if type(x{i}) is not np.ndarray or x{i}.shape != {shape} or x{i}.dtype is not dtype{i} "
                     f"or x{i}.strides != {strides}:\n        return WRONG_ARGUMENTS")
    lines += gen.body
    kind, index = program.template
    if kind is tensor_type:
        b, name = program.outputs[index], gen.outputs[index]
        copy = name if b in gen.scalars and b.dtype.kind == "f" else (
            f"np.array({name})" if b in gen.scalars else f"{name}.copy()")
        # a floating array is what Tensor() keeps as it is: wrap() skips its checks (half a microsecond)
        maker = "_wrap" if tensor_type is Tensor and b.dtype.kind == "f" and b.dtype != np.longdouble else "Tensor"
        lines.append(f"    return {maker}({copy})")
    else:
        lines.append(f"    return _rebuild(_template, ({''.join(n + ', ' for n in gen.outputs)}))")
    program.entry_source = "\n".join(lines)
    exec(compile(program.entry_source, "<tg.compile entry>", "exec"), ns)
    return ns["call"]
