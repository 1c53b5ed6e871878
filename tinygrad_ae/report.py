"""What the `train` job shows: the opening lines, progress while it trains, history.csv, the closing report.

Progress is a tqdm bar over the batches when tqdm is installed, else one plain line per epoch.
The closing report compares the model with PCA, the best any rank-k linear reconstruction can do.
"""
import math
import os

import numpy as np

from .tensor import no_grad

PLOT_INSTALL = 'pip install "tinygrad_ae[plot]"   (from a source checkout: pip install ".[plot]")'


def announce(run):
    """The lines printed before training: the model, the data, the PCA bound and the output folder."""
    if run.epoch >= run.opts["epochs"]:
        print(f"the checkpoint is already at epoch {run.epoch} of {run.opts['epochs']}: nothing to train "
              f"(give --epochs N with N > {run.epoch} to train longer)")
    else:
        shape = run.dataset.image_shape
        images = f", {shape[0]}x{shape[1]} images" if shape else ""
        print(f"{'continuing' if run.epoch else 'training'} {run.model!r}\n"
              f"  on {run.opts['data']}: {len(run.X_train)} training rows, {len(run.X_val)} validation rows, "
              f"{run.X_train.shape[1]} features{images}; epoch {run.epoch + 1} of {run.opts['epochs']}")
    print(f"  the PCA bound to approach: {run.bound:.6g} (k = {run.k}); writing to {run.out}{os.sep}")


def history_csv(history):
    """history.csv's text: one row per epoch (epoch, train_loss, val_loss, seconds) under a header."""
    rows = ["epoch,train_loss,val_loss,seconds"]
    rows += [f"{i + 1},{t:.9g},{v:.9g},{s:.4f}"
             for i, (t, v, s) in enumerate(zip(history["train"], history["val"], history["seconds"]))]
    return "\n".join(rows) + "\n"


def closing_report(run, files, drew):
    """The closing lines: losses, the PCA bound, their ratio, and what was written (files) where."""
    train_loss, val_loss = run.history["train"][-1], run.history["val"][-1]
    m, n = run.X_train.shape
    mse = run.opts["loss"] == "mse"
    if mse:
        squared = train_loss
    else:
        with no_grad():
            squared = float(np.mean(np.sum((run.model(run.X_train).numpy() - run.X_train) ** 2, axis=1)))
    loss_name = "squared error" if mse else "cross-entropy"
    lines = [f"train loss       {train_loss:<10.6g} ({loss_name} summed over {n} features, mean over {m} rows)",
             f"validation loss  {val_loss:<10.6g} (the same on {len(run.X_val)} held-out rows)"]
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
    lines.append(f"wrote {', '.join(files)} to {run.out}{os.sep}")
    if not drew:
        from .pictures import PICTURES
        lines.append(f"skipped {', '.join(PICTURES)}: matplotlib is not installed. Add the pictures with:\n"
                     f"  {PLOT_INSTALL}")
    return "\n".join(lines)


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
