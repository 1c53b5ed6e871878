"""The fused backend's matrix products (capture/fused/kernels.py `_gemm`): a product a @ b.T of small
matrices copies b into a row-major scratch first (OpenBLAS's "NT" case is slower); held to the eager
step at shapes where that copy is made and where it is not, with b a parameter, an argument and a view
of an argument at an offset. Skipped without numba."""
import numpy as np
import pytest

pytest.importorskip("numba", reason="the fused backend needs numba: pip install '.[fast]'")

import tinygrad_ae as tg                                          # noqa: E402
from tinygrad_ae import Tensor, optim                             # noqa: E402
from tinygrad_ae.capture.fused import kernels                     # noqa: E402

from test_fused import assert_close                               # noqa: E402

# (m, n, k, q): x (m, k), W (n, k), y (q + 1, n); some with a copy of b, some without, one where a
# product's output shares its operand's memory (m == k: BLAS cannot run in place, np.dot does)
SHAPES = [(16, 64, 16, 16), (64, 32, 64, 32), (5, 7, 3, 4), (8, 100, 64, 8), (3, 9, 40, 2)]


def make(m, n, k, q, dtype, seed=0):
    rng = np.random.default_rng(seed)
    W = Tensor(rng.standard_normal((n, k)).astype(dtype), requires_grad=True)
    opt = optim.SGD([W], lr=0.01)

    def step(x, y):
        opt.zero_grad()
        h = x @ W.T                     # b = the parameter W, rows contiguous
        u = h @ y[1:].T                 # b = a view of the argument y at an offset
        v = (x.T @ u) @ y[1:]           # products of other layouts around them
        loss = (u * u).mean() + (v * v).mean() * 1e-3
        loss.backward()
        opt.step()
        return loss
    return step, W


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,n,k,q", SHAPES)
def test_products_with_a_transposed_operand_fused_equal_eager(m, n, k, q, dtype):
    rng = np.random.default_rng(1)
    data = [(rng.standard_normal((m, k)).astype(dtype) * 0.3, rng.standard_normal((q + 1, n)).astype(dtype) * 0.3)
            for _ in range(3)]
    eager, W_eager = make(m, n, k, q, dtype)
    step, W = make(m, n, k, q, dtype)
    step = tg.compile(step, backend="fused")
    for i in range(12):
        x, y = data[i % 3]
        expected, got = eager(Tensor(x), Tensor(y)), step(Tensor(x.copy()), Tensor(y.copy()))
        assert_close(got.data, expected.data, f"loss of step {i}")
        assert_close(W.data, W_eager.data, f"W after step {i}")
    copies = "\n".join(step.program.fused.kernel_sources).count("copied to row-major")
    expect = int(kernels.transposes(111, 112, m, n, k)) + int(kernels.transposes(111, 112, m, q, n))
    assert copies > 0 or not expect


def test_the_copy_rule():
    assert kernels.transposes(111, 112, 64, 32, 64) and kernels.transposes(111, 112, 16, 64, 16)
    assert not kernels.transposes(111, 112, 16, 16, 64)            # too few rows to pay for the copy
    assert not kernels.transposes(111, 112, 256, 256, 64)          # too large a copy
    assert not kernels.transposes(112, 111, 64, 32, 64) and not kernels.transposes(111, 111, 64, 32, 64)


def test_a_product_written_over_its_operand_stays_np_dot():
    """x.T @ g with x (16, 16) lands in g's memory (the planner reuses it): a BLAS call from a kernel would
    read what it is writing (this was a silent wrong W in float64 too), so it stays np.dot's call."""
    step, W = make(16, 64, 16, 16, np.float64)
    eager, W_eager = make(16, 64, 16, 16, np.float64)
    step = tg.compile(step, backend="fused")
    rng = np.random.default_rng(2)
    for i in range(5):
        x, y = rng.standard_normal((16, 16)), rng.standard_normal((17, 64))
        step(Tensor(x), Tensor(y)), eager(Tensor(x), Tensor(y))
    np.testing.assert_allclose(W.data, W_eager.data, rtol=1e-12, atol=1e-12)
