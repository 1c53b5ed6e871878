"""Every rule of a valid autoencoder, once: its names, the lecture's pairing, its numbers, what goes with what.

Autoencoder builds from model_spec(); the train job's options check a run's model with the same call
before any data is loaded; reference.py and the command line read the names here.

    encoder g   in ENCODERS       decoder f   in DECODERS       loss in LOSSES       optimizer in OPTIMIZERS
    noise       in NOISES         the penalties a regularized autoencoder adds, named as in PENALTIES

The rules:
- the pairing: cross-entropy compares probabilities, so it needs the logistic decoder (f = sigmoid); without a
  loss given, a logistic decoder trains with cross-entropy and any other with squared error (pair, resolve);
- n_hidden is a positive int (one hidden layer) or a sequence of them (a deep autoencoder, input to code);
  code_activation belongs to a deep model only (a one-layer model's code activation is its encoder's);
- weight_decay and contractive are numbers >= 0; contractive needs one hidden layer (its closed form);
- noise is mask (noise_level q in [0, 1)) or gaussian (sigma >= 0), and noise_level comes with noise only;
- sparsity rho lies in (0, 1) and needs a sigmoid code (rho_hat is a probability); sparsity_weight (beta,
  default 1) comes with sparsity only;
- cross-entropy's targets lie in [0, 1] (check_targets).
"""
import math
import numbers
from typing import NamedTuple, Optional, Tuple

import numpy as np

ENCODERS = ("sigmoid", "tanh", "relu", "linear")
DECODERS = ("linear", "sigmoid", "tanh")
LOSSES = ("mse", "bce")
OPTIMIZERS = ("adam", "sgd")
NOISES = ("mask", "gaussian")                  # denoising: what corrupts the encoder's input while training
PENALTIES = ("weight_decay", "sparsity", "contractive")   # the terms added to the reconstruction, in this order
OWNER = "Autoencoder"                          # who the messages name


def check(what, value, allowed, owner=OWNER):
    """value if it is one of `allowed`, else a ValueError naming all of them."""
    if value not in allowed:
        raise ValueError(f"{owner}: {what} must be one of {', '.join(allowed)}; got {value!r}")
    return value


# ---------------------------------------------------------------- the lecture's pairing

def default_loss(decoder):
    """The lecture's loss for a decoder: cross-entropy for the logistic one, squared error otherwise."""
    return "bce" if decoder == "sigmoid" else "mse"


def default_decoder(loss):
    """The lecture's decoder for a loss: the logistic one for cross-entropy, linear otherwise."""
    return "sigmoid" if loss == "bce" else "linear"


def pair(decoder, loss=None, owner=OWNER):
    """The loss for `decoder` (the lecture's pairing when loss is None), checked: ValueError if they do not fit."""
    check("decoder", decoder, DECODERS, owner)
    if loss is None:
        return default_loss(decoder)
    check("loss", loss, LOSSES, owner)
    if loss == "bce" and decoder != "sigmoid":
        raise ValueError(f"{owner}: loss='bce' needs decoder='sigmoid' (cross-entropy compares probabilities, "
                         f"and only the logistic decoder outputs them), got decoder={decoder!r}. Use loss='mse', "
                         "or decoder='sigmoid' for binary inputs")
    return loss


def resolve(decoder=None, loss=None, binary=False):
    """(decoder, loss) for a run where either may be left out (None): the one given picks the other;
    with neither, binary inputs get (sigmoid, bce) and real ones (linear, mse). Checked by pair()."""
    if decoder is None and loss is None:
        decoder = "sigmoid" if binary else "linear"
    elif decoder is None:
        decoder = default_decoder(loss)
    return decoder, pair(decoder, loss)


# ---------------------------------------------------------------- the whole model

class ModelSpec(NamedTuple):
    """A valid model's choices, normalized: what Autoencoder builds (see model_spec)."""
    sizes: Tuple[int, ...]          # the encoder's layer sizes, input side first; the last is the code
    deep: bool                      # more than one hidden layer
    encoder: str
    decoder: str
    loss: str
    code_activation: str            # the encoder's, unless a deep model sets its own
    tied: bool
    weight_decay: float
    noise: Optional[str]
    noise_level: Optional[float]
    sparsity: Optional[float]
    sparsity_weight: float          # 0.0 without sparsity
    contractive: float


