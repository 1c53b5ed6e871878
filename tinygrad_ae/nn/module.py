"""`Module`, torch.nn's base class: the parameter and buffer registry, the module tree, state dicts, modes,
dtype conversion and torch's `repr`; `Parameter`.

A module keeps its parameters, buffers and submodules as plain attributes (`self.weight` is a lookup
in the instance dict, the fastest there is: a layer call is the autoencoder's hot path). Assignment
(`__setattr__`) only remembers the *names*: a Tensor that requires grad assigned to a module is a
parameter from then on, also after `requires_grad_(False)` freezes it; `register_buffer` names a
buffer (a tensor that is state but not trained, such as a running mean), and a tensor assigned later to
that name stays a buffer. Submodules are the attributes that are Modules, in assignment order. Names
follow PyTorch: `encoder.weight`, `0.weight` inside a Sequential.
"""
import collections
import weakref

import numpy as np

from ..engine.tensor import Tensor

IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
# the tensors made by nn.Parameter, id -> weak reference: a parameter made with requires_grad=False is
# still a parameter. (Not a WeakSet: comparing two references to one tensor would call Tensor.__eq__.)
_PARAMETERS = {}


def _is_parameter(tensor):
    ref = _PARAMETERS.get(id(tensor))
    return ref is not None and ref() is tensor


