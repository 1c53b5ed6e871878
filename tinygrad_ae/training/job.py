"""The training job behind `python -m tinygrad_ae train`: options, setup, a checkpoint after every epoch,
exact resume, and the end of a run (model.npz, pictures, report).

The run's options (their defaults, checks and the model they describe) are in options.py.
The loop itself is the library's one loop, loop.fit (what Autoencoder.fit runs): this job hands it the run's
optimizer, shuffle RNG and history (restored from the checkpoint on --resume) and hooks for progress (per
step) and for the checkpoint (per epoch). The parts around it: checkpoint.py (the file's format), report.py
(progress, the opening and closing lines), pictures.py, fileio.py (the atomic write).
Exit codes: 0 done, 2 a user error (bad option, bad data), 3 the loss diverged, 130 interrupted.
"""
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import checkpoint, loop, report
from .loop import TrainingDiverged
from .options import (DEFAULTS, LATER_OPTIONS, UsageError, build_model, check_options, data_key, flag,
                      hidden_option, model_kind, noise_option, resolve_options)
from .pictures import ALL_PICTURES, draw_pictures, pictures_for
from ..data.datasets import DATASET_NAMES, has_test_split, load_dataset
from ..data.rows import train_val_split
from ..fileio import atomic_write, remove_stale_temporaries
from ..models.reference import pca_bound
from ..serialization import load, save

VAL_FRACTION, SPLIT_SEED = 0.2, 0     # fixed, so runs with different seeds are judged on the same rows
CHECKPOINT, MODEL, HISTORY = "checkpoint.npz", "model.npz", "history.csv"
RUN_FILES = (CHECKPOINT, MODEL, HISTORY, *ALL_PICTURES)        # every file the job writes into its run folder
EXIT_OK, EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 2, 3, 130
PLOT_INSTALL = report.PLOT_INSTALL


# ---------------------------------------------------------------- checkpoints (format: checkpoint.py)

def save_checkpoint(path, model, optimizer, epoch, rng, opts, history, data_digest, bound=None):
    """Everything an exact resume needs, in one .npz written atomically. bound: (PCA bound, k) or None."""
    save(checkpoint.to_arrays(model, optimizer, epoch, rng, opts, history, data_digest, bound), path)


def load_checkpoint(path):
    """The parts of a checkpoint written by save_checkpoint (see checkpoint.from_arrays); ValueError if the
    file is not one."""
    return checkpoint.from_arrays(load(path), path, DEFAULTS, {k: DEFAULTS[k] for k in LATER_OPTIONS})


# ---------------------------------------------------------------- a run, set up

@dataclass
class Run:
    """A training run between epochs: what the loop reads and updates."""
    opts: dict
    dataset: object                 # data.Dataset (image_shape, name)
    X_train: np.ndarray
    X_val: np.ndarray               # the held-out rows: the official test split where the data has one
    model: object                   # an Autoencoder, VAE or MADE (options.MODELS)
    optimizer: object
    rng: np.random.Generator        # the shuffle order; saved in every checkpoint
    history: dict                   # loop.fit's: train, val, seconds, one entry per epoch
    epoch: int                      # epochs completed
    out: Path
    digest: str                     # of X_train: a resume must see the same rows
    bound: object                   # PCA bound at k = min(code size, features) on X_train (None: not an
    k: object                       # autoencoder, whose numbers are no reconstruction error)
    y_val: object = None            # labels of X_val, or None
    held_out: str = "validation"    # what X_val is: "test" (the data set's own test split) or "validation"

    @property
    def checkpoint(self):
        return self.out / CHECKPOINT


