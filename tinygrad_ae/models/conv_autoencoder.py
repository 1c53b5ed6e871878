"""The convolutional autoencoder: the lecture's autoencoder with convolutions in place of the dense layers.

For images of H x W pixels and the defaults channels=(16, 32), code_size=30 (on 28x28: 28 -> 14 -> 7):

    encoder   Conv2d(1, 16, 3, stride=2, padding=1) - ReLU - Conv2d(16, 32, 3, stride=2, padding=1) - ReLU
              - Flatten - Linear(32 * h * w, 30)                                   h = the code, linear
    decoder   Linear(30, 32 * h * w) - ReLU - Unflatten(1, (32, h, w))
              - ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=p1) - ReLU
              - ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=p2)   a2, the logits
    output    x_hat = f(a2): sigmoid (with cross-entropy, the default for pixels in [0, 1]) or linear
              (with squared error), the lecture's pairing (spec.pair)

Each stride-2 layer takes a side s to ceil(s / 2); each transposed one gives back 2 s' - 1 + p, so its
output_padding p is 1 for an even side and 0 for an odd one, and any H x W comes back whole (8x8: 8 -> 4
-> 2 and back; 28x28: 28 -> 14 -> 7 and back). code_size=None leaves out the two Linear layers: the code
is then the (32, h, w) feature map (on 28x28 that is 1,568 numbers, more than the 784 pixels).

The layers are torch's (nn.Conv2d ... with torch's initialization, drawn from the model's generator), in two
nn.Sequential, so the state dict has torch's names (encoder.0.weight, encoder.2.weight, encoder.5.weight,
decoder.0.weight, decoder.3.weight, decoder.5.weight) and loads into the same nn.Sequential in PyTorch.
The loss is the lecture's normalization: summed over the pixels, averaged over the images; cross-entropy
is computed from the logits a2, so it never takes log(0).

Inputs are images (N, 1, H, W) or rows of H*W pixels (N, H*W), as the data sets give them; forward answers
in the layout it was given. check_data returns rows (the loop batches rows); encode reshapes them.
Training runs the package's one loop (training/loop.py), as the VAE and MADE do (batch_terms, step_inputs).
"""
import numpy as np

from .. import nn, random
from .. import functional as F
from ..data.rows import validate_rows
from . import steps
from ..engine.tensor import Tensor, no_grad
from . import spec

OWNER = "ConvAutoencoder"
KERNEL, STRIDE, PADDING = 3, 2, 1


def _positive_ints(what, value, count=None):
    """value as a tuple of positive ints (an int: one of them), or a ValueError naming `what`."""
    values = (value,) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
    except TypeError:
        values = None
    if (not values or (count is not None and len(values) != count)
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in values)):
        want = f"{count} positive whole numbers" if count else "positive whole numbers"
        raise ValueError(f"{OWNER}: {what} must be {want}, got {value!r}")
    return tuple(int(v) for v in values)


