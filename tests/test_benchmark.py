"""The benchmark's correctness gate, and a smoke run of the benchmark command. Nothing is timed here."""
import json
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_ae import race as bench
from tinygrad_ae import reference

CASES = [(dtype, loss) for dtype in bench.DTYPES for loss in bench.LOSSES]


@pytest.mark.parametrize("dtype, loss", CASES)
def test_baseline_matches_the_lectures_closed_forms(dtype, loss):
    """The fast baseline (in-place, preallocated) computes reference.py's loss and gradients."""
    problem = bench.Problem("tiny", dtype, loss, seed=3)
    got_loss, got = bench.NumpyBaseline(problem).loss_and_gradients()
    p = {name: value.astype(np.float64) for name, value in problem.params.items()}
    args = (problem.X.astype(np.float64), p["W"], p["b"], p["W_star"], p["c"])
    want = reference.gradients(*args, decoder=problem.decoder)
    rtol = 1e-4 if dtype == "float32" else 1e-12
    assert got_loss == pytest.approx(reference.loss(*args, decoder=problem.decoder), rel=rtol)
    for name in bench.PARAMETERS:
        assert got[name].dtype == np.dtype(dtype)
        scale = np.abs(want[name]).max()
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("dtype, loss", CASES)
def test_gate_passes_tinygrad_ae_and_the_naive_version(dtype, loss):
    problem = bench.Problem("tiny", dtype, loss)
    report = bench.gate(problem, ["tinygrad_ae", bench.BASELINE, "naive numpy"])
    assert set(report) == {"reference.py", "tinygrad_ae", "naive numpy"}
    assert max(report.values()) <= bench.GATE_TOLERANCE[dtype]


def test_baseline_step_moves_parameters_against_the_gradient():
    """One update is p - lr * grad, and it leaves the problem's own arrays untouched."""
    problem = bench.Problem("tiny", "float64", "mse")
    baseline = bench.NumpyBaseline(problem)
    _, grads = baseline.loss_and_gradients()
    baseline.step()
    for name, param in zip(bench.PARAMETERS, (baseline.W, baseline.b, baseline.W_star, baseline.c)):
        np.testing.assert_allclose(param, problem.params[name] - problem.lr * grads[name], rtol=1e-12, atol=1e-15)
    assert not np.array_equal(baseline.W, problem.params["W"])


@pytest.mark.parametrize("dtype", bench.DTYPES)
@pytest.mark.parametrize("parameter", bench.PARAMETERS)
def test_gate_raises_on_a_perturbed_gradient(dtype, parameter):
    problem = bench.Problem("tiny", dtype, "bce")
    expected = bench.NumpyBaseline(problem).loss_and_gradients()
    loss, grads = bench.TinygradStep(problem).loss_and_gradients()
    grads = {name: value.copy() for name, value in grads.items()}
    # one entry off by 1% of the gradient's largest value: far above the tolerance
    grads[parameter].flat[1] += 0.01 * np.abs(grads[parameter]).max()
    with pytest.raises(bench.GateError, match=f"gradient of {parameter} differs"):
        bench.check_agreement(expected, (loss, grads), dtype, "tinygrad_ae")


@pytest.mark.parametrize("dtype", bench.DTYPES)
def test_gate_raises_on_a_wrong_loss_and_on_nan(dtype):
    problem = bench.Problem("tiny", dtype, "mse")
    expected = bench.NumpyBaseline(problem).loss_and_gradients()
    loss, grads = bench.TinygradStep(problem).loss_and_gradients()
    with pytest.raises(bench.GateError, match="loss"):
        bench.check_agreement(expected, (loss * 1.001, grads), dtype, "tinygrad_ae")
    with pytest.raises(bench.GateError, match="loss"):
        bench.check_agreement(expected, (float("nan"), grads), dtype, "tinygrad_ae")
    bad = dict(grads, W=np.full_like(grads["W"], np.nan))
    with pytest.raises(bench.GateError, match="gradient of W"):
        bench.check_agreement(expected, (loss, bad), dtype, "tinygrad_ae")
    bad = dict(grads, c=grads["c"][:-1])
    with pytest.raises(bench.GateError, match="shape"):
        bench.check_agreement(expected, (loss, bad), dtype, "tinygrad_ae")


