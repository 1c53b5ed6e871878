"""The fused backend of tg.compile (`backend="fused"`, the `fast` extra: numba).

The planned program (plan.py) is lowered: every run of elementwise calls and reductions becomes loops
over the planned buffers, a temp used only inside one loop kept in a register (so is an optimizer's
scratch, a `calls.Workspace`, when it is written before it is read in that loop); matrix products stay
numpy's own BLAS routine (cblas gemm, the one np.dot calls), called from inside the kernels where
numpy's build exposes it (blas.py), else np.dot from the Python driver. On Zen 4, large products
take the same library's Haswell kernels through OpenBLAS's own blocking loop instead, cut in parts for
OpenBLAS's own threads when it runs several (blas.py says when and why). A kernel is every call
between two numpy calls, products and loops in program order (often the whole step: one dispatch).
Read fuse.py (what fuses with what), scalar.py (one element of an op), kernels.py (a kernel's
source), mathf.py (the vectorizable exp and log, pointers), blas.py, driver.py (the replay and the
kernel cache).

Numerics: not bit for bit the numpy program. Sums run in another order, exp/log are float32
polynomials within 2-4 ulp of numpy's, and multiply-adds may fuse: a fused step agrees with the eager
one to float tolerance (tests/test_fused.py holds every compiled test case to it over 50 steps).
numpy's error-state warnings (overflow...) are not raised inside kernels; a call under an error state
that raises stays a numpy call.
"""
import warnings

_NOTED = set()


def available():
    """None if numba imports, else why not."""
    try:
        import numba  # noqa: F401
    except ImportError as error:
        return f"numba is not installed ({error}); pip install 'tinygrad_ae[fast]'"
    return None


def note_once(key, message):
    """A one-time note (a UserWarning), per process and key."""
    if key not in _NOTED:
        _NOTED.add(key)
        warnings.warn(message, UserWarning, stacklevel=4)


def lower(program):
    from .driver import lower as _lower
    _lower(program)
    if program.fused.fallbacks:
        names = sorted({name for name, _ in program.fused.fallbacks})
        note_once(("fallback",) + tuple(names),
                  f"tg.compile(backend='fused'): {', '.join(names)} run as numpy calls (no fused loop for "
                  "them); print(step.program) lists each with its reason")
    return program
