"""tinygrad_ae.debug: trace() records the tape; detect_anomaly() stops at the first NaN or inf."""
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_ae.functional as F
from tinygrad_ae import Autoencoder, Tensor, no_grad
from tinygrad_ae.engine import tensor as engine
from tinygrad_ae.debug import AnomalyError, detect_anomaly, summarize, trace


@pytest.fixture(autouse=True)
def no_observers_leak():
    assert engine._observers == []
    yield
    assert engine._observers == []


def next_line():
    """The line number just after the caller's line (where the statement under test is)."""
    return sys._getframe(1).f_lineno + 1


def small_autoencoder(decoder="sigmoid"):
    rng = np.random.default_rng(0)
    X = (rng.random((5, 6)) > 0.5).astype(np.float64)
    return Autoencoder(6, 3, decoder=decoder, dtype=np.float64, seed=0), X


# ----- summarize ----------------------------------------------------------------------------------

def test_summarize():
    assert summarize(np.array(2.5)) == "2.5"
    assert summarize(np.array([[1.0, 3.0], [-1.0, 5.0]], np.float32)) == "mean 2 std 2.236 [-1, 5]"
    assert summarize(np.array([1.0, np.nan, np.inf, -np.inf, 3.0])) == "mean 2 std 1 [1, 3] (1 nan, 2 inf)"
    assert summarize(np.array([np.nan, np.nan])) == "all non-finite (2 nan, 0 inf)"
    assert summarize(np.zeros((0, 3))) == "empty"


# ----- trace --------------------------------------------------------------------------------------

def test_trace_records_forward_and_backward_with_shapes_dtypes_and_summaries():
    x = Tensor(np.array([1.0, 2.0, 3.0], np.float32), requires_grad=True, name="x")
    with trace() as tr:
        y = x * 2
        s = y.sum()
        s.backward()
    assert [(r["phase"], r["step"], r["op"]) for r in tr.rows] == [
        ("forward", 1, "mul"), ("forward", 2, "sum"), ("backward", 1, "sum"), ("backward", 2, "mul")]
    mul, total, back_sum, back_mul = tr.rows
    assert mul["inputs"] == ["x", "number"] and mul["input_shapes"] == [(3,), ()]
    assert mul["output_shape"] == (3,) and mul["dtype"] == "float32"
    assert mul["summary"] == "mean 4 std 1.633 [2, 6]" and mul["input_grads"] is None
    assert total["inputs"] == [mul["output"]] and total["output_shape"] == () and total["summary"] == "12"
    assert back_sum["summary"] == "1" and back_sum["input_grads"] == ["mean 1 std 0 [1, 1]"]
    assert back_mul["summary"] == "mean 1 std 0 [1, 1]"
    assert back_mul["input_grads"] == ["mean 2 std 0 [2, 2]", None]      # no gradient for the number
    assert tr.forward_rows == tr.rows[:2] and tr.backward_rows == tr.rows[2:]


def test_unnamed_tensors_get_labels_that_connect_the_rows():
    x = Tensor(np.ones(3), requires_grad=True)
    with trace() as tr:
        y = ((x.exp() + 1).log() * 2).sum()
    labels = [(r["inputs"], r["output"]) for r in tr.rows]
    assert labels == [(["t1"], "t2"), (["t2", "number"], "t3"), (["t3"], "t4"),
                      (["t4", "number"], "t5"), (["t5"], "t6")]
    assert y.item() == pytest.approx(6 * np.log(np.e + 1))
    with tr:                                    # a label is never reused, even after its tensor died
        del y
        x.tanh()
    assert tr.rows[-1]["output"] == "t7"


def test_names_given_right_after_an_op_appear_in_its_row():
    ae, X = small_autoencoder()
    with trace() as tr:
        loss = ae.loss(X)
        loss.backward()
    forward = tr.forward_rows
    assert [r["output"] for r in forward] == ["a1", "h", "a2", "L"]
    assert forward[0]["inputs"][1:] == ["W", "b"] and forward[2]["inputs"] == ["h", "W*", "c"]
    assert forward[3]["inputs"][0] == "a2" and forward[3]["op"] == "bcewithlogitssum"
    # backward visits the loss first and each op only after every op that uses its output
    assert [r["output"] for r in tr.backward_rows] == ["L", "a2", "h", "a1"]


def test_backward_rows_follow_the_engines_topological_order():
    x = Tensor(np.array([0.3, -0.2]), requires_grad=True, name="x")
    a = x.tanh()
    b = a * x           # a diamond: x reaches b directly and through a
    c = (b + a).sum()
    expected = [t.grad_fn.name for t in engine._reverse_topological_order((c,))]
    with trace() as tr:
        c.backward()
    assert [r["op"] for r in tr.backward_rows] == expected == ["sum", "add", "mul", "tanh"]
    assert tr.forward_rows == []                              # the graph was built before the trace


def test_table_text():
    ae, X = small_autoencoder(decoder="linear")
    with trace() as tr:
        ae.loss(X).backward()
    text = tr.table()
    assert str(tr) == text
    lines = text.splitlines()
    assert lines[0] == "forward: 4 ops, in the order they ran"
    assert lines[1].split() == ["step", "op", "inputs", "output", "dtype", "value"]
    assert lines[2].split()[:2] == ["1", "linear"] and "W (3, 6)" in lines[2] and "a1 (5, 3)" in lines[2]
    assert lines[5].split()[:2] == ["4", "squarederrorsum"] and "L ()" in lines[5]
    assert lines[6].startswith("backward: 4 ops, in the order the topological sort chose")
    assert lines[8].split()[:4] == ["1", "squarederrorsum", "L", "()"]
    assert "W: mean" in lines[11] and "b: mean" in lines[11]
    assert repr(tr) == "<trace: 4 forward ops, 4 backward ops>"
    with trace() as empty:
        pass
    assert empty.table() == "trace: no ops recorded"


