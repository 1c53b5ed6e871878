"""torch.nn's lookup layers: `Embedding`, a table of vectors looked up by integer index."""
import numpy as np

from .. import dtypes, functional as F
from ..engine.tensor import Tensor, no_grad
from . import Module, Parameter, init

__all__ = ["Embedding"]


class Embedding(Module):
    """torch.nn.Embedding: weight (num_embeddings, embedding_dim) drawn from N(0, 1) (the default
    generator), and forward(indices) = weight[indices]. The row padding_idx starts at zero and gets no
    gradient. _weight (a tensor of that shape) is used instead of a fresh draw, as torch's."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        for name, given in (("max_norm", max_norm is not None), ("scale_grad_by_freq", scale_grad_by_freq),
                            ("sparse", sparse)):
            if given:
                raise NotImplementedError(f"Embedding: {name} is not supported; leave it at its default")
        for name, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
                raise TypeError(f"Embedding: {name} must be a non-negative int, got {n!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within num_embeddings "
                                 f"({num_embeddings})")
            padding_idx %= num_embeddings               # torch keeps it non-negative
        dtypes.check_device("Embedding", device)
        self.num_embeddings, self.embedding_dim, self.padding_idx = int(num_embeddings), int(embedding_dim), padding_idx
        if _weight is None:
            dtype = dtypes.as_dtype("Embedding", dtype)
            if dtype.kind != "f":
                raise TypeError(f"Embedding: dtype must be a floating type such as torch.float32, got {dtype}")
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype), requires_grad=not _freeze)
            init.normal_(self.weight)
            if padding_idx is not None:
                with no_grad():
                    self.weight.data[padding_idx] = 0
        else:
            data = _weight.data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if data.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {data.shape}, expected "
                                 f"({num_embeddings}, {embedding_dim}) (num_embeddings, embedding_dim)")
            self.weight = Parameter(data, requires_grad=not _freeze)     # (frozen: still a parameter, as torch's)

    def forward(self, input):  # noqa: A002 (torch's name)
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is `embeddings` (2-D), not trained when freeze (the default)."""
        shape = getattr(embeddings, "shape", np.shape(embeddings))
        if len(shape) != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D (num_embeddings, embedding_dim), "
                             f"got shape {tuple(shape)}")
        return cls(shape[0], shape[1], padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)
