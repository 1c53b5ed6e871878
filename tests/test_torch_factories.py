"""`import tinygrad_ae as torch`, the tensor-level surface: dtypes (`dtypes.py`), the device, random
numbers (`random.py`: Generator, the one default generator every draw of the package uses), and the
factories (`factories.py`). Each entry against what PyTorch documents (shapes, dtypes, requires_grad,
errors), and against torch itself where it is installed: the deterministic factories' values equal
torch's; random ones are checked as distributions and for reproducibility (their streams are numpy's)."""
import importlib.util

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor, nn, optim
from tinygrad_ae import functional as F
from tinygrad_ae.data.rows import iterate_minibatches

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (pip install '.[test]'): "
                                 "the differential checks against torch are skipped; the documented behaviour "
                                 "is checked without it")


def torch_module():
    return pytest.importorskip("torch", reason="PyTorch is not installed: no differential check against it")


def values(t):
    """A tensor of either library as an ndarray."""
    return t.data if isinstance(t, Tensor) else t.detach().numpy()


@pytest.fixture
def default_dtype_restored():
    yield
    tg.set_default_dtype(tg.float32)


# ===================================================================================== dtypes
TORCH_DTYPE_NAMES = ["float32", "float", "float64", "double", "float16", "half", "int64", "long", "int32", "int",
                     "int16", "short", "int8", "uint8", "bool"]


def test_dtypes_are_numpy_dtypes_that_compare_with_tensors_and_arrays():
    assert tg.float32 == np.float32 and isinstance(tg.float32, np.dtype)
    assert tg.float is tg.float32 and tg.double is tg.float64 and tg.half is tg.float16
    assert tg.long is tg.int64 and tg.int is tg.int32 and tg.short is tg.int16 and tg.bool == np.bool_
    x = Tensor(np.zeros(3, np.float32))
    assert x.dtype == tg.float32 and x.data.dtype == tg.float32 and x.dtype != tg.float64
    assert np.zeros(2, tg.int64).dtype == tg.long
    import builtins                             # the package's names shadow Python's only in its namespace
    assert builtins.float is float and tg.float is not float


@needs_torch
@pytest.mark.parametrize("name", TORCH_DTYPE_NAMES)
def test_each_dtype_name_means_what_torchs_means(name):
    torch = torch_module()
    assert torch.empty(0, dtype=getattr(torch, name)).numpy().dtype == getattr(tg, name)


def test_default_dtype_is_float32_and_set_default_dtype_changes_the_factories(default_dtype_restored):
    assert tg.get_default_dtype() == tg.float32
    tg.set_default_dtype(tg.float64)
    assert tg.get_default_dtype() == tg.float64
    assert tg.zeros(2).dtype == tg.float64 and tg.rand(2).dtype == tg.float64 and tg.arange(0.5, 2).dtype == tg.float64
    assert tg.full((2,), 1.5).dtype == tg.float64 and tg.arange(3).dtype == tg.int64      # integers stay int64
    tg.set_default_dtype(tg.float32)
    assert tg.zeros(2).dtype == tg.float32
    for bad in (tg.int64, "float32", None):
        with pytest.raises(TypeError, match=r"set_default_dtype: only floating dtypes \(float16, float32, float64\)"):
            tg.set_default_dtype(bad)


def test_is_tensor_is_floating_point_and_numel():
    x = tg.zeros(2, 3)
    assert tg.is_tensor(x) and not tg.is_tensor(np.zeros(2)) and not tg.is_tensor([1.0])
    assert tg.is_floating_point(x) and not tg.is_floating_point(tg.arange(3))
    assert tg.numel(x) == 6 and tg.numel(tg.zeros(())) == 1 and tg.numel(tg.zeros(0, 4)) == 0
    assert type(tg.numel(x)) is int
    for fn in (tg.is_floating_point, tg.numel):
        with pytest.raises(TypeError, match=fn.__name__ + r": input must be a Tensor, got list"):
            fn([1.0])


# ===================================================================================== device
def test_device_describes_a_device_as_torch_device_does():
    cpu = tg.device("cpu")
    assert cpu.type == "cpu" and cpu.index is None and str(cpu) == "cpu" and repr(cpu) == "device(type='cpu')"
    assert tg.device("cpu:0") == tg.device("cpu", 0) != cpu and str(tg.device("cpu", 0)) == "cpu:0"
    assert tg.device(cpu) == cpu and hash(tg.device("cpu")) == hash(cpu) and len({cpu, tg.device("cpu")}) == 1
    assert str(tg.device("cuda:1")) == "cuda:1" and tg.device(1) == tg.device("cuda", 1)   # describing is fine
    with pytest.raises(AttributeError):
        cpu.type = "cuda"
    for bad, message in (("foo", "unknown device type 'foo'"), ("CPU", "unknown device type 'CPU'"),
                         ("cpu:x", "invalid device string 'cpu:x'"), ("cpu:-1", "invalid device string")):
        with pytest.raises(ValueError, match=message):
            tg.device(bad)
    with pytest.raises(ValueError, match="the index must be an integer >= 0, got -1"):
        tg.device("cpu", -1)
    with pytest.raises(TypeError, match="device: expected a string such as 'cpu'"):
        tg.device(1.5)


