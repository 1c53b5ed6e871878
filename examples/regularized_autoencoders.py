"""Beyond the identity: regularized autoencoders on the digits, and deep autoencoders on Fashion-MNIST.

Part 1, the lecture's over-complete problem (--part digits). With k = 128 hidden units for n = 64 pixels
nothing stops the autoencoder from copying its input. Six models, the same network and optimizer:
plain, weight decay, denoising (mask 0.3 and 0.5), sparse (rho 0.05, beta 3) and contractive (lambda 0.1),
each measured on the held-out 20% of the digits:
  * test error: squared error summed over the 64 pixels, mean over the test rows, on clean inputs and on
    inputs with 30% of the pixels set to 0 (compared with the clean image: can it fill the holes?);
  * noise error: the error on random images relative to their variance: ~0 means it copies anything;
  * pass-through: the mean diagonal of d x_hat / d x (1: every pixel goes straight through to itself);
  * mean activation of the hidden units, and the fraction of saturated activations (h < 0.05 or h > 0.95);
  * the filters (each hidden unit's input weights), in regularized_filters.png.

Part 2, Hinton & Salakhutdinov's comparison on Fashion-MNIST (--part fashion; needs Debian's
dataset-fashion-mnist). Error in their units: squared error summed over the 784 pixels in [0, 1], mean over
the 10,000 test images; every model trains on the 60,000 training images only. PCA-30, a linear 30-unit
autoencoder, the lecture's one-hidden-layer autoencoder with k = 30, and the deep 784-1000-500-250-30
autoencoder (logistic hidden layers, linear code, logistic output with cross-entropy, plain Adam, no
pretraining), with ReLU hidden layers beside it. Each deep model trains for at most --minutes minutes.
--models runs some of them (e.g. the two deep ones in two processes); results go to <out>/fashion-<name>.json
and --part report prints the table from those files.

Run:  python examples/regularized_autoencoders.py                    (both parts; --quick: a few seconds)
      python examples/regularized_autoencoders.py --part fashion --models deep-logistic --minutes 30
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (before numpy: it sets the BLAS thread count)

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from tinygrad_ae import Autoencoder, Tensor, data, no_grad, reference  # noqa: E402

# ---------------------------------------------------------------- part 1: the over-complete digits

DIGIT_MODELS = {                       # name -> the Autoencoder arguments beyond the shared ones
    "plain": {},
    "weight decay 1e-3": {"weight_decay": 1e-3},
    "denoising mask 0.3": {"noise": "mask", "noise_level": 0.3},
    "denoising mask 0.5": {"noise": "mask", "noise_level": 0.5},
    "sparse 0.05, beta 3": {"sparsity": 0.05, "sparsity_weight": 3.0},
    "contractive 0.1": {"contractive": 0.1},
}
K = 128                               # > 64 pixels: over-complete


def saturation(h):
    return float(np.mean((h < 0.05) | (h > 0.95)))


def pass_through(ae, X, pixels):
    """Mean diagonal of d x_hat / d x = W* diag(h (1 - h)) W over the given pixels, averaged over X's rows."""
    with no_grad():
        h = ae.encode(X).numpy()
    slope = (h * (1 - h)).mean(axis=0)
    diagonal = np.einsum("ju,u,uj->j", ae.decoder.weight.numpy(), slope, ae.encoder.weight.numpy())
    return float(diagonal[pixels].mean())


def squared_error(ae, X_in, X_target):
    with no_grad():
        return float(np.mean(np.sum((ae(X_in).numpy().astype(np.float64) - X_target) ** 2, axis=1)))


