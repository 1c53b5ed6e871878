"""The race's report: the machine it ran on, the project's goals checked, and the markdown tables.

`benchmark.json` keeps every round of every measurement and the machine's description;
`benchmark.md` is the tables a reader compares: microseconds per step (median, min-max), the ratio
to the numpy baseline, minor page faults per step and the multiple of the GEMM bound.
"""
import hashlib
import json
import os
import platform
import sys

import numpy as np

from ..fileio import atomic_write
from .problem import BASELINE, LOSSES
from .timing import NOISE_LIMIT, RETRIES

# The project's goals: tinygrad_ae's float32 step time as a multiple of the numpy baseline's, per size,
# and its peak memory during a step as a multiple of the baseline's.
TARGETS = {"tiny": 2.0, "digits": 1.5, "mnist": 1.15, "wide": 1.10}
COMPILED_TARGET = 1.10      # tg.compile: at most this multiple of the baseline at every size and dtype
MEMORY_TARGET = 1.5


# ----- the machine ----------------------------------------------------------------------------------

def source_fingerprint():
    """A hash of the package's source files: a run whose code changed midway says so."""
    digest = hashlib.sha256()
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for folder, subfolders, files in sorted(os.walk(package)):
        subfolders.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    digest.update(os.path.relpath(path, package).encode() + f.read())
    return digest.hexdigest()[:16]


def machine_info():
    info = {"python": sys.version.split()[0], "platform": platform.platform(), "cpu": platform.processor(),
            "cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
            "numpy": np.__version__, "load_average": os.getloadavg(),
            "environment": {key: value for key, value in os.environ.items()
                            if key.startswith(("OPENBLAS", "OMP_", "MKL_", "GOTO", "BLIS"))}}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        import threadpoolctl
        info["threadpools"] = [{key: pool.get(key) for key in ("user_api", "internal_api", "version",
                                                              "num_threads", "architecture", "threading_layer")}
                               for pool in threadpoolctl.threadpool_info()]
    except ImportError:
        info["threadpools"] = "threadpoolctl is not installed (pip install threadpoolctl)"
    for module in ("torch", "autograd", "mygrad", "threadpoolctl"):
        try:
            from importlib.metadata import version
            info[module] = version(module)
        except Exception:  # noqa: BLE001 (not installed)
            info[module] = None
    if "torch" in sys.modules:
        info["torch_threads"] = sys.modules["torch"].get_num_threads()
    try:                                    # how the fused backend runs large products (blas.py)
        from ..capture.fused import blas
        info["fused_products"] = blas.route("float32") if blas.routine("float32") else None
    except ImportError:                     # numba is not installed
        info["fused_products"] = None
    return info


# ----- the goals -------------------------------------------------------------------------------------

def _ratio(entry, method, name):
    runs = entry[method]
    if name not in runs or BASELINE not in runs or "error" in runs[name] or "error" in runs[BASELINE]:
        return None
    return runs[name]["median_us"] / runs[BASELINE]["median_us"]


# issue 23: the fused backend against the numpy baseline, float32, both losses
FUSED_TARGETS = {"tiny": 0.5, "digits": 0.6, "mnist": 0.97, "wide": 1.02}