@needs_torch
@pytest.mark.parametrize("text", ["cpu", "cpu:0", "cuda", "cuda:3", "mps", "meta"])
def test_device_strings_read_as_torch_reads_them(text):
    torch = torch_module()
    ours, theirs = tg.device(text), torch.device(text)
    assert (ours.type, ours.index, str(ours), repr(ours)) == (theirs.type, theirs.index, str(theirs), repr(theirs))


# every factory, called with a device
DEVICE_CALLS = {
    "tensor": lambda d: tg.tensor([1.0], device=d), "as_tensor": lambda d: tg.as_tensor([1.0], device=d),
    "zeros": lambda d: tg.zeros(2, device=d), "ones": lambda d: tg.ones(2, device=d),
    "empty": lambda d: tg.empty(2, device=d), "full": lambda d: tg.full((2,), 1.0, device=d),
    "eye": lambda d: tg.eye(2, device=d), "arange": lambda d: tg.arange(3, device=d),
    "linspace": lambda d: tg.linspace(0, 1, 3, device=d),
    "zeros_like": lambda d: tg.zeros_like(tg.zeros(2), device=d), "ones_like": lambda d: tg.ones_like(tg.zeros(2), device=d),
    "full_like": lambda d: tg.full_like(tg.zeros(2), 3, device=d), "empty_like": lambda d: tg.empty_like(tg.zeros(2), device=d),
    "rand_like": lambda d: tg.rand_like(tg.zeros(2), device=d), "randn_like": lambda d: tg.randn_like(tg.zeros(2), device=d),
    "rand": lambda d: tg.rand(2, device=d), "randn": lambda d: tg.randn(2, device=d),
    "randint": lambda d: tg.randint(3, (2,), device=d), "randperm": lambda d: tg.randperm(3, device=d),
    "normal": lambda d: tg.normal(0.0, 1.0, (2,), device=d), "Generator": lambda d: tg.Generator(device=d),
}


@pytest.mark.parametrize("name", sorted(DEVICE_CALLS))
def test_every_factory_takes_the_cpu_and_refuses_other_devices_in_words(name):
    call = DEVICE_CALLS[name]
    for cpu in (None, "cpu", "cpu:0", tg.device("cpu")):
        call(cpu)
    for other in ("cuda", "cuda:0", tg.device("mps")):
        with pytest.raises(RuntimeError, match=rf"{name}: device '{other}' is not available: tinygrad_ae computes "
                                               r"with numpy on the CPU; use device='cpu'"):
            call(other)


@needs_torch
def test_a_torch_device_object_is_read_too():
    torch = torch_module()
    assert tg.zeros(2, device=torch.device("cpu")).shape == (2,)
    with pytest.raises(RuntimeError, match="'cuda:1' is not available"):
        tg.zeros(2, device=torch.device("cuda", 1))


# ============================================================================== random: Generator
def test_manual_seed_returns_the_default_generator_which_then_draws_as_numpys_default_rng():
    g = tg.manual_seed(123)
    assert g is tg.default_generator and isinstance(g, tg.Generator) and tg.initial_seed() == 123
    np.testing.assert_array_equal(g.numpy_generator.random(5), np.random.default_rng(123).random(5))


def test_a_generator_has_torchs_api():
    g = tg.Generator()
    assert g.initial_seed() == 67280421310721 and g.device == tg.device("cpu")
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    s = g.seed()
    assert isinstance(s, int) and 0 <= s < 2 ** 64 and g.initial_seed() == s
    a = tg.Generator().manual_seed(9)
    b = tg.Generator().manual_seed(9)
    np.testing.assert_array_equal(tg.rand(4, generator=a).data, tg.rand(4, generator=b).data)
    state = a.get_state()
    assert isinstance(state, Tensor) and state.dtype == tg.uint8 and state.ndim == 1
    first = tg.randn(3, generator=a).data
    assert a.set_state(state) is a
    np.testing.assert_array_equal(tg.randn(3, generator=a).data, first)
    assert a.set_state(state.data) is a                          # the array works too


@needs_torch
def test_generator_seeds_follow_torch():
    torch = torch_module()
    assert tg.Generator().initial_seed() == torch.Generator().initial_seed()
    for seed in (0, 7, -1, -2 ** 63, 2 ** 64 - 1, np.int64(3)):
        assert tg.Generator().manual_seed(seed).initial_seed() == torch.Generator().manual_seed(int(seed)).initial_seed()


