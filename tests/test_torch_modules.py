"""torch.nn.Module's surface (nn/module.py): the registry of parameters and buffers, the module tree,
state dicts with buffers and strict=False, requires_grad_, dtype conversion, torch's repr, and nn.Linear's
PyTorch start. The same module definitions run on torch.nn where torch is installed and must agree."""
import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import nn


def build(torch):
    """One model definition, written once against a framework's namespace (torch or tinygrad_ae)."""
    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Linear(4, 3, dtype=torch.float64)
            self.scale = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
            self.register_buffer("running_mean", torch.zeros(3, dtype=torch.float64))
            self.register_buffer("scratch", torch.zeros(2, dtype=torch.float64), persistent=False)
            self.decoder = torch.nn.Sequential(torch.nn.Linear(3, 2, dtype=torch.float64), torch.nn.ReLU(),
                                               torch.nn.Dropout(0.25))

        def forward(self, x):
            h = self.encoder(x) * self.scale
            self.running_mean = 0.9 * self.running_mean + 0.1 * h.detach().mean(0)
            return self.decoder(h)

    return Scaled()


def torch_module():
    return pytest.importorskip("torch", reason="PyTorch is not installed: no differential check against it")


def test_names_buffers_and_state_dict_keys_are_torchs():
    torch = torch_module()
    ours, theirs = build(tg), build(torch)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())        # the non-persistent buffer left out
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_parameters(recurse=False)] == ["scale"]
    assert repr(ours) == repr(theirs)


def test_a_buffer_keeps_being_a_buffer_and_round_trips_through_the_state_dict():
    torch = torch_module()
    ours, theirs = build(tg), build(torch)
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(5, 4))
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(tg.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-13)
    assert "running_mean" in dict(ours.named_buffers())          # reassigned in forward: still a buffer
    np.testing.assert_allclose(ours.state_dict()["running_mean"], theirs.state_dict()["running_mean"].numpy(),
                               rtol=1e-13)
    fresh = build(tg)
    fresh.load_state_dict(ours.state_dict())
    np.testing.assert_array_equal(fresh.running_mean.data, ours.running_mean.data)


def test_load_state_dict_strict_false_reports_what_it_skipped_and_strict_refuses():
    model = build(tg)
    state = model.state_dict()
    del state["scale"]
    state["extra.weight"] = np.zeros(2)
    state["encoder.bias"] = np.full(3, 7.0)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["scale"] and result.unexpected_keys == ["extra.weight"]
    np.testing.assert_array_equal(model.encoder.bias.data, np.full(3, 7.0))
    with pytest.raises(ValueError, match=r"missing key 'scale'.*unexpected key 'extra.weight'"):
        model.load_state_dict(state)
    state["encoder.weight"] = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"'encoder.weight' has shape \(4, 3\)"):   # shapes checked even when not strict
        model.load_state_dict(state, strict=False)
    assert not np.array_equal(model.encoder.weight.data, np.zeros((3, 4)))


def test_frozen_parameters_stay_parameters():
    model = build(tg)
    names = [n for n, _ in model.named_parameters()]
    assert model.requires_grad_(False) is model
    assert [n for n, _ in model.named_parameters()] == names
    assert not any(p.requires_grad for p in model.parameters())
    assert list(model.state_dict())[:3] == ["scale", "running_mean", "encoder.weight"]   # params, then buffers
    model.encoder.requires_grad_()
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["encoder.weight", "encoder.bias"]
    frozen = nn.Parameter(tg.zeros(2), requires_grad=False)
    model.frozen = frozen
    assert isinstance(frozen, nn.Parameter) and "frozen" in dict(model.named_parameters())
    model.frozen = None                                            # reassigned: no longer listed
    assert "frozen" not in dict(model.named_parameters())


def test_to_converts_parameters_and_buffers_and_returns_the_module():
    model = build(tg)
    assert model.float() is model
    assert {t.dtype for t in model.parameters() + model.buffers()} == {np.dtype(np.float32)}
    assert model.to(tg.float64) is model and model.running_mean.dtype == np.float64
    assert model.type(tg.float32).encoder.weight.dtype == np.float32
    assert model.to("cpu") is model and model.to(device="cpu", dtype=tg.float64).scale.dtype == np.float64
    with pytest.raises(TypeError, match="floating"):
        model.to(tg.int64)
    with pytest.raises(Exception, match="cuda"):
        model.to("cuda")