def digits_part(args):
    epochs = 5 if args.quick else 150
    X, _ = data.load_digits()
    X_train, X_test = data.train_val_split(X, 0.2, seed=0)
    n = X.shape[1]
    used = X_train.std(axis=0) > 0
    rng = np.random.default_rng(args.seed + 1)
    masked = X_test * (rng.random(X_test.shape) >= 0.3).astype(np.float32)      # the same holes for every model
    noise = rng.random((500, n)).astype(np.float32) * used
    noise_var = float(np.sum((noise - noise.mean(axis=0)) ** 2))
    print(f"part 1: the digits, n = {n} pixels, k = {K} hidden units (over-complete), sigmoid encoder, linear "
          f"decoder, squared error; {len(X_train)} training rows, {len(X_test)} test rows; Adam lr 3e-3, "
          f"batch 32, {epochs} epochs each")
    header = ("| model | test error, clean | test error, 30% masked | noise error | pass-through | mean activation "
              "| saturated | seconds |")
    table = [header, "|" + "---|" * 8]
    models = {}
    for name, extra in DIGIT_MODELS.items():
        ae = Autoencoder(n, K, encoder="sigmoid", decoder="linear", seed=args.seed, **extra)
        started = time.perf_counter()
        ae.fit(X_train, epochs=epochs, batch_size=32, lr=3e-3, seed=args.seed)
        seconds = time.perf_counter() - started
        ae.eval()
        with no_grad():
            h = ae.encode(X_test).numpy()
            x_hat = ae(noise).numpy()
        row = (squared_error(ae, X_test, X_test), squared_error(ae, masked, X_test),
               float(np.sum((x_hat - noise) ** 2)) / noise_var, pass_through(ae, X_test, used),
               float(h.mean()), saturation(h))
        table.append(f"| {name} | {row[0]:.3f} | {row[1]:.3f} | {row[2]:.3f} | {row[3]:.3f} | {row[4]:.3f} "
                     f"| {row[5]:.1%} | {seconds:.0f} |")
        print(table[-1], flush=True)
        models[name] = ae
    pca = reference.pca_error(X_train, X_test, n)
    print(f"(PCA with all {n} components reconstructs exactly: error {pca:.2g}; the mean image alone: "
          f"{reference.pca_error(X_train, X_test, 0):.3f})")
    print("\n" + "\n".join(table))
    draw_filters(models, used, args.out / "regularized_filters.png")


def draw_filters(models, used, path):
    plt = _common.pyplot()
    if plt is None:
        _common.skip_plots(path.name)
        return
    rows = []
    for ae in models.values():
        W = ae.encoder.weight.numpy() * used        # pixels no digit uses keep their random initial weights: hidden
        order = np.argsort(-np.linalg.norm(W, axis=1))[:16]         # the 16 units with the largest weights
        rows.append(W[order])
    fig = _common.image_grid(plt, rows, (8, 8), list(models), "the 16 strongest filters of each model (k = 128; "
                             "pixels no digit uses left blank): red +, blue -", signed=True)
    _common.save_figure(fig, path)


# ---------------------------------------------------------------- part 2: Fashion-MNIST, H&S's units

def deep_model(encoder, seed):
    return Autoencoder(784, (1000, 500, 250, 30), encoder=encoder, code_activation="linear", decoder="sigmoid",
                       seed=seed)


FASHION_MODELS = {   # name -> (label, builder(seed), batch size, lr, epochs, time-limited?)
    "linear-30": ("linear autoencoder, 30 units (linear decoder, squared error)",
                  lambda seed: Autoencoder(784, 30, encoder="linear", decoder="linear", seed=seed), 256, 1e-3, 100,
                  False),
    "lecture-30": ("lecture autoencoder, k = 30 (sigmoid encoder, linear decoder, squared error)",
                   lambda seed: Autoencoder(784, 30, encoder="sigmoid", decoder="linear", seed=seed), 256, 1e-3, 100,
                   False),
    "lecture-30-logistic": ("lecture autoencoder, k = 30 (sigmoid encoder, logistic decoder, cross-entropy)",
                            lambda seed: Autoencoder(784, 30, encoder="sigmoid", decoder="sigmoid", seed=seed), 256,
                            1e-3, 100, False),
    "deep-logistic": ("deep 784-1000-500-250-30, logistic hidden layers (the paper's)",
                      lambda seed: deep_model("sigmoid", seed), 128, 1e-3, 1000, True),
    "deep-relu": ("deep 784-1000-500-250-30, ReLU hidden layers",
                  lambda seed: deep_model("relu", seed), 128, 1e-3, 1000, True),
}


def test_error(ae, X_test):
    ae.eval()
    total = 0.0
    with no_grad():
        for start in range(0, len(X_test), 1000):
            batch = X_test[start:start + 1000]
            total += float(np.sum((ae(batch).numpy().astype(np.float64) - batch) ** 2))
    return total / len(X_test)


def fashion_part(args):
    if not data.FASHION_MNIST_DIR.is_dir():
        print(f"part 2 skipped: Fashion-MNIST is not in {data.FASHION_MNIST_DIR}; install it with "
              "`apt-get install dataset-fashion-mnist`")
        return
    X_train, _ = data.load_fashion_mnist(split="train")
    X_test, y_test = data.load_fashion_mnist(split="test")
    if args.quick:
        X_train, X_test, y_test = X_train[:2000], X_test[:500], y_test[:500]
    names = args.models or (["pca-30"] + list(FASHION_MODELS))
    print(f"part 2: Fashion-MNIST, {len(X_train)} training images, {len(X_test)} test images; error = squared "
          "error summed over 784 pixels in [0, 1], mean over the test images")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        result = run_fashion_model(name, X_train, X_test, y_test, args)
        (args.out / f"fashion-{name}.json").write_text(json.dumps(result, indent=1))
    report(args)


