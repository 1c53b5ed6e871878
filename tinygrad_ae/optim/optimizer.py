"""The optimizer base: torch's parameter groups, per-parameter state, the numbers a rule multiplies by.

`param_groups` is torch's list of dicts, each with "params" and its own options. Each group is a
`ParamGroup`, a dict whose `__setitem__` checks a hyperparameter and writes the numbers the rule
multiplies by (`numbers_of`) into 0-d arrays of each parameter dtype, in place (numpy multiplies an
array by a 0-d array of its own dtype exactly as by the Python float). The rule reads only those
arrays, so a captured step (`tg.compile`), which replays numpy calls and never runs step()'s Python,
follows `group["lr"] = x` from a scheduler or the user. Why writes and not a re-read in step(): a
replay does not run step(). What a replay cannot see change is made visible to it: a group replaced
or added, or a group's "params" replaced, gets fresh arrays (`_renew`), and a replay that finds
another array where it read one captures again.

`state` is torch's `defaultdict(dict)` keyed by parameter; `state_dict()` is torch's nested shape
({"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}), with numpy arrays.
"""
import collections
import numbers

import numpy as np

from ..engine.tensor import Tensor, enable_grad
from . import flat
from .groups import ParamGroup, ParamGroups  # noqa: F401 (ParamGroup: the type of param_groups' entries)

FLOAT64 = np.dtype(np.float64)


