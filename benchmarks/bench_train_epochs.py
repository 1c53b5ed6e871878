"""The `train` job's seconds per epoch with a compiled step (the default) and with --no-compile.

Runs `python -m tinygrad_ae train ARGS --out TMP` in fresh processes, alternating the two, `--runs`
times each, and reads each run's history.csv (the seconds column: the epoch's steps plus the loss on the
training and validation rows, what the job's progress shows). Reports, per variant, the median epoch
(epoch 1, with the captures, left out) and the quietest run's median, and their ratio.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_train_epochs.py --runs 3               # digits, defaults
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_train_epochs.py --runs 2 -- --data fashion-mnist --hidden 128 --epochs 2
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(train_args, out, compile_):
    command = [sys.executable, "-m", "tinygrad_ae", "train", *train_args, "--out", str(out)]
    if not compile_:
        command.append("--no-compile")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run(command, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out / "history.csv") as f:
        return [float(row["seconds"]) for row in csv.DictReader(f)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant, alternated (default 3)")
    parser.add_argument("train_args", nargs="*", help="arguments of `train` (after --)")
    args = parser.parse_args()
    per_run = {"compiled": [], "--no-compile": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for name in (("compiled", "--no-compile") if i % 2 == 0 else ("--no-compile", "compiled")):
                seconds = run(args.train_args, Path(tmp) / f"{name}-{i}", name == "compiled")
                later = seconds[1:] or seconds
                per_run[name].append(later)
                print(f"run {i + 1} {name:13s} epochs {len(seconds)}: median {statistics.median(later) * 1e3:8.2f} ms, "
                      f"quietest {min(later) * 1e3:8.2f} ms, epoch 1 {seconds[0] * 1e3:8.2f} ms", flush=True)
    summary = {}
    for name, runs in per_run.items():
        every = [s for r in runs for s in r]
        summary[name] = (statistics.median(every), min(statistics.median(r) for r in runs), min(every))
        print(f"{name:13s} median epoch {summary[name][0] * 1e3:8.2f} ms, quietest run's median "
              f"{summary[name][1] * 1e3:8.2f} ms, quietest epoch {summary[name][2] * 1e3:8.2f} ms")
    a, b = summary["--no-compile"], summary["compiled"]
    print(f"--no-compile / compiled: median epoch {a[0] / b[0]:.2f}x, quietest run's median {a[1] / b[1]:.2f}x, "
          f"quietest epoch {a[2] / b[2]:.2f}x")


if __name__ == "__main__":
    main()