def test_trace_sees_ops_under_no_grad_and_leaves_results_unchanged():
    ae, X = small_autoencoder()
    expected = ae.loss(X)
    expected.backward()
    grads = [p.grad.copy() for p in ae.parameters()]
    ae.zero_grad()
    with trace() as tr, detect_anomaly():
        loss = ae.loss(X)
        loss.backward()
        with no_grad():
            ae.encode(X)
    assert loss.item() == expected.item()
    for p, g in zip(ae.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)
    assert [r["output"] for r in tr.forward_rows][-2:] == ["a1", "h"]


def test_nested_traces_both_record_and_exceptions_unregister():
    x = Tensor(np.ones(2), requires_grad=True)
    with trace() as outer:
        x.exp()
        with pytest.raises(ZeroDivisionError):
            with trace() as inner:
                x.tanh()
                1 / 0
        assert engine._observers == [outer]
        x.sum()
    assert [r["op"] for r in outer.rows] == ["exp", "tanh", "sum"]
    assert [r["op"] for r in inner.rows] == ["tanh"]


# ----- detect_anomaly -----------------------------------------------------------------------------

def test_forward_nan_names_the_op_and_the_users_line():
    x = Tensor(np.array([-1.0, 4.0]), requires_grad=True, name="x")
    with np.errstate(invalid="ignore"), pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            line = next_line()
            y = x.log()  # noqa: F841
    message = str(info.value)
    assert isinstance(info.value, FloatingPointError)
    assert "forward of log" in message and "1 nan among 2 values" in message
    assert f"{__file__}:{line} in test_forward_nan_names_the_op_and_the_users_line" in message
    assert "y = x.log()" in message and "x, shape (2,)" in message


def test_log_of_zero_is_an_anomaly():
    p = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    with np.errstate(divide="ignore"), pytest.raises(AnomalyError, match=r"forward of log produced 1 -inf"):
        with detect_anomaly():
            (1 - p).log()


def test_backward_inf_names_the_op_and_the_line_that_created_it():
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with np.errstate(divide="ignore"), pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            line = next_line()
            y = (x ** 0.5).sum()        # finite forward: sqrt(0) = 0; derivative 0.5 / sqrt(0) = inf
            y.backward()
    message = str(info.value)
    assert "backward of pow produced 1 +inf among 2 values" in message and "input 0" in message
    assert f"{__file__}:{line} in" in message and "y = (x ** 0.5).sum()" in message


def test_graph_built_outside_the_context_still_checked_without_a_line():
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    y = (x ** 0.5).sum()
    assert getattr(y._ctx, "site", None) is None     # outside the context nothing is recorded
    with np.errstate(divide="ignore"), pytest.raises(AnomalyError, match="created outside detect_anomaly"):
        with detect_anomaly():
            y.backward()


def test_a_non_finite_seed_is_reported():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(AnomalyError, match="gradient arriving at tanh"):
        with detect_anomaly():
            x.tanh().backward(np.array([np.nan, 1.0]))


def test_the_lectures_literal_cross_entropy_chain_is_caught_and_the_fused_loss_is_not():
    # sigmoid(40) is exactly 1.0 in float64, so the slides' -(x log x_hat + (1 - x) log(1 - x_hat))
    # takes log(0); the library's loss from the logits stays finite, with gradient x_hat - x = 0
    a2 = Tensor(np.array([40.0, -3.0]), requires_grad=True, name="a2")
    x = Tensor(np.array([1.0, 0.0]))
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(AnomalyError, match="forward of log"):
        with detect_anomaly():
            x_hat = a2.sigmoid()
            assert x_hat.data[0] == 1.0
            (-(x * x_hat.log() + (1 - x) * (1 - x_hat).log())).sum()
    with detect_anomaly():
        loss = F.binary_cross_entropy_with_logits(a2, x, reduction="sum")
        loss.backward()
    expected = 1 / (1 + np.exp(-a2.data)) - x.data
    np.testing.assert_allclose(a2.grad, expected, rtol=1e-12)


def test_outside_the_context_nothing_is_checked_or_recorded():
    x = Tensor(np.array([-1.0]), requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = x.log()
    assert np.isnan(y.data).all() and getattr(y._ctx, "site", None) is None
    with detect_anomaly():
        z = x.exp()
    assert z._ctx.site[0] == __file__
    zero = Tensor(np.array([0.0]), requires_grad=True)
    with np.errstate(divide="ignore"):
        (zero ** 0.5).sum().backward()                      # an infinite gradient, and no error
    assert np.isinf(zero.grad).all()


def test_importing_the_tools_has_no_side_effects():
    code = ("import sys, tinygrad_ae.debug, tinygrad_ae.viz\n"
            "from tinygrad_ae.engine import tensor\n"
            "print(tensor._observers, sorted(m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'tqdm', 'hypothesis', 'pytest')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[] []\n" and result.stderr == ""