def test_seeds_and_states_are_checked():
    g = tg.Generator()
    for bad in (1.5, "3", None, True):
        with pytest.raises(TypeError, match=r"Generator.manual_seed: the seed must be an integer, got"):
            g.manual_seed(bad)
    with pytest.raises(ValueError, match=r"the seed must lie in \[-2\*\*63, 2\*\*64\), got 18446744073709551616"):
        tg.manual_seed(2 ** 64)
    with pytest.raises(TypeError, match="Generator.set_state: expected the uint8 tensor get_state\\(\\) returns, got "
                                        "ndarray of shape \\(3,\\) and dtype float64"):
        g.set_state(np.zeros(3))
    with pytest.raises(ValueError, match="Generator.set_state: these 3 bytes are not a state get_state\\(\\) made"):
        g.set_state(np.zeros(3, np.uint8))
    with pytest.raises(RuntimeError, match="Generator: device 'cuda' is not available"):
        tg.Generator(device="cuda")


def test_seed_get_rng_state_and_set_rng_state_act_on_the_default_generator():
    s = tg.seed()
    assert tg.initial_seed() == s
    state = tg.get_rng_state()
    first = tg.rand(5).data
    tg.set_rng_state(state)
    np.testing.assert_array_equal(tg.rand(5).data, first)


def test_reseeding_rewinds_the_same_numpy_generator_in_place():
    """Whatever holds the default generator's numpy Generator (a Dropout layer, a captured step) follows
    manual_seed, because the object stays the same."""
    held = tg.default_generator.numpy_generator
    tg.manual_seed(1)
    a = held.random(3)
    tg.manual_seed(1)
    assert tg.default_generator.numpy_generator is held
    np.testing.assert_array_equal(held.random(3), a)


def test_an_explicit_generator_does_not_move_the_default_stream():
    tg.manual_seed(4)
    expected = tg.rand(3).data
    tg.manual_seed(4)
    g = tg.Generator().manual_seed(0)
    tg.rand(10, generator=g), tg.randn(2, generator=g), tg.randint(5, (3,), generator=g), tg.randperm(4, generator=g)
    tg.rand(2, generator=np.random.default_rng(0))               # a numpy Generator is taken too
    np.testing.assert_array_equal(tg.rand(3).data, expected)


def test_a_seed_is_not_a_generator():
    with pytest.raises(TypeError, match=r"rand: generator must be a tinygrad_ae.Generator \(or a numpy Generator\), "
                                        r"got int 0; for a seeded one, tg.Generator\(\).manual_seed\(seed\)"):
        tg.rand(2, generator=0)


# ====================================================== random: one default generator for the package
def _program():
    """Every draw of the package that takes no seed: it must repeat exactly after tg.manual_seed."""
    layer = nn.Linear(5, 3)
    drop = nn.Dropout(0.5)
    x = tg.randn(4, 5)
    h = drop(layer(x))
    mask = F.dropout(tg.ones(4, 3), 0.5)
    ae = tg.Autoencoder(6, 2)
    order = np.concatenate(list(iterate_minibatches(np.arange(10), 3)))
    history = ae.fit(np.random.default_rng(0).random((12, 6)).astype(np.float32), epochs=1, batch_size=4,
                     compile=False)
    return [layer.weight.data, h.data, mask.data, ae.encoder.weight.data, ae.decoder.weight.data, order,
            np.array(history["train"]), tg.randint(0, 100, (5,)).data, tg.randperm(7).data, tg.rand(2).data]


def test_manual_seed_makes_a_whole_program_reproducible():
    tg.manual_seed(0)
    first = _program()
    tg.manual_seed(0)
    second = _program()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    tg.manual_seed(1)
    assert not np.array_equal(_program()[0], first[0])


def test_without_a_seed_the_default_stream_goes_on():
    assert not np.array_equal(nn.Linear(6, 4).weight.data, nn.Linear(6, 4).weight.data)
    assert not np.array_equal(tg.rand(8).data, tg.rand(8).data)


def test_seeded_behaviour_is_untouched_by_the_default_generator():
    """An int seed makes its own numpy Generator, exactly as before (np.random.default_rng(seed))."""
    results = []
    for global_seed in (0, 1):
        tg.manual_seed(global_seed)
        layer = nn.Linear(4, 3, rng=7)
        ae = tg.Autoencoder(6, 2, seed=3)
        mask = F.dropout(tg.ones(3, 3), 0.5, rng=2).data
        drop = nn.Dropout(0.5, rng=2)(tg.ones(3, 3)).data
        order = np.concatenate(list(iterate_minibatches(np.arange(10), 3, rng=5)))
        results.append((layer.weight.data, ae.encoder.weight.data, mask, drop, order))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    bound = 1 / np.sqrt(4)                        # PyTorch's start: U(+-1/sqrt(fan_in)), the weight drawn first
    expected = np.random.default_rng(7).uniform(-bound, bound, size=(3, 4)).astype(np.float32)
    np.testing.assert_array_equal(results[0][0], expected)
    np.testing.assert_array_equal(results[0][2], results[0][3])


