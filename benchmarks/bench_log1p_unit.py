"""mathf.log1p_unit32 (log1p on [0, 1]: one polynomial) against mathf.log1p32 (log32 + a division) and
numpy's np.log1p: the sum of log1p(x) over 200,000 float32 x = exp(-|normal|) (the BCE step's values at
the "mnist" size) in numba loops compiled with the kernels' flags; same process, interleaved rounds,
medians. Prints the times and the ratios (new / log1p32, new / numpy). Runs in a few seconds.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_log1p_unit.py
"""
import time

import numpy as np
from numba import njit

from tinygrad_ae.capture.fused.mathf import log1p32, log1p_unit32

ROUNDS, N = 300, 200_000


@njit(fastmath={"reassoc", "contract"})
def sum_log1p32(x):
    t = np.float32(0.0)
    for i in range(x.shape[0]):
        t += log1p32(x[i])
    return t


@njit(fastmath={"reassoc", "contract"})
def sum_log1p_unit32(x):
    t = np.float32(0.0)
    for i in range(x.shape[0]):
        t += log1p_unit32(x[i])
    return t


def sum_numpy(x):
    return np.log1p(x).sum()


def main():
    x = np.exp(-np.abs(np.random.default_rng(0).standard_normal(N))).astype(np.float32)
    cases = {"log1p32": sum_log1p32, "log1p_unit32": sum_log1p_unit32, "np.log1p": sum_numpy}
    sums = {name: float(f(x)) for name, f in cases.items()}           # compiles; the sums agree
    assert max(sums.values()) - min(sums.values()) < 1e-4 * abs(sums["np.log1p"]), sums
    times = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, f in cases.items():
            t0 = time.perf_counter()
            f(x)
            times[name].append(time.perf_counter() - t0)
    med = {name: float(np.median(t)) * 1e6 for name, t in times.items()}
    print(f"N={N} float32 in [0, 1], {ROUNDS} interleaved rounds, medians:")
    for name, us in med.items():
        print(f"  {name:13s} {us:8.1f} us")
    print(f"log1p_unit32 / log1p32  = {med['log1p_unit32'] / med['log1p32']:.3f}")
    print(f"log1p_unit32 / np.log1p = {med['log1p_unit32'] / med['np.log1p']:.3f}")
    print(f"log1p32 / np.log1p      = {med['log1p32'] / med['np.log1p']:.3f}")


if __name__ == "__main__":
    main()
