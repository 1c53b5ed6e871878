"""The fused backend's blocked product route (capture/fused/blas.py `_blocked`): OpenBLAS's blocking loop
around the Haswell kernels numpy's OpenBLAS exports, for large products: in the caller's thread at one
OpenBLAS thread, cut in parts for OpenBLAS's own threads at more (`_blocked_parts`). Held to
the exact (float64) product in every layout, at the edges of every block, and end to end to the eager
step; the route's conditions; and the kernel cache's naming by the helpers a kernel calls. Skipped
without numba, or where numpy's BLAS does not export those kernels or the CPU lacks AVX2 and FMA."""
import contextlib
import ctypes

import numpy as np
import pytest

pytest.importorskip("numba", reason="the fused backend needs numba: pip install '.[fast]'")

import tinygrad_ae as tg                                          # noqa: E402
from tinygrad_ae import Tensor, nn, optim                         # noqa: E402
from tinygrad_ae.capture.fused import blas, driver                # noqa: E402

from test_fused import assert_close                               # noqa: E402


def _set_threads():
    library = blas._library()
    for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads"):
        if library is not None and hasattr(library, name):
            return getattr(library, name)
    return None


def _get_threads():
    library = blas._library()
    for name in blas._THREADS:
        if library is not None and hasattr(library, name):
            return getattr(library, name)
    return None


def _supported():
    from llvmlite import binding
    features = binding.get_host_cpu_features()
    if not (features.get("avx2") and features.get("fma")):
        return "the CPU has no AVX2 and FMA"
    if blas._blocked_context("float32", (16, 12, 10))[0] is None or _set_threads() is None:
        return "numpy's BLAS does not export OpenBLAS's Haswell kernels and its thread setting"
    return None


pytestmark = pytest.mark.skipif(_supported() is not None, reason=str(_supported()))


@contextlib.contextmanager
def openblas_threads(n):
    """OpenBLAS runs n threads inside the block (as OPENBLAS_NUM_THREADS=n would), then as before."""
    before = _get_threads()()
    _set_threads()(ctypes.c_int(n))
    try:
        yield
    finally:
        _set_threads()(ctypes.c_int(before))


def small_context(dtype, blocking=(16, 12, 26)):
    """A blocked context with small blocks (every branch of the loop at small sizes), taken for every
    product size."""
    made, why = blas._blocked_context(dtype, blocking)
    assert made is not None, why
    made[0][blas.MIN_SIZE] = 0
    return made


def product(made, a, b, out, alpha=1.0, beta=0.0):
    """out = alpha a @ b + beta out through gemm_<dtype>_64 (what a kernel calls), row-major."""
    dtype = out.dtype.name
    item = out.dtype.itemsize
    ta, lda = blas.layout(a, *a.shape)
    tb, ldb = blas.layout(b, *b.shape)
    gemm = getattr(blas, f"gemm_{dtype}_64")
    real = out.dtype.type
    gemm(made[0].ctypes.data, np.int32(ta), np.int32(tb), a.shape[0], b.shape[1], a.shape[1], real(alpha),
         a.ctypes.data, lda, b.ctypes.data, ldb, real(beta), out.ctypes.data, out.strides[0] // item)


def operands(rng, m, n, k, a_trans, b_trans, dtype):
    a = rng.standard_normal((k, m) if a_trans else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if b_trans else (k, n)).astype(dtype)
    return (a.T if a_trans else a), (b.T if b_trans else b)


def assert_product(out, a, b, alpha, beta, start, dtype):
    exact = alpha * (a.astype(np.float64) @ b.astype(np.float64))
    scale = abs(alpha) * (np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64))
    if beta:
        exact, scale = exact + beta * start, scale + abs(beta) * np.abs(start)
    bound = (1e-6 if dtype == "float32" else 1e-14) * a.shape[1] ** 0.5 * (scale + 1)
    assert np.all(np.isfinite(out))
    worst = np.max(np.abs(out - exact) / bound)
    assert worst <= 1, f"error {worst:.2f} times the bound"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("a_trans", [False, True])
