"""How long each everyday ``baton`` command takes to start, and how much memory it peaks at.

An ops person validating a mapping in a loop waits for the interpreter and the imports, not
for the work: this runs each command several times in a fresh process from an empty folder
(on the packaged defaults) and prints the median wall time and the peak resident memory.

    python benchmarks/cli_startup.py [--runs 7] [--baton PATH]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = (
    ("baton --help", ["--help"]),
    ("baton mappings validate", ["mappings", "validate"]),
    ("baton schema handoff", ["schema", "handoff"]),
)
_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
    "stderr=subprocess.DEVNULL).returncode\n"
    "elapsed = time.perf_counter() - started\n"
    "print(code, elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def measure(baton: str, args: list[str], runs: int, cwd: Path) -> tuple[float, float]:
    """Median seconds and peak MB of ``baton args`` over ``runs`` fresh processes."""
    seconds, peaks = [], []
    for _ in range(runs):
        output = subprocess.run(
            [sys.executable, "-c", _MEASURE, baton, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        code, elapsed, peak_kb = int(output[0]), float(output[1]), int(output[2])
        if code != 0:
            raise SystemExit(f"{baton} {' '.join(args)} exited {code}")
        seconds.append(elapsed)
        peaks.append(peak_kb / 1024)
    return statistics.median(seconds), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baton", default=shutil.which("baton") or "baton")
    options = parser.parse_args()
    if "/" in options.baton:  # the commands run in an empty folder: make the path absolute
        options.baton = str(Path(options.baton).resolve())
    with tempfile.TemporaryDirectory() as empty:
        print(f"{'command':<26} {'median s':>9} {'peak MB':>8}   ({options.runs} runs each)")
        started = time.perf_counter()
        for label, args in COMMANDS:
            seconds, peak = measure(options.baton, args, options.runs, Path(empty))
            print(f"{label:<26} {seconds:>9.3f} {peak:>8.1f}")
        print(f"(measured in {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
