"""The `train` job's options: their defaults, their checks, and the model they describe.

given (the command line's options by name, None where not given) -> resolve_options -> opts, a dict that a
checkpoint stores as JSON and a resume reads back; build_model(opts, n_inputs) is the model they describe.
The run's own numbers (epochs, batch size, learning rate, seed) are checked here; the model's choices by
models/spec.py, the same rules Autoencoder applies, before any data is loaded.

--model picks the model from MODELS: each entry names its options (beyond the run's own, RUN_OPTIONS), its
defaults where they differ from DEFAULTS', its check and how to build it; a new model is one more entry.
"""
import math
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from ..data.datasets import DATASET_NAMES
from ..models import made, spec, vae
from ..models.autoencoder import Autoencoder
from ..models.conv_autoencoder import ConvAutoencoder

# What a run uses when the user does not say; decoder and loss follow the lecture's pairing (resolve_options).
# On the embedded digits these defaults take about ten seconds on two cores and end within ~3% of the PCA bound.
# hidden is an int (the lecture's one-layer model) or a list of layer sizes (a deep autoencoder); noise is
# "mask:q" or "gaussian:sigma" (text, so the options stay JSON).
DEFAULTS = {"data": "digits", "hidden": 16, "encoder": "sigmoid", "decoder": None, "loss": None, "tied": False,
            "binarize": False, "epochs": 150, "batch_size": 32, "lr": 3e-3, "optimizer": "adam", "seed": 0,
            "code_activation": None, "weight_decay": 0.0, "noise": None, "sparsity": None, "sparsity_weight": None,
            "contractive": 0.0, "model": "autoencoder", "latent": None}
# options that checkpoints written before them do not hold: such a checkpoint resumes with these values
LATER_OPTIONS = ("code_activation", "weight_decay", "noise", "sparsity", "sparsity_weight", "contractive",
                 "model", "latent")
# what every model's run takes: the data and the run's own numbers
RUN_OPTIONS = ("data", "binarize", "epochs", "batch_size", "lr", "optimizer", "seed", "model")


class UsageError(Exception):
    """A mistake in the options or the data: reported in one line, exit code 2."""


# ---------------------------------------------------------------- options

def resolve_options(given):
    """All options of a new run. `given` maps option names to what the user chose (None = not given).

    The decoder and loss follow the lecture's pairing (spec.resolve): a logistic decoder pairs with
    cross-entropy, anything else with squared error; --binarize (binary inputs) picks the logistic pair
    unless --decoder or --loss was given. ValueError if the two given do not fit together.
    """
    kind = model_kind(given.get("model") or DEFAULTS["model"])
    foreign = [name for name in DEFAULTS if name not in RUN_OPTIONS + kind.options and given.get(name) is not None]
    if foreign:
        raise UsageError(f"{', '.join(flag(name, given[name]) for name in foreign)}: not an option of --model "
                         f"{kind.name} ({kind.describe}), which takes "
                         f"{', '.join('--' + o.replace('_', '-') for o in kind.options)}; leave "
                         f"{'it' if len(foreign) == 1 else 'them'} out, or choose another --model")
    defaults = {**DEFAULTS, **kind.defaults}
    opts = {name: defaults[name] if given.get(name) is None else given[name]
            for name in DEFAULTS if name in RUN_OPTIONS + kind.options}
    opts.update({name: None for name in DEFAULTS if name not in opts})     # what this model does not take
    if kind.name in ("autoencoder", "conv"):
        opts["decoder"], opts["loss"] = spec.resolve(given.get("decoder"), given.get("loss"), opts["binarize"])
    opts["data"], opts["model"] = data_key(opts["data"]), kind.name
    opts["hidden"] = hidden_option(opts["hidden"])
    opts["noise"] = noise_option(opts["noise"])
    check_options(opts)
    return opts


