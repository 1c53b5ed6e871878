"""The package's one training loop: `Autoencoder.fit` and the `train` job both run fit() here.

    fit(model, X, ...)             epochs of train_epoch, each followed by the terms on the whole (clean)
                                   training set and X_val; hooks after every step and every epoch
    train_epoch(model, X, opt)     one pass over X in minibatches, one model.training_step each
    evaluate_terms(model, X)       the objective's terms on all of X in batches, clean inputs, no graph
    make_optimizer(model, "adam")  the optimizer a run names, over the model's parameters
    TrainingDiverged               what a NaN or inf loss raises, with the epoch, the batch and the rate

The model brings the objective; this module brings the passes over the data. The data are checked once,
by fit (model.check_data), not batch by batch. What the loop asks of a model:
  the Autoencoder: check_data, encoder_input, training_step, encode, reconstruction, penalty, penalties;
  every other model (VAE, MADE): check_data, training_step(opt, compile) -> step(x, *step_inputs(x)),
    step_inputs(x) (what a step takes beside the batch, drawn outside it: the VAE's eps),
    batch_terms(x, rng) -> {name: Tensor, ..., "objective": Tensor} (means over the batch's rows), and
    history_terms, the names of the terms kept per epoch beside the objective, e.g. ("reconstruction", "kl").
  Their history's "train" and "val" are the objective (the VAE's negative ELBO, MADE's negative log-likelihood).
"""
import math
import time

import numpy as np

from .. import optim, random
from ..data.rows import iterate_minibatches
from ..engine.tensor import Tensor, no_grad
from ..models import spec


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or inf while training: the learning rate is too high for the model.

    A FloatingPointError, so `except FloatingPointError` catches it. epoch and batch count from 1
    (batch None: the loss on the whole training set after that epoch); lr is the learning rate used."""

    def __init__(self, loss, epoch, batch=None, lr=None):
        where = f"in epoch {epoch} (batch {batch})" if batch is not None else f"after epoch {epoch}"
        rate = "" if lr is None else f" {lr:g}"
        super().__init__(f"training diverged: the loss became {loss} {where}; the learning rate{rate} is too "
                         "high for this model: try a lower learning rate")
        self.loss, self.epoch, self.batch, self.lr = loss, epoch, batch, lr


def make_optimizer(model, optimizer="adam", lr=1e-3):
    """An optimizer over the model's parameters: "adam", "sgd", or an Optimizer passed through."""
    if isinstance(optimizer, optim.Optimizer):
        return optimizer
    kind = spec.check("optimizer", optimizer, spec.OPTIMIZERS)
    return optim.Adam(model.parameters(), lr=lr) if kind == "adam" else optim.SGD(model.parameters(), lr=lr)


def fit(model, X, epochs=10, batch_size=64, lr=1e-3, optimizer="adam", shuffle=True, seed=None,
        X_val=None, callback=None, *, on_step=None, history=None, compile=True):
    """Minibatch training of model on the rows X.

    Returns the history {"train": [...], "val": [...], "seconds": [...]}: after each epoch, the
    reconstruction term on the whole (clean) training set, on X_val (stays empty without X_val), and the
    epoch's wall time; a model with penalties also gets one list per penalty (its value on the training
    set, e.g. history["sparsity"]) and "objective" (the reconstruction term plus the penalties).
    The model trains in training mode (noise on) and goes back to the mode it was in.
    A VAE's or MADE's "train" and "val" are its objective (negative ELBO, negative log-likelihood), with one
    list per name in model.history_terms beside them (the VAE's "reconstruction" and "kl").

    optimizer: "adam", "sgd", or an Optimizer (then lr is not used). seed: an int, a Generator
    (numpy's or tg's), used as is, so its state goes on (how a resumed run keeps its shuffle order), or
    None: the default generator (tg.manual_seed).
    history: a history to continue; its lists grow in place, and `epochs` more epochs are run.
    Hooks, each with the 0-based epoch index (counting the epochs of `history` given):
      on_step(epoch, batch_index, batch_loss) after every optimizer step (e.g. a progress bar);
      callback(epoch, history) after every epoch; returning False stops early.
    compile: run the steps through tg.compile (see Autoencoder.training_step); False runs them eagerly,
    with the same results (bit for bit on the numpy backend, to float tolerance on the fused one).
    A loss that becomes NaN or inf raises TrainingDiverged (a FloatingPointError) at once;
    KeyboardInterrupt goes through, leaving the model as it is after the last step."""
    X = model.check_data(X)
    X_val = None if X_val is None else model.check_data(X_val, "X_val")
    opt = make_optimizer(model, optimizer, lr)
    lr = getattr(opt, "lr", lr)
    rng = random.numpy_generator(seed)
    step = model.training_step(opt, compile)
    if history is None:
        history = {"train": [], "val": [], "seconds": []}
    was_training = model.training
    try:
        for _ in range(epochs):
            if _epoch(model, X, X_val, opt, lr, batch_size, shuffle, rng, history, on_step, callback,
                      step) is False:
                break
    finally:
        model.train(was_training)
    return history


