"""In-place updates, the version check, .grad assignment, comparisons and integer/bool tensors as
indices (engine/inplace.py, engine/versions.py, engine/tensor.py): torch's documented behaviour, and
against torch itself where it is installed."""
import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor


def leaf(values):
    return Tensor(np.asarray(values, np.float64), requires_grad=True)


# ----- the tutorials' update: in place, under no_grad ----------------------------------------------

def test_the_tutorials_update_trains_the_parameters_themselves():
    a, b = leaf([1.0, 2.0]), leaf([0.5])
    params = [a, b]
    loss = ((a * 3.0 + b) ** 2).sum()
    loss.backward()
    expected = [a.data - 0.1 * a.grad, b.data - 0.1 * b.grad]
    arrays = [a.data, b.data]
    with tg.no_grad():
        for p in params:              # the loop variable is rebound by -=: the update must still land
            p -= 0.1 * p.grad
    for p, want, array in zip(params, expected, arrays):
        np.testing.assert_array_equal(p.data, want)
        assert p.data is array        # the same array, changed in place
        assert p.requires_grad and p.is_leaf


def test_in_place_on_a_leaf_that_requires_grad_outside_no_grad_is_torchs_error():
    a = leaf([1.0, 2.0])
    for update in (lambda: a.add_(1.0), lambda: a.mul_(2.0), lambda: a.zero_(), lambda: a.__isub__(1.0)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            update()
    np.testing.assert_array_equal(a.data, [1.0, 2.0])


@pytest.mark.parametrize("name, args, expected", [
    ("add_", (2.0,), [3.0, 4.0]), ("sub_", (2.0,), [-1.0, 0.0]), ("mul_", (3.0,), [3.0, 6.0]),
    ("div_", (2.0,), [0.5, 1.0]), ("pow_", (2,), [1.0, 4.0]), ("neg_", (), [-1.0, -2.0]),
    ("zero_", (), [0.0, 0.0]), ("fill_", (7.0,), [7.0, 7.0]), ("clamp_", (1.5, 1.8), [1.5, 1.8]),
])
def test_in_place_methods_change_the_tensor_and_return_it(name, args, expected):
    t = Tensor(np.array([1.0, 2.0]))
    out = getattr(t, name)(*args)
    assert out is t
    np.testing.assert_array_equal(t.data, expected)


def test_add_with_alpha_copy_and_masked_fill():
    t = Tensor(np.array([1.0, 2.0, 3.0]))
    t.add_(Tensor(np.ones(3)), alpha=2)
    np.testing.assert_array_equal(t.data, [3.0, 4.0, 5.0])
    t.sub_(np.ones(3), alpha=3)
    np.testing.assert_array_equal(t.data, [0.0, 1.0, 2.0])
    t.copy_(Tensor(np.array([9.0])))            # broadcast, as torch's copy_
    np.testing.assert_array_equal(t.data, [9.0, 9.0, 9.0])
    t.masked_fill_(Tensor(np.array([1.0, 0.0, 2.0])) > 0.5, -1.0)
    np.testing.assert_array_equal(t.data, [-1.0, 9.0, -1.0])
    with pytest.raises(TypeError, match="masked_fill_: mask must be a bool tensor"):
        t.masked_fill_(np.array([1, 0, 1]), 0.0)
    with pytest.raises(RuntimeError, match=r"copy_: src of shape \(2,\) cannot be broadcast"):
        t.copy_(Tensor(np.ones(2)))


def test_in_place_keeps_shape_and_dtype_and_refuses_what_would_change_them():
    t = Tensor(np.ones(3, np.float32))
    t += np.ones(3, np.float64)                 # float64 operand, float32 tensor: stays float32
    assert t.dtype == np.float32 and t.data.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match=r"result has shape \(2, 3\).*keeps the tensor's shape"):
        t += np.ones((2, 3))
    n = tg.zeros(3, dtype=tg.int64)
    n += 2
    assert n.dtype == np.int64 and n.data.tolist() == [2, 2, 2]
    with pytest.raises(RuntimeError, match="result type float64 can't be cast to the tensor's dtype int64"):
        n += 0.5
    assert n.data.tolist() == [2, 2, 2]


