"""Reverse-mode autodiff on one neuron, by hand and by backward().

    L = (sigmoid(w * x + b) - y)^2        five ops: mul, add, sigmoid, sub, pow

The chain rule, written backwards from L (this is all backward() does, op by op):
    dL/de = 2 e                 e = p - y
    dL/dp = dL/de * 1
    dL/dz = dL/dp * p (1 - p)   p = sigmoid(z), whose derivative reuses its output
    dL/du = dL/dz * 1           z = u + b
    dL/db = dL/dz * 1
    dL/dw = dL/du * x           u = w * x
    dL/dx = dL/du * w

Run:  python examples/autograd_basics.py   (prints the gradients three ways and the tape, draws the graph)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (before numpy: it sets the BLAS thread count)

import numpy as np  # noqa: E402

import tinygrad_ae as tg  # noqa: E402
from tinygrad_ae import Tensor, viz  # noqa: E402
from tinygrad_ae.debug import trace  # noqa: E402


def neuron(w, b, x, y):
    """The five-op expression, each intermediate named so the tape and the picture can say which is which."""
    u = w * x
    u.name = "u"
    z = u + b
    z.name = "z"
    p = z.sigmoid()
    p.name = "p"
    e = p - y
    e.name = "e"
    loss = e ** 2
    loss.name = "L"
    return loss


def by_hand(w, b, x, y):
    """The chain rule above, in plain floats."""
    u = w * x
    z = u + b
    p = 1 / (1 + np.exp(-z))
    e = p - y
    dL_de = 2 * e
    dL_dz = dL_de * p * (1 - p)
    return {"w": dL_dz * x, "b": dL_dz, "x": dL_dz * w}


def main(argv=None):
    args = _common.parse_args("autograd_basics", __doc__.splitlines()[0], argv)
    values = {"w": 0.8, "b": -0.3, "x": 1.5, "y": 1.0}
    print("L = (sigmoid(w * x + b) - y)^2 at " + ", ".join(f"{k} = {v}" for k, v in values.items()))

    # w, b are parameters; x gets requires_grad too so that dL/dx (what a layer below would receive) shows
    w = Tensor(np.array(values["w"]), requires_grad=True, name="w")
    b = Tensor(np.array(values["b"]), requires_grad=True, name="b")
    x = Tensor(np.array(values["x"]), requires_grad=True, name="x")
    y = Tensor(np.array(values["y"]), name="y")
    with trace() as tape:
        loss = neuron(w, b, x, y)
        loss.backward()
    print(f"L = {loss.item():.6f}\n")

    hand = by_hand(**values)
    numeric = tg.numerical_grad(lambda w_, b_, x_: neuron(w_, b_, x_, y), values["w"], values["b"], values["x"])
    print(f"{'':8}{'by hand':>14}{'backward()':>14}{'central diff.':>16}")
    worst = 0.0
    for name, tensor, num in zip("wbx", (w, b, x), numeric):
        auto = tensor.grad.item()
        worst = max(worst, abs(auto - hand[name]))
        print(f"dL/d{name:<4}{hand[name]:>14.8f}{auto:>14.8f}{num.item():>16.8f}")
    print(f"max |by hand - backward()| = {worst:.3g}\n")

    print("The tape (forward in the order the ops ran, backward in the order the topological sort chose):")
    print(tape)
    print()
    written = viz.draw(loss, args.out / "autograd_basics.svg", show_values=True, show_grads=True)
    print(f"graph: {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
