"""numpy's own BLAS, called from inside a kernel: the same cblas_?gemm that np.dot calls for 2-D arrays.

A matrix product between two loops would otherwise cost the kernel a return to Python and np.dot's
own overhead (together ~1.5 us at the race's tiny size, more than the product itself). The routine is
looked up in numpy's extension module (its symbol search covers the OpenBLAS it links, so the library,
its threads and their settings are numpy's, and the products are np.dot's bit for bit); when it is not
found (another BLAS build), products stay np.dot calls in the driver. `gemm_<dtype>_<int width>` call it
through its address, which kernels take in their address array (cacheable: no address in the source).
"""
import ctypes

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
# (symbol, integer width) in the order tried: numpy >= 2's wheels (scipy-openblas, 64-bit integers),
# an ILP64 OpenBLAS, a plain CBLAS
_NAMES = [("scipy_cblas_{}gemm64_", 64), ("cblas_{}gemm64_", 64), ("cblas_{}gemm", 32)]
_FOUND = {}


def routine(dtype):
    """(address, integer width) of numpy's cblas gemm for float32 ("s") or float64 ("d"), or None."""
    letter = {"float32": "s", "float64": "d"}.get(np.dtype(dtype).name)
    if letter is None:
        return None
    if letter not in _FOUND:
        _FOUND[letter] = None
        try:
            from numpy._core import _multiarray_umath
            library = ctypes.CDLL(_multiarray_umath.__file__)
        except (ImportError, OSError):
            return None
        for name, width in _NAMES:
            try:
                function = getattr(library, name.format(letter))
            except AttributeError:
                continue
            _FOUND[letter] = (ctypes.cast(function, ctypes.c_void_p).value, width)
            break
    return _FOUND[letter]


def _gemm(real, width):
    nb_real, nb_int = (types.float32 if real == 32 else types.float64), (types.int64 if width == 64 else types.int32)

    @intrinsic
    def gemm(typingctx, fn, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        sig = types.void(types.int64, types.int32, types.int32, nb_int, nb_int, nb_int, nb_real, types.int64,
                         nb_int, types.int64, nb_int, nb_real, types.int64, nb_int)

        def codegen(context, builder, signature, args):
            i32, iw = ir.IntType(32), ir.IntType(width)
            fl, vp = (ir.FloatType() if real == 32 else ir.DoubleType()), ir.IntType(8).as_pointer()
            fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, iw, iw, iw, fl, vp, iw, vp, iw, fl, vp, iw])
            callee = builder.inttoptr(args[0], fnty.as_pointer())
            values = [ir.Constant(i32, ROW_MAJOR)] + list(args[1:])
            for j in (7, 9, 12):                 # the three matrices: addresses to pointers
                values[j] = builder.inttoptr(values[j], vp)
            builder.call(callee, values)
            return context.get_dummy_value()
        return sig, codegen
    return gemm


gemm_float32_64, gemm_float64_64 = _gemm(32, 64), _gemm(64, 64)
gemm_float32_32, gemm_float64_32 = _gemm(32, 32), _gemm(64, 32)


def layout(b, rows, cols):
    """(transpose flag, leading dimension) of a 2-D buffer as a row-major BLAS operand, or None."""
    item = b.dtype.itemsize
    s0, s1 = b.strides
    if s1 == item and s0 % item == 0 and s0 // item >= max(1, cols):
        return NO_TRANS, s0 // item
    if s0 == item and s1 % item == 0 and s1 // item >= max(1, rows):
        return TRANS, s1 // item
    return None