def check_targets(results):
    """The project's goals, each with its measured figure and met/missed."""
    checks = []
    for entry in results["configs"]:
        label = f"{entry['size']} {entry['dtype']} {entry['loss']}"
        for method in ("interleaved", "alone"):
            mine = _ratio(entry, method, "tinygrad_ae")
            if mine is None:
                continue
            if entry["dtype"] == "float32":
                limit = TARGETS[entry["size"]]
                checks.append({"target": f"{label} {method}: tinygrad_ae <= {limit}x baseline",
                               "measured": f"{mine:.2f}x", "met": mine <= limit})
            for peer in ("PyTorch", "HIPS autograd", "MyGrad"):
                theirs = _ratio(entry, method, peer)
                if theirs is not None:
                    checks.append({"target": f"{label} {method}: faster than {peer}",
                                   "measured": f"{mine:.2f}x vs {theirs:.2f}x", "met": mine < theirs})
        for method in ("interleaved", "alone"):
            compiled = _ratio(entry, method, "tinygrad_ae compiled")
            if compiled is None:
                continue
            checks.append({"target": f"{label} {method}: tinygrad_ae compiled <= {COMPILED_TARGET}x baseline",
                           "measured": f"{compiled:.2f}x", "met": compiled <= COMPILED_TARGET})
            faults = entry[method]["tinygrad_ae compiled"]["faults_per_step"]
            checks.append({"target": f"{label} {method}: tinygrad_ae compiled, 0 minor page faults per step",
                           "measured": f"{faults:g}", "met": faults == 0})
        for method in ("interleaved", "alone"):
            fused = _ratio(entry, method, "tinygrad_ae fused")
            if fused is None or entry["dtype"] != "float32":
                continue
            limit = FUSED_TARGETS[entry["size"]]
            checks.append({"target": f"{label} {method}: tinygrad_ae fused <= {limit}x baseline (issue 23)",
                           "measured": f"{fused:.2f}x", "met": fused <= limit})
            jax = _ratio(entry, method, "JAX jit")
            if jax is not None:
                checks.append({"target": f"{label} {method}: tinygrad_ae fused faster than JAX jit",
                               "measured": f"{fused:.2f}x vs {jax:.2f}x", "met": fused < jax})
        memory = entry.get("memory", {})
        if "tinygrad_ae" in memory and BASELINE in memory:
            ratio = memory["tinygrad_ae"]["peak_bytes"] / memory[BASELINE]["peak_bytes"]
            checks.append({"target": f"{label}: peak memory <= {MEMORY_TARGET}x baseline",
                           "measured": f"{ratio:.2f}x", "met": ratio <= MEMORY_TARGET})
    return checks


# ----- the tables ------------------------------------------------------------------------------------

def _cell(run, base, bound):
    if run is None:
        return ["-"] * 4
    if "error" in run:
        return ["failed", "-", "-", "-"]
    median = run["median_us"]
    return [f"{median:,.0f} ({run['min_us']:,.0f}-{run['max_us']:,.0f})",
            f"{median / base:.2f}x" if base else "-", f"{run['faults_per_step']:.0f}", f"{median / bound:.2f}x"]


