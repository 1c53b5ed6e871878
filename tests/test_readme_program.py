"""The README's two PyTorch programs: they run with `import tinygrad_ae as torch`, and the same texts with
`import torch` run under PyTorch to the same kind of result (the random streams differ, so the numbers
are compared by what the programs compute: the fitted polynomial, the classifier's accuracy, the
autoencoder's reconstruction error against the data's variance)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_program(which=0):
    text = README.read_text()
    section = text[text.index("## For people who import the framework"):]
    return re.findall(r"```python\n(.*?)```", section, re.S)[which]


def output(source, tmp_path, name):
    """The program's printed lines, run as a script in tmp_path (where it may write its files)."""
    script = tmp_path / name
    script.write_text(source)
    # one thread: torch's thread pool spin-waits on a busy 2-core machine (20x slower than one thread)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()


def run(source, tmp_path, name):
    fit, classifier = output(source, tmp_path, name)[-2:]
    coefficients = [float(v) for v in re.findall(r"-?\d+\.\d+", fit)]
    accuracy = float(re.search(r"accuracy (\d\.\d+)", classifier).group(1))
    return coefficients, accuracy


def test_the_readme_program_runs_on_tinygrad_ae_and_fits(tmp_path):
    source = readme_program()
    assert source.startswith("import math\nimport tinygrad_ae as torch")
    (a, b, c, d), accuracy = run(source, tmp_path, "ours.py")
    # sin(x) on [-pi, pi] after 2000 steps of the tutorial: b near 0.85, d near -0.09, a and c near 0
    assert abs(b - 0.85) < 0.05 and abs(d + 0.09) < 0.01 and abs(a) < 0.1 and abs(c) < 0.05
    assert accuracy >= 0.95


def test_the_readme_program_is_a_pytorch_program(tmp_path):
    pytest.importorskip("torch")
    source = readme_program().replace("tinygrad_ae", "torch")
    (a, b, c, d), accuracy = run(source, tmp_path, "theirs.py")
    assert abs(b - 0.85) < 0.05 and abs(d + 0.09) < 0.01 and accuracy >= 0.95


def autoencoder_errors(source, tmp_path, name):
    line = output(source, tmp_path, name)[-1]
    error, variance = (float(v) for v in re.findall(r"\d+\.\d+", line))
    assert (tmp_path / "autoencoder.pth").exists()
    return error, variance


def test_the_readme_autoencoder_program_runs_on_tinygrad_ae_and_learns(tmp_path):
    source = readme_program(1)
    assert source.startswith("import tinygrad_ae as torch")
    error, variance = autoencoder_errors(source, tmp_path, "ours.py")
    assert error < 0.08 * variance          # a 3-dimensional code keeps the 3 degrees of freedom


def test_the_readme_autoencoder_program_is_a_pytorch_program(tmp_path):
    pytest.importorskip("torch")
    ours = autoencoder_errors(readme_program(1), tmp_path, "ours.py")
    theirs = autoencoder_errors(readme_program(1).replace("tinygrad_ae", "torch"), tmp_path, "theirs.py")
    assert theirs[0] < 0.08 * theirs[1] and 0.25 < ours[0] / theirs[0] < 4
