"""The README's opening PyTorch program: it runs with `import tinygrad_ae as torch`, and the same text with
`import torch` runs under PyTorch to the same kind of result (the random streams differ, so the numbers
are compared by what the program computes: the fitted polynomial and the classifier's accuracy)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_program():
    text = README.read_text()
    section = text[text.index("## For people who import the framework"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def run(source, tmp_path, name):
    script = tmp_path / name
    script.write_text(source)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          cwd=README.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    fit, classifier = done.stdout.strip().splitlines()[-2:]
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