def test_uniform_and_normal_in_place_follow_the_generator():
    g = tg.Generator().manual_seed(3)
    a = Tensor(np.zeros((200,), np.float32)).uniform_(-2.0, 3.0, generator=g)
    assert a.dtype == np.float32 and -2.0 <= a.data.min() and a.data.max() < 3.0 and a.data.std() > 1.0
    g.manual_seed(3)
    b = Tensor(np.zeros((200,), np.float32)).uniform_(-2.0, 3.0, generator=g)
    np.testing.assert_array_equal(a.data, b.data)
    tg.manual_seed(5)
    c = Tensor(np.zeros(20000)).normal_(1.0, 2.0)
    assert abs(c.data.mean() - 1.0) < 0.1 and abs(c.data.std() - 2.0) < 0.1
    with pytest.raises(ValueError, match="normal_: std must be >= 0"):
        c.normal_(0.0, -1.0)


# ----- the version check: never a gradient from a changed value -----------------------------------

def test_backward_through_a_saved_value_changed_in_place_is_torchs_error():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2.0
    z = (y * y).sum()                           # mul saves y
    with tg.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_a_change_through_a_view_is_seen_too():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1.0
    z = (y.exp()).sum()                         # exp saves its output, the array that y[:2] views
    e = y.exp()
    view = e[:2]                                # a numpy view of e's array
    loss = (e * 1.0).sum() + z
    with tg.no_grad():
        view.zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_a_change_to_an_input_the_backward_does_not_read_is_no_error_as_in_torch():
    x = leaf([1.0, 2.0])
    y = x * 1.0
    z = (y + 1.0).sum()                         # add reads no saved value
    with tg.no_grad():
        y.mul_(5.0)
    z.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_updates_after_a_backward_do_not_disturb_the_next_step():
    w = leaf([0.5, -0.5])
    for _ in range(3):
        loss = ((w * w).sum() - 1.0) ** 2
        loss.backward()
        with tg.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    expected = np.array([0.5, -0.5])
    for _ in range(3):
        s = (expected ** 2).sum()
        expected = expected - 0.1 * (2 * (s - 1.0) * 2 * expected)
    np.testing.assert_allclose(w.data, expected, rtol=1e-12)


def test_an_update_under_grad_mode_is_recorded_against_torch():
    torch = pytest.importorskip("torch")
    xs = np.array([0.5, -1.5, 2.0])
    x = leaf(xs)
    y = x * 2.0
    y *= x                                      # y = 2 x^2, recorded
    y += 1.0
    y.sum().backward()
    tx = torch.tensor(xs, requires_grad=True)
    ty = tx * 2.0
    ty *= tx
    ty += 1.0
    ty.sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-15)
    assert y.grad_fn is not None and not y.is_leaf


def test_an_input_whose_history_was_replaced_after_use_is_refused():
    x = leaf([1.0, 2.0])
    a = x * 2.0
    b = a * 3.0                                 # uses a's old value
    a *= 2.0                                    # a gets a new history
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (a + b).sum().backward()


# ----- item assignment ------------------------------------------------------------------------------

def test_setitem_writes_like_torch_and_counts_like_makemore():
    N = tg.zeros((3, 3), dtype=tg.int32)
    for a, b in [(0, 1), (0, 1), (2, 2)]:
        N[a, b] += 1
    assert N.dtype == np.int32 and N.data.tolist() == [[0, 2, 0], [0, 0, 0], [0, 0, 1]]
    t = Tensor(np.zeros((2, 3)))
    t[0] = Tensor(np.array([1.0, 2.0, 3.0]))
    t[:, 2] = 9.0
    t[t > 5] = -1.0
    np.testing.assert_array_equal(t.data, [[1.0, 2.0, -1.0], [0.0, 0.0, -1.0]])


