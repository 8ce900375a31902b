"""The C runtime and the Python simulator produce the same action log, bit for bit."""

from __future__ import annotations

import random
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgcraft.toys.compiler import encode, ram_bytes
from lgcraft.toys.generate import random_script
from lgcraft.toys.simulate import canonical_log, random_trace

from .conftest import EXAMPLE_NAMES, build_runtime, example_program, program_from, run_c


def _trace(program, rng, n):
    trace = random_trace(program, rng, n)
    # sprinkle clock-only entries and internal events too
    return [(t, -1) if rng.random() < 0.1 else (t, ev) for t, ev in trace]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_examples_match_on_random_traces(name, runtime_exe, tmp_path):
    program = example_program(name)
    image = encode(program)
    rng = random.Random(name)
    for _ in range(15):
        trace = _trace(program, rng, 200)
        seed = rng.randrange(2**32)
        assert run_c(runtime_exe, image, seed, trace, tmp_path) == canonical_log(program, trace, seed)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script_seed=st.integers(0, 2**31), run_seed=st.integers(0, 2**32 - 1))
def test_random_scripts_match_on_random_traces(script_seed, run_seed, runtime_exe, tmp_path):
    rng = random.Random(script_seed)
    program = program_from(random_script(rng))
    trace = _trace(program, rng, 120)
    expected = canonical_log(program, trace, run_seed)
    assert run_c(runtime_exe, encode(program), run_seed, trace, tmp_path) == expected


def test_runtime_refuses_damaged_image(runtime_exe, tmp_path):
    image = bytearray(encode(example_program("mimi")))
    image[30] ^= 0x55
    path = tmp_path / "bad.bin"
    path.write_bytes(bytes(image))
    done = subprocess.run([str(runtime_exe), str(path), "1"], input="", capture_output=True, text=True)
    assert done.returncode == 3 and "-4" in done.stderr  # TOYRT_E_CHECKSUM


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_sized_runtime_matches_reported_ram(name, tmp_path):
    program = example_program(name)
    exe = build_runtime(tmp_path, {"TOYRT_MAX_SLOTS": max(1, program.n_slots),
                                   "TOYRT_MAX_VARS": max(1, len(program.var_names)),
                                   "TOYRT_MAX_STACK": max(1, program.max_stack)})
    size = int(subprocess.run([str(exe), "--sizeof"], capture_output=True, text=True, check=True).stdout)
    import ctypes

    assert size == ram_bytes(program.n_slots, len(program.var_names), ctypes.sizeof(ctypes.c_void_p))
    rng = random.Random(1)
    trace = _trace(program, rng, 100)
    assert run_c(exe, encode(program), 9, trace, tmp_path) == canonical_log(program, trace, 9)
