"""tinygrad_ae.utils.data against torch.utils.data: collation (dtypes, shapes, values, container types),
loader lengths and batches, drop_last, samplers, Subset/ConcatDataset indexing and random_split's
lengths (differential, skipped without torch); shuffling as a permutation that is reproducible from a
seeded Generator and new at every pass; torch's errors for options that exclude each other."""
import collections
import warnings

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor
from tinygrad_ae.utils import data
from tinygrad_ae.utils.data import dataloader as dataloader_module

Point = collections.namedtuple("Point", ["x", "y"])


def torch_module():
    return pytest.importorskip("torch", reason="PyTorch is not installed: no differential check against it")


def structure(value):
    """A comparable picture of a (collated) value from either library: tensors as (dtype, shape,
    values), containers with their type's name."""
    if isinstance(value, Tensor):
        return ("tensor", value.data.dtype.name, value.data.shape, value.data.tolist())
    if type(value).__name__ == "Tensor":                          # a torch tensor
        array = value.detach().numpy()
        return ("tensor", array.dtype.name, array.shape, array.tolist())
    if isinstance(value, dict):
        return (type(value).__name__, {k: structure(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [structure(v) for v in value])
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.name, value.shape, value.tolist())
    return (type(value).__name__, value)


def samples(lib):
    """Batches of samples of every kind default_collate handles, built the same way for both libraries."""
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(2, 3)) for _ in range(3)]
    return {
        "ints": [3, -1, 2 ** 40],
        "floats": [0.5, 1.0, -2.25],
        "bools": [True, False, True],
        "mixed int and float": [1, 2.5],
        "numpy int32 scalars": [np.int32(1), np.int32(7)],
        "numpy float16 scalars": [np.float16(0.5), np.float16(2)],
        "numpy bool scalars": [np.bool_(True), np.bool_(False)],
        "float64 arrays": arrays,
        "uint8 arrays": [np.arange(4, dtype=np.uint8), np.arange(4, 8, dtype=np.uint8)],
        "0-d arrays": [np.array(1.5), np.array(2.5)],
        "float64 tensors": [lib.from_numpy(a) for a in arrays],
        "int64 tensors": [lib.arange(3), lib.arange(3, 6)],
        "bool tensors": [lib.from_numpy(np.array([True, False])), lib.from_numpy(np.array([False, False]))],
        "nested tuples": [(1, (2.0, np.float32(3))), (4, (5.0, np.float32(6)))],
        "namedtuples": [Point(1, np.zeros(2)), Point(2, np.ones(2))],
        "namedtuple of tensors": [Point(lib.zeros(2), 0.5), Point(lib.ones(2), 1.5)],
        "dicts": [{"image": arrays[0], "label": 1, "name": "a"}, {"image": arrays[1], "label": 0, "name": "b"}],
        "ordered dicts": [collections.OrderedDict(b=1.0, a=[1, 2]), collections.OrderedDict(b=2.0, a=[3, 4])],
        "lists": [[1, 2.0], [3, 4.0]],
        "strings": ["cat", "dog"],
        "bytes": [b"x", b"y"],
        "tuples with strings": [("a", 1), ("b", 2)],
    }


@pytest.mark.parametrize("case", list(samples(tg)))
def test_default_collate_equals_torchs(case):
    torch = torch_module()
    from torch.utils.data import default_collate as torch_collate
    ours, theirs = data.default_collate(samples(tg)[case]), torch_collate(samples(torch)[case])
    assert structure(ours) == structure(theirs)


@pytest.mark.parametrize("sample", ["np.arange(3)", "np.float32(2)", "(np.zeros(2), 1)", "{'a': np.ones(2), 'b': 'x'}",
                                    "Point(np.array(1), 2)", "[np.arange(2), 'x', 3]", "7", "'text'",
                                    "np.array(['a', 'b'])"])
def test_default_convert_equals_torchs(sample):
    torch = torch_module()
    from torch.utils.data import default_convert as torch_convert
    scope = {"np": np, "Point": Point}
    assert structure(data.default_convert(eval(sample, scope))) == structure(torch_convert(eval(sample, scope)))  # noqa: S307


def test_collated_float_tensors_keep_their_graph():
    a, b = tg.ones(2, requires_grad=True), tg.zeros(2, requires_grad=True)
    batch = data.default_collate([a * 2, b * 3])
    batch.sum().backward()
    np.testing.assert_array_equal(a.grad, [2, 2])
    np.testing.assert_array_equal(b.grad, [3, 3])


