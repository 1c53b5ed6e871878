"""tg.VAE (models/vae.py): the architecture and state dict of pytorch/examples' vae/main.py, the negative ELBO
against numpy and PyTorch, the KL closed form (reference.py) against autodiff, Monte Carlo and central
differences, the reparameterization gradient with eps fixed, fit through the one loop, and its errors."""
import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor
from tinygrad_ae.models import reference
from tinygrad_ae.models.vae import VAE, gaussian_kl
from tinygrad_ae.data import load_digits

from helpers import central_differences, close

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch; pip install torch to run it")

NAMES = ["fc1.weight", "fc1.bias", "fc21.weight", "fc21.bias", "fc22.weight", "fc22.bias",
         "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"]


def digits(n=200):
    return load_digits()[0][:n].astype(np.float64)


def softplus(a):
    return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))


def numpy_negative_elbo(state, X, eps):
    """The negative ELBO written out in numpy from a state dict: (reconstruction, kl), means over rows."""
    relu = lambda a: np.maximum(a, 0)   # noqa: E731
    lin = lambda name, a: a @ state[f"{name}.weight"].T + state[f"{name}.bias"]   # noqa: E731
    h = relu(lin("fc1", X))
    mu, logvar = lin("fc21", h), lin("fc22", h)
    z = reference.reparameterize(mu, logvar, eps)
    a = lin("fc4", relu(lin("fc3", z)))
    return float(np.sum(softplus(a) - X * a) / len(X)), reference.vae_kl(mu, logvar)


def test_state_dict_is_pytorch_examples_in_order_and_shape():
    vae = VAE(784, seed=0)
    shapes = {k: v.shape for k, v in vae.state_dict().items()}
    assert list(shapes) == NAMES
    assert shapes == {"fc1.weight": (400, 784), "fc1.bias": (400,), "fc21.weight": (20, 400), "fc21.bias": (20,),
                      "fc22.weight": (20, 400), "fc22.bias": (20,), "fc3.weight": (400, 20), "fc3.bias": (400,),
                      "fc4.weight": (784, 400), "fc4.bias": (784,)}
    assert all(v.dtype == np.float32 for v in vae.state_dict().values())
    bound = 1 / np.sqrt(784)            # nn.Linear's start, as in PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.abs(vae.fc1.weight.numpy()).max() <= bound and np.abs(vae.fc1.weight.numpy()).max() > 0.9 * bound


def test_encode_decode_forward_and_sample():
    vae = VAE(64, 32, 3, dtype=np.float64, seed=1)
    X = digits(10)
    mu, logvar = vae.encode(X)
    assert mu.shape == logvar.shape == (10, 3)
    eps = np.random.default_rng(0).standard_normal((10, 3))
    z = vae.reparameterize(mu, logvar, eps)
    assert np.allclose(z.numpy(), mu.numpy() + np.exp(logvar.numpy() / 2) * eps)
    x_hat, mu2, logvar2 = vae(X, eps)
    assert np.array_equal(mu2.numpy(), mu.numpy()) and np.array_equal(x_hat.numpy(), vae.decode(z).numpy())
    assert x_hat.shape == (10, 64) and (x_hat.numpy() > 0).all() and (x_hat.numpy() < 1).all()
    draws = vae.sample(5, generator=np.random.default_rng(3))
    again = vae.sample(5, generator=np.random.default_rng(3))
    assert draws.shape == (5, 64) and np.array_equal(draws.numpy(), again.numpy()) and not draws.requires_grad
    assert not np.array_equal(vae.sample(5).numpy(), vae.sample(5).numpy())    # the model's generator moves on


def test_loss_is_the_negative_elbo_written_out_in_numpy():
    vae = VAE(64, 32, 4, dtype=np.float64, seed=2)
    X = digits(50)
    eps = np.random.default_rng(1).standard_normal((50, 4))
    terms = vae.loss_terms(X, eps)
    reconstruction, kl = numpy_negative_elbo(vae.state_dict(), X, eps)
    assert close(terms["reconstruction"].item(), reconstruction) and close(terms["kl"].item(), kl)
    assert close(vae.loss(X, eps).item(), reconstruction + kl)
    assert kl > 0


def test_eps_comes_from_the_models_generator():
    a, b = VAE(64, 16, 2, seed=5), VAE(64, 16, 2, seed=5)
    X = digits(20)
    first = a.loss(X).item()
    assert first == b.loss(X).item()            # the same seed: the same weights and the same draw
    assert a.loss(X).item() != first            # the generator has moved on: another eps


def test_kl_closed_form_and_its_gradient_against_autodiff_and_central_differences():
    rng = np.random.default_rng(0)
    mu, logvar = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    m, lv = Tensor(mu.copy(), requires_grad=True), Tensor(logvar.copy(), requires_grad=True)
    kl = gaussian_kl(m, lv)
    kl.backward()
    assert close(kl.item(), reference.vae_kl(mu, logvar))
    grads = reference.vae_kl_grads(mu, logvar)
    assert close(m.grad, grads["mu"]) and close(lv.grad, grads["logvar"])
    numeric = central_differences(lambda: reference.vae_kl(mu, logvar), [mu, logvar])
    assert close(grads["mu"], numeric[0], 1e-7) and close(grads["logvar"], numeric[1], 1e-7)


