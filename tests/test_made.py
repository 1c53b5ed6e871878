"""tg.MADE (models/made.py) and nn.MaskedLinear (nn/masked.py): the autoregressive property through the
Jacobian, the paper's masks, a normalized density, ancestral samples with the model's frequencies, the loss
against numpy, fit through the one loop, PyTorch's MADE (Karpathy's pytorch-made layout) and the errors."""
import itertools

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor, nn
from tinygrad_ae.models.made import MADE, masks
from tinygrad_ae.data import load_digits

from helpers import close

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch; pip install torch to run it")


def binary_digits(n=300):
    return (load_digits()[0][:n] >= 0.5).astype(np.float64)


@pytest.mark.parametrize("hidden", [(30,), (20, 25), 12])
def test_the_jacobian_is_strictly_lower_triangular(hidden):
    made = MADE(8, hidden, seed=0, dtype=np.float64)
    x = np.random.default_rng(0).random(8)          # any point: the structure holds everywhere
    J = tg.autograd.jacobian(lambda v: made(v.reshape(1, 8)).reshape(8), Tensor(x)).numpy()
    assert J.shape == (8, 8)
    assert np.all(np.triu(J) == 0)                  # output i depends on no input j >= i
    assert np.any(np.tril(J, -1) != 0)              # and it does depend on earlier ones


def test_masks_follow_the_papers_construction():
    rng = np.random.default_rng(3)
    layer_masks, degrees = masks(6, (40, 30), rng)
    assert [m.shape for m in layer_masks] == [(40, 6), (30, 40), (6, 30)]
    assert np.array_equal(degrees[0], np.arange(1, 7))
    for prev, d, m in zip(degrees, degrees[1:], layer_masks):
        assert d.min() >= prev.min() and d.max() <= 5                  # degrees in {min previous, ..., D - 1}
        assert np.array_equal(m, (d[:, None] >= prev[None, :]).astype(float))
    assert np.array_equal(layer_masks[-1], (degrees[0][:, None] > degrees[-1][None, :]).astype(float))
    # the product of the masks says which input reaches which output: strictly the earlier ones
    reach = layer_masks[2] @ layer_masks[1] @ layer_masks[0]
    assert np.all(np.triu(reach) == 0) and np.all(reach[1:, 0] > 0)


def test_the_degrees_come_from_the_models_generator():
    a, b, c = MADE(10, (16,), seed=4), MADE(10, (16,), seed=4), MADE(10, (16,), seed=5)
    assert np.array_equal(a.degrees[1], b.degrees[1]) and not np.array_equal(a.degrees[1], c.degrees[1])
    assert list(a.state_dict()) == ["net.0.weight", "net.0.bias", "net.0.mask", "net.2.weight", "net.2.bias",
                                    "net.2.mask"]
    assert np.array_equal(a.net[0].mask.numpy(), masks(10, (16,), np.random.default_rng(4))[0][0])


def test_the_density_sums_to_one_over_every_binary_vector_and_the_loss_is_its_nll():
    made = MADE(4, (10, 10), seed=1, dtype=np.float64)
    with tg.no_grad():      # push the weights away from their start, so that p is far from uniform
        for p in made.parameters():
            p.data *= 8
    every = np.array(list(itertools.product((0.0, 1.0), repeat=4)))
    log_p = made.log_prob(every)
    assert np.isclose(np.exp(log_p).sum(), 1.0, rtol=1e-12)
    assert np.exp(log_p).max() > 3 / 16                 # not the uniform density
    assert close(made.loss(every).item(), -log_p.mean())
    a = made(every).numpy()
    assert close(made.loss(every).item(), np.mean(np.sum(np.logaddexp(0, a) - every * a, axis=1)))


def test_samples_come_with_the_models_frequencies():
    made = MADE(3, (12,), seed=2, dtype=np.float64)
    with tg.no_grad():
        for p in made.parameters():
            p.data *= 6
    draws = made.sample(20_000, generator=np.random.default_rng(0)).numpy()
    assert set(np.unique(draws)) <= {0.0, 1.0}
    every = np.array(list(itertools.product((0.0, 1.0), repeat=3)))
    expected = np.exp(made.log_prob(every))
    counts = np.array([np.all(draws == v, axis=1).sum() for v in every])
    spread = np.sqrt(20_000 * expected * (1 - expected))
    assert np.all(np.abs(counts - 20_000 * expected) < 5 * spread + 1)
    first, again = (made.sample(50, generator=np.random.default_rng(1)).numpy() for _ in range(2))
    assert np.array_equal(first, again)                 # the same generator: the same draws


def test_fit_lowers_the_nll_and_compiled_equals_eager():
    X = binary_digits(300)
    runs = []
    for compile_ in (True, False):
        made = MADE(64, (50,), seed=0)
        history = made.fit(X, epochs=3, batch_size=64, X_val=X[:60], seed=0, compile=compile_)
        runs.append((history, made.state_dict()))
    history = runs[0][0]
    assert set(history) == {"train", "val", "seconds"} and len(history["train"]) == 3
    assert history["train"][-1] < history["train"][0] < 64 * np.log(2) + 1
    assert runs[0][0]["train"] == runs[1][0]["train"] and runs[0][0]["val"] == runs[1][0]["val"]
    for key, value in runs[0][1].items():
        assert np.array_equal(value, runs[1][1][key]), key
    assert np.isclose(made.evaluate(X[:60]), -made.log_prob(X[:60]).mean(), rtol=1e-5)


