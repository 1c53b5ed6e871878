"""Public PyTorch programs (issue 19) run with only the import changed, `import tinygrad_ae as torch`, and
compared with the same program under real PyTorch from the same starting weights.

The program texts live in `tests/programs/`. A run rewrites only their import lines, shortens their loops,
and replaces each random initialisation by one numpy draw that both frameworks start from (their random
streams differ); each rewrite must find its text, so a changed program cannot silently skip it. float64
wherever the program lets the dtype be chosen, float32 where the program fixes it.
"""
import pathlib
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: no differential check against it")

PROGRAMS = pathlib.Path(__file__).resolve().parent / "programs"
F64 = dict(rtol=1e-9, atol=1e-12)
F32 = dict(rtol=2e-5, atol=1e-6)


# ===================================================================================== harness
def program_text(name, subs, tiny):
    """The program's text with each (old, new) of `subs` replaced; torch's import lines made tinygrad_ae's."""
    text = (PROGRAMS / name).read_text()
    for old, new in subs:
        assert old in text, f"{name}: the rewrite expects {old!r}, which the program no longer contains"
        text = text.replace(old, new)
    if tiny:
        text = re.sub(r"^(\s*)import torch$", r"\1import tinygrad_ae as torch", text, flags=re.M)
        text = re.sub(r"^(\s*)import torch\.", r"\1import tinygrad_ae.", text, flags=re.M)
        text = re.sub(r"^(\s*)from torch([. ])", r"\1from tinygrad_ae\2", text, flags=re.M)
        assert not re.search(r"^\s*(import|from) torch\b", text, flags=re.M)
    return text


def run(name, tiny, subs=(), **inputs):
    """Run the program in a fresh namespace holding `inputs`; return the namespace."""
    namespace = {"__name__": "__program__", "set_weights": set_weights, **inputs}
    exec(compile(program_text(name, subs, tiny), str(PROGRAMS / name), "exec"), namespace)
    return namespace


def both(name, subs=(), **inputs):
    return run(name, False, subs, **inputs), run(name, True, subs, **inputs)


def set_weights(framework, model, arrays):
    """Copy `arrays` into model.parameters() in order, in place, whichever framework the model is of."""
    parameters = list(model.parameters())
    assert len(parameters) == len(arrays), (len(parameters), [a.shape for a in arrays])
    with framework.no_grad():
        for p, a in zip(parameters, arrays):
            assert tuple(p.shape) == a.shape, (tuple(p.shape), a.shape)
            p.copy_(framework.tensor(a))


