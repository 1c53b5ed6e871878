"""Checks the test files share: norm-relative closeness and central differences of a numpy function."""
import numpy as np


def close(actual, expected, rtol=1e-10):
    """Norm-relative closeness: max|a - b| <= rtol * max(1, max|b|)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    return float(np.max(np.abs(actual - expected), initial=0.0)) <= rtol * scale


def central_differences(f, arrays, eps=1e-6):
    """d f / d arrays[i] for a function f() of no arguments that reads the arrays, one element at a
    time: (f(x + eps) - f(x - eps)) / (2 eps). The arrays are changed in place and restored."""
    grads = []
    for array in arrays:
        grad = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            saved = array[idx]
            array[idx] = saved + eps
            up = f()
            array[idx] = saved - eps
            down = f()
            array[idx] = saved
            grad[idx] = (up - down) / (2 * eps)
        grads.append(grad)
    return grads
