"""Which arrays an in-place update changed, and when: so that a backward never reads a changed value.

Every in-place update (inplace.py) takes a number from the engine's sequence counter, the counter that
numbers every node, and records it against the array it writes, by the array's root buffer (so a
change through a view is seen as a change of the array it views). A node made before that number and
saving that array would compute its gradient from the new values: the backward walk asks
`changed_after` and raises torch's error instead. The walk asks only when an update happened after the
oldest node of its graph was made (`latest`), so a program without in-place updates pays one comparison
per backward; `check_unchanged` is that question for one node.
"""
import weakref

import numpy as np


class _Latest:
    number = -1         # the sequence number of the newest in-place update in this process


latest = _Latest()
_changed = {}           # id(root buffer) -> (weak reference to it, number of its newest update)

MODIFIED = ("one of the variables needed for gradient computation has been modified by an inplace operation: "
            "{what} was changed in place after the node {node} saved it. Compute the new value out of place "
            "(x = x + y instead of x += y), or clone() the tensor before changing it")


def root(array):
    """The ndarray that owns the memory `array` looks into (itself, if it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def record(array, number):
    """Note that `array` (and every view of its buffer) is being changed in place by update `number`."""
    buffer = root(array)
    key = id(buffer)

    def forget(reference, key=key):             # the buffer is gone: its id may be reused
        entry = _changed.get(key)
        if entry is not None and entry[0] is reference:
            del _changed[key]
    _changed[key] = (weakref.ref(buffer, forget), number)
    latest.number = number


def changed_after(array, number):
    """Whether `array`'s buffer was changed in place by an update newer than `number`."""
    if not isinstance(array, np.ndarray):
        return False
    buffer = root(array)
    entry = _changed.get(id(buffer))
    return entry is not None and entry[0]() is buffer and entry[1] > number


# The primitives whose backward reads no input value (only shapes and constants), and those that do not
# read their output: a later in-place update of what they do not read changes no gradient, so it is no
# error (as in torch, which checks only what a node saved). Any other node is checked in full.
_READS_NO_INPUTS = frozenset({"add", "sub", "neg", "sum", "reshape", "transpose", "broadcastto", "index", "indexadd", "cat"})
_READS_NO_OUTPUT = frozenset({"neg", "log", "softplus", "relu", "pow", "add", "sub", "mul", "sum", "reshape", "transpose",
                              "broadcastto", "index", "indexadd", "where", "clip", "matmul", "linear", "squarederrorsum",
                              "bcewithlogitssum", "binarycrossentropy", "softmaxcrossentropysum"})


def check_unchanged(tensor, ctx):
    """torch's version check: refuse a node whose input was given a new history, or one of whose saved
    arrays was changed in place, after the node was made (its gradient would be computed from new values)."""
    number = tensor._seq
    for parent in ctx.parents:
        if hasattr(parent, "requires_grad") and getattr(parent, "_seq", -1) > number:   # (a Tensor)
            raise RuntimeError(MODIFIED.format(what=f"its input of shape {parent.shape}", node=ctx.name))
    saved = (() if ctx.name in _READS_NO_INPUTS else tuple(ctx.arrays)) + (() if ctx.name in _READS_NO_OUTPUT else (tensor.data,))
    for array in saved:
        if changed_after(array, number):
            raise RuntimeError(MODIFIED.format(what=f"an array of shape {np.shape(array)}", node=ctx.name))
