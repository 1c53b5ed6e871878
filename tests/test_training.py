"""The training job (tinygrad_ae.training), run in-process: exact resume, interruption, divergence, checkpoint
contents, data sources, progress output and pictures with and without matplotlib / tqdm."""
import gzip
import importlib.util
import json
import re
import shlex
import sys
import warnings

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import cli, fileio
from tinygrad_ae.training import job as training, options as job_options, pictures
from tinygrad_ae.data import FASHION_MNIST_DIR, Dataset, load_digits, train_val_split
from tinygrad_ae.models.reference import pca_bound

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
HAS_TQDM = importlib.util.find_spec("tqdm") is not None
needs_matplotlib = pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed (the plot extra)")
TINY = ["--hidden", "4", "--batch-size", "128", "--lr", "0.003"]    # 12 steps an epoch on the digits


def run(args, on_batch=None):
    return training.run_job(cli.parse_train_args(args), on_batch=on_batch)


def weights(folder):
    return tg.load(folder / "model.npz")


def number(label, text):
    """The number printed after `label` at the start of a line of the closing report."""
    return float(re.search(rf"^{label}\s+(\S+)", text, re.M).group(1))


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """4 epochs in one go: the run that resumed and interrupted runs must reproduce exactly."""
    out = tmp_path_factory.mktemp("straight")
    assert run([*TINY, "--epochs", "4", "--out", str(out)]) == 0
    return out


@pytest.fixture
def no_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)      # `from tqdm import tqdm` now raises ImportError


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys() == {"encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"}
    for key in wa:
        assert np.array_equal(wa[key], wb[key]), key


# ---------------------------------------------------------------- the same weights, however the run is split

def test_resume_gives_exactly_the_weights_of_an_uninterrupted_run(straight, tmp_path, capsys):
    out = tmp_path / "split"
    assert run([*TINY, "--epochs", "2", "--out", str(out)]) == 0
    first_half = weights(out)
    assert run(["--resume", str(out / "checkpoint.npz"), "--epochs", "4"]) == 0
    assert not all(np.array_equal(first_half[k], v) for k, v in weights(out).items())   # it did train on
    assert_same_weights(out, straight)
    resumed = training.load_checkpoint(out / "checkpoint.npz")
    whole = training.load_checkpoint(straight / "checkpoint.npz")
    assert resumed["epoch"] == whole["epoch"] == 4
    assert resumed["rng_state"] == whole["rng_state"]
    assert resumed["optimizer"].keys() == whole["optimizer"].keys()
    for key, value in whole["optimizer"].items():
        assert np.array_equal(resumed["optimizer"][key], value), key
    assert resumed["history"]["train"] == whole["history"]["train"]
    assert "continuing" in capsys.readouterr().out


def test_the_job_trains_exactly_as_autoencoder_fit(straight):
    """Same seed, same split, same options: the job's loop and the library's fit agree to the bit."""
    X_train, X_val = train_val_split(load_digits()[0], 0.2, 0)
    model = tg.Autoencoder(64, 4, seed=0)
    history = model.fit(X_train, epochs=4, batch_size=128, lr=0.003, seed=0, X_val=X_val)
    for key, value in model.state_dict().items():
        assert np.array_equal(weights(straight)[key], value), key
    saved = training.load_checkpoint(straight / "checkpoint.npz")["history"]
    assert saved["train"] == history["train"]          # one history format: fit's
    assert saved["val"] == history["val"]
    assert saved.keys() == history.keys() == {"train", "val", "seconds"}


