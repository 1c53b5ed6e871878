"""SGD, torch.optim.SGD's rule."""
import numpy as np

from .optimizer import Optimizer, refuse


class SGD(Optimizer):
    """Stochastic gradient descent, torch.optim.SGD's rule (lr γ, momentum μ, dampening τ, weight decay λ):
        g = -g                                           (when maximize)
        g = g + λ p                                      (when λ != 0)
        b = g at the first step, else μ b + (1 - τ) g    (when μ != 0)
        g = g + μ b if nesterov else b
        p = p - γ g
    """

    state_names = ("momentum_buffer",)
    optional_state = ()

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        refuse(self, differentiable=differentiable, fused=fused)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _check(self, hp):
        self._at_least_zero(hp, "lr", "momentum", "weight_decay")
        if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
            raise ValueError("SGD: nesterov=True requires momentum > 0 and dampening = 0")

    def numbers_of(self, lr, momentum, dampening, weight_decay, nesterov, maximize):
        return dict(lr=lr, momentum=momentum, dampening=dampening, one_minus_dampening=1.0 - dampening,
                    nesterov=nesterov, weight_decay=weight_decay, maximize=maximize,
                    adjusted=maximize or weight_decay != 0, plain=not maximize and weight_decay == 0 == momentum)

    def step(self, closure=None):
        """The rule for every parameter with a gradient; plain SGD (no momentum, decay or maximize: a bool,
        so changing it renews the numbers and a captured step captures again) as p -= γ g right here.
        Why not through update(): the tiny autoencoder's step feels a method call per parameter (4.4
        against 3.9 us for its four parameters). Otherwise the base class's loop, line for line."""
        if closure is not None:
            return super().step(closure)
        multiply, subtract = np.multiply, np.subtract
        for group in self._param_groups:
            numbers = group.numbers
            for p, w in group.work:
                g = p._grad
                if g is not None:
                    data = p.data
                    n = numbers.get(data.dtype)
                    if n is None:
                        n = group.numbers_for(data.dtype)
                    if n.plain:
                        s = w["scratch"]
                        multiply(g, n.lr, s)                # p = p - γ g, no temporary
                        subtract(data, s, data)
                    else:
                        self.update(p, g, n, w)
        return None

    def update(self, p, g, n, work):
        s = work["scratch"]
        if n.adjusted:                                      # (one test on the plain path: it is the benchmark's)
            if n.maximize:
                g = self.negated(work, p, g)                # g = -g
            if n.weight_decay:
                g = self.decayed(work, p, g, n.weight_decay)    # g = g + λ p
        if n.momentum:
            state = self.state[p]
            b = state.get("momentum_buffer")
            if b is None:                                   # b = g at the first step (no dampening)
                b = state["momentum_buffer"] = g.copy()
            else:                                           # b = μ b + (1 - τ) g
                b *= n.momentum
                if n.dampening:
                    np.multiply(g, n.one_minus_dampening, s)
                    b += s
                else:
                    b += g
            if n.nesterov:                                  # g = g + μ b
                np.multiply(b, n.momentum, s)
                s += g
                g = s
            else:                                           # g = b
                g = b
        np.multiply(g, n.lr, s)                             # p = p - γ g
        np.subtract(p.data, s, p.data)