def _epoch(model, X, X_val, opt, lr, batch_size, shuffle, rng, history, on_step, callback, step):
    """One epoch of fit: the pass over X, the terms after it, the history's new entries, the callback."""
    epoch, started = len(history["train"]), time.perf_counter()

    def after_step(i, loss):
        if on_step is not None:
            on_step(epoch, i, loss)
        if not math.isfinite(loss):
            raise TrainingDiverged(loss, epoch + 1, i + 1, lr)

    # a diverging run overflows on its way to inf/nan: that is reported once, in words,
    # instead of as a stream of numpy RuntimeWarnings
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        model.train()
        train_epoch(model, X, opt, batch_size, shuffle, rng, on_batch=after_step, step=step)
        model.eval()
        terms = evaluate_terms(model, X)
        val_loss = None if X_val is None else evaluate(model, X_val)
    train_loss = terms["objective" if _brings_terms(model) else "reconstruction"]
    if not math.isfinite(terms["objective"]):
        raise TrainingDiverged(terms["objective"], epoch + 1, None, lr)
    history["train"].append(train_loss)
    if val_loss is not None:
        history["val"].append(val_loss)
    history["seconds"].append(time.perf_counter() - started)
    for name in _history_terms(model):
        history.setdefault(name, []).append(terms[name])
    return None if callback is None else callback(epoch, history)


def _brings_terms(model):
    """True for a model that brings its own terms (batch_terms: the VAE, MADE), False for the Autoencoder."""
    return hasattr(model, "batch_terms")


def _history_terms(model):
    """The names the history keeps per epoch beside train, val and seconds."""
    if _brings_terms(model):
        return tuple(model.history_terms)
    return model.penalties + ("objective",) if model.penalties else ()


def _step_arguments(model, x):
    """What step() takes for batch x: x, and what is drawn outside the step (noise, eps)."""
    if _brings_terms(model):
        return (x, *model.step_inputs(x))
    if model.noise is not None and model.training:
        return (x, model.encoder_input(x))      # the noise is drawn here, outside the step
    return (x,)


def train_epoch(model, X, optimizer, batch_size=64, shuffle=True, rng=None, on_batch=None, step=None):
    """One pass over X in minibatches; returns the mean of the batch losses (weighted by size).
    X must be what model.check_data() returned: batches are not checked again, step after step.
    The loss is the objective, on corrupted inputs in training mode (see Autoencoder.loss).

    on_batch(batch_index, batch_loss) is called after each step (e.g. for a progress bar).
    step: a model.training_step(optimizer) to use (fit passes one compiled step for all epochs);
    by default an eager one."""
    if step is None:
        step = model.training_step(optimizer, compile=False)
    total = 0.0
    for i, batch in enumerate(iterate_minibatches(X, batch_size, shuffle, rng)):
        x = Tensor(batch)                    # X was checked once, not every batch
        loss = step(*_step_arguments(model, x))
        value = loss.item()
        total += value * len(batch)
        if on_batch is not None:
            on_batch(i, value)
    return total / len(X)


def evaluate(model, X, batch_size=1024):
    """The reconstruction term on all of X (lecture normalization, clean inputs), without building a graph;
    for a model that brings its terms (VAE, MADE), its objective."""
    return evaluate_terms(model, X, batch_size)["objective" if _brings_terms(model) else "reconstruction"]


def evaluate_terms(model, X, batch_size=1024):
    """{"reconstruction", each penalty, "objective"} as floats on all of X, clean inputs, no graph.

    The penalties are those of the whole set: sparsity compares the mean activation over all rows.
    A model that brings its terms (VAE, MADE): its batch_terms added up over the rows; eps drawn from a
    generator of the evaluation's own (seed 0), so the model's generator does not move and the numbers
    are the same at every call."""
    X = model.check_data(X)
    if _brings_terms(model):
        return _model_terms(model, X, batch_size)
    reconstruction = contractive = 0.0
    code_sum = None
    with no_grad():
        for start in range(0, len(X), batch_size):
            x = Tensor(X[start:start + batch_size])
            h = model.encode(x)
            reconstruction += model.reconstruction(x, h).item() * len(x)
            if model.sparsity is not None:
                code_sum = h.data.sum(axis=0, dtype=np.float64) + (0 if code_sum is None else code_sum)
            if model.contractive:
                contractive += model.penalty("contractive", h).item() * len(x)
        terms = {"reconstruction": reconstruction / len(X)}
        if model.weight_decay:
            terms["weight_decay"] = model.penalty("weight_decay", None).item()
        if model.sparsity is not None:
            terms["sparsity"] = model.penalty("sparsity", None, code_mean=Tensor(code_sum / len(X))).item()
        if model.contractive:
            terms["contractive"] = contractive / len(X)
    terms["objective"] = sum(terms.values())
    return terms


def _model_terms(model, X, batch_size):
    rng, sums = np.random.default_rng(0), {}
    with no_grad():
        for start in range(0, len(X), batch_size):
            x = Tensor(X[start:start + batch_size])
            for name, value in model.batch_terms(x, rng).items():
                sums[name] = sums.get(name, 0.0) + value.item() * len(x)
    return {name: total / len(X) for name, total in sums.items()}
