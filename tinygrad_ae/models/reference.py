"""The lecture's autoencoder in closed form: plain numpy, no framework.

Notation of the slides ("Introduction to Autoencoders"). Each row of X is one of the m examples x_i:

    a1    = X W^T + b       W (k, n), b (k,)     encoder pre-activation
    h     = g(a1)           g in ENCODERS
    a2    = h W*^T + c      W* (n, k), c (n,)    with tied weights W* = W^T
    x_hat = f(a2)           f in DECODERS

    squared error:  L =  (1/m) sum_i sum_j (x_hat_ij - x_ij)^2
    cross-entropy:  L = -(1/m) sum_i sum_j (x_ij log x_hat_ij + (1 - x_ij) log(1 - x_hat_ij))

`gradients` is the slides' chain rule written out by hand; the tests hold the framework's autograd
to it and the benchmarks race against it. The penalties of the regularized autoencoders (weight decay,
sparsity, contractive) have their closed forms and gradients here too (`regularized_gradients` adds up
the first two). `pca_bound` is the Eckart-Young bound: no rank-k affine reconstruction (so no autoencoder
with k hidden units and a linear decoder) has a lower squared error; `pca_error` is PCA judged on other rows.
"""
import numpy as np

from .spec import DECODERS, ENCODERS, check, pair