def test_ctrl_c_keeps_the_last_complete_epoch_and_prints_a_resume_command_that_finishes_the_run(
        straight, tmp_path, capsys):
    out = tmp_path / "interrupted"
    seen = []

    def interrupt_in_epoch_3(epoch, batch, loss):
        seen.append(epoch)
        if epoch == 3 and batch == 5:
            raise KeyboardInterrupt

    assert run([*TINY, "--epochs", "4", "--out", str(out)], on_batch=interrupt_in_epoch_3) == 130
    assert max(seen) == 3
    ckpt = training.load_checkpoint(out / "checkpoint.npz")
    assert ckpt["epoch"] == 2
    assert len(ckpt["history"]["train"]) == 2
    assert (out / "history.csv").read_text().splitlines()[-1].startswith("2,")
    assert not (out / "model.npz").exists()           # written only when the run completes
    assert not list(out.glob("*.tmp"))

    err = capsys.readouterr().err
    assert "epoch 2 of 4" in err and "Traceback" not in err
    command = shlex.split(err.strip().splitlines()[-1])
    assert command[:6] == [sys.executable, "-m", "tinygrad_ae", "train", "--resume", str(out / "checkpoint.npz")]
    assert run(command[4:]) == 0                        # the printed command, in-process
    assert_same_weights(out, straight)


def test_ctrl_c_while_a_checkpoint_is_written_leaves_the_previous_one_whole(tmp_path, monkeypatch, capsys):
    real_save, calls = training.save, []

    def save_then_interrupt(state, path):             # writes of checkpoint.npz: epochs 0, 1, then 2 is cut off
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_save(state, path)

    monkeypatch.setattr(training, "save", save_then_interrupt)
    out = tmp_path / "o"
    assert run([*TINY, "--epochs", "4", "--out", str(out)]) == 130
    assert training.load_checkpoint(out / "checkpoint.npz")["epoch"] == 1
    assert "holds the model after epoch 1 of 4" in capsys.readouterr().err


def _leave_stale_temporaries(out):
    """What a SIGKILL in the middle of writes leaves: atomic_write's temporaries (named by its scheme),
    half written; and files that are not the job's, which must survive."""
    half = (out / "checkpoint.npz").read_bytes()[:100] if (out / "checkpoint.npz").exists() else b"PK\x03\x04"
    stale = {"checkpoint.npz.0123abcd.tmp": half, "history.csv.deadbeef.tmp": b"epoch,tr",
             "loss.png.00ff00ff.tmp": b"\x89PNG"}
    kept = {"notes.0123abcd.tmp": b"mine", "notes.txt": b"mine too", "checkpoint.npz.tmp": b"not the scheme"}
    for name, data in {**stale, **kept}.items():
        (out / name).write_bytes(data)
    return kept


def test_resume_removes_the_temporaries_a_killed_write_left_and_still_resumes_exactly(straight, tmp_path):
    out = tmp_path / "killed"
    assert run([*TINY, "--epochs", "2", "--out", str(out)]) == 0
    kept = _leave_stale_temporaries(out)
    assert run(["--resume", str(out / "checkpoint.npz"), "--epochs", "4"]) == 0
    assert_same_weights(out, straight)
    assert training.load_checkpoint(out / "checkpoint.npz")["epoch"] == 4
    assert {p.name for p in out.iterdir()} - set(training.RUN_FILES) == set(kept)
    assert all((out / name).read_bytes() == data for name, data in kept.items())


