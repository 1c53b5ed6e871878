"""`DataLoader`: a dataset in batches, in order or shuffled (a new permutation from its generator, by
default the default generator, at every pass), each batch collated by `default_collate`. One process
(num_workers=0), as everything here runs in numpy."""
import collections.abc
import math
import numbers

import numpy as np

from ... import factories, random
from ...engine.functions import stack
from ...engine.tensor import Tensor


def default_collate(batch):
    """torch's default_collate: a list of samples into one batch. Tensors and arrays are stacked along
    a new first dimension; Python ints become an int64 tensor, floats a float64 one, bools a bool one;
    numpy scalars a tensor of their dtype; dicts, tuples and lists are collated field by field (a tuple
    or list gives a list); strings stay a list."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        if all(t.dtype.kind == "f" for t in batch):
            return stack(list(batch))                   # keeps a graph, if a sample has one
        return factories.from_numpy(np.stack([t.data for t in batch]))
    if isinstance(elem, (np.ndarray, np.generic)):
        return factories.from_numpy(np.stack([np.asarray(x) for x in batch]))
    if isinstance(elem, bool):
        return factories.tensor(batch, dtype=np.bool_)
    if isinstance(elem, numbers.Integral):
        return factories.tensor(batch, dtype=np.int64)
    if isinstance(elem, numbers.Real):
        return factories.tensor(batch, dtype=np.float64)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise ValueError("default_collate: every sample of a batch must have the same number of fields, got "
                             + ", ".join(str(len(sample)) for sample in batch))
        return [default_collate(list(fields)) for fields in zip(*batch)]
    raise TypeError(f"default_collate: cannot collate samples of type {type(elem).__name__}; samples must be "
                    "tensors, arrays, numbers, strings, or dicts, tuples and lists of them (or pass collate_fn)")


class DataLoader:
    """torch.utils.data.DataLoader(dataset, batch_size=1, shuffle=False, collate_fn=None, drop_last=False,
    generator=None): iterating gives the batches of one pass over the dataset. batch_size=None gives the
    samples one by one, uncollated."""

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 generator=None):
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                                       or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive integer (or None), got {batch_size!r}")
        if not isinstance(shuffle, bool):
            raise TypeError(f"DataLoader: shuffle must be True or False, got {shuffle!r}")
        unsupported = {"sampler": sampler, "batch_sampler": batch_sampler, "worker_init_fn": worker_init_fn}
        for name, value in unsupported.items():
            if value is not None:
                raise NotImplementedError(f"DataLoader: {name} is not supported yet; use shuffle= and batch_size=")
        if num_workers != 0 or timeout != 0:
            raise NotImplementedError("DataLoader: only num_workers=0 (and timeout=0): tinygrad_ae loads in one process")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the dataset must have __getitem__ and __len__, got {type(dataset).__name__}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, bool(drop_last)
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.pin_memory = pin_memory                     # accepted, meaningless on the CPU
        self.generator = generator
        random.generator_argument("DataLoader", generator)   # checked now, drawn from at each pass

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return range(n)
        return random.generator_argument("DataLoader", self.generator).permutation(n).tolist()

    def __iter__(self):
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield self.dataset[i]
            return
        for start in range(0, len(order), self.batch_size):
            indices = order[start:start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                return
            yield self.collate_fn([self.dataset[i] for i in indices])

    def __len__(self):
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
