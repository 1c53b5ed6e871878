"""The training job behind `python -m tinygrad_ae train`: data, model, the epoch loop, a checkpoint after
every epoch, exact resume, history.csv, pictures, and the closing comparison with PCA.

The loop is the one `Autoencoder.fit` runs (same seed, same weights), written out so that it can save a
checkpoint after every epoch, resume exactly, show progress per batch and stop cleanly on Ctrl-C.
Exit codes: 0 done, 2 a user error (bad option, bad data), 3 the loss diverged, 130 interrupted.
"""
import hashlib
import json
import math
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .autoencoder import Autoencoder
from .data import DATASET_NAMES, load_dataset, train_val_split
from .reference import pca_bound
from .serialization import load, save
from .tensor import no_grad

# What a run uses when the user does not say; decoder and loss follow the lecture's pairing (resolve_options).
# On the embedded digits these defaults take about ten seconds on two cores and end within ~3% of the PCA bound.
DEFAULTS = {"data": "digits", "hidden": 16, "encoder": "sigmoid", "decoder": None, "loss": None, "tied": False,
            "binarize": False, "epochs": 150, "batch_size": 32, "lr": 3e-3, "optimizer": "adam", "seed": 0}
VAL_FRACTION, SPLIT_SEED = 0.2, 0     # fixed, so runs with different seeds are judged on the same rows
CHECKPOINT, MODEL, HISTORY = "checkpoint.npz", "model.npz", "history.csv"
PICTURES = ("reconstructions.png", "loss.png", "filters.png")
PLOT_INSTALL = 'pip install "tinygrad_ae[plot]"   (from a source checkout: pip install ".[plot]")'
EXIT_OK, EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 2, 3, 130
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")

_UMASK = os.umask(0)   # read once; mkstemp makes 0600 files, the outputs get a plain open()'s mode
os.umask(_UMASK)


class UsageError(Exception):
    """A mistake in the options or the data: reported in one line, exit code 2."""


class Diverged(Exception):
    """The loss became NaN or inf."""


# ---------------------------------------------------------------- options

def resolve_options(given):
    """All options of a new run. `given` maps option names to what the user chose (None = not given).

    The decoder and loss follow the lecture: a logistic decoder pairs with cross-entropy, anything else with
    squared error; --binarize (binary inputs) picks that pair unless --decoder or --loss was given.
    """
    opts = {name: default if given.get(name) is None else given[name] for name, default in DEFAULTS.items()}
    decoder, loss = given.get("decoder"), given.get("loss")
    if decoder is None and loss is None:
        decoder, loss = ("sigmoid", "bce") if opts["binarize"] else ("linear", "mse")
    elif decoder is None:
        decoder = "sigmoid" if loss == "bce" else "linear"
    elif loss is None:
        loss = "bce" if decoder == "sigmoid" else "mse"
    opts["decoder"], opts["loss"] = decoder, loss
    opts["data"] = _data_key(opts["data"])
    check_options(opts)
    return opts


def _data_key(data):
    """A data set's name as given, a path made absolute (so a checkpoint resumes from any folder)."""
    data = str(data)
    name = data.strip().lower().replace("_", "-")
    if name in DATASET_NAMES:
        return name
    return str(Path(data).resolve()) if Path(data).exists() else data


