"""The variational autoencoder (Kingma & Welling, 2014), as pytorch/examples' vae/main.py builds it.

    encoder   h = relu(fc1(x));  mu = fc21(h),  logvar = fc22(h)        q(z|x) = N(mu, diag(exp(logvar)))
    sample    z = mu + exp(logvar / 2) * eps,   eps ~ N(0, I)            the reparameterization trick
    decoder   x_hat = sigmoid(fc4(relu(fc3(z))))                         p(x|z) = Bernoulli(x_hat)

The loss is the negative ELBO of each row, mean over the rows:

    -ELBO(x) = -sum_j [x_j log x_hat_j + (1 - x_j) log(1 - x_hat_j)]      reconstruction (from the logits)
               - 1/2 sum_l (1 + logvar_l - mu_l^2 - exp(logvar_l))         KL(q(z|x) || N(0, I)), closed form

(pytorch/examples sums over the batch; here it is the mean over rows, the lecture's normalization.)
The layers keep the example's names, fc1, fc21, fc22, fc3, fc4, in its order, weights in torch's shape,
so a state dict loads into that network in PyTorch as it is. eps comes from the model's generator
(seed=) when not given; a training step takes it as an argument, drawn outside the step, so a compiled
step sees new noise at every call.
"""
import numpy as np

from .. import nn, random
from .. import functional as F
from ..data.rows import validate_rows
from . import steps
from ..engine.tensor import Tensor, no_grad
from . import spec


def check_sizes(n_inputs, n_hidden, n_latent, owner="VAE"):
    """The three sizes as ints, or a ValueError naming the one that is not a positive whole number."""
    for name, value in (("n_inputs", n_inputs), ("n_hidden", n_hidden), ("n_latent", n_latent)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{owner}: {name} must be a positive whole number, got {value!r}"
                             + (" (the latent code needs at least one dimension)" if name == "n_latent" else ""))
    return int(n_inputs), int(n_hidden), int(n_latent)


def gaussian_kl(mu, logvar):
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) in closed form, -1/2 sum(1 + logvar - mu^2 - exp(logvar)):
    summed over the latent units, mean over the rows (Tensors in, a 0-d Tensor out)."""
    return (1 + logvar - mu * mu - logvar.exp()).sum() * (-0.5 / mu.shape[0])


def _objective(model, x, eps):
    """The negative ELBO of a checked batch with its noise eps: what a VAE's training step minimizes."""
    return model._terms(x, eps)["objective"]