def markdown(results, command):
    m = results["machine"]
    blas = m["threadpools"] if isinstance(m["threadpools"], str) else "; ".join(
        f"{p['internal_api']} {p['version']} ({p['architecture'] or p['threading_layer']}), {p['num_threads']} threads"
        for p in m["threadpools"])
    lines = ["# tinygrad_ae training-step benchmark", "",
             f"Regenerate: `{command}`", "",
             f"Machine: {m['cpu']}, {m['cpus_usable']} usable CPUs, {m['platform']}, Python {m['python']}, "
             f"numpy {m['numpy']}; BLAS/OpenMP: {blas}; PyTorch {m['torch'] or 'not installed'}"
             + (f" ({m['torch_threads']} threads)" if m.get("torch_threads") else "")
             + f"; autograd {m['autograd'] or 'not installed'}; MyGrad {m['mygrad'] or 'not installed'}. "
             f"BLAS environment: {m['environment'] or 'none set'}. Load average at start "
             f"{m['load_average'][0]:.2f}, at end {m['load_average_at_end'][0]:.2f}."
             + (f" Fused float32 products: {m['fused_products']}." if m.get("fused_products") else ""), "",
             f"One step = forward, loss (summed over features, averaged over examples), backward, SGD update. "
             f"Microseconds per step: median of {results['rounds']} rounds (min-max); ratio to the numpy "
             "baseline; minor page faults per step; multiple of the GEMM bound (the step's five GEMMs alone, "
             "timed with numpy in the same rounds). Interleaved = all contenders round by round in one "
             "process; alone = each contender by itself in fresh processes (taken in turns with the other "
             "contenders' processes, rounds pooled). A measurement during which the GEMMs, timed beside it, ran "
             f"more than {NOISE_LIMIT}x their quietest time (another process was busy) was repeated after a pause, "
             f"up to {RETRIES} times, keeping the quietest.", ""]
    lines += [f"- {note}" for note in results["notes"]] + ([""] if results["notes"] else [])
    for entry in results["configs"]:
        bound = entry["gemm_bound"]
        lines += [f"## {entry['size']} {tuple(entry['shape_mnk'])}, {entry['dtype']}, {entry['loss']} "
                  f"({LOSSES[entry['loss']]})", "",
                  f"GEMM bound {bound['median_us']:,.0f} us ({bound['gflops']:.1f} GFLOP/s). "
                  f"Gate: largest relative difference from the baseline "
                  + ", ".join(f"{k} {v:.1e}" for k, v in entry["gate"].items()) + ".", "",
                  "| contender | interleaved us | ratio | faults | x GEMM | alone us | ratio | faults | x GEMM |",
                  "|---|---|---|---|---|---|---|---|---|"]
        base_i = entry["interleaved"][BASELINE]["median_us"]
        base_a = entry["alone"].get(BASELINE, {}).get("median_us")
        for name, run in entry["interleaved"].items():
            cells = _cell(run, base_i, bound["median_us"]) + _cell(entry["alone"].get(name), base_a, bound["median_us"])
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    memory_rows = [(entry, name, mem) for entry in results["configs"] for name, mem in entry["memory"].items()]
    if memory_rows:
        lines += ["## Peak memory of a step (tracemalloc)", "",
                  "Held = bytes the contender keeps between steps (parameters, gradients, buffers, optimizer "
                  "state); peak = the most it holds during a step. X is shared and not counted.", "",
                  "| config | contender | held KiB | peak KiB | peak / baseline's |", "|---|---|---|---|---|"]
        for entry, name, mem in memory_rows:
            base = entry["memory"][BASELINE]["peak_bytes"]
            lines.append(f"| {entry['size']} {entry['dtype']} {entry['loss']} | {name} | {mem['held_bytes'] / 1024:,.0f} "
                         f"| {mem['peak_bytes'] / 1024:,.0f} | {mem['peak_bytes'] / base:.2f}x |")
        lines.append("")
    lines += chain_table(results["overhead_chain"])
    lines += ["", "## Targets: the project's goals", "", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {c['target']} | {c['measured']} | {'met' if c['met'] else '**missed**'} |" for c in results["targets"]]
    return "\n".join(lines) + "\n"


def chain_table(chain):
    """The overhead chain's section of the report, as lines of markdown."""
    lines = [f"## Per-op overhead: a chain of {chain['n_ops']} elementwise ops on a 1-element float64 array, "
             f"forward + backward, median of {chain['rounds']} interleaved rounds", "",
             "| contender | us per op | min-max | ratio to numpy by hand |", "|---|---|---|---|"]
    hand = chain["results"]["numpy by hand"]["median_us_per_op"]
    for name, r in chain["results"].items():
        lines.append(f"| {name} | {r['median_us_per_op']:.2f} | {r['min_us_per_op']:.2f}-{r['max_us_per_op']:.2f} "
                     f"| {r['median_us_per_op'] / hand:.1f}x |")
    return lines


def write_report(results, folder):
    """benchmark.json (every round of every measurement) and benchmark.md (the tables) in `folder`;
    returns the markdown."""
    os.makedirs(folder, exist_ok=True)
    report = markdown(results, results["command"])
    atomic_write(os.path.join(folder, "benchmark.json"), json.dumps(results, indent=1) + "\n")
    atomic_write(os.path.join(folder, "benchmark.md"), report)
    return report