def test_layers_take_a_tg_generator_and_draw_from_its_stream():
    g = tg.Generator().manual_seed(11)
    layer = nn.Linear(4, 3, rng=g)
    bound = 1 / np.sqrt(4)
    np.testing.assert_array_equal(layer.weight.data, np.random.default_rng(11).uniform(-bound, bound, (3, 4))
                                  .astype(np.float32))
    assert nn.Dropout(0.5, rng=g).rng is g.numpy_generator
    assert tg.Autoencoder(4, 2, seed=g).generator is g.numpy_generator


def test_the_default_generator_equals_seeding_numpy_directly():
    """After tg.manual_seed(s), a layer without rng has the weights rng=s gives it."""
    tg.manual_seed(21)
    np.testing.assert_array_equal(nn.Linear(5, 2).weight.data, nn.Linear(5, 2, rng=21).weight.data)


def test_a_compiled_step_replays_the_factories_draws_from_the_default_generator():
    """tg.rand and tg.randn draw through random.draw: a captured step draws anew at every replay,
    the same numbers the eager step draws after the same seed."""
    def body(w, o, x):
        o.zero_grad()
        loss = ((x * tg.rand(4, 3) + 0.1 * tg.randn(4, 3)) @ w).sum()
        loss.backward()
        o.step()
        return loss

    W, W_ref = (Tensor(np.ones((3, 2), np.float32), requires_grad=True) for _ in range(2))
    opt, opt_ref = optim.SGD([W], lr=0.1), optim.SGD([W_ref], lr=0.1)
    step = tg.compile(lambda x: body(W, opt, x))
    x = Tensor(np.ones((4, 3), np.float32))
    tg.manual_seed(3)
    compiled = [step(x).item() for _ in range(6)]
    assert step.program is not None
    tg.manual_seed(3)
    assert compiled == [body(W_ref, opt_ref, x).item() for _ in range(6)]
    np.testing.assert_array_equal(W.data, W_ref.data)


# ============================================================== factories: values, dtypes, shapes
# each call is written once and evaluated with lib = tinygrad_ae and with lib = torch
DETERMINISTIC = [
    "zeros(2, 3)", "zeros((2, 3))", "zeros([4])", "zeros(())", "zeros(0, 3)", "ones(2, dtype=lib.int64)",
    "ones(3, dtype=lib.bool)", "ones((2, 1), dtype=lib.float64)", "zeros(2, dtype=lib.uint8)",
    "full((2, 2), 7)", "full((2,), True)", "full((3,), 2.5)", "full((2,), 1.5, dtype=lib.int64)", "full([], -1.0)",
    "eye(3)", "eye(2, 4)", "eye(4, 2)", "eye(3, dtype=lib.bool)", "eye(0)", "eye(2, dtype=lib.int32)",
    "arange(5)", "arange(2, 9, 3)", "arange(5, 0, -1)", "arange(-3, 4, 2)", "arange(0, 1, 0.25)", "arange(1, 2.5, 0.5)",
    "arange(0.5, 5, dtype=lib.int64)", "arange(0.5, 5.5, 1.7, dtype=lib.int64)", "arange(3, 10, 2.5, dtype=lib.int64)",
    "arange(4, dtype=lib.float64)", "arange(0)", "arange(2, 2)",
    "linspace(0, 1, 5)", "linspace(-5, 5, 11)", "linspace(0, 10, 4, dtype=lib.int64)", "linspace(3, 1, 1)",
    "linspace(0, 1, 0)", "linspace(-3.3, 7.1, 100)", "linspace(0, 1, 1000)", "linspace(0.1, 0.7, 1001)",
    "linspace(1e3, -2.5, 33)", "linspace(-3.3, 7.1, 100, dtype=lib.int64)", "linspace(7.9, 200.2, 37, dtype=lib.int32)",
    "linspace(2, 250, 9, dtype=lib.uint8)",
    "zeros_like(lib.ones(2, 3, dtype=lib.int32))", "ones_like(lib.zeros(2))", "ones_like(lib.zeros(2), dtype=lib.float64)",
    "full_like(lib.zeros(2, dtype=lib.int64), 2.7)", "full_like(lib.zeros(3), 7)", "full_like(lib.zeros(2, 2), -1.5)",
    "as_tensor([1, 2])", "as_tensor([1.0, 2])", "as_tensor(3)", "as_tensor(2.5)", "as_tensor([True, False])",
    "as_tensor([[1, 2], [3, 4]], dtype=lib.float64)", "as_tensor(np.arange(4.0))", "as_tensor(np.arange(4), dtype=lib.int32)",
    "tensor([[1, 2], [3, 4]])", "tensor(2.5)", "tensor([1.5, 2])", "tensor([True])", "tensor(np.float32(3.0))",
    "tensor([1, 2], dtype=lib.float16)", "tensor(np.arange(3, dtype=np.int16))",
    "from_numpy(np.arange(6).reshape(2, 3))", "from_numpy(np.ones(2, np.float64))", "from_numpy(np.array([True]))",
    "from_numpy(np.zeros((2, 0), np.float32))",
]


