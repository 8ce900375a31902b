"""Custom pieces: one engraved solitaire as a whole process, and 100 orders from a CSV
with --jobs 2 against --jobs 1.

Targets (issue 13): one engraved solitaire in 1 s or less, start to exit; 100 orders at
least 1.7x faster with --jobs 2 than with --jobs 1. Each figure is printed with its
baseline from the same run: the bare interpreter start (`python -c pass`) and
`lgcraft --version` for the single piece, the --jobs 1 run for the batch. Wall time and
CPU time (user + system of the child) are both shown: on a shared machine the wall
time carries everyone else's load, the CPU time does not.

    python bench/custom.py            # both
    python bench/custom.py --single   # only the single piece
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LGCRAFT = [sys.executable, "-m", "lgcraft"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) for one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):  # 1: a check failed; the files are still written
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_of(command: list[str], runs: int) -> tuple[float, float]:
    samples = [timed(command) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def single(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        piece = [*LGCRAFT, "jewelry", "custom", "--type", "solitaire", "--size", "6.5", "--stone", "diamond",
                 "--stone-size", "1ct", "--engrave", "Forever 2026", "--metal", "platinum",
                 "--metal-price", "260", "--name", "bench", "--out", tmp]
        timed(piece)  # warm the page cache (font, libraries)
        bare = median_of([sys.executable, "-c", "pass"], runs)
        version = median_of([*LGCRAFT, "--version"], runs)
        wall, cpu = median_of(piece, runs)
        outputs = sorted(p.name for p in Path(tmp).iterdir())
    print(f"one engraved solitaire, whole process (median of {runs}):")
    print(f"  python -c pass      {bare[0]:.3f} s wall  {bare[1]:.3f} s CPU")
    print(f"  lgcraft --version   {version[0]:.3f} s wall  {version[1]:.3f} s CPU")
    print(f"  jewelry custom      {wall:.3f} s wall  {cpu:.3f} s CPU   "
          f"({wall / 1.0:.2f}x / {cpu / 1.0:.2f}x the 1 s target; {wall / version[0]:.1f}x lgcraft --version)")
    print(f"  wrote {', '.join(outputs)}")


ORDER_KINDS = [
    {"type": "band", "profile": "court", "engrave": "李小明 2026.5.20", "metal": "18k-yellow-gold"},
    {"type": "solitaire", "stone": "diamond", "stone_size": "1ct", "engrave": "Forever", "metal": "platinum"},
    {"type": "band", "profile": "knife-edge", "comfort_fit": "yes", "engrave": "Anna & 王伟",
     "engrave_side": "outside", "metal": "rose-gold"},
    {"type": "signet", "engrave": "陈", "engrave_side": "top", "metal": "sterling-silver"},
    {"type": "solitaire", "stone": "sapphire", "cut": "oval", "stone_size": "8x6", "setting": "bezel",
     "metal": "18k-white-gold"},
]


def batch(count: int, rounds: int = 1) -> None:
    sizes = ["5", "5.5", "6", "6.5", "7", "7.5", "8", "8.5", "9", "10"]
    with tempfile.TemporaryDirectory() as tmp:
        orders = Path(tmp) / "orders.csv"
        columns = ["name", "size", "size_system", *sorted({k for kind in ORDER_KINDS for k in kind})]
        with orders.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for i in range(count):
                writer.writerow({"name": f"LG-{i:04d}", "size": sizes[i % len(sizes)], "size_system": "us",
                                 **ORDER_KINDS[i % len(ORDER_KINDS)]})
        results: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
        # alternated rounds: on a shared machine the load drifts, and both settings
        # should see the same drift
        for round_ in range(rounds):
            for jobs in (1, 2) if round_ % 2 == 0 else (2, 1):
                out = Path(tmp) / f"out-{jobs}-{round_}"
                results[jobs].append(timed([*LGCRAFT, "jewelry", "custom", "--orders", str(orders),
                                            "--out", str(out), "--jobs", str(jobs)]))
        built = len(list((Path(tmp) / "out-2-0").glob("*.glb")))
    one = (sum(r[0] for r in results[1]) / rounds, sum(r[1] for r in results[1]) / rounds)
    two = (sum(r[0] for r in results[2]) / rounds, sum(r[1] for r in results[2]) / rounds)
    print(f"{count} orders from a CSV ({built} pieces built, every output and preview; "
          f"mean of {rounds} alternated round(s)):")
    print(f"  --jobs 1   {one[0]:.1f} s wall  ({one[0] / count:.2f} s per order)  {one[1]:.1f} s CPU")
    print(f"  --jobs 2   {two[0]:.1f} s wall  ({two[0] / count:.2f} s per order)  {two[1]:.1f} s CPU")
    print(f"  speed-up   {one[0] / two[0]:.2f}x (target >= 1.7x); load average now {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--single", action="store_true", help="only the single piece")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1, help="alternated batch rounds")
    parser.add_argument("--batch", action="store_true", help="only the batch")
    args = parser.parse_args()
    if not args.batch:
        single(args.runs)
    if not args.single:
        batch(args.orders, args.rounds)


if __name__ == "__main__":
    main()