def test_default_collate_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"default_collate: the tensors of a batch must have the same shape.*\(2,\), \(3,\)"):
        data.default_collate([tg.zeros(2), tg.zeros(3)])
    with pytest.raises(TypeError, match=r"default_collate: batch must contain tensors.*found <U1"):
        data.default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(TypeError, match=r"default_collate: batch must contain.*found <class 'NoneType'>"):
        data.default_collate([None, None])


# ----- the loader: lengths and batches against torch ----------------------------------------------
def _dataset(lib, n):
    X = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n) % 3
    return lib.utils.data.TensorDataset(lib.from_numpy(X), lib.from_numpy(y))


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                                                      (2, 5, True), (7, 1, False), (0, 4, False)])
def test_loader_batches_and_lengths_equal_torchs(n, batch_size, drop_last):
    torch = torch_module()
    ours = tg.utils.data.DataLoader(_dataset(tg, n), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(_dataset(torch, n), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert [structure(b) for b in ours] == [structure(b) for b in theirs]


def test_loader_without_batching_and_with_a_batch_sampler_equals_torchs():
    torch = torch_module()
    items = [{"x": np.arange(2) + i, "i": i} for i in range(5)]
    for kwargs in ({"batch_size": None},
                   {"batch_sampler": [[0, 4], [2], [1, 3]]},
                   {"sampler": [4, 3, 0], "batch_size": 2},
                   {"batch_size": 2, "collate_fn": lambda batch: [b["i"] for b in batch]}):
        ours, theirs = tg.utils.data.DataLoader(items, **kwargs), torch.utils.data.DataLoader(items, **kwargs)
        assert len(ours) == len(theirs), kwargs
        assert [structure(b) for b in ours] == [structure(b) for b in theirs], kwargs


class Stream(data.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("kwargs", [{"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None}])
def test_iterable_datasets_equal_torchs(kwargs):
    torch = torch_module()

    class TorchStream(torch.utils.data.IterableDataset):
        __iter__, __len__, __init__ = Stream.__iter__, Stream.__len__, Stream.__init__

    ours, theirs = tg.utils.data.DataLoader(Stream(8), **kwargs), torch.utils.data.DataLoader(TorchStream(8), **kwargs)
    assert len(ours) == len(theirs)
    assert [structure(b) for b in ours] == [structure(b) for b in theirs]
    chained = Stream(2) + Stream(3)
    assert isinstance(chained, data.ChainDataset) and list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5


def test_subset_and_concat_index_as_torchs():
    torch = torch_module()
    pairs = []
    for lib in (tg, torch):
        base = _dataset(lib, 6)
        subset = lib.utils.data.Subset(base, [4, 0, 5])
        concat = lib.utils.data.ConcatDataset([base, subset, lib.utils.data.Subset(base, [])])
        pairs.append((subset, concat, base + subset))
    (s, c, added), (ts, tc, tadded) = pairs
    assert len(s) == len(ts) == 3 and len(c) == len(tc) == 9 and c.cumulative_sizes == tc.cumulative_sizes
    for i in (0, 2, -1):
        assert structure(s[i]) == structure(ts[i])
    for i in (0, 5, 6, 8, -1, -4, -9):
        assert structure(c[i]) == structure(tc[i]), i
    assert isinstance(added, data.ConcatDataset) and structure(added[7]) == structure(tadded[7])
    assert structure(s[[0, 2]]) == structure(ts[[0, 2]])
    with pytest.raises(ValueError, match="ConcatDataset: absolute value of index should not exceed dataset length"):
        c[-10]
    with pytest.raises(IndexError, match="ConcatDataset: index 9 is out of range for length 9"):
        c[9]
    with pytest.raises(ValueError, match="ConcatDataset: datasets should not be an empty iterable"):
        data.ConcatDataset([])
    with pytest.raises(TypeError, match="ConcatDataset: dataset 1 is an IterableDataset"):
        data.ConcatDataset([s, Stream(2)])


@pytest.mark.parametrize("n, lengths", [(10, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.1, 0.2, 0.7]),
                                        (5, [1 / 3, 1 / 3, 1 / 3]), (2, [0.2, 0.2, 0.6]), (10, [3, 7]),
                                        (4, [0.25, 0.25, 0.25, 0.25]), (100, [0.8, 0.1, 0.1])])
def test_random_split_lengths_equal_torchs(n, lengths):
    torch = torch_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # an empty split warns in both
        ours = data.random_split(range(n), lengths, generator=tg.Generator().manual_seed(0))
        theirs = torch.utils.data.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    taken = sorted(i for s in ours for i in s)                 # together, every index once
    assert taken == list(range(n)) and all(isinstance(s, data.Subset) for s in ours)


def test_random_split_is_reproducible_and_refuses_bad_lengths():
    split = lambda seed: [list(s) for s in data.random_split(range(20), [0.5, 0.5], generator=tg.Generator().manual_seed(seed))]  # noqa: E731
    assert split(1) == split(1) and split(1) != split(2)
    with pytest.warns(UserWarning, match="random_split: length of split at index 1 is 0"):
        assert [len(s) for s in data.random_split(range(2), [0.1, 0.1, 0.8])] == [1, 0, 1]
    with pytest.raises(ValueError, match=r"random_split: sum of input lengths \(9\) does not equal the length of the input dataset \(10\)"):
        data.random_split(range(10), [4, 5])
    with pytest.raises(ValueError, match=r"random_split: fraction at index 1 is not between 0 and 1"):
        data.random_split(range(10), [0.5, 1.5, -1.0])
    with pytest.raises(TypeError, match=r"random_split: lengths must be integers or fractions, got 'a'"):
        data.random_split(range(10), ["a", 5])
    with pytest.raises(TypeError, match=r"random_split: generator must be a tinygrad_ae.Generator"):
        data.random_split(range(10), [5, 5], generator=3)


# ----- samplers ------------------------------------------------------------------------------------
def test_sequential_and_batch_samplers_equal_torchs():
    torch = torch_module()
    for n, size, drop in [(10, 4, False), (10, 4, True), (3, 5, True), (8, 2, False)]:
        ours = data.BatchSampler(data.SequentialSampler(range(n)), size, drop)
        theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), size, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_random_sampler_permutes_anew_each_pass_and_reproducibly():
    sampler = data.RandomSampler(range(30), generator=tg.Generator().manual_seed(5))
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(30)) and first != second and len(sampler) == 30
    again = data.RandomSampler(range(30), generator=tg.Generator().manual_seed(5))
    assert list(again) == first and list(again) == second
    # more samples than items without replacement: whole permutations, then part of one (torch's rule)
    long = list(data.RandomSampler(range(4), num_samples=10, generator=tg.Generator().manual_seed(0)))
    assert len(long) == 10 and sorted(long[:4]) == sorted(long[4:8]) == [0, 1, 2, 3] and len(set(long[8:])) == 2
    drawn = list(data.RandomSampler(range(3), replacement=True, num_samples=200, generator=tg.Generator().manual_seed(0)))
    assert len(drawn) == 200 and set(drawn) == {0, 1, 2}
    tg.manual_seed(11)
    a = list(data.RandomSampler(range(30)))
    tg.manual_seed(11)
    assert list(data.RandomSampler(range(30))) == a


def test_subset_and_weighted_samplers():
    subset = data.SubsetRandomSampler([10, 20, 30, 40], generator=tg.Generator().manual_seed(0))
    assert sorted(subset) == [10, 20, 30, 40] and len(subset) == 4
    weighted = data.WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=tg.Generator().manual_seed(0))
    counts = np.bincount(list(weighted), minlength=3)
    assert counts[0] == 0 and len(weighted) == 4000 and abs(counts[2] / counts[1] - 3) < 0.4
    unique = list(data.WeightedRandomSampler(tg.tensor([1.0, 1.0, 1.0]), 3, replacement=False))
    assert sorted(unique) == [0, 1, 2]


def test_sampler_errors_are_torchs():
    with pytest.raises(TypeError, match="RandomSampler: replacement should be a boolean value, but got replacement=1"):
        data.RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="RandomSampler: num_samples should be a positive integer value, but got num_samples=0"):
        data.RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="BatchSampler: batch_size should be a positive integer value, but got batch_size=0"):
        data.BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="BatchSampler: drop_last should be a boolean value, but got drop_last=None"):
        data.BatchSampler(range(3), 2, None)
    with pytest.raises(ValueError, match=r"WeightedRandomSampler: weights should be a 1d sequence but given weights have shape \(1, 2\)"):
        data.WeightedRandomSampler([[1.0, 2.0]], 2)