@needs_torch
@pytest.mark.parametrize("call", DETERMINISTIC)
def test_deterministic_factories_equal_torchs(call):
    torch = torch_module()
    ours, theirs = (eval("lib." + call, {"lib": lib, "np": np}) for lib in (tg, torch))   # noqa: S307
    assert isinstance(ours, Tensor)
    a, b = values(ours), values(theirs)
    assert a.shape == b.shape and a.dtype == b.dtype, (a, b)
    np.testing.assert_array_equal(a, b)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("args", [(0, 1, 0.1), (0, 10, 0.3), (-3.7, 2.2, 0.13), (1e3, 1e3 + 1, 1e-3), (5, -5, -0.7),
                                  (-1, 1, 1 / 3), (0, 3e4, 0.37)])
def test_floating_arange_is_torchs_to_within_its_rounding(args, dtype):
    """Same length, values within one rounding: torch's vector kernel adds the step to a rounded base,
    in chunks as wide as the CPU's vectors, so its last digit depends on the machine; ours are
    start + i * step rounded once."""
    torch = torch_module()
    a, b = tg.arange(*args, dtype=getattr(tg, dtype)).data, torch.arange(*args, dtype=getattr(torch, dtype)).numpy()
    assert a.shape == b.shape and a.dtype == b.dtype
    eps = np.finfo(a.dtype).eps
    scale = max(abs(args[0]), abs(args[1]))
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=2 * eps, atol=2 * eps * scale)


@needs_torch
@pytest.mark.parametrize("args", [(-3.3, 7.1, 100), (0, 1, 1000), (0.1, 0.7, 1001), (7.9, 200.2, 37), (1e3, -2.5, 33)])
def test_float64_and_float16_linspace_are_torchs_to_within_one_rounding(args):
    """(float32 is equal, above: float64 arithmetic emulates torch's fused multiply-add; numpy has no
    fused multiply-add for float64 itself, and torch's half arithmetic rounds at every step.)"""
    torch = torch_module()
    for name in ("float64", "float16"):
        a = tg.linspace(*args, dtype=getattr(tg, name)).data
        b = torch.linspace(*args, dtype=getattr(torch, name)).numpy()
        assert a.dtype == b.dtype
        eps = np.finfo(a.dtype).eps
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=eps, atol=eps * max(map(abs, args[:2])))


def test_factories_follow_torchs_documented_dtypes_and_shapes():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros(2, 3).dtype == tg.float32
    assert tg.zeros(()).shape == () and tg.ones([]).shape == ()
    assert tg.empty(3, 2).shape == (3, 2) and tg.empty(3, dtype=tg.int64).dtype == tg.int64
    assert tg.empty_like(tg.zeros(2, dtype=tg.float64)).dtype == tg.float64
    assert tg.arange(5).dtype == tg.int64 and tg.arange(5.0).dtype == tg.float32
    assert tg.randint(10, (3,)).dtype == tg.int64 and tg.randperm(4).dtype == tg.int64
    assert tg.zeros(2, dtype=float).dtype == tg.float64 and tg.zeros(2, dtype=int).dtype == tg.int64   # Python's types
    assert tg.zeros(2, dtype=np.float16).dtype == tg.half
    for t in (tg.zeros(2), tg.arange(3), tg.rand(2), tg.eye(2), tg.full((1,), 2)):
        assert not t.requires_grad and t.is_leaf


def test_requires_grad_makes_a_leaf_that_backward_reaches():
    for t in (tg.zeros(3, requires_grad=True), tg.ones(3, requires_grad=True), tg.rand(3, requires_grad=True),
              tg.randn(3, requires_grad=True), tg.full((3,), 2.0, requires_grad=True),
              tg.linspace(0, 1, 3, requires_grad=True), tg.arange(3.0, requires_grad=True),
              tg.zeros_like(tg.zeros(3), requires_grad=True), tg.tensor([1.0, 2.0, 3.0], requires_grad=True),
              tg.normal(0.0, 1.0, (3,), requires_grad=True), tg.eye(3, requires_grad=True)):
        assert t.requires_grad and t.is_leaf
        (t * t).sum().backward()
        np.testing.assert_allclose(t.grad, 2 * t.data)


@pytest.mark.parametrize("call", [lambda: tg.zeros(2, dtype=tg.int64, requires_grad=True),
                                  lambda: tg.arange(3, requires_grad=True),
                                  lambda: tg.randint(3, (2,), requires_grad=True),
                                  lambda: tg.full((2,), True, requires_grad=True)])
def test_only_floating_tensors_can_require_gradients(call):
    with pytest.raises(TypeError, match=r"only floating-point tensors can require gradients, got dtype"):
        call()