def real(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    return float(value)


def count_dtype(dtype):
    """The dtype of a parameter's step count: a float, as torch keeps it, of the parameter's precision
    (exact up to 2^24 steps in float32) but never below float32."""
    return np.promote_types(dtype, np.float32)


def refuse(optimizer, **options):
    """torch's implementation switches that change how the rule runs (fused kernels, differentiable
    steps, captured CUDA graphs): refused when on, by name."""
    for name, value in options.items():
        if value:
            raise NotImplementedError(f"{type(optimizer).__name__}: {name}={value!r} is not supported (numpy "
                                      f"runs one implementation of the rule); leave {name} at its default")


class Optimizer:
    """Base class: parameter groups, state, the numbers of each group, state dicts. A subclass passes
    its `defaults` (torch's, in torch's order), checks them (`_check`), says what numbers they make
    (`numbers_of`) and writes one parameter's rule (`update`)."""

    state_names = ()        # what every parameter's state has once it has any (load_state_dict checks)
    optional_state = ()     # what it may have too (amsgrad's max_exp_avg_sq...)
    added_options = ("maximize", "amsgrad", "decoupled_weight_decay")   # newer than the first format: a
    #                         state dict without them loads with the defaults (as torch's __setstate__)

    def __init__(self, params, defaults):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors or dicts such as "
                            "model.parameters(); got a single Tensor, wrap it in a list")
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors or dicts, "
                            f"got {type(params).__name__}") from None
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list; pass e.g. model.parameters()")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.defaults = {k: self._convert(k, v) for k, v in defaults.items()}
        self._check(self.defaults)
        for key in self.defaults:           # the shorthand properties, made once per class
            if not hasattr(type(self), key):
                setattr(type(self), key, self._shorthand(key))
        self.state = collections.defaultdict(dict)   # parameter -> its state, as torch's optimizer.state
        self._param_groups = ParamGroups(self)
        for group in groups:
            self.add_param_group(group)

    # ----- groups ---------------------------------------------------------------------------------
    @property
    def param_groups(self):
        return self._param_groups

    @param_groups.setter
    def param_groups(self, groups):
        self._param_groups = ParamGroups(self, [self._group(g) for g in groups])
        self._renew()

    def add_param_group(self, param_group):
        """Add a group (a dict with "params"); options it does not give take the defaults."""
        group = self._group(param_group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError(f"{type(self).__name__}.add_param_group: some parameters appear in more than one "
                             "parameter group")
        list.append(self.param_groups, group)
        self._renew()

    def _group(self, param_group):
        """A ParamGroup from a dict: params checked, options converted and checked, defaults filled in."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict with 'params', got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group must have a 'params' entry")
        values = {k: (self._convert(k, v) if k in self.defaults else v) for k, v in param_group.items()}
        params = param_group["params"]
        if not isinstance(params, (Tensor, set)):
            params = list(params)
            named = [isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in params]
            if any(named):          # model.named_parameters(), as torch 2.x takes it
                if not all(named):
                    raise ValueError(f"{name}: all parameters must be given with names, or none; some names are "
                                     "missing")
                values["param_names"], params = [n for n, _ in params], [p for _, p in params]
        values["params"] = self._check_params(params, None)
        for k, v in self.defaults.items():
            values.setdefault(k, v)
        self._check(values)
        return ParamGroup(self, values)

    def _check_params(self, params, group):
        name = type(self).__name__
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: parameters must be given in an ordered collection (a list), not a set; "
                            "a set's order changes between runs")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors, got {type(params).__name__}") from None
        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, expected a Tensor")
            if not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} is not a leaf Tensor (it was computed from others); "
                                 "optimize the tensors the computation starts from")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} appears more than once in the parameter list")
            seen.add(id(p))
        return params

    @property
    def params(self):
        """All parameters, group after group (a new list)."""
        return [p for g in self.param_groups for p in g["params"]]

    def _renew(self):
        """Fresh number arrays for every group: a replay bound to the old ones sees that and captures again."""
        for group in self.param_groups:
            group.numbers = {}

    # ----- options and their numbers ----------------------------------------------------------------
    def _write(self, group, dtype=None):
        """Write a group's numbers into its 0-d arrays in place. A bool (nesterov, maximize...) picks the
        rule's branch and stays a Python bool (no guard to check at every step); changing one renews
        the arrays, so a replay of the other branch captures again."""
        values = self.numbers_of(**{k: group[k] for k in self.defaults})
        for d in ([dtype] if dtype is not None else list(group.numbers)):
            n = group.numbers[d]
            for name, value in values.items():
                if type(value) is bool:
                    if getattr(n, name, value) != value:
                        self._renew()
                        return
                    setattr(n, name, value)
                elif hasattr(n, name):
                    getattr(n, name)[()] = value
                else:
                    setattr(n, name, np.array(value, d))

    def numbers_of(self, **options):
        """{name: number} the rule multiplies by, from a group's options (subclasses)."""
        return options

    def _convert(self, name, value):
        if name in ("nesterov", "maximize", "amsgrad", "centered", "decoupled_weight_decay"):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{type(self).__name__}: {name} must be True or False, got {value!r}")
            return bool(value)
        return real(type(self).__name__, name, value)

    def _check(self, values):
        """Raise ValueError for an invalid option (subclasses)."""

    def _at_least_zero(self, values, *names):
        for name in names:
            if not values[name] >= 0:   # also refuses NaN
                raise ValueError(f"{type(self).__name__}: invalid {name} {values[name]}; it must be >= 0")

    @staticmethod
    def _shorthand(name):
        """opt.lr, opt.momentum...: the option when every group has the same value; assigning sets it in
        every group. (Properties, not __getattr__: that would slow every attribute read of the step.)"""
        def get(self):
            values = {repr(g[name]) for g in self._param_groups}
            if len(values) != 1:
                raise AttributeError(f"{type(self).__name__}.{name}: the groups have different values; read "
                                     f"opt.param_groups[i][{name!r}]")
            return self._param_groups[0][name]

        return property(get, lambda self, value: self.configure(**{name: value}))

    def configure(self, **options):
        """Set options in every group (each checked in every group before any is set)."""
        for group in self.param_groups:
            converted = {k: self._convert(k, v) for k, v in options.items()}
            unknown = set(converted) - set(self.defaults)
            if unknown:
                raise TypeError(f"{type(self).__name__}: unknown option {sorted(unknown)[0]!r}")
            self._check({**group, **converted})
        for group in self.param_groups:
            for k, v in options.items():
                group[k] = v

    # ----- the step ---------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Drop the gradients (set_to_none=True, torch's default), or fill them with zeros."""
        for group in self._param_groups:
            if set_to_none:
                for p in group["params"]:   # (the slot behind .grad: None needs no check, and this is the hot path)
                    p._grad = None
            else:
                for p in group["params"]:
                    if p._grad is not None:
                        p._grad[...] = 0

    def step(self, closure=None):
        """Apply the rule to every parameter that has a gradient; returns closure()'s loss if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self._param_groups:
            numbers = group.numbers
            for p, w in group.work:
                g = p._grad             # (.grad's slot, read without the property: the hot path)
                if g is not None:
                    n = numbers.get(p.data.dtype)       # (the dict read inline: step() is on the hot path)
                    self.update(p, g, group.numbers_for(p.data.dtype) if n is None else n, w)
        return loss

    def update(self, p, g, n, work):
        """The rule for one parameter: p, its gradient g, the numbers n in p's dtype, its scratch
        buffers; its state is self.state[p], looked up only by a rule that has state (subclasses)."""
        raise NotImplementedError

    @staticmethod
    def buffer(work, name, p):
        """A scratch array like p, made once and reused."""
        b = work.get(name)
        if b is None:
            b = work[name] = np.empty_like(p.data)
        return b

    def decayed(self, work, p, g, weight_decay):
        """g + weight_decay * p (torch's L2 penalty) in a reused buffer; p.grad is not modified."""
        buf = self.buffer(work, "decayed", p)
        np.multiply(p.data, weight_decay, buf)
        buf += g
        return buf

    def negated(self, work, p, g):
        """-g (maximize=True) in a reused buffer."""
        buf = self.buffer(work, "negated", p)
        np.negative(g, buf)
        return buf

    # ----- state dicts --------------------------------------------------------------------------------
    def state_dict(self):
        """torch's shape: {"state": {index: {name: array copy}}, "param_groups": [{options, "params": [indices]}]}."""
        index = {id(p): i for i, p in enumerate(self.params)}
        groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [index[id(p)] for p in g["params"]]}
                  for g in self.param_groups]
        state = {index[id(p)]: {k: np.array(v) for k, v in s.items()} for p, s in self.state.items()
                 if id(p) in index and s}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and state from state_dict() (or its flat form, flat.flatten: what tg.save
        takes); every group length and state shape is checked before anything changes."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}: expected a dict from state_dict(), got {type(state_dict).__name__}")
        if "state" not in state_dict or "param_groups" not in state_dict:
            state_dict = flat.unflatten(state_dict, [len(g["params"]) for g in self.param_groups], name)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: the state dict has {len(saved_groups)} parameter groups, the optimizer "
                             f"has {len(self.param_groups)}")
        problems, by_index = [], {}
        for g, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved.get("params", ())) != len(group["params"]):
                problems.append(f"group {g} has {len(saved.get('params', ()))} parameters in the state dict, "
                                f"{len(group['params'])} in the optimizer")
            else:
                by_index.update(zip(saved["params"], group["params"]))
        new_state = {}
        for i, entry in state_dict["state"].items():
            p = by_index.get(i)
            if p is None:
                problems.append(f"state for parameter {i}, which no group has")
                continue
            new_state[p] = {}
            missing = [k for k in self.state_names if k not in entry]
            unknown = [k for k in entry if k not in self.state_names + self.optional_state]
            if missing or unknown:
                problems.append(f"parameter {i}'s state " + ", ".join(
                    [f"lacks {k!r}" for k in missing] + [f"has an unexpected {k!r}" for k in unknown]))
            for key, value in entry.items():
                value = np.asarray(value)
                if key == "step":
                    if value.shape != () or value.dtype.kind not in "iuf" or not (value >= 1 and value == np.floor(value)):
                        problems.append(f"parameter {i}'s step must be a positive whole number, got {value!r}")
                    new_state[p][key] = np.array(value, count_dtype(p.dtype))
                elif value.shape != p.shape:
                    problems.append(f"parameter {i}'s {key} has shape {value.shape}, the parameter has {p.shape}")
                else:
                    new_state[p][key] = value.astype(p.dtype)     # a fresh copy in the parameter's dtype
        options = []
        for g, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            values = {k: v for k, v in saved.items() if k != "params"}
            missing = [k for k in self.defaults if k not in values and k not in self.added_options]
            if missing:
                problems.append(f"group {g} lacks the option{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}")
            values.update({k: self.defaults[k] for k in self.added_options if k in self.defaults and k not in values})
            try:
                values = {k: (self._convert(k, v) if k in self.defaults else v) for k, v in values.items()}
                self._check({**{k: group[k] for k in self.defaults}, **values})
            except (TypeError, ValueError) as error:
                problems.append(f"group {g}: {error}")
            options.append(values)
        if problems:
            raise ValueError(f"{name}: " + "; ".join(problems))
        for group, values in zip(self.param_groups, options):
            for k in [k for k in group if k not in values and k not in self.defaults and k != "params"]:
                dict.__delitem__(group, k)
            for k, v in values.items():
                dict.__setitem__(group, k, v)
            self._write(group)
        self.state = collections.defaultdict(dict, new_state)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for g, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {g}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])
