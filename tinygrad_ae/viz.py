"""Pictures of the graph: `to_dot` writes Graphviz DOT text, `draw` renders it with Graphviz's `dot`.

    print(tg.viz.to_dot(loss))               # DOT text: tensors as boxes, ops as ellipses
    tg.viz.draw(loss, "graph.svg")           # .svg/.png/.pdf via `dot`; without it, graph.dot + how to render

Each tensor is a box labelled with its name (if it has one), shape and dtype; parameters (leaves
that require grad) are blue, inputs (leaves without grad) grey, intermediates white, and the
output green. Each op is a yellow ellipse; edges follow the data: input -> op -> output. A Python
number used as an operand (as in 1 - x) is drawn as a small "number" label at that op.

`python -m tinygrad_ae graph` (or `python -m tinygrad_ae.viz`) draws the lecture autoencoder's
graph for one small batch.
"""
import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from .engine.tensor import Tensor
from .debug import summarize
from .fileio import atomic_write

__all__ = ["to_dot", "draw", "main"]

FORMATS = (".svg", ".png", ".pdf")
_STYLE = {
    "parameter": 'shape=box, style="filled,bold", fillcolor="#cfe2ff"',
    "input": 'shape=box, style=filled, fillcolor="#e9ecef"',
    "intermediate": 'shape=box, style=rounded',
    "output": 'shape=box, style="rounded,filled,bold", fillcolor="#d1e7dd"',
    "op": 'shape=ellipse, style=filled, fillcolor="#fff3cd", fontsize=11',
    "number": 'shape=plaintext, fontsize=10, fontcolor="#6c757d"',
}


def _roots(tensor):
    roots = [tensor] if isinstance(tensor, Tensor) else list(tensor)
    if not roots or not all(isinstance(t, Tensor) for t in roots):
        raise TypeError(f"to_dot: expected a Tensor or a list of Tensors, got {type(tensor).__name__}")
    return roots


def _parents(t):
    """The inputs of the op that made t (none for a leaf)."""
    return iter(t.grad_fn.parents if t.grad_fn is not None else ())