# ----- shuffling -----------------------------------------------------------------------------------
def _order(loader):
    return np.concatenate([batch[0].data for batch in loader]).tolist()


def test_shuffle_is_a_permutation_reproducible_and_new_each_pass():
    ds = data.TensorDataset(tg.arange(25))
    loader = data.DataLoader(ds, batch_size=4, shuffle=True, generator=tg.Generator().manual_seed(7))
    passes = [_order(loader) for _ in range(3)]
    assert all(sorted(p) == list(range(25)) for p in passes)
    assert passes[0] != passes[1] != passes[2] and passes[0] != list(range(25))
    twin = data.DataLoader(ds, batch_size=4, shuffle=True, generator=tg.Generator().manual_seed(7))
    assert [_order(twin) for _ in range(3)] == passes
    assert [len(b[0]) for b in loader] == [4] * 6 + [1]
    assert [len(b[0]) for b in data.DataLoader(ds, batch_size=4, shuffle=True, drop_last=True)] == [4] * 6


# ----- options and their errors --------------------------------------------------------------------
def test_workers_warn_once_and_still_load(monkeypatch):
    monkeypatch.setattr(dataloader_module, "_warned_about_workers", False)
    ds = data.TensorDataset(tg.arange(5))
    with pytest.warns(UserWarning, match=r"DataLoader: num_workers=2 given.*loaded in the main process") as record:
        loader = data.DataLoader(ds, batch_size=2, num_workers=2, persistent_workers=True, prefetch_factor=4,
                                 pin_memory=True, worker_init_fn=lambda i: None)
        data.DataLoader(ds, num_workers=4)
    assert len([w for w in record if "num_workers" in str(w.message)]) == 1
    assert _order(loader) == [0, 1, 2, 3, 4] and loader.num_workers == 2


