"""The convolutional autoencoder on Fashion-MNIST against PCA-30, the lecture's dense autoencoder and the deep
dense one, each trained for the same wall-clock time.

Every model trains on the 60,000 training images and is judged on the 10,000 test images by the squared error
summed over the 784 pixels (in [0, 1]), mean over the images, as docs/experiments.md's part 2. The models,
each with a 30-number code, Adam, one BLAS thread, float32, their steps as tg.compile programs:

    conv      tg.ConvAutoencoder((28, 28), code_size=30): Conv2d(1,16,3,s2,p1)-ReLU-Conv2d(16,32,3,s2,p1)-ReLU-
              Linear(1568,30) | Linear(30,1568)-ReLU-ConvTranspose2d(32,16)-ReLU-ConvTranspose2d(16,1)-sigmoid,
              cross-entropy; batch 64, lr 1e-3
    lecture   tg.Autoencoder(784, 30, sigmoid encoder, sigmoid decoder, cross-entropy); batch 256, lr 1e-3
    deep      tg.Autoencoder(784, (1000, 500, 250, 30), ReLU hidden layers, linear code, sigmoid decoder,
              cross-entropy); batch 128, lr 1e-3
    PCA-30    fitted on the training images (no budget: it is one eigendecomposition)

The budget counts the training steps only (not the test evaluations along the way); a model stops at the
first step that ends past it, in mid-epoch if it comes to that. The table also gives the CPU time the process
got during those steps: on a machine shared with other work, the steadier measure of what each model was given.

Run:  python examples/conv_fashion_mnist.py --minutes 4      (needs Debian's dataset-fashion-mnist)
      python examples/conv_fashion_mnist.py --quick          (the embedded 8x8 digits, 80/20, seconds)
Results go to <out>/conv_fashion_mnist.json.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (before numpy: it sets the BLAS thread count)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_ae as tg  # noqa: E402
from tinygrad_ae import data, reference  # noqa: E402
from tinygrad_ae.data.rows import iterate_minibatches  # noqa: E402

CODE = 30
MODELS = {   # name: (what the table calls it, builder(image_shape, seed), batch size, learning rate)
    "conv": ("convolutional, ConvAutoencoder(code 30): 2 conv down, 2 transposed up",
             lambda shape, seed: tg.ConvAutoencoder(shape, CODE, seed=seed), 64, 1e-3),
    "lecture": ("lecture autoencoder, k = 30 (sigmoid encoder, logistic decoder, cross-entropy)",
                lambda shape, seed: tg.Autoencoder(shape[0] * shape[1], CODE, "sigmoid", "sigmoid", seed=seed),
                256, 1e-3),
    "deep": ("deep 784-1000-500-250-30, ReLU hidden layers, logistic decoder",
             lambda shape, seed: tg.Autoencoder(shape[0] * shape[1], (1000, 500, 250, CODE), "relu", "sigmoid",
                                                code_activation="linear", seed=seed), 128, 1e-3),
}


def load(quick):
    """(X_train, X_test, image shape, name): Fashion-MNIST's official split, or with --quick the digits 80/20."""
    if quick:
        X_train, X_test = data.train_val_split(data.load_digits()[0], 0.2, 0)
        return X_train, X_test, (8, 8), "digits (8x8, 80/20 split)"
    return (data.load_fashion_mnist()[0], data.load_fashion_mnist(split="test")[0], (28, 28),
            "Fashion-MNIST (official split)")


def squared_error(model, X, batch_size=1000):
    """The squared error summed over the pixels, mean over the rows of X (any of the models), no graph."""
    total = 0.0
    with tg.no_grad():
        for start in range(0, len(X), batch_size):
            x = X[start:start + batch_size]
            diff = model(tg.Tensor(x)).numpy().reshape(len(x), -1).astype(np.float64) - x
            total += float(np.einsum("ij,ij->", diff, diff))
    return total / len(X)


