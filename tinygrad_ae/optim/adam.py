"""Adam and AdamW, torch.optim.Adam's and torch.optim.AdamW's rules."""
import numpy as np

from .optimizer import Optimizer, count_dtype, real, refuse


class Adam(Optimizer):
    """Adam, torch.optim.Adam's rule (lr γ, betas β1 β2, eps ε, weight decay λ), per parameter with its
    own step count t:
        g = -g                                           (when maximize)
        g = g + λ p                                      (when λ != 0: L2; decoupled_weight_decay: p = p (1 - γ λ))
        m = β1 m + (1 - β1) g;  v = β2 v + (1 - β2) g²   (m = v = 0 before the first step)
        v_max = max(v_max, v), used for v below          (when amsgrad)
        m̂ = m / (1 - β1^t);     v̂ = v / (1 - β2^t)
        p = p - γ m̂ / (√v̂ + ε)
    The bias corrections are computed from t by numpy calls in float64, as torch computes them in
    Python floats (a captured step counts on)."""

    state_names = ("step", "exp_avg", "exp_avg_sq")
    optional_state = ("max_exp_avg_sq",)
    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=None):
        refuse(self, capturable=capturable, differentiable=differentiable, fused=fused)
        if decoupled_weight_decay is None:
            decoupled_weight_decay = self.decoupled
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, decoupled_weight_decay=decoupled_weight_decay))

    def _convert(self, name, value):
        if name != "betas":
            return super()._convert(name, value)
        owner = type(self).__name__
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {value!r}")
        return (real(owner, "beta1", value[0]), real(owner, "beta2", value[1]))

    def _check(self, hp):
        self._at_least_zero(hp, "lr", "eps", "weight_decay")
        for k, beta in enumerate(hp["betas"]):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{type(self).__name__}: invalid beta{k + 1} {beta} (betas[{k}]); it must be in [0, 1)")

    def numbers_of(self, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay):
        beta1, beta2 = betas
        return dict(lr=lr, beta1=beta1, one_minus_beta1=1.0 - beta1, beta2=beta2, one_minus_beta2=1.0 - beta2,
                    eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                    decoupled=decoupled_weight_decay)

    def update(self, p, g, n, work):
        s, state = work["scratch"], self.state[p]
        if not state:
            state.update(step=np.zeros((), count_dtype(p.dtype)), exp_avg=np.zeros_like(p.data),
                         exp_avg_sq=np.zeros_like(p.data))
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        t += 1
        if n.maximize:
            g = self.negated(work, p, g)                    # g = -g
        f = n.float64                                       # the numbers in float64 (γ, β1, β2, λ)
        if n.weight_decay:
            if n.decoupled:                                 # p = p (1 - γ λ)
                np.multiply(p.data, (1.0 - f.lr * f.weight_decay).astype(p.dtype), p.data)
            else:
                g = self.decayed(work, p, g, n.weight_decay)    # g = g + λ p
        m *= n.beta1                                        # m = β1 m + (1 - β1) g
        np.multiply(g, n.one_minus_beta1, s)
        m += s
        v *= n.beta2                                        # v = β2 v + (1 - β2) g²
        np.multiply(g, g, s)
        s *= n.one_minus_beta2
        v += s
        if n.amsgrad:
            vmax = state.get("max_exp_avg_sq")
            if vmax is None:
                vmax = state["max_exp_avg_sq"] = np.zeros_like(p.data)
            np.maximum(vmax, v, out=vmax)
            v = vmax
        bias_correction1 = 1.0 - np.power(f.beta1, t)
        bias_correction2 = 1.0 - np.power(f.beta2, t)
        np.divide(v, bias_correction2.astype(p.dtype), s)   # v̂
        np.sqrt(s, s)
        s += n.eps                                          # √v̂ + ε
        np.divide(m, s, s)                                  # m / (√v̂ + ε), times γ / (1 - β1^t):
        s *= (f.lr / bias_correction1).astype(p.dtype)      # γ m̂ / (√v̂ + ε)
        np.subtract(p.data, s, p.data)


class AdamW(Adam):
    """AdamW, torch.optim.AdamW's rule: Adam with decoupled weight decay, p = p (1 - γ λ) before the
    moments (default λ = 0.01)."""

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused, decoupled_weight_decay=True)
