"""tg.ConvAutoencoder (models/conv_autoencoder.py): its architecture (shapes, torch's state-dict names, every
image size coming back whole), the loss against numpy and its gradient against central differences, the
same network in PyTorch loaded with its state dict (float64; skipped without torch), fit through the one
loop (lower loss on the digits, hooks, divergence, compiled = eager bit for bit), its errors, and the
experiment runner examples/conv_fashion_mnist.py --quick."""
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor
from tinygrad_ae.data import load_digits, train_val_split

from helpers import central_differences, close

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch; pip install torch to run it")

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias", "encoder.5.weight",
         "encoder.5.bias", "decoder.0.weight", "decoder.0.bias", "decoder.3.weight", "decoder.3.bias",
         "decoder.5.weight", "decoder.5.bias"]


def digits(n=None):
    X = load_digits()[0]
    return X if n is None else X[:n]


def softplus(a):
    return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))


# ---------------------------------------------------------------- architecture

def test_state_dict_has_torchs_names_and_shapes_for_28x28():
    model = tg.ConvAutoencoder((28, 28), code_size=30, seed=0)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert list(shapes) == NAMES
    assert shapes == {"encoder.0.weight": (16, 1, 3, 3), "encoder.0.bias": (16,), "encoder.2.weight": (32, 16, 3, 3),
                      "encoder.2.bias": (32,), "encoder.5.weight": (30, 32 * 7 * 7), "encoder.5.bias": (30,),
                      "decoder.0.weight": (32 * 7 * 7, 30), "decoder.0.bias": (32 * 7 * 7,),
                      "decoder.3.weight": (32, 16, 3, 3), "decoder.3.bias": (16,),
                      "decoder.5.weight": (16, 1, 3, 3), "decoder.5.bias": (1,)}
    assert all(v.dtype == np.float32 for v in model.state_dict().values())
    assert model.decoder[3].output_padding == (1, 1) and model.decoder[5].output_padding == (1, 1)
    assert "ConvAutoencoder(image_shape=(28, 28), code_size=30" in repr(model)