def numbers(value):
    """A result as numpy (tensors of either framework, arrays, numbers, nested tuples/lists/dicts)."""
    if isinstance(value, dict):
        return {k: numbers(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(numbers(v) for v in value)
    if hasattr(value, "detach"):
        return np.asarray(value.detach().numpy())
    return np.asarray(value)


def assert_same(reference, result, **tolerance):
    """Same structure, same dtype, same numbers."""
    reference, result = numbers(reference), numbers(result)
    if isinstance(reference, (dict, tuple, list)):
        assert type(result) is type(reference) and len(result) == len(reference), (reference, result)
        pairs = reference.items() if isinstance(reference, dict) else enumerate(reference)
        for k, v in pairs:
            assert_same(v, result[k], **tolerance)
        return
    assert result.shape == reference.shape, (result.shape, reference.shape)
    assert result.dtype == reference.dtype, (result.dtype, reference.dtype)
    np.testing.assert_allclose(result, reference, **tolerance)


def draw(*shapes, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


# ============================================================ "Learning PyTorch with Examples"
SHORT = [("range(2000)", "range(50)")]
DTYPES = [pytest.param("torch.float", F32, id="float32"), pytest.param("torch.double", F64, id="float64")]


def polynomial_start(dtype, requires_grad):
    start = draw((), (), (), (), dtype=np.float64)
    grad = ", requires_grad=True" if requires_grad else ""
    subs = [(f"{n} = torch.randn((), device=device, dtype=dtype{grad})",
             f"{n} = torch.tensor(START[{i}], device=device, dtype=dtype{grad})") for i, n in enumerate("abcd")]
    return subs, start


@pytest.mark.parametrize("dtype, tolerance", DTYPES)
def test_tutorial_tensors_manual_gradients(dtype, tolerance):
    subs, start = polynomial_start(dtype, requires_grad=False)
    ref, tiny = both("tutorial_tensors.py", SHORT + [("dtype = torch.float\n", f"dtype = {dtype}\n")] + subs,
                     START=start)
    for n in "abcd":
        assert_same(ref[n], tiny[n], **tolerance)
    assert np.isclose(tiny["loss"], ref["loss"], rtol=tolerance["rtol"])


@pytest.mark.parametrize("dtype, tolerance", DTYPES)
def test_tutorial_autograd_update_under_no_grad(dtype, tolerance):
    subs, start = polynomial_start(dtype, requires_grad=True)
    ref, tiny = both("tutorial_autograd.py", SHORT + [("dtype = torch.float\n", f"dtype = {dtype}\n")] + subs,
                     START=start)
    for n in "abcd":
        assert_same(ref[n], tiny[n], **tolerance)
        assert tiny[n].grad is None and tiny[n].requires_grad
    assert_same(ref["loss"], tiny["loss"], **tolerance)


@pytest.mark.parametrize("dtype, tolerance", DTYPES)
def test_tutorial_custom_function_legendre_polynomial(dtype, tolerance):
    ref, tiny = both("tutorial_custom_function.py", SHORT + [("dtype = torch.float\n", f"dtype = {dtype}\n")])
    for n in "abcd":
        assert_same(ref[n], tiny[n], **tolerance)
    assert_same(ref["loss"], tiny["loss"], **tolerance)


def linear_start():
    return draw((1, 3), (1,), dtype=np.float32, seed=1)


def test_tutorial_nn_update_over_model_parameters():
    subs = SHORT + [("loss_fn = ", "set_weights(torch, model, START)\nloss_fn = ")]
    ref, tiny = both("tutorial_nn.py", subs, START=linear_start())
    assert_same(ref["xx"], tiny["xx"], **F32)
    assert_same(list(ref["model"].parameters()), list(tiny["model"].parameters()), **F32)
    assert_same(ref["loss"], tiny["loss"], **F32)


def test_tutorial_optim_sgd():
    subs = SHORT + [("loss_fn = ", "set_weights(torch, model, START)\nloss_fn = ")]
    ref, tiny = both("tutorial_optim.py", subs, START=linear_start())
    assert_same(list(ref["model"].parameters()), list(tiny["model"].parameters()), **F32)
    assert_same(ref["loss"], tiny["loss"], **F32)


def test_tutorial_custom_module():
    start = draw((), (), (), (), dtype=np.float32, seed=2)
    subs = SHORT + [(f"self.{n} = torch.nn.Parameter(torch.randn(()))",
                     f"self.{n} = torch.nn.Parameter(torch.tensor(START[{i}]))") for i, n in enumerate("abcd")]
    ref, tiny = both("tutorial_module.py", subs, START=start)
    assert_same(list(ref["model"].parameters()), list(tiny["model"].parameters()), **F32)
    assert_same(ref["loss"], tiny["loss"], **F32)
    assert tiny["model"].string().startswith("y = ")


# ================================================================= micrograd's test_engine.py
def test_micrograd_test_engine_torch_halves():
    ref, tiny = both("micrograd_engine.py")
    # micrograd's Value gives these exactly (its asserts compare them with torch's)
    assert ref["sanity"] == (-20.0, 46.0)
    assert tiny["sanity"] == ref["sanity"]
    assert np.allclose(tiny["more_ops"], ref["more_ops"], rtol=1e-12, atol=0)
    assert abs(tiny["more_ops"][0] - 24.70408163265306) < 1e-6
    assert numbers(tiny["xpt"].grad).dtype == numbers(ref["xpt"].grad).dtype == np.float64


# =============================================================================== makemore
WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn",
         "quinn", "xavier", "zoe", "jude", "kyle", "wyatt", "yusuf", "bruno", "gwen", "pax"]


def test_the_word_list_has_every_letter():
    """makemore's programs hard-code 27 characters (26 letters and '.')."""
    assert len(set("".join(WORDS))) == 26


def test_makemore_bigram_counts():
    ref, tiny = both("makemore_bigram_counts.py", words=WORDS)
    assert numbers(tiny["N"]).dtype == np.int32
    assert_same(ref["N"], tiny["N"], rtol=0, atol=0)
    assert_same(ref["P"], tiny["P"], rtol=1e-6, atol=0)
    assert_same(ref["nll"] / ref["n"], tiny["nll"] / tiny["n"], rtol=1e-5, atol=0)


def test_makemore_bigram_sampling():
    """torch.multinomial with a Generator: the streams differ, so only what a draw must be is checked."""
    probs = np.full((27, 27), 1 / 27, dtype=np.float32)
    probs[:, 0] = 0.5
    probs /= probs.sum(1, keepdims=True)
    names = run("makemore_bigram_sample.py", True, PROBS=probs)["names"]
    assert len(names) == 5 and all(isinstance(i, int) and 0 <= i < 27 for n in names for i in n)
    assert all(n[-1] == 0 or len(n) == 31 for n in names)
    again = run("makemore_bigram_sample.py", True, PROBS=probs)["names"]
    assert again == names, "the same seeded Generator must draw the same names"


def test_makemore_neural_bigram_float64():
    (start,) = draw((27, 27), seed=3)
    subs = [("torch.randn((V, V), generator=g, requires_grad=True)", "torch.tensor(START, requires_grad=True)"),
            ("F.one_hot(xs, num_classes=V).float()", "F.one_hot(xs, num_classes=V).double()"),
            ("range(100)", "range(20)")]
    ref, tiny = both("makemore_bigram_nn.py", subs, words=WORDS, START=start)
    assert_same(ref["W"], tiny["W"], **F64)
    assert_same(ref["loss"], tiny["loss"], **F64)


MLP_SHAPES = {"C": (27, 2), "W1": (6, 100), "b1": (100,), "W2": (100, 27), "b2": (27,)}


def test_makemore_mlp_float64():
    start = dict(zip(MLP_SHAPES, draw(*MLP_SHAPES.values(), seed=4)))
    subs = [(f"{n} = torch.randn({s if len(s) > 1 else s[0]}, generator=g)", f"{n} = torch.tensor(START['{n}'])")
            for n, s in MLP_SHAPES.items()]
    ref, tiny = both("makemore_mlp.py", subs, words=WORDS, START=start)
    assert_same(ref["X"], tiny["X"], rtol=0, atol=0)
    assert numbers(tiny["X"]).dtype == np.int64
    for n in MLP_SHAPES:
        assert_same(ref[n], tiny[n], **F64)
    assert_same(ref["loss"], tiny["loss"], **F64)


def test_makemore_mlp_as_written_trains():
    """Unchanged but for the loop length: torch.Generator/randn(generator=) init, and the loss goes down."""
    first = run("makemore_mlp.py", True, [("range(30)", "range(1)")], words=WORDS)["loss"].item()
    last = run("makemore_mlp.py", True, [("range(30)", "range(20)")], words=WORDS)["loss"].item()
    assert np.isfinite(last) and last < first


# ======================================================================= a dense autoencoder
def test_beginner_dense_autoencoder_adam():
    shapes = [(32, 64), (32,), (8, 32), (8,), (32, 8), (32,), (64, 32), (64,)]
    start = [0.2 * a for a in draw(*shapes, dtype=np.float32, seed=5)]
    data = np.random.default_rng(6).random((64, 64)).astype(np.float32)
    subs = [("criterion = nn.MSELoss()", "set_weights(torch, model, START)\ncriterion = nn.MSELoss()")]
    ref, tiny = both("autoencoder_dense.py", subs, START=start, DATA=data)
    assert_same(list(ref["model"].parameters()), list(tiny["model"].parameters()), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(tiny["losses"], ref["losses"], rtol=1e-5)


# ====================================================== torch.autograd.functional's doc examples
def functional_examples():
    text = (PROGRAMS / "autograd_functional_docs.py").read_text()
    head, body = text.split("results = {}\n")
    return head + "results = {}\n", [b for b in body.split("\n\n") if b.strip()]


HEAD, EXAMPLES = functional_examples()
FUNCTIONAL_INPUTS = dict(zip(["R22", "R2a", "R2b", "R44"], draw((2, 2), (2,), (2,), (4, 4), seed=7)))


@pytest.mark.parametrize("block", EXAMPLES, ids=[re.search(r'results\["(\w+)"\]', b).group(1) for b in EXAMPLES])
def test_autograd_functional_doc_example(block):
    key = re.search(r'results\["(\w+)"\]', block).group(1)
    name = "autograd_functional_docs.py"
    results = []
    for tiny in (False, True):
        text = program_text(name, (), tiny).split("results = {}\n")[0] + "results = {}\n"
        namespace = dict(FUNCTIONAL_INPUTS)
        exec(compile(text + block, name, "exec"), namespace)
        results.append(namespace["results"][key])
    assert_same(results[0], results[1], **F64)


def test_detach_keeps_the_dtype_of_an_integer_tensor():
    """The comparisons above read every result through .detach().numpy(), as torch programs do."""
    import tinygrad_ae
    for dtype in ("int64", "int32"):
        x = tinygrad_ae.tensor([1, 2], dtype=getattr(tinygrad_ae, dtype))
        assert numbers(x).dtype == np.dtype(dtype) == numbers(torch.tensor([1, 2], dtype=getattr(torch, dtype))).dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pow_with_an_integer_tensor_exponent_matches_torch_on_negative_bases(dtype):
    """The nn tutorials' features: xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3])), x from -pi to pi."""
    import tinygrad_ae
    base = np.array([-2.0, -0.5, 0.0, 3.0], dtype=dtype)
    results = []
    for framework in (torch, tinygrad_ae):
        x = framework.tensor(base, requires_grad=True)
        xx = x.unsqueeze(-1).pow(framework.tensor([1, 2, 3]))
        xx.sum().backward()
        results.append((xx, x.grad))
    assert_same(results[0], results[1], **(F64 if dtype == np.float64 else F32))