def train_for(model, X_train, X_test, seconds, batch_size, lr, seed):
    """Adam steps on shuffled minibatches until `seconds` of stepping have passed. Returns a dict: the test error
    at the end and after each epoch that ends a tenth of the budget after the last evaluation, the steps, the
    epochs (fractional) and the seconds of stepping."""
    X_train, X_test = model.check_data(X_train), model.check_data(X_test)
    opt = tg.optim.Adam(model.parameters(), lr=lr)
    step = model.training_step(opt)                 # a tg.compile step, as fit runs it
    rng, spent, steps, per_epoch, curve = np.random.default_rng(seed), 0.0, 0, -(-len(X_train) // batch_size), []
    cpu = 0.0                                       # this process's CPU time in the steps: what a busy machine gave
    model.train()
    while spent < seconds:
        for batch in iterate_minibatches(X_train, batch_size, True, rng):
            started, cpu_started = time.perf_counter(), time.process_time()
            loss = step(tg.Tensor(batch)).item()
            spent += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            steps += 1
            if not np.isfinite(loss):
                raise tg.TrainingDiverged(loss, steps // per_epoch + 1, steps % per_epoch, lr)
            if spent >= seconds:
                break
        if spent >= seconds or not curve or spent - curve[-1][1] >= seconds / 10:   # about ten points
            model.eval()
            curve.append((steps / per_epoch, spent, squared_error(model, X_test)))
            model.train()
    model.eval()
    return {"test_error": curve[-1][2], "steps": steps, "epochs": steps / per_epoch, "seconds": spent, "cpu": cpu,
            "curve": [{"epochs": e, "seconds": s, "test_error": v} for e, s, v in curve]}


def table(results, pca_name):
    """The results as a markdown table, PCA first, each error also as a multiple of PCA's."""
    pca = results[pca_name]["test_error"]
    lines = ["| model | test error | x PCA-30 | training time | CPU time | steps | epochs |",
             "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        steps = "" if r.get("steps") is None else str(r["steps"])
        epochs = "" if r.get("epochs") is None else f"{r['epochs']:.2f}"
        cpu = "" if r.get("cpu") is None else f"{r['cpu']:.1f} s"
        lines.append(f"| {r['label']} | {r['test_error']:.3f} | {r['test_error'] / pca:.3f} | {r['seconds']:.1f} s "
                     f"| {cpu} | {steps} | {epochs} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the digits, 1.5 s per model: a few seconds")
    parser.add_argument("--minutes", type=float, default=4.0, help="training time of each model (default 4)")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS), help="which to train")
    parser.add_argument("--seed", type=int, default=0, help="initial weights and batch order (default 0)")
    parser.add_argument("--out", default=os.path.join("runs", "examples", "conv_fashion_mnist"))
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error(f"--minutes must be positive, got {args.minutes:g}")
    seconds = 1.5 if args.quick else 60 * args.minutes
    X_train, X_test, shape, name = load(args.quick)
    print(f"{name}: {len(X_train)} training rows, {len(X_test)} test rows; each model trains for {seconds:g} s "
          f"of steps (Adam, float32, one BLAS thread); test error = squared error per image", flush=True)
    started = time.perf_counter()
    mean, components = reference.pca_components(X_train.astype(np.float64), CODE)
    rebuilt = mean + (X_test - mean) @ components.T @ components
    results = {"pca": {"label": f"PCA, {CODE} components", "test_error": float(((rebuilt - X_test) ** 2).sum(1).mean()),
                       "seconds": time.perf_counter() - started}}
    for key in args.models:
        label, build, batch_size, lr = MODELS[key]
        tg.manual_seed(args.seed)
        model = build(shape, args.seed)
        results[key] = {"label": label, "batch_size": batch_size, "lr": lr,
                        **train_for(model, X_train, X_test, seconds, batch_size, lr, args.seed)}
        r = results[key]
        print(f"{key}: test error {r['test_error']:.3f} after {r['steps']} steps ({r['epochs']:.2f} epochs, "
              f"{r['seconds']:.1f} s, {r['cpu']:.1f} s CPU); along the way (epochs: error): "
              + ", ".join(f"{c['epochs']:.1f}: {c['test_error']:.2f}" for c in r["curve"]), flush=True)
    print(table(results, "pca"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "conv_fashion_mnist.json").write_text(json.dumps({"data": name, "seconds_per_model": seconds,
                                                             "seed": args.seed, "results": results}, indent=1))
    print(f"wrote {out / 'conv_fashion_mnist.json'}")


if __name__ == "__main__":
    main()