def sigmoid(a):
    """1 / (1 + exp(-a)), computed so that exp only ever sees -|a| (no overflow at a = -1000)."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def softplus(a):
    """log(1 + exp(a)) = max(a, 0) + log1p(exp(-|a|)), finite for every finite a."""
    return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))


# name -> (activation, its derivative written from the activation's OUTPUT y, which the forward pass saved)
_ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda y: y * (1 - y)),
    "tanh": (np.tanh, lambda y: 1 - y * y),
    "relu": (lambda a: np.maximum(a, 0), lambda y: (y > 0).astype(y.dtype)),
    "linear": (lambda a: a, np.ones_like),
}


def forward(X, W, b, W_star, c, encoder="sigmoid", decoder="linear", tied=False):
    """The forward pass. Returns {"a1", "h", "a2", "x_hat"}: the backward pass reuses all of them."""
    check("encoder", encoder, ENCODERS, "reference")
    check("decoder", decoder, DECODERS, "reference")
    return _forward(*_check_arrays(X, W, b, W_star, c, tied), encoder, decoder)


def _forward(X, W, b, W_star, c, encoder, decoder):
    a1 = X @ W.T + b
    h = _ACTIVATIONS[encoder][0](a1)
    a2 = h @ W_star.T + c
    x_hat = _ACTIVATIONS[decoder][0](a2)
    return {"a1": a1, "h": h, "a2": a2, "x_hat": x_hat}


def loss(X, W, b, W_star, c, encoder="sigmoid", decoder="linear", tied=False, loss=None, inputs=None):
    """The lecture's loss: summed over the n features, averaged over the m examples.

    loss=None picks what the lecture picks: "bce" for a sigmoid decoder, "mse" otherwise.
    inputs: what the encoder sees when it is not X (a denoising autoencoder's corrupted X).
    """
    kind = pair(decoder, loss, "reference")
    check("encoder", encoder, ENCODERS, "reference")
    X, W, b, W_star, c = _check_arrays(X, W, b, W_star, c, tied)
    out = _forward(X if inputs is None else _check_inputs(inputs, X), W, b, W_star, c, encoder, decoder)
    m = X.shape[0]
    if kind == "mse":
        return float(np.sum((out["x_hat"] - X) ** 2) / m)
    _check_targets(X)
    # -(x log sigmoid(a) + (1 - x) log(1 - sigmoid(a))) = softplus(a) - x a: taken from the logits a2,
    # so it never evaluates log(0), even where sigmoid(a2) rounds to exactly 0 or 1.
    a2 = out["a2"]
    return float(np.sum(softplus(a2) - X * a2) / m)


def gradients(X, W, b, W_star, c, encoder="sigmoid", decoder="linear", tied=False, loss=None, inputs=None):
    """dL/dW, dL/db, dL/dW*, dL/dc by the slides' chain rule (dL/dW* is None when tied).

    inputs: what the encoder sees when it is not X, e.g. a denoising autoencoder's corrupted copy of X
    (the reconstruction is still compared with X)."""
    kind = pair(decoder, loss, "reference")
    check("encoder", encoder, ENCODERS, "reference")
    X, W, b, W_star, c = _check_arrays(X, W, b, W_star, c, tied)
    inputs = X if inputs is None else _check_inputs(inputs, X)
    out = _forward(inputs, W, b, W_star, c, encoder, decoder)
    m = X.shape[0]
    h, x_hat = out["h"], out["x_hat"]

    if kind == "bce":
        _check_targets(X)
        # sigmoid and cross-entropy taken together: (x_hat - x) / m. The slides' literal chain
        # (literal_bce_grad_a2) is the same algebra but turns NaN once sigmoid saturates.
        dA2 = bce_grad_a2(X, x_hat)
    else:
        # The slides' dL/dx_hat = 2 (x_hat - x) is for one example; the objective averages over the
        # m examples, so the batch gradient carries the 1/m that the slide leaves out.
        dX_hat = (2 / m) * (x_hat - X)
        dA2 = dX_hat * _ACTIVATIONS[decoder][1](x_hat)
    dW_star = dA2.T @ h                      # (n, k)
    dc = dA2.sum(axis=0)
    dH = dA2 @ W_star                        # back through the decoder weight
    dA1 = dH * _ACTIVATIONS[encoder][1](h)
    dW = dA1.T @ inputs                      # (k, n)
    db = dA1.sum(axis=0)
    if tied:
        # W is used twice (encoder W, decoder W* = W^T): its gradient is the sum of both paths.
        return {"W": dW + dW_star.T, "b": db, "W_star": None, "c": dc}
    return {"W": dW, "b": db, "W_star": dW_star, "c": dc}


def bce_grad_a2(X, x_hat):
    """dL/da2 for a sigmoid decoder with cross-entropy, simplified: (x_hat - x) / m. Always finite."""
    return (x_hat - X) / X.shape[0]


def literal_bce_grad_a2(X, x_hat):
    """dL/da2 by the slides' literal chain: dL/dx_hat * dx_hat/da2.

    dL/dx_hat_j = -x_j / x_hat_j + (1 - x_j) / (1 - x_hat_j) and dx_hat_j/da2_j = x_hat_j (1 - x_hat_j).
    Algebraically this is x_hat - x (times 1/m), but in floating point sigmoid saturates: x_hat == 1.0
    exactly from a2 ~ 37 on in float64 (== 0.0 below a2 ~ -745), and the chain becomes inf * 0 = NaN.
    That NaN is what this function exists to show, so numpy's divide/invalid warnings are silenced here.
    """
    m = X.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        dX_hat = (-X / x_hat + (1 - X) / (1 - x_hat)) / m
        return dX_hat * (x_hat * (1 - x_hat))


# ---------------------------------------------------------------- penalties: weight decay and sparsity
#
# Both are added to the lecture's loss L; their gradients add to the chain rule's (gradients() above).
#
#     weight decay   R = lam (||W||^2 + ||W*||^2)   (once when tied: W* = W^T is not a second matrix)
#                    dR/dW = 2 lam W,  dR/dW* = 2 lam W*;  the biases are not penalized
#     sparsity       S = beta sum_l KL(rho || rho_hat_l),  rho_hat_l = (1/m) sum_i h_il  (sigmoid h)
#                    KL(rho || p) = rho log(rho / p) + (1 - rho) log((1 - rho) / (1 - p))
#                    dS/dh_il = beta (-rho / rho_hat_l + (1 - rho) / (1 - rho_hat_l)) / m
#                    (Ng's notes: this term is added to dL/dh, then the chain goes on through g' = h (1 - h))

def weight_decay_penalty(W, W_star, lam):
    """lam (||W||^2 + ||W*||^2); W_star=None for tied weights (W counts once)."""
    total = np.sum(_as_float(W) ** 2) + (0.0 if W_star is None else np.sum(_as_float(W_star) ** 2))
    return float(lam * total)


def weight_decay_grads(W, W_star, lam):
    """{"W": 2 lam W, "W_star": 2 lam W* (None when tied)}."""
    return {"W": 2 * lam * _as_float(W), "W_star": None if W_star is None else 2 * lam * _as_float(W_star)}


def kl_divergence(rho, rho_hat):
    """KL(rho || rho_hat) between Bernoulli distributions, one per hidden unit."""
    return rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))


def sparsity_penalty(X, W, b, rho, beta):
    """beta sum_l KL(rho || rho_hat_l) for the sigmoid encoder h = sigmoid(X W^T + b)."""
    h = sigmoid(_as_float(X) @ _as_float(W).T + _as_float(b))
    return float(beta * np.sum(kl_divergence(rho, h.mean(axis=0))))


def sparsity_grads(X, W, b, rho, beta):
    """{"W", "b"}: dS/dh (the same for every row) through the sigmoid, then to W and b."""
    X, W, b = (_as_float(a) for a in (X, W, b))
    m = X.shape[0]
    h = sigmoid(X @ W.T + b)
    rho_hat = h.mean(axis=0)
    dH = np.broadcast_to(beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat)) / m, h.shape)
    dA1 = dH * h * (1 - h)
    return {"W": dA1.T @ X, "b": dA1.sum(axis=0)}


def regularized_gradients(X, W, b, W_star, c, encoder="sigmoid", decoder="linear", tied=False, loss=None,
                          weight_decay=0.0, sparsity=None, sparsity_weight=1.0):
    """gradients() of the lecture's loss plus those of the weight-decay and sparsity penalties (each term's
    closed form above, added: the gradient of a sum)."""
    grads = dict(gradients(X, W, b, W_star, c, encoder, decoder, tied, loss))
    if weight_decay:
        decay = weight_decay_grads(W, None if tied else W_star, weight_decay)
        grads["W"] = grads["W"] + decay["W"]
        if not tied:
            grads["W_star"] = grads["W_star"] + decay["W_star"]
    if sparsity is not None:
        if encoder != "sigmoid":
            raise ValueError(f"sparsity needs the sigmoid encoder (h in (0, 1)), got encoder={encoder!r}")
        sparse = sparsity_grads(X, W, b, sparsity, sparsity_weight)
        grads["W"], grads["b"] = grads["W"] + sparse["W"], grads["b"] + sparse["b"]
    return grads


def pca_components(X, k):
    """(mean (n,), components (k, n)): the top-k eigenvectors of the covariance, one per row."""
    X = _check_pca_input(X, k)
    mean, _, eigenvectors = _covariance_eigh(X)
    return mean, eigenvectors[:, :k].T


def pca_reconstruction(X, k):
    """X projected on its top-k principal components, the mean added back: the best rank-k affine fit."""
    X = _check_pca_input(X, k)
    mean, components = pca_components(X, k)
    return mean + (X - mean) @ components.T @ components


def pca_bound(X, k):
    """Eckart-Young: sum over j > k of the eigenvalues of the centered data's covariance (taken with 1/m).

    This is the smallest squared-error loss, in the lecture's normalization (summed over features,
    averaged over examples), that any rank-k affine reconstruction of X can reach.
    """
    X = _check_pca_input(X, k)
    centered = X - X.mean(axis=0)
    # eigenvalues only (eigvalsh): several times faster than eigh on 784 features
    eigenvalues = np.linalg.eigvalsh(centered.T @ centered / X.shape[0])[::-1]
    # clip: a zero eigenvalue can come out of eigh as -1e-17, and a loss is never negative
    return float(np.clip(eigenvalues[k:], 0, None).sum())


def pca_error(X_fit, X_eval, k):
    """Squared error (summed over features, mean over rows) of X_eval's projection on the top-k principal
    components of X_fit, X_fit's mean added back: PCA fitted on training rows, judged on test rows."""
    X_eval = _check_pca_input(X_eval, k)
    mean, components = pca_components(X_fit, k)
    residual = (X_eval - mean) - (X_eval - mean) @ components.T @ components
    return float(np.mean(np.sum(residual ** 2, axis=1)))


