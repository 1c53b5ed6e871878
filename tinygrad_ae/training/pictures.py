"""The pictures of a training run, drawn with matplotlib when it is installed (the plot extra):

    reconstructions.png   held-out rows (top; one of each class where the data has labels) and the model's
                          reconstructions of them (bottom); a denoising model shows the corrupted inputs between
    loss.png              training and held-out loss per epoch, against the PCA bound
    filters.png           each hidden unit's encoder weights, as an image (a deep model: its first layer)

A VAE run draws samples.png (decoded draws from the prior), latent.png (the codes mu of the held-out rows,
coloured by class where the data has labels; their 2-D PCA projection when the code is larger),
reconstructions.png (decoded from mu) and loss.png (the negative ELBO, and its two terms); a MADE run
samples.png (drawn input by input) and loss.png (the negative log-likelihood); a conv autoencoder's run the
autoencoder's three, filters.png showing its first convolution's kernels. Each --model's entry in
options.MODELS names the pictures it draws.

Rows that are images (the run's data set knows their shape) are drawn as images; other rows as bars
(few features) or a line. Only matplotlib's object API is used: no pyplot, no window, no global state.
"""
import math
from pathlib import Path

import numpy as np

from .options import MODELS, model_kind
from ..data.datasets import DATASET_NAMES
from ..fileio import atomic_write
from ..engine.tensor import no_grad

PICTURES = MODELS["autoencoder"].pictures      # the autoencoder's
ALL_PICTURES = tuple(dict.fromkeys(name for kind in MODELS.values() for name in kind.pictures))


def pictures_for(run):
    """The names of the pictures a run draws: its --model's (options.MODELS)."""
    return model_kind(run.opts.get("model") or "autoencoder").pictures


def draw_pictures(run):
    """pictures_for(run) in run.out (the autoencoder's: reconstructions.png, loss.png and filters.png); returns
    False (nothing drawn) without matplotlib."""
    try:
        from matplotlib.figure import Figure     # no pyplot: no display, no global backend change
    except ImportError:
        return False
    shape = run.dataset.image_shape
    if shape is not None and shape[0] * shape[1] != run.X_train.shape[1]:
        shape = None
    generative = not model_kind(run.opts.get("model") or "autoencoder").pca_bound
    draws = {"reconstructions.png": _draw_reconstructions, "filters.png": _draw_filters,
             "loss.png": _draw_terms if generative else _draw_loss, "samples.png": _draw_samples,
             "latent.png": _draw_latent}
    for name in pictures_for(run):
        draw = draws[name]
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
        if hasattr(run.model, "n_latent"):      # the VAE: decoded from the code's mean, no draw
            rows.append(("reconstruction", run.model.decode(run.model.encode(X)[0]).numpy()))
        elif getattr(run.model, "noise", None) is not None:     # a fixed generator: the picture does not move the run's own
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
    if hasattr(model, "channels"):                  # the conv autoencoder
        return f"channels {'-'.join(map(str, model.channels))}, {model.code_size}-number code"
    if hasattr(model, "n_latent"):
        return f"{model.n_hidden} hidden units, {model.n_latent}-d code"
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
    conv = hasattr(run.model, "channels")   # the conv autoencoder: its first layer's kernels, one per channel
    first = run.model.encoder[0] if conv or run.model.deep else run.model.encoder
    W = first.weight.numpy()[:100]          # (k, n): row i is what hidden unit i responds to
    if conv:
        W, shape = W.reshape(len(W), -1), first.kernel_size
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
    total = first.weight.shape[0]
    shown = "" if len(W) == total else f" (first {len(W)} of {total})"
    if conv:
        fig.suptitle(f"the first convolution's {shape[0]}x{shape[1]} kernels,\none per channel{shown}: red +, blue -")
        return
    layer = " of the first layer" if run.model.deep else ""
    fig.suptitle(f"encoder weights of each hidden unit{layer}{shown}: red +, blue -")


# ---------------------------------------------------------------- the VAE's and MADE's pictures

def _title(run):
    return run.dataset.name if run.opts["data"] in DATASET_NAMES else Path(run.opts["data"]).name


def _draw_samples(fig, run, shape):
    with no_grad():             # a fixed generator: the picture does not move the run's own
        X = run.model.sample(64, generator=np.random.default_rng(0)).numpy()
    cols = 8 if shape is not None else 4
    rows = math.ceil(len(X) / cols) if shape is not None else 4
    X = X[:rows * cols]
    fig.set_size_inches(1.1 * cols, 1.1 * rows + 0.5)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, row in zip(axes.flat, X):
        _show_row(ax, row, shape, "gray_r", (0, 1))
    how = "decoded draws from the prior N(0, I)" if hasattr(run.model, "n_latent") else "drawn input by input"
    fig.suptitle(f"{_title(run)}: samples, {how}, epoch {run.epoch}")


def _draw_latent(fig, run, shape):
    with no_grad():
        mu = run.model.encode(run.X_val[:5000])[0].numpy().astype(np.float64)
    what = "test" if run.held_out == "test" else "validation"
    if mu.shape[1] == 2:
        points, axes_names = mu, ("z1", "z2")
    elif mu.shape[1] > 2:       # the plane that keeps most of the codes' variance
        from ..models.reference import pca_components
        mean, components = pca_components(mu, 2)
        points, axes_names = (mu - mean) @ components.T, ("first principal component", "second")
    else:
        points, axes_names = np.column_stack([mu[:, 0], np.zeros(len(mu))]), ("z1", "")
    fig.set_size_inches(6.5, 5.5)
    ax = fig.subplots()
    y = None if run.y_val is None else np.asarray(run.y_val)[:len(points)]
    if y is None:
        ax.scatter(points[:, 0], points[:, 1], s=3, color="0.3")
    else:
        for label in np.unique(y):
            chosen = y == label
            ax.scatter(points[chosen, 0], points[chosen, 1], s=3, label=str(label))
        ax.legend(markerscale=4, fontsize="small", title="class")
    ax.set_xlabel(axes_names[0])
    ax.set_ylabel(axes_names[1])
    plane = "" if mu.shape[1] == 2 else f" (projected from {mu.shape[1]} dimensions)"
    fig.suptitle(f"{_title(run)}: the codes mu of {len(points)} {what} rows{plane}")


def _draw_terms(fig, run, shape):
    from matplotlib.ticker import MaxNLocator
    history, what = run.history, "test" if run.held_out == "test" else "validation"
    epochs = np.arange(1, len(history["train"]) + 1)
    terms = [name for name in getattr(run.model, "history_terms", ()) if history.get(name)]
    fig.set_size_inches(6.4 * (1 + bool(terms)), 4.8)
    axes = fig.subplots(1, 1 + bool(terms), squeeze=False)[0]
    name = "negative ELBO" if terms else "negative log-likelihood"
    axes[0].plot(epochs, history["train"], label="training")
    axes[0].plot(epochs, history["val"], label=what)
    axes[0].set_ylabel(f"{name} per example (nats)")
    axes[0].set_title(f"{_title(run)}: {name}")
    for term in terms:
        axes[-1].plot(epochs, history[term], label={"kl": "KL(q(z|x) || N(0, I))"}.get(term, term))
    if terms:
        axes[-1].set_title("its terms on the training rows")
        axes[-1].set_ylabel("nats per example")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