@pytest.mark.parametrize("kwargs, error, message", [
    ({"shuffle": True, "sampler": [0, 1]}, ValueError, r"sampler option is mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, ValueError, r"batch_sampler option is mutually exclusive with batch_size"),
    ({"batch_sampler": [[0]], "drop_last": True}, ValueError, r"batch_sampler option is mutually exclusive"),
    ({"batch_size": None, "drop_last": True}, ValueError, r"batch_size=None option disables auto-batching"),
    ({"num_workers": -1}, ValueError, r"num_workers option should be non-negative"),
    ({"persistent_workers": True}, ValueError, r"persistent_workers option needs num_workers > 0"),
    ({"prefetch_factor": 2}, ValueError, r"prefetch_factor option could only be specified with num_workers > 0"),
    ({"multiprocessing_context": "spawn"}, ValueError, r"multiprocessing_context can only be used with multi-process"),
    ({"timeout": -1}, ValueError, r"timeout option should be a non-negative number"),
    ({"shuffle": "yes"}, TypeError, r"shuffle must be True or False"),
    ({"collate_fn": 3}, TypeError, r"collate_fn must be callable"),
])
def test_loader_refuses_options_that_exclude_each_other(kwargs, error, message):
    with pytest.raises(error, match="DataLoader: " + message):
        data.DataLoader(range(4), **kwargs)


def test_loader_refusals_for_streams_and_frozen_attributes():
    with pytest.raises(ValueError, match=r"DataLoader with IterableDataset: expected unspecified shuffle option"):
        data.DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match=r"DataLoader with IterableDataset: expected unspecified sampler option"):
        data.DataLoader(Stream(3), sampler=[0])
    loader = data.DataLoader(range(4), batch_size=2)
    with pytest.raises(ValueError, match=r"DataLoader: batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 3
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3]]


def test_tensor_datasets_batch_by_one_indexing_as_default_collate_would():
    rng = np.random.default_rng(0)
    X = tg.from_numpy(rng.normal(size=(11, 3)).astype(np.float32)).requires_grad_()
    ds = data.TensorDataset(X, tg.arange(11), tg.from_numpy(rng.random(11) > 0.5), tg.from_numpy(rng.normal(size=11)))
    order = [3, 0, 10, 5]
    fast = data.DataLoader(ds, batch_size=3, sampler=order)                          # the indexing path
    slow = data.DataLoader(ds, batch_size=3, sampler=order, collate_fn=lambda b: data.default_collate(b))
    for a, b in zip(fast, slow, strict=True):
        assert structure(a) == structure(b) and type(a) is list
    batch = next(iter(fast))[0]
    batch.sum().backward()                                                            # the graph reaches X
    np.testing.assert_array_equal(X.grad, np.isin(np.arange(11), [3, 0, 10])[:, None] * np.ones((1, 3)))