def test_registration_errors_name_the_module_and_the_attribute():
    model = build(tg)
    with pytest.raises(KeyError, match="already exists"):
        model.register_buffer("scale", tg.zeros(3))
    with pytest.raises(TypeError, match=r"Scaled.register_buffer: cannot assign a list as buffer 'b'"):
        model.register_buffer("b", [1, 2])
    with pytest.raises(KeyError, match="without '.'"):
        model.register_buffer("a.b", tg.zeros(1))
    with pytest.raises(ValueError, match="train: mode must be True or False"):
        model.train("yes")
    assert model.get_submodule("decoder.0") is model.decoder[0]
    with pytest.raises(AttributeError, match="no submodule 'nope'"):
        model.get_submodule("decoder.nope")
    model.add_module("head", nn.Identity())
    assert model.children()[-1] is model.head
    model.register_parameter("offset", nn.Parameter(tg.zeros(1)))
    assert list(model.state_dict())[:3] == ["scale", "offset", "running_mean"]


def test_train_and_eval_reach_every_submodule():
    model = build(tg)
    assert model.eval() is model and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_linear_starts_from_pytorchs_rule_drawn_from_the_default_generator():
    tg.manual_seed(5)
    a = nn.Linear(400, 300)
    tg.manual_seed(5)
    b = nn.Linear(400, 300)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)   # the default generator, reproducible
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    c = nn.Linear(400, 300)
    assert not np.array_equal(a.weight.data, c.weight.data)
    bound = 1 / np.sqrt(400)
    for values in (a.weight.data, a.bias.data):
        assert values.dtype == np.float32 and np.all(np.abs(values) <= bound)
        assert values.max() > 0.98 * bound and values.min() < -0.98 * bound
    np.testing.assert_allclose(a.weight.data.std(), bound / np.sqrt(3), rtol=0.01)
    a.bias.data[:] = 0
    a.reset_parameters()
    assert np.abs(a.bias.data).max() > 0.9 * bound                  # reset_parameters draws again


def test_linear_start_has_torchs_distribution():
    torch = torch_module()
    torch.manual_seed(0)
    theirs = torch.nn.Linear(500, 200).weight.detach().numpy()
    ours = nn.Linear(500, 200).weight.data
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):                           # both U(+-1/sqrt(500))
        assert abs(np.quantile(ours, q) - np.quantile(theirs, q)) < 0.02 / np.sqrt(500) * 10
    assert abs(ours.max() - theirs.max()) < 1e-3 and abs(ours.min() - theirs.min()) < 1e-3


def test_linear_takes_torchs_dtype_and_device_arguments():
    assert nn.Linear(2, 3, dtype=tg.float64).weight.dtype == np.float64
    tg.set_default_dtype(tg.float64)
    try:
        assert nn.Linear(2, 3).bias.dtype == np.float64
    finally:
        tg.set_default_dtype(tg.float32)
    assert nn.Linear(2, 3, device="cpu").weight.dtype == np.float32
    with pytest.raises(Exception, match="cuda"):
        nn.Linear(2, 3, device="cuda")
    with pytest.raises(TypeError, match="floating"):
        nn.Linear(2, 3, dtype=tg.int64)


def test_repr_of_nested_containers_is_torchs():
    torch = torch_module()

    def tree(t):
        return t.nn.Sequential(t.nn.Linear(2, 3), t.nn.Sequential(t.nn.Tanh(), t.nn.Linear(3, 1, bias=False)),
                               t.nn.ModuleList([t.nn.Identity(), t.nn.Flatten()]),
                               t.nn.ModuleList([t.nn.Linear(2, 2) for _ in range(3)] + [t.nn.ReLU()]), t.nn.ModuleList(),
                               t.nn.ModuleDict({"out": t.nn.Unflatten(1, (1, 1))}))
    assert repr(tree(tg)) == repr(tree(torch))
