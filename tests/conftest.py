"""Shared test settings: hypothesis profiles.

`ci` (selected by .ci/run through HYPOTHESIS_PROFILE=ci) is derandomized and keeps the whole suite
within a few minutes on two cores; `thorough` draws many more examples for local runs:
    HYPOTHESIS_PROFILE=thorough pytest
"""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", deadline=None, max_examples=1000,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=40)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# tg.compile's bit-for-bit tests hold for the numpy program; with numba installed the default backend
# would be the fused one (equal to float tolerance). tests/test_fused.py asks for it by name.
os.environ.setdefault("TINYGRAD_AE_COMPILE_BACKEND", "numpy")


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """One BLAS thread for the whole run: the tests' matrices are small, and on a busy 2-core machine
    OpenBLAS's spinning threads slow them tenfold (the PCA training went from ~10 s to ~90 s)."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        yield
