"""torch.autograd's surface. `functional` holds the function transforms (vjp, jvp, jacobian, hessian,
hvp, vhp), also importable from here as before."""
from . import functional
from .functional import hessian, hvp, jacobian, jvp, vhp, vjp

__all__ = ["functional", "vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]
