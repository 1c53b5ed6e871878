"""How the race is timed: interleaved in one process, alone in fresh processes, and peak memory.

Interleaved, every contender runs once per round in one process, the starting one rotated each
round, so they share the machine's noise. Alone, each runs by itself in a fresh Python process (how
a user runs it; allocation then shows up as minor page faults, counted per step). Times are medians
of rounds with the spread (min-max).
"""
import gc
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc

from .contenders import CONTENDERS
from .problem import GemmBound, Problem

# Other processes share this machine. The step's five GEMMs, timed beside every measurement, witness
# how busy it was: a measurement whose GEMMs ran more than NOISE_LIMIT x their quietest time is
# repeated, up to RETRIES times after a pause, and the quietest attempt kept.
NOISE_LIMIT = 1.25
RETRIES = 3
PAUSE_BEFORE_RETRY = 3.0   # seconds: bursts of load last a while


def _minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _timed(step, reps):
    """(microseconds per step, minor page faults per step) over reps steps."""
    faults, start = _minor_faults(), time.perf_counter()
    for _ in range(reps):
        step()
    elapsed = time.perf_counter() - start
    return elapsed / reps * 1e6, (_minor_faults() - faults) / reps


WARM_UP_CALLS = 5   # tg.compile: an eager call, two captures, the first replay (where the fused backend
#                     compiles its kernels), then one replay more, before any step is timed


def warm_up(step, seconds):
    """Run a few steps (at least WARM_UP_CALLS + 1, about `seconds` in all); return the repetitions
    that make one measurement last about `seconds`."""
    for _ in range(WARM_UP_CALLS):
        step()
    per_step, reps = _timed(step, 1)[0], 1
    while True:
        per_step = _timed(step, reps)[0]
        if reps * per_step * 1e-6 >= seconds or reps >= 3 and reps * per_step * 1e-6 >= seconds / 2:
            break
        reps *= 2
    return max(1, round(seconds / (per_step * 1e-6)))


def _summary(samples):
    times = [t for t, _ in samples]
    faults = [f for _, f in samples]
    return {"median_us": statistics.median(times), "min_us": min(times), "max_us": max(times),
            "faults_per_step": statistics.median(faults), "rounds_us": times, "rounds_faults": faults}


def interleaved(problem, names, rounds, seconds):
    """Every contender (and the GEMM bound) measured once per round, the starting one rotated each round."""
    runners = {name: CONTENDERS[name](problem) for name in names}
    runners[GemmBound.name] = GemmBound(problem)
    reps = {name: warm_up(runner.step, seconds) for name, runner in runners.items()}
    samples = {name: [] for name in runners}
    order = list(runners)
    for r in range(rounds):
        for name in order[r % len(order):] + order[:r % len(order)]:
            samples[name].append(_timed(runners[name].step, reps[name]))
    return {name: dict(_summary(s), reps=reps[name]) for name, s in samples.items()}


def _disturbance(bound):
    """How far the GEMM bound's median sits above its quietest round: near 1 on a quiet machine."""
    return bound["median_us"] / bound["min_us"]


def interleaved_quietest(problem, names, rounds, seconds, log):
    """`interleaved`, repeated (up to RETRIES times) while other processes visibly slowed it down:
    the GEMMs, timed in the same rounds, are the witness. Keeps the quietest attempt."""
    attempts = []
    for attempt in range(1 + RETRIES):
        if attempt:
            log(f"{problem.label}: the machine was busy (GEMM median {_disturbance(attempts[-1][GemmBound.name]):.2f}x "
                "its quietest round); measuring again")
            time.sleep(PAUSE_BEFORE_RETRY)
        attempts.append(interleaved(problem, names, rounds, seconds))
        if _disturbance(attempts[-1][GemmBound.name]) <= NOISE_LIMIT:
            break
    best = min(attempts, key=lambda result: _disturbance(result[GemmBound.name]))
    best[GemmBound.name]["attempts"] = len(attempts)
    return best