def hidden_option(hidden):
    """--hidden as the options keep it: an int, or a list of ints for a deep autoencoder (one size: an int)."""
    if isinstance(hidden, (list, tuple)):
        return int(hidden[0]) if len(hidden) == 1 and isinstance(hidden[0], (int, np.integer)) else list(hidden)
    return hidden


def parse_noise(text):
    """(kind, level) from "mask:0.3" or "gaussian:0.5"; UsageError if the text is not KIND:NUMBER.
    Which levels a kind takes is spec's rule, checked with the rest of the model (check_options)."""
    kind, _, level = str(text).partition(":")
    kind = kind.strip().lower()
    try:
        value = float(level)
    except ValueError:
        value = None
    if kind not in spec.NOISES or value is None:
        raise UsageError(f"--noise must be mask:Q (each input set to 0 with probability Q, e.g. mask:0.3) or "
                         f"gaussian:SIGMA (e.g. gaussian:0.5), got {text!r}")
    return kind, value


def noise_option(noise):
    if noise is None:
        return None
    kind, level = parse_noise(noise)
    return f"{kind}:{level:g}"


def data_key(data):
    """A data set's name as given, a path made absolute (so a checkpoint resumes from any folder)."""
    data = str(data)
    name = data.strip().lower().replace("_", "-")
    if name in DATASET_NAMES:
        return name
    return str(Path(data).resolve()) if Path(data).exists() else data


