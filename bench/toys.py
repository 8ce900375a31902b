"""Benchmark for `lgcraft toys`: compiled sizes, simulator speed, check time.

Run: python bench/toys.py [--events N] [--json] [--fuzz N]

* Size: each example compiled, flash and RAM against its board budget, and the 12-state
  example against the issue's target (1 KB flash, 256 B RAM).
* Simulator: events per second of the Python simulator on a random trace (sensor events
  0-2 s apart), against the C runtime (gcc -O2 on this machine, trace already in memory)
  on the same trace in the same run; target >= 100k events/s.
* Check: time to check a generated 50-state script (target < 2 s), with the 12-state
  example for scale, each against the same search recomputing every move (no outcome
  caches) in the same run.
* Runtime hardening (issue 16): the one-off cost of validating an image at load
  (toyrt_validate: every table entry, action list and expression; microseconds on this
  host), and the C interpreter's events/s with the verified format-2 runtime against
  the format-1 runtime before it (bench/baseline/, same trace, same run; target: no
  more than 10% slower).
* Fuzz (--fuzz N): N images mutated at random (1-8 bytes, CRC recomputed, seeds: the
  three examples and three random scripts that use every action) run under ASan and
  UBSan with gcov: how many were refused at load, ran their trace, or crashed/hung,
  and the line and branch coverage of toyrt.c.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lgcraft.toys.check import _Checker, check_program  # noqa: E402
from lgcraft.toys.compiler import encode, size_report  # noqa: E402
from lgcraft.toys.engine import Engine  # noqa: E402
from lgcraft.toys.generate import GENERATED_PROFILE, generate_script  # noqa: E402
from lgcraft.toys.model import load_profile, load_script  # noqa: E402
from lgcraft.toys.program import build_program  # noqa: E402

EXAMPLES = REPO / "examples" / "toys"
NAMES = ["mimi", "bolt", "luna"]


def example(name: str):
    return build_program(load_script(EXAMPLES / f"{name}.toy.yaml"), load_profile(EXAMPLES / f"{name}.profile.yaml"))


def sensor_trace(program, n: int, seed: int = 1):
    rng = random.Random(seed)
    external = [i for i, e in enumerate(program.event_names) if e not in program.script.events]
    t, trace = 0, []
    for _ in range(n):
        t += rng.randrange(0, 2000)
        trace.append((t, rng.choice(external)))
    return trace


def best_of(runs: int, fn) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def c_runtime(folder: Path) -> Path | None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    exe = folder / "toyrt_host"
    runtime = REPO / "lgcraft" / "toys" / "runtime"
    subprocess.run([cc, "-std=c99", "-O2", "-o", str(exe), str(runtime / "toyrt.c"), str(runtime / "toyrt_sign.c"),
                    str(runtime / "toyrt_host.c"), str(runtime / "monocypher" / "monocypher.c"),
                    str(runtime / "monocypher" / "monocypher-ed25519.c")], check=True)
    return exe


def c_events_per_second(exe: Path, image: bytes, trace, folder: Path) -> float:
    """The C runtime's own rate: the host driver reads the trace first, then times only
    toyrt_event/toyrt_advance (actions counted, not printed)."""
    prog = folder / "p.bin"
    prog.write_bytes(image)
    text = "".join(f"{t} {ev}\n" for t, ev in trace)
    best = float("inf")
    for _ in range(3):
        out = subprocess.run([str(exe), "--bench", str(prog), "1"], input=text, capture_output=True,
                             text=True, check=True).stdout.split()
        best = min(best, float(out[2]))
    return len(trace) / max(best, 1e-9)


def to_format_1(image: bytes) -> bytes:
    """The same program in format 1 (24-byte header, no waivers or signature), for the
    baseline runtime: the tables and code area are byte for byte the same."""
    import struct
    import zlib

    code_offset, code_size = struct.unpack_from("<HH", image, 22)
    body = image[32:code_offset + code_size]
    header = bytearray(image[:24])
    header[4] = 1
    header[5] = 0
    struct.pack_into("<H", header, 6, 24 + len(body))
    struct.pack_into("<H", header, 22, code_offset - 8)
    out = bytearray(header + body)
    struct.pack_into("<I", out, 8, zlib.crc32(bytes(out[12:])) & 0xFFFFFFFF)
    return bytes(out)


def baseline_runtime(folder: Path) -> Path | None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    exe = folder / "toyrt_host_v1"
    base = REPO / "bench" / "baseline"
    subprocess.run([cc, "-std=c99", "-O2", f"-I{base}", "-o", str(exe), str(base / "toyrt_v1.c"),
                    str(base / "toyrt_host_v1.c")], check=True)
    return exe


def load_microseconds(exe: Path, image: bytes, folder: Path, runs: int = 20000) -> float:
    prog = folder / "load.bin"
    prog.write_bytes(image)
    best = float("inf")
    for _ in range(3):
        out = subprocess.run([str(exe), "--load-bench", str(prog), str(runs)], capture_output=True, text=True,
                             check=True).stdout
        best = min(best, float(out))
    return best


def mutated_images(n: int, seed: int = 2026):
    import struct
    import zlib

    from lgcraft.toys.generate import random_script

    rng = random.Random(seed)
    seeds = [encode(example(name)) for name in NAMES]
    seeds += [encode(build_program(load_script(text=yaml.safe_dump(random_script(random.Random(s)), sort_keys=False)),
                                   load_profile(text=yaml.safe_dump(GENERATED_PROFILE, sort_keys=False))))
              for s in (1, 2, 3)]
    yield from seeds
    for _ in range(n):
        data = bytearray(rng.choice(seeds))
        size = len(data)
        for _ in range(rng.choice([1, 1, 2, 4, 8])):
            data[rng.randrange(12, size)] = rng.choice([0, 1, 2, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        struct.pack_into("<I", data, 8, zlib.crc32(bytes(data[12:size])) & 0xFFFFFFFF)
        yield bytes(data)


def fuzz(n: int, folder: Path) -> dict | None:
    import re

    cc = shutil.which("gcc")
    if cc is None or shutil.which("gcov") is None:
        return None
    runtime = REPO / "lgcraft" / "toys" / "runtime"
    objects = []
    for vendored in ("monocypher.c", "monocypher-ed25519.c"):
        obj = folder / (vendored + ".o")
        subprocess.run([cc, "-std=c99", "-O1", "-c", "-o", str(obj), str(runtime / "monocypher" / vendored)], check=True)
        objects.append(str(obj))
    exe = folder / "fuzz_host"
    subprocess.run([cc, "-std=c99", "-O0", "--coverage", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    "-o", str(exe), str(runtime / "toyrt.c"), str(runtime / "toyrt_sign.c"),
                    str(runtime / "toyrt_host.c"), *objects], check=True, cwd=folder)
    trace = "".join(f"{t} {i % 9}\n" for i, t in enumerate(range(0, 60_000, 700)))
    counts = {"executions": 0, "refused": 0, "ran": 0, "crashed_or_hung": 0}
    path = folder / "m.bin"
    for image in mutated_images(n):
        path.write_bytes(image)
        counts["executions"] += 1
        try:
            done = subprocess.run([str(exe), str(path), "7"], input=trace, capture_output=True, text=True, timeout=20)
        except subprocess.TimeoutExpired:
            counts["crashed_or_hung"] += 1
            continue
        if done.returncode not in (0, 3) or "Sanitizer" in done.stderr or "runtime error" in done.stderr:
            counts["crashed_or_hung"] += 1
        else:
            counts["refused" if done.returncode == 3 else "ran"] += 1
    gcda = next(folder.glob("*toyrt.gcda"))
    report = subprocess.run(["gcov", "-b", "-o", str(folder), gcda.name], capture_output=True, text=True,
                            cwd=folder).stdout
    part = report.split("toyrt.c'", 1)[1]
    counts["line_coverage_percent"] = float(re.search(r"Lines executed:([0-9.]+)%", part).group(1))
    counts["branches_taken_percent"] = float(re.search(r"Taken at least once:([0-9.]+)%", part).group(1))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--fuzz", type=int, default=0, metavar="N", help="also fuzz the runtime with N images")
    args = parser.parse_args()
    results: dict = {"sizes": [], "simulator": [], "check": [], "runtime": []}

    for name in NAMES:
        program = example(name)
        image = encode(program)
        report = size_report(program, image)
        results["sizes"].append({
            "example": name, "states": len(program.state_names), "mcu": program.profile.mcu,
            "flash_bytes": report.flash_bytes, "flash_budget_bytes": report.flash_budget_bytes,
            "ram_bytes": report.ram_bytes, "ram_budget_bytes": report.ram_budget_bytes,
            "flash_vs_1kb": round(report.flash_bytes / 1024, 3), "ram_vs_256b": round(report.ram_bytes / 256, 3),
        })

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        exe = c_runtime(folder)
        old = baseline_runtime(folder)
        for name in NAMES:
            program = example(name)
            image = encode(program)
            trace = sensor_trace(program, args.events)
            if exe is None or old is None:
                break
            new_rate = c_events_per_second(exe, image, trace, folder)
            old_rate = c_events_per_second(old, to_format_1(image), trace, folder)
            results["runtime"].append({
                "example": name, "image_bytes": len(image), "load_verify_us": round(load_microseconds(exe, image, folder), 3),
                "events_per_s_verified_runtime": round(new_rate), "events_per_s_before": round(old_rate),
                "after_vs_before": round(new_rate / old_rate, 3),
            })
        for name in NAMES:
            program = example(name)
            trace = sensor_trace(program, args.events)
            py_time = best_of(3, lambda program=program, trace=trace: Engine(program, 1).run(trace))
            py_rate = len(trace) / py_time
            c_rate = c_events_per_second(exe, encode(program), trace, folder) if exe else None
            results["simulator"].append({
                "example": name, "events": len(trace), "python_events_per_s": round(py_rate),
                "c_runtime_events_per_s": round(c_rate) if c_rate else None,
                "python_vs_c": round(py_rate / c_rate, 3) if c_rate else None,
                "python_vs_target_100k": round(py_rate / 100_000, 2),
            })

    profile = load_profile(text=yaml.safe_dump(GENERATED_PROFILE, sort_keys=False))
    generated = build_program(load_script(text=yaml.safe_dump(generate_script(50, seed=1), sort_keys=False)), profile)
    for label, program in (("bolt (12 states)", example("bolt")), ("generated (50 states)", generated)):
        holder = {}
        seconds = best_of(3, lambda program=program, holder=holder: holder.__setitem__("r", check_program(program)))
        report = holder["r"]
        # baseline in the same run: the same search recomputing every move (no outcome caches)
        plain = _Checker._event_outcomes, _Checker._wait_outcomes
        _Checker._event_outcomes = _Checker._wait_outcomes = lambda self, c, m: self._outcomes(c, m)
        try:
            baseline = best_of(1, lambda program=program: check_program(program))
        finally:
            _Checker._event_outcomes, _Checker._wait_outcomes = plain
        results["check"].append({
            "script": label, "states": len(program.state_names), "configurations": report.configurations,
            "moves": report.moves, "seconds": round(seconds, 3),
            "configurations_per_s": round(report.configurations / seconds),
            "vs_target_2s": round(seconds / 2.0, 3),
            "uncached_seconds": round(baseline, 3), "speedup_vs_uncached": round(baseline / seconds, 2),
        })

    if args.fuzz:
        with tempfile.TemporaryDirectory() as tmp:
            results["fuzz"] = fuzz(args.fuzz, Path(tmp))

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("Compiled size (flash = program image, RAM = runtime state + expression stack)")
    for r in results["sizes"]:
        print(f"  {r['example']:5} {r['states']:3} states  flash {r['flash_bytes']:5} / {r['flash_budget_bytes']} B"
              f"  RAM {r['ram_bytes']:4} / {r['ram_budget_bytes']} B  ({r['mcu']}; x{r['flash_vs_1kb']} of 1 KB,"
              f" x{r['ram_vs_256b']} of 256 B)")
    print("Simulator (sensor events 0-2 s apart)")
    for r in results["simulator"]:
        c = f"C runtime {r['c_runtime_events_per_s']:,}/s, Python = x{r['python_vs_c']} of C" if r["c_runtime_events_per_s"] else "no C compiler"
        print(f"  {r['example']:5} Python {r['python_events_per_s']:,} events/s (x{r['python_vs_target_100k']} of the 100k target); {c}")
    print("C runtime: load-time verification and interpreter speed, format 2 (verified) vs format 1 (before)")
    for r in results["runtime"]:
        print(f"  {r['example']:5} image {r['image_bytes']} B: verified at load in {r['load_verify_us']:.2f} us;"
              f" {r['events_per_s_verified_runtime']:,} events/s vs {r['events_per_s_before']:,} before"
              f" (x{r['after_vs_before']})")
    if results.get("fuzz"):
        f = results["fuzz"]
        print(f"Fuzz (ASan + UBSan): {f['executions']} images, {f['refused']} refused at load, {f['ran']} ran their"
              f" trace, {f['crashed_or_hung']} crashed or hung; toyrt.c lines {f['line_coverage_percent']}%,"
              f" branches taken {f['branches_taken_percent']}%")
    print("Check (explicit-state search)")
    for r in results["check"]:
        print(f"  {r['script']:22} {r['configurations']:6} configurations, {r['moves']:7} moves in {r['seconds']:.2f} s"
              f" ({r['configurations_per_s']:,}/s; x{r['vs_target_2s']} of the 2 s target;"
              f" x{r['speedup_vs_uncached']} faster than recomputing every move, {r['uncached_seconds']:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