def alone_in_this_process(spec):
    """One contender, nothing else: what a fresh subprocess runs (see `alone`). The five GEMMs are
    timed before and after, as the witness of how busy the machine was meanwhile."""
    problem = Problem(spec["size"], spec["dtype"], spec["loss"])
    gemm = GemmBound(problem)
    gemm_reps = warm_up(gemm.step, spec["seconds"])
    probe = [_timed(gemm.step, gemm_reps)[0] for _ in range(2)]
    runner = CONTENDERS[spec["contender"]](problem)
    match_threads()
    freeze_imports()
    reps = warm_up(runner.step, spec["seconds"])
    samples = [_timed(runner.step, reps) for _ in range(spec["rounds"])]
    time.sleep(0.1)    # PyTorch's OpenMP threads spin for a while after its last op: let them settle
    probe += [_timed(gemm.step, gemm_reps)[0] for _ in range(2)]
    return dict(_summary(samples), reps=reps, gemm_probe_us=max(probe), gemm_probes_us=probe)


def alone(problem, name, rounds, seconds):
    """Run one contender alone in a fresh Python process; returns its summary (or an error note)."""
    spec = {"size": problem.size, "dtype": problem.dtype.name, "loss": problem.loss, "contender": name,
            "rounds": rounds, "seconds": seconds}
    command = [sys.executable, "-m", "tinygrad_ae.race", "--worker", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": f"worker failed (exit {done.returncode}): {done.stderr.strip()[-500:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def alone_in_fresh_processes(problem, names, rounds, seconds, processes, quiet_gemm_us, log):
    """Each contender alone, in `processes` fresh processes taken in turns (so a burst of load from
    elsewhere hits every contender alike), `rounds` rounds in all; rounds of all its processes pooled.
    A process whose GEMM probe ran slower than NOISE_LIMIT x the quietest GEMM time seen so far
    (`quiet_gemm_us` to begin with) is run again."""
    per_process = max(2, math.ceil(rounds / processes))
    runs = {name: [] for name in names}
    errors, repeated = {}, {}
    for i in range(processes if names else 0):
        for name in names[i % len(names):] + names[:i % len(names)]:
            if name not in errors:
                log(f"{problem.label}: {name} alone ({i + 1}/{processes})")
                result = alone(problem, name, per_process, seconds)
                for _ in range(RETRIES):    # the GEMM probe says another process got in the way: again
                    if "error" in result:
                        break
                    quiet_gemm_us = min(quiet_gemm_us, min(result["gemm_probes_us"]))
                    if result["gemm_probe_us"] <= NOISE_LIMIT * quiet_gemm_us:
                        break
                    log(f"{problem.label}: {name} alone: the machine was busy; measuring again")
                    repeated[name] = repeated.get(name, 0) + 1
                    time.sleep(PAUSE_BEFORE_RETRY)
                    result = min(result, alone(problem, name, per_process, seconds),
                                 key=lambda r: r.get("gemm_probe_us", math.inf))
                if "error" in result:
                    errors[name] = result
                else:
                    runs[name].append(result)
    pooled = {}
    for name, results in runs.items():
        if results:
            samples = [(t, f) for r in results for t, f in zip(r["rounds_us"], r["rounds_faults"])]
            pooled[name] = dict(_summary(samples), reps=[r["reps"] for r in results], processes=len(results),
                                processes_repeated=repeated.get(name, 0),
                                gemm_probes_us=[r["gemm_probe_us"] for r in results])
    return {**pooled, **errors}


# ----- peak memory ----------------------------------------------------------------------------------

def peak_memory(problem, name):
    """Bytes a contender holds between steps, and its peak during a step (held + temporaries), as
    tracemalloc sees numpy's allocations: built and stepped three times while tracing (a compiled step
    is then captured), then one more step."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        runner = CONTENDERS[name](problem)
        for _ in range(3):
            runner.step()
        gc.collect()
        tracemalloc.reset_peak()
        held = tracemalloc.get_traced_memory()[0]
        runner.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"held_bytes": held - before, "peak_bytes": peak - before}


# ----- fairness between frameworks in one process ------------------------------------------------

def _blas_threads():
    try:
        import threadpoolctl
    except ImportError:
        return None
    threads = [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    return threads[0] if threads else None


def match_threads():
    """PyTorch's intra-op threads = numpy's BLAS threads (or the usable CPUs without threadpoolctl).
    Only when torch is already imported: a process that runs no PyTorch should not load it."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(_blas_threads() or len(os.sched_getaffinity(0)))


def freeze_imports():
    """Exempt every object alive now (the imported modules: PyTorch alone brings hundreds of thousands)
    from Python's cyclic garbage collector. Otherwise each full collection, which a framework that
    builds its graph from Python objects triggers, walks the peers' modules too: the overhead chain
    of 10,000 ops ran 3-4x slower with PyTorch imported in the same process."""
    gc.collect()
    gc.freeze()
