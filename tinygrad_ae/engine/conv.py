"""The derivative table, continued: convolutions (ops.py imports the names, under its banner).

Three primitives, one family of bilinear maps, each written once and each the others' derivative.
With xp the input x zero-padded by p, stride s, dilation d and G groups (channels split evenly):

    Conv2d(x, w)           y[n,o,a,b] = sum_{c,i,j} w[o,c,i,j] xp[n,c, s a + d i, s b + d j]
    ConvTranspose2d(y, w)  the adjoint of Conv2d in x: <y, Conv2d(x, w)> = <ConvTranspose2d(y, w), x>
    Conv2dWeight(x, y)     the adjoint of Conv2d in w: <y, Conv2d(x, w)> = <Conv2dWeight(x, y), w>

so every backward is a member of the family (dL/dx of a convolution is a transposed convolution, dL/dw
a correlation), and on Tensors (create_graph) it is applied as a primitive: every order goes through.
Conv2d and ConvTranspose2d take an optional bias (one per output channel, its gradient a sum).

How (no Python loop over pixels, batch or channels): the arrays are worked on batch innermost, as
(C, H, W, N) memory (a tensor of shape (N, C, H, W) whose strides say so; the outputs are such views).
The windows of the padded input are one as_strided view (G, C/G, kh, kw, Ho, Wo, N), copied once into
columns (G, K, Ho*Wo*N), K = C/G kh kw (im2col), and the convolution is one matrix product per group
with the weight as (G, O/G, K). The transposed convolution is the product the other way, (K, O/G)
times y, whose columns are added back onto the padded output, one strided slice per kernel offset (kh
kw adds: col2im). Batch innermost makes every copy and add run over N contiguous numbers (not over a
row of Wo, 7 at the autoencoder's second layer), and each product one large GEMM: measured ~9% off
the benchmark's step (benchmarks/RESULTS.md, issue 21). No window buffer is saved: backward recomputes
the columns from the input.
Constants: stride, padding, dilation (pairs of ints), groups; the transposed one takes the output's
spatial `size` (which output_padding chose), the weight one the `kernel` size.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .ops import Function


def _call(op, *inputs, **constants):
    """op on inputs: its forward on plain data; applied (a graph node) when an input is a Tensor."""
    if any(type(x).__module__ == __package__ + ".tensor" for x in inputs):
        from .tensor import apply
        return apply(op, *inputs, **constants)
    return op().forward(*inputs, **constants)


def out_size(size, kernel, stride, padding, dilation):
    """The output length of a convolution along one spatial dim (torch's formula)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _padded(x, padding):
    """x (N, C, H, W) as (C, H, W, N), zero-padded in H and W: batch innermost (see the docstring)."""
    ph, pw = padding
    xt = x.transpose(1, 2, 3, 0)                # a view; no copy when x is already batch-innermost
    if not (ph or pw):
        return xt
    c, h, w, n = xt.shape
    # zeros_like (not np.zeros): a captured step sees the buffer made, and the copy into it
    xp = np.zeros_like(x, shape=(c, h + 2 * ph, w + 2 * pw, n))
    xp[:, ph:ph + h, pw:pw + w] = xt
    return xp


def _columns(x, kernel, stride, padding, dilation, groups, out_hw):
    """im2col: the windows of padded x as columns (G, K, Ho*Wo*N), one copy."""
    xp = _padded(x, padding)
    c, _, _, n = xp.shape
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    bc, bh, bw, bn = xp.strides
    cg = c // groups
    windows = as_strided(xp, (groups, cg, kh, kw, ho, wo, n),
                         (cg * bc, bc, dh * bh, dw * bw, sh * bh, sw * bw, bn), writeable=False, subok=True)
    return np.reshape(windows, (groups, cg * kh * kw, ho * wo * n))     # (np.reshape: a capture records the copy)


def _rows(y, groups):
    """y (N, O, H, W) as (G, O/G, H*W*N): a view when y is batch-innermost, else one copy."""
    n, o, h, w = y.shape
    return np.reshape(y.transpose(1, 2, 3, 0), (groups, o // groups, h * w * n))


def _add_bias(out, bias):
    if bias is not None:
        np.add(out, bias.reshape(-1, 1, 1), out=out)        # into the op's own new array
    return out


class Conv2d(Function):
    """conv2d(x (N, C, H, W), w (O, C/G, kh, kw), bias (O,) or None) -> (N, O, Ho, Wo)."""
    __slots__ = ()

    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        n, h, w = x.shape[0], x.shape[2], x.shape[3]
        o, kernel = weight.shape[0], weight.shape[2:]
        out_hw = tuple(out_size(*a) for a in zip((h, w), kernel, stride, padding, dilation))
        cols = _columns(x, kernel, stride, padding, dilation, groups, out_hw)
        out = np.matmul(np.reshape(weight, (groups, o // groups, -1)), cols)      # (G, O/G, Ho*Wo*N)
        return _add_bias(out.reshape(o, *out_hw, n).transpose(3, 0, 1, 2), bias)

    def backward(self, grad, out, x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return (_call(ConvTranspose2d, grad, weight, size=x.shape[2:], **geometry) if self.needs_grad(0) else None,
                _call(Conv2dWeight, x, grad, kernel=weight.shape[2:], **geometry) if self.needs_grad(1) else None,
                grad.sum(axis=(0, 2, 3)) if bias is not None and self.needs_grad(2) else None)


class ConvTranspose2d(Function):
    """conv_transpose2d(y (N, O, Hi, Wi), w (O, C/G, kh, kw), bias (C,) or None) -> (N, C, *size): Conv2d's
    adjoint in its input (torch's weight layout for a transposed convolution: (in, out/G, kh, kw))."""
    __slots__ = ()

    def forward(self, y, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, size=None):
        n, _, hi, wi = y.shape
        o, cg, kh, kw = weight.shape
        (sh, sw), (ph, pw), (dh, dw), (h, w) = stride, padding, dilation, size
        w_cols = np.reshape(weight, (groups, o // groups, cg * kh * kw)).swapaxes(1, 2)   # (G, K, O/G)
        cols = np.matmul(w_cols, _rows(y, groups)).reshape(groups * cg, kh, kw, hi, wi, n)
        out = np.zeros_like(cols, shape=(groups * cg, h + 2 * ph, w + 2 * pw, n))
        for i in range(kh):                         # col2im: one strided add per kernel offset
            for j in range(kw):
                target = out[:, i * dh:i * dh + sh * (hi - 1) + 1:sh, j * dw:j * dw + sw * (wi - 1) + 1:sw]
                np.add(target, cols[:, i, j], out=target)
        return _add_bias(out[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2), bias)

    def backward(self, grad, out, y, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                 size=None):
        geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return (_call(Conv2d, grad, weight, **geometry) if self.needs_grad(0) else None,
                _call(Conv2dWeight, grad, y, kernel=weight.shape[2:], **geometry) if self.needs_grad(1) else None,
                grad.sum(axis=(0, 2, 3)) if bias is not None and self.needs_grad(2) else None)


class Conv2dWeight(Function):
    """The correlation of x (N, C, H, W) with y (N, O, Ho, Wo): Conv2d's adjoint in its weight, shaped
    (O, C/G, *kernel): one matrix product per group, summing over the batch and the pixels at once."""
    __slots__ = ()

    def forward(self, x, y, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, kernel=None):
        o = y.shape[1]
        cols = _columns(x, kernel, stride, padding, dilation, groups, y.shape[2:])        # (G, K, P N)
        return np.matmul(_rows(y, groups), cols.swapaxes(1, 2)).reshape(o, x.shape[1] // groups, *kernel)

    def backward(self, grad, out, x, y, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, kernel=None):
        geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return (_call(ConvTranspose2d, y, grad, size=x.shape[2:], **geometry) if self.needs_grad(0) else None,
                _call(Conv2d, x, grad, **geometry) if self.needs_grad(1) else None)
