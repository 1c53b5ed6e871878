"""`DataLoader`: a dataset in batches, with torch's arguments and rules. Indices come from a sampler
(SequentialSampler, or RandomSampler with shuffle=True: a new permutation from `generator`, by
default the default generator, at every pass), are cut by a BatchSampler, and each batch of samples
is collated by `collate_fn` (default_collate). An IterableDataset is read in its own order.

Everything runs in the main process: num_workers > 0 is accepted with a warning (the batches are
the same), and the options that only tune worker processes or pinned memory mean nothing here."""
import numbers
import warnings

import numpy as np

from ... import random
from .collate import default_collate, default_convert
from .dataset import IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

_warned_about_workers = False


def get_worker_info():
    """torch.utils.data.get_worker_info: None, as in the main process (there are no workers here)."""
    return None


def _warn_once_about_workers(num_workers):
    global _warned_about_workers
    if not _warned_about_workers:
        _warned_about_workers = True
        warnings.warn(f"DataLoader: num_workers={num_workers} given, but tinygrad_ae has no worker processes: the "
                      "batches are loaded in the main process (the same batches; worker_init_fn is not called)",
                      UserWarning, stacklevel=3)


def _non_negative_int(where, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an integer, got {type(value).__name__} {value!r:.60}")
    if value < 0:
        raise ValueError(f"{where}: {name} option should be non-negative, got {value}")
    return int(value)


class DataLoader:
    """torch.utils.data.DataLoader(dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
    num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
    multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
    pin_memory_device="", in_order=True). Iterating gives the batches of one pass; batch_size=None
    gives the samples one by one (through default_convert); len() is the number of batches."""

    _FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        where = "DataLoader"
        num_workers = _non_negative_int(where, "num_workers", num_workers)
        if not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be a non-negative number, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified with num_workers > 0 "
                             "(multiprocessing); otherwise set prefetch_factor to None")
        if prefetch_factor is not None:
            _non_negative_int(where, "prefetch_factor", prefetch_factor)
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError("DataLoader: multiprocessing_context can only be used with multi-process loading "
                             "(num_workers > 0), but got num_workers=0")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                                       or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive integer (or None), got {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise TypeError(f"DataLoader: drop_last must be True or False, got {drop_last!r}")
        if shuffle is not None and not isinstance(shuffle, bool):
            raise TypeError(f"DataLoader: shuffle must be True or False (or None), got {shuffle!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        random.generator_argument(where, generator)             # checked now, drawn from at each pass

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, but got "
                                     f"{name}={value!r:.60}; an IterableDataset is read in the order it yields")
        elif not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the dataset must have __getitem__ and __len__, got {type(dataset).__name__} "
                            "(a stream of samples: subclass IterableDataset)")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle (the sampler sets the "
                             "order; for a random order pass sampler=RandomSampler(dataset) and no shuffle)")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last (the batch sampler gives whole batches)")
            batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        if sampler is None and not iterable:
            if not hasattr(dataset, "__len__"):
                raise TypeError(f"DataLoader: the dataset must have __getitem__ and __len__, got "
                                f"{type(dataset).__name__}")
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if num_workers > 0:
            _warn_once_about_workers(num_workers)

        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.prefetch_factor, self.persistent_workers = num_workers, prefetch_factor, persistent_workers
        self.timeout, self.worker_init_fn, self.multiprocessing_context = timeout, worker_init_fn, multiprocessing_context
        self.pin_memory, self.pin_memory_device, self.in_order = pin_memory, pin_memory_device, in_order  # no meaning on the CPU
        self._iterable = iterable
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._initialized = True

    def __setattr__(self, name, value):
        # as in torch: the sampler chain is built from these once, so changing one later would be ignored
        if getattr(self, "_initialized", False) and name in self._FROZEN:
            raise ValueError(f"DataLoader: {name} attribute should not be set after DataLoader is initialized; "
                             "make a new DataLoader")
        object.__setattr__(self, name, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    def _fetch(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        return getitems(indices) if callable(getitems) else [self.dataset[i] for i in indices]

    def _batch(self, indices):
        if type(self.dataset) is TensorDataset and self.collate_fn is default_collate and self.dataset.tensors:
            # what default_collate makes of the samples, by one indexing per tensor instead of one per sample
            index = np.asarray(indices, dtype=np.int64)
            return [t[index] for t in self.dataset.tensors]
        return self.collate_fn(self._fetch(indices))

    def __iter__(self):
        if self._iterable:
            yield from self._iter_stream()
        elif self.batch_sampler is not None:
            for indices in self.batch_sampler:
                yield self._batch(list(indices))
        else:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])

    def _iter_stream(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self):
        if self._iterable:
            if not hasattr(self.dataset, "__len__"):
                raise TypeError(f"DataLoader: this IterableDataset ({type(self.dataset).__name__}) has no __len__, "
                                "so the number of batches is unknown")
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)