class VAE(nn.Module):
    """x -> fc1 -> ReLU -> (fc21: mu, fc22: logvar); z = mu + exp(logvar/2) eps -> fc3 -> ReLU -> fc4 -> sigmoid."""

    history_terms = ("reconstruction", "kl")    # the loss's two terms, kept per epoch beside it

    def __init__(self, n_inputs, n_hidden=400, n_latent=20, dtype=np.float32, seed=None):
        n_inputs, n_hidden, n_latent = check_sizes(n_inputs, n_hidden, n_latent)
        # the model's generator: first the initial weights (nn.Linear's, PyTorch's start), then every eps
        self.generator = rng = random.numpy_generator(random.child_seed() if seed is None else seed)
        self.fc1 = nn.Linear(n_inputs, n_hidden, dtype=dtype, rng=rng)
        self.fc21 = nn.Linear(n_hidden, n_latent, dtype=dtype, rng=rng)
        self.fc22 = nn.Linear(n_hidden, n_latent, dtype=dtype, rng=rng)
        self.fc3 = nn.Linear(n_latent, n_hidden, dtype=dtype, rng=rng)
        self.fc4 = nn.Linear(n_hidden, n_inputs, dtype=dtype, rng=rng)
        self.n_inputs, self.n_hidden, self.n_latent, self.dtype = n_inputs, n_hidden, n_latent, np.dtype(dtype)

    def __repr__(self):
        return f"VAE(n_inputs={self.n_inputs}, n_hidden={self.n_hidden}, n_latent={self.n_latent}, dtype={self.dtype})"

    _as_input = steps.as_input

    # ----- the model --------------------------------------------------------------------------------
    def encode(self, x):
        """(mu, logvar) of q(z|x) for every row of x."""
        h = self.fc1(self._as_input(x)).relu()
        return self.fc21(h), self.fc22(h)

    def draw_eps(self, n, generator=None):
        """eps ~ N(0, I) of shape (n, n_latent), from `generator` (default: the model's)."""
        rng = self.generator if generator is None else random.numpy_generator(generator)
        return Tensor(random.draw(rng, "standard_normal", (int(n), self.n_latent), self.dtype))

    def reparameterize(self, mu, logvar, eps=None):
        """z = mu + exp(logvar / 2) * eps: a draw from q(z|x) that is differentiable in mu and logvar."""
        eps = self.draw_eps(mu.shape[0]) if eps is None else self._eps(eps, mu.shape)
        return mu + (logvar * 0.5).exp() * eps

    def decode_logits(self, z):
        """The decoder's logits fc4(relu(fc3(z))); decode() is their sigmoid."""
        z = z if isinstance(z, Tensor) else Tensor(np.asarray(z, self.dtype))
        if z.ndim != 2 or z.shape[1] != self.n_latent:
            raise ValueError(f"VAE.decode: z must have shape (rows, {self.n_latent}), got {tuple(z.shape)}")
        return self.fc4(self.fc3(z).relu())

    def decode(self, z):
        """x_hat = the Bernoulli means of p(x|z), in (0, 1)."""
        return self.decode_logits(z).sigmoid()

    def forward(self, x, eps=None):
        """(x_hat, mu, logvar), as pytorch/examples' forward returns them; z drawn with eps (default: drawn)."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar, eps)), mu, logvar

    def sample(self, n, generator=None):
        """n decoded draws from the prior: decode(z), z ~ N(0, I) (from `generator`, default the model's)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"VAE.sample: n must be a positive whole number, got {n!r}")
        with no_grad():
            return self.decode(self.draw_eps(n, generator))

    # ----- the objective ----------------------------------------------------------------------------
    def loss(self, x, eps=None):
        """The negative ELBO of each row (reconstruction + KL), mean over the rows; eps (rows, n_latent)
        fixes the draw of z (default: drawn from the model's generator)."""
        return self.loss_terms(x, eps)["objective"]

    def loss_terms(self, x, eps=None):
        """{"reconstruction", "kl", "objective"} as Tensors on a batch, each a mean over its rows."""
        x = self._check_input(x)
        return self._terms(x, self.draw_eps(len(x)) if eps is None else self._eps(eps, (len(x), self.n_latent)))

    def _terms(self, x, eps):
        mu, logvar = self.encode(x)
        logits = self.decode_logits(self.reparameterize(mu, logvar, eps))
        reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="batchmean")
        kl = gaussian_kl(mu, logvar)
        return {"reconstruction": reconstruction, "kl": kl, "objective": reconstruction + kl}

    def _eps(self, eps, shape):
        eps = eps if isinstance(eps, Tensor) else Tensor(np.asarray(eps, self.dtype))
        if tuple(eps.shape) != tuple(shape):
            raise ValueError(f"VAE: eps must have the shape of mu, {tuple(shape)} (rows, n_latent), "
                             f"got {tuple(eps.shape)}")
        return eps

    def check_data(self, X, what="X"):
        """X as an array of this model's dtype, or a ValueError: rows of n_inputs values in [0, 1]
        (the Bernoulli decoder's targets)."""
        X = validate_rows(X, self.n_inputs, what).astype(self.dtype, copy=False)
        spec.check_targets(X, what)
        return X

    def _check_input(self, x):
        x = self._as_input(x)
        spec.check_targets(x.data)
        return x

    # ----- training: the loop is training/loop.py's (as the Autoencoder's) ----------------------------
    def step_inputs(self, x):
        """What a training step takes beside the batch: (eps,), drawn here from the model's generator."""
        return (self.draw_eps(len(x)),)

    def batch_terms(self, x, rng=None):
        """The loss's terms on a checked batch with eps drawn from rng (evaluation: a generator of its own)."""
        return self._terms(x, self.draw_eps(len(x), rng))

    def training_step(self, optimizer, compile=True):
        """step(x, eps): zero_grad, loss, backward, step; a tg.compile step by default (see Autoencoder's)."""
        return steps.training_step(self, optimizer, _objective, compile)

    def fit(self, X, epochs=10, batch_size=64, lr=1e-3, optimizer="adam", shuffle=True, seed=None,
            X_val=None, callback=None, *, on_step=None, history=None, compile=True):
        """Minibatch training through the package's one loop (training.loop.fit), as Autoencoder.fit.

        history: "train" and "val" the negative ELBO per example, "reconstruction" and "kl" its terms on
        the training rows, "seconds". Evaluation draws eps from a generator of its own (seed 0), so it
        neither moves the model's generator nor changes from call to call."""
        from ..training import loop
        return loop.fit(self, X, epochs, batch_size, lr, optimizer, shuffle, seed, X_val, callback,
                        on_step=on_step, history=history, compile=compile)

    def evaluate(self, X, batch_size=1024):
        """The negative ELBO per example on all of X, one draw of z per row (eps from seed 0), no graph."""
        from ..training import loop
        return loop.evaluate(self, X, batch_size)

    def evaluate_terms(self, X, batch_size=1024):
        """{"reconstruction", "kl", "objective"} as floats on all of X (see evaluate)."""
        from ..training import loop
        return loop.evaluate_terms(self, X, batch_size)