class Module:
    """Base class: subclasses set parameters/submodules as attributes and define `forward`.

    `training` (True until `eval()`) tells layers such as Dropout which mode they are in."""

    training = True                             # the default; train()/eval() set it per instance

    def __setattr__(self, name, value):
        if isinstance(value, Tensor) and name not in self._names("_buffer_names"):
            if value.requires_grad or _is_parameter(value):
                self._names("_parameter_names")[name] = None
        elif value is None and name in self._names("_buffer_names"):
            pass                                # torch: a buffer may be None (no state yet)
        else:
            self._names("_parameter_names").pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._names("_parameter_names").pop(name, None)
        self._names("_buffer_names").pop(name, None)
        object.__delattr__(self, name)

    def _names(self, registry):
        """This module's registry of parameter (or buffer) names, made at first use: subclasses need not
        call Module.__init__ (torch's programs do, and it is harmless)."""
        names = self.__dict__.get(registry)
        if names is None:
            names = {}
            object.__setattr__(self, registry, names)
        return names

    def _own_parameters(self):
        """(name, Tensor) of this module's own parameters: the names registered as parameters, and any
        other tensor attribute (not a buffer) that requires grad, in attribute order."""
        registered, buffers = self._names("_parameter_names"), self._names("_buffer_names")
        return [(name, value) for name, value in vars(self).items() if isinstance(value, Tensor)
                and name not in buffers and (name in registered or value.requires_grad)]

    # ----- modes and calls -------------------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (or, with mode=False, evaluation mode) here and in every submodule."""
        if not isinstance(mode, bool):
            raise ValueError(f"{type(self).__name__}.train: mode must be True or False, got {mode!r}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self):
        """Evaluation mode: train(False)."""
        return self.train(False)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ----- registration, torch's names -------------------------------------------------------------
    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not a parameter (torch's register_buffer): listed by buffers(), moved
        by to(), and saved in the state dict unless persistent=False."""
        owner = f"{type(self).__name__}.register_buffer"
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{owner}: the name must be a non-empty string without '.', got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"{owner}: cannot assign a {type(tensor).__name__} as buffer {name!r} "
                            "(a Tensor or None is required)")
        if name in self._own_parameter_names() or isinstance(getattr(self, name, None), Module):
            raise KeyError(f"{owner}: attribute {name!r} already exists as a parameter or submodule")
        self._names("_buffer_names")[name] = bool(persistent)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name, param):
        """torch's register_parameter: `param` (a Tensor, or None) becomes the parameter `name`."""
        if param is not None and not isinstance(param, Tensor):
            raise TypeError(f"{type(self).__name__}.register_parameter: cannot assign a {type(param).__name__} "
                            f"as parameter {name!r} (a Tensor or None is required)")
        object.__setattr__(self, name, param)
        self._names("_buffer_names").pop(name, None)
        if param is not None:
            self._names("_parameter_names")[name] = None

    def add_module(self, name, module):
        """torch's add_module (also register_module): `module` becomes the submodule `name`."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {type(module).__name__} is not a Module subclass")
        setattr(self, name, module)

    register_module = add_module

    def _own_parameter_names(self):
        return [name for name, _ in self._own_parameters()]

    # ----- the module tree -------------------------------------------------------------------------
    def named_children(self):
        """(name, submodule) for the direct submodules, in assignment order."""
        return [(name, m) for name, m in vars(self).items() if isinstance(m, Module)]

    def children(self):
        return [m for _, m in self.named_children()]

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module ("") and every module below it, each once, depth first."""
        out, seen, stack = [], set(), [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate and id(module) in seen:
                continue
            seen.add(id(module))
            out.append((name, module))
            stack.extend(reversed([(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]))
        return out

    def modules(self):
        return [m for _, m in self.named_modules()]

    def _named_members(self, members, prefix, recurse, remove_duplicate=True):
        """(dotted name, tensor) of `members(module)` for this module and, with recurse, every submodule."""
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        named, seen = [], set()
        for module_name, module in modules:
            for name, value in members(module):
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                named.append((f"{module_name}.{name}" if module_name else name, value))
        return named

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """List of (dotted name, parameter) in registration order; a shared Tensor is listed once."""
        return self._named_members(Module._own_parameters, prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """List of parameter Tensors in registration order, without duplicates."""
        return [p for _, p in self.named_parameters(recurse=recurse)]

    def _own_buffers(self):
        return [(name, getattr(self, name)) for name in self._names("_buffer_names")]

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(Module._own_buffers, prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        return [b for _, b in self.named_buffers(recurse=recurse)]

    def get_submodule(self, target):
        module = self
        for part in target.split(".") if target else ():
            child = getattr(module, part, None)
            if not isinstance(child, Module):
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (looking up {target!r})")
            module = child
        return module

    def apply(self, fn):
        """fn(module) for every submodule, then for this one (torch's order); returns self."""
        for module in reversed(self.modules()):
            fn(module)
        return self

    # ----- gradients, dtypes, devices --------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Drop every parameter's gradient (PyTorch's default, set_to_none=True), or fill it with zeros."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = np.zeros_like(p.data)

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter; frozen ones stay parameters (listed and saved)."""
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def to(self, *args, **kwargs):
        """A floating dtype converts every floating parameter and buffer in place (p.data gets the new
        dtype); "cpu" is accepted, any other device refused."""
        from .. import dtypes
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        device = kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}.to: unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, str) or type(arg).__name__ == "device":
                device = arg
            else:
                dtype = arg
        if device is not None:
            dtypes.check_device(f"{type(self).__name__}.to", device)
        if dtype is None:
            return self
        dtype = dtypes.as_dtype(f"{type(self).__name__}.to", dtype)
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: only floating point dtypes are accepted, got {dtype}")
        for tensor in self.parameters() + self.buffers():
            if tensor.dtype.kind == "f" and tensor.dtype != dtype:
                tensor.data = tensor.data.astype(dtype)
                tensor.grad = None
        return self

    def type(self, dst_type):
        return self.to(dst_type)

    def cpu(self): return self
    def float(self): return self.to(np.float32)
    def double(self): return self.to(np.float64)
    def half(self): return self.to(np.float16)

    # ----- state dicts -------------------------------------------------------------------------------
    def _state_tensors(self):
        """(dotted name, tensor) of everything the state dict holds: parameters, then persistent buffers,
        module by module as torch orders them."""
        def members(module):
            persistent = module._names("_buffer_names")
            return module._own_parameters() + [(n, b) for n, b in module._own_buffers() if persistent[n]]
        return self._named_members(members, "", True, remove_duplicate=False)

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Ordered dict name -> copy of the array of each parameter and persistent buffer (safe to keep
        while training goes on); keep_vars=True gives the Tensors themselves."""
        out = collections.OrderedDict() if destination is None else destination
        for name, tensor in self._state_tensors():
            out[prefix + name] = tensor if keep_vars else tensor.data.copy()
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy arrays into the parameters and buffers in place, after checking every key, shape and dtype.

        Raises ValueError naming each missing (strict), unexpected (strict) or wrongly shaped key before
        anything is changed, so a failed load leaves the module as it was. Returns torch's
        (missing_keys, unexpected_keys)."""
        if not hasattr(state_dict, "items"):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict name -> array, got "
                            f"{type(state_dict).__name__}")
        if assign:
            raise NotImplementedError(f"{type(self).__name__}.load_state_dict: assign=True is not supported; "
                                      "the arrays are copied into the existing tensors")
        tensors = dict(self._state_tensors())
        missing = [name for name in tensors if name not in state_dict]
        unexpected = [name for name in state_dict if name not in tensors]
        problems = [f"missing key {name!r}" for name in missing] + [f"unexpected key {name!r}" for name in unexpected]
        problems = problems if strict else []
        values = {}
        for name, value in state_dict.items():
            if name not in tensors:
                continue
            try:
                value = np.asarray(value.data if isinstance(value, Tensor) else value)
            except ValueError as error:        # a ragged nested list: numpy's message names no key
                problems.append(f"key {name!r} holds a {type(value).__name__} that is not a rectangular array "
                                f"({error}); pass an array, or nested lists of equal lengths")
                continue
            target = tensors[name]
            if value.shape != target.shape:
                problems.append(f"key {name!r} has shape {value.shape}, the model's tensor has shape {target.shape}")
            elif not np.can_cast(value.dtype, target.dtype, casting="same_kind"):
                problems.append(f"key {name!r} has dtype {value.dtype}, which cannot be cast to {target.dtype}")
            values[name] = value
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))
        for name, value in values.items():
            # in place: optimizers and tied modules keep pointing at the same arrays
            np.copyto(tensors[name].data, value, casting="same_kind")
        return IncompatibleKeys(missing, unexpected)

    # ----- torch's repr ------------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses (its settings); submodules are added below it."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): " + _indent(repr(module), 2) for name, module in self.named_children()]
        if len(lines) == 1 and not children:
            return f"{self._get_name()}({lines[0]})"
        if not lines and not children:
            return f"{self._get_name()}()"
        return self._get_name() + "(\n  " + "\n  ".join(lines + children) + "\n)"


def _indent(text, spaces):
    """Every line of `text` after the first indented by `spaces` (torch's _addindent)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


class _ParameterType(type):
    def __instancecheck__(cls, obj):            # a parameter is a leaf tensor that requires grad
        return isinstance(obj, Tensor) and obj.is_leaf and (obj.requires_grad or _is_parameter(obj))


class Parameter(metaclass=_ParameterType):
    """torch.nn.Parameter(data, requires_grad=True): a leaf tensor holding data (its array, not a copy)
    that a Module lists among its parameters. The engine has one tensor type, so what comes back is a
    Tensor; `isinstance(p, nn.Parameter)` is True for it and for any leaf tensor that requires grad."""
    def __new__(cls, data=None, requires_grad=True):
        array = np.zeros(0, np.float32) if data is None else data.data if isinstance(data, Tensor) else np.asarray(data)
        if requires_grad and array.dtype.kind != "f":
            raise TypeError(f"Parameter: only floating point tensors can require gradients, got dtype {array.dtype}")
        tensor = Tensor(array)
        tensor.requires_grad = bool(requires_grad)
        key = id(tensor)
        _PARAMETERS[key] = weakref.ref(tensor, lambda _, key=key: _PARAMETERS.pop(key, None))
        return tensor