def load_training_data(opts):
    """(Dataset, X_train, X_val, y_val, held_out): the rows --data names, binarized if asked.

    A data set with an official test split (Fashion-MNIST, MNIST, a folder of IDX files with t10k-* files)
    trains on its training files and holds out its test files (held_out "test"); any other is split 80/20
    with seed 0 (held_out "validation"). y_val: the held-out rows' labels, or None."""
    dataset = load_dataset(opts["data"])
    test = _test_split(opts["data"])
    binarize = (lambda X: (X >= 0.5).astype(np.float32)) if opts["binarize"] else (lambda X: X)
    X = binarize(dataset.X)                        # the lecture's binary inputs: pixels at or above half are on
    if test is not None:
        return dataset, X, binarize(test.X), test.y, "test"
    if len(X) < 3:
        raise UsageError(f"{opts['data']} has {len(X)} rows: at least 3 are needed to hold out "
                         f"{VAL_FRACTION:.0%} for validation")
    X_train, X_val = train_val_split(X, VAL_FRACTION, SPLIT_SEED)
    y_val = None if dataset.y is None else train_val_split(dataset.y, VAL_FRACTION, SPLIT_SEED)[1]
    return dataset, X_train, X_val, y_val, "validation"


def _test_split(data):
    """The data set's own test rows (a Dataset), or None if it has none."""
    if data == "digits" or not has_test_split(data):
        return None
    return load_dataset(data, split="test")


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
    dataset, X_train, X_val, y_val, held_out = load_training_data(opts)
    digest = checkpoint.digest(X_train)
    model = build_model(opts, X_train.shape[1])
    X_train, X_val = model.check_data(X_train, "the training rows"), model.check_data(X_val, f"the {held_out} rows")
    optimizer = loop.make_optimizer(model, opts["optimizer"], opts["lr"])
    rng = np.random.default_rng(opts["seed"])          # the shuffle order, seeded as loop.fit does
    history = {key: [] for key in checkpoint.HISTORY_KEYS}
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out)
    run = Run(opts, dataset, X_train, X_val, model, optimizer, rng, history, 0, out, digest,
              *_bound(X_train, model, opts), y_val, held_out)
    # epoch 0: a Ctrl-C or a divergence in the first epoch still leaves a checkpoint to resume from
    _save(run)
    return run


def _prepare_resume(given):
    path = Path(given["resume"])
    ckpt = load_checkpoint(path)
    opts = ckpt["options"]
    normalize = {"data": data_key, "hidden": hidden_option, "noise": noise_option,
                 "model": lambda name: model_kind(name).name}
    resolved_given = {k: normalize.get(k, lambda v: v)(v) for k, v in given.items() if v is not None}
    differ = [k for k in DEFAULTS if k != "epochs" and k in resolved_given and resolved_given[k] != opts.get(k)]
    if differ:
        theirs = " ".join(flag(k, opts.get(k)) for k in differ)
        raise UsageError(f"--resume continues the run saved in {path} as it was set up ({theirs}); only "
                         f"--epochs and --out may be given with it. Leave out "
                         f"{', '.join('--' + k.replace('_', '-') for k in differ)}, or start a new run")
    if given.get("epochs") is not None:
        opts["epochs"] = given["epochs"]
    check_options(opts)
    dataset, X_train, X_val, y_val, held_out = load_training_data(opts)
    digest = checkpoint.digest(X_train)
    if digest != ckpt["data_sha256"]:
        raise UsageError(f"the training rows of {opts['data']} differ from those the checkpoint {path} was "
                         "trained on: the data changed, so the run cannot continue exactly; start a new run")
    model = build_model(opts, X_train.shape[1])
    model.load_state_dict(ckpt["model"])
    if ckpt["model_rng_state"] is not None:            # the noise goes on exactly where it stopped
        model.generator = checkpoint.restore_rng(ckpt["model_rng_state"])
    X_train, X_val = model.check_data(X_train, "the training rows"), model.check_data(X_val, f"the {held_out} rows")
    optimizer = loop.make_optimizer(model, opts["optimizer"], opts["lr"])
    optimizer.load_state_dict(ckpt["optimizer"])
    history = ckpt["history"]
    out = Path(given["out"]) if given.get("out") else path.parent
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path.parent, out)
    k = min(model.code_size, X_train.shape[1]) if model_kind(opts["model"]).pca_bound else None
    bound = ckpt["bound"] if ckpt["bound"] and ckpt["bound"][1] == k else _bound(X_train, model, opts)
    run = Run(opts, dataset, X_train, X_val, model, optimizer, checkpoint.restore_rng(ckpt["rng_state"]), history,
              ckpt["epoch"], out, digest, *bound, y_val, held_out)
    if out.resolve() != path.parent.resolve():
        _save(run)                                      # the new folder starts with the run as it was
    return run