@pytest.mark.parametrize("b_trans", [False, True])
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (37, 29, 41), (50, 33, 27), (16, 10, 12), (8, 3, 100), (20, 60, 30)])
def test_the_blocked_loop_computes_the_exact_product_at_every_block_edge(m, n, k, a_trans, b_trans, dtype):
    made = small_context(dtype)
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a, b = operands(rng, m, n, k, a_trans, b_trans, dtype)
    with openblas_threads(1):
        assert blas._parts(made[0], m, n, k) == 1
        out = np.full((m, n), np.nan, dtype)            # beta 0 overwrites what was there, NaN included
        product(made, a, b, out)
        assert_product(out, a, b, 1.0, 0.0, None, dtype)
        start = rng.standard_normal((m, n)).astype(dtype)
        out = start.copy()
        product(made, a, b, out, alpha=2.0, beta=0.5)
        assert_product(out, a, b, 2.0, 0.5, start.astype(np.float64), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_production_blocks_compute_the_exact_product_beyond_one_depth_and_row_block(dtype):
    """The real P, Q, R: a depth over two Q (a Q block and a rest), rows over two P, columns over R."""
    _, _, _, bp, bq, br = blas._HASWELL[dtype]
    made, why = blas._blocked_context(dtype)
    made[0][blas.MIN_SIZE] = 0
    m, n, k = 2 * bp + 9, br + 7, 2 * bq + 61
    rng = np.random.default_rng(5)
    for a_trans, b_trans in [(False, True), (True, False)]:
        a, b = operands(rng, m, n, k, a_trans, b_trans, dtype)
        out = np.full((m, n), np.nan, dtype)
        with openblas_threads(1):
            product(made, a, b, out)
        assert_product(out, a, b, 1.0, 0.0, None, dtype)


def test_the_route_is_taken_for_large_products_in_this_thread_or_in_parts_on_openblass_threads():
    made = small_context("float32")
    ctx = made[0]
    ctx[blas.MIN_SIZE] = blas.MIN_BLOCKED
    with openblas_threads(1):
        assert blas._parts(ctx, 128, 128, 128) == 1                    # exactly 2**21
        assert blas._parts(ctx, 128, 128, 127) == 0
        ctx[blas.BLOCKED] = 0
        assert blas._parts(ctx, 1024, 1024, 1024) == 0
        ctx[blas.BLOCKED] = 1
    if ctx[blas.PARTS] < 2:
        pytest.skip(f"one CPU or no thread server here: {made[-1]}")
    with openblas_threads(2):
        assert blas._parts(ctx, 1024, 1024, 1024) == 2
        assert blas._parts(ctx, 128, 128, 127) == 0
        parts = ctx[blas.PARTS]
        ctx[blas.PARTS] = 1                                              # no parts: cblas's threaded product
        assert blas._parts(ctx, 1024, 1024, 1024) == 0
        ctx[blas.PARTS] = parts
        callback_set, callback = np.array([1], np.int64), ctx[blas.CALLBACK]
        ctx[blas.CALLBACK] = callback_set.ctypes.data                    # a threads callback: cblas
        assert blas._parts(ctx, 1024, 1024, 1024) == 0
        ctx[blas.CALLBACK] = callback
    with openblas_threads(parts + 1):                                    # never more parts than buffers
        assert blas._parts(ctx, 1024, 1024, 1024) == parts


def needs_parts(ctx):
    if ctx[blas.PARTS] < 2:
        pytest.skip("one CPU or no OpenBLAS thread server here: products are not cut in parts")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("a_trans,b_trans", [(False, False), (False, True), (True, False), (True, True)])
@pytest.mark.parametrize("m,n,k", [(37, 29, 41), (29, 37, 41), (50, 33, 27), (3, 60, 30), (60, 3, 30), (9, 9, 5)])
def test_a_product_cut_in_parts_for_openblass_threads_is_the_exact_product(m, n, k, a_trans, b_trans, dtype):
    """Two OpenBLAS threads: C cut by columns (or by rows when it has more), each part on its own
    thread with its own buffers; every part's block edges, beta 0 over NaN and beta 0.5."""
    made = small_context(dtype)
    needs_parts(made[0])
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a, b = operands(rng, m, n, k, a_trans, b_trans, dtype)
    with openblas_threads(2):
        assert blas._parts(made[0], m, n, k) == 2
        out = np.full((m, n), np.nan, dtype)
        product(made, a, b, out)
        assert_product(out, a, b, 1.0, 0.0, None, dtype)
        start = rng.standard_normal((m, n)).astype(dtype)
        out = start.copy()
        product(made, a, b, out, alpha=-1.5, beta=0.5)
        assert_product(out, a, b, -1.5, 0.5, start.astype(np.float64), dtype)


@pytest.mark.parametrize("parts", [2, 3, 5])
@pytest.mark.parametrize("m,n,k", [(37, 29, 41), (29, 37, 41), (4, 70, 3), (70, 4, 3)])
def test_every_cut_of_a_product_into_parts_adds_up_to_the_exact_product(m, n, k, parts):
    """The cutting alone (parts run one after another in this thread): more parts than unroll blocks
    leaves some empty, and the last part is short."""
    made, why = blas._blocked_context("float64", (16, 12, 26), jobs_at_least=5)
    rng = np.random.default_rng(parts)
    for a_trans, b_trans in [(False, True), (True, False)]:
        a, b = operands(rng, m, n, k, a_trans, b_trans, "float64")
        out = np.full((m, n), np.nan)
        ta, lda = blas.layout(a, *a.shape)
        tb, ldb = blas.layout(b, *b.shape)
        # row-major out = a @ b is column-major out^T = b^T a^T
        blas._blocked_parts(made[0].ctypes.data, parts, False, 8, tb == blas.TRANS, ta == blas.TRANS, n, m, k,
                            1.0, b.ctypes.data, ldb, a.ctypes.data, lda, 0.0, out.ctypes.data, n)
        assert_product(out, a, b, 1.0, 0.0, None, "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_production_blocks_in_parts_compute_the_exact_product(dtype):
    """The real P, Q, R on two threads: each part's rows over two P and depth over two Q."""
    _, _, _, bp, bq, br = blas._HASWELL[dtype]
    made, why = blas._blocked_context(dtype)
    needs_parts(made[0])
    made[0][blas.MIN_SIZE] = 0
    rng = np.random.default_rng(6)
    for m, n in [(2 * bp + 9, 2 * bp + 33), (2 * br + 9, 70)]:
        a, b = operands(rng, m, n, 2 * bq + 61, False, True, dtype)
        out = np.full((m, n), np.nan, dtype)
        with openblas_threads(2):
            product(made, a, b, out)
        assert_product(out, a, b, 1.0, 0.0, None, dtype)


def test_products_in_parts_and_numpys_threaded_products_share_openblass_threads():
    """Another Python thread runs numpy's threaded products (the GIL released) while this one cuts
    products in parts for the same OpenBLAS threads: both stay exact, neither waits forever."""
    import threading
    made, why = blas._blocked_context("float32")
    needs_parts(made[0])
    made[0][blas.MIN_SIZE] = 0
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((300, 200)).astype(np.float32), rng.standard_normal((200, 260)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    failures, stop = [], threading.Event()

    def numpy_products():
        while not stop.is_set():
            if not np.allclose(a @ b, exact, rtol=1e-4, atol=1e-3):
                failures.append("numpy's product")
    with openblas_threads(2):
        other = threading.Thread(target=numpy_products, daemon=True)
        other.start()
        try:
            for _ in range(100):
                out = np.full((300, 260), np.nan, np.float32)
                product(made, a, b, out)
                assert_product(out, a, b, 1.0, 0.0, None, "float32")
        finally:
            stop.set()
            other.join(timeout=60)
    assert not other.is_alive() and failures == []


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_32_bit_integer_entry_point_computes_the_same_product(dtype):
    """Kernels built against a 32-bit-integer cblas call gemm_<dtype>_32 with int32 sizes: the same
    function, typed by its arguments; here through the blocked route (its cblas branch is compiled for
    int32 too)."""
    made = small_context(dtype)
    rng = np.random.default_rng(9)
    a, b = operands(rng, 37, 29, 41, False, True, dtype)
    (ta, lda), (tb, ldb) = blas.layout(a, 37, 41), blas.layout(b, 41, 29)
    out, i32, real = np.full((37, 29), np.nan, dtype), np.int32, np.dtype(dtype).type
    with openblas_threads(1):
        getattr(blas, f"gemm_{dtype}_32")(made[0].ctypes.data, i32(ta), i32(tb), i32(37), i32(29), i32(41), real(1),
                                          a.ctypes.data, i32(lda), b.ctypes.data, i32(ldb), real(0),
                                          out.ctypes.data, i32(29))
    assert_product(out, a, b, 1.0, 0.0, None, dtype)


def test_the_check_finds_a_packing_routine_that_does_not_match_the_kernel():
    made = small_context("float32")
    assert blas.check(made[0], "float32") is None
    broken = made[0].copy()
    broken[blas.ONCOPY] = made[0][blas.INCOPY]             # B packed 8 columns wide, the kernel reads 4
    failure = blas.check(broken, "float32")
    assert failure is not None and "differ from np.dot" in failure


def test_a_depth_beyond_openblass_own_is_refused():
    with pytest.raises(ValueError, match="256"):
        blas._blocked_context("float64", (16, 300, 16))


def test_the_gemm_setting_names_its_choices(monkeypatch):
    monkeypatch.setenv("TINYGRAD_AE_GEMM", "fastest")
    with pytest.raises(ValueError, match="TINYGRAD_AE_GEMM='fastest'.*openblas.*haswell"):
        blas.faster_kernels()
    monkeypatch.setenv("TINYGRAD_AE_GEMM", "openblas")
    assert blas.faster_kernels() == (False, "TINYGRAD_AE_GEMM=openblas")
    made, reason = blas._context("float32")
    assert made[0][blas.BLOCKED] == 0 and "cblas" in blas.route("float32")
    monkeypatch.setenv("TINYGRAD_AE_GEMM", "haswell")
    made, reason = blas._context("float32")
    assert made[0][blas.BLOCKED] == 1 and "Haswell" in blas.route("float32")


def autoencoder_step(seed, dtype):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(256, 64), nn.Sigmoid(), nn.Linear(64, 256))
    for p in model.parameters():
        p.data = (rng.standard_normal(p.shape) * 0.1).astype(dtype)
    opt = optim.SGD(model.parameters(), lr=0.05)

    def step(x):
        opt.zero_grad()
        loss = ((model(x) - x) ** 2).mean()
        loss.backward()
        opt.step()
        return loss
    return step, model


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_fused_step_with_blocked_products_equals_eager_over_50_steps(monkeypatch, dtype):
    """Products of 128 x 256 x 64 (2**21 multiply-adds): the blocked route at one thread, in parts on
    OpenBLAS's threads at two."""
    monkeypatch.setenv("TINYGRAD_AE_GEMM", "haswell")
    rng = np.random.default_rng(3)
    data = [rng.random((128, 256)).astype(dtype) for _ in range(4)]
    eager, eager_model = autoencoder_step(0, dtype)
    fused, model = autoencoder_step(0, dtype)
    fused = tg.compile(fused, backend="fused")
    for i in range(50):
        x = data[i % 4]
        with openblas_threads(1 if i < 40 else 2):
            expected, got = eager(Tensor(x)), fused(Tensor(x.copy()))
        assert_close(got.data, expected.data, f"loss of step {i}")
        for p, q in zip(model.parameters(), eager_model.parameters()):
            assert_close(p.data, q.data, f"a parameter after step {i}")
    listing = str(fused.program)
    assert f"{np.dtype(dtype).name} products: OpenBLAS's Haswell kernels" in listing


def test_kernel_modules_are_named_by_the_helpers_they_call(monkeypatch, tmp_path):
    """numba's cache checks only a module's own file: a kernel built against other helpers (mathf,
    blas) must not be found under the same name."""
    monkeypatch.setenv("TINYGRAD_AE_KERNEL_CACHE", str(tmp_path))
    source = "VALUE = 1\n"
    first = driver.load(source)
    monkeypatch.setattr(driver, "_HELPERS", ["another digest"])
    second = driver.load(source)
    assert first.__name__ != second.__name__ and first.__file__ != second.__file__
    assert len(list(tmp_path.glob("kernels_*.py"))) == 2
