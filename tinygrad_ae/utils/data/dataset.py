"""Datasets: `Dataset`, the interface (__getitem__ and __len__), and `TensorDataset`, tensors indexed
along their first dimension together."""
from ...engine.tensor import Tensor


class Dataset:
    """torch.utils.data.Dataset: a map from indices 0, ..., len - 1 to samples. Subclasses define
    __getitem__ (and __len__, which DataLoader needs)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """torch.utils.data.TensorDataset: sample i is (t[i] for each tensor t), so every tensor must have
    the same first dimension. `tensors` holds them."""

    def __init__(self, *tensors):
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {i} is a {type(t).__name__}, expected a Tensor "
                                "(tg.from_numpy(array) makes one)")
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is a 0-d tensor; each needs a first dimension to index")
        if len({t.shape[0] for t in tensors}) > 1:
            raise ValueError("TensorDataset: the tensors must have the same size in their first dimension, got shapes "
                             + ", ".join(str(tuple(t.shape)) for t in tensors))
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0] if self.tensors else 0
