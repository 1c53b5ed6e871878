"""numpy's own BLAS, called from inside a kernel: the cblas_?gemm that np.dot calls for 2-D arrays.

A matrix product between two loops would otherwise cost the kernel a return to Python and np.dot's
own overhead (together ~1.5 us at the race's tiny size, more than the product itself). The routine is
looked up in numpy's extension module (its symbol search covers the OpenBLAS it links, so the library,
its threads and their settings are numpy's); when it is not found (another BLAS build), products stay
np.dot calls in the driver. `gemm(context, ...)` (kernels call it as gemm_<dtype>_<int width>) takes the
address of a small int64 array (`context(dtype)`: the routine's address and what the blocked route below
needs), which kernels take in their address array (cacheable: no address in the source).

The blocked route. numpy's OpenBLAS (a DYNAMIC_ARCH build) picks one kernel set per CPU; on AMD's
Zen 4 it picks SkylakeX's AVX-512 kernels, and Zen 4 runs AVX-512 on 256-bit units: the same library's
Haswell (AVX2) kernels do the race's products 7-9% faster there (benchmarks/RESULTS.md). Those kernels
are exported (sgemm_kernel_HASWELL, its packing routines), so `_blocked` runs OpenBLAS's own
single-threaded blocking loop (driver/level3/level3.c, transcribed) around them. When OpenBLAS runs
more than one thread (read at every product), `_blocked_parts` cuts C into that many blocks of columns
(or rows) and hands them to OpenBLAS's own thread server (exec_blas, as its threaded products do): the
workers that numpy's products use run them, so no second pool of threads spins against OpenBLAS's.
The route is taken only
  - on a CPU where it was measured faster (`faster_kernels()`; TINYGRAD_AE_GEMM=openblas turns it off,
    =haswell forces it on any CPU with AVX2 and FMA),
  - for products of at least MIN_BLOCKED multiply-adds (smaller ones: cblas and its small-matrix
    kernels, faster there),
  - with OpenBLAS 0.3 (whose kernel interfaces this loop follows), after a self-test of every
    transposition, beta and block edge against the exact product passed in this process (in one part,
    in parts, and on OpenBLAS's threads when it runs several);
  - in parts only with OpenBLAS's pthreads server (not an OpenMP build) and no threads callback set by
    another library (openblas_set_threads_callback_function; else cblas's threaded products).
The library, its memory and its settings stay numpy's; such products are not np.dot's bit for bit
(float tolerance, like the rest of the fused step). The packing buffers and jobs are this module's, one
set per part and dtype: kernels do not release the GIL, so two products never share them at once.
"""
import ctypes
import os
import warnings

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from tinygrad_ae.capture.fused.mathf import ptr_float64, ptr_int64

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
# (symbol, integer width) in the order tried: numpy >= 2's wheels (scipy-openblas, 64-bit integers),
# an ILP64 OpenBLAS, a plain CBLAS
_NAMES = [("scipy_cblas_{}gemm64_", 64), ("cblas_{}gemm64_", 64), ("cblas_{}gemm", 32)]
_THREADS = ["scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads"]
_FOUND = {}
MIN_BLOCKED = 1 << 21           # m n k: below, cblas is as fast or faster (measured 16x64x16 to 256x256x128)

# the context array's slots
CBLAS, BLOCKED, THREADS, KERNEL, INCOPY, ITCOPY, ONCOPY, OTCOPY, BETA, SA, SB, P, Q, R, UNROLL_M, UNROLL_N, \
    MIN_SIZE, PARTS, EXEC, CALLBACK, ROUTINE, QUEUE, JOBS, JOB_COUNT = range(24)
CONTEXT_SLOTS = 24
# a job (one part of a product on one thread): the slots of its int64 array (alpha, beta: float64 bits)
J_CTX, J_SA, J_SB, J_ITEM, J_A_TRANS, J_B_TRANS, J_M, J_N, J_K, J_ALPHA, J_A, J_LDA, J_B, J_LDB, J_BETA, J_C, \
    J_LDC = range(17)
