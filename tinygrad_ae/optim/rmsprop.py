"""RMSprop and Adagrad, torch.optim.RMSprop's and torch.optim.Adagrad's rules."""
import numpy as np

from .optimizer import Optimizer, count_dtype, refuse


class RMSprop(Optimizer):
    """RMSprop, torch.optim.RMSprop's rule (lr γ, alpha α, eps ε, weight decay λ, momentum μ):
        g = -g                                           (when maximize)
        g = g + λ p                                      (when λ != 0)
        v = α v + (1 - α) g²                             (v = 0 before the first step)
        ṽ = v - ḡ², with ḡ = α ḡ + (1 - α) g             (when centered, else ṽ = v)
        b = μ b + g / (√ṽ + ε);  p = p - γ b             (when μ > 0, b = 0 at first)
        p = p - γ g / (√ṽ + ε)                           (else)
    """

    state_names = ("step", "square_avg")
    optional_state = ("momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        refuse(self, capturable=capturable, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, maximize=maximize))

    def _check(self, hp):
        self._at_least_zero(hp, "lr", "eps", "momentum", "weight_decay", "alpha")

    def numbers_of(self, lr, momentum, alpha, eps, centered, weight_decay, maximize):
        return dict(lr=lr, momentum=momentum, alpha=alpha, one_minus_alpha=1.0 - alpha, eps=eps,
                    centered=centered, weight_decay=weight_decay, maximize=maximize)

    def update(self, p, g, n, work):
        s, state = work["scratch"], self.state[p]
        if not state:
            state.update(step=np.zeros((), count_dtype(p.dtype)), square_avg=np.zeros_like(p.data))
        state["step"] += 1
        if n.maximize:
            g = self.negated(work, p, g)                    # g = -g
        if n.weight_decay:
            g = self.decayed(work, p, g, n.weight_decay)    # g = g + λ p
        v = state["square_avg"]                             # v = α v + (1 - α) g²
        v *= n.alpha
        np.multiply(g, g, s)
        s *= n.one_minus_alpha
        v += s
        if n.centered:                                      # ḡ = α ḡ + (1 - α) g;  s = v - ḡ²
            mean = state.get("grad_avg")
            if mean is None:
                mean = state["grad_avg"] = np.zeros_like(p.data)
            mean *= n.alpha
            np.multiply(g, n.one_minus_alpha, s)
            mean += s
            np.multiply(mean, mean, s)
            np.subtract(v, s, s)
            np.sqrt(s, s)
        else:
            np.sqrt(v, s)
        s += n.eps                                          # √ṽ + ε
        np.divide(g, s, s)                                  # g / (√ṽ + ε)
        if n.momentum:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = np.zeros_like(p.data)
            b *= n.momentum                                 # b = μ b + g / (√ṽ + ε)
            b += s
            np.multiply(b, n.lr, s)
        else:
            s *= n.lr
        np.subtract(p.data, s, p.data)                      # p = p - γ (b or g / (√ṽ + ε))


class Adagrad(Optimizer):
    """Adagrad, torch.optim.Adagrad's rule (lr γ, lr_decay η, weight decay λ, eps ε), per parameter
    with its own step count t:
        g = -g                                           (when maximize)
        g = g + λ p                                      (when λ != 0)
        γ_t = γ / (1 + (t - 1) η)
        S = S + g²                                       (S = initial_accumulator_value at first)
        p = p - γ_t g / (√S + ε)
    """

    state_names = ("step", "sum")
    optional_state = ()

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        refuse(self, differentiable=differentiable, fused=fused)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))
        for group in self.param_groups:     # as torch: the state of the first groups is made now (so it is in
            for p in group["params"]:       # state_dict() before a step), that of groups added later lazily
                self._initial_state(p, self.state[p])

    def _initial_state(self, p, state):
        """As torch: every accumulator starts at the constructor's initial_accumulator_value, whatever a
        group says."""
        state.update(step=np.zeros((), count_dtype(p.dtype)),
                     sum=np.full_like(p.data, self.defaults["initial_accumulator_value"]))

    def _check(self, hp):
        self._at_least_zero(hp, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def numbers_of(self, lr, lr_decay, eps, weight_decay, initial_accumulator_value, maximize):
        return dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay, maximize=maximize)

    def update(self, p, g, n, work):
        s, state = work["scratch"], self.state[p]
        if not state:
            self._initial_state(p, state)
        t = state["step"]
        t += 1
        if n.maximize:
            g = self.negated(work, p, g)                    # g = -g
        if n.weight_decay:
            g = self.decayed(work, p, g, n.weight_decay)    # g = g + λ p
        f = n.float64                                       # γ_t in float64, as torch's Python floats
        clr = f.lr / (1.0 + (t.astype(np.float64) - 1.0) * f.lr_decay)
        total = state["sum"]                                # S = S + g²
        np.multiply(g, g, s)
        total += s
        np.sqrt(total, s)                                   # √S + ε
        s += n.eps
        np.divide(g, s, s)
        s *= clr.astype(p.dtype)                            # γ_t g / (√S + ε)
        np.subtract(p.data, s, p.data)