def test_from_numpy_and_as_tensor_share_memory_and_tensor_copies():
    a = np.zeros(3, np.float32)
    for t in (tg.from_numpy(a), tg.as_tensor(a), tg.as_tensor(a, dtype=tg.float32)):
        a[0] = 5.0
        assert t.data[0] == 5.0
        t.data[1] = 7.0
        assert a[1] == 7.0
    ints = np.arange(3)
    assert tg.from_numpy(ints).data is ints and tg.from_numpy(ints).dtype == tg.int64
    assert tg.as_tensor(a, dtype=tg.float64).data is not a and tg.as_tensor(a, dtype=tg.float64).dtype == tg.float64
    assert tg.tensor(a).data is not a and np.shares_memory(tg.tensor(a).data, a) is False
    x = tg.ones(2)
    assert tg.as_tensor(x) is x and tg.as_tensor(x, dtype=tg.float32) is x
    assert tg.as_tensor(x, dtype=tg.float64).dtype == tg.float64


def test_bad_sizes_are_refused_naming_the_function():
    with pytest.raises(ValueError, match=r"zeros: sizes must be >= 0, got -1 in \(2, -1\)"):
        tg.zeros(2, -1)
    with pytest.raises(TypeError, match=r"ones: size must be integers \(zeros\(2, 3\)\) or one tuple of integers"):
        tg.ones(2.0)
    with pytest.raises(TypeError, match=r"rand: size must be integers .* got bool True"):
        tg.rand(True)
    with pytest.raises(TypeError, match=r"zeros: missing the size: give the dimensions, e.g. zeros\(2, 3\)"):
        tg.zeros()
    with pytest.raises(TypeError, match=r"full: size must be a tuple of integers, e.g. full\(\(2, 3\), 7.0\), got int 3"):
        tg.full(3, 1.0)
    with pytest.raises(TypeError, match=r"full: fill_value must be a real number, got str"):
        tg.full((2,), "a")
    with pytest.raises(ValueError, match=r"eye: n must be >= 0, got -1"):
        tg.eye(-1)
    with pytest.raises(TypeError, match=r"eye: m must be an integer, got float 2.0"):
        tg.eye(2, 2.0)


def test_bad_dtypes_are_refused_naming_the_function():
    with pytest.raises(TypeError, match=r"zeros: dtype must be a dtype such as tg.float32 or tg.int64, not the string "
                                        r"'float32'"):
        tg.zeros(2, dtype="float32")
    with pytest.raises(TypeError, match=r"ones: dtype complex64 is not supported; a tensor holds float16, float32"):
        tg.ones(2, dtype=np.complex64)
    with pytest.raises(TypeError, match=r"ones: dtype float128 is not supported"):
        tg.ones(2, dtype=np.longdouble)
    for call, name in ((lambda: tg.rand(2, dtype=tg.int64), "rand"), (lambda: tg.randn(2, dtype=tg.bool), "randn"),
                       (lambda: tg.rand_like(tg.arange(3)), "rand_like"),
                       (lambda: tg.normal(0.0, 1.0, (2,), dtype=tg.int32), "normal")):
        with pytest.raises(TypeError, match=rf"{name}: random floating numbers need a floating dtype \(float16, "
                                            r"float32 or float64\), got"):
            call()


def test_range_factories_check_their_arguments():
    with pytest.raises(ValueError, match=r"arange: step must be nonzero, got 0"):
        tg.arange(0, 5, 0)
    with pytest.raises(ValueError, match=r"arange: step must be nonzero, got 0.3, which is 0 as an int64"):
        tg.arange(0, 1, 0.3, dtype=tg.int64)
    with pytest.raises(ValueError, match=r"arange: from start=0 the step -1 never reaches end=5"):
        tg.arange(0, 5, -1)
    with pytest.raises(ValueError, match=r"arange: start, end and step must be finite, got 0, inf, 1"):
        tg.arange(float("inf"))
    with pytest.raises(ValueError, match=r"linspace: steps must be >= 0, got -1"):
        tg.linspace(0, 1, -1)
    with pytest.raises(TypeError, match=r"linspace: steps must be an integer, got float 2.0"):
        tg.linspace(0, 1, 2.0)
    assert tg.arange(tg.tensor(3)).data.tolist() == [0, 1, 2]         # a one-element tensor is a number


def test_like_functions_and_data_factories_check_their_input():
    for fn in (tg.zeros_like, tg.ones_like, tg.empty_like, tg.rand_like, tg.randn_like):
        with pytest.raises(TypeError, match=fn.__name__ + r": input must be a Tensor, got list; for an array, "
                                                          r"tg.from_numpy\(array\) first"):
            fn([1.0])
    with pytest.raises(TypeError, match=r"from_numpy: expected a numpy ndarray, got list; for lists and numbers, "
                                        r"tg.tensor\(data\)"):
        tg.from_numpy([1])
    with pytest.raises(TypeError, match=r"from_numpy: cannot wrap an array of dtype complex128"):
        tg.from_numpy(np.zeros(2, complex))
    with pytest.raises(TypeError, match=r"as_tensor: cannot make a tensor from str 'abc'"):
        tg.as_tensor("abc")
    with pytest.raises(ValueError, match=r"tensor: the nested lists are not rectangular"):
        tg.tensor([[1, 2], [3]])