# ---------------------------------------------------------------- private helpers

def _covariance_eigh(X):
    """Mean, eigenvalues (descending) and eigenvectors (columns, same order) of the covariance."""
    mean = X.mean(axis=0)
    centered = X - mean
    covariance = centered.T @ centered / X.shape[0]  # 1/m as in the loss, not np.cov's 1/(m - 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # ascending
    return mean, eigenvalues[::-1], eigenvectors[:, ::-1]


def _as_float(a):
    a = np.asarray(a)
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)


def _check_arrays(X, W, b, W_star, c, tied):
    """Arrays as floats, W* = W^T when tied, and every shape checked against X (m, n) and W (k, n)."""
    X, W, b, c = (_as_float(a) for a in (X, W, b, c))
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be 2-D (m examples, n features) with at least one row, got shape {X.shape}")
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D (k hidden, n features), got shape {W.shape}")
    if tied:
        if W_star is not None:
            raise ValueError("tied=True uses W.T as the decoder weight W*: pass W_star=None")
        W_star = W.T
    elif W_star is None:
        raise ValueError("W_star is None but tied=False: pass the decoder weight W* (n, k), or set tied=True")
    W_star = _as_float(W_star)
    (m, n), k = X.shape, W.shape[0]
    expected = {"W": (W, (k, n)), "b": (b, (k,)), "W_star": (W_star, (n, k)), "c": (c, (n,))}
    for name, (array, shape) in expected.items():
        if array.shape != shape:
            raise ValueError(f"{name} has shape {array.shape}, expected {shape} "
                             f"for X of shape {X.shape} and k = {k} hidden units")
    return X, W, b, W_star, c


