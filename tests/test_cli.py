"""The command line: a few runs through a real subprocess, the rest in-process through cli.main."""
import importlib.util
import re
import subprocess
import sys
import types

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import cli
from tinygrad_ae.data import datasets
from tinygrad_ae.data import load_digits, train_val_split
from tinygrad_ae.models.reference import pca_bound

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def python_m(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tinygrad_ae", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def number(label, text):
    return float(re.search(rf"^{label}\s+(\S+)", text, re.M).group(1))


# ---------------------------------------------------------------- through a real process

def test_train_end_to_end_in_a_subprocess(tmp_path):
    done = python_m("train", "--epochs", "2", "--hidden", "4", "--out", "tmp", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "tmp"
    expected = {"model.npz", "history.csv", "checkpoint.npz"}
    if HAS_MATPLOTLIB:                                   # the subprocess runs this same interpreter
        expected |= {"reconstructions.png", "loss.png", "filters.png"}
    assert expected <= {p.name for p in out.iterdir()}
    assert len((out / "history.csv").read_text().splitlines()) == 3   # header + 2 epochs

    X_train = train_val_split(load_digits()[0], 0.2, 0)[0]
    assert number("PCA bound", done.stdout) == pytest.approx(pca_bound(X_train, 4), rel=1e-5)
    ratio = number("ratio", done.stdout)
    assert np.isfinite(ratio) and ratio >= 1 - 1e-4     # a linear decoder cannot beat PCA
    assert ratio == pytest.approx(number("train loss", done.stdout) / number("PCA bound", done.stdout), rel=1e-3)

    model = tg.Autoencoder(64, 4)
    model.load_state_dict(tg.load(out / "model.npz"))   # the state dict fits the model the options describe
    assert model.evaluate(X_train) == pytest.approx(number("train loss", done.stdout), rel=1e-5)


def test_help_in_a_subprocess_lists_the_three_commands(tmp_path):
    done = python_m("--help", cwd=tmp_path)
    assert done.returncode == 0
    for command in ("train", "bench", "graph"):
        assert re.search(rf"^\s+{command}\s+\S", done.stdout, re.M), command


def test_a_user_error_in_a_subprocess_is_one_line_and_exit_2(tmp_path):
    done = python_m("train", "--data", "no/such/file.npy", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "no/such/file.npy" in done.stderr
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- in-process

def test_train_help_explains_every_option(capsys):
    assert cli.main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--data", "--hidden", "--encoder", "--decoder", "--loss", "--tied", "--binarize", "--epochs",
                   "--batch-size", "--lr", "--optimizer", "--seed", "--out", "--resume", "--model", "--latent"):
        assert re.search(rf"^\s+{option}\b.*\n?\s*\S", text, re.M), option


@pytest.fixture
def finished(tmp_path):
    """A finished 1-epoch run to point --resume and --out at."""
    out = tmp_path / "done"
    assert cli.main(["train", "--hidden", "3", "--epochs", "1", "--out", str(out)]) == 0
    return out


def write_bad_files(folder):
    np.save(folder / "nan.npy", np.array([[0.1, np.nan], [0.2, 0.3], [0.4, 0.5]]))
    np.save(folder / "flat.npy", np.arange(5.0))
    (folder / "words.csv").write_text("a,b\n1,x\n")
    (folder / "two.npy").write_bytes(b"")
    np.save(folder / "tworows.npy", np.ones((2, 3)) / 2)


@pytest.mark.parametrize("args, says", [
    (["--data", "{tmp}/missing.npy"], "missing.npy"),
    (["--data", "{tmp}/nan.npy"], "NaN"),
    (["--data", "{tmp}/flat.npy"], "2-D"),
    (["--data", "{tmp}/words.csv"], "numeric"),
    (["--data", "{tmp}/two.npy"], "two.npy"),
    (["--data", "{tmp}/tworows.npy"], "at least 3"),
    (["--data", "mnist"], "Download the four MNIST files"),
    (["--data", "fashion-mnist"], "apt-get install dataset-fashion-mnist"),
    (["--loss", "bce", "--decoder", "linear"], "decoder='sigmoid'"),
    (["--hidden", "0"], "--hidden must be a positive whole number"),
    (["--epochs", "-1"], "--epochs"),
    (["--batch-size", "0"], "--batch-size"),
    (["--lr", "-0.1"], "--lr must be a positive number"),
    (["--lr", "nan"], "--lr"),
    (["--encoder", "softmax"], "invalid choice"),
    (["--hidden", "three"], "--hidden: expected a whole number or sizes separated by commas"),
    (["--hidden", "10,0"], "--hidden must be a positive whole number, or sizes separated by commas"),
    (["--noise", "salt:0.3"], "--noise must be mask:Q"),
    (["--noise", "mask:1.5"], "noise_level must be a number in [0, 1)"),
    (["--sparsity", "0.05", "--encoder", "tanh"], "sparsity compares each hidden unit's mean activation"),
    (["--sparsity-weight", "3"], "sparsity_weight=3.0 is given without sparsity"),
    (["--contractive", "0.1", "--hidden", "10,5"], "contractive is supported for a one-hidden-layer encoder"),
    (["--code-activation", "linear"], "code_activation is for a deep autoencoder"),
    (["--resume", "{tmp}/missing.npz"], "missing.npz"),
    (["--resume", "{done}/model.npz"], "not a training checkpoint"),
    (["--resume", "{done}/history.csv"], "not a valid .npz"),
    (["--resume", "{done}/checkpoint.npz", "--hidden", "5"], "only --epochs and --out"),
    (["--out", "{done}"], "--resume"),
    (["--model", "gan"], "invalid choice"),
    (["--model", "vae", "--tied"], "--tied: not an option of --model vae"),
    (["--model", "vae", "--latent", "0"], "--latent must be a positive whole number"),
    (["--model", "vae", "--hidden", "10,5"], "--hidden must be a positive whole number (the size of the VAE's"),
    (["--model", "made", "--hidden", "0"], "--hidden must be a positive whole number, or sizes"),
    (["--model", "made", "--latent", "4"], "--latent 4: not an option of --model made"),
    (["--model", "made"], "must be binary (every value 0 or 1)"),
    (["--latent", "2"], "--latent 2: not an option of --model autoencoder"),
    (["--resume", "{done}/checkpoint.npz", "--model", "vae"], "only --epochs and --out"),
])
def test_user_errors_exit_2_with_one_clear_message(args, says, tmp_path, finished, monkeypatch, capsys):
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIR", tmp_path / "no-fashion-here")   # as on a machine without it
    write_bad_files(tmp_path)
    args = [a.format(tmp=tmp_path, done=finished) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    capsys.readouterr()
    assert cli.main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("tinygrad-ae train: error:") and says in lines[-1]
    assert len(lines) == 1 or lines[0].startswith("usage:")      # argparse prints its usage first
    assert not (tmp_path / "out" / "checkpoint.npz").exists()


def test_resume_of_a_finished_run_has_nothing_to_train_and_keeps_its_weights(finished, capsys):
    before = tg.load(finished / "model.npz")
    assert cli.main(["train", "--resume", str(finished / "checkpoint.npz")]) == 0
    assert "nothing to train" in capsys.readouterr().out
    after = tg.load(finished / "model.npz")
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_resume_into_another_folder_continues_there(finished, tmp_path):
    other = tmp_path / "longer"
    assert cli.main(["train", "--resume", str(finished / "checkpoint.npz"), "--epochs", "2", "--out", str(other)]) == 0
    from tinygrad_ae.training.job import load_checkpoint
    assert load_checkpoint(other / "checkpoint.npz")["epoch"] == 2
    assert load_checkpoint(finished / "checkpoint.npz")["epoch"] == 1     # the original is left alone


# ---------------------------------------------------------------- bench and graph are other modules' main(argv)

@pytest.mark.parametrize("command, module", [("bench", "tinygrad_ae.race"), ("graph", "tinygrad_ae.viz")])
def test_bench_and_graph_hand_the_rest_of_the_arguments_to_their_module(command, module, monkeypatch):
    calls = []
    fake = types.ModuleType(module)
    fake.main = lambda argv: calls.append(argv) or 7
    monkeypatch.setitem(sys.modules, module, fake)
    assert cli.main([command, "--quick", "-n", "3", "--help"]) == 7
    assert calls == [["--quick", "-n", "3", "--help"]]


@pytest.mark.parametrize("command, module", [("bench", "tinygrad_ae.race"), ("graph", "tinygrad_ae.viz")])
def test_a_missing_command_module_is_a_clear_exit_2(command, module, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, module, None)     # as if the module did not exist
    assert cli.main([command]) == 2
    err = capsys.readouterr().err
    assert module in err and "Traceback" not in err


def test_no_command_is_a_usage_error(capsys):
    assert cli.main([]) == 2
    assert "train" in capsys.readouterr().err
