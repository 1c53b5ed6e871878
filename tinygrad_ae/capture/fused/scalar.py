"""One element of an op as numba source: numpy's loop dtypes for the operands, and the expression.

Operands arrive as local names (so an operand used twice is read once); the expression computes in the
dtype numpy's loop would (`ufunc.resolve_dtypes`, NEP 50: a Python number takes the array's dtype).
"""
import numpy as np

# ufunc -> source with {0}, {1} for the operands, by the kind of the loop's dtype ("f" float, "i" int,
# "b" bool, "*" any); a name in brackets is a helper of mathf chosen by the float's width.
_TABLE = {
    np.add: {"b": "({0} | {1})", "*": "({0} + {1})"},
    np.subtract: {"*": "({0} - {1})"},
    np.multiply: {"b": "({0} & {1})", "*": "({0} * {1})"},
    np.true_divide: {"f": "({0} / {1})"},
    np.negative: {"f": "(-{0})", "i": "(-{0})"},
    np.positive: {"*": "{0}"},
    np.absolute: {"f": "abs({0})", "i": "abs({0})"},
    np.square: {"f": "({0} * {0})", "i": "({0} * {0})"},
    np.reciprocal: {"f": "({one} / {0})"},
    np.sqrt: {"f": "np.sqrt({0})"},
    np.exp: {"f": "[exp]({0})"},
    np.log: {"f": "[log]({0})"},
    np.log1p: {"f": "[log1p]({0})"},
    np.expm1: {"f": "[expm1]({0})"},
    np.tanh: {"f": "np.tanh({0})"},
    np.sin: {"f": "np.sin({0})"},
    np.cos: {"f": "np.cos({0})"},
    np.logaddexp: {"f": "[logaddexp]({0}, {1})"},
    np.maximum: {"f": "maxnan({0}, {1})", "i": "max({0}, {1})", "b": "({0} | {1})"},
    np.minimum: {"f": "minnan({0}, {1})", "i": "min({0}, {1})", "b": "({0} & {1})"},
    np.fmax: {"f": "np.fmax({0}, {1})"},
    np.fmin: {"f": "np.fmin({0}, {1})"},
    np.sign: {"f": "({one} if {0} > {zero} else (-{one} if {0} < {zero} else {0}))",
              "i": "({one} if {0} > {zero} else (-{one} if {0} < {zero} else {zero}))"},
    np.floor: {"f": "np.floor({0})"},
    np.ceil: {"f": "np.ceil({0})"},
    np.greater: {"*": "({0} > {1})"},
    np.greater_equal: {"*": "({0} >= {1})"},
    np.less: {"*": "({0} < {1})"},
    np.less_equal: {"*": "({0} <= {1})"},
    np.equal: {"*": "({0} == {1})"},
    np.not_equal: {"*": "({0} != {1})"},
    np.logical_and: {"b": "({0} & {1})"},
    np.logical_or: {"b": "({0} | {1})"},
    np.logical_xor: {"b": "({0} ^ {1})"},
    np.logical_not: {"b": "(not {0})"},
    np.isfinite: {"f": "math.isfinite({0})"},
    np.isnan: {"f": "math.isnan({0})"},
    np.isinf: {"f": "math.isinf({0})"},
    np.power: {"f": "({0} ** {1})"},
}
_WIDTH = {"exp": ("exp32", "np.exp"), "log": ("log32", "np.log"), "log1p": ("log1p32", "np.log1p"),
          "expm1": ("expm1_32", "np.expm1"), "logaddexp": ("logaddexp32", "logaddexp64")}
# the identity and the combining source of a reduction, by ufunc
REDUCE = {np.add: ("0", "({0} + {1})"), np.multiply: ("1", "({0} * {1})"),
          np.maximum: ("-inf", "maxnan({0}, {1})"), np.minimum: ("inf", "minnan({0}, {1})"),
          np.logical_and: ("True", "({0} & {1})"), np.logical_or: ("False", "({0} | {1})")}