def check_options(opts):
    """UsageError for numbers no run can use (the model checks the names and their pairing)."""
    for name in ("hidden", "epochs", "batch_size"):
        value = opts[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be a positive whole number, got {value!r}")
    lr = opts["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise UsageError(f"--lr must be a positive number such as 0.003, got {lr!r}")
    if isinstance(opts["seed"], bool) or not isinstance(opts["seed"], (int, np.integer)) or opts["seed"] < 0:
        raise UsageError(f"--seed must be a whole number >= 0, got {opts['seed']!r}")


def _flag(name, value):
    """How an option is written on the command line, e.g. --batch-size 32, --tied."""
    flag = "--" + name.replace("_", "-")
    return flag if isinstance(value, bool) else f"{flag} {value}"


# ---------------------------------------------------------------- checkpoints

def save_checkpoint(path, model, optimizer, epoch, rng, opts, history, data_digest, bound=None):
    """Everything an exact resume needs, in one .npz written atomically (no pickle: text goes in as JSON).

    bound: (PCA bound, k), kept so a resume need not recompute it (seconds on Fashion-MNIST)."""
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    state.update({f"optimizer.{k}": v for k, v in optimizer.state_dict().items()})
    state.update({f"history.{k}": np.asarray(v, np.float64) for k, v in history.items()})
    state["epoch"] = np.int64(epoch)
    state["rng_state"] = np.array(json.dumps(rng.bit_generator.state))     # 0-d unicode array
    state["options"] = np.array(json.dumps(opts))
    state["data_sha256"] = np.array(data_digest)
    if bound is not None:
        state["pca_bound"], state["pca_k"] = np.float64(bound[0]), np.int64(bound[1])
    save(state, path)


def load_checkpoint(path):
    """The parts of a checkpoint written by save_checkpoint; ValueError if the file is not one."""
    state = load(path)
    missing = [k for k in ("epoch", "rng_state", "options", "data_sha256") if k not in state]
    if missing:
        raise ValueError(f"{path} is not a training checkpoint (it has no {', '.join(missing)}); pass the "
                         f"{CHECKPOINT} that a run wrote into its output folder (not {MODEL})")

    def part(prefix):
        return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}

    options = json.loads(str(state["options"]))
    if not isinstance(options, dict) or not set(DEFAULTS) <= set(options):
        raise ValueError(f"{path}: the checkpoint's options are incomplete; it was not written by this version")
    history = {k: [float(x) for x in v] for k, v in part("history.").items()}
    bound = (float(state["pca_bound"]), int(state["pca_k"])) if "pca_bound" in state and "pca_k" in state else None
    return {"bound": bound, "epoch": int(state["epoch"]), "rng_state": json.loads(str(state["rng_state"])),
            "options": options, "data_sha256": str(state["data_sha256"]),
            "model": part("model."), "optimizer": part("optimizer."), "history": history}


def _restore_rng(state):
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise ValueError(f"the checkpoint's shuffle RNG state names an unknown bit generator {name!r}")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _digest(X):
    return hashlib.sha256(repr(X.shape).encode() + np.ascontiguousarray(X).tobytes()).hexdigest()


# ---------------------------------------------------------------- a run, set up

@dataclass
class Run:
    """A training run between epochs: what the loop reads and updates."""
    opts: dict
    dataset: object                 # data.Dataset (image_shape, name)
    X_train: np.ndarray
    X_val: np.ndarray
    model: Autoencoder
    optimizer: object
    rng: np.random.Generator        # the shuffle order; saved in every checkpoint
    history: dict                   # train_loss, val_loss, seconds: one entry per completed epoch
    epoch: int                      # epochs completed
    out: Path
    digest: str                     # of X_train: a resume must see the same rows
    bound: float                    # PCA bound at k = min(hidden, features) on X_train
    k: int

    @property
    def checkpoint(self):
        return self.out / CHECKPOINT


def load_training_data(opts):
    """(Dataset, X_train, X_val): the rows --data names, binarized if asked, split 80/20 with seed 0."""
    dataset = load_dataset(opts["data"])
    X = dataset.X
    if opts["binarize"]:
        X = (X >= 0.5).astype(np.float32)          # the lecture's binary inputs: pixels at or above half are on
    if len(X) < 3:
        raise UsageError(f"{opts['data']} has {len(X)} rows: at least 3 are needed to hold out "
                         f"{VAL_FRACTION:.0%} for validation")
    X_train, X_val = train_val_split(X, VAL_FRACTION, SPLIT_SEED)
    return dataset, X_train, X_val


def build_model(opts, n_inputs):
    """The Autoencoder the options describe, initialized from --seed (as Autoencoder(seed=...) in a script)."""
    return Autoencoder(n_inputs, opts["hidden"], encoder=opts["encoder"], decoder=opts["decoder"],
                       tied=opts["tied"], loss=opts["loss"], seed=opts["seed"])


def default_out(data):
    """runs/<data>-<date>-<time>/, with a suffix if two runs start in the same second."""
    name = data if data in DATASET_NAMES else Path(data).stem or "data"
    base = Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    out, n = base, 2
    while out.exists():
        out, n = Path(f"{base}-{n}"), n + 1
    return out


def prepare(given):
    """A Run ready to train: a new one from the options, or the one --resume names, exactly as it was saved."""
    if given.get("resume"):
        return _prepare_resume(given)
    opts = resolve_options(given)
    out = Path(given["out"]) if given.get("out") else default_out(opts["data"])
    if (out / CHECKPOINT).exists():
        raise UsageError(f"{out} already holds a {CHECKPOINT} from another run; continue it with "
                         f"--resume {out / CHECKPOINT}, or choose another --out")
    dataset, X_train, X_val = load_training_data(opts)
    digest = _digest(X_train)
    model = build_model(opts, X_train.shape[1])
    X_train, X_val = model.check_data(X_train, "the training rows"), model.check_data(X_val, "the validation rows")
    optimizer = model.make_optimizer(opts["optimizer"], opts["lr"])
    rng = np.random.default_rng(opts["seed"])          # the shuffle order, seeded as Autoencoder.fit does
    history = {"train_loss": [], "val_loss": [], "seconds": []}
    out.mkdir(parents=True, exist_ok=True)
    run = Run(opts, dataset, X_train, X_val, model, optimizer, rng, history, 0, out, digest,
              *_bound(X_train, opts["hidden"]))
    # epoch 0: a Ctrl-C or a divergence in the first epoch still leaves a checkpoint to resume from
    _save(run)
    return run


def _prepare_resume(given):
    path = Path(given["resume"])
    ckpt = load_checkpoint(path)
    opts = ckpt["options"]
    resolved_given = {k: (_data_key(v) if k == "data" else v) for k, v in given.items() if v is not None}
    differ = [k for k in DEFAULTS if k != "epochs" and k in resolved_given and resolved_given[k] != opts.get(k)]
    if differ:
        theirs = " ".join(_flag(k, opts.get(k)) for k in differ)
        raise UsageError(f"--resume continues the run saved in {path} as it was set up ({theirs}); only "
                         f"--epochs and --out may be given with it. Leave out "
                         f"{', '.join('--' + k.replace('_', '-') for k in differ)}, or start a new run")
    if given.get("epochs") is not None:
        opts["epochs"] = given["epochs"]
    check_options(opts)
    dataset, X_train, X_val = load_training_data(opts)
    digest = _digest(X_train)
    if digest != ckpt["data_sha256"]:
        raise UsageError(f"the training rows of {opts['data']} differ from those the checkpoint {path} was "
                         "trained on: the data changed, so the run cannot continue exactly; start a new run")
    model = build_model(opts, X_train.shape[1])
    model.load_state_dict(ckpt["model"])
    X_train, X_val = model.check_data(X_train, "the training rows"), model.check_data(X_val, "the validation rows")
    optimizer = model.make_optimizer(opts["optimizer"], opts["lr"])
    optimizer.load_state_dict(ckpt["optimizer"])
    history = {k: ckpt["history"].get(k, []) for k in ("train_loss", "val_loss", "seconds")}
    out = Path(given["out"]) if given.get("out") else path.parent
    out.mkdir(parents=True, exist_ok=True)
    k = min(opts["hidden"], X_train.shape[1])
    bound = ckpt["bound"] if ckpt["bound"] and ckpt["bound"][1] == k else _bound(X_train, opts["hidden"])
    run = Run(opts, dataset, X_train, X_val, model, optimizer, _restore_rng(ckpt["rng_state"]), history,
              ckpt["epoch"], out, digest, *bound)
    if out.resolve() != path.parent.resolve():
        _save(run)                                      # the new folder starts with the run as it was
    return run


def _bound(X_train, hidden):
    k = min(hidden, X_train.shape[1])      # more hidden units than features: PCA keeps everything
    return pca_bound(X_train, k), k


def _save(run):
    save_checkpoint(run.checkpoint, run.model, run.optimizer, run.epoch, run.rng, run.opts, run.history,
                    run.digest, (run.bound, run.k))
    _write_atomically(run.out / HISTORY, _history_csv(run.history).encode())


def _history_csv(history):
    rows = ["epoch,train_loss,val_loss,seconds"]
    rows += [f"{i + 1},{t:.9g},{v:.9g},{s:.4f}"
             for i, (t, v, s) in enumerate(zip(history["train_loss"], history["val_loss"], history["seconds"]))]
    return "\n".join(rows) + "\n"


def _write_atomically(path, data):
    """Bytes (or, given a function, whatever it writes to a binary file) to path via a temp file + rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            data(f) if callable(data) else f.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- the loop

def train(run, on_batch=None, log=print):
    """Train until run.opts["epochs"] epochs are complete, saving a checkpoint after each one.

    on_batch(epoch, batch_index, loss) runs after every optimizer step (tests use it to interrupt).
    Raises Diverged (the last good checkpoint stays) or KeyboardInterrupt (likewise).
    """
    total, batch_size = run.opts["epochs"], run.opts["batch_size"]
    progress = _progress(run, total, math.ceil(len(run.X_train) / batch_size), log)
    try:
        # overflow on the way to inf/NaN is expected when the learning rate is too high: reported below
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            while run.epoch < total:
                epoch, started = run.epoch + 1, time.perf_counter()

                def after_step(i, loss):
                    progress.batch(loss)
                    if on_batch is not None:
                        on_batch(epoch, i, loss)
                    if not math.isfinite(loss):
                        raise Diverged(f"the loss became {loss} in epoch {epoch} (batch {i + 1})")

                run.model.train_epoch(run.X_train, run.optimizer, batch_size, True, run.rng, on_batch=after_step)
                train_loss, val_loss = run.model.evaluate(run.X_train), run.model.evaluate(run.X_val)
                if not math.isfinite(train_loss):
                    raise Diverged(f"the training loss became {train_loss} after epoch {epoch}")
                for key, value in (("train_loss", train_loss), ("val_loss", val_loss),
                                   ("seconds", time.perf_counter() - started)):
                    run.history[key].append(value)
                run.epoch = epoch
                _save(run)
                progress.epoch(epoch, train_loss, val_loss)
    finally:
        progress.close()


def _progress(run, total, n_batches, log):
    """A tqdm bar over the remaining batches when tqdm is installed, else one plain line per epoch."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _EpochLines(run, total, log)
    return _Bar(tqdm, run, total, n_batches)


class _EpochLines:
    def __init__(self, run, total, log):
        self.run, self.total, self.log = run, total, log
        self.width = len(str(total))

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


class _Bar(_EpochLines):
    def __init__(self, tqdm, run, total, n_batches):
        super().__init__(run, total, None)
        self.bar = tqdm(total=(total - run.epoch) * n_batches, unit="batch", desc=self._desc(run.epoch + 1),
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


# ---------------------------------------------------------------- pictures

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
        _write_atomically(run.out / name, lambda f: fig.savefig(f, format="png", dpi=100))
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


def _draw_reconstructions(fig, run, shape):
    X = run.X_val[:10]
    with no_grad():
        X_hat = run.model(X).numpy()
    fig.set_size_inches(max(4.0, 1.1 * len(X)), 2.8)
    axes = fig.subplots(2, len(X), squeeze=False)
    for j in range(len(X)):
        _show_row(axes[0, j], X[j], shape, "gray_r", (0, 1))
        _show_row(axes[1, j], X_hat[j], shape, "gray_r", (0, 1))
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("reconstruction")
    fig.suptitle(f"validation examples, {run.opts['hidden']} hidden units, epoch {run.epoch}")


def _draw_loss(fig, run, shape):
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator
    ax = fig.subplots()
    epochs = np.arange(1, len(run.history["train_loss"]) + 1)
    ax.plot(epochs, run.history["train_loss"], label="training")
    ax.plot(epochs, run.history["val_loss"], label="validation")
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
    W = run.model.encoder.weight.numpy()[:100]          # (k, n): row i is what hidden unit i responds to
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
    shown = "" if len(W) == run.opts["hidden"] else f" (first {len(W)} of {run.opts['hidden']})"
    fig.suptitle(f"encoder weights of each hidden unit{shown}: red +, blue -")


# ---------------------------------------------------------------- the job, start to end

def run_job(given, on_batch=None, prog="tinygrad-ae"):
    """`train` from start to end: set up, train, write model.npz and pictures, report. Returns the exit code.

    given: the command line's options by name, None where not given (see cli.py). Errors go to stderr
    in one line; no traceback for anything the user can fix.
    """
    try:
        run = prepare(given)
    except KeyboardInterrupt:
        print(f"{prog} train: interrupted before training started", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UsageError, ValueError, OSError) as e:
        print(f"{prog} train: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    _announce(run)
    try:
        train(run, on_batch)
        finish(run)
    except KeyboardInterrupt:
        resume = shlex.join([sys.executable, "-m", "tinygrad_ae", "train", "--resume", str(run.checkpoint)])
        print(f"\ninterrupted: {run.checkpoint} holds the model after epoch {_saved_epoch(run)} of "
              f"{run.opts['epochs']}. Continue with:\n  {resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Diverged as e:
        print(f"{prog} train: training diverged: {e}. The learning rate is too high for this model: try a "
              f"lower one, e.g. --lr {run.opts['lr'] / 10:g}. The checkpoint after the last good epoch "
              f"({run.epoch}) stays in {run.checkpoint}.", file=sys.stderr)
        return EXIT_DIVERGED
    except OSError as e:                    # e.g. the disk filled up: the last checkpoint written stays
        print(f"{prog} train: error while writing to {run.out}: {e}", file=sys.stderr)
        return 1
    return EXIT_OK


def _saved_epoch(run):
    """The epoch the checkpoint on disk holds (a Ctrl-C can land while the next one is being written)."""
    try:
        return int(load(run.checkpoint)["epoch"])
    except (OSError, ValueError, KeyError):
        return run.epoch


def _announce(run):
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


def finish(run):
    """model.npz, the pictures, and the closing report."""
    save(run.model.state_dict(), run.out / MODEL)
    drew = draw_pictures(run)
    train_loss, val_loss = run.history["train_loss"][-1], run.history["val_loss"][-1]
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
    files = [MODEL, HISTORY, CHECKPOINT] + (list(PICTURES) if drew else [])
    lines.append(f"wrote {', '.join(files)} to {run.out}{os.sep}")
    if not drew:
        lines.append(f"skipped {', '.join(PICTURES)}: matplotlib is not installed. Add the pictures with:\n"
                     f"  {PLOT_INSTALL}")
    print("\n".join(lines))