def test_kl_closed_form_equals_a_monte_carlo_estimate():
    """E_q[log q(z) - log p(z)] by sampling, one row: the closed form is the expectation it estimates."""
    mu, logvar = np.array([[0.7, -1.2]]), np.array([[-0.5, 0.8]])
    eps = np.random.default_rng(4).standard_normal((200_000, 2))
    z = reference.reparameterize(mu, logvar, eps)
    log_q = -0.5 * np.sum(eps ** 2 + logvar + np.log(2 * np.pi), axis=1)
    log_p = -0.5 * np.sum(z ** 2 + np.log(2 * np.pi), axis=1)
    estimate, spread = np.mean(log_q - log_p), np.std(log_q - log_p) / np.sqrt(len(eps))
    assert abs(estimate - reference.vae_kl(mu, logvar)) < 4 * spread


def test_reparameterization_gradient_equals_central_differences_with_eps_fixed():
    vae = VAE(6, 5, 2, dtype=np.float64, seed=3)
    X = np.random.default_rng(2).random((4, 6))
    eps = np.random.default_rng(3).standard_normal((4, 2))
    vae.zero_grad()
    vae.loss(X, eps).backward()
    params = [p for _, p in vae.named_parameters()]
    arrays = [p.data for p in params]           # central differences change these in place, and restore them
    numeric = central_differences(lambda: vae.loss(X, eps).item(), arrays)
    for (name, p), g in zip(vae.named_parameters(), numeric):
        assert close(p.grad, g, 1e-6), name
    # and the gradient with respect to mu and logvar is the chain through z = mu + exp(logvar / 2) eps
    mu, logvar = (t.detach().requires_grad_() for t in vae.encode(X))
    z = vae.reparameterize(mu, logvar, eps)
    z.sum().backward()
    assert close(mu.grad, np.ones_like(eps)) and close(logvar.grad, eps * np.exp(logvar.numpy() / 2) / 2)


@needs_torch
def test_state_dict_loads_into_pytorch_examples_network_with_the_same_loss_and_gradients():
    import torch.nn.functional as TF

    class TorchVAE(torch.nn.Module):           # pytorch/examples vae/main.py, sizes as parameters
        def __init__(self, n, hidden, latent):
            super().__init__()
            self.fc1 = torch.nn.Linear(n, hidden)
            self.fc21 = torch.nn.Linear(hidden, latent)
            self.fc22 = torch.nn.Linear(hidden, latent)
            self.fc3 = torch.nn.Linear(latent, hidden)
            self.fc4 = torch.nn.Linear(hidden, n)

        def forward(self, x, eps):
            h1 = TF.relu(self.fc1(x))
            mu, logvar = self.fc21(h1), self.fc22(h1)
            z = mu + eps * torch.exp(0.5 * logvar)
            return torch.sigmoid(self.fc4(TF.relu(self.fc3(z)))), mu, logvar

    vae = VAE(64, 40, 5, dtype=np.float64, seed=7)
    net = TorchVAE(64, 40, 5).double()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in vae.state_dict().items()})
    X = digits(30)
    eps = np.random.default_rng(8).standard_normal((30, 5))
    recon, mu, logvar = net(torch.from_numpy(X), torch.from_numpy(eps))
    bce = TF.binary_cross_entropy(recon, torch.from_numpy(X), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    expected = (bce + kld) / len(X)             # the example's loss_function, as a mean over rows
    expected.backward()
    loss = vae.loss(X, eps)
    loss.backward()
    assert close(loss.item(), expected.item(), 1e-9)
    for name, p in vae.named_parameters():
        assert close(p.grad, dict(net.named_parameters())[name].grad.numpy(), 1e-8), name


def test_fit_records_both_terms_calls_its_hooks_and_compiled_equals_eager():
    X = digits(300)
    histories, weights = [], []
    for compile_ in (True, False):
        vae = VAE(64, 32, 2, seed=0)
        steps, epochs = [], []
        history = vae.fit(X, epochs=3, batch_size=64, X_val=X[:50], seed=1, compile=compile_,
                          on_step=lambda e, i, loss: steps.append((e, i)),
                          callback=lambda e, h: epochs.append(e))
        histories.append(history)
        weights.append(vae.state_dict())
        assert len(steps) == 3 * 5 and epochs == [0, 1, 2]
    history = histories[0]
    assert set(history) == {"train", "val", "seconds", "reconstruction", "kl"}
    assert all(len(v) == 3 for v in history.values())
    assert history["train"][-1] < history["train"][0]
    assert np.allclose(history["train"], np.add(history["reconstruction"], history["kl"]))
    for key in ("train", "val", "reconstruction", "kl"):
        assert histories[0][key] == histories[1][key], key
    for key in NAMES:
        assert np.array_equal(weights[0][key], weights[1][key]), key


def test_evaluation_neither_moves_the_generator_nor_changes_between_calls():
    vae = VAE(64, 16, 2, seed=0)
    X = vae.check_data(digits(100))
    state = vae.generator.bit_generator.state
    assert vae.evaluate(X) == vae.evaluate(X)
    assert vae.generator.bit_generator.state == state
    terms = vae.evaluate_terms(X)
    assert np.isclose(terms["objective"], terms["reconstruction"] + terms["kl"])


def test_fit_stops_early_and_raises_training_diverged():
    X = digits(128)
    vae = VAE(64, 16, 2, seed=0)
    history = vae.fit(X, epochs=5, batch_size=64, callback=lambda e, h: e < 1)
    assert len(history["train"]) == 2
    with pytest.raises(tg.TrainingDiverged, match="learning rate"):
        VAE(64, 16, 2, seed=0).fit(X * 0 + 1, epochs=3, batch_size=64, lr=1e6, optimizer="sgd")


@pytest.mark.parametrize("kwargs, match", [
    ({"n_latent": 0}, "n_latent must be a positive whole number.*at least one dimension"),
    ({"n_hidden": -3}, "n_hidden must be a positive whole number"),
    ({"n_latent": 2.5}, "n_latent"),
])
def test_bad_sizes_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=f"VAE: {match}"):
        VAE(64, **kwargs)


