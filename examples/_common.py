"""What every example shares: its command line (--quick, --out, --seed) and optional plotting.

Import it before numpy: it asks BLAS for one thread (unless you set the variables yourself).
The examples' matrices are small (at most 1438 x 256), where BLAS threads cost more than they
save, and on a busy two-core machine their spinning made runs several times slower.
"""
import argparse
import os
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

PLOT_HINT = 'pip install ".[plot]"  (from the project folder; or: pip install matplotlib)'


def parse_args(name, description, argv=None):
    """--quick (a few seconds), --out (where pictures go), --seed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a few seconds instead of up to a minute")
    parser.add_argument("--out", default=os.path.join("runs", "examples", name),
                        help="folder for the pictures (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    args.out = Path(args.out)
    return args


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no window), or None if matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def skip_plots(what):
    print(f"matplotlib is not installed, so {what} was skipped; to get it: {PLOT_HINT}")


def save_figure(fig, path):
    """Save a figure atomically (temporary file in the same folder, then rename) and close it."""
    from tinygrad_ae.fileio import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(path, lambda f: fig.savefig(f, format=path.suffix[1:], dpi=110, bbox_inches="tight"))
    finally:
        pyplot().close(fig)
    print(f"wrote {path}")


def image_grid(plt, rows, image_shape, row_titles, title, signed=False):
    """A figure with one row of small images per entry of `rows` (each an (count, pixels) array).

    Pixels in [0, 1] are drawn in grey; signed=True draws weights in red/blue, each image scaled
    to its own largest magnitude (white is 0)."""
    count = max(len(images) for images in rows)
    fig, axes = plt.subplots(len(rows), count, figsize=(count * 0.9, len(rows) * 1.0 + 0.4), squeeze=False)
    for r, (images, row_title) in enumerate(zip(rows, row_titles)):
        for c in range(count):
            ax = axes[r][c]
            if c >= len(images):  # a shorter row leaves its last cells empty
                ax.axis("off")
                continue
            image = images[c].reshape(image_shape)
            if signed:
                scale = max(float(abs(image).max()), 1e-12)
                ax.imshow(image, cmap="RdBu_r", vmin=-scale, vmax=scale)
            else:
                ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(row_title, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig
