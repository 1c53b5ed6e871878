"""What the `train` job shows: the opening lines, progress while it trains, history.csv, the closing report.

Progress is a tqdm bar over the batches when tqdm is installed, else one plain line per epoch.
The closing report compares the model with PCA, the best any rank-k linear reconstruction can do.
"""
import math
import os

import numpy as np

from ..models.spec import PENALTIES
from ..models.reference import pca_error
from ..engine.tensor import no_grad

PLOT_INSTALL = 'pip install "tinygrad_ae[plot]"   (from a source checkout: pip install ".[plot]")'


def announce(run):
    """The lines printed before training: the model, the data, the PCA bound and the output folder."""
    if run.epoch >= run.opts["epochs"]:
        print(f"the checkpoint is already at epoch {run.epoch} of {run.opts['epochs']}: nothing to train "
              f"(give --epochs N with N > {run.epoch} to train longer)")
    else:
        shape = run.dataset.image_shape
        images = f", {shape[0]}x{shape[1]} images" if shape else ""
        held_out = "test rows (the data set's test split)" if run.held_out == "test" else "validation rows"
        print(f"{'continuing' if run.epoch else 'training'} {run.model!r}\n"
              f"  on {run.opts['data']}: {len(run.X_train)} training rows, {len(run.X_val)} {held_out}, "
              f"{run.X_train.shape[1]} features{images}; epoch {run.epoch + 1} of {run.opts['epochs']}")
    if run.bound is None:
        print(f"  writing to {run.out}{os.sep}")
    else:
        print(f"  the PCA bound to approach: {run.bound:.6g} (k = {run.k}); writing to {run.out}{os.sep}")


# history.csv's columns after the first four, in this order, for the keys a history has: each penalty's value
# on the training rows and the objective (the reconstruction term plus the penalties); a VAE's two terms
PENALTY_COLUMNS = PENALTIES + ("objective",)
TERM_COLUMNS = PENALTY_COLUMNS + ("reconstruction", "kl")


def history_csv(history):
    """history.csv's text: one row per epoch (epoch, train_loss, val_loss, seconds) under a header.

    train_loss and val_loss are the lecture's reconstruction term on clean rows. A model with penalties
    adds a column per penalty (its value on the training rows) and objective (train_loss + the penalties).
    A VAE's train_loss and val_loss are its negative ELBO, with its terms reconstruction and kl (training
    rows); MADE's its negative log-likelihood."""
    extra = [name for name in TERM_COLUMNS if history.get(name)]
    rows = [",".join(["epoch", "train_loss", "val_loss", "seconds"] + extra)]
    for i, (t, v, s) in enumerate(zip(history["train"], history["val"], history["seconds"])):
        rows.append(",".join([f"{i + 1},{t:.9g},{v:.9g},{s:.4f}"] + [f"{history[name][i]:.9g}" for name in extra]))
    return "\n".join(rows) + "\n"


def closing_report(run, files, drew):
    """The closing lines: losses, the PCA bound, their ratio, and what was written (files) where."""
    if run.bound is None:
        return _model_report(run, files, drew)
    train_loss, val_loss = run.history["train"][-1], run.history["val"][-1]
    m, n = run.X_train.shape
    mse = run.opts["loss"] == "mse"
    run.model.eval()                        # clean inputs from here on
    squared = train_loss if mse else squared_error(run.model, run.X_train)
    loss_name = "squared error" if mse else "cross-entropy"
    held_out = f"the {len(run.X_val)} test rows" if run.held_out == "test" else f"{len(run.X_val)} held-out rows"
    label = "test loss       " if run.held_out == "test" else "validation loss "
    lines = [f"train loss       {train_loss:<10.6g} ({loss_name} summed over {n} features, mean over {m} rows)",
             f"{label} {val_loss:<10.6g} (the same on {held_out})"]
    for name in PENALTY_COLUMNS:
        if run.history.get(name):
            lines.append(f"{name:<16} {run.history[name][-1]:<10.6g} (on the training rows)")
    if not mse:
        lines.append(f"squared error    {squared:<10.6g} (of the training reconstructions, to compare with PCA)")
    lines.append(f"PCA bound        {run.bound:<10.6g} (least squared error of any rank-{run.k} linear "
                 "reconstruction of the training rows)")
    if run.bound > 0:
        lines.append(f"ratio            {squared / run.bound:<10.4f} "
                     f"({'train loss' if mse else 'squared error'} / PCA bound: 1 = as good as PCA)")
    else:
        lines.append(f"ratio            n/a        (the PCA bound is 0: {run.k} components reconstruct "
                     "these rows exactly)")
    test_squared = val_loss if mse else squared_error(run.model, run.X_val)
    if run.bound > 0:       # else PCA keeps every dimension: its error is 0 up to rounding, on any rows
        test_pca = pca_error(run.X_train, run.X_val, run.k)
        lines.append(f"{run.held_out} squared error {test_squared:.6g} against PCA's {test_pca:.6g} (rank {run.k}, "
                     f"fitted on the training rows) on the same {len(run.X_val)} rows: ratio "
                     f"{test_squared / test_pca:.4f}")
    else:
        lines.append(f"{run.held_out} squared error {test_squared:.6g} (PCA with {run.k} components: 0)")
    return "\n".join(lines + _written(run, files, drew))


