"""An optimizer's state dict as one flat dict of arrays (what `tg.save` writes, and the training
checkpoint's "optimizer." part), and back.

    <name>.<index>              parameter <index>'s state <name> (step as an integer): the first format's keys
    param_groups.<g>.<option>   group g's options (a pair such as betas as a 1-d array)
    param_groups.<g>.params     group g's parameter indices

The first format (before parameter groups) had one group over all parameters, its options at the top
level (`lr`, `betas`...): `unflatten` still reads it.
"""
import re

import numpy as np

_STATE = re.compile(r"^(\w+)\.(\d+)$")
_GROUP = re.compile(r"^param_groups\.(\d+)\.(\w+)$")


def flatten(state_dict):
    """{key: ndarray} of a nested state dict (state_dict())."""
    out = {}
    for i, entry in state_dict["state"].items():
        for name, value in entry.items():
            out[f"{name}.{i}"] = np.array(int(value)) if name == "step" else np.array(value)
    for g, group in enumerate(state_dict["param_groups"]):
        for key, value in group.items():
            if value is None or isinstance(value, dict):
                raise TypeError(f"optim.flat.flatten: group {g}'s {key!r} is {value!r}, which has no array form")
            out[f"param_groups.{g}.{key}"] = np.array(value, np.int64) if key == "params" else np.array(value)
    return out


def _value(array):
    """A group option back as Python: bool, int, float, str, or a tuple (betas)."""
    a = np.asarray(array)
    if a.ndim == 1:         # betas a tuple, param_names a list (as they were)
        return [str(x) for x in a] if a.dtype.kind == "U" else tuple(x.item() for x in a)
    return a.item() if a.dtype.kind != "U" else str(a)


def unflatten(arrays, group_sizes, owner="optim.flat.unflatten"):
    """The nested state dict of flat arrays. group_sizes: the optimizer's group lengths, which the
    first format (one group over all parameters, no indices) needs."""
    state, groups, top = {}, {}, {}
    for key, value in arrays.items():
        match = _GROUP.match(key)
        if match:
            groups.setdefault(int(match[1]), {})[match[2]] = value
            continue
        match = _STATE.match(key)
        if match:
            state.setdefault(int(match[2]), {})[match[1]] = np.asarray(value)
        else:
            top[key] = value
    if groups and top:
        raise ValueError(f"{owner}: unexpected keys {sorted(top)} beside the param_groups.* keys")
    if not groups:                                  # the first format: one group, options at the top level
        if len(group_sizes) != 1:
            raise ValueError(f"{owner}: a state dict of the first format (one group) cannot load into an "
                             f"optimizer with {len(group_sizes)} parameter groups")
        if not top:
            raise ValueError(f"{owner}: the dict has no options (no 'lr', no param_groups.* keys); pass what "
                             "state_dict() returned")
        groups = {0: {**top, "params": np.arange(group_sizes[0])}}
    if sorted(groups) != list(range(len(groups))):
        raise ValueError(f"{owner}: the groups are numbered {sorted(groups)}; expected 0 to {len(groups) - 1}")
    param_groups = []
    for g in range(len(groups)):
        group = {k: _value(v) for k, v in groups[g].items() if k != "params"}
        if "params" not in groups[g]:
            raise ValueError(f"{owner}: group {g} has no param_groups.{g}.params key")
        group["params"] = [int(i) for i in np.asarray(groups[g]["params"]).reshape(-1)]
        param_groups.append(group)
    return {"state": dict(sorted(state.items())), "param_groups": param_groups}
