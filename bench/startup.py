"""Start-up: whole-process `lgcraft --help` versus `python -c "import typer"`.

The two are run alternately, several times, in this one run; the median ratio is what
counts (target: at most 1.5), because absolute times drift on a shared machine.

    python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    lgcraft = shutil.which("lgcraft", path=str(Path(sys.executable).parent)) or "lgcraft"
    commands = {
        "lgcraft --help": [lgcraft, "--help"],
        "lgcraft eyewear --help": [lgcraft, "eyewear", "--help"],
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
    }
    for command in commands.values():  # warm the file cache
        timed(command)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            samples[name].append(timed(command))

    baseline = statistics.median(samples["python -c 'import typer'"])
    print(f"{'command':28} {'median ms':>10} {'ratio':>7}")
    for name, times in samples.items():
        median = statistics.median(times)
        print(f"{name:28} {median * 1000:10.1f} {median / baseline:7.2f}")
    ratios = [h / t for h, t in zip(samples["lgcraft --help"],
                                    samples["python -c 'import typer'"], strict=True)]
    ratio = statistics.median(ratios)
    print(f"median ratio lgcraft --help / import typer: {ratio:.2f} (target <= 1.5) "
          f"{'OK' if ratio <= 1.5 else 'OVER'}")


if __name__ == "__main__":
    main()