def _remove_stale_temporaries(*folders):
    """Delete the temporary files that writes killed outright (SIGKILL, power loss) left in the run's
    folders: atomic_write's `<name>.<8 hex>.tmp` of the files this job writes, nothing else. The run
    owns its folder, so no write into it is under way when it starts."""
    for folder in dict.fromkeys(Path(f).resolve() for f in folders):
        remove_stale_temporaries(folder, RUN_FILES)


def _bound(X_train, model, opts):
    if not model_kind(opts["model"]).pca_bound:     # a VAE's or MADE's loss is not a squared error
        return None, None
    k = min(model.code_size, X_train.shape[1])      # more code units than features: PCA keeps everything
    return pca_bound(X_train, k), k


def _save(run):
    save_checkpoint(run.checkpoint, run.model, run.optimizer, run.epoch, run.rng, run.opts, run.history,
                    run.digest, None if run.bound is None else (run.bound, run.k))
    atomic_write(run.out / HISTORY, report.history_csv(run.history))


# ---------------------------------------------------------------- the loop: loop.fit, with hooks

def train(run, on_batch=None, log=print, compile=True):
    """Train until run.opts["epochs"] epochs are complete, saving a checkpoint after each one.

    on_batch(epoch, batch_index, loss) runs after every optimizer step, epoch counted from 1 (tests use it
    to interrupt). Raises TrainingDiverged or KeyboardInterrupt; the last checkpoint written stays.
    compile=False (--no-compile) runs the steps eagerly; the results are the same (bit for bit on the
    numpy backend, to float tolerance on the fused one).
    """
    if run.epoch >= run.opts["epochs"]:
        return
    progress = report.progress(run, log)

    def on_step(epoch, i, loss):
        progress.batch(loss)
        if on_batch is not None:
            on_batch(epoch + 1, i, loss)

    def after_epoch(epoch, history):
        run.epoch = epoch + 1
        _save(run)
        progress.epoch(run.epoch, history["train"][-1], history["val"][-1])

    try:
        loop.fit(run.model, run.X_train, epochs=run.opts["epochs"] - run.epoch, batch_size=run.opts["batch_size"],
                 optimizer=run.optimizer, seed=run.rng, X_val=run.X_val, callback=after_epoch,
                 on_step=on_step, history=run.history, compile=compile)
    finally:
        progress.close()


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
    report.announce(run)
    try:
        train(run, on_batch, compile=given.get("compile") is not False)
        finish(run)
    except KeyboardInterrupt:
        resume = shlex.join([sys.executable, "-m", "tinygrad_ae", "train", "--resume", str(run.checkpoint)])
        print(f"\ninterrupted: {run.checkpoint} holds the model after epoch {_saved_epoch(run)} of "
              f"{run.opts['epochs']}. Continue with:\n  {resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except TrainingDiverged as e:        # the library's message, and what to type here
        print(f"{prog} train: {e}, e.g. --lr {run.opts['lr'] / 10:g}. The checkpoint after the last good "
              f"epoch ({run.epoch}) stays in {run.checkpoint}.", file=sys.stderr)
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


def finish(run):
    """model.npz, the pictures, and the closing report."""
    save(run.model.state_dict(), run.out / MODEL)
    drew = draw_pictures(run)
    print(report.closing_report(run, [MODEL, HISTORY, CHECKPOINT] + (list(pictures_for(run)) if drew else []), drew))