def check_options(opts):
    """UsageError for numbers no run can use; ValueError (spec's, naming the argument) for a model no run can
    build, e.g. --sparsity with a tanh encoder."""
    kind = model_kind(opts.get("model") or DEFAULTS["model"])
    for name in ("epochs", "batch_size"):
        value = opts[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be a positive whole number, got {value!r}")
    kind.check(opts)


def _check_autoencoder(opts):
    try:
        spec.hidden_sizes(opts["hidden"])
    except ValueError:
        raise UsageError(f"--hidden must be a positive whole number, or sizes separated by commas for a deep "
                         f"autoencoder (e.g. 1000,500,250,30), got {opts['hidden']!r}") from None
    _check_numbers(opts)
    spec.model_spec(**model_arguments(opts))


def _check_vae(opts):
    for name, what in (("hidden", "the size of the VAE's one hidden layer, e.g. 400"),
                       ("latent", "the dimension of the code z, e.g. 20, or 2 to draw the codes as they are")):
        value = opts[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise UsageError(f"--{name} must be a positive whole number ({what}), got {value!r}")
    _check_numbers(opts)


def _check_made(opts):
    try:
        made.check_sizes(2, opts["hidden"])
    except ValueError:
        raise UsageError(f"--hidden must be a positive whole number, or sizes separated by commas for several "
                         f"masked hidden layers (e.g. 500 or 500,500), got {opts['hidden']!r}") from None
    _check_numbers(opts)


def _check_conv(opts):
    code = opts["hidden"]
    if isinstance(code, bool) or not isinstance(code, (int, np.integer)) or code < 1:
        raise UsageError(f"--hidden must be a positive whole number for --model conv (the size of the code between "
                         f"the convolutions down and the transposed ones up, e.g. 16), got {code!r}")
    _check_numbers(opts)
    spec.pair(opts["decoder"], opts["loss"], "ConvAutoencoder")


def _build_conv(opts, n_inputs):
    side = math.isqrt(n_inputs)
    if side * side != n_inputs:
        raise UsageError(f"--model conv needs square images (rows of side*side pixels, such as the 8x8 digits or "
                         f"28x28 Fashion-MNIST); {opts['data']} has {n_inputs} features per row")
    return ConvAutoencoder((side, side), opts["hidden"], decoder=opts["decoder"], loss=opts["loss"],
                           seed=opts["seed"])


def _check_numbers(opts):
    lr = opts["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise UsageError(f"--lr must be a positive number such as 0.003, got {lr!r}")
    if isinstance(opts["seed"], bool) or not isinstance(opts["seed"], (int, np.integer)) or opts["seed"] < 0:
        raise UsageError(f"--seed must be a whole number >= 0, got {opts['seed']!r}")


def flag(name, value):
    """How an option is written on the command line, e.g. --batch-size 32, --tied, --hidden 100,30."""
    flag = "--" + name.replace("_", "-")
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return flag if isinstance(value, bool) else f"{flag} {value}"


def model_arguments(opts):
    """The options as Autoencoder's arguments (all but n_inputs, dtype and seed)."""
    noise, level = parse_noise(opts["noise"]) if opts.get("noise") else (None, None)
    hidden = opts["hidden"]
    return {"n_hidden": tuple(hidden) if isinstance(hidden, list) else hidden, "encoder": opts["encoder"],
            "decoder": opts["decoder"], "tied": opts["tied"], "loss": opts["loss"],
            "code_activation": opts.get("code_activation"), "weight_decay": opts.get("weight_decay") or 0.0,
            "noise": noise, "noise_level": level, "sparsity": opts.get("sparsity"),
            "sparsity_weight": opts.get("sparsity_weight"), "contractive": opts.get("contractive") or 0.0}


def build_model(opts, n_inputs):
    """The model the options describe, initialized from --seed (as Autoencoder(seed=...) in a script)."""
    return model_kind(opts.get("model") or DEFAULTS["model"]).build(opts, n_inputs)


# ---------------------------------------------------------------- the models a run can train

class ModelKind(NamedTuple):
    """One --model: its name, what it is (for messages), the options it takes beyond RUN_OPTIONS, its
    defaults where they differ from DEFAULTS', check(opts) (UsageError), build(opts, n_inputs), the pictures
    a run draws (pictures.py's names), and whether its loss is a reconstruction error that the run compares
    with the PCA bound (the autoencoder's) or a (bound on a) negative log-likelihood (the VAE's, MADE's)."""
    name: str
    describe: str
    options: tuple
    defaults: dict
    check: Callable
    build: Callable
    pictures: tuple = ("reconstructions.png", "loss.png", "filters.png")
    pca_bound: bool = True


def _hidden_sizes(hidden):
    return tuple(hidden) if isinstance(hidden, list) else hidden


MODELS = {kind.name: kind for kind in (
    ModelKind("autoencoder", "the lecture's autoencoder and its regularized and deep variants",
              ("hidden", "encoder", "decoder", "loss", "tied", "code_activation", "weight_decay", "noise",
               "sparsity", "sparsity_weight", "contractive"), {}, _check_autoencoder,
              lambda opts, n: Autoencoder(n, seed=opts["seed"], **model_arguments(opts))),
    ModelKind("vae", "the variational autoencoder of pytorch/examples: one ReLU hidden layer each way, a Gaussian "
                     "code, a Bernoulli decoder", ("hidden", "latent"), {"hidden": 400, "latent": 20}, _check_vae,
              lambda opts, n: vae.VAE(n, opts["hidden"], opts["latent"], seed=opts["seed"]),
              ("samples.png", "latent.png", "reconstructions.png", "loss.png"), pca_bound=False),
    ModelKind("made", "MADE, a masked autoencoder for binary data, trained by its negative log-likelihood",
              ("hidden",), {"hidden": 500}, _check_made,
              lambda opts, n: made.MADE(n, _hidden_sizes(opts["hidden"]), seed=opts["seed"]),
              ("samples.png", "loss.png"), pca_bound=False),
    ModelKind("conv", "the convolutional autoencoder: two stride-2 Conv2d+ReLU down to a linear code of --hidden "
                      "numbers, two ConvTranspose2d up (square images)", ("hidden", "decoder", "loss"),
              {"epochs": 60}, _check_conv, _build_conv),
)}


def model_kind(name):
    """The MODELS entry for --model NAME, or a UsageError listing them."""
    key = str(name).strip().lower()
    if key not in MODELS:
        raise UsageError(f"--model must be one of {', '.join(MODELS)}, got {name!r}")
    return MODELS[key]
