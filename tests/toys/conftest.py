"""Shared helpers for the toys tests: example paths, a full test profile, the C runtime."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from lgcraft.toys.generate import GENERATED_PROFILE
from lgcraft.toys.model import load_profile, load_script
from lgcraft.toys.program import build_program

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "toys"
RUNTIME = REPO / "lgcraft" / "toys" / "runtime"
EXAMPLE_NAMES = ["mimi", "bolt", "luna"]


def profile_text() -> str:
    return yaml.safe_dump(GENERATED_PROFILE, sort_keys=False)


def program_from(data: dict, profile: dict | None = None):
    script = load_script(text=yaml.safe_dump(data, sort_keys=False))
    prof = load_profile(text=yaml.safe_dump(profile or GENERATED_PROFILE, sort_keys=False))
    return build_program(script, prof)


def example_program(name: str):
    return build_program(load_script(EXAMPLES / f"{name}.toy.yaml"),
                         load_profile(EXAMPLES / f"{name}.profile.yaml"))


def build_runtime(folder: Path, defines: dict[str, int] | None = None, extra: list[str] | None = None) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (install gcc)")
    exe = folder / "toyrt_host"
    flags = [f"-D{k}={v}" for k, v in (defines or {}).items()]
    # the vendored Monocypher is third-party code: built with its own (plain) flags
    objects = []
    for source in VENDORED_SOURCES:
        obj = folder / (source.stem + ".o")
        # (not instrumented: the sanitizers watch the runtime, and Monocypher's 3,000
        # lines take long to build under ASan)
        subprocess.run([cc, "-std=c99", "-O1", "-c", "-o", str(obj), str(source)],
                       check=True, capture_output=True, text=True)
        objects.append(str(obj))
    subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Wconversion", "-Werror", "-O1", *flags,
                    *(extra or []), "-o", str(exe), *map(str, RUNTIME_SOURCES), *objects],
                   check=True, capture_output=True, text=True)
    return exe


RUNTIME_SOURCES = [RUNTIME / "toyrt.c", RUNTIME / "toyrt_sign.c", RUNTIME / "toyrt_host.c"]
VENDORED_SOURCES = [RUNTIME / "monocypher" / "monocypher.c", RUNTIME / "monocypher" / "monocypher-ed25519.c"]


@pytest.fixture(scope="session")
def runtime_exe(tmp_path_factory) -> Path:
    return build_runtime(tmp_path_factory.mktemp("toyrt"))


@pytest.fixture(scope="session")
def sanitized_runtime_exe(tmp_path_factory) -> Path:
    """The runtime under AddressSanitizer and UndefinedBehaviorSanitizer (built once)."""
    try:
        return build_runtime(tmp_path_factory.mktemp("toyrt_asan"),
                             extra=["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g"])
    except subprocess.CalledProcessError:
        pytest.skip("this compiler has no sanitizers")


def run_c(exe: Path, image: bytes, seed: int, trace, folder: Path, key: bytes | None = None) -> list[str]:
    path = folder / "program.bin"
    path.write_bytes(image)
    text = "".join(f"{t} {ev}\n" for t, ev in trace)
    keyed = ["--key", key.hex()] if key is not None else []
    done = subprocess.run([str(exe), *keyed, str(path), str(seed)], input=text, capture_output=True,
                          text=True, check=True)
    return done.stdout.splitlines()
