"""The fused replay: the Python driver that calls the kernels, and numpy for the rest.

`lower(program)` groups the planned program's calls (fuse.py), writes one numba kernel per run of
loop-able calls (kernels.py), each into a module file in the kernel cache named by its source's hash
and the helpers it calls (so a kernel two programs share compiles once, and numba's own cache finds
its machine code in the next process, never code built with other helpers), and replaces the program's replay by
a driver of the same shape as emit.py's: the same location checks, guards, numpy calls for what has
no loop (np.dot where numpy's gemm was not found; each call under its error state), .grad assignments
and outputs. A kernel takes the
addresses of its buffers in one int64 array (bound once: the planned buffers never move) and the
step's array arguments it reads.
"""
import hashlib
import importlib.util
import os
import sys
import tempfile

import numpy as np

from ...engine.numerics import ErrorState
from ...fileio import atomic_write
from .. import emit
from . import blas
from .kernels import header, kernel_source
from .fuse import address, group, registers

_MODULES = {}
_HELPERS = []


def helpers_fingerprint():
    """A digest of what a kernel's machine code embeds besides its own source: the modules it calls into
    (mathf.py, blas.py) and numba's version. numba's cache checks only the kernel module's own file, so
    a kernel module is named by its source and this: a changed helper never finds old machine code."""
    if not _HELPERS:
        import numba
        from . import mathf
        digest = hashlib.sha1(numba.__version__.encode())
        for module in (mathf, blas):
            with open(module.__file__, "rb") as file:
                digest.update(file.read())
        _HELPERS.append(digest.hexdigest())
    return _HELPERS[0]


def cache_dir():
    """Where kernel modules and numba's cache of them live: $TINYGRAD_AE_KERNEL_CACHE, else the user's
    cache folder, else the temporary folder (the first one that can be written)."""
    choices = [os.environ.get("TINYGRAD_AE_KERNEL_CACHE"),
               os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tinygrad_ae",
                            "kernels"),
               os.path.join(tempfile.gettempdir(), f"tinygrad_ae-kernels-{getattr(os, 'getuid', lambda: 0)()}")]
    for folder in choices:
        if not folder:
            continue
        try:
            os.makedirs(folder, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
        except OSError:
            continue
    raise RuntimeError("tg.compile(backend='fused'): no writable folder for the kernel cache; set "
                       "TINYGRAD_AE_KERNEL_CACHE to one")


def load(source):
    """The module of kernels with this source (written once into the cache, imported once)."""
    digest = hashlib.sha1((helpers_fingerprint() + source).encode()).hexdigest()[:24]
    module = _MODULES.get(digest)
    if module is None:
        path = os.path.join(cache_dir(), f"kernels_{digest}.py")
        if not os.path.exists(path):
            atomic_write(path, source.encode())
        name = f"tinygrad_ae_kernels_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _MODULES[digest] = module
    return module


class Fused:
    """What the lowering made of a program: its segments, kernels and fallbacks (str() lists them)."""

    def __init__(self, segments, kernel_sources, fallbacks, module_source, registers):
        self.segments, self.kernel_sources, self.fallbacks = segments, kernel_sources, fallbacks
        self.module_source, self.registers = module_source, registers
        self.product_dtypes = sorted({op.out.dtype.name for seg in segments if seg[0] == "kernel"
                                      for nest in seg[1] for op in nest.ops if op.kind == "gemm"})

    def __str__(self):
        n_ops = sum(len(nest.ops) for seg in self.segments if seg[0] == "kernel" for nest in seg[1])
        n_nests = sum(len(seg[1]) for seg in self.segments if seg[0] == "kernel")
        lines = [f"# fused backend: {n_ops} calls in {len(self.kernel_sources)} kernels ({n_nests} loop nests, "
                 f"{len(self.registers)} temps kept in registers), "
                 f"{sum(1 for s in self.segments if s[0] == 'numpy')} calls left to numpy"]
        lines += [f"#   numpy: {name}: {why}" for name, why in self.fallbacks]
        lines += [f"# {dtype} products: {blas.route(dtype)}" for dtype in self.product_dtypes]
        lines.append(self.module_source)
        return "\n".join(lines)


def lower(program):
    """Give program a fused replay (program.run, .source, .generated) and program.fused."""
    segments = group(program.calls, program.arrays)
    regs = registers(segments, program.outputs, program.grads, program.recorder.buffers)
    gen = emit.Generated(program)
    gen.scalars = set()                     # every temp is an array: kernels read and write memory
    views = emit._bind_buffers(program, gen)
    args = sorted((b for b in program.recorder.buffers if b.kind == "arg"), key=lambda b: b.arg)
    sources, lines, fallbacks = [], [], []
    for seg in segments:
        if seg[0] == "numpy":
            call, why = seg[1], seg[2]
            if why is not None:
                fallbacks.append((call.name, why))
            lines += _numpy_lines(call, gen)
            continue
        name = f"kernel{len(sources)}"
        source, slots, kernel_args = kernel_source("kernel", seg[1], regs, lambda b: address(b, program.arrays))
        sources.append(source)
        gen.namespace[name] = load(header() + "\n\n" + source + "\n").kernel
        gen.namespace[f"addrs_{name}"] = np.array([_slot(b, program) for b in slots], np.int64)
        lines.append(f"    {name}({', '.join([f'addrs_{name}'] + [b.name for b in kernel_args])})")
    module_source = header() + "".join(f"\n\n# kernel{i}\n{src}\n" for i, src in enumerate(sources))
    body = emit._location_checks(program, gen) + views + lines
    body += emit.grad_lines(program, gen)
    gen.body = body
    gen.outputs = [gen.names[b] for b in program.outputs]
    head = f"def replay({', '.join(b.name for b in args)}):"
    gen.source = "\n".join([head] + body + [f"    return ({''.join(n + ', ' for n in gen.outputs)})"])
    exec(compile(gen.source, "<tg.compile fused program>", "exec"), gen.namespace)
    gen.function = gen.namespace["replay"]
    program.generated, program.run, program.source, program.scalars = gen, gen.function, gen.source, gen.scalars
    program.fused = Fused(segments, sources, fallbacks, module_source, regs)
    return program


def _slot(b, program):
    """The address in a kernel's addrs slot: numpy's BLAS context ("blas", dtype: blas.context), a private scratch
    array ("scratch", dtype, size, n: kept alive by the program), or a buffer's first element."""
    if type(b) is not tuple:
        return address(b, program.arrays)
    if b[0] == "blas":
        return blas.context(b[1])
    scratch = np.empty(b[2], b[1])
    program.scratch = getattr(program, "scratch", []) + [scratch]
    return scratch.ctypes.data


def _numpy_lines(call, gen):
    text = emit.call_source(call, gen).split("\n")
    if not call.errstate:
        return ["    " + line for line in text]
    token = gen.constant(ErrorState(call.errstate))
    return ([f"    _token = {token}.enter()", "    try:"] + ["        " + line for line in text]
            + ["    finally:", "        ErrorState.exit(_token)"])