def test_masked_weights_get_no_gradient_and_the_mask_is_state():
    mask = np.tril(np.ones((3, 4)))
    layer = nn.MaskedLinear(4, 3, mask=mask, dtype=np.float64, rng=0)
    x = np.random.default_rng(0).standard_normal((5, 4))
    y = layer(x)
    assert close(y.numpy(), x @ (layer.weight.numpy() * mask).T + layer.bias.numpy())
    y.sum().backward()
    assert np.all(layer.weight.grad[mask == 0] == 0) and np.all(layer.weight.grad[mask == 1] != 0)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert list(layer.state_dict()) == ["weight", "bias", "mask"]
    assert np.array_equal(nn.MaskedLinear(4, 3).mask.numpy(), np.ones((3, 4)))


@needs_torch
def test_a_made_state_dict_loads_into_pytorch_made_with_the_same_logits_and_loss():
    class TorchMaskedLinear(torch.nn.Linear):   # Karpathy's pytorch-made layer
        def __init__(self, n_in, n_out):
            super().__init__(n_in, n_out)
            self.register_buffer("mask", torch.ones(n_out, n_in))

        def forward(self, x):
            return torch.nn.functional.linear(x, self.mask * self.weight, self.bias)

    class TorchMADE(torch.nn.Module):           # its MADE: masked layers and ReLUs in one Sequential, `net`
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(TorchMaskedLinear(10, 16), torch.nn.ReLU(), TorchMaskedLinear(16, 12),
                                           torch.nn.ReLU(), TorchMaskedLinear(12, 10))

        def forward(self, x):
            return self.net(x)

    made = MADE(10, (16, 12), seed=3, dtype=np.float64)
    net = TorchMADE().double()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in made.state_dict().items()})    # names as they are
    X = (np.random.default_rng(1).random((20, 10)) < 0.4).astype(np.float64)
    logits = net(torch.from_numpy(X))
    assert close(made(X).numpy(), logits.detach().numpy(), 1e-12)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(X), reduction="sum")
    assert close(made.loss(X).item(), expected.item() / len(X), 1e-12)


def test_non_binary_data_is_refused_with_what_to_do():
    made = MADE(64, (20,), seed=0)
    X = load_digits()[0][:10]
    for call in (lambda: made.loss(X), lambda: made.fit(X, epochs=1), lambda: made.log_prob(X)):
        with pytest.raises(ValueError, match=r"MADE: .* must be binary \(every value 0 or 1\).*--binarize"):
            call()


@pytest.mark.parametrize("args, match", [
    ((1,), "n_inputs must be a whole number >= 2"), ((0,), "n_inputs"), ((8, ()), "n_hidden must be"),
    ((8, (10, 0)), "n_hidden must be"), ((8, "500"), "n_hidden must be"),
])
def test_bad_sizes_are_refused(args, match):
    with pytest.raises(ValueError, match=f"MADE: {match}"):
        MADE(*args)


def test_bad_masks_and_sample_sizes_are_refused():
    with pytest.raises(ValueError, match=r"MaskedLinear.set_mask: the mask must have the weight's shape \(3, 4\)"):
        nn.MaskedLinear(4, 3, mask=np.ones((4, 3)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        nn.MaskedLinear(4, 3, mask=np.full((3, 4), 0.5))
    with pytest.raises(ValueError, match="MADE.sample: n must be a positive"):
        MADE(4, 8).sample(-1)


# ---------------------------------------------------------------- the train job: --model made

def train_job(args, on_batch=None):
    from tinygrad_ae import cli
    from tinygrad_ae.training import job
    return job.run_job(cli.parse_train_args(args), on_batch=on_batch)


MADE_RUN = ["--model", "made", "--binarize", "--hidden", "40", "--batch-size", "256", "--lr", "0.003"]


def test_train_made_writes_its_files_and_an_interrupted_run_resumes_exactly(tmp_path, capsys):
    import importlib.util
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train_job([*MADE_RUN, "--epochs", "3", "--out", str(straight)]) == 0
    text = capsys.readouterr().out
    assert "training MADE(n_inputs=64, n_hidden=(40,)" in text and "negative log-likelihood" in text
    assert "bits per feature" in text
    if importlib.util.find_spec("matplotlib") is not None:
        assert all((straight / name).stat().st_size > 1000 for name in ("samples.png", "loss.png"))
        assert not (straight / "reconstructions.png").exists()
    assert train_job([*MADE_RUN, "--epochs", "1", "--out", str(split)]) == 0
    assert train_job(["--resume", str(split / "checkpoint.npz"), "--epochs", "3"]) == 0
    a, b = tg.load(straight / "model.npz"), tg.load(split / "model.npz")
    assert list(a) == ["net.0.weight", "net.0.bias", "net.0.mask", "net.2.weight", "net.2.bias", "net.2.mask"]
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    made = MADE(64, (40,), seed=0)
    made.load_state_dict(a)
    X = (load_digits()[0] >= 0.5).astype(np.float32)
    assert np.all(np.triu(tg.autograd.jacobian(lambda v: made(v.reshape(1, 64)).reshape(64),
                                               Tensor(X[0])).numpy()) == 0)


def test_train_made_on_data_that_are_not_binary_says_to_binarize(tmp_path, capsys):
    assert train_job(["--model", "made", "--epochs", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "must be binary" in err and "--binarize" in err and "Traceback" not in err
    assert train_job(["--model", "made", "--binarize", "--noise", "mask:0.3", "--out", str(tmp_path / "p")]) == 2
    assert "--noise mask:0.3: not an option of --model made" in capsys.readouterr().err
