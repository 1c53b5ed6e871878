"""docs/lecture.md: every link resolves to a function or test that exists, every claim has code and a test.

Also here: the checks of the table's claims that no other test file makes (marked in the table).
"""
import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_ae.functional as F
from tinygrad_ae import Tensor

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "lecture.md"
# [`path::name`](relative/target) or [`path`](relative/target), and plain [text](target)
CODE_LINK = re.compile(r"\[`([^`]+)`\]\(([^)]+)\)")
ANY_LINK = re.compile(r"\[[^\]]+\]\(([^)]+)\)")

# The slides' formulas and claims, one table row each, by the row's first cell.
CLAIMS = [
    "encoder", "decoder", "under-complete", "over-complete", "binary inputs", "real inputs",
    "squared error, sum form", "squared error, vector form", "chain rule for W*", "chain rule for W",
    "squared-error gradient", "cross-entropy", "its minimum", "cross-entropy gradient",
    "sigmoid's derivative", "the product", "PCA analogy", "PCA is the best linear code",
]


def doc_text():
    return DOC.read_text(encoding="utf-8")


def table_rows():
    """{claim: (formula cell, code cell, tests cell)} from the table under '## The table'."""
    lines = doc_text().split("## The table", 1)[1].split("\n## ", 1)[0].splitlines()   # up to the next section
    rows = [line for line in lines if line.startswith("|")]
    header, separator, body = rows[0], rows[1], rows[2:]
    assert [c.strip() for c in header.strip("|").split("|")] == ["claim", "slide: formula or claim", "in code",
                                                                  "checked by"]
    assert set(separator) <= set("|-: ")
    table = {}
    for row in body:
        cells = [c.strip() for c in row.strip().strip("|").split(" | ")]
        assert len(cells) == 4, f"row does not have 4 cells: {row}"
        assert cells[0] not in table, f"claim {cells[0]!r} appears twice"
        table[cells[0]] = tuple(cells[1:])
    return table


def resolve(text, target):
    """Check one code link: the target file exists, matches the path in the text, and holds the name."""
    path, _, name = text.partition("::")
    file = (DOC.parent / target.split("#")[0]).resolve()
    assert file == (ROOT / path).resolve(), f"link text {text!r} does not match its target {target!r}"
    assert file.is_file(), f"{target} does not exist"
    if not name:
        return
    if path.startswith("tinygrad_ae/"):   # library code: import it and look the name up
        module = importlib.import_module(path[:-len(".py")].replace("/", "."))
        value = module
        for part in name.split("."):
            assert hasattr(value, part), f"{path} has no {name} ({part!r} is missing)"
            value = getattr(value, part)
    else:                                 # tests and examples: parse them, do not run them
        body = ast.parse(file.read_text(encoding="utf-8")).body
        for part in name.split("."):
            found = [node for node in body if isinstance(node, (ast.FunctionDef, ast.ClassDef))
                     and node.name == part]
            assert found, f"{path} has no {name} ({part!r} is missing)"
            body = found[0].body


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


# ----- the document ----------------------------------------------------------------------------

def test_every_claim_of_the_slides_has_a_row():
    assert list(table_rows()) == CLAIMS


@pytest.mark.parametrize("claim", CLAIMS)
def test_each_claim_names_code_and_a_test_that_exist(claim):
    formula, code, tests = table_rows()[claim]
    assert formula
    code_links, test_links = CODE_LINK.findall(code), CODE_LINK.findall(tests)
    assert code_links and all(text.startswith(("tinygrad_ae/", "examples/")) and "::" in text
                              for text, _ in code_links), code
    assert test_links and all(text.startswith("tests/") and "::test_" in text for text, _ in test_links), tests
    for text, target in code_links + test_links:
        resolve(text, target)


def test_every_link_in_the_document_resolves():
    text = doc_text()
    anchors = {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}
    for link_text, target in CODE_LINK.findall(text):
        resolve(link_text, target)
    for target in ANY_LINK.findall(text):
        if target.startswith("#"):
            assert target[1:] in anchors, f"no heading for the anchor {target}"
        else:
            assert not target.startswith(("http:", "https:")), "link into the repository, not the web"
            file = (DOC.parent / target.split("#")[0]).resolve()
            assert file.is_file() and ROOT in file.parents, f"{target} is not a file in the repository"


def test_the_resolver_notices_a_missing_name():
    with pytest.raises(AssertionError, match="no gradients_by_magic"):
        resolve("tinygrad_ae/models/reference.py::gradients_by_magic", "../tinygrad_ae/models/reference.py")
    with pytest.raises(AssertionError, match="no test_that_was_deleted"):
        resolve("tests/test_reference.py::test_that_was_deleted", "../tests/test_reference.py")
    with pytest.raises(AssertionError, match="does not match"):
        resolve("tinygrad_ae/engine/ops.py::Sigmoid", "../tinygrad_ae/models/reference.py")