JOB_SLOTS = 32                  # 256 bytes a job: two jobs never share a cache line
# OpenBLAS's blas_queue_t (common_thread.h): the int64 slots of the fields set here; one entry is 168
# bytes on Linux x86-64 (176 with CONSISTENT_FPCSR), given 256. Its `mode` (byte 160) stays 0: a plain
# job, whose routine OpenBLAS calls as routine(args, range_m, range_n, sa, sb, position).
Q_ROUTINE, Q_ARGS, Q_SA, Q_SB, Q_NEXT = 0, 3, 6, 7, 8
QUEUE_SLOTS = 32
MAX_PARTS = 8
# per dtype: (letter, OpenBLAS's Haswell unrolls M and N (param.h), blocking P, Q, R: rows of A, depth,
# columns of B packed at once). Q is OpenBLAS's own for these kernels and must not grow: the double
# kernel copies 12 columns of B, k deep, into a 256-deep buffer on its stack. P and R were measured on
# the race's mnist and wide products (float32: 2,473 us at P = 256 against 2,497 at P = 320; all tried
# within 2%).
_HASWELL = {"float32": ("s", 8, 4, 256, 320, 1024), "float64": ("d", 4, 8, 256, 256, 1024)}


def _library():
    if "library" not in _FOUND:
        try:
            from numpy._core import _multiarray_umath
            _FOUND["library"] = ctypes.CDLL(_multiarray_umath.__file__)
        except (ImportError, OSError):
            _FOUND["library"] = None
    return _FOUND["library"]


def _address(name):
    library = _library()
    try:
        return ctypes.cast(getattr(library, name), ctypes.c_void_p).value
    except AttributeError:
        return None


def routine(dtype):
    """(address, integer width) of numpy's cblas gemm for float32 ("s") or float64 ("d"), or None."""
    letter = {"float32": "s", "float64": "d"}.get(np.dtype(dtype).name)
    if letter is None:
        return None
    if letter not in _FOUND:
        _FOUND[letter] = None
        if _library() is not None:
            for name, width in _NAMES:
                found = _address(name.format(letter))
                if found is not None:
                    _FOUND[letter] = (found, width)
                    break
    return _FOUND[letter]


def _text(names):
    """What the first of these OpenBLAS functions found returns (a C string), or ""."""
    for name in names:
        if _library() is not None and _address(name) is not None:
            function = getattr(_library(), name)
            function.restype = ctypes.c_char_p
            return function().decode()
    return ""


def _config():
    """numpy's OpenBLAS's build line ("OpenBLAS 0.3.31 ... DYNAMIC_ARCH ..."), or ""."""
    return _text(("scipy_openblas_get_config64_", "openblas_get_config64_", "openblas_get_config"))


def openblas_threads():
    """How many threads numpy's OpenBLAS runs now (1 when its thread setting is not found)."""
    for name in _THREADS:
        if _library() is not None and _address(name) is not None:
            return int(getattr(_library(), name)())
    return 1


def openblas_core():
    """The kernel set numpy's OpenBLAS chose for this CPU ("SkylakeX", "Haswell", ...), or None."""
    return _text(("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename")) or None


def faster_kernels():
    """(on, why): whether the blocked route is taken on this CPU, from the CPU and TINYGRAD_AE_GEMM."""
    choice = os.environ.get("TINYGRAD_AE_GEMM", "").strip().lower()
    if choice == "openblas":
        return False, "TINYGRAD_AE_GEMM=openblas"
    if choice not in ("", "haswell"):
        raise ValueError(f"TINYGRAD_AE_GEMM={choice!r}: use 'openblas' (numpy's cblas gemm for every "
                         "product) or 'haswell' (OpenBLAS's Haswell kernels for large products)")
    from llvmlite import binding
    features = binding.get_host_cpu_features()
    if not (features.get("avx2") and features.get("fma")):
        return False, "the CPU has no AVX2 and FMA"
    if choice == "haswell":
        return True, "TINYGRAD_AE_GEMM=haswell"
    cpu, core = binding.get_host_cpu_name(), openblas_core()
    # measured: Zen 4 (AVX-512 on 256-bit units) with OpenBLAS's AVX-512 kernels
    if cpu == "znver4" and core in ("SkylakeX", "Cooperlake", "SapphireRapids"):
        return True, f"numpy's OpenBLAS picked its {core} kernels on this {cpu}; its Haswell ones are faster here"
    return False, f"OpenBLAS's own kernels ({core}) on this {cpu}"


