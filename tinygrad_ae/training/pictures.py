"""The pictures of a training run, drawn with matplotlib when it is installed (the plot extra):

    reconstructions.png   held-out rows (top; one of each class where the data has labels) and the model's
                          reconstructions of them (bottom); a denoising model shows the corrupted inputs between
    loss.png              training and held-out loss per epoch, against the PCA bound
    filters.png           each hidden unit's encoder weights, as an image (a deep model: its first layer)

Rows that are images (the run's data set knows their shape) are drawn as images; other rows as bars
(few features) or a line. Only matplotlib's object API is used: no pyplot, no window, no global state.
"""
import math
from pathlib import Path

import numpy as np

from ..data.datasets import DATASET_NAMES
from ..fileio import atomic_write
from ..engine.tensor import no_grad

PICTURES = ("reconstructions.png", "loss.png", "filters.png")


def draw_pictures(run):
    """reconstructions.png, loss.png and filters.png in run.out; returns False (nothing drawn) without matplotlib."""
    try:
        from matplotlib.figure import Figure     # no pyplot: no display, no global backend change
    except ImportError:
        return False
    shape = run.dataset.image_shape
    if shape is not None and shape[0] * shape[1] != run.X_train.shape[1]:
        shape = None
    for name, draw in zip(PICTURES, (_draw_reconstructions, _draw_loss, _draw_filters)):
        fig = Figure()
        draw(fig, run, shape)
        atomic_write(run.out / name, lambda f: fig.savefig(f, format="png", dpi=100))
    return True


def _show_row(ax, values, shape, cmap, limits):
    """One example or filter: an image when the rows are images, else bars (few features) or a line."""
    if shape is not None:
        ax.imshow(values.reshape(shape), cmap=cmap, vmin=limits[0], vmax=limits[1], interpolation="nearest")
    elif len(values) <= 32:
        ax.bar(np.arange(len(values)), values, width=1.0, color="0.3")
        ax.set_ylim(*limits)
    else:
        ax.plot(values, color="0.3", linewidth=0.8)
        ax.set_ylim(*limits)
    ax.set_xticks([])
    ax.set_yticks([])


def examples(X, y, count=10):
    """Rows to show: the first example of each class (in class order) when there are labels, else the first rows."""
    if y is None:
        return X[:count]
    classes, first = np.unique(np.asarray(y)[:len(X)], return_index=True)
    return X[np.sort(first)[:count]] if len(classes) > count else X[first[:count]]


def _draw_reconstructions(fig, run, shape):
    X = examples(run.X_val, run.y_val)
    rows = [("original", X)]
    with no_grad():
        if run.model.noise is not None:          # a fixed generator: the picture does not move the run's own
            noisy = run.model.corrupt(X, generator=np.random.default_rng(0)).numpy()
            rows.append((f"{run.model.noise} {run.model.noise_level:g}", noisy))
            rows.append(("reconstruction", run.model(noisy).numpy()))
        else:
            rows.append(("reconstruction", run.model(X).numpy()))
    fig.set_size_inches(max(4.0, 1.1 * len(X)), 1.3 * len(rows) + 0.2)
    axes = fig.subplots(len(rows), len(X), squeeze=False)
    for r, (label, images) in enumerate(rows):
        for j in range(len(X)):
            _show_row(axes[r, j], images[j], shape, "gray_r", (0, 1))
        axes[r, 0].set_ylabel(label)
    what = "test" if run.held_out == "test" else "validation"
    fig.suptitle(f"{what} examples, {_hidden_text(run.model)}, epoch {run.epoch}")


def _hidden_text(model):
    if model.deep:
        return "layers " + "-".join(str(k) for k in (model.n_inputs, *model.n_hidden))
    return f"{model.n_hidden} hidden units"


def _draw_loss(fig, run, shape):
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator
    ax = fig.subplots()
    epochs = np.arange(1, len(run.history["train"]) + 1)
    ax.plot(epochs, run.history["train"], label="training")
    ax.plot(epochs, run.history["val"], label="test" if run.held_out == "test" else "validation")
    if run.opts["loss"] == "mse" and run.bound > 0:
        ax.axhline(run.bound, color="k", linestyle="--", linewidth=1, label=f"PCA bound, k = {run.k}")
        ax.set_yscale("log")                # the approach to the bound stays visible
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    name = "squared error" if run.opts["loss"] == "mse" else "cross-entropy"
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"{name} per example")
    ax.legend()
    ax.set_title(f"{run.dataset.name if run.opts['data'] in DATASET_NAMES else Path(run.opts['data']).name}: "
                 f"loss per epoch")


def _draw_filters(fig, run, shape):
    first = run.model.encoder[0] if run.model.deep else run.model.encoder
    W = first.weight.numpy()[:100]          # (k, n): row i is what hidden unit i responds to
    cols = math.ceil(math.sqrt(len(W)))
    rows = math.ceil(len(W) / cols)
    fig.set_size_inches(1.2 * cols, 1.2 * rows + 0.5)
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= len(W):
            ax.set_axis_off()
            continue
        reach = float(np.abs(W[i]).max()) or 1.0
        _show_row(ax, W[i], shape, "RdBu_r", (-reach, reach))
    shown = "" if len(W) == first.out_features else f" (first {len(W)} of {first.out_features})"
    layer = " of the first layer" if run.model.deep else ""
    fig.suptitle(f"encoder weights of each hidden unit{layer}{shown}: red +, blue -")