def test_setitem_with_a_value_that_requires_grad_is_differentiable():
    torch = pytest.importorskip("torch")
    vs = np.array([1.5, -2.0])
    v = leaf(vs)
    base = leaf(np.arange(4.0))
    t = base * 1.0
    t[np.array([0, 3])] = v * 3.0
    (t * Tensor(np.array([1.0, 2.0, 3.0, 4.0]))).sum().backward()
    tv = torch.tensor(vs, requires_grad=True)
    tb = torch.tensor(np.arange(4.0), requires_grad=True)
    tt = tb * 1.0
    tt[torch.tensor([0, 3])] = tv * 3.0
    (tt * torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(t.data, tt.detach().numpy())
    np.testing.assert_allclose(v.grad, tv.grad.numpy())
    np.testing.assert_allclose(base.grad, tb.grad.numpy())


# ----- .grad assignment -----------------------------------------------------------------------------

def test_grad_assignment_is_checked_where_it_happens():
    a = leaf([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="assigned grad must be None or a Tensor.*float"):
        a.grad = 0.0                            # micrograd's zero_grad
    with pytest.raises(ValueError, match=r"assigned grad has shape \(2,\).*tensor has shape \(3,\)"):
        a.grad = np.zeros(2)
    with pytest.raises(ValueError, match="dtype int64"):
        a.grad = np.zeros(3, np.int64)
    a.grad = Tensor(np.ones(3))                 # a Tensor of the right shape: kept as its array
    (a * 2.0).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 3.0, 3.0])
    a.grad = None
    assert a.grad is None


# ----- comparisons, bool(), hashing, masks and integer indices -------------------------------------

def test_comparisons_give_bool_tensors_and_tensors_stay_dictionary_keys():
    t = Tensor(np.array([0.0, 1.0, 2.0]))
    for result, expected in [(t == 0, [True, False, False]), (t != 0, [False, True, True]),
                             (t > 1, [False, False, True]), (t >= 1, [False, True, True]),
                             (t < 1, [True, False, False]), (t <= 1, [True, True, False]),
                             ((t > 0) & (t < 2), [False, True, False]), ((t < 1) | (t > 1), [True, False, True]),
                             (~(t > 0), [True, False, False])]:
        assert type(result) is Tensor and result.dtype == bool and not result.requires_grad
        assert result.data.tolist() == expected
    u = Tensor(np.array([0.0, 1.0, 2.0]))
    d = {t: "t", u: "u"}
    assert d[t] == "t" and d[u] == "u" and len({t, u, t}) == 2
    assert (t == None) is False and (t != None) is True   # noqa: E711 (torch's answer to == None)


def test_bool_of_one_element_and_torchs_error_for_more():
    assert bool(Tensor(np.array([2.0])) > 1) is True
    assert bool(Tensor(np.array(0.0))) is False
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(Tensor(np.ones(2)) > 0)
    with pytest.raises(RuntimeError, match="ambiguous"):
        if Tensor(np.ones(2)) == 1:
            pass


def test_masks_and_integer_tensors_index_and_the_gradient_scatters_back():
    x = leaf([[1.0, -2.0], [3.0, -4.0], [5.0, 6.0]])
    picked = x[x > 0]
    assert picked.data.tolist() == [1.0, 3.0, 5.0, 6.0]
    rows = tg.tensor([2, 0, 2])
    assert rows.dtype == np.int64
    (x[rows] * Tensor(np.array([1.0, 10.0]))).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 10.0], [0.0, 0.0], [2.0, 20.0]])
    assert x[tg.tensor(1)].data.tolist() == [3.0, -4.0]
    with pytest.raises(TypeError, match="cannot index with a tensor of dtype float32"):
        x[Tensor([0.0, 1.0])]