def _c_function(builder, address, result, arguments):
    return builder.inttoptr(address, ir.FunctionType(result, arguments).as_pointer())


_LONG, _VOID_P, _INT = ir.IntType(64), ir.IntType(8).as_pointer(), ir.IntType(32)


def _float_ir(numba_type):
    return ir.FloatType() if numba_type == types.float32 else ir.DoubleType()


@intrinsic
def _kernel_call(typingctx, fn, m, n, k, alpha, a, b, c, ldc):
    """OpenBLAS's gemm micro-kernel: C (column-major, ldc) += alpha * packed A (m x k) * packed B (k x n)."""
    sig = types.void(types.int64, types.int64, types.int64, types.int64, alpha, types.int64, types.int64,
                     types.int64, types.int64)

    def codegen(context, builder, signature, args):
        f = _c_function(builder, args[0], _INT, [_LONG, _LONG, _LONG, _float_ir(alpha), _VOID_P, _VOID_P,
                                                 _VOID_P, _LONG])
        values = list(args[1:])
        for j in (4, 5, 6):
            values[j] = builder.inttoptr(values[j], _VOID_P)
        builder.call(f, values)
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def _copy_call(typingctx, fn, m, n, a, lda, b):
    """One of OpenBLAS's packing routines: an m x n block of a (leading dimension lda) into buffer b."""
    sig = types.void(types.int64, types.int64, types.int64, types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        f = _c_function(builder, args[0], _INT, [_LONG, _LONG, _VOID_P, _LONG, _VOID_P])
        m, n, a, lda, b = args[1:]
        builder.call(f, [m, n, builder.inttoptr(a, _VOID_P), lda, builder.inttoptr(b, _VOID_P)])
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def _beta_call(typingctx, fn, m, n, beta, c, ldc):
    """OpenBLAS's beta routine: C = beta C for an m x n column-major C (beta 0 writes zeros)."""
    sig = types.void(types.int64, types.int64, types.int64, beta, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        fl = _float_ir(beta)
        f = _c_function(builder, args[0], _INT, [_LONG, _LONG, _LONG, fl, _VOID_P, _LONG, _VOID_P, _LONG,
                                                 _VOID_P, _LONG])
        m, n, beta_value, c, ldc = args[1:]
        zero, null = ir.Constant(_LONG, 0), ir.Constant(_VOID_P, None)
        builder.call(f, [m, n, zero, beta_value, null, zero, null, zero, builder.inttoptr(c, _VOID_P), ldc])
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def _exec_call(typingctx, fn, num, queue):
    """OpenBLAS's exec_blas(num, queue): runs the queue's first job in this thread, the others on its
    worker threads, and returns when all are done."""
    sig = types.int32(types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        f = _c_function(builder, args[0], _INT, [_LONG, _VOID_P])
        return builder.call(f, [args[1], builder.inttoptr(args[2], _VOID_P)])
    return sig, codegen


@intrinsic
def _int_call(typingctx, fn):
    sig = types.int32(types.int64)

    def codegen(context, builder, signature, args):
        return builder.call(_c_function(builder, args[0], _INT, []), [])
    return sig, codegen


@njit(cache=True)
def _split(size, block, unroll):
    """OpenBLAS's rule for the next block: `block`, or half the rest (rounded up to the unroll) when the
    rest is under two blocks, or the rest."""
    if size >= 2 * block:
        return block
    if size > block:
        return ((size // 2 + unroll - 1) // unroll) * unroll
    return size


@njit(cache=True)
def _blocked(ctx, item, a_trans, b_trans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """Column-major C = alpha op(A) op(B) + beta C (op: transposed when *_trans), single-threaded:
    OpenBLAS's driver/level3/level3.c with its Haswell kernels. Addresses a, b, c; item: bytes per element."""
    _blocked_with(ctx, ctx[SA], ctx[SB], item, a_trans, b_trans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


@njit(cache=True)
def _blocked_with(ctx, sa, sb, item, a_trans, b_trans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """_blocked with packing buffers sa, sb (one pair per thread)."""
    kernel = ctx[KERNEL]
    bp, bq, br, um, un = ctx[P], ctx[Q], ctx[R], ctx[UNROLL_M], ctx[UNROLL_N]
    if beta != 1:
        _beta_call(ctx[BETA], m, n, beta, c, ldc)
    if k == 0 or alpha == 0:
        return
    for js in range(0, n, br):
        min_j = min(n - js, br)
        ls = 0
        while ls < k:
            min_l = _split(k - ls, bq, um)
            min_i = _split(m, bp, um)
            # one block of A's rows: B's panel is packed piece by piece into the same place
            l1stride = 1 if m > bp else 0
            if a_trans:
                _copy_call(ctx[INCOPY], min_l, min_i, a + item * ls, lda, sa)
            else:
                _copy_call(ctx[ITCOPY], min_l, min_i, a + item * (ls * lda), lda, sa)
            jjs = js
            while jjs < js + min_j:
                min_jj = js + min_j - jjs
                if min_jj >= 3 * un:
                    min_jj = 3 * un
                elif min_jj > un:
                    min_jj = un
                packed = sb + item * min_l * (jjs - js) * l1stride
                if b_trans:
                    _copy_call(ctx[OTCOPY], min_l, min_jj, b + item * (jjs + ls * ldb), ldb, packed)
                else:
                    _copy_call(ctx[ONCOPY], min_l, min_jj, b + item * (ls + jjs * ldb), ldb, packed)
                _kernel_call(kernel, min_i, min_jj, min_l, alpha, sa, packed, c + item * (jjs * ldc), ldc)
                jjs += min_jj
            rows = min_i
            while rows < m:
                min_i = _split(m - rows, bp, um)
                if a_trans:
                    _copy_call(ctx[INCOPY], min_l, min_i, a + item * (ls + rows * lda), lda, sa)
                else:
                    _copy_call(ctx[ITCOPY], min_l, min_i, a + item * (rows + ls * lda), lda, sa)
                _kernel_call(kernel, min_i, min_j, min_l, alpha, sa, sb, c + item * (rows + js * ldc), ldc)
                rows += min_i
            ls += min_l


@njit(cache=True)
def _run_job(job_address):
    """One part of a product (a job array filled by _blocked_parts): the blocked loop on its block of C,
    with its own packing buffers."""
    job, real = ptr_int64(job_address), ptr_float64(job_address)
    ctx = ptr_int64(job[J_CTX])
    a_trans, b_trans = job[J_A_TRANS] != 0, job[J_B_TRANS] != 0
    if job[J_ITEM] == 4:
        _blocked_with(ctx, job[J_SA], job[J_SB], 4, a_trans, b_trans, job[J_M], job[J_N], job[J_K],
                      np.float32(real[J_ALPHA]), job[J_A], job[J_LDA], job[J_B], job[J_LDB],
                      np.float32(real[J_BETA]), job[J_C], job[J_LDC])
    else:
        _blocked_with(ctx, job[J_SA], job[J_SB], 8, a_trans, b_trans, job[J_M], job[J_N], job[J_K],
                      real[J_ALPHA], job[J_A], job[J_LDA], job[J_B], job[J_LDB], real[J_BETA], job[J_C],
                      job[J_LDC])


def _part(args, range_m, range_n, sa, sb, position):
    """What OpenBLAS's threads call (a C function, made by _routine_address): one job."""
    _run_job(args)
    return 0


def _routine_address():
    if "routine" not in _FOUND:
        from numba import cfunc
        _FOUND["routine"] = cfunc(types.int64(*[types.int64] * 6), cache=True)(_part)
    return _FOUND["routine"].address


@njit(cache=True)
def _blocked_parts(context, parts, on_threads, item, a_trans, b_trans, m, n, k, alpha, a, lda, b, ldb, beta,
                   c, ldc):
    """_blocked in up to `parts` parts (at most the context's JOB_COUNT): C's columns (or rows, when it has
    more rows) cut into as many blocks, one job each, run by OpenBLAS's own threads (exec_blas: the
    threads numpy's products use, so none are added to fight them) or, when not on_threads, one after
    another here (the self-test)."""
    ctx = ptr_int64(context)
    by_columns = n >= m
    size = n if by_columns else m
    unit = ctx[UNROLL_N] if by_columns else ctx[UNROLL_M]
    chunk = (((size + parts - 1) // parts + unit - 1) // unit) * unit
    count = 0
    for p in range(parts):
        start = p * chunk
        if start >= size:
            break
        length = min(size, start + chunk) - start
        address = ctx[JOBS] + 8 * JOB_SLOTS * p
        job, real = ptr_int64(address), ptr_float64(address)
        job[J_CTX], job[J_ITEM] = context, item
        job[J_A_TRANS], job[J_B_TRANS] = 1 if a_trans else 0, 1 if b_trans else 0
        job[J_K], job[J_LDA], job[J_LDB], job[J_LDC] = k, lda, ldb, ldc
        real[J_ALPHA], real[J_BETA] = alpha, beta
        if by_columns:              # columns start.. of op(B) and C
            job[J_M], job[J_N], job[J_A] = m, length, a
            job[J_B] = b + item * (start if b_trans else start * ldb)
            job[J_C] = c + item * start * ldc
        else:                       # rows start.. of op(A) and C
            job[J_M], job[J_N], job[J_B] = length, n, b
            job[J_A] = a + item * (start * lda if a_trans else start)
            job[J_C] = c + item * start
        count += 1
    if not on_threads:
        for p in range(count):
            _run_job(ctx[JOBS] + 8 * JOB_SLOTS * p)
        return
    for p in range(count):
        entry, job = ptr_int64(ctx[QUEUE] + 8 * QUEUE_SLOTS * p), ptr_int64(ctx[JOBS] + 8 * JOB_SLOTS * p)
        for slot in range(QUEUE_SLOTS):
            entry[slot] = 0
        entry[Q_ROUTINE], entry[Q_ARGS] = ctx[ROUTINE], ctx[JOBS] + 8 * JOB_SLOTS * p
        entry[Q_SA], entry[Q_SB] = job[J_SA], job[J_SB]
        entry[Q_NEXT] = ctx[QUEUE] + 8 * QUEUE_SLOTS * (p + 1) if p + 1 < count else 0
    _exec_call(ctx[EXEC], count, ctx[QUEUE])


@intrinsic
def _cblas_call(typingctx, fn, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """numpy's cblas ?gemm at address fn, row-major; its precision is alpha's (float32: sgemm, float64:
    dgemm) and its integer width m's (int32 or int64, as the routine found takes them)."""
    nb_real, nb_int = alpha, m
    sig = types.void(types.int64, types.int32, types.int32, nb_int, nb_int, nb_int, nb_real, types.int64,
                     nb_int, types.int64, nb_int, nb_real, types.int64, nb_int)

    def codegen(context, builder, signature, args):
        i32, iw, fl = ir.IntType(32), ir.IntType(nb_int.bitwidth), _float_ir(nb_real)
        fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, iw, iw, iw, fl, _VOID_P, iw, _VOID_P, iw, fl,
                                               _VOID_P, iw])
        callee = builder.inttoptr(args[0], fnty.as_pointer())
        values = [ir.Constant(i32, ROW_MAJOR)] + list(args[1:])
        for j in (7, 9, 12):                 # the three matrices: addresses to pointers
            values[j] = builder.inttoptr(values[j], _VOID_P)
        builder.call(callee, values)
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def _item(typingctx, value):
    """Bytes per element of value's type (a compile-time constant)."""
    sig = types.int64(value)

    def codegen(context, builder, signature, args):
        return ir.Constant(_LONG, value.bitwidth // 8)
    return sig, codegen


@njit(cache=True)
def _parts(ctx, m, n, k):
    """How a product runs: 0 by cblas; 1 by the blocked loop in this thread (OpenBLAS at one thread);
    2 or more: in that many parts on OpenBLAS's threads (as many as OpenBLAS runs, at most PARTS)."""
    if ctx[BLOCKED] == 0 or np.int64(m) * np.int64(n) * np.int64(k) < ctx[MIN_SIZE]:
        return 0
    threads = _int_call(ctx[THREADS])
    if threads == 1:
        return 1
    # a callback set by another library (openblas_set_threads_callback_function) runs jobs its own way
    if ctx[PARTS] < 2 or ptr_int64(ctx[CALLBACK])[0] != 0:
        return 0
    return min(threads, ctx[PARTS])


@njit(cache=True)
def _gemm_blocked(context, parts, item, a_trans, b_trans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    if parts == 1:
        _blocked(ptr_int64(context), item, a_trans, b_trans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    else:
        _blocked_parts(context, parts, True, item, a_trans, b_trans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


@njit(cache=True)
def gemm(context, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """Row-major C = alpha op(A) op(B) + beta C, through the context's route (_parts). Typed by its
    arguments: alpha float32 or float64, m n k and the leading dimensions int64 or int32 (the width of
    the cblas routine found). Row-major C is column-major C^T = op(B)^T op(A)^T: the blocked route
    swaps the operands (as cblas does for CblasRowMajor)."""
    ctx = ptr_int64(context)
    parts = _parts(ctx, m, n, k)
    if parts:
        _gemm_blocked(context, parts, _item(alpha), tb == TRANS, ta == TRANS, n, m, k, alpha, b, ldb, a, lda, beta,
                      c, ldc)
    else:
        _cblas_call(ctx[CBLAS], ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


# the names kernels call (kernels.py): one function, the dtype and integer width in the name for the reader
gemm_float32_64 = gemm_float64_64 = gemm_float32_32 = gemm_float64_32 = gemm


_CONTEXTS = {}                          # (dtype, TINYGRAD_AE_GEMM) -> (arrays, why): never dropped, kernels hold them
_ALIGN = 1 << 14                        # OpenBLAS aligns its packing buffers to 16 KiB (GEMM_DEFAULT_ALIGN)


def _aligned(n_items, dtype):
    raw = np.zeros(n_items * np.dtype(dtype).itemsize + _ALIGN, np.uint8)
    start = (-raw.ctypes.data) % _ALIGN
    return raw[start:start + n_items * np.dtype(dtype).itemsize].view(dtype)


def _blocked_context(dtype, blocking=None, jobs_at_least=1):
    """A context with the Haswell kernels and packing buffers for blocking (P, Q, R), or (None, why); its
    buffers and jobs for max(jobs_at_least, parts for OpenBLAS's threads) parts."""
    letter, um, un, bp, bq, br = _HASWELL[dtype]
    if blocking is not None:
        if blocking[1] > bq:
            raise ValueError(f"a depth of {blocking[1]} is more than OpenBLAS's Haswell {dtype} kernel takes ({bq})")
        bp, bq, br = blocking
    config = _config()
    if routine(dtype) is None:
        return None, "numpy's cblas gemm was not found"
    if not config.startswith("OpenBLAS 0.3."):
        return None, f"numpy's BLAS is not OpenBLAS 0.3 ({config or 'no OpenBLAS configuration found'})"
    names = [f"{letter}gemm_{part}_HASWELL" for part in ("kernel", "incopy", "itcopy", "oncopy", "otcopy", "beta")]
    found = [_address(name) for name in names]
    threads = next((a for a in map(_address, _THREADS) if a is not None), None)
    if None in found or threads is None:
        return None, "numpy's BLAS does not export OpenBLAS's Haswell kernels"
    parts, why_not = _thread_parts(config)
    # packed blocks are at most (P + 2 unroll) x (Q + unroll) and (Q + unroll) x (R + unroll); one pair
    # per part (the first is the one-thread route's too)
    buffers = [(_aligned((bp + 2 * um) * (bq + um + 8), dtype), _aligned((bq + um + 8) * (br + 2 * un), dtype))
               for _ in range(max(parts, jobs_at_least, 1))]
    jobs, queue = _aligned(len(buffers) * JOB_SLOTS, np.int64), _aligned(len(buffers) * QUEUE_SLOTS, np.int64)
    ctx = np.zeros(CONTEXT_SLOTS, np.int64)
    ctx[CBLAS] = routine(dtype)[0]
    ctx[BLOCKED], ctx[THREADS] = 1, threads
    ctx[KERNEL:BETA + 1] = found
    ctx[SA], ctx[SB] = buffers[0][0].ctypes.data, buffers[0][1].ctypes.data
    ctx[P], ctx[Q], ctx[R] = bp, bq, br
    ctx[UNROLL_M], ctx[UNROLL_N], ctx[MIN_SIZE] = um, un, MIN_BLOCKED
    ctx[JOBS], ctx[QUEUE], ctx[JOB_COUNT] = jobs.ctypes.data, queue.ctypes.data, len(buffers)
    for p, (sa, sb) in enumerate(buffers):
        jobs[p * JOB_SLOTS + J_SA], jobs[p * JOB_SLOTS + J_SB] = sa.ctypes.data, sb.ctypes.data
    if parts >= 2:
        ctx[PARTS], ctx[EXEC], ctx[CALLBACK] = parts, _address("exec_blas"), _address("openblas_threads_callback_")
        ctx[ROUTINE] = _routine_address()
    return (ctx, buffers, jobs, queue, why_not), None


def _thread_parts(config):
    """(parts, why not more than one): how many parts a product may be cut into for OpenBLAS's threads
    (one per CPU this process may use, at most MAX_PARTS), or 0 and why there are none. It needs
    OpenBLAS's pthreads thread server (exec_blas; an OpenMP build runs its queue differently)."""
    if "USE_OPENMP" in config.split():
        return 0, "numpy's OpenBLAS runs its threads through OpenMP"
    if _address("exec_blas") is None or _address("openblas_threads_callback_") is None:
        return 0, "numpy's OpenBLAS does not export its thread server (exec_blas)"
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(MAX_PARTS, cpus), None


def _self_test(dtype):
    """None if the blocked route computes every transposition and edge as np.dot does (to rounding), with
    small blocks so that every branch of the loop runs, in one part and in parts; else what differed."""
    made, why = _blocked_context(dtype, blocking=(16, 12, 26), jobs_at_least=3)
    return why if made is None else check(made[0], dtype)


def _ways(ctx):
    """(parts, on OpenBLAS's threads) that check() tries: one part; 2 and 3 parts one after another here
    (the cutting); and on OpenBLAS's threads, when the context has parts for them and OpenBLAS runs
    more than one thread now."""
    ways = [(1, False)] + [(p, False) for p in (2, 3) if p <= ctx[JOB_COUNT]]
    if ctx[PARTS] >= 2:
        threads = min(openblas_threads(), ctx[PARTS], ctx[JOB_COUNT])
        if threads >= 2:
            ways.append((threads, True))
    return ways


def check(ctx, dtype):
    """None if the blocked loop with context ctx (an int64 array) computes products of every
    transposition, beta 0 over NaN and beta 1 and 0.5, with edges of every block, in each of _ways(ctx),
    to rounding of the exact product; else what differed."""
    rng = np.random.default_rng(0)
    tolerance = 1e-5 if dtype == "float32" else 1e-13
    item = np.dtype(dtype).itemsize
    for m, n, k in [(1, 1, 1), (3, 5, 7), (37, 29, 41), (16, 10, 12), (33, 21, 25), (8, 4, 50), (5, 40, 9)]:
        for a_trans in (False, True):
            for b_trans in (False, True):
                for beta in (0.0, 1.0, 0.5):
                    a = rng.standard_normal((k, m) if a_trans else (m, k)).astype(dtype)
                    b = rng.standard_normal((n, k) if b_trans else (k, n)).astype(dtype)
                    a, b = (a.T if a_trans else a), (b.T if b_trans else b)
                    # beta 0 must overwrite what C held (NaN here); else C is scaled and added to
                    start = rng.standard_normal((m, n)).astype(dtype) if beta else np.full((m, n), np.nan, dtype)
                    exact = a.astype(np.float64) @ b.astype(np.float64)
                    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
                    if beta:
                        exact, scale = exact + beta * start, scale + beta * np.abs(start)
                    # row-major out = a @ b as column-major out^T = b^T a^T (what gemm_* do)
                    lda = (a.strides[1] if a_trans else a.strides[0]) // item
                    ldb = (b.strides[1] if b_trans else b.strides[0]) // item
                    one, beta_value = np.dtype(dtype).type(1), np.dtype(dtype).type(beta)
                    for parts, on_threads in _ways(ctx):
                        out = start.copy()
                        operands = (item, b_trans, a_trans, n, m, k, one, b.ctypes.data, ldb, a.ctypes.data,
                                    lda, beta_value, out.ctypes.data, n)
                        if parts == 1:
                            _blocked(ctx, *operands)
                        else:
                            _blocked_parts(ctx.ctypes.data, parts, on_threads, *operands)
                        if not np.all(np.abs(out - exact) <= tolerance * (scale + 1)):
                            how = "in one part" if parts == 1 else (
                                f"in {parts} parts" + (" on OpenBLAS's threads" if on_threads else ""))
                            return (f"OpenBLAS's Haswell kernels through tinygrad_ae's loop differ from np.dot "
                                    f"at {m}x{k} @ {k}x{n} (transposed: {a_trans}, {b_trans}; beta {beta}; "
                                    f"{how})")
    return None


def _context(dtype):
    name = np.dtype(dtype).name
    key = (name, os.environ.get("TINYGRAD_AE_GEMM", "").strip().lower())
    if key not in _CONTEXTS:
        on, reason = faster_kernels()
        made = None
        if on:
            failure = _self_test(name)
            if failure is None:
                made, failure = _blocked_context(name)
            if made is None:
                warnings.warn(f"tinygrad_ae fused backend: products use numpy's cblas gemm: {failure}",
                              RuntimeWarning, stacklevel=3)
                reason = failure
        if made is None:
            ctx = np.zeros(CONTEXT_SLOTS, np.int64)
            ctx[CBLAS] = routine(name)[0]
            made = (ctx,)
        _CONTEXTS[key] = (made, reason)
    return _CONTEXTS[key]


def context(dtype):
    """The address of dtype's context array (kernels take it for ("blas", dtype)); the blocked route is
    on in it when faster_kernels() says so and the self-test passed (else a warning says why not)."""
    return _context(dtype)[0][0].ctypes.data


def route(dtype):
    """How a kernel's large products of dtype run, in words (for the program's listing)."""
    made, reason = _context(dtype)
    ctx = made[0]
    if ctx[BLOCKED]:
        threads = (f"at more, cut in up to {ctx[PARTS]} parts for OpenBLAS's own threads" if ctx[PARTS] >= 2
                   else f"at more, cblas ({made[-1]})")
        return (f"OpenBLAS's Haswell kernels in blas.py's blocking loop, products of at least {MIN_BLOCKED:,} "
                f"multiply-adds: in this thread while OpenBLAS runs one, {threads} ({reason})")
    return f"numpy's cblas gemm ({reason})"


def layout(b, rows, cols):
    """(transpose flag, leading dimension) of a 2-D buffer as a row-major BLAS operand, or None."""
    item = b.dtype.itemsize
    s0, s1 = b.strides
    if s1 == item and s0 % item == 0 and s0 // item >= max(1, cols):
        return NO_TRANS, s0 // item
    if s0 == item and s1 % item == 0 and s1 // item >= max(1, rows):
        return TRANS, s1 // item
    return None
