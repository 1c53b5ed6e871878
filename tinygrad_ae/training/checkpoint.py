"""The training checkpoint's format: what an exact resume needs, as arrays for one .npz (no pickle).

    model.<name>       the model's state dict          optimizer.<name>   the optimizer's state dict, flat
    history.<key>      the history (train, val, seconds, and one list per penalty: loop.fit's format)
    epoch              epochs completed                rng_state          the shuffle RNG's state, as JSON text
    model_rng_state    the model's generator (the denoising noise), as JSON text
    options            the run's options, as JSON      data_sha256        digest of the training rows
    pca_bound, pca_k   the PCA bound and its k (optional: saves recomputing it)

The optimizer's nested state dict goes in flat (optim.flat: "step.0", "param_groups.0.lr", ...); its
load_state_dict takes that flat form back, and the first format's (options at the top level) too.
Text goes in as 0-d unicode arrays, so np.load(..., allow_pickle=False) reads every part. The job
(job.py) writes and reads the file; this module only turns a run into arrays and back.
"""
import hashlib
import json

import numpy as np

from ..optim import flat

HISTORY_KEYS = ("train", "val", "seconds")
_OLD_HISTORY_KEYS = {"train_loss": "train", "val_loss": "val"}     # checkpoints written before the one format
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def to_arrays(model, optimizer, epoch, rng, options, history, data_digest, bound=None):
    """The arrays of a checkpoint. bound: (PCA bound, k) or None."""
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    state.update({f"optimizer.{k}": v for k, v in flat.flatten(optimizer.state_dict()).items()})
    state.update({f"history.{k}": np.asarray(v, np.float64) for k, v in history.items()})
    state["epoch"] = np.int64(epoch)
    state["rng_state"] = np.array(json.dumps(rng.bit_generator.state))     # 0-d unicode array
    state["model_rng_state"] = np.array(json.dumps(model.generator.bit_generator.state))
    state["options"] = np.array(json.dumps(options))
    state["data_sha256"] = np.array(data_digest)
    if bound is not None:
        state["pca_bound"], state["pca_k"] = np.float64(bound[0]), np.int64(bound[1])
    return state


def from_arrays(state, path, option_names, later_options=None):
    """The parts of a checkpoint read back from its arrays; ValueError if they are not a checkpoint's.

    Returns a dict: epoch, rng_state, model_rng_state (None in older checkpoints), options, data_sha256,
    bound ((value, k) or None), and model, optimizer (state dicts) and history (lists of floats).
    option_names: the options a run must have; later_options: {name: value} for options added after
    older checkpoints were written, filled in where a checkpoint lacks them."""
    missing = [k for k in ("epoch", "rng_state", "options", "data_sha256") if k not in state]
    if missing:
        raise ValueError(f"{path} is not a training checkpoint (it has no {', '.join(missing)}); pass the "
                         "checkpoint.npz that a run wrote into its output folder (not model.npz)")

    def part(prefix):
        return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}

    options = json.loads(str(state["options"]))
    if isinstance(options, dict):
        options = {**(later_options or {}), **options}
    if not isinstance(options, dict) or not set(option_names) <= set(options):
        raise ValueError(f"{path}: the checkpoint's options are incomplete; it was not written by this version")
    saved = {_OLD_HISTORY_KEYS.get(k, k): [float(x) for x in v] for k, v in part("history.").items()}
    history = {**{k: saved.get(k, []) for k in HISTORY_KEYS}, **saved}
    bound = (float(state["pca_bound"]), int(state["pca_k"])) if "pca_bound" in state and "pca_k" in state else None
    model_rng = json.loads(str(state["model_rng_state"])) if "model_rng_state" in state else None
    return {"bound": bound, "epoch": int(state["epoch"]), "rng_state": json.loads(str(state["rng_state"])),
            "model_rng_state": model_rng,
            "options": options, "data_sha256": str(state["data_sha256"]),
            "model": part("model."), "optimizer": part("optimizer."), "history": history}


def restore_rng(state):
    """The np.random.Generator a checkpoint's rng_state describes, exactly where it stopped."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise ValueError(f"the checkpoint's shuffle RNG state names an unknown bit generator {name!r}")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def digest(X):
    """SHA-256 of the rows' shape and bytes: a resume must train on the same rows."""
    return hashlib.sha256(repr(X.shape).encode() + np.ascontiguousarray(X).tobytes()).hexdigest()
