"""Datasets with torch's meanings: `Dataset` (a map from indices to samples; `a + b` concatenates),
`IterableDataset` (a stream of samples), `TensorDataset`, `Subset`, `ConcatDataset`, `ChainDataset`,
and `random_split`."""
import bisect
import itertools
import math
import numbers
import warnings

from ... import random
from ...engine.tensor import Tensor


def _index(where, index, name="index"):
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an integer, got {type(index).__name__} {index!r:.60}")
    return int(index)


class Dataset:
    """torch.utils.data.Dataset: a map from indices 0, ..., len - 1 to samples. Subclasses define
    __getitem__ (and __len__, which DataLoader needs); `a + b` is ConcatDataset([a, b])."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """torch.utils.data.IterableDataset: a dataset read as a stream; subclasses define __iter__.
    A DataLoader batches it in the order it yields (no sampler, no shuffle); `a + b` chains them."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


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


class Subset(Dataset):
    """torch.utils.data.Subset(dataset, indices): sample i is dataset[indices[i]]; a list of
    positions gives the list of their samples (as dataset[[...]] would)."""

    def __init__(self, dataset, indices):
        if not hasattr(dataset, "__getitem__"):
            raise TypeError(f"Subset: the dataset must have __getitem__, got {type(dataset).__name__}")
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices):
        """The samples at these positions (DataLoader asks for a batch this way)."""
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """torch.utils.data.ConcatDataset(datasets): the datasets one after another; `cumulative_sizes`
    holds the running totals of their lengths. Negative indices count from the end."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset: dataset {i} is an IterableDataset, which has no indices; "
                                "chain streams with ChainDataset")
            if not hasattr(d, "__len__") or not hasattr(d, "__getitem__"):
                raise TypeError(f"ConcatDataset: dataset {i} ({type(d).__name__}) must have __getitem__ and __len__")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        index, n = _index("ConcatDataset", index), len(self)
        if index < 0:
            if -index > n:
                raise ValueError(f"ConcatDataset: absolute value of index should not exceed dataset length "
                                 f"({index} for length {n})")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][index - start]


class ChainDataset(IterableDataset):
    """torch.utils.data.ChainDataset(datasets): iterable datasets read one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset: dataset {i} is a {type(d).__name__}, expected an IterableDataset")
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


def _split_lengths(n, lengths):
    """torch's rule: fractions that sum to 1 become floor(n * frac) each, the remainder handed out one
    by one from the first split on; integers are taken as they are."""
    lengths = list(lengths)
    for i, length in enumerate(lengths):
        if isinstance(length, bool) or not isinstance(length, numbers.Real):
            raise TypeError(f"random_split: lengths must be integers or fractions, got {length!r:.60} at index {i}")
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1 (got {frac})")
        split = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(split)):
            split[i % len(split)] += 1
        for i, length in enumerate(split):
            if length == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0. This might result in an "
                              "empty dataset.", stacklevel=3)
        return split
    for i, length in enumerate(lengths):
        if not isinstance(length, numbers.Integral) or length < 0:
            raise ValueError(f"random_split: lengths must be non-negative integers, or fractions that sum to 1; "
                             f"got {length!r} at index {i}")
    if total != n:
        raise ValueError(f"random_split: sum of input lengths ({total}) does not equal the length of the input "
                         f"dataset ({n})")
    return [int(length) for length in lengths]


def random_split(dataset, lengths, generator=None):
    """torch.utils.data.random_split: non-overlapping Subsets of the given lengths (integers, or
    fractions that sum to 1), from one random permutation drawn from `generator` (default: the
    default generator)."""
    rng = random.generator_argument("random_split", generator)
    if not hasattr(dataset, "__len__"):
        raise TypeError(f"random_split: the dataset must have __len__, got {type(dataset).__name__}")
    split = _split_lengths(len(dataset), lengths)
    indices = rng.permutation(sum(split)).tolist()
    ends = list(itertools.accumulate(split))
    return [Subset(dataset, indices[end - length:end]) for end, length in zip(ends, split)]