def downsampled(side, layers):
    """The sides a side goes through, layer by layer: s, ceil(s / 2), ... (kernel 3, stride 2, padding 1)."""
    sides = [side]
    for _ in range(layers):
        sides.append((sides[-1] - 1) // STRIDE + 1)
    return sides


class ConvAutoencoder(nn.Module):
    """Conv2d-ReLU layers down to a linear code, ConvTranspose2d layers back up, f on the output."""

    history_terms = ()              # the objective is the reconstruction term: nothing else kept per epoch

    def __init__(self, image_shape=(28, 28), code_size=30, channels=(16, 32), decoder="sigmoid", loss=None,
                 dtype=np.float32, seed=None):
        self.image_shape = _positive_ints("image_shape (height, width)", image_shape, 2)
        self.channels = _positive_ints("channels (one per stride-2 layer, e.g. (16, 32))", channels)
        self.code_size = None if code_size is None else _positive_ints("code_size", code_size, 1)[0]
        self.decoder_activation = spec.check("decoder", decoder, spec.DECODERS, OWNER)
        self.loss_name = spec.pair(decoder, loss, OWNER)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"{OWNER}: dtype must be a floating type such as np.float32, got {self.dtype}")
        # the model's generator: the initial weights (torch's start for every layer), as Autoencoder's
        self.generator = rng = random.numpy_generator(random.child_seed() if seed is None else seed)
        heights, widths = (downsampled(s, len(self.channels)) for s in self.image_shape)
        self.feature_shape = (self.channels[-1], heights[-1], widths[-1])
        sizes = (1,) + self.channels
        down, up = [], []
        for a, b in zip(sizes, sizes[1:]):
            down += [nn.Conv2d(a, b, KERNEL, STRIDE, PADDING, dtype=self.dtype, rng=rng), nn.ReLU()]
        for i, (a, b) in enumerate(reversed(list(zip(sizes, sizes[1:])))):
            level = len(self.channels) - i                 # the side this layer gives back: that of level - 1
            extra = tuple(1 - s[level - 1] % 2 for s in (heights, widths))
            up += [nn.ConvTranspose2d(b, a, KERNEL, STRIDE, PADDING, output_padding=extra, dtype=self.dtype, rng=rng),
                   nn.ReLU()]
        up.pop()                                            # the last layer's output is a2, before f
        if self.code_size is not None:
            features = int(np.prod(self.feature_shape))
            down += [nn.Flatten(), nn.Linear(features, self.code_size, dtype=self.dtype, rng=rng)]
            up = [nn.Linear(self.code_size, features, dtype=self.dtype, rng=rng), nn.ReLU(),
                  nn.Unflatten(1, self.feature_shape)] + up
        self.encoder, self.decoder = nn.Sequential(*down), nn.Sequential(*up)
        self.n_inputs = self.image_shape[0] * self.image_shape[1]
        self._output_activation = None if decoder == "linear" else getattr(Tensor, decoder)

    def __repr__(self):
        return (f"ConvAutoencoder(image_shape={self.image_shape}, code_size={self.code_size}, "
                f"channels={self.channels}, decoder={self.decoder_activation!r}, loss={self.loss_name!r}, "
                f"dtype={self.dtype})")

    # ----- inputs ------------------------------------------------------------------------------------
    def _expected(self):
        h, w = self.image_shape
        return f"images of shape (N, 1, {h}, {w}) or rows of {h * w} pixels, shape (N, {h * w})"

    def _rows_of(self, shape, what):
        """The number of images in an input of this shape, or a ValueError naming the shape expected."""
        h, w = self.image_shape
        if (len(shape) == 4 and tuple(shape[1:]) == (1, h, w)) or (len(shape) == 2 and shape[1] == h * w):
            return shape[0]
        hint = ""
        if len(shape) == 3 and tuple(shape[1:]) == (h, w):
            hint = ": add the channel dimension, x.reshape(len(x), 1, %d, %d)" % (h, w)
        elif len(shape) == 4 and shape[1] != 1:
            hint = f": the model takes one channel (grey images), not {shape[1]}"
        raise ValueError(f"{OWNER}: {what} must be {self._expected()}, got shape {tuple(shape)}{hint}")

    def _as_images(self, x, what="x"):
        """x as a Tensor of images (N, 1, H, W) (a view of rows)."""
        if not isinstance(x, Tensor):
            x = Tensor(self._checked(x, what))
        self._rows_of(x.shape, what)
        return x if x.ndim == 4 else x.reshape(x.shape[0], 1, *self.image_shape)

    def _checked(self, X, what):
        """X (an array of images or rows) as rows of this model's dtype: finite numbers, the right shape."""
        if not isinstance(X, np.ndarray) and callable(getattr(X, "numpy", None)):
            X = X.numpy()
        X = np.asarray(X)
        n = self._rows_of(X.shape, what) if X.ndim != 2 else X.shape[0]
        rows = validate_rows(X.reshape(n, -1) if X.ndim != 2 else X, self.n_inputs, what)
        return rows.astype(self.dtype, copy=False)

    def check_data(self, X, what="X"):
        """X as rows (N, H*W) of this model's dtype, or a ValueError that says what is wrong with it (the
        shape expected; values outside [0, 1] for cross-entropy)."""
        X = self._checked(X, what)
        if self.loss_name == "bce":
            spec.check_targets(X, what)
        return X

    # ----- the model ---------------------------------------------------------------------------------
    def encode(self, x):
        """The code h of every image of x: (N, code_size), or the (N, C, h, w) feature map (code_size=None)."""
        return self.encoder(self._as_images(x))

    def decode_logits(self, h):
        """a2, the last transposed convolution's output (N, 1, H, W), before f."""
        h = h if isinstance(h, Tensor) else Tensor(np.asarray(h, self.dtype))
        want = (self.code_size,) if self.code_size is not None else self.feature_shape
        if h.ndim != 1 + len(want) or tuple(h.shape[1:]) != want:
            raise ValueError(f"{OWNER}.decode: the code must have shape (N, {', '.join(map(str, want))}), "
                             f"got {tuple(h.shape)}")
        return self.decoder(h)

    def decode(self, h):
        """x_hat = f(a2) as images (N, 1, H, W)."""
        a2 = self.decode_logits(h)
        return a2 if self._output_activation is None else self._output_activation(a2)

    def forward(self, x):
        """The reconstruction of x, in x's layout: images for images, rows for rows."""
        rows = len(x.shape if isinstance(x, Tensor) else np.shape(x)) == 2
        x_hat = self.decode(self.encode(x))
        return x_hat.reshape(x_hat.shape[0], self.n_inputs) if rows else x_hat

    # ----- the objective -----------------------------------------------------------------------------
    def loss(self, x):
        """The lecture's reconstruction term on a batch: summed over the pixels, mean over the images."""
        x = self._as_images(x)
        if self.loss_name == "bce":
            spec.check_targets(x.data, "x")
        return self._loss(x)

    reconstruction_loss = loss      # no penalties: the objective is the reconstruction term

    def _loss(self, x):
        """loss() without checks, for a batch that check_data() has passed (rows or images)."""
        x = self._as_images(x)
        if self.loss_name == "bce":
            return F.binary_cross_entropy_with_logits(self.decode_logits(self.encode(x)), x, reduction="batchmean")
        return F.mse_loss(self.decode(self.encode(x)), x, reduction="batchmean")

    def squared_error(self, X, batch_size=1024):
        """The squared error summed over the pixels, mean over the images of X, whatever the loss (the
        number PCA and the dense models are compared by); no graph."""
        X = self._checked(X, "X")
        total = 0.0
        with no_grad():
            for start in range(0, len(X), batch_size):
                x = X[start:start + batch_size]
                diff = self(Tensor(x)).numpy().astype(np.float64) - x
                total += float(np.einsum("ij,ij->", diff, diff))
        return total / len(X)

    # ----- training: the loop is training/loop.py's (as the VAE's and MADE's) ------------------------
    def step_inputs(self, x):
        """What a training step takes beside the batch: nothing (no noise is drawn)."""
        return ()

    def batch_terms(self, x, rng=None):
        """{"objective": the reconstruction term} on a checked batch (the loop's evaluation adds them up)."""
        return {"objective": self._loss(x)}

    def training_step(self, optimizer, compile=True):
        """step(x): zero_grad, loss, backward, step on a checked batch; a tg.compile step by default (captured
        at its second and third calls, then replayed with its default backend; tg.compile warns and stays
        eager, saying why, if it cannot replay the step)."""
        return steps.training_step(self, optimizer, type(self)._loss, compile)

    def fit(self, X, epochs=10, batch_size=64, lr=1e-3, optimizer="adam", shuffle=True, seed=None,
            X_val=None, callback=None, *, on_step=None, history=None, compile=True):
        """Minibatch training through the package's one loop (training.loop.fit), as Autoencoder.fit:
        history {"train", "val", "seconds"} of the reconstruction term per image; hooks on_step and callback;
        TrainingDiverged on a NaN or inf loss."""
        from ..training import loop
        return loop.fit(self, X, epochs, batch_size, lr, optimizer, shuffle, seed, X_val, callback,
                        on_step=on_step, history=history, compile=compile)

    def evaluate(self, X, batch_size=1024):
        """The reconstruction term on all of X (the model's loss, per image), without building a graph."""
        from ..training import loop
        return loop.evaluate(self, X, batch_size)
