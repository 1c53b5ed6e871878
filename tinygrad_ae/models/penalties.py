"""The regularizers an Autoencoder adds to its reconstruction term, as Tensor expressions (autograd
differentiates them; reference.py has their closed forms and hand-derived gradients in plain numpy).

    weight_decay   lam * sum of ||W||^2 over the weight matrices (not the biases; once when tied)
    sparsity       beta * sum_l KL(rho || rho_hat_l), rho_hat_l = the mean of code unit l (Ng's sparse
                   autoencoder; the code is a sigmoid, so rho_hat_l is a probability)
    contractive    lam * (1/m) sum_i ||J_h(x_i)||_F^2, J_h = dh/dx (Rifai et al. 2011), in closed form for one
                   hidden layer: J = diag(g'(a)) W, so ||J||_F^2 = sum_j g'(a_j)^2 sum_i W_ji^2

Each takes the model and reads only its public settings (weight_decay, sparsity, sparsity_weight,
contractive) and layers; which penalties a model has is spec.active_penalties' rule.
"""
import math

from ..engine.tensor import Tensor

# g'(a)^2 written from the activation's output h, for the contractive penalty's closed form
SQUARED_SLOPE = {
    "sigmoid": lambda h: (h * (1 - h)) ** 2,
    "tanh": lambda h: (1 - h * h) ** 2,
    "relu": lambda h: Tensor((h.data > 0).astype(h.dtype)),     # 0 or 1: a constant mask, as relu's own slope
    "linear": None,                                             # 1 everywhere: the penalty is sum W^2
}


def weight_matrices(model):
    """Every weight matrix once: the encoder's layers, and the decoder's unless tied (then they are W^T)."""
    modules = [model.encoder] + ([] if model.tied else [model.decoder])
    return [layer.weight for module in modules for layer in (module if model.deep else [module])]


def weight_decay(model):
    """lam * sum ||W||^2 over weight_matrices(model)."""
    total = None
    for W in weight_matrices(model):
        squares = (W * W).sum()
        total = squares if total is None else total + squares
    return total * model.weight_decay


def sparsity(model, rho_hat):
    """beta * sum_l KL(rho || rho_hat_l); rho_hat: each code unit's mean activation (over a batch, or a whole set)."""
    rho = model.sparsity
    kl = rho * math.log(rho) - rho * rho_hat.log() + (1 - rho) * math.log(1 - rho) - (1 - rho) * (1 - rho_hat).log()
    return kl.sum() * model.sparsity_weight


def contractive(model, h):
    """lam * (1/m) sum_i ||J_h(x_i)||_F^2 for the code h of m rows: sum_j g'(a_j)^2 sum_i W_ji^2, averaged."""
    W = model.encoder.weight
    row_norms = (W * W).sum(axis=1)                          # sum_i W_ji^2, one per hidden unit
    slope = SQUARED_SLOPE[model.encoder_activation]
    if slope is None:                                        # linear: J = W for every x
        return row_norms.sum() * model.contractive
    return (slope(h) * row_norms).sum() * (model.contractive / h.shape[0])