def test_the_documents_example_runs_as_shown(tmp_path):
    code = re.search(r"```python\n(.*?)```", doc_text(), re.S)[1]
    script = tmp_path / "snippet.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    first, source, _, gradient = result.stdout.splitlines()[:4]
    line = next(i for i, text in enumerate(code.splitlines(), 1) if text.strip().startswith("L = -("))
    assert first.startswith("detect_anomaly: the forward of log produced 1 -inf among 2 values")
    assert f"{script}:{line} in <module>" in first and f"<file>:{line} ..." in code
    assert source.strip() == "L = -(x * x_hat.log() + (1 - x) * (1 - x_hat).log()).sum()"
    values = [float(v) for v in gradient.strip("[]").split()]
    assert values == pytest.approx([0.0, 1 / (1 + np.exp(3.0))], abs=1e-8)   # as printed: 8 digits


# ----- claims of the table that no other test checks -----------------------------------------

def test_squared_error_in_both_forms():
    """(1/m) sum_i sum_j (x_hat_ij - x_ij)^2 = (1/m) sum_i (x_hat_i - x_i)^T (x_hat_i - x_i) = mse_loss."""
    rng = np.random.default_rng(0)
    x_hat, x = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    m, n = x.shape
    double_sum = sum((x_hat[i, j] - x[i, j]) ** 2 for i in range(m) for j in range(n)) / m
    vector_form = sum((x_hat[i] - x[i]) @ (x_hat[i] - x[i]) for i in range(m)) / m
    assert vector_form == pytest.approx(double_sum, rel=1e-14)
    got = F.mse_loss(Tensor(x_hat), Tensor(x), reduction="batchmean").item()
    assert got == pytest.approx(double_sum, rel=1e-14)
    # not the elementwise mean, which would divide by m * n
    assert F.mse_loss(Tensor(x_hat), Tensor(x)).item() == pytest.approx(double_sum / n, rel=1e-14)


def test_squared_error_gradient_is_two_times_the_difference():
    """dL/dx_hat = 2 (x_hat - x) for one example; over a batch the objective's 1/m comes with it."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 6))
    x_hat = Tensor(rng.normal(size=(1, 6)), requires_grad=True)
    F.mse_loss(x_hat, Tensor(x), reduction="batchmean").backward()
    np.testing.assert_allclose(x_hat.grad, 2 * (x_hat.data - x), rtol=1e-15)
    X = rng.normal(size=(4, 6))
    X_hat = Tensor(rng.normal(size=(4, 6)), requires_grad=True)
    F.mse_loss(X_hat, Tensor(X), reduction="batchmean").backward()
    np.testing.assert_allclose(X_hat.grad, 2 * (X_hat.data - X) / 4, rtol=1e-15)


def test_cross_entropy_is_smallest_at_x_hat_equal_x():
    grid = np.linspace(0.001, 0.999, 999)
    for target in (0.0, 0.25, 0.6, 1.0):
        x = np.full_like(grid, target)
        losses = F.binary_cross_entropy(Tensor(grid), Tensor(x), reduction="none").numpy()
        assert grid[np.argmin(losses)] == pytest.approx(min(max(target, 0.001), 0.999), abs=1e-12)
        # at x_hat = x: the entropy of x, which is 0 for binary x (0 log 0 taken as its limit, 0)
        at_target = F.binary_cross_entropy(Tensor(np.array([target])), Tensor(np.array([target])), "sum").item()
        entropy = -sum(p * np.log(p) for p in (target, 1 - target) if p > 0)
        assert at_target == pytest.approx(entropy, abs=1e-12)
        assert np.all(losses >= entropy - 1e-12)
    # and the gradient vanishes there
    p = Tensor(np.array([0.25, 0.6]), requires_grad=True)
    F.binary_cross_entropy(p, Tensor(np.array([0.25, 0.6])), reduction="sum").backward()
    np.testing.assert_allclose(p.grad, 0.0, atol=1e-15)


def test_cross_entropy_gradient_is_the_slides_formula():
    """dL/dx_hat_j = -x_j / x_hat_j + (1 - x_j) / (1 - x_hat_j), for binary and real targets alike."""
    rng = np.random.default_rng(2)
    x = np.concatenate([[0.0, 1.0, 1.0, 0.0], rng.uniform(0, 1, 6)])
    p = Tensor(rng.uniform(0.02, 0.98, x.size), requires_grad=True)
    F.binary_cross_entropy(p, Tensor(x), reduction="sum").backward()
    np.testing.assert_allclose(p.grad, -x / p.data + (1 - x) / (1 - p.data), rtol=1e-12)


def test_sigmoid_derivative_is_sigma_times_one_minus_sigma():
    a = np.linspace(-8, 8, 33)
    a2 = Tensor(a, requires_grad=True)
    a2.sigmoid().backward(np.ones_like(a))
    sigma = 1 / (1 + np.exp(-a))
    np.testing.assert_allclose(a2.grad, sigma * (1 - sigma), rtol=1e-13)
    # the largest slope is 1/4, at a = 0: the reason deep sigmoid stacks pass small gradients back
    assert a2.grad.max() == pytest.approx(0.25, abs=1e-15) and a[np.argmax(a2.grad)] == 0
