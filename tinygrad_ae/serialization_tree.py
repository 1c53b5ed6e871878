"""The structure of what `tg.save` writes, without pickle: a nested object becomes a JSON tree plus a
dict of arrays (the .npz members), and back.

In the tree, None, bools, ints, finite floats and strings are themselves (JSON keeps int, float and
bool apart); everything else is a one-key object:

    {"dict": [[key, node], ...]}   {"odict": [...]}    keys are str or int, in order (JSON's own
    {"list": [node, ...]}          {"tuple": [...]}    objects would turn int keys into strings)
    {"tensor": member, "requires_grad": bool}          {"ndarray": member}   {"scalar": member}
    {"bytes": member}              {"float": "nan" | "inf" | "-inf"}          {"ref": member}

A member is the name of an array: the path of keys joined by "/" ("model/encoder.weight"; a flat state
dict's members are its own keys, so np.load reads them by name). The same Tensor or array reached twice
(tied weights) is stored once and loaded as one object again ("ref").
"""
import collections
import math
import numbers

import numpy as np

from . import factories
from .engine.tensor import Tensor

STRUCTURE = "__tinygrad_ae_structure__"        # the reserved member holding the JSON tree
FORMAT = {"format": "tinygrad_ae.save", "version": 1}
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_WHAT = ("tensors, numpy arrays and scalars, Python numbers, bools, None, strings, bytes, and dicts "
         "(str or int keys), lists and tuples of them")


def _where(path):
    return "the saved object" + "".join(f"[{p!r}]" for p in path)


class _Encoder:
    def __init__(self):
        self.arrays, self.seen = {}, {}

    def member(self, path, array):
        base = "/".join(str(p) for p in path)
        name, k = base, 0
        while not name or "\x00" in name or name == STRUCTURE or name in self.arrays:
            k += 1
            name = f"{base.replace(chr(0), '?')}~{k}"
        if array.dtype.hasobject:
            raise TypeError(f"save: the array at {_where(path)} holds Python objects (dtype object), which only "
                            "pickle could store; convert it to a numeric or string array")
        self.arrays[name] = array
        return name

    def node(self, value, path):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):                      # Python ints (bool handled above)
            return int(value)
        if isinstance(value, float) and not isinstance(value, np.floating):
            return float(value) if math.isfinite(value) else {"float": repr(float(value))}
        if isinstance(value, (Tensor, np.ndarray)):
            if id(value) in self.seen:
                return {"ref": self.seen[id(value)]}
            if isinstance(value, Tensor):
                name = self.member(path, np.asarray(value.data))
                node = {"tensor": name, "requires_grad": bool(value.requires_grad)}
            else:
                name = self.member(path, value)
                node = {"ndarray": name}
            self.seen[id(value)] = name
            return node
        if isinstance(value, np.generic):
            return {"scalar": self.member(path, np.asarray(value))}
        if isinstance(value, bytes):
            return {"bytes": self.member(path, np.frombuffer(value, dtype=np.uint8))}
        if isinstance(value, dict):
            items = []
            for key, item in value.items():
                if isinstance(key, bool) or not isinstance(key, (str, numbers.Integral)):
                    raise TypeError(f"save: dict keys must be str or int, got {type(key).__name__} {key!r:.60} at "
                                    f"{_where(path)}")
                key = key if isinstance(key, str) else int(key)
                items.append([key, self.node(item, path + (key,))])
            return {"odict" if isinstance(value, collections.OrderedDict) else "dict": items}
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            raise TypeError(f"save: the namedtuple {type(value).__name__} at {_where(path)} cannot be saved without "
                            "pickle; save value._asdict() or tuple(value)")
        if isinstance(value, (list, tuple)):
            return {type(value).__name__: [self.node(item, path + (i,)) for i, item in enumerate(value)]}
        hint = (" (a module: save its state_dict(), then load_state_dict(tg.load(path)) into a new one)"
                if hasattr(value, "state_dict") else "")
        raise TypeError(f"save: cannot save the {type(value).__name__} at {_where(path)}{hint}; save holds {_WHAT}, "
                        "never pickled objects")


def encode(obj):
    """(tree, {member: ndarray}) for `obj`; TypeError naming the place of anything it cannot hold."""
    encoder = _Encoder()
    root = encoder.node(obj, ())
    return {**FORMAT, "root": root}, encoder.arrays


def decode(tree, arrays):
    """The object that `encode` turned into (tree, arrays); ValueError if they do not fit together."""
    if not isinstance(tree, dict) or tree.get("format") != FORMAT["format"] or "root" not in tree:
        raise ValueError("its structure member is not one tg.save writes")
    if tree.get("version") != FORMAT["version"]:
        raise ValueError(f"its structure has version {tree.get('version')!r}; this tinygrad_ae reads version "
                         f"{FORMAT['version']} (a newer tinygrad_ae wrote it?)")
    loaded = {}

    def array(name):
        if not isinstance(name, str) or name not in arrays:
            raise ValueError(f"its structure names the array {name!r:.60}, which the file does not hold")
        return arrays[name]

    def node(n):
        if n is None or isinstance(n, (bool, int, float, str)):
            return n
        if not isinstance(n, dict) or not n:
            raise ValueError(f"its structure holds an unknown node {n!r:.60}")
        kind = next(iter(n))
        body = n[kind]
        if kind in ("dict", "odict"):
            out = collections.OrderedDict() if kind == "odict" else {}
            for pair in body:
                if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], (str, int)):
                    raise ValueError(f"its structure holds a malformed dict entry {pair!r:.60}")
                out[pair[0]] = node(pair[1])
            return out
        if kind in ("list", "tuple"):
            items = [node(item) for item in body]
            return items if kind == "list" else tuple(items)
        if kind == "float" and body in _FLOATS:
            return _FLOATS[body]
        if kind == "ref":
            if body not in loaded:
                raise ValueError(f"its structure refers to {body!r:.60} before it is stored")
            return loaded[body]
        if kind == "tensor":
            a = array(body)
            t = factories.from_numpy(a)
            if n.get("requires_grad") and a.dtype.kind == "f":
                t.requires_grad = True
            loaded[body] = t
            return t
        if kind == "ndarray":
            loaded[body] = array(body)
            return loaded[body]
        if kind == "scalar":
            return array(body)[()]
        if kind == "bytes":
            return array(body).tobytes()
        raise ValueError(f"its structure holds an unknown node {n!r:.60}")

    return node(tree["root"])