def test_problem_refuses_unknown_choices():
    with pytest.raises(ValueError, match="unknown size 'huge'"):
        bench.Problem("huge", "float32", "mse")
    with pytest.raises(ValueError, match="unknown dtype 'float16'"):
        bench.Problem("tiny", "float16", "mse")
    with pytest.raises(ValueError, match="unknown loss 'l1'"):
        bench.Problem("tiny", "float32", "l1")


def test_quick_run_writes_the_table_and_json(tmp_path):
    """The smoke run: both files, every contender present or skipped with a note, one run alone."""
    done = subprocess.run([sys.executable, "-m", "tinygrad_ae", "bench", "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "benchmark.json").read_text())
    table = (tmp_path / "benchmark.md").read_text()
    assert table == done.stdout.rstrip("\n") + "\n"
    for name in bench.CONTENDERS:
        skipped = any(note.startswith(f"{name} skipped") for note in results["notes"])
        assert (name in results["contenders"]) != skipped, name
        if not skipped:
            assert f"| {name} |" in table
    assert {"tinygrad_ae", bench.BASELINE, "naive numpy"} <= set(results["contenders"])
    configs = results["configs"]
    assert [(c["size"], c["dtype"], c["loss"]) for c in configs] == [("tiny", "float32", "mse"),
                                                                     ("tiny", "float32", "bce")]
    for config in configs:
        assert set(config["interleaved"]) == set(results["contenders"])
        for run in config["interleaved"].values():
            assert run["min_us"] <= run["median_us"] <= run["max_us"]
            assert len(run["rounds_us"]) == results["rounds"]
        assert config["gemm_bound"]["median_us"] > 0
        assert {"tinygrad_ae", bench.BASELINE} <= set(config["memory"])
    assert set(configs[0]["alone"]) == {"tinygrad_ae", bench.BASELINE} and configs[1]["alone"] == {}
    assert all("median_us" in run for run in configs[0]["alone"].values())
    assert "numpy by hand" in results["overhead_chain"]["results"]
    assert "numpy" in results["machine"] and results["machine"]["cpu_count"] >= 1
    assert any(check["target"].startswith("tiny float32 mse interleaved: tinygrad_ae <=") for check in results["targets"])
    assert "## tiny (16, 64, 16), float32, mse" in table and "## Targets" in table


@pytest.mark.parametrize("dtype, loss", CASES)
def test_gate_passes_the_fused_contender(dtype, loss):
    """The race's `tinygrad_ae fused` (tg.compile(backend="fused")) computes the baseline's gradients
    to the gate's tolerance, through a fused program."""
    pytest.importorskip("numba", reason="the fused contender needs numba: pip install '.[fast]'")
    problem = bench.Problem("tiny", dtype, loss)
    report = bench.gate(problem, ["tinygrad_ae fused", bench.BASELINE])
    assert max(report.values()) <= bench.GATE_TOLERANCE[dtype]
    runner = bench.CONTENDERS["tinygrad_ae fused"](problem)
    runner.loss_and_gradients()
    assert runner._gradients.program.fused is not None


def test_fused_targets_are_checked_for_float32_only():
    from tinygrad_ae.race.report import FUSED_TARGETS, check_targets

    def entry(size, dtype, fused_us):
        runs = {bench.BASELINE: {"median_us": 10.0}, "tinygrad_ae fused": {"median_us": fused_us}}
        return {"size": size, "dtype": dtype, "loss": "mse", "interleaved": runs, "alone": {}}
    checks = check_targets({"configs": [entry("tiny", "float32", 4.0), entry("digits", "float32", 7.0),
                                        entry("tiny", "float64", 1.0)]})
    fused = [c for c in checks if "fused" in c["target"]]
    assert [(c["target"].split(":")[0], c["met"]) for c in fused] == [("tiny float32 mse interleaved", True),
                                                                    ("digits float32 mse interleaved", False)]
    assert FUSED_TARGETS == {"tiny": 0.5, "digits": 0.6, "mnist": 0.97, "wide": 1.02}