def _written(run, files, drew):
    from .pictures import pictures_for
    lines = [f"wrote {', '.join(files)} to {run.out}{os.sep}"]
    if not drew:
        lines.append(f"skipped {', '.join(pictures_for(run))}: matplotlib is not installed. Add the pictures "
                     f"with:\n  {PLOT_INSTALL}")
    return lines


def _model_report(run, files, drew):
    """The closing lines of a VAE's or MADE's run: its loss (a bound on, or the, negative log-likelihood)."""
    m, n = run.X_train.shape
    vae = bool(run.history.get("kl"))
    name = "negative ELBO" if vae else "negative log-likelihood"
    held_out = f"the {len(run.X_val)} test rows" if run.held_out == "test" else f"{len(run.X_val)} held-out rows"
    label = "test loss       " if run.held_out == "test" else "validation loss "
    lines = [f"train loss       {run.history['train'][-1]:<10.6g} ({name} in nats per example, mean over {m} rows "
             f"of {n} features)",
             f"{label} {run.history['val'][-1]:<10.6g} (the same on {held_out})"]
    if vae:
        lines += [f"reconstruction   {run.history['reconstruction'][-1]:<10.6g} (cross-entropy of the decoded draw, "
                  "training rows)",
                  f"KL               {run.history['kl'][-1]:<10.6g} (KL(q(z|x) || N(0, I)), training rows)",
                  "the negative ELBO bounds -log p(x) from above; one draw of z per row, eps from seed 0"]
    if not vae or run.opts.get("binarize"):     # a likelihood of binary rows: in bits per feature too
        lines.append(f"bits per feature {run.history['val'][-1] / (n * math.log(2)):<10.4g} (the {run.held_out} loss "
                     f"in bits, over {n} features: 1 = no better than a fair coin per binary feature)")
    return "\n".join(lines + _written(run, files, drew))


def squared_error(model, X, batch_size=1024):
    """Squared error of the model's reconstructions, summed over features, mean over rows (clean inputs)."""
    total = 0.0
    with no_grad():
        for start in range(0, len(X), batch_size):
            batch = X[start:start + batch_size]
            total += float(np.sum((model(batch).numpy().astype(np.float64) - batch) ** 2))
    return total / len(X)


# ---------------------------------------------------------------- progress

def progress(run, log=print):
    """A tqdm bar over the remaining batches when tqdm is installed, else one plain line per epoch.
    Its batch(loss) runs after every step, epoch(epoch, train_loss, val_loss) after every epoch."""
    try:
        from tqdm import tqdm
    except ImportError:
        return EpochLines(run, log)
    return Bar(tqdm, run)


class EpochLines:
    def __init__(self, run, log):
        self.run, self.total, self.log = run, run.opts["epochs"], log
        self.width = len(str(self.total))

    def batch(self, loss):
        pass

    def epoch(self, epoch, train_loss, val_loss):
        compare = f"  train/PCA {train_loss / self.run.bound:.3f}" if self._comparable() else ""
        self.log(f"epoch {epoch:{self.width}d}/{self.total}  train {train_loss:.4f}  val {val_loss:.4f}"
                 f"{compare}  ({self.run.history['seconds'][-1]:.2f} s)")

    def _comparable(self):
        return self.run.opts["loss"] == "mse" and self.run.bound > 0

    def close(self):
        pass


class Bar(EpochLines):
    def __init__(self, tqdm, run):
        super().__init__(run, None)
        n_batches = math.ceil(len(run.X_train) / run.opts["batch_size"])
        self.bar = tqdm(total=(self.total - run.epoch) * n_batches, unit="batch", desc=self._desc(run.epoch + 1),
                        dynamic_ncols=True)
        self.loss_sum = self.steps = 0
        self.val = ""

    def _desc(self, epoch):
        return f"epoch {min(epoch, self.total)}/{self.total}"

    def batch(self, loss):
        # the running loss: the mean over this epoch's batches so far
        self.loss_sum, self.steps = self.loss_sum + loss, self.steps + 1
        self.bar.set_postfix_str(f"loss {self.loss_sum / self.steps:.4f}{self.val}", refresh=False)
        self.bar.update(1)

    def epoch(self, epoch, train_loss, val_loss):
        self.loss_sum = self.steps = 0
        self.val = f", val {val_loss:.4f}"
        self.bar.set_description(self._desc(epoch + 1), refresh=False)
        self.bar.set_postfix_str(f"loss {train_loss:.4f}{self.val}")

    def close(self):
        self.bar.close()