# ============================================================== random factories: distributions
def test_random_factories_shapes_dtypes_and_ranges():
    g = tg.Generator().manual_seed(0)
    u = tg.rand(200, 3, generator=g)
    assert u.shape == (200, 3) and u.dtype == tg.float32 and u.data.min() >= 0 and u.data.max() < 1
    assert tg.rand((2, 3)).shape == (2, 3) and tg.rand(2, dtype=tg.float64).dtype == tg.float64
    half = tg.rand(100000, dtype=tg.float16, generator=g).data
    assert half.dtype == tg.float16 and half.max() < 1 and half.min() >= 0
    assert tg.randn(4, 2, dtype=tg.float16).dtype == tg.float16 and tg.randn(()).shape == ()
    r = tg.randint(3, 7, (1000,), generator=g).data
    assert r.dtype == tg.int64 and r.min() == 3 and r.max() == 6
    assert tg.randint(5, (2, 2)).shape == (2, 2) and tg.randint(0, 5, (2,), dtype=tg.float32).dtype == tg.float32
    assert tg.randint(high=5, size=(3,)).shape == (3,) and tg.randint(2, 4, size=(3,)).data.min() >= 2
    assert tg.randint(0, 2, (4,), dtype=tg.bool).dtype == tg.bool
    p = tg.randperm(50, generator=g).data
    assert sorted(p.tolist()) == list(range(50)) and tg.randperm(0).shape == (0,)
    assert tg.randperm(3, dtype=tg.float32).dtype == tg.float32
    assert tg.rand_like(tg.zeros(2, 3, dtype=tg.float64)).dtype == tg.float64
    assert tg.randn_like(tg.zeros(2), dtype=tg.float64).dtype == tg.float64


def test_normal_takes_torchs_four_forms():
    assert tg.normal(2.0, 3.0, (4, 5)).shape == (4, 5) and tg.normal(2.0, 3.0, size=(2,)).dtype == tg.float32
    mean = tg.zeros(3, dtype=tg.float64)
    assert tg.normal(mean, 1.0).shape == (3,) and tg.normal(mean, 1.0).dtype == tg.float64
    assert tg.normal(0.0, tg.ones(2, 1)).shape == (2, 1)
    assert tg.normal(tg.zeros(2, 1), tg.ones(3)).shape == (2, 3)           # broadcast, as torch
    assert tg.normal(mean).shape == (3,)                                       # std defaults to 1
    m = tg.zeros(3, requires_grad=True)
    assert not tg.normal(m, 1.0).requires_grad                                  # no gradient flows to mean
    with pytest.raises(ValueError, match=r"normal: std must be >= 0, got -1.0"):
        tg.normal(0.0, -1.0, (2,))
    with pytest.raises(ValueError, match=r"normal: std must be >= 0"):
        tg.normal(tg.zeros(2), tg.tensor([1.0, -1.0]))
    with pytest.raises(TypeError, match=r"normal: with a number mean and std, give the shape"):
        tg.normal(0.0, 1.0)
    with pytest.raises(TypeError, match=r"normal: size= goes with a number mean and std"):
        tg.normal(tg.zeros(2), 1.0, (2,))
    with pytest.raises(ValueError, match=r"normal: mean of shape \(2,\) and std of shape \(3,\) cannot be broadcast"):
        tg.normal(tg.zeros(2), tg.ones(3))


def test_randint_checks_its_forms():
    with pytest.raises(TypeError, match=r"randint: needs high and size, e.g. randint\(10, \(3,\)\)"):
        tg.randint(5)
    with pytest.raises(TypeError, match=r"randint: needs high and size"):
        tg.randint(5, 3)
    with pytest.raises(ValueError, match=r"randint: needs low < high \(integers in \[low, high\)\), got low=5, high=5"):
        tg.randint(5, 5, (3,))
    with pytest.raises(TypeError, match=r"randint: high must be an integer, got float 2.5"):
        tg.randint(0, 2.5, (2,))
    with pytest.raises(TypeError, match=r"randint: expected randint\(high, size\) or randint\(low, high, size\)"):
        tg.randint(1, 2, 3, (2,))
    with pytest.raises(ValueError, match=r"randperm: n must be >= 0, got -1"):
        tg.randperm(-1)


N = 200_000


def _within(sample_mean, mean, sd, n, sigmas=5):
    assert abs(sample_mean - mean) < sigmas * sd / np.sqrt(n), (sample_mean, mean)


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_rand_and_randn_have_the_right_distributions(dtype):
    g = tg.Generator().manual_seed(1)
    u = tg.rand(N, generator=g, dtype=dtype).data.astype(np.float64)
    _within(u.mean(), 0.5, np.sqrt(1 / 12), N)
    assert abs(u.var() - 1 / 12) < 0.002
    assert np.all(np.abs(np.histogram(u, bins=10, range=(0, 1))[0] - N / 10) < 5 * np.sqrt(N / 10))
    z = tg.randn(N, generator=g, dtype=dtype).data.astype(np.float64)
    _within(z.mean(), 0.0, 1.0, N)
    assert abs(z.std() - 1.0) < 0.01 and abs(np.mean(np.abs(z) < 1) - 0.6827) < 0.005
    x = tg.normal(2.0, 3.0, (N,), generator=g, dtype=dtype).data.astype(np.float64)
    _within(x.mean(), 2.0, 3.0, N)
    assert abs(x.std() - 3.0) < 0.03
    y = tg.normal(tg.tensor([-1.0, 5.0]).reshape(2, 1), tg.tensor([0.5, 2.0]).reshape(2, 1) * tg.ones(2, N),
                  generator=g).data
    np.testing.assert_allclose(y.mean(axis=1), [-1.0, 5.0], atol=0.05)
    np.testing.assert_allclose(y.std(axis=1), [0.5, 2.0], rtol=0.02)


