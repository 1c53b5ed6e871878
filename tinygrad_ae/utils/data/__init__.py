"""torch.utils.data: `Dataset`, `TensorDataset`, `DataLoader` and `default_collate`, minimal and with
torch's meanings: a dataset is anything with __getitem__ and __len__; a loader cuts it into batches
(shuffled from a Generator when asked) and collates each batch into tensors.

(`tg.data`, the package's own data sets and readers, is another room: this is PyTorch's API.)
"""
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, TensorDataset

__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate"]