def model_spec(n_hidden, encoder="sigmoid", decoder="linear", tied=False, loss=None, *, code_activation=None,
               weight_decay=0.0, noise=None, noise_level=None, sparsity=None, sparsity_weight=None,
               contractive=0.0, owner=OWNER):
    """The ModelSpec these arguments describe (Autoencoder's, with its defaults), or a ValueError that names the
    argument, what it must be and what to do."""
    check("encoder", encoder, ENCODERS, owner)
    check("decoder", decoder, DECODERS, owner)
    loss = pair(decoder, loss, owner)
    sizes, deep = hidden_sizes(n_hidden, owner)
    if code_activation is not None and not deep:
        raise ValueError(f"{owner}: code_activation is for a deep autoencoder (n_hidden a sequence such as "
                         "(1000, 500, 250, 30)); a one-layer model's code activation is its encoder, "
                         f"so use encoder={code_activation!r}")
    code = check("code_activation", encoder if code_activation is None else code_activation, ENCODERS, owner)
    weight_decay = _number(owner, "weight_decay", weight_decay)
    contractive = _number(owner, "contractive", contractive)
    noise_level = _noise_level(owner, noise, noise_level)
    if sparsity is None:
        if sparsity_weight is not None:
            raise ValueError(f"{owner}: sparsity_weight={sparsity_weight!r} is given without sparsity; "
                             "add sparsity=rho, the target mean activation, e.g. 0.05")
        sparsity_weight = 0.0
    else:
        sparsity = _number(owner, "sparsity", sparsity, 0, 1, low_open=True, high_open=True,
                           what=" (rho, the target mean activation of each hidden unit)")
        sparsity_weight = _number(owner, "sparsity_weight", 1.0 if sparsity_weight is None else sparsity_weight)
        if code != "sigmoid":
            raise ValueError(f"{owner}: sparsity compares each hidden unit's mean activation with rho as a "
                             "probability, so it needs a code whose units lie in (0, 1): encoder='sigmoid'"
                             f"{' (or code_activation=' + repr('sigmoid') + ')' if deep else ''}, got {code!r}")
    if contractive and deep:
        raise ValueError(f"{owner}: contractive is supported for a one-hidden-layer encoder (its Jacobian's "
                         f"norm has a closed form there), got a deep model; "
                         "use an int n_hidden, or weight_decay / noise for a deep model")
    return ModelSpec(sizes, deep, encoder, decoder, loss, code, bool(tied), weight_decay, noise, noise_level,
                     sparsity, sparsity_weight, contractive)


def hidden_sizes(n_hidden, owner=OWNER):
    """(the encoder's layer sizes, deep?): an int is the lecture's one-layer model, a sequence a deep one."""
    if isinstance(n_hidden, (list, tuple)):
        sizes = tuple(n_hidden)
        deep = len(sizes) > 1                       # a one-element sequence is the one-layer model
    else:
        sizes, deep = (n_hidden,), False
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{owner}: n_hidden must be a positive integer or a sequence of them "
                             f"(a deep autoencoder, e.g. (1000, 500, 250, 30)), got {n_hidden!r}")
    if not sizes:
        raise ValueError(f"{owner}: n_hidden is an empty sequence; give at least one layer size")
    return tuple(int(k) for k in sizes), deep


def active_penalties(weight_decay, sparsity, contractive):
    """The names of the penalties a model with these settings adds to its reconstruction term, in PENALTIES' order."""
    if not (weight_decay or contractive) and sparsity is None:
        return ()                   # the lecture's model, asked at every step: no tuple to build
    active = (weight_decay > 0, sparsity is not None, contractive > 0)
    return tuple(name for name, on in zip(PENALTIES, active) if on)


def _noise_level(owner, noise, noise_level):
    """noise_level checked for its kind of noise (None without noise)."""
    if noise is None:
        if noise_level is not None:
            raise ValueError(f"{owner}: noise_level={noise_level!r} is given without noise; "
                             "add noise='mask' or noise='gaussian'")
        return None
    check("noise", noise, NOISES, owner)
    if noise_level is None:
        raise ValueError(f"{owner}: noise={noise!r} needs noise_level: " + (
            "q, the probability of setting each input to 0, e.g. 0.3" if noise == "mask" else
            "sigma, the standard deviation of the added noise, e.g. 0.5"))
    if noise == "mask":
        return _number(owner, "noise_level", noise_level, 0, 1, high_open=True,
                       what=" (q, the probability of setting an input to 0)")
    return _number(owner, "noise_level", noise_level, what=" (sigma of the gaussian noise)")


def _number(owner, name, value, low=0.0, high=math.inf, low_open=False, high_open=False, what=""):
    """value as a float inside the interval, or a ValueError naming the argument and the interval."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        value = float(value)
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: {name} must be a number in {interval}{what}, got {value!r}")
    return value


# ---------------------------------------------------------------- the data a loss takes

# float dtype -> (the unsigned integer type of its size, the bits of 1.0 read as that type)
_ONE_BITS = {np.dtype(t): (np.dtype(u), int(np.ones((), t).view(u)))
             for t, u in ((np.float16, np.uint16), (np.float32, np.uint32), (np.float64, np.uint64))}


def check_targets(X, what="x"):
    """ValueError unless every value of the ndarray X lies in [0, 1], as cross-entropy's targets must.

    One pass over X: a float in [0, 1] is a non-negative one, and IEEE 754 orders non-negative floats as
    their bits read as unsigned integers, so its bits are at most those of 1.0; a sign bit, a value above 1,
    inf and NaN all read as more. Only when that fails is X scanned again (min and max) to tell a real
    error from -0.0 and NaN, which the comparisons x < 0 and x > 1 let through, and to write the message.
    Inside a tg.compile step the pass is recorded with its test, so every replay checks its own batch.
    """
    bits, one = _ONE_BITS.get(X.dtype, (None, None))
    if bits is not None and X.size and X.view(bits).max() <= one:
        return
    if X.size and (X.min() < 0 or X.max() > 1):
        raise ValueError(f"{what}: cross-entropy needs targets in [0, 1] (the lecture's binary inputs), "
                         f"got values in [{X.min():.4g}, {X.max():.4g}]; scale the data to [0, 1] or "
                         "use loss='mse' with a linear decoder")