def _check_inputs(inputs, X):
    inputs = _as_float(inputs)
    if inputs.shape != X.shape:
        raise ValueError(f"inputs has shape {inputs.shape}, expected the shape of X {X.shape}")
    return inputs


def _check_targets(X):
    if np.any((X < 0) | (X > 1)) or np.isnan(X).any():
        raise ValueError("cross-entropy needs targets X in [0, 1]: rescale the data or use loss='mse'")


def _check_pca_input(X, k):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be 2-D (m examples, n features) with at least one row, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or inf: clean or drop those rows first")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an integer number of components, got {type(k).__name__}")
    if not 0 <= k <= X.shape[1]:
        raise ValueError(f"k must be between 0 and n = {X.shape[1]} (the number of features), got {k}")
    return X


# ---------------------------------------------------------------- the contractive penalty (Rifai et al., 2011)
#
# For one example x, h = g(a) with a = W x + b, the encoder's Jacobian is J = dh/dx = diag(g'(a)) W,
# so its squared Frobenius norm is
#
#     ||J||_F^2 = sum_j d_j^2 s_j,     d_j = g'(a_j) from the output h,  s_j = sum_i W_ji^2
#
# with d = h (1 - h) for the sigmoid and d = 1 - h^2 for tanh. The penalty averages it over the m rows
# of X. Its gradient, by hand: d_j depends on a_j, and s_j on row j of W.
#
#     dd_j/da_j = h_j (1 - h_j) (1 - 2 h_j) = d_j (1 - 2 h_j)          (sigmoid)
#               = -2 h_j (1 - h_j^2)        = -2 h_j d_j               (tanh)
#     dP/da_j   = 2 d_j s_j dd_j/da_j       = d_j^2 s_j * (2 (1 - 2 h_j) or -4 h_j)
#     dP/dW_ji  = dP/da_j x_i + 2 d_j^2 W_ji            dP/db_j = dP/da_j
#
# summed over the rows and divided by m.