def elementwise_kind(fn):
    return fn in _TABLE


def _kind(dtype):
    return "b" if dtype.kind == "b" else "f" if dtype.kind == "f" else "i" if dtype.kind in "iu" else None


def loop_dtypes(fn, operands):
    """(input dtypes, output dtype) of the loop numpy runs: operands are Buffers (their dtype) or Python
    numbers (weak, NEP 50)."""
    tags = [b.dtype if hasattr(b, "dtype") and not isinstance(b, (np.generic,)) else
            (np.dtype(type(b)) if isinstance(b, np.generic) else type(b)) for b in operands]
    if fn is np.copyto:
        return [tags[0] if isinstance(tags[0], np.dtype) else None], None
    if fn is np.where:
        out = np.result_type(*[t if isinstance(t, np.dtype) else b for t, b in zip(tags[1:], operands[1:])])
        return [np.dtype(bool), out, out], out
    if fn is np.clip:
        out = np.result_type(*[t if isinstance(t, np.dtype) else b for t, b in zip(tags, operands)])
        return [out, out, out], out
    resolved = fn.resolve_dtypes(tuple(tags) + (None,) * fn.nout)
    return list(resolved[:fn.nin]), resolved[-1]


def source(fn, names, in_dtypes, out_dtype):
    """The expression of one element, or None when there is no loop for this dtype."""
    if fn is np.copyto:
        return names[0]
    if fn is np.where:
        return f"({names[1]} if {names[0]} else {names[2]})"
    if fn is np.clip:
        if out_dtype.kind != "f":
            return f"min(max({names[0]}, {names[1]}), {names[2]})"
        return f"minnan(maxnan({names[0]}, {names[1]}), {names[2]})"
    kind = _kind(in_dtypes[0])
    table = _TABLE[fn]
    template = table.get(kind) or (table.get("*") if kind is not None else None)
    if template is None or (kind == "f" and in_dtypes[0].itemsize not in (4, 8)):
        return None
    if "[" in template:
        name = template[template.index("[") + 1:template.index("]")]
        helper = _WIDTH[name][0 if in_dtypes[0].itemsize == 4 else 1]
        template = template.replace(f"[{name}]", helper)
    t = in_dtypes[0].name
    return template.format(*names, one=f"np.{t}(1)", zero=f"np.{t}(0)")


def cast(name, from_dtype, to_dtype):
    """Source converting a local of from_dtype to to_dtype (numpy's unsafe cast; bool: != 0)."""
    if from_dtype == to_dtype or to_dtype is None:
        return name
    if to_dtype.kind == "b":
        return f"({name} != 0)"
    return f"np.{to_dtype.name}({name})"


def constant(value, dtype):
    """Source for a Python number converted to dtype, as numpy converts it."""
    if dtype.kind == "b":
        return repr(bool(value))
    with np.errstate(all="ignore"):
        converted = dtype.type(value)
    if dtype.kind == "f":
        text = repr(float(converted))
        text = {"inf": "np.inf", "-inf": "-np.inf", "nan": "np.nan"}.get(text, text)
        return f"np.{dtype.name}({text})"
    return f"np.{dtype.name}({int(converted)})"


def identity(fn, dtype):
    value, _ = REDUCE[fn]
    if dtype.kind == "b":
        return value if value in ("True", "False") else repr(value != "0")
    if value in ("inf", "-inf"):
        if dtype.kind != "f":
            info = np.iinfo(dtype)
            return f"np.{dtype.name}({info.max if value == 'inf' else info.min})"
        return f"np.{dtype.name}({'-' if value[0] == '-' else ''}np.inf)"
    return f"np.{dtype.name}({value})"


def combine(fn, dtype, acc, value):
    _, template = REDUCE[fn]
    if dtype.kind != "f" and fn in (np.maximum, np.minimum):
        template = "max({0}, {1})" if fn is np.maximum else "min({0}, {1})"
    return template.format(acc, value)
