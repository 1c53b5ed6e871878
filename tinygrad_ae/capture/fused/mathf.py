"""What the fused kernels call besides arithmetic: raw pointers, and an exp and a log that vectorize.

Pointers: a kernel reads and writes the planned buffers through their addresses (one int64 array of
them per kernel), because numba's dispatcher spends ~0.2 us typing each array argument, more than a
whole tiny elementwise pass. `ptr_<dtype>(address)` is LLVM's inttoptr.

exp and log: numba lowers math.exp on float32 to a scalar call of the C library, which LLVM cannot
vectorize: 7x slower than numpy's SIMD exp (measured, issue 23). `exp32`, `log32` and `log1p32` are
Cephes' float32 polynomials (expf.c, logf.c) written branch-free (selects), so LLVM vectorizes the
loops that call them; they agree with numpy's float32 exp/log to 2 ulp and log1p to 4 ulp (tested on
a dense sweep of float32 values, tests/test_fused.py). float64 uses math's (exact to libm, scalar).
`log1p_unit32` is log1p for x in [0, 1] only (the exp(-|a|) of the cross-entropy steps): x + x^2 P(x)
with a float32 minimax polynomial, no division, no log32, no selects; within 2 ulp of numpy on every
float32 in [0, 1] (tests/test_fused_mathf.py; speed: benchmarks/bench_log1p_unit.py).
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


def _pointer_cast(numba_type):
    @intrinsic
    def cast(typingctx, address):
        sig = types.CPointer(numba_type)(types.int64)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(signature.return_type))
        return sig, codegen
    return cast


ptr_float32 = _pointer_cast(types.float32)
ptr_float64 = _pointer_cast(types.float64)
ptr_int64 = _pointer_cast(types.int64)
ptr_int32 = _pointer_cast(types.int32)
ptr_int16 = _pointer_cast(types.int16)
ptr_int8 = _pointer_cast(types.int8)
ptr_uint64 = _pointer_cast(types.uint64)
ptr_uint32 = _pointer_cast(types.uint32)
ptr_uint16 = _pointer_cast(types.uint16)
ptr_uint8 = _pointer_cast(types.uint8)
# bool arrays are bytes: read as uint8 (!= 0), written as uint8(0 or 1)
POINTER = {"float32": "ptr_float32", "float64": "ptr_float64", "int64": "ptr_int64", "int32": "ptr_int32",
           "int16": "ptr_int16", "int8": "ptr_int8", "uint64": "ptr_uint64", "uint32": "ptr_uint32",
           "uint16": "ptr_uint16", "uint8": "ptr_uint8", "bool": "ptr_uint8"}


@intrinsic
def _f32_from_bits(typingctx, bits):
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return sig, codegen


@intrinsic
def _bits_of_f32(typingctx, value):
    sig = types.int32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return sig, codegen


_F, _I = np.float32, np.int32
_LOG2E, _LN2_HI, _LN2_LO = _F(1.44269504088896341), _F(0.693359375), _F(-2.12194440e-4)
_EXP_HI, _EXP_LO = _F(88.72283935546875), _F(-103.972084045410)


@njit(fastmath={"contract"})
def _pow2(n):
    """2**n for -126 <= n <= 127 as float32 (the exponent field)."""
    return _f32_from_bits(np.int32((n + 127) << 23))


@njit(fastmath={"contract"})
def exp32(x):
    """Cephes expf: exp(x) = 2**n * p(r), r = x - n ln2 in [-ln2/2, ln2/2] (Cody-Waite), 2**n applied
    as two factors so that results down to the smallest subnormal come out right."""
    xc = min(max(x, _EXP_LO), _EXP_HI)
    n = np.floor(xc * _LOG2E + _F(0.5))
    r = xc - n * _LN2_HI - n * _LN2_LO
    z = r * r
    p = ((((((_F(1.9875691500e-4) * r + _F(1.3981999507e-3)) * r + _F(8.3334519073e-3)) * r
            + _F(4.1665795894e-2)) * r + _F(1.6666665459e-1)) * r + _F(5.0000001201e-1)) * z + r + _F(1.0))
    ni = np.int32(n)
    half = ni >> 1
    y = p * _pow2(half) * _pow2(ni - half)
    y = np.float32(np.inf) if x > _EXP_HI else y
    y = _F(0.0) if x < _EXP_LO else y
    return x if x != x else y


@njit(fastmath={"contract"})
def log32(x):
    """Cephes logf: x = m 2**e with m in [sqrt(1/2), sqrt(2)), log x = e ln2 + log(m), a polynomial in
    m - 1; subnormals scaled by 2**25 first; 0 -> -inf, < 0 -> nan, inf -> inf, nan -> nan."""
    tiny = x < _F(1.1754943508222875e-38)
    xs = x * _F(33554432.0) if tiny else x
    bits = _bits_of_f32(xs)
    e = np.int32((bits >> _I(23)) & _I(0xFF)) - (_I(151) if tiny else _I(126))
    m = _f32_from_bits((bits & np.int32(0x807FFFFF)) | np.int32(0x3F000000))     # in [0.5, 1)
    low = m < _F(0.707106781186547524)
    e = e - _I(1) if low else e
    m = (m + m - _F(1.0)) if low else (m - _F(1.0))
    fe = np.float32(e)
    z = m * m
    y = ((((((((_F(7.0376836292e-2) * m - _F(1.1514610310e-1)) * m + _F(1.1676998740e-1)) * m
              - _F(1.2420140846e-1)) * m + _F(1.4249322787e-1)) * m - _F(1.6668057665e-1)) * m
           + _F(2.0000714765e-1)) * m - _F(2.4999993993e-1)) * m + _F(3.3333331174e-1)) * m * z
    y = y + _LN2_LO * fe - _F(0.5) * z
    y = m + y + _LN2_HI * fe
    y = -np.float32(np.inf) if x == _F(0.0) else y
    y = np.float32(np.nan) if x < _F(0.0) else y
    return x if (x != x or x == np.float32(np.inf)) else y


@njit(fastmath={"contract"})
def log1p32(x):
    """log(1 + x) as log(u) * x / (u - 1), u = 1 + x rounded (Goldberg): the rounding of u cancels."""
    u = _F(1.0) + x
    d = u - _F(1.0)
    safe = d if d != _F(0.0) else _F(1.0)
    y = log32(u) * (x / safe)
    y = x if d == _F(0.0) else y
    return u if u == np.float32(np.inf) else y


_L1P = tuple(_F(c) for c in ("-0.49999988", "0.3333269", "-0.24988578", "0.19897932", "-0.16129334",
                             "0.124671176", "-0.083073996", "0.041981295", "-0.013631447", "0.0020729406"))
_L1P0, _L1P1, _L1P2, _L1P3, _L1P4, _L1P5, _L1P6, _L1P7, _L1P8, _L1P9 = _L1P


@njit(fastmath={"contract"})
def log1p_unit32(x):
    """log(1 + x) for float32 x in [0, 1] ONLY: x + x^2 P(x), P a degree-9 float32 minimax polynomial of
    (log1p(x) - x) / x^2 on [0, 1] (fitted for relative error, Lawson's iteration; the rounded float32
    coefficients' own error ~0.14 ulp). No division, no log32, no selects: 11 multiply-adds, ~3.5x
    faster than log1p32 in a vectorized loop (benchmarks/bench_log1p_unit.py). Measured on every
    float32 in [0, 1]: within 1.23 ulp of the exact log1p and within 2 ulp of np.log1p (which is itself
    up to 1.9 ulp off; the correctly rounded result is 2 ulp from it in places). 0 -> 0, subnormals ->
    x exactly, nan -> nan. Outside [0, 1] it is NOT accurate (the polynomial is fitted on [0, 1] only:
    wrong already at x = -0.5 or 2; -1 gives a finite number, not -inf; inf gives inf or nan): the caller
    guarantees 0 <= x <= 1, e.g. x = exp(-|a|)."""
    p = ((((((((_L1P9 * x + _L1P8) * x + _L1P7) * x + _L1P6) * x + _L1P5) * x + _L1P4) * x + _L1P3) * x
          + _L1P2) * x + _L1P1) * x + _L1P0
    return (x * x) * p + x


@njit(fastmath={"contract"})
def expm1_32(x):
    """exp(x) - 1 through float64's expm1 (a scalar call: rare in the steps measured)."""
    return np.float32(math.expm1(np.float64(x)))


@njit(fastmath={"contract"})
def maxnan(a, b):
    """np.maximum of two numbers: a NaN on either side is the result."""
    return a if (a >= b or a != a) else b


@njit(fastmath={"contract"})
def minnan(a, b):
    return a if (a <= b or a != a) else b


@njit(fastmath={"contract"})
def logaddexp32(a, b):
    y = maxnan(a, b) + log1p32(exp32(-abs(a - b)))
    return a + _F(0.6931471805599453) if a == b else y      # (equal infinities: a - b would be nan)


@njit(fastmath={"contract"})
def logaddexp64(a, b):
    y = maxnan(a, b) + np.log1p(np.exp(-abs(a - b)))
    return a + 0.6931471805599453 if a == b else y
