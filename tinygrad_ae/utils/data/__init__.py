"""torch.utils.data, with torch's meanings: datasets (`Dataset`, `IterableDataset`, `TensorDataset`,
`Subset`, `ConcatDataset`, `ChainDataset`, `random_split`), samplers (`SequentialSampler`,
`RandomSampler`, `SubsetRandomSampler`, `WeightedRandomSampler`, `BatchSampler`), collation
(`default_collate`, `default_convert`) and the `DataLoader` that puts them together, in one process.

(`tg.data`, the package's own data sets and readers, is another room: this is PyTorch's API.)
"""
from .collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset", "random_split",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DataLoader", "default_collate", "default_convert", "get_worker_info"]