def run_fashion_model(name, X_train, X_test, y_test, args):
    if name == "pca-30":
        started = time.perf_counter()
        error = reference.pca_error(X_train, X_test, 30)
        seconds = time.perf_counter() - started
        print(f"PCA-30: test error {error:.3f} ({seconds:.1f} s)", flush=True)
        return {"name": name, "label": "PCA, 30 components", "error": error, "seconds": seconds, "epochs": None}
    label, build, batch, lr, epochs, limited = FASHION_MODELS[name]
    if args.quick:
        epochs, limited = 1, False
    ae = build(args.seed)
    budget = args.minutes * 60
    curve = []

    def after_epoch(epoch, history):
        error = test_error(ae, X_test)
        curve.append((epoch + 1, round(sum(history["seconds"]), 1), error))
        print(f"{name}: epoch {epoch + 1}, {sum(history['seconds']):.0f} s, test error {error:.3f}", flush=True)
        return not (limited and sum(history["seconds"]) >= budget)

    history = ae.fit(X_train, epochs=epochs, batch_size=batch, lr=lr, seed=args.seed, callback=after_epoch)
    seconds = sum(history["seconds"])
    result = {"name": name, "label": label, "error": curve[-1][2], "best": min(e for *_, e in curve),
              "seconds": seconds, "epochs": len(history["train"]), "batch_size": batch, "lr": lr,
              "epoch_seconds": seconds / len(history["train"]), "curve": curve}
    print(f"{name}: test error {result['error']:.3f} after {result['epochs']} epochs, {seconds / 60:.1f} min",
          flush=True)
    if name.startswith("deep"):
        draw_fashion(ae, X_test, y_test, args.out / f"fashion_{name}.png", label)
    return result


def draw_fashion(ae, X_test, y_test, path, label):
    plt = _common.pyplot()
    if plt is None:
        _common.skip_plots(path.name)
        return
    _, first = np.unique(y_test, return_index=True)
    X = X_test[first]
    with no_grad():
        X_hat = ae(X).numpy()
    fig = _common.image_grid(plt, [X, X_hat], (28, 28), ["test image", "reconstruction"],
                             f"{label}: one test image of each class")
    _common.save_figure(fig, path)


def report(args):
    results = [json.loads(p.read_text()) for p in sorted(args.out.glob("fashion-*.json"))]
    if not results:
        print(f"no results in {args.out}: run --part fashion first")
        return
    order = ["pca-30"] + list(FASHION_MODELS)
    results.sort(key=lambda r: order.index(r["name"]) if r["name"] in order else len(order))
    pca = next((r["error"] for r in results if r["name"] == "pca-30"), None)
    table = ["| model | test error | x PCA-30 | training time | epochs |", "|---|---|---|---|---|"]
    for r in results:
        ratio = f"{r['error'] / pca:.2f}" if pca else "n/a"
        time_text = f"{r['seconds']:.1f} s" if r["seconds"] < 120 else f"{r['seconds'] / 60:.1f} min"
        epochs = "" if r["epochs"] is None else str(r["epochs"])
        if r.get("epoch_seconds"):
            epochs += f" ({r['epoch_seconds']:.0f} s each)"
        table.append(f"| {r['label']} | {r['error']:.2f} | {ratio} | {time_text} | {epochs} |")
    print("\n" + "\n".join(table))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: few epochs, a slice of Fashion-MNIST")
    parser.add_argument("--out", default=str(Path("runs") / "examples" / "regularized_autoencoders"),
                        help="folder for the pictures and the Fashion-MNIST results (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--part", choices=("digits", "fashion", "report", "all"), default="all")
    parser.add_argument("--models", nargs="+", choices=["pca-30", *FASHION_MODELS],
                        help="the Fashion-MNIST models to run (default: all)")
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="training time limit of each deep model, in minutes (default: %(default)s)")
    args = parser.parse_args(argv)
    args.out = Path(args.out)
    if args.part in ("digits", "all"):
        digits_part(args)
    if args.part in ("fashion", "all"):
        fashion_part(args)
    if args.part == "report":
        report(args)


if __name__ == "__main__":
    main()