def test_embedding_lookup_against_torch():
    torch = pytest.importorskip("torch")
    table = np.random.default_rng(0).standard_normal((5, 2))
    idx = np.array([[1, 2, 3], [4, 4, 0]])
    C = leaf(table)
    emb = C[tg.tensor(idx)]
    (emb ** 2).sum().backward()
    tC = torch.tensor(table, requires_grad=True)
    (tC[torch.tensor(idx)] ** 2).sum().backward()
    np.testing.assert_allclose(emb.data, tC[torch.tensor(idx)].detach().numpy())
    np.testing.assert_allclose(C.grad, tC.grad.numpy())


def test_number_conversions_of_single_element_tensors():
    assert float(Tensor(np.array([2.5]))) == 2.5 and int(tg.tensor(7)) == 7
    assert [10, 20, 30][tg.tensor(1)] == 20     # __index__
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        [1, 2][Tensor(np.array(1.0))]
    with pytest.raises(TypeError, match="only a tensor of one element"):
        float(Tensor(np.ones(2)))


def test_requires_grad_on_integer_tensors_is_refused():
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients"):
        tg.tensor([1, 2]).requires_grad_()
    t = Tensor(np.ones(2)).requires_grad_()
    assert t.requires_grad and t.requires_grad_(False) is t and not t.requires_grad


def test_a_captured_step_takes_integer_tensors_as_labels_and_indices_without_falling_back():
    import warnings
    import tinygrad_ae.functional as F
    rng = np.random.default_rng(0)
    start_W, start_C = rng.standard_normal((5, 3)), rng.standard_normal((10, 5))
    batches = [(rng.integers(0, 10, 4), rng.integers(0, 3, 4)) for _ in range(6)]

    def run(compiled):
        W, C = leaf(start_W.copy()), leaf(start_C.copy())
        opt = tg.optim.SGD([W, C], lr=0.1)

        def body(idx, y):
            opt.zero_grad()
            loss = F.cross_entropy(C[idx] @ W, y)
            loss.backward()
            opt.step()
            return loss
        step = tg.compile(body) if compiled else body
        losses = [float(step(tg.tensor(i), tg.tensor(y)).data) for i, y in batches]
        return losses, W.data, C.data, step
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a fallback to eager would warn
        compiled = run(True)
    eager = run(False)
    assert compiled[0] == eager[0]
    np.testing.assert_array_equal(compiled[1], eager[1])
    np.testing.assert_array_equal(compiled[2], eager[2])
    assert "index_add" in str(compiled[3].program)   # replayed as a program, the index an input of it


def test_one_hot_and_detach_keep_integer_dtypes_against_torch():
    torch = pytest.importorskip("torch")
    import tinygrad_ae.functional as F
    labels = [[0, 3], [2, 2]]
    for num_classes in (-1, 5):
        ours = F.one_hot(tg.tensor(labels), num_classes)
        theirs = torch.nn.functional.one_hot(torch.tensor(labels), num_classes)
        assert ours.dtype == np.int64 and ours.data.tolist() == theirs.tolist()
    with pytest.raises(TypeError, match="one_hot: the labels must be an integer tensor"):
        F.one_hot(Tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(tg.tensor([0, 3]), 3)
    n = tg.tensor([1, 2], dtype=tg.int32)
    assert n.detach().dtype == np.int32 and n.detach().data is n.data


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "rsqrt", "sigmoid", "tanh", "relu", "abs", "sin", "cos",
                                  "log1p", "expm1", "square", "reciprocal", "sign", "floor", "ceil", "round", "trunc"])
def test_elementwise_in_place_forms_against_torch(name):
    torch = pytest.importorskip("torch")
    values = np.array([0.3, 1.7, 2.5, 4.2])
    t = Tensor(values.copy())
    array = t.data
    assert getattr(t, name + "_")() is t and t.data is array
    expected = getattr(torch.tensor(values), name + "_")().numpy()
    np.testing.assert_allclose(t.data, expected, rtol=1e-14)
