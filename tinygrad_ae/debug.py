"""Watching the tape: `trace()` records every op, `detect_anomaly()` stops at the first NaN or inf.

Both are context managers that register themselves with the engine (`tensor.add_observer`) while
they are active; the engine calls `on_forward(ctx, inputs, out)` after every op and
`on_backward(ctx, out, grad, input_grads)` after every node's backward. Outside them the list is
empty and the engine pays one truth test per op.

    with tg.trace() as tr:
        loss = ae.loss(X)
        loss.backward()
    print(tr)              # a table: forward ops in order, then backward in the order the sort chose
    tr.rows                # the same as a list of dicts (e.g. pandas.DataFrame(tr.rows))

    with tg.detect_anomaly():
        loss.backward()    # AnomalyError naming the op and the line of your code that created it
"""
import linecache
import os
import sys
import weakref

import numpy as np

from .engine.tensor import Tensor, add_observer, remove_observer

__all__ = ["trace", "detect_anomaly", "AnomalyError", "summarize"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def summarize(array):
    """A one-line summary of an array's values: the value itself, or mean, std and range."""
    array = np.asarray(array)
    if array.size == 0:
        return "empty"
    if array.size == 1:
        return f"{array.item():.4g}"
    finite = np.isfinite(array)
    bad = ""
    if not finite.all():
        n_nan = int(np.isnan(array).sum())
        n_inf = array.size - n_nan - int(finite.sum())
        bad = f" ({n_nan} nan, {n_inf} inf)"
        array = array[finite]
        if array.size == 0:
            return "all non-finite" + bad
    return (f"mean {array.mean(dtype=np.float64):.4g} std {array.std(dtype=np.float64):.4g} "
            f"[{array.min():.4g}, {array.max():.4g}]{bad}")


class _Observer:
    """Context manager that registers itself with the engine while active."""

    def __enter__(self):
        add_observer(self)
        return self

    def __exit__(self, *exc_info):
        remove_observer(self)
        return False

    def on_forward(self, ctx, inputs, out):
        pass

    def on_backward(self, ctx, out, grad, input_grads):
        pass


# ---------------------------------------------------------------------------------------------
# trace()
# ---------------------------------------------------------------------------------------------

class trace(_Observer):
    """Record every op run inside the context, forward and backward, in order.

    `rows` is a list of dicts with the keys
        phase ("forward" or "backward"), step (1, 2, ... within the phase), op,
        inputs (labels), input_shapes, output (label), output_shape, dtype,
        summary (forward: the output's values; backward: the gradient dL/d(output) arriving),
        input_grads (backward only: a summary of the gradient sent to each input, None if not needed).
    A tensor's label is its name, "number" for a Python number operand, or t1, t2, ... in order of
    first appearance. `table()` (and `print(tr)`) shows the rows as text.
    """

    def __init__(self):
        self.rows = []
        # unnamed tensor -> t1, t2, ..., by identity (a WeakKeyDictionary would compare tensors with ==,
        # which gives a bool tensor); an entry goes when its tensor does
        self._labels = {}
        self._n_labels = 0
        # (row, output) of the last forward op: a name is often given just after the op ran, so it is
        # read at the next event; holding one tensor that long costs little
        self._pending = None
        self._steps = {"forward": 0, "backward": 0}

    def _label(self, t):
        if not isinstance(t, Tensor):
            return "number"
        if t.name:
            return t.name
        entry = self._labels.get(id(t))
        label = entry[1] if entry is not None and entry[0]() is t else None
        if label is None:  # numbered by a counter: the dictionary shrinks as tensors die
            self._n_labels += 1
            label = f"t{self._n_labels}"
            self._labels[id(t)] = (weakref.ref(t, lambda _, key=id(t), labels=self._labels: labels.pop(key, None)), label)
        return label

    def _resolve_pending(self):
        """Give the last forward row its output's name if the user named it after the op ran."""
        if self._pending is not None:
            row, out = self._pending
            if out.name:
                row["output"] = out.name
            self._pending = None

    def _next_step(self, phase):
        self._steps[phase] += 1
        return self._steps[phase]

    def on_forward(self, ctx, inputs, out):
        self._resolve_pending()
        row = {"phase": "forward", "step": self._next_step("forward"), "op": ctx.name,
               "inputs": [self._label(t) for t in inputs],
               "input_shapes": [np.shape(t) for t in inputs],
               "output": self._label(out), "output_shape": out.shape, "dtype": str(out.dtype),
               "summary": summarize(out.data), "input_grads": None}
        self.rows.append(row)
        self._pending = (row, out)

    def on_backward(self, ctx, out, grad, input_grads):
        self._resolve_pending()
        parents = ctx.parents
        self.rows.append({
            "phase": "backward", "step": self._next_step("backward"), "op": ctx.name,
            "inputs": [self._label(t) for t in parents],
            "input_shapes": [np.shape(t) for t in parents],
            "output": self._label(out), "output_shape": out.shape, "dtype": str(out.dtype),
            "summary": summarize(grad),
            "input_grads": [None if g is None else summarize(g) for g in input_grads]})

    def __exit__(self, *exc_info):
        self._resolve_pending()
        return super().__exit__(*exc_info)

    @property
    def forward_rows(self):
        return [row for row in self.rows if row["phase"] == "forward"]

    @property
    def backward_rows(self):
        return [row for row in self.rows if row["phase"] == "backward"]

    def table(self):
        """The recorded ops as a text table: forward first, then backward."""
        parts = []
        forward, backward = self.forward_rows, self.backward_rows
        if forward:
            parts.append(f"forward: {len(forward)} ops, in the order they ran")
            parts.append(_format_table(
                ["step", "op", "inputs", "output", "dtype", "value"],
                [[row["step"], row["op"], _inputs_text(row), _output_text(row), row["dtype"], row["summary"]]
                 for row in forward]))
        if backward:
            parts.append(f"backward: {len(backward)} ops, in the order the topological sort chose "
                         "(grad = dL/d(output) arriving at the op)")
            parts.append(_format_table(
                ["step", "op", "output", "grad", "sends to"],
                [[row["step"], row["op"], _output_text(row), row["summary"], _grads_text(row)]
                 for row in backward]))
        return "\n".join(parts) if parts else "trace: no ops recorded"

    def __str__(self):
        return self.table()

    def __repr__(self):
        return f"<trace: {len(self.forward_rows)} forward ops, {len(self.backward_rows)} backward ops>"


def _shape_text(shape):
    return str(tuple(shape))


def _inputs_text(row):
    return ", ".join(label if label == "number" else f"{label} {_shape_text(shape)}"
                     for label, shape in zip(row["inputs"], row["input_shapes"]))


def _output_text(row):
    return f"{row['output']} {_shape_text(row['output_shape'])}"


def _grads_text(row):
    return "; ".join(f"{label}: {summary}" for label, summary in zip(row["inputs"], row["input_grads"])
                     if summary is not None)


def _format_table(header, rows):
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(cell.rjust(w) if i == 0 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
              .rstrip() for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# detect_anomaly()
# ---------------------------------------------------------------------------------------------

class AnomalyError(FloatingPointError):
    """An op produced NaN or inf inside `detect_anomaly()`."""


def _user_site():
    """(file, line, function) of the innermost caller outside the tinygrad_ae package."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return None
    return frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name


def _site_text(site):
    if site is None:
        return ("at an unknown place (the op was created outside detect_anomaly(), so its line was not "
                "recorded: run the forward pass inside the context too)")
    filename, line, function = site
    text = f"at {filename}:{line} in {function}"
    source = linecache.getline(filename, line).strip()
    return text + (f":\n    {source}" if source else "")


def _what_is_bad(array):
    counts = ((np.isnan(array).sum(), "nan"), (np.isposinf(array).sum(), "+inf"),
              (np.isneginf(array).sum(), "-inf"))
    kinds = [f"{n} {word}" for n, word in counts if n]
    return " and ".join(kinds) + f" among {array.size} value" + ("s" if array.size != 1 else "")


def _finite(array):
    return np.isfinite(np.asarray(array)).all()   # a Tensor too (a gradient under create_graph=True)


class detect_anomaly(_Observer):
    """Raise AnomalyError at the first op whose forward output or backward gradient holds NaN or inf.

    The error names the op and the file and line of your code that created it. Ops created inside
    the context remember that line (one stack walk per op, in this mode only); outside the context
    nothing is checked and nothing is paid. log(0) = -inf counts as an anomaly here.
    """

    def on_forward(self, ctx, inputs, out):
        site = _user_site()
        if not _finite(out.data):
            inputs_text = "; ".join(
                "a number" if not isinstance(t, Tensor)
                else f"input {i} ({t.name or 'unnamed'}, shape {_shape_text(t.shape)}): {summarize(t.data)}"
                for i, t in enumerate(inputs))
            raise AnomalyError(
                f"detect_anomaly: the forward of {ctx.name} produced {_what_is_bad(out.data)} "
                f"(output shape {_shape_text(out.shape)}), {_site_text(site)}\n"
                f"its inputs: {inputs_text}")
        ctx.site = site     # the backward check points at the same line

    def on_backward(self, ctx, out, grad, input_grads):
        site = getattr(ctx, "site", None)
        if not _finite(grad):
            raise AnomalyError(
                f"detect_anomaly: the gradient arriving at {ctx.name} (dL/d{out.name or 'output'}, "
                f"shape {_shape_text(np.shape(grad))}) holds {_what_is_bad(np.asarray(grad))}; it is the seed "
                f"passed to backward() or a sum of finite gradients that overflowed. The op was created "
                f"{_site_text(site)}")
        for i, g in enumerate(input_grads):
            if g is not None and not _finite(g):
                parent = ctx.parents[i]
                raise AnomalyError(
                    f"detect_anomaly: the backward of {ctx.name} produced {_what_is_bad(np.asarray(g))} in the "
                    f"gradient for its input {i} ({parent.name or 'unnamed'}, shape {_shape_text(parent.shape)}) "
                    f"from a finite incoming gradient. The op was created {_site_text(site)}")
