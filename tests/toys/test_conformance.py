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


FIRMWARE_MAIN = r"""
#include <stdio.h>
#include "mimi.h"
#include "toyrt.h"
static void on_action(void *user, uint32_t t, uint8_t op, const int32_t *a, uint8_t n) {
    uint8_t i; (void)user;
    printf("%lu %d", (unsigned long)t, op);
    for (i = 0; i < n; i++) printf(" %ld", (long)a[i]);
    printf("\n");
}
int main(void) {
    static toyrt_t rt;
    if (toyrt_init(&rt, toy_program, TOY_PROGRAM_SIZE, 7, on_action, 0) != TOYRT_OK) return 1;
    toyrt_start(&rt, 0);
    toyrt_event(&rt, 1000, TOY_EV_PAT_HEAD);
    toyrt_advance(&rt, 5000);
    printf("sizeof %lu\n", (unsigned long)sizeof(toyrt_t));
    return 0;
}
"""


def test_generated_c_builds_into_firmware(tmp_path):
    import ctypes
    import shutil

    from lgcraft.toys.workflow import compile_files

    from .conftest import RUNTIME

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    program = example_program("mimi")
    compile_files(program, "c", tmp_path, "mimi")
    (tmp_path / "main.c").write_text(FIRMWARE_MAIN)
    exe = tmp_path / "firmware"
    subprocess.run([cc, "-std=c99", "-Wall", "-Werror", "-include", str(tmp_path / "mimi.h"), f"-I{RUNTIME}",
                    f"-I{tmp_path}", "-o", str(exe), str(tmp_path / "main.c"), str(tmp_path / "mimi.c"),
                    str(RUNTIME / "toyrt.c")], check=True, capture_output=True, text=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[-1] == f"sizeof {ram_bytes(program.n_slots, len(program.var_names), ctypes.sizeof(ctypes.c_void_p))}"
    trace = [(1000, program.event_id("pat_head")), (5000, -1)]
    names = ["?", "enter", "exit", "play", "speak", "led", "motor", "record", "upload", "delete", "listen",
             "set", "raise", "drop", "random", "utility"]
    as_words = [" ".join([line.split()[0], names[int(line.split()[1])], *line.split()[2:]]) for line in out[:-1]]
    assert as_words == canonical_log(program, trace, 7)


@pytest.mark.slow
def test_runtime_has_no_undefined_behaviour_on_random_scripts(tmp_path, sanitized_runtime_exe):
    exe = sanitized_runtime_exe
    rng = random.Random(99)
    for _ in range(25):
        program = program_from(random_script(rng))
        trace = _trace(program, rng, 150)
        seed = rng.randrange(2**32)
        assert run_c(exe, encode(program), seed, trace, tmp_path) == canonical_log(program, trace, seed)
    for name in EXAMPLE_NAMES:
        program = example_program(name)
        trace = _trace(program, rng, 300)
        assert run_c(exe, encode(program), 5, trace, tmp_path) == canonical_log(program, trace, 5)
