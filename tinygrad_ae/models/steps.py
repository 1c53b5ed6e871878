"""What the package's models share: rows given as arrays turned into a checked Tensor, and the training
step (zero_grad, loss, backward, step) that `fit` runs, compiled by default."""
from .. import capture
from ..data.rows import validate_rows
from ..engine.tensor import Tensor


def as_input(model, x):
    """x as a Tensor of the model's dtype: a Tensor as it is, anything else checked as rows of
    model.n_inputs features (a ValueError that says what is wrong)."""
    if isinstance(x, Tensor):
        return x
    return Tensor(validate_rows(x, model.n_inputs, "x").astype(model.dtype, copy=False))


def training_step(model, optimizer, batch_loss, compile=True):
    """step(x, *more): one optimizer step on a checked batch, returning the loss batch_loss(model, x, *more)
    (the model's extra inputs, such as a VAE's eps or a denoising model's corrupted x, drawn outside the
    step so that a compiled step sees new ones at every call). compile=True makes it a tg.compile step:
    eager at its first call, captured at the next two, then replayed. (The closure holds the model
    itself, where tg.compile finds the parameters; batch_loss is a plain function.)"""
    def step(x, *more):
        optimizer.zero_grad()
        loss = batch_loss(model, x, *more)
        loss.backward()
        optimizer.step()
        return loss
    return capture.compile(step) if compile else step
