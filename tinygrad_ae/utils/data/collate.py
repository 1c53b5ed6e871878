"""Collation as torch does it: `default_collate` (a list of samples into one batch) and
`default_convert` (one sample's arrays into tensors, for a loader with batch_size=None)."""
import collections.abc
import copy

import numpy as np

from ... import factories
from ...engine.functions import stack
from ...engine.tensor import Tensor

_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {} "
          "(pass collate_fn= to batch other samples)")


def _text_or_object(array):
    return array.dtype.kind in "SaUO"


def _collate_tensors(batch):
    shapes = {tuple(t.shape) for t in batch}
    if len(shapes) > 1:
        raise ValueError(f"default_collate: the tensors of a batch must have the same shape to be stacked, got "
                         f"{', '.join(str(s) for s in sorted(shapes))}; pad them, or pass collate_fn=")
    if all(isinstance(t, Tensor) and t.dtype.kind == "f" for t in batch):
        return stack(list(batch))                       # keeps a graph, if a sample has one
    return factories.from_numpy(np.stack([t.data if isinstance(t, Tensor) else t for t in batch]))


def _tensor_from_numbers(batch, dtype=None):
    try:
        return factories.tensor(list(batch), dtype=dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"default_collate: cannot make one tensor of the numbers {list(batch)!r:.80} ({error})") from None


def default_collate(batch):
    """torch's default_collate: a list of samples into one batch. Tensors and arrays are stacked along
    a new first dimension; Python ints become an int64 tensor, floats a float64 one, bools a bool one;
    numpy scalars a tensor of their dtype; strings and bytes stay the list they are. Dicts are
    collated key by key (keeping their type), namedtuples field by field (keeping theirs), tuples and
    lists position by position (a tuple gives a list, as in torch)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _collate_tensors(batch)
    if isinstance(elem, np.ndarray):
        if _text_or_object(elem):
            raise TypeError(_ERROR.format(elem.dtype))
        return _collate_tensors([np.asarray(b) for b in batch])
    if isinstance(elem, (np.bool_, np.number, np.object_)):
        if isinstance(elem, np.object_):
            raise TypeError(_ERROR.format(type(elem)))
        return factories.from_numpy(np.array(batch))
    if isinstance(elem, float):
        return _tensor_from_numbers(batch, np.float64)
    if isinstance(elem, int):                            # bools too: a bool tensor
        return _tensor_from_numbers(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _like_mapping(elem, {key: default_collate([sample[key] for sample in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):          # a namedtuple
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise ValueError("default_collate: every sample of a batch must have the same number of fields, got "
                             + ", ".join(str(len(sample)) for sample in batch))
        columns = [default_collate(samples) for samples in zip(*batch)]   # each a tuple, as in torch
        if isinstance(elem, tuple):
            return columns
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, column in enumerate(columns):
                    clone[i] = column
                return clone
            return type(elem)(columns)
        except TypeError:
            return columns
    raise TypeError(_ERROR.format(type(elem)))


def _like_mapping(mapping, fields):
    """`fields` in a mapping of `mapping`'s type, as torch does: a copy of it updated (an OrderedDict, a
    defaultdict keep what they are), or type(mapping)(fields); a plain dict if neither works."""
    try:
        if isinstance(mapping, collections.abc.MutableMapping):
            clone = copy.copy(mapping)
            clone.update(fields)
            return clone
        return type(mapping)(fields)
    except TypeError:
        return fields


def default_convert(data):
    """torch's default_convert: numpy arrays and scalars in one sample become tensors (text and object
    arrays stay arrays), recursively through dicts, namedtuples, tuples (giving lists) and lists;
    everything else is returned as it is."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _text_or_object(data) else factories.as_tensor(data)
    if isinstance(data, (np.bool_, np.number)):
        return factories.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _like_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        converted = [default_convert(d) for d in data]
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                clone[:] = converted
                return clone
            return type(data)(converted)
        except TypeError:
            return converted
    return data
