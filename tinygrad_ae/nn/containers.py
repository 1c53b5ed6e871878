"""torch.nn's containers beyond Sequential: `ModuleList` and `ModuleDict`, whose modules register
as attributes ("0", "1", ... or their keys), so parameters, state dicts and train()/eval() reach them."""
from .module import Module, _indent


class ModuleList(Module):
    """A list of modules: indexing, len, iteration, append, extend; no forward of its own."""

    def __init__(self, modules=()):
        self.extend(modules)

    def _modules(self):
        return [m for m in vars(self).values() if isinstance(m, Module)]

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        modules = self._modules()
        return ModuleList(modules[index]) if isinstance(index, slice) else modules[index]

    def __len__(self): return len(self._modules())
    def __iter__(self): return iter(self._modules())

    def __repr__(self):
        """torch's: runs of equal modules are printed once, as "(0-2): 3 x Linear(...)"."""
        blocks = []                                  # [first index, last index, repr]
        for i, text in enumerate(repr(m) for m in self._modules()):
            if blocks and blocks[-1][2] == text:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, text])
        if not blocks:
            return "ModuleList()"
        lines = [_indent(f"({a}): {text}" if a == b else f"({a}-{b}): {b - a + 1} x {text}", 2) for a, b, text in blocks]
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules by string key: [key], in, len, keys, values, items, update."""

    def __init__(self, modules=None):
        self._keys = []
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key, module):
        if not isinstance(key, str) or not isinstance(module, Module) or key.startswith("_") or key == "training":
            raise TypeError(f"ModuleDict: keys are names (str, not starting with _) and values Modules; got "
                            f"{key!r}: {type(module).__name__}")
        if key not in self._keys:
            self._keys.append(key)
        setattr(self, key, module)

    def __getitem__(self, key): return getattr(self, key) if key in self._keys else self._missing(key)
    def _missing(self, key): raise KeyError(key)
    def __contains__(self, key): return key in self._keys
    def __len__(self): return len(self._keys)
    def __iter__(self): return iter(list(self._keys))
    def keys(self): return list(self._keys)
    def values(self): return [getattr(self, k) for k in self._keys]
    def items(self): return [(k, getattr(self, k)) for k in self._keys]

    def update(self, modules):
        for key, module in (modules.items() if hasattr(modules, "items") else modules):
            self[key] = module
