"""examples/vae_fashion_mnist.py --quick: the VAE here and in PyTorch from the same weights and batches, on
the digits; both test negative ELBOs fall and end close to each other (only the draws of eps differ)."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "vae_fashion_mnist.py"


def test_vae_fashion_mnist_quick(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(EXAMPLE), "--quick", "--out", str(out)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VAE 64-400-20, Adam lr 0.001, batch 128, 2 epochs" in result.stdout
    saved = json.loads((out / "vae_fashion_mnist.json").read_text())
    ours = [e["test_neg_elbo"] for e in saved["tinygrad_ae"]]
    assert len(ours) == 2 and ours[1] < ours[0] < 64 * 0.7      # below a coin per pixel, and falling
    final = float(re.search(r"final test negative ELBO: tinygrad_ae (\S+?)[,;]", result.stdout)[1])
    assert final == pytest.approx(ours[-1], abs=1e-3)
    if saved["pytorch"] is None:
        assert "torch is not installed" in result.stdout
    else:
        theirs = [e["test_neg_elbo"] for e in saved["pytorch"]]
        assert theirs[1] < theirs[0]
        assert abs(ours[-1] - theirs[-1]) < 0.05 * theirs[-1]    # the same model: within 5%
