"""Smoke tests: every example runs with --quick, exits 0, and prints numbers that make sense."""
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_ae import data, reference

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
NUMBER = r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"


def run(name, tmp_path):
    """Run examples/<name>.py --quick from an empty folder; returns (stdout, out folder)."""
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--quick", "--out", str(out)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout, out


def number_after(text, label):
    match = re.search(re.escape(label) + r"\s*" + NUMBER, text)
    assert match, f"no number after {label!r} in:\n{text}"
    return float(match[1])


def check_pictures(stdout, out, names):
    if HAS_MATPLOTLIB:
        for name in names:
            assert (out / name).stat().st_size > 1000
    else:
        assert 'matplotlib is not installed' in stdout and 'pip install ".[plot]"' in stdout
        assert not out.exists() or not any(out.glob("*.png"))


def test_every_example_has_a_smoke_test():
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    tested = {"autograd_basics", "binary_vs_real_inputs", "pca_vs_autoencoder", "undercomplete_vs_overcomplete",
              "to_pytorch", "classify_codes",  # classify_codes: tests/test_example_classify_codes.py
              "regularized_autoencoders", "vae_fashion_mnist",  # vae_fashion_mnist: tests/test_example_vae.py
              "conv_fashion_mnist"}  # tests/test_conv_autoencoder.py
    assert scripts == tested


def test_autograd_basics(tmp_path):
    stdout, out = run("autograd_basics", tmp_path)
    w, b, x, y = 0.8, -0.3, 1.5, 1.0
    p = 1 / (1 + np.exp(-(w * x + b)))
    dz = 2 * (p - y) * p * (1 - p)
    assert number_after(stdout, "L =") == pytest.approx((p - y) ** 2, abs=1e-6)
    for name, expected in (("w", dz * x), ("b", dz), ("x", dz * w)):
        row = re.search(rf"dL/d{name}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}", stdout)
        assert row, stdout
        hand, auto, numeric = (float(v) for v in row.groups())
        assert hand == pytest.approx(expected, abs=1e-8) and auto == pytest.approx(expected, abs=1e-8)
        assert numeric == pytest.approx(expected, abs=1e-7)
    assert number_after(stdout, "max |by hand - backward()| =") < 1e-12
    assert "backward: 5 ops, in the order the topological sort chose" in stdout
    if shutil.which("dot"):
        assert (out / "autograd_basics.svg").read_bytes().find(b"<svg") >= 0
    else:
        assert (out / "autograd_basics.dot").read_text().startswith("digraph")
        assert "apt-get install graphviz" in stdout


def test_binary_vs_real_inputs(tmp_path):
    stdout, out = run("binary_vs_real_inputs", tmp_path)
    X, _ = data.load_digits(np.float64)
    _, X_val = data.train_val_split(X, 0.2, seed=0)
    binary, real = stdout.split("binary inputs:")[1].split("real inputs:")
    cross_entropy = number_after(binary, "validation loss (cross-entropy, per example):")
    squared = number_after(real, "validation loss (squared error, per example):")
    # better than knowing nothing: x_hat = 1/2 everywhere (cross-entropy n log 2), the mean image (squared)
    assert 0 < cross_entropy < X.shape[1] * np.log(2)
    assert 0 < squared < np.sum((X_val - X_val.mean(axis=0)) ** 2) / len(X_val)
    low, high = re.search(rf"range over \[{NUMBER}, {NUMBER}\]", binary).groups()
    assert 0 <= float(low) <= float(high) <= 1                      # the logistic decoder's outputs
    assert 0 <= number_after(binary, "pixels wrong after thresholding x_hat at 0.5:") < 50
    check_pictures(stdout, out, ["reconstructions.png"])


def test_pca_vs_autoencoder(tmp_path):
    stdout, out = run("pca_vs_autoencoder", tmp_path)
    X, _ = data.load_digits(np.float64)
    X_train, _ = data.train_val_split(X, 0.2, seed=0)
    bound = number_after(stdout, "PCA bound (sum of the eigenvalues after the 10th):")
    assert bound == pytest.approx(reference.pca_bound(X_train, 10), abs=1e-6)
    ratios = [float(r) for r in re.findall(rf"= {NUMBER} x the PCA bound", stdout)]
    assert len(ratios) == 2 and all(1 - 1e-6 <= r < 1.5 for r in ratios)
    assert 0 <= number_after(stdout, "top-10 subspace: largest") <= 90
    check_pictures(stdout, out, ["pca_vs_autoencoder.png", "components.png"])


def test_undercomplete_vs_overcomplete(tmp_path):
    stdout, out = run("undercomplete_vs_overcomplete", tmp_path)
    rows = re.findall(rf"^\s+(\d+)\s+(under|over)-complete\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}$",
                      stdout, flags=re.MULTILINE)
    assert [(int(k), kind) for k, kind, *_ in rows] == [(8, "under"), (64, "over"), (128, "over")]
    val_loss, _, noise, passes = (np.array(column, dtype=float) for column in zip(*(r[2:] for r in rows)))
    assert np.all(np.diff(val_loss) < 0)         # more hidden units, better reconstruction
    assert np.all(np.diff(noise) < 0)            # ... of noise too: less of what is learned is about digits
    assert np.all(np.diff(passes) > 0)           # ... and closer to passing each pixel through
    check_pictures(stdout, out, ["undercomplete_vs_overcomplete.png", "filters.png"])


def test_to_pytorch(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch): the example loads the "
                                        "model into torch.nn.Linear layers")
    stdout, out = run("to_pytorch", tmp_path)
    assert number_after(stdout, "largest difference") <= 1e-6
    saved = np.load(out / "model.npz", allow_pickle=False)
    assert sorted(saved.files) == ["decoder.bias", "decoder.weight", "encoder.bias", "encoder.weight"]


def test_regularized_autoencoders(tmp_path):
    stdout, out = run("regularized_autoencoders", tmp_path)
    rows = re.findall(rf"^\| ([a-z][^|]*?) \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| "
                      rf"{NUMBER}% \| \d+ \|$", stdout, flags=re.MULTILINE)
    names = [r[0] for r in rows]
    assert names[:6] == ["plain", "weight decay 1e-3", "denoising mask 0.3", "denoising mask 0.5",
                         "sparse 0.05, beta 3", "contractive 0.1"]
    values = {r[0]: [float(v) for v in r[1:]] for r in rows}
    for name, (clean, masked, noise, passes, activation, saturated) in values.items():
        assert 0 < clean < masked and 0 <= activation <= 1 and 0 <= saturated <= 100, name
    assert values["sparse 0.05, beta 3"][4] < values["plain"][4]          # sparsity lowers the mean activation
    check_pictures(stdout, out, ["regularized_filters.png"])
    if data.FASHION_MNIST_DIR.is_dir():
        table = stdout.split("| model | test error | x PCA-30 |")[1]
        pca = float(re.search(rf"\| PCA, 30 components \| {NUMBER} \| 1.00 \|", table)[1])
        X_train, _ = data.load_fashion_mnist(split="train")
        X_test, _ = data.load_fashion_mnist(split="test")
        assert pca == pytest.approx(reference.pca_error(X_train[:2000], X_test[:500], 30), abs=0.01)
        assert table.count("| deep 784-1000-500-250-30") == 2
        check_pictures(stdout, out, ["fashion_deep-logistic.png", "fashion_deep-relu.png"])
    else:
        assert "part 2 skipped" in stdout and "apt-get install dataset-fashion-mnist" in stdout