def test_resume_into_another_folder_clears_both(straight, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert run([*TINY, "--epochs", "2", "--out", str(first)]) == 0
    second.mkdir()
    _leave_stale_temporaries(first), _leave_stale_temporaries(second)
    assert run(["--resume", str(first / "checkpoint.npz"), "--epochs", "4", "--out", str(second)]) == 0
    assert_same_weights(second, straight)
    for folder in (first, second):
        assert fileio.stale_temporaries(folder, training.RUN_FILES) == []
        assert (folder / "notes.0123abcd.tmp").read_bytes() == b"mine"      # not the job's: kept


def test_a_new_run_removes_the_temporaries_a_killed_first_write_left(tmp_path):
    out = tmp_path / "fresh"                       # killed while writing its epoch-0 checkpoint: none on disk
    out.mkdir()
    kept = _leave_stale_temporaries(out)
    assert run([*TINY, "--epochs", "1", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} - set(training.RUN_FILES) == set(kept)
    assert training.load_checkpoint(out / "checkpoint.npz")["epoch"] == 1


def test_a_folder_that_refuses_writes_is_named_with_what_to_do(tmp_path, monkeypatch, capsys):
    """As a read-only --out folder refuses (simulated: root writes into any folder): os.open of the
    temporary file raises PermissionError naming it; the job's error names the folder instead."""
    real_open = fileio.os.open

    def refuse_temporaries(path, flags, *args):
        if str(path).endswith(".tmp"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    out = tmp_path / "locked"
    monkeypatch.setattr(fileio.os, "open", refuse_temporaries)
    assert run([*TINY, "--epochs", "1", "--out", str(out)]) == training.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"tinygrad-ae train: error: cannot write {str(out / 'checkpoint.npz')!r}: "
                          f"the folder {str(out)!r} does not let this process create files in it")
    assert "make the folder writable" in err and ".tmp" not in err and "Traceback" not in err


def test_divergence_stops_with_advice_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    out = tmp_path / "diverged"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)     # overflow on the way to inf is expected, not shown
        code = run(["--hidden", "4", "--epochs", "3", "--optimizer", "sgd", "--lr", "1e6", "--out", str(out)])
    assert code == training.EXIT_DIVERGED == 3
    err = capsys.readouterr().err
    assert "diverged" in err and ("nan" in err or "inf" in err)
    assert "lower" in err and "--lr 100000" in err
    assert "Traceback" not in err
    ckpt = training.load_checkpoint(out / "checkpoint.npz")
    assert ckpt["epoch"] < 3
    assert all(np.isfinite(value).all() for value in ckpt["model"].values())
    assert all(np.isfinite(value) for value in ckpt["history"]["train"])


def test_the_job_and_the_library_stop_a_diverging_run_with_the_same_error_message(tmp_path, capsys):
    X_train, X_val = train_val_split(load_digits()[0], 0.2, 0)
    with pytest.raises(tg.TrainingDiverged) as info:
        tg.Autoencoder(64, 4, seed=0).fit(X_train, epochs=3, batch_size=32, lr=1e6, optimizer="sgd", seed=0,
                                          X_val=X_val)
    assert isinstance(info.value, FloatingPointError) and training.TrainingDiverged is tg.TrainingDiverged
    code = run(["--hidden", "4", "--epochs", "3", "--optimizer", "sgd", "--lr", "1e6", "--out", str(tmp_path)])
    assert code == 3
    assert f"tinygrad-ae train: {info.value}, e.g. --lr 100000." in capsys.readouterr().err


def test_a_checkpoint_with_the_earlier_history_names_still_resumes(straight, tmp_path):
    """Checkpoints written before fit and the job shared one history format (history.train_loss, ...)."""
    out = tmp_path / "old"
    assert run([*TINY, "--epochs", "2", "--out", str(out)]) == 0
    state = tg.load(out / "checkpoint.npz")
    renamed = {{"history.train": "history.train_loss", "history.val": "history.val_loss"}.get(k, k): v
               for k, v in state.items()}
    tg.save(renamed, out / "checkpoint.npz")
    assert training.load_checkpoint(out / "checkpoint.npz")["history"]["train"] == list(state["history.train"])
    assert run(["--resume", str(out / "checkpoint.npz"), "--epochs", "4"]) == 0
    assert_same_weights(out, straight)
    assert (out / "history.csv").read_text() .count("\n") == 5


# ---------------------------------------------------------------- the checkpoint file

def test_checkpoint_holds_state_rng_options_and_history_without_pickle(tmp_path):
    out = tmp_path / "ckpt"
    assert run([*TINY, "--epochs", "2", "--seed", "7", "--tied", "--out", str(out)]) == 0
    with np.load(out / "checkpoint.npz", allow_pickle=False) as f:
        raw = {k: f[k] for k in f.files}
    assert raw["epoch"] == 2
    for key in ("rng_state", "options"):
        assert raw[key].shape == () and raw[key].dtype.kind == "U"
    options = json.loads(str(raw["options"]))
    assert options["seed"] == 7 and options["tied"] is True and options["hidden"] == 4 and options["epochs"] == 2
    # the shuffle RNG after two epochs: default_rng(seed) after two permutations of the training rows
    expected = np.random.default_rng(7)
    X_train = train_val_split(load_digits()[0], 0.2, 0)[0]
    n_train = len(X_train)
    expected.permutation(n_train)
    expected.permutation(n_train)
    assert json.loads(str(raw["rng_state"])) == expected.bit_generator.state
    assert {k for k in raw if k.startswith("model.")} == {"model.encoder.weight", "model.encoder.bias",
                                                           "model.decoder.bias"}
    assert raw["pca_k"] == 4 and raw["pca_bound"] == pytest.approx(pca_bound(X_train, 4), rel=1e-12)
    assert raw["optimizer.step.0"] == 2 * 12           # Adam's step count: 12 batches of 128 in 1438 rows
    assert np.array_equal(raw["model.encoder.weight"], weights(out)["encoder.weight"])
    rows = (out / "history.csv").read_text().splitlines()
    assert rows[0] == "epoch,train_loss,val_loss,seconds"
    assert [float(r.split(",")[1]) for r in rows[1:]] == pytest.approx(list(raw["history.train"]), rel=1e-8)


# ---------------------------------------------------------------- data sources and the PCA comparison

def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_a_folder_of_idx_files_trains_and_is_compared_with_pca_on_its_own_rows(tmp_path, capsys):
    images = np.random.default_rng(1).integers(0, 256, size=(30, 5, 5))
    folder = tmp_path / "idx"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(30) % 10)
    assert run(["--data", str(folder), "--hidden", "3", "--epochs", "2", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "5x5 images" in out and "24 training rows" in out
    X_train = train_val_split(images.reshape(30, 25) / 255.0, 0.2, 0)[0]
    assert number("PCA bound", out) == pytest.approx(pca_bound(X_train, 3), rel=1e-5)
    assert number("ratio", out) == pytest.approx(number("train loss", out) / number("PCA bound", out), rel=1e-3)


@pytest.mark.parametrize("kind", ["npy", "csv"])
def test_rows_from_npy_and_csv_files(tmp_path, kind, capsys):
    X = np.random.default_rng(2).random((40, 6))
    path = tmp_path / f"rows.{kind}"
    if kind == "npy":
        np.save(path, X)
    else:
        np.savetxt(path, X, delimiter=",", header="a,b,c,d,e,f", comments="")
    assert run(["--data", str(path), "--hidden", "2", "--epochs", "2", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "32 training rows" in out and "6 features" in out
    X_train = train_val_split(X, 0.2, 0)[0]              # already within [0, 1]: not rescaled
    assert number("PCA bound", out) == pytest.approx(pca_bound(X_train, 2), rel=1e-5)
    assert number("ratio", out) >= 1 - 1e-4               # a linear decoder cannot beat PCA


def test_binarize_trains_the_logistic_decoder_with_cross_entropy_and_reports_its_squared_error(tmp_path, capsys):
    out = tmp_path / "binary"
    assert run(["--binarize", *TINY, "--epochs", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "decoder='sigmoid'" in text and "loss='bce'" in text
    assert re.search(r"^train loss .*cross-entropy", text, re.M)
    X = (load_digits()[0] >= 0.5).astype(np.float32)
    X_train = train_val_split(X, 0.2, 0)[0]
    assert number("PCA bound", text) == pytest.approx(pca_bound(X_train, 4), rel=1e-5)
    model = tg.Autoencoder(64, 4, decoder="sigmoid")
    model.load_state_dict(weights(out))
    squared = np.mean(np.sum((model(X_train).numpy() - X_train) ** 2, axis=1))
    assert number("squared error", text) == pytest.approx(squared, rel=1e-4)
    assert number("ratio", text) == pytest.approx(squared / pca_bound(X_train, 4), rel=1e-3)


def test_cross_entropy_on_data_outside_0_1_is_refused_with_the_models_message(tmp_path, monkeypatch, capsys):
    X = np.random.default_rng(3).random((20, 4)).astype(np.float32) * 3
    monkeypatch.setattr(training, "load_dataset", lambda name: Dataset(X, None, None, "wide"))
    assert run(["--loss", "bce", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "[0, 1]" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_model_no_run_can_build_is_refused_before_the_data_is_loaded(tmp_path, monkeypatch, capsys):
    def load_dataset(name):
        raise AssertionError("the data was loaded")
    monkeypatch.setattr(training, "load_dataset", load_dataset)
    assert run(["--sparsity", "0.05", "--encoder", "tanh", "--out", str(tmp_path / "o")]) == 2
    assert "sparsity compares each hidden unit's mean activation" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_without_out_the_run_goes_to_runs_data_time(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run([*TINY, "--epochs", "1"]) == 0
    assert run([*TINY, "--epochs", "1"]) == 0           # a second run in the same second gets its own folder
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2 and all(f.name.startswith("digits-") for f in folders)
    assert all((f / "model.npz").is_file() for f in folders)


@pytest.mark.parametrize("given, pair", [
    ({}, ("linear", "mse")),
    ({"binarize": True}, ("sigmoid", "bce")),
    ({"binarize": True, "decoder": "linear"}, ("linear", "mse")),
    ({"binarize": True, "loss": "mse"}, ("linear", "mse")),
    ({"decoder": "sigmoid"}, ("sigmoid", "bce")),
    ({"decoder": "tanh"}, ("tanh", "mse")),
    ({"loss": "bce"}, ("sigmoid", "bce")),
    ({"decoder": "sigmoid", "loss": "mse"}, ("sigmoid", "mse")),
])
def test_decoder_and_loss_follow_the_lectures_pairing_unless_given(given, pair):
    opts = job_options.resolve_options(given)
    assert (opts["decoder"], opts["loss"]) == pair
    assert opts["hidden"] == 16 and opts["encoder"] == "sigmoid" and opts["optimizer"] == "adam"


# ---------------------------------------------------------------- progress and pictures

def test_without_tqdm_one_plain_line_per_epoch(tmp_path, no_tqdm, capsys):
    assert run([*TINY, "--epochs", "3", "--out", str(tmp_path / "o")]) == 0
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("epoch ")]
    assert [l.split()[1] for l in lines] == ["1/3", "2/3", "3/3"]
    losses = [float(l.split()[3]) for l in lines]
    history = training.load_checkpoint(tmp_path / "o" / "checkpoint.npz")["history"]["train"]
    assert losses == pytest.approx(history, abs=1e-4)
    assert losses[-1] < losses[0]


@pytest.mark.skipif(not HAS_TQDM, reason="tqdm is not installed (the plot extra)")
def test_with_tqdm_a_bar_over_the_batches_shows_the_running_loss(tmp_path, capsys):
    assert run([*TINY, "--epochs", "2", "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    assert "24/24" in captured.err and "loss" in captured.err
    assert not [l for l in captured.out.splitlines() if l.startswith("epoch ")]


def test_without_matplotlib_it_says_which_pictures_it_skipped_and_how_to_get_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    out = tmp_path / "o"
    assert run([*TINY, "--epochs", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "skipped reconstructions.png, loss.png, filters.png" in text
    assert 'pip install "tinygrad_ae[plot]"' in text and 'pip install ".[plot]"' in text
    assert not list(out.glob("*.png"))
    assert {p.name for p in out.iterdir()} == {"model.npz", "history.csv", "checkpoint.npz"}


@needs_matplotlib
@pytest.mark.parametrize("data, width", [("digits", 64), ("rows6.npy", 6), ("rows40.npy", 40)])
def test_pictures_are_written_for_images_and_for_plain_rows(tmp_path, data, width, capsys):
    from matplotlib.image import imread
    if data != "digits":                                   # 6 features: bars; 40 (not square): lines
        data = str(tmp_path / data)
        np.save(data, np.random.default_rng(4).random((30, width)))
    out = tmp_path / "o"
    assert run(["--data", data, "--hidden", "5", "--epochs", "2", "--out", str(out)]) == 0
    assert "reconstructions.png, loss.png, filters.png" in capsys.readouterr().out
    for name in pictures.PICTURES:
        image = imread(out / name)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100, name
        assert image[..., :3].std() > 0.01, name          # not a blank canvas
    assert not list(out.glob("*.tmp"))


# ---------------------------------------------------------------- real data, when the machine has it

@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed (/usr/share/datasets/fashion-mnist)")
def test_a_short_run_on_fashion_mnist(tmp_path, capsys):
    out = tmp_path / "fashion"
    assert run(["--data", "fashion-mnist", "--hidden", "8", "--epochs", "1", "--batch-size", "500",
                "--lr", "0.01", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert ("60000 training rows, 10000 test rows (the data set's test split), 784 features, 28x28 images"
            in text)                                       # the official split, not 80/20 of the training files
    assert 1 <= number("ratio", text) < 3
    assert re.search(r"^test squared error \S+ against PCA's \S+ \(rank 8, fitted on the training rows\) on the "
                     r"same 10000 rows", text, re.M)
    assert weights(out)["encoder.weight"].shape == (8, 784)


# ---------------------------------------------------------------- regularized and deep runs

REGULARIZED = ["--noise", "mask:0.3", "--weight-decay", "1e-3", "--sparsity", "0.1", "--sparsity-weight", "2"]


def test_a_denoising_run_interrupted_and_resumed_draws_exactly_the_noise_of_a_straight_run(tmp_path, capsys):
    straight_out, split_out = tmp_path / "straight", tmp_path / "split"
    assert run([*TINY, *REGULARIZED, "--epochs", "3", "--out", str(straight_out)]) == 0

    def interrupt_in_epoch_2(epoch, batch, loss):
        if epoch == 2 and batch == 4:
            raise KeyboardInterrupt

    assert run([*TINY, *REGULARIZED, "--epochs", "3", "--out", str(split_out)], on_batch=interrupt_in_epoch_2) == 130
    assert run(["--resume", str(split_out / "checkpoint.npz")]) == 0
    a, b = weights(straight_out), weights(split_out)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    ckpt = training.load_checkpoint(split_out / "checkpoint.npz")
    # the model's generator: default_rng(seed) after the initial weights and three epochs of masks
    assert ckpt["model_rng_state"] == training.load_checkpoint(straight_out / "checkpoint.npz")["model_rng_state"]
    assert ckpt["model_rng_state"] != np.random.default_rng(0).bit_generator.state
    assert ckpt["options"]["noise"] == "mask:0.3" and ckpt["options"]["sparsity_weight"] == 2


def test_history_csv_logs_the_reconstruction_term_and_each_penalty(tmp_path, capsys):
    out = tmp_path / "o"
    assert run([*TINY, *REGULARIZED, "--epochs", "2", "--out", str(out)]) == 0
    rows = (out / "history.csv").read_text().splitlines()
    assert rows[0] == "epoch,train_loss,val_loss,seconds,weight_decay,sparsity,objective"
    model = job_options.build_model(training.load_checkpoint(out / "checkpoint.npz")["options"], 64)
    model.load_state_dict(weights(out))
    X_train, X_val = train_val_split(load_digits()[0], 0.2, 0)
    terms = model.evaluate_terms(X_train)
    last = dict(zip(rows[0].split(","), map(float, rows[-1].split(","))))
    for column, term in (("train_loss", "reconstruction"), ("weight_decay", "weight_decay"),
                         ("sparsity", "sparsity"), ("objective", "objective")):
        assert last[column] == pytest.approx(terms[term], rel=1e-5), column
    assert last["val_loss"] == pytest.approx(model.evaluate(X_val), rel=1e-5)
    text = capsys.readouterr().out
    assert re.search(r"^weight_decay\s+\S+\s+\(on the training rows\)", text, re.M)
    assert "noise='mask', noise_level=0.3" in text


def test_a_deep_run_names_its_layers_and_resumes(tmp_path, capsys):
    out = tmp_path / "deep"
    args = ["--hidden", "20,10,3", "--code-activation", "linear", "--batch-size", "128", "--epochs", "2"]
    assert run([*args, "--out", str(out)]) == 0
    saved = weights(out)
    assert list(saved) == [f"{part}.{i}.{p}" for part in ("encoder", "decoder") for i in range(3)
                           for p in ("weight", "bias")]
    assert saved["encoder.2.weight"].shape == (3, 10) and saved["decoder.0.weight"].shape == (10, 3)
    ckpt = training.load_checkpoint(out / "checkpoint.npz")
    assert ckpt["options"]["hidden"] == [20, 10, 3] and ckpt["bound"][1] == 3      # PCA at the code's size
    assert run(["--resume", str(out / "checkpoint.npz"), "--hidden", "20,10,3", "--epochs", "3"]) == 0
    assert training.load_checkpoint(out / "checkpoint.npz")["epoch"] == 3
    assert run(["--resume", str(out / "checkpoint.npz"), "--hidden", "20,10", "--epochs", "4"]) == 2
    assert "--hidden 20,10,3" in capsys.readouterr().err


def test_a_checkpoint_written_before_the_regularizers_resumes_as_the_plain_model(straight, tmp_path):
    state = dict(np.load(straight / "checkpoint.npz", allow_pickle=False))
    options = json.loads(str(state["options"]))
    for name in job_options.LATER_OPTIONS:
        del options[name]
    state["options"] = np.array(json.dumps(options))
    del state["model_rng_state"]
    old = tmp_path / "old"
    old.mkdir()
    tg.save(state, old / "checkpoint.npz")
    ckpt = training.load_checkpoint(old / "checkpoint.npz")
    assert ckpt["model_rng_state"] is None and ckpt["options"]["noise"] is None
    assert run(["--resume", str(old / "checkpoint.npz"), "--epochs", "5"]) == 0


def test_a_folder_with_test_files_is_judged_on_them_and_pca_on_the_same_rows(tmp_path, capsys):
    rng = np.random.default_rng(5)
    train_images, test_images = rng.integers(0, 256, size=(40, 4, 4)), rng.integers(0, 256, size=(12, 4, 4))
    folder = tmp_path / "idx"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", train_images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(40) % 3)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", test_images)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(12) % 3)
    assert run(["--data", str(folder), "--hidden", "3", "--epochs", "2", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "40 training rows, 12 test rows (the data set's test split)" in out
    X_train, X_test = train_images.reshape(40, 16) / 255.0, test_images.reshape(12, 16) / 255.0
    assert number("PCA bound", out) == pytest.approx(pca_bound(X_train, 3), rel=1e-5)
    pca_test = float(re.search(r"against PCA's (\S+) \(rank 3", out).group(1))
    assert pca_test == pytest.approx(tg.reference.pca_error(X_train, X_test, 3), rel=1e-5)
    model = tg.Autoencoder(16, 3)
    model.load_state_dict(weights(tmp_path / "o"))
    assert number("test loss", out) == pytest.approx(model.evaluate(X_test.astype(np.float32)), rel=1e-5)


def test_reconstructions_show_one_example_of_each_class():
    from tinygrad_ae.training.pictures import examples
    X = np.arange(12.0).reshape(6, 2)
    assert np.array_equal(examples(X, np.array([2, 0, 2, 1, 0, 1])), X[[1, 3, 0]])
    assert np.array_equal(examples(X, None, count=2), X[:2])


@needs_matplotlib
def test_pictures_of_a_denoising_and_a_deep_run(tmp_path, capsys):
    from matplotlib.image import imread
    plain, noisy, deep = tmp_path / "plain", tmp_path / "noisy", tmp_path / "deep"
    assert run([*TINY, "--epochs", "1", "--out", str(plain)]) == 0
    assert run([*TINY, "--epochs", "1", "--noise", "gaussian:0.2", "--out", str(noisy)]) == 0
    assert run(["--hidden", "12,6", "--batch-size", "128", "--epochs", "1", "--out", str(deep)]) == 0
    # three rows of images (original, corrupted, reconstruction) instead of two: a taller picture
    assert imread(noisy / "reconstructions.png").shape[0] > imread(plain / "reconstructions.png").shape[0] * 1.3
    # filters.png of the deep model: its first layer's 12 units (a 4 x 4 grid, like 16 units of one layer)
    assert imread(deep / "filters.png").shape[0] > 100
