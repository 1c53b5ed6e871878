"""Finding the arrays a step reads: from its arguments and the objects its code names (globals,
closure cells, `self` of a bound method), walked through attributes, lists, tuples and dicts. Each
array location is kept with its path from the root object, so a replay can check in a few attribute
lookups that the array is still the one it was captured with."""
import inspect
import types

import numpy as np

from .. import random
from ..engine.tensor import Tensor
from .trace import Traced


def is_array(x):
    return type(x) is Tensor or isinstance(x, np.ndarray)


_SKIP = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, str, bytes, int, float,
         complex, bool, np.generic, np.dtype, np.ufunc)


def discover(fn, args, skip=()):
    """The Tensors reachable from fn and its (non-array) arguments, the array locations among them:
    (owner, key, "attr" | "item", root, path), path being the attribute and item steps from root, and
    the numpy Generators among them: (generator, root, path)."""
    tensors, locations, generators, seen = [], [], [], set()
    stack = [(root, root, ()) for root in reversed(_roots(fn, args))]
    while stack:
        obj, root, path = stack.pop()
        if obj is None or isinstance(obj, _SKIP + skip) or id(obj) in seen or len(path) > 8:
            continue
        seen.add(id(obj))
        if type(obj) is Tensor:
            tensors.append(obj)
            locations += [(obj, key, "attr", root, path + (("attr", key),)) for key in ("data", "grad")
                          if isinstance(getattr(obj, key), np.ndarray)]
        elif isinstance(obj, np.random.Generator):
            generators.append((obj, root, path))
        elif isinstance(obj, tuple):            # (an array inside a tuple is read where used, as a constant)
            stack.extend((v, root, path + (("item", i),)) for i, v in enumerate(obj))
        else:
            for how, key, value in _children(obj):
                if isinstance(value, np.ndarray) and value.dtype.kind in "fciub" and not isinstance(value, Traced):
                    locations.append((obj, key, how, root, path + ((how, key),)))
                else:
                    stack.append((value, root, path + ((how, key),)))
    return tensors, locations, generators


def _roots(fn, args):
    """Where the walk starts: the non-array arguments, a bound method's self, a function's closure
    cells, the globals its code names and its defaults (or a callable object itself); last, the default
    generator, which a draw given no generator uses (F.dropout(x), tg.rand)."""
    roots = [a for a in args if not is_array(a)]
    function = fn
    if inspect.ismethod(function):
        roots.append(function.__self__)
        function = function.__func__
    if isinstance(function, types.FunctionType):
        roots += [cell.cell_contents for cell in function.__closure__ or () if _cell_full(cell)]
        roots += [function.__globals__[n] for n in _names(function.__code__) if n in function.__globals__]
        roots += list(function.__defaults__ or ())
    elif hasattr(function, "__dict__"):
        roots.append(function)
    return roots + [random.default_generator]


def _children(obj):
    """[(how, key, value)]: a list's or dict's items ("item"), the attributes ("attr") of an object with
    state (not a function, not an array), both for a dict that has attributes (an optimizer's
    parameter group keeps its 0-d numbers there); nothing for anything else."""
    if isinstance(obj, np.ndarray):
        return ()
    if isinstance(obj, list):
        return [("item", k, v) for k, v in enumerate(obj)] if len(obj) <= 10_000 else ()
    if isinstance(obj, dict):
        items = [("item", k, v) for k, v in obj.items()] if len(obj) <= 10_000 else []
        return items + [("attr", k, v) for k, v in vars(obj).items()] if hasattr(obj, "__dict__") else items
    if hasattr(obj, "__dict__") and not callable(obj) or _is_module_like(obj):
        return [("attr", k, v) for k, v in vars(obj).items()]
    return ()


def _is_module_like(obj):
    """Objects with a __call__ that hold state (an nn.Module): walked too."""
    return hasattr(obj, "__dict__") and hasattr(obj, "parameters")


def _names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _cell_full(cell):
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def get(owner, key, how):
    return getattr(owner, key) if how == "attr" else owner[key]


def put(owner, key, how, value):
    if how == "attr":
        setattr(owner, key, value)
    else:
        owner[key] = value