def _data_flow_order(roots):
    """Every tensor that leads to the roots, inputs before the tensors made from them (iterative)."""
    order, visited = [], set()
    for root in roots:
        if id(root) in visited:
            continue
        visited.add(id(root))
        stack = [(root, _parents(root))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                if id(parent) not in visited and isinstance(parent, Tensor):
                    visited.add(id(parent))
                    stack.append((parent, _parents(parent)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _kind(t, roots):
    if any(t is r for r in roots):
        return "output"
    if t.grad_fn is not None:
        return "intermediate"
    return "parameter" if t.requires_grad else "input"


def _tensor_label(t, kind, show_values, show_grads):
    title = t.name or ""
    if kind in ("parameter", "input"):
        title = f"{title} ({kind})" if title else kind
    lines = [title] if title else []
    lines.append(f"{tuple(t.shape)} {t.dtype}")
    if show_values:
        lines.append(summarize(t.data))
    if show_grads and t.grad is not None:
        lines.append(f"grad norm {np.linalg.norm(np.ravel(t.grad)):.4g}")
    return "\n".join(lines)


def to_dot(tensor, show_values=False, show_grads=False):
    """Graphviz DOT text of the graph that produced `tensor` (or a list of tensors).

    show_values adds a summary of each tensor's values; show_grads adds the norm of each .grad
    (after backward() only leaves keep a .grad, so that is where it appears). The engine records
    an op only when one of its inputs requires grad, so a result computed from inputs alone (or
    under no_grad()) is drawn as an input.
    """
    roots = _roots(tensor)
    order = _data_flow_order(roots)
    ids = {id(t): f"t{i}" for i, t in enumerate(order)}
    lines = ["digraph tinygrad_ae {",
             '  graph [rankdir=TB, fontname="Helvetica"];',
             '  node [fontname="Helvetica"];',
             '  edge [arrowsize=0.7, fontsize=9];']
    n_numbers = 0
    for i, t in enumerate(order):
        kind = _kind(t, roots)
        label = _tensor_label(t, kind, show_values, show_grads)
        lines.append(f"  {ids[id(t)]} [label={_quote(label)}, {_STYLE[kind]}];")
        ctx = t.grad_fn
        if ctx is None:
            continue
        op = f"op{i}"
        lines.append(f"  {op} [label={_quote(ctx.name)}, {_STYLE['op']}];")
        parents = ctx.parents
        several = len(parents) > 1
        for position, parent in enumerate(parents):
            # label operand positions where there are several: a - b is not b - a
            edge_label = f" [label={position}]" if several else ""
            if not isinstance(parent, Tensor):  # its value is not recorded in the graph, only its place
                n_numbers += 1
                lines.append(f"  n{n_numbers} [label=\"number\", {_STYLE['number']}];")
                lines.append(f"  n{n_numbers} -> {op}{edge_label};")
            else:
                lines.append(f"  {ids[id(parent)]} -> {op}{edge_label};")
        lines.append(f"  {op} -> {ids[id(t)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(tensor, path, show_values=False, show_grads=False):
    """Draw the graph of `tensor` into `path` (.svg, .png or .pdf; .dot writes the DOT text).

    Rendering needs Graphviz's `dot` program. Without it the DOT text is written beside `path`
    (same name, .dot suffix) and a message says how to render it. Returns the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS + (".dot",):
        raise ValueError(f"draw: cannot tell the picture format from {str(path)!r}; end the file name with "
                         f"one of {', '.join(FORMATS + ('.dot',))}")
    text = to_dot(tensor, show_values, show_grads)
    path.parent.mkdir(parents=True, exist_ok=True)
    dot = shutil.which("dot")
    if suffix == ".dot" or dot is None:
        dot_path = path.with_suffix(".dot")
        atomic_write(dot_path, text.encode())
        if suffix != ".dot":
            print(f"Graphviz's `dot` program was not found, so the graph was written as DOT text to {dot_path}.\n"
                  f"To render it, install Graphviz (Debian/Ubuntu: apt-get install graphviz) and run:\n"
                  f"    dot -T{suffix[1:]} {dot_path} -o {path}")
        return dot_path
    result = subprocess.run([dot, f"-T{suffix[1:]}"], input=text.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"draw: Graphviz's dot failed (exit code {result.returncode}): "
                           f"{result.stderr.decode(errors='replace').strip()}")
    atomic_write(path, result.stdout)
    return path


# ---------------------------------------------------------------------------------------------
# python -m tinygrad_ae graph
# ---------------------------------------------------------------------------------------------

def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m tinygrad_ae graph",
        description="Draw the computation graph of the lecture autoencoder's loss on one small batch "
                    "of the embedded digits, after one backward pass.")
    parser.add_argument("--out", default="runs/graph/autoencoder.svg",
                        help="picture to write: .svg, .png, .pdf or .dot (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=4, help="examples in the batch (default: %(default)s)")
    parser.add_argument("--hidden", type=int, default=16, help="hidden units k (default: %(default)s)")
    parser.add_argument("--decoder", choices=("sigmoid", "linear"), default="sigmoid",
                        help="sigmoid: binary inputs and cross-entropy; linear: real inputs and squared "
                             "error (default: %(default)s)")
    parser.add_argument("--tied", action="store_true", help="tie the decoder weight to the encoder's: W* = W^T")
    parser.add_argument("--values", action="store_true", help="show a summary of each tensor's values")
    parser.add_argument("--grads", action="store_true", help="show each parameter's gradient norm")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for the weights and the batch (default: %(default)s)")
    return parser


def lecture_graph(batch=4, hidden=16, decoder="sigmoid", tied=False, seed=0):
    """(loss L, reconstruction x_hat) of the lecture autoencoder on `batch` digits, after backward().

    With the logistic decoder the inputs are binarized and the loss is the cross-entropy, which the
    library computes from the logits a2 (so x_hat = sigmoid(a2) is a side branch of the picture)."""
    from . import data
    from . import functional as F
    from .models.autoencoder import Autoencoder
    from .engine.tensor import Tensor

    X, _ = data.load_digits()
    rng = np.random.default_rng(seed)
    X = X[rng.choice(len(X), size=batch, replace=False)]
    if decoder == "sigmoid":
        X = (X > 0.5).astype(X.dtype)
    ae = Autoencoder(X.shape[1], hidden, encoder="sigmoid", decoder=decoder, tied=tied, seed=seed)
    x = Tensor(X, name="x")
    if decoder == "linear":
        loss = ae.loss(x)               # x_hat = a2 here: the linear decoder is the identity on a2
        x_hat = None
    else:
        # ae.loss(x), spelled out so that x_hat hangs off the same a2 as the loss
        a2 = ae.decode_logits(ae.encode(x))
        x_hat = a2.sigmoid()
        x_hat.name = "x_hat"
        loss = F.binary_cross_entropy_with_logits(a2, x, reduction="batchmean")
        loss.name = "L"
    loss.backward()
    return loss, x_hat


def main(argv=None):
    """Entry point of `python -m tinygrad_ae graph`; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.batch < 1 or args.hidden < 1:
        parser.error("--batch and --hidden must be positive integers")
    loss, x_hat = lecture_graph(args.batch, args.hidden, args.decoder, args.tied, args.seed)
    roots = [loss] if x_hat is None else [loss, x_hat]
    written = draw(roots, args.out, show_values=args.values, show_grads=args.grads)
    print(f"wrote {written} (loss L = {loss.item():.4f} on a batch of {args.batch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
