"""The engine, in reading order: `ops.py` (the derivative table; `ops_more.py` its second half) with
`numerics.py` (the helpers it calls), `arguments.py` (what users pass, made into what the engine takes),
`tensor.py` (Tensor, apply, the backward walk), `functions.py` (cat, stack, where, maximum, minimum,
grad, and numpy's functions on Tensors), `methods.py` and `shapes.py` (Tensor's named methods, torch's),
`inplace.py` with `versions.py` (in-place updates and their version check). Imports go one way:
numerics <- ops; ops, arguments, versions <- tensor <- functions, methods, inplace."""
from . import functions  # noqa: F401  (fills tensor's tables of numpy's functions on Tensors)
from . import methods  # noqa: F401  (installs Tensor's named methods, torch's: sum(dim), view, max, ...)
from . import inplace  # noqa: F401  (installs the in-place updates, x -= y, add_, x[i] = v, on Tensor)