@pytest.mark.parametrize("shape", [(8, 8), (28, 28), (7, 10), (5, 3), (1, 1)])
@pytest.mark.parametrize("code_size", [4, None])
def test_every_image_size_comes_back_whole(shape, code_size):
    model = tg.ConvAutoencoder(shape, code_size=code_size, channels=(2, 3), seed=1)
    X = np.random.default_rng(0).random((3, shape[0] * shape[1]), dtype=np.float32)
    h = model.encode(X)
    sides = [((s - 1) // 2 + 1 - 1) // 2 + 1 for s in shape]
    assert h.shape == ((3, code_size) if code_size else (3, 3, *sides))
    assert model.decode(h).shape == (3, 1, *shape)
    assert model(X).shape == (3, shape[0] * shape[1])                   # rows in, rows out
    images = X.reshape(3, 1, *shape)
    assert model(images).shape == (3, 1, *shape)                         # images in, images out
    assert np.array_equal(model(images).numpy().reshape(3, -1), model(X).numpy())
    assert np.all((model(X).numpy() > 0) & (model(X).numpy() < 1))      # the sigmoid output


def test_seed_fixes_the_weights_and_none_follows_manual_seed():
    a, b, c = (tg.ConvAutoencoder((8, 8), 16, seed=s).state_dict() for s in (3, 3, 4))
    assert all(np.array_equal(a[k], b[k]) for k in NAMES)
    assert not np.array_equal(a["encoder.0.weight"], c["encoder.0.weight"])
    tg.manual_seed(5)
    d = tg.ConvAutoencoder((8, 8), 16).state_dict()
    tg.manual_seed(5)
    e = tg.ConvAutoencoder((8, 8), 16).state_dict()
    assert all(np.array_equal(d[k], e[k]) for k in NAMES)


# ---------------------------------------------------------------- the objective

def tiny(decoder, seed=0):
    return tg.ConvAutoencoder((5, 6), code_size=3, channels=(2, 3), decoder=decoder, dtype=np.float64, seed=seed)


@pytest.mark.parametrize("decoder", ["sigmoid", "linear"])
def test_loss_is_the_lecture_term_written_out_and_its_gradient_central_differences(decoder):
    model = tiny(decoder)
    X = np.random.default_rng(1).random((4, 30))
    with tg.no_grad():
        a = model.decode_logits(model.encode(X)).numpy().reshape(4, 30)
    expected = (softplus(a) - X * a).sum() / 4 if decoder == "sigmoid" else ((a - X) ** 2).sum() / 4
    loss = model.loss(X)
    assert model.loss_name == ("bce" if decoder == "sigmoid" else "mse")
    assert close(loss.item(), expected, 1e-12)
    loss.backward()
    params = [p for _, p in model.named_parameters()]
    numeric = central_differences(lambda: model.loss(X).item(), [p.data for p in params])
    for (name, p), g in zip(model.named_parameters(), numeric):
        assert close(p.grad, g, 1e-6), name


def test_squared_error_is_per_image_whatever_the_loss():
    model = tiny("sigmoid")
    X = np.random.default_rng(2).random((7, 30))
    with tg.no_grad():
        x_hat = model(X).numpy()
    assert close(model.squared_error(X, batch_size=3), ((x_hat - X) ** 2).sum() / 7, 1e-12)
    assert model.squared_error(X) > 0


@needs_torch
@pytest.mark.parametrize("decoder, code_size", [("sigmoid", 10), ("linear", 10), ("sigmoid", None)])
def test_state_dict_loads_into_the_same_torch_network_with_the_same_outputs_and_gradients(decoder, code_size):
    import torch.nn as tnn
    import torch.nn.functional as TF
    model = tg.ConvAutoencoder((8, 8), code_size=code_size, decoder=decoder, dtype=np.float64, seed=3)
    down = [tnn.Conv2d(1, 16, 3, 2, 1), tnn.ReLU(), tnn.Conv2d(16, 32, 3, 2, 1), tnn.ReLU()]
    up = [tnn.ConvTranspose2d(32, 16, 3, 2, 1, output_padding=1), tnn.ReLU(),
          tnn.ConvTranspose2d(16, 1, 3, 2, 1, output_padding=1)]
    if code_size:
        down += [tnn.Flatten(), tnn.Linear(128, code_size)]
        up = [tnn.Linear(code_size, 128), tnn.ReLU(), tnn.Unflatten(1, (32, 2, 2))] + up
    encoder, decoder_net = tnn.Sequential(*down).double(), tnn.Sequential(*up).double()
    net = tnn.ModuleDict({"encoder": encoder, "decoder": decoder_net})
    net.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    X = digits(20).astype(np.float64)
    x = torch.from_numpy(X.reshape(20, 1, 8, 8))
    logits = decoder_net(encoder(x))
    if decoder == "sigmoid":
        out, expected = torch.sigmoid(logits), TF.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 20
    else:
        out, expected = logits, TF.mse_loss(logits, x, reduction="sum") / 20
    expected.backward()
    assert close(model.encode(X).detach().numpy(), encoder(x).detach().numpy(), 1e-12)
    assert close(model(X.reshape(20, 1, 8, 8)).detach().numpy(), out.detach().numpy(), 1e-12)
    loss = model.loss(X)
    loss.backward()
    assert close(loss.item(), expected.item(), 1e-12)
    torch_params = dict(net.named_parameters())
    for name, p in model.named_parameters():
        assert close(p.grad, torch_params[name].grad.numpy(), 1e-10), name


# ---------------------------------------------------------------- training

def test_fit_lowers_the_loss_on_the_digits_below_the_mean_image():
    X_train, X_test = train_val_split(digits(), 0.2, 0)
    model = tg.ConvAutoencoder((8, 8), code_size=16, decoder="linear", seed=0)
    history = model.fit(X_train, epochs=4, batch_size=32, lr=3e-3, seed=0, X_val=X_test, compile=False)
    assert set(history) == {"train", "val", "seconds"} and len(history["val"]) == 4
    assert history["train"][-1] < 0.5 * history["train"][0]
    mean_image = ((X_test - X_train.mean(axis=0)) ** 2).sum(axis=1).mean()
    assert history["val"][-1] < 0.5 * mean_image           # far better than the best constant guess
    assert close(model.evaluate(X_test), history["val"][-1], 1e-6)
    assert close(model.squared_error(X_test), history["val"][-1], 1e-5)     # mse: the same number


def test_compiled_steps_replay_and_equal_the_eager_steps_bit_for_bit():
    # tg.compile's numpy program is bit for bit the eager step (the fused backend only to float tolerance):
    # the same batches, eager and captured-then-replayed, from the same start
    X = digits(300)
    models = [tg.ConvAutoencoder((8, 8), code_size=8, seed=2) for _ in range(2)]
    steps = [m.training_step(tg.optim.Adam(m.parameters(), lr=1e-3), compile=False) for m in models]
    steps[1] = tg.compile(steps[1], backend="numpy")
    batches = [models[0].check_data(X[i:i + 64]) for i in (0, 64, 128, 192, 256, 0, 64)]   # the last one smaller
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a capture that falls back to eager would warn
        for batch in batches:
            eager, compiled = (step(Tensor(batch)).item() for step in steps)
            assert eager == compiled
    assert steps[1].program is not None         # captured, and replayed
    a, b = (m.state_dict() for m in models)
    for key in NAMES:
        assert np.array_equal(a[key], b[key]), key
    for (name, p), (_, q) in zip(*(m.named_parameters() for m in models)):
        assert np.array_equal(p.grad, q.grad), name


def test_fit_calls_its_hooks_and_continues_a_history():
    X = digits(300)
    model = tg.ConvAutoencoder((8, 8), code_size=8, seed=2)
    steps, epochs = [], []
    history = model.fit(X, epochs=2, batch_size=64, seed=1, X_val=X[:50], compile=False,
                        on_step=lambda e, i, loss: steps.append((e, i)), callback=lambda e, h: epochs.append(e))
    assert steps == [(e, i) for e in range(2) for i in range(5)] and epochs == [0, 1]
    history = model.fit(X, epochs=1, batch_size=64, seed=1, history=history, compile=False,
                        callback=lambda e, h: epochs.append(e))
    assert epochs == [0, 1, 2] and len(history["train"]) == len(history["seconds"]) == 3


def test_fit_stops_early_and_raises_training_diverged():
    X = digits(128)
    model = tg.ConvAutoencoder((8, 8), code_size=8, decoder="linear", seed=0)
    assert len(model.fit(X, epochs=5, batch_size=64, callback=lambda e, h: e < 1, compile=False)["train"]) == 2
    with pytest.raises(tg.TrainingDiverged, match="learning rate"):
        tg.ConvAutoencoder((8, 8), code_size=8, decoder="linear", seed=0).fit(
            X, epochs=3, batch_size=64, lr=1e8, optimizer="sgd", compile=False)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("kwargs, error, match", [
    ({"image_shape": (28,)}, ValueError, r"image_shape \(height, width\) must be 2 positive whole numbers"),
    ({"image_shape": (0, 8)}, ValueError, "image_shape"),
    ({"code_size": 0}, ValueError, "code_size must be"),
    ({"channels": ()}, ValueError, "channels"),
    ({"channels": (16, 2.5)}, ValueError, "channels"),
    ({"decoder": "relu"}, ValueError, "decoder must be one of"),
    ({"decoder": "linear", "loss": "bce"}, ValueError, "loss='bce' needs decoder='sigmoid'"),
    ({"dtype": np.int64}, TypeError, "dtype must be a floating type"),
])
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=f"ConvAutoencoder: {match}"):
        tg.ConvAutoencoder(**{"image_shape": (8, 8), **kwargs})


def test_wrong_image_shapes_name_the_shape_expected():
    model = tg.ConvAutoencoder((8, 8), code_size=4, seed=0)
    expected = r"images of shape \(N, 1, 8, 8\) or rows of 64 pixels, shape \(N, 64\)"
    with pytest.raises(ValueError, match=f"ConvAutoencoder: x must be {expected}, got shape \\(2, 3, 8, 8\\).*channel"):
        model(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"got shape \(2, 8, 8\): add the channel dimension"):
        model.encode(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"ConvAutoencoder: x must be .*got shape \(2, 1, 28, 28\)"):
        model.loss(Tensor(np.zeros((2, 1, 28, 28), np.float32)))
    with pytest.raises(ValueError, match="X has 784 features per row, expected 64"):
        model.fit(np.zeros((5, 784), np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.fit(digits(10) * 3)
    with pytest.raises(ValueError, match="NaN"):
        model.check_data(np.full((2, 64), np.nan))
    with pytest.raises(ValueError, match=r"ConvAutoencoder.decode: the code must have shape \(N, 4\), got \(3, 5\)"):
        model.decode(np.zeros((3, 5)))


# ---------------------------------------------------------------- the experiment runner

def test_experiment_runner_quick_prints_a_table_with_every_model(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "conv_fashion_mnist.py"), "--quick",
                             "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = {line.split("|")[1].strip(): line.split("|")[2:] for line in result.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| model")}
    assert len(rows) == 4, result.stdout
    errors = {name: float(cells[0]) for name, cells in rows.items()}
    pca = next(v for k, v in errors.items() if k.startswith("PCA"))
    assert all(0 < v < 64 for v in errors.values())
    assert abs(float(rows[next(k for k in rows if k.startswith("PCA"))][1]) - 1.0) < 1e-9
    for name, value in errors.items():          # the "x PCA" column is each error over PCA's
        assert close(float(rows[name][1]), value / pca, 1e-2), name


# ---------------------------------------------------------------- the train job: --model conv

def train_job(args, on_batch=None):
    from tinygrad_ae import cli
    from tinygrad_ae.training import job
    return job.run_job(cli.parse_train_args(args), on_batch=on_batch)


CONV_RUN = ["--model", "conv", "--hidden", "8", "--batch-size", "128", "--lr", "0.003"]


def test_train_conv_writes_its_files_and_an_interrupted_run_resumes_exactly(tmp_path, capsys):
    import importlib.util
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train_job([*CONV_RUN, "--epochs", "3", "--out", str(straight)]) == 0
    text = capsys.readouterr().out
    assert "training ConvAutoencoder(image_shape=(8, 8), code_size=8" in text and "decoder='linear', loss='mse'" in text
    assert "PCA bound to approach" in text and "ratio" in text
    assert (straight / "history.csv").read_text().splitlines()[0] == "epoch,train_loss,val_loss,seconds"
    if importlib.util.find_spec("matplotlib") is not None:
        assert all((straight / name).stat().st_size > 1000 for name in ("reconstructions.png", "loss.png", "filters.png"))

    def interrupt_in_epoch_2(epoch, batch, loss):
        if epoch == 2 and batch == 3:
            raise KeyboardInterrupt
    assert train_job([*CONV_RUN, "--epochs", "3", "--out", str(split)], on_batch=interrupt_in_epoch_2) == 130
    assert train_job(["--resume", str(split / "checkpoint.npz")]) == 0
    a, b = tg.load(straight / "model.npz"), tg.load(split / "model.npz")
    assert list(a) == NAMES
    for key in NAMES:
        assert np.array_equal(a[key], b[key]), key
    rows = [(p / "history.csv").read_text().splitlines()[1:] for p in (straight, split)]
    assert [r.split(",")[:3] for r in rows[0]] == [r.split(",")[:3] for r in rows[1]]
    history = [float(r.split(",")[1]) for r in rows[0]]
    assert history[-1] < history[0]
    model = tg.ConvAutoencoder((8, 8), 8, decoder="linear")
    model.load_state_dict(a)                      # model.npz is the model's state dict, as it is


def test_train_conv_takes_its_pairing_and_refuses_what_it_cannot_use(tmp_path, capsys):
    out = tmp_path / "o"
    assert train_job(["--model", "conv", "--decoder", "sigmoid", "--epochs", "1", "--out", str(out)]) == 0
    assert "decoder='sigmoid', loss='bce'" in capsys.readouterr().out
    assert train_job(["--model", "conv", "--tied", "--out", str(tmp_path / "p")]) == 2
    assert "--tied: not an option of --model conv" in capsys.readouterr().err
    assert train_job(["--model", "conv", "--hidden", "100,30", "--out", str(tmp_path / "p")]) == 2
    assert "--hidden must be a positive whole number for --model conv" in capsys.readouterr().err
    assert train_job(["--model", "conv", "--decoder", "linear", "--loss", "bce", "--out", str(tmp_path / "p")]) == 2
    assert "loss='bce' needs decoder='sigmoid'" in capsys.readouterr().err
    rows = tmp_path / "rows.npy"
    np.save(rows, np.random.default_rng(0).random((20, 12), dtype=np.float32))
    assert train_job(["--model", "conv", "--data", str(rows), "--out", str(tmp_path / "p")]) == 2
    assert "--model conv needs square images" in capsys.readouterr().err
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())