def test_randint_and_randperm_are_uniform():
    g = tg.Generator().manual_seed(2)
    counts = np.bincount(tg.randint(-3, 7, (N,), generator=g).data + 3, minlength=10)
    assert len(counts) == 10 and np.all(np.abs(counts - N / 10) < 5 * np.sqrt(N / 10))
    firsts = np.bincount([tg.randperm(5, generator=g).data[0] for _ in range(5000)], minlength=5)
    assert np.all(np.abs(firsts - 1000) < 5 * np.sqrt(1000))


@needs_torch
def test_random_factories_match_torchs_distributions():
    """The same distributions as torch's (another stream): quantiles of a large sample agree."""
    torch = torch_module()
    g, tgen = tg.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    qs = np.linspace(0.01, 0.99, 25)
    pairs = [(tg.rand(N, generator=g), torch.rand(N, generator=tgen), 0.01),
             (tg.randn(N, generator=g), torch.randn(N, generator=tgen), 0.03),
             (tg.normal(1.0, 2.0, (N,), generator=g), torch.normal(1.0, 2.0, (N,), generator=tgen), 0.06)]
    for ours, theirs, tol in pairs:
        assert values(ours).dtype == values(theirs).dtype
        np.testing.assert_allclose(np.quantile(values(ours), qs), np.quantile(values(theirs), qs), atol=tol)
    ours, theirs = tg.randint(0, 10, (N,), generator=g), torch.randint(0, 10, (N,), generator=tgen)
    assert values(ours).dtype == values(theirs).dtype
    np.testing.assert_allclose(np.bincount(values(ours)) / N, np.bincount(values(theirs)) / N, atol=0.005)
    assert tg.randperm(6).dtype == values(torch.randperm(6)).dtype


# ----- multinomial ----------------------------------------------------------------------------------
@pytest.mark.parametrize("replacement", [True, False])
def test_multinomial_draws_in_proportion_to_the_weights(replacement):
    weights = np.array([[1.0, 0.0, 3.0, 6.0], [5.0, 5.0, 0.0, 0.0]])
    g = tg.Generator().manual_seed(3)
    if replacement:
        draws = tg.multinomial(tg.tensor(weights), 20000, replacement=True, generator=g)
        assert draws.dtype == np.int64 and draws.shape == (2, 20000)
        for row, w in zip(draws.data, weights):
            np.testing.assert_allclose(np.bincount(row, minlength=4) / 20000, w / w.sum(), atol=0.015)
    else:
        firsts = np.stack([tg.tensor(weights).multinomial(2, generator=g).data for _ in range(4000)])
        assert np.all(firsts[:, 1] < 2) and np.all(firsts[:, 1, 0] != firsts[:, 1, 1])   # distinct, never w = 0
        assert not np.any(firsts[:, 0] == 1)
        # the first draw of row 0 is category c with probability w_c / sum(w)
        np.testing.assert_allclose(np.bincount(firsts[:, 0, 0], minlength=4) / 4000, [0.1, 0, 0.3, 0.6], atol=0.03)
        # the second, after a first c, with w_d / (sum - w_c): P(second = 0) = sum_c P(c) w_0 / (10 - w_c)
        expected = 0.3 * 1 / 7 + 0.6 * 1 / 4
        assert abs(np.mean(firsts[:, 0, 1] == 0) - expected) < 0.03


def test_multinomial_is_reproducible_and_checks_its_input():
    p = tg.tensor([0.2, 0.3, 0.5])
    a = tg.multinomial(p, 5, replacement=True, generator=tg.Generator().manual_seed(1))
    b = tg.multinomial(p, 5, replacement=True, generator=tg.Generator().manual_seed(1))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.shape == (5,)
    with pytest.raises(ValueError, match="without replacement"):
        tg.multinomial(tg.tensor([1.0, 0.0]), 2)
    with pytest.raises(ValueError, match="non-negative"):
        tg.multinomial(tg.tensor([1.0, -1.0]), 1)
    with pytest.raises(ValueError, match="sums to zero"):
        tg.multinomial(tg.tensor([[1.0, 1.0], [0.0, 0.0]]), 1)
    with pytest.raises(ValueError, match="num_samples"):
        tg.multinomial(p, 0)
