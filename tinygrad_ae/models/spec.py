"""The autoencoder's choices and the lecture's pairing rule, defined once.

Autoencoder, reference.py and the command line all read them from here:

    encoder g   in ENCODERS       decoder f   in DECODERS       loss in LOSSES       optimizer in OPTIMIZERS
    noise       in NOISES         the penalties a regularized autoencoder adds, named as in PENALTIES

The pairing: cross-entropy compares probabilities, so it needs the logistic decoder (f = sigmoid);
without a loss given, a logistic decoder trains with cross-entropy and any other with squared error.
"""
ENCODERS = ("sigmoid", "tanh", "relu", "linear")
DECODERS = ("linear", "sigmoid", "tanh")
LOSSES = ("mse", "bce")
OPTIMIZERS = ("adam", "sgd")
NOISES = ("mask", "gaussian")                  # denoising: what corrupts the encoder's input while training
PENALTIES = ("weight_decay", "sparsity", "contractive")   # the terms added to the reconstruction, in this order


def check(what, value, allowed, owner="Autoencoder"):
    """value if it is one of `allowed`, else a ValueError naming all of them."""
    if value not in allowed:
        raise ValueError(f"{owner}: {what} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def default_loss(decoder):
    """The lecture's loss for a decoder: cross-entropy for the logistic one, squared error otherwise."""
    return "bce" if decoder == "sigmoid" else "mse"


def default_decoder(loss):
    """The lecture's decoder for a loss: the logistic one for cross-entropy, linear otherwise."""
    return "sigmoid" if loss == "bce" else "linear"


def pair(decoder, loss=None, owner="Autoencoder"):
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