CONTRACTIVE_ENCODERS = ("sigmoid", "tanh")


def _contractive_terms(X, W, b, encoder):
    check("encoder", encoder, CONTRACTIVE_ENCODERS, "reference")
    X, W, b = (_as_float(a) for a in (X, W, b))
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be 2-D (m examples, n features) with at least one row, got shape {X.shape}")
    if W.ndim != 2 or W.shape[1] != X.shape[1]:
        raise ValueError(f"W has shape {W.shape}, expected (k, {X.shape[1]}) for X of shape {X.shape}")
    if b.shape != (W.shape[0],):
        raise ValueError(f"b has shape {b.shape}, expected ({W.shape[0]},) for W of shape {W.shape}")
    h = _ACTIVATIONS[encoder][0](X @ W.T + b)
    d = _ACTIVATIONS[encoder][1](h)          # g'(a) from the output: h (1 - h) or 1 - h^2
    s = (W * W).sum(axis=1)                  # s_j = sum_i W_ji^2
    return X, W, h, d * d, s


def contractive_penalty(X, W, b, encoder="sigmoid"):
    """(1/m) sum_i ||J_h(x_i)||_F^2 = (1/m) sum_i sum_j g'(a_ij)^2 sum_l W_jl^2 (no weight lambda)."""
    X, W, h, d2, s = _contractive_terms(X, W, b, encoder)
    return float((d2 @ s).sum() / X.shape[0])


def contractive_penalty_grads(X, W, b, encoder="sigmoid"):
    """{"W": dP/dW (k, n), "b": dP/db (k,)} of contractive_penalty, by the hand derivation above."""
    X, W, h, d2, s = _contractive_terms(X, W, b, encoder)
    m = X.shape[0]
    dd_factor = 2 * (1 - 2 * h) if encoder == "sigmoid" else -4 * h
    dA = d2 * dd_factor * s                  # dP/da, one row per example (m, k)
    dW = (dA.T @ X + 2 * d2.sum(axis=0)[:, None] * W) / m
    db = dA.sum(axis=0) / m
    return {"W": dW, "b": db}


# ---------------------------------------------------------------- the variational autoencoder's terms
# q(z|x) = N(mu, diag(exp(logvar))) against the prior N(0, I), one row of mu, logvar per example:
#     KL = -1/2 sum_l (1 + logvar_l - mu_l^2 - exp(logvar_l))      (Kingma & Welling 2014, appendix B)
#     dKL/dmu = mu,   dKL/dlogvar = (exp(logvar) - 1) / 2           (each over m for the mean over rows)
# The reparameterization z = mu + exp(logvar / 2) eps moves the draw's randomness into eps, so that
#     dz/dmu = 1,     dz/dlogvar = eps exp(logvar / 2) / 2          (eps held fixed)

def vae_kl(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) of each row, summed over the latent units, mean over the m rows."""
    mu, logvar = _as_float(mu), _as_float(logvar)
    return float(-0.5 * np.sum(1 + logvar - mu * mu - np.exp(logvar)) / mu.shape[0])


def vae_kl_grads(mu, logvar):
    """{"mu": dKL/dmu, "logvar": dKL/dlogvar} of vae_kl: mu / m and (exp(logvar) - 1) / (2 m)."""
    mu, logvar = _as_float(mu), _as_float(logvar)
    m = mu.shape[0]
    return {"mu": mu / m, "logvar": (np.exp(logvar) - 1) / (2 * m)}


def reparameterize(mu, logvar, eps):
    """z = mu + exp(logvar / 2) * eps."""
    return _as_float(mu) + np.exp(_as_float(logvar) / 2) * _as_float(eps)
