"""`param_groups` and its entries: a list and dicts whose writes reach the 0-d arrays a step reads.

A hyperparameter set in a group (`group["lr"] = x`: a scheduler, the user, load_state_dict) is
checked by the optimizer and written into the group's 0-d arrays in place, so a captured step that
reads them follows it. A change a replay could not see (a group added, removed or replaced, a group's
"params" replaced) renews every group's arrays: a replay bound to the old ones captures again.
"""
import types

import numpy as np

from ..capture.calls import Workspace

FLOAT64 = np.dtype(np.float64)


class ParamGroup(dict):
    """One of `param_groups`: a dict whose hyperparameters, when set, are checked and written into the
    0-d arrays the rule reads (`numbers`: dtype -> namespace of 0-d arrays). Other keys (a scheduler's
    "initial_lr") are plain entries. `work`: [parameter, scratch buffers] pairs."""

    def __init__(self, owner, values):
        super().__init__(values)
        self.owner, self.numbers = owner, {}
        self._new_work()

    def _new_work(self):
        """[parameter, its scratch buffers (not state)] for each of "params": what the step walks."""
        self.work = [[p, Workspace(scratch=np.empty_like(p.data))] for p in self["params"]]

    def __setitem__(self, key, value):
        owner = self.owner
        if key == "params":
            value = owner._check_params(value, self)
            dict.__setitem__(self, key, value)
            self._new_work()
            owner._renew()
        elif key in owner.defaults:
            value = owner._convert(key, value)
            owner._check({**self, key: value})
            dict.__setitem__(self, key, value)
            owner._write(self)
        else:
            dict.__setitem__(self, key, value)

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __delitem__(self, key):
        if key in self.owner.defaults or key == "params":
            raise KeyError(f"{type(self.owner).__name__}: param group option {key!r} cannot be removed")
        dict.__delitem__(self, key)

    def pop(self, key, *default):
        if key in self.owner.defaults or key == "params":
            raise KeyError(f"{type(self.owner).__name__}: param group option {key!r} cannot be removed")
        return dict.pop(self, key, *default)

    def numbers_for(self, dtype):
        """numbers_of(this group's options) as 0-d arrays of dtype: made once, rewritten in place."""
        n = self.numbers.get(dtype)
        if n is None:
            n = self.numbers[dtype] = types.SimpleNamespace()
            self.owner._write(self, dtype)
            n.float64 = n if dtype == FLOAT64 else self.numbers_for(FLOAT64)   # (Adam's bias corrections)
        return n


class ParamGroups(list):
    """`param_groups`: a list whose new entries become ParamGroups (with fresh arrays, so a replay
    that read the old ones captures again)."""

    def __init__(self, owner, groups=()):
        super().__init__(groups)
        self.owner = owner

    def __setitem__(self, index, value):
        owner = self.owner
        new = [owner._group(v) for v in value] if isinstance(index, slice) else owner._group(value)
        list.__setitem__(self, index, new)
        owner._renew()

    def __delitem__(self, index):
        list.__delitem__(self, index)
        self.owner._renew()

    def append(self, value):
        self.owner.add_param_group(value)

    def extend(self, values):
        for value in values:
            self.owner.add_param_group(value)

    def insert(self, index, value):
        list.insert(self, index, self.owner._group(value))
        self.owner._renew()

    def pop(self, index=-1):
        value = list.pop(self, index)
        self.owner._renew()
        return value

    def remove(self, value):
        list.remove(self, value)
        self.owner._renew()

    def clear(self):
        list.clear(self)
        self.owner._renew()