def test_bad_data_and_eps_are_refused_with_what_to_do():
    vae = VAE(64, 16, 2, seed=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vae.loss(digits(5) * 3)
    with pytest.raises(ValueError, match="expected 64"):
        vae.fit(np.zeros((5, 10)))
    with pytest.raises(ValueError, match=r"VAE: eps must have the shape of mu, \(5, 2\)"):
        vae.loss(digits(5), eps=np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"VAE.decode: z must have shape \(rows, 2\)"):
        vae.decode(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="VAE.sample: n must be a positive"):
        vae.sample(0)


# ---------------------------------------------------------------- the train job: --model vae

def train_job(args, on_batch=None):
    from tinygrad_ae import cli
    from tinygrad_ae.training import job
    return job.run_job(cli.parse_train_args(args), on_batch=on_batch)


VAE_RUN = ["--model", "vae", "--hidden", "32", "--latent", "2", "--batch-size", "256", "--lr", "0.003"]


def test_train_vae_writes_its_files_and_an_interrupted_run_resumes_exactly(tmp_path, capsys):
    import importlib.util
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train_job([*VAE_RUN, "--epochs", "3", "--out", str(straight)]) == 0
    text = capsys.readouterr().out
    assert "training VAE(n_inputs=64, n_hidden=32, n_latent=2" in text and "negative ELBO" in text
    header = (straight / "history.csv").read_text().splitlines()[0]
    assert header == "epoch,train_loss,val_loss,seconds,reconstruction,kl"
    pictures = ["samples.png", "latent.png", "reconstructions.png", "loss.png"]
    if importlib.util.find_spec("matplotlib") is not None:
        assert all((straight / name).stat().st_size > 1000 for name in pictures)
        assert "filters.png" not in text and not (straight / "filters.png").exists()

    def interrupt_in_epoch_2(epoch, batch, loss):
        if epoch == 2 and batch == 2:
            raise KeyboardInterrupt
    assert train_job([*VAE_RUN, "--epochs", "3", "--out", str(split)], on_batch=interrupt_in_epoch_2) == 130
    assert train_job(["--resume", str(split / "checkpoint.npz")]) == 0       # eps goes on where it stopped
    a, b = tg.load(straight / "model.npz"), tg.load(split / "model.npz")
    assert list(a) == NAMES
    for key in NAMES:
        assert np.array_equal(a[key], b[key]), key
    assert (straight / "history.csv").read_text().split("\n")[1].split(",")[:3] == \
        (split / "history.csv").read_text().split("\n")[1].split(",")[:3]


def test_train_vae_refuses_options_that_belong_to_the_autoencoder(tmp_path, capsys):
    assert train_job(["--model", "vae", "--tied", "--out", str(tmp_path / "o")]) == 2
    assert "--tied: not an option of --model vae" in capsys.readouterr().err
    assert train_job(["--model", "vae", "--latent", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--latent must be a positive whole number" in capsys.readouterr().err
    assert train_job(["--latent", "2", "--out", str(tmp_path / "o")]) == 2
    assert "--latent 2: not an option of --model autoencoder" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_train_vae_without_matplotlib_says_which_pictures_it_skipped(tmp_path, monkeypatch, capsys):
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    out = tmp_path / "o"
    assert train_job([*VAE_RUN, "--epochs", "1", "--out", str(out)]) == 0
    assert "skipped samples.png, latent.png, reconstructions.png, loss.png: matplotlib is not installed" in \
        capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"model.npz", "history.csv", "checkpoint.npz"}
