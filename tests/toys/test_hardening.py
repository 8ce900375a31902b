"""Issue 16: one test per weakness found by the toy company's designer and firmware
engineer (each failed before the fix): flashing on one random branch, compiling unsafe
scripts, images that crash or hang the runtime, unauthenticated updates, resource
bombs, "could not decide" told apart from "unsafe", diagnostics, the 49.7-day wrap."""

from __future__ import annotations

import json
import random
import struct
import subprocess
import zlib

import pytest
import yaml
from typer.testing import CliRunner

from lgcraft.cli import app, main
from lgcraft.toys.check import check_program
from lgcraft.toys.compiler import (
    encode,
    generate_key,
    load_signing_key,
    read_header,
    verify_signature,
)
from lgcraft.toys.generate import GENERATED_PROFILE, generate_script
from lgcraft.toys.simulate import InteractiveSession, canonical_log, parse_trace

from .conftest import EXAMPLES, example_program, program_from, run_c

runner = CliRunner()
QUIET = {"battery_low": {"actions": [{"play": {"clip": "chime", "volume": 40}}]}}


def toy(states: dict, initial: str, **extra) -> dict:
    return {"script": "t", "initial": "toy", **extra,
            "states": {"toy": {"initial": initial, "on": dict(QUIET), "states": states}}}


def write_toy(folder, data: dict, name: str = "t") -> str:
    (folder / "gen.profile.yaml").write_text(yaml.safe_dump(GENERATED_PROFILE, sort_keys=False))
    path = folder / f"{name}.toy.yaml"
    path.write_text(yaml.safe_dump({**data, "profile": "gen.profile.yaml"}, sort_keys=False))
    return str(path)


# ------------------------------------------------------------ 1. every random branch
def branch_flasher() -> dict:
    """Every 100 ms a random pick of four; only the fourth flashes the LED (off, on)."""
    calm = [{"weight": 1, "actions": [{"set": {"x": "1 - x"}}]} for _ in range(3)]
    flash = {"weight": 1, "actions": [{"led": {"name": "eyes", "color": "off"}},
                                      {"led": {"name": "eyes", "color": "white"}}]}
    return toy({"idle": {"on": {"press": {"target": "glow", "actions": [{"led": {"name": "eyes", "color": "white"}}]}}},
                "glow": {"on": {"press": "idle"},
                         "after": [{"delay": "100ms", "target": "glow", "actions": [{"random": [*calm, flash]}]}]}},
               "idle", variables={"x": {"min": 0, "max": 1}})


def test_flashing_on_one_random_branch_fails():
    program = program_from(branch_flasher())
    report = check_program(program)
    assert "flashing" in report.failed_rules and report.outcome == "unsafe"
    finding = next(r for r in report.rules if r.rule == "flashing").findings[0]
    assert "random branch" in finding.message and finding.path[0] == "press"


def test_flashing_rule_passes_when_no_branch_flashes():
    data = branch_flasher()
    options = data["states"]["toy"]["states"]["glow"]["after"][0]["actions"][0]["random"]
    options[3] = {"weight": 1, "actions": [{"led": {"name": "eyes", "color": "white"}}]}
    assert "flashing" not in check_program(program_from(data)).failed_rules


def test_motor_duty_on_one_random_branch_fails():
    runs = [{"weight": 1, "actions": []}] * 5 + [{"weight": 1, "actions": [
        {"motor": {"name": "wheel", "speed": 60, "duration": "2500ms"}}]}]
    data = toy({"idle": {"on": {"press": "go"}},
                "go": {"entry": [{"motor": {"name": "wheel", "speed": 60, "duration": "2500ms"}}],
                       "on": {"press": "idle"},
                       "after": [{"delay": "2600ms", "target": "go2", "actions": [{"random": runs}]}]},
                "go2": {"on": {"press": "idle"}, "after": [{"delay": "2600ms", "target": "go"}]}}, "idle")
    assert "motor-duty" in check_program(program_from(data)).failed_rules


# ------------------------------------------------------------ 4. could not decide
def test_check_bound_exits_3_not_1(capsys):
    code = main(["toys", "check", str(EXAMPLES / "bolt.toy.yaml"), "--max-states", "40"])
    err = capsys.readouterr().err
    assert code == 3 and "could not decide:" in err and "--max-states" in err


def test_check_time_bound_exits_3_with_json_statuses(tmp_path, capsys):
    path = write_toy(tmp_path, generate_script(50, seed=1))
    code = main(["--json", "toys", "check", path, "--max-seconds", "0.001"])
    data = json.loads(capsys.readouterr().out)
    assert code == 3 and data["outcome"] == "undecided" and data["undecided_rules"]
    assert all(r["status"] in ("undecided", "skip", "fail") for r in data["rules"])


def test_check_memory_bound_is_a_setting(tmp_path, capsys, monkeypatch):
    path = write_toy(tmp_path, generate_script(50, seed=1))
    monkeypatch.setenv("LGCRAFT_TOYS_MAX_CHECK_MEMORY_MB", "1")
    assert main(["toys", "check", path]) == 3
    assert "more than 1 MB (--max-memory-mb)" in capsys.readouterr().err
    monkeypatch.setenv("LGCRAFT_TOYS_MAX_CHECK_MEMORY_MB", "0")
    assert main(["toys", "check", path]) == 2  # a bound must be at least 1
    assert "LGCRAFT_TOYS_MAX_CHECK_MEMORY_MB=0" in capsys.readouterr().err


def grid_buster(trap: bool = False) -> dict:
    """Blinking timers 1 ms apart (a 1 ms grid) next to a 30-minute sleep timer: 1.8M
    grid steps, far past the state bound, before the time abstraction."""
    sleep = {} if trap else {"on": {"press": "idle"}}
    return {"script": "t", "initial": "toy", "states": {"toy": {
        "initial": "idle", "on": dict(QUIET), "after": [{"delay": "30min", "target": "sleep"}],
        "states": {"idle": {"entry": [{"led": {"name": "eyes", "color": "green"}}], "on": {"press": "a"},
                            "after": [{"delay": "1000ms", "target": "a"}]},
                   "a": {"entry": [{"led": {"name": "eyes", "color": "off"}}], "on": {"press": "idle"},
                         "after": [{"delay": "1001ms", "target": "idle"}]},
                   "sleep": sleep}}}}


def test_time_abstraction_decides_where_the_exact_grid_is_too_large(tmp_path, capsys):
    path = write_toy(tmp_path, grid_buster())
    code = main(["--json", "toys", "check", path, "--max-states", "20000"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["outcome"] == "safe" and "30min" not in (data["time_abstraction"] or "x")
    assert "timers longer than 10s" in data["time_abstraction"]


def test_time_abstraction_still_finds_real_problems(tmp_path, capsys):
    path = write_toy(tmp_path, grid_buster(trap=True))
    code = main(["--json", "toys", "check", path, "--max-states", "20000"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["failed_rules"] == ["trap-state"] and data["time_abstraction"]


# ------------------------------------------------------------ 2. compile gates on check
def unsafe_mimi(tmp_path) -> str:
    text = (EXAMPLES / "mimi.toy.yaml").read_text().replace("profile: mimi.profile.yaml",
                                                            f"profile: {EXAMPLES / 'mimi.profile.yaml'}")
    loud = (EXAMPLES / "mimi.profile.yaml").read_text().replace("max_laeq_db: 72", "max_laeq_db: 95")
    (tmp_path / "loud.profile.yaml").write_text(loud)
    path = tmp_path / "mimi.toy.yaml"
    path.write_text(text.replace(str(EXAMPLES / "mimi.profile.yaml"), str(tmp_path / "loud.profile.yaml")))
    return str(path)


def test_compile_refuses_a_script_that_fails_check(tmp_path, capsys):
    script = unsafe_mimi(tmp_path)
    out = tmp_path / "mimi.bin"
    assert main(["toys", "compile", script, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "refusing to compile" in err and "loudness" in err and "--allow-unsafe loudness" in err
    assert not out.exists()


def test_allow_unsafe_is_recorded_in_header_and_report(tmp_path, capsys):
    script = unsafe_mimi(tmp_path)
    out = tmp_path / "mimi.bin"
    assert main(["--json", "toys", "compile", script, "-o", str(out), "--allow-unsafe", "loudness"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["waived_rules"] == ["loudness"] and data["check_outcome"] == "unsafe"
    head = read_header(out.read_bytes())
    assert head.waivers == ("loudness",) and head.waived_mask != 0
    assert main(["toys", "compile", script, "-o", str(out), "--allow-unsafe", "loudnes"]) == 2


# ------------------------------------------------------------ 3. the runtime and its images
def craft(image: bytes, offset: int, value: int) -> bytes:
    """Set one byte and recompute the CRC, as an attacker would."""
    data = bytearray(image)
    data[offset] = value
    size = struct.unpack_from("<H", data, 6)[0] - (64 if data[5] & 1 else 0)
    struct.pack_into("<I", data, 8, zlib.crc32(bytes(data[12:size])) & 0xFFFFFFFF)
    return bytes(data)


def refusal(exe, image: bytes, tmp_path, *extra) -> str:
    path = tmp_path / "x.bin"
    path.write_bytes(image)
    done = subprocess.run([str(exe), *extra, str(path), "1"], input="100 0\n", capture_output=True, text=True,
                          timeout=20)
    return f"{done.returncode} {done.stderr.strip()}"


def test_runtime_refuses_out_of_range_indexes_with_a_valid_crc(runtime_exe, tmp_path):
    program = example_program("bolt")
    image = encode(program)
    head = read_header(image)
    base = 32 + head.n_events + 6 * head.n_vars + 12 * head.n_states + 6 * head.n_transitions
    assert refusal(runtime_exe, craft(image, base + 4, 40), tmp_path) == "3 toyrt_init failed: -9"  # timer slot
    zero = image
    for k in range(4):
        zero = craft(zero, base + k, 0)
    assert refusal(runtime_exe, zero, tmp_path) == "3 toyrt_init failed: -9"  # delay 0 ms
    assert refusal(runtime_exe, craft(image, 17, 200), tmp_path) == "3 toyrt_init failed: -7"  # root state
    assert refusal(runtime_exe, craft(image, 15, 33), tmp_path) == "3 toyrt_init failed: -5"  # slots


FUZZ_EXECUTIONS = 200


@pytest.mark.slow
def test_fuzz_mutated_images_never_crash_or_hang(tmp_path, sanitized_runtime_exe):
    """Random byte mutations with recomputed CRCs, under ASan and UBSan: every image is
    refused or runs its trace to the end. Bounded for CI (FUZZ_EXECUTIONS runs)."""
    exe = sanitized_runtime_exe
    from lgcraft.toys.generate import random_script

    rng = random.Random(16)
    seeds = [encode(example_program(name)) for name in ("mimi", "bolt", "luna")]
    seeds += [encode(program_from(random_script(random.Random(s)))) for s in (1, 2, 3)]  # every action
    trace = "".join(f"{t} {ev}\n" for t, ev in zip(range(0, 60_000, 700), [i % 9 for i in range(200)], strict=False))
    outcomes = {"refused": 0, "ran": 0}
    for _ in range(FUZZ_EXECUTIONS):
        data = bytearray(rng.choice(seeds))
        size = len(data)
        for _ in range(rng.choice([1, 1, 2, 4, 8])):
            data[rng.randrange(12, size)] = rng.choice([0, 1, 2, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        struct.pack_into("<I", data, 8, zlib.crc32(bytes(data[12:size])) & 0xFFFFFFFF)
        path = tmp_path / "m.bin"
        path.write_bytes(bytes(data))
        done = subprocess.run([str(exe), str(path), "7"], input=trace, capture_output=True, text=True, timeout=20)
        assert "runtime error" not in done.stderr and "Sanitizer" not in done.stderr, done.stderr[:2000]
        assert done.returncode in (0, 3), done.stderr[:500]
        outcomes["refused" if done.returncode == 3 else "ran"] += 1
    assert outcomes["refused"] and outcomes["ran"]


def test_signed_images_need_the_trusted_key(runtime_exe, tmp_path):
    public = generate_key(tmp_path / "k.pem")
    other = generate_key(tmp_path / "other.pem")
    program = example_program("mimi")
    signed = encode(program, signing_key=load_signing_key(tmp_path / "k.pem"))
    assert read_header(signed).signed and verify_signature(signed, public)
    trace = [(1000, program.event_id("pat_head")), (5000, -1)]
    assert run_c(runtime_exe, signed, 7, trace, tmp_path, key=public) == canonical_log(program, trace, 7)
    assert refusal(runtime_exe, signed, tmp_path, "--key", other.hex()) == "3 toyrt_init failed: -12"
    assert refusal(runtime_exe, encode(program), tmp_path, "--key", public.hex()) == "3 toyrt_init failed: -11"
    tampered = craft(signed, 40, signed[40] ^ 1)  # CRC recomputed, signature now wrong
    assert refusal(runtime_exe, tampered, tmp_path, "--key", public.hex()) == "3 toyrt_init failed: -12"
    assert not verify_signature(tampered, public)


def test_compile_sign_writes_a_signed_image_and_trusted_key(tmp_path, capsys):
    assert main(["toys", "keygen", str(tmp_path / "k.pem")]) == 0
    assert main(["toys", "keygen", str(tmp_path / "k.pem")]) == 2  # never overwrites a key
    capsys.readouterr()
    assert main(["--json", "toys", "compile", str(EXAMPLES / "mimi.toy.yaml"), "-t", "c", "-o", str(tmp_path),
                 "--sign", str(tmp_path / "k.pem")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["signed"] and "TOY_TRUSTED_KEY" in (tmp_path / "mimi.h").read_text()
    assert main(["toys", "compile", str(EXAMPLES / "mimi.toy.yaml"), "-o", str(tmp_path / "x.bin"),
                 "--sign", str(EXAMPLES / "mimi.toy.yaml")]) == 2


# ------------------------------------------------------------ 6. the 49.7-day wrap
def wrap_program():
    return program_from(toy({"dark": {"on": {"press": "lit"}},
                             "lit": {"entry": [{"led": {"name": "eyes", "color": "warm_white"}}],
                                     "exit": [{"led": {"name": "eyes", "color": "off"}}],
                                     "on": {"press": "dark"}, "after": [{"delay": "30min", "target": "dark"}]}},
                            "dark"))


def test_timer_across_the_32_bit_wrap_fires_on_time_in_c_and_simulator(runtime_exe, tmp_path):
    program = wrap_program()
    press = program.event_id("press")
    start = 2**32 - 60_000  # a minute before the tick wraps (day 49.7)
    # the firmware's tick calls toyrt_advance far more often than every 24.8 days (2^31 ms)
    ticks = [(k * 2**30, -1) for k in range(1, 4)]
    trace = [*ticks, (start, press), (start + 1_000, -1), (start + 1_799_999, -1), (start + 1_800_000, -1)]
    lines = canonical_log(program, trace, 1)
    lit = program.state_names.index("lit")
    exits = [line for line in lines if line.split()[1:] == ["exit", str(lit)]]
    assert exits and int(exits[0].split()[0]) == (start + 1_800_000) % 2**32  # not early
    assert run_c(runtime_exe, encode(program), 1, trace, tmp_path) == lines
    parsed = parse_trace([json.dumps({"t": start + 1_800_000})], program)  # beyond 2^32: accepted
    assert parsed == [(start + 1_800_000, -1)]


# ------------------------------------------------------------ 4. resource limits
BOMB = "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))


@pytest.mark.parametrize("command", [["validate"], ["check"], ["simulate", "--events", "TRACE"], ["compile"],
                                     ["graph"]])
def test_alias_bomb_is_refused_by_every_command(command, tmp_path, capsys):
    bomb = tmp_path / "bomb.toy.yaml"
    bomb.write_text(BOMB)
    (tmp_path / "t.jsonl").write_text("")
    args = [str(tmp_path / "t.jsonl") if a == "TRACE" else a for a in command]
    code = main(["toys", args[0], str(bomb), *args[1:], "--profile", str(EXAMPLES / "mimi.profile.yaml")]
                if command[0] != "graph" else ["toys", "graph", str(bomb)])
    err = capsys.readouterr().err
    assert code in (1, 2) and "alias bomb" in err, err  # validate reports (1), the others refuse (2)


def test_large_file_is_refused_before_reading(tmp_path, capsys, monkeypatch):
    big = tmp_path / "big.toy.yaml"
    big.write_text("script: s\n" + "# padding\n" * 120_000)
    assert main(["toys", "graph", str(big)]) == 2
    assert "larger than 1000000 bytes" in capsys.readouterr().err
    monkeypatch.setenv("LGCRAFT_TOYS_MAX_FILE_BYTES", "5000000")
    assert main(["toys", "graph", str(big)]) == 2
    assert "larger than" not in capsys.readouterr().err


def test_recursive_alias_is_refused(tmp_path, capsys):
    path = tmp_path / "r.toy.yaml"
    path.write_text("script: s\ninitial: a\nstates: &s {a: {states: *s}}\n")
    assert main(["toys", "graph", str(path)]) == 2
    assert "recursive alias" in capsys.readouterr().err


# ------------------------------------------------------------ 5. diagnostics
def test_findings_point_at_the_action_and_name_the_offending_state(tmp_path, capsys):
    data = toy({"a": {"on": {"press": "b"}},
                "b": {"entry": [{"led": {"name": "mic_led", "color": "white"}}, {"play": {"clip": "beep", "volume": 40}},
                                {"record": {"duration": "2s"}}],
                      "after": [{"delay": "3s", "target": "a"}]}}, "a")
    path = write_toy(tmp_path, data)
    code = main(["--json", "toys", "check", path])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    consent = next(r for r in report["rules"] if r["rule"] == "mic-consent")["findings"][0]
    record_line = next(i for i, line in enumerate(open(path), 1) if "record:" in line)
    assert consent["location"].split(":")[1] == str(record_line)
    assert consent["state"] == "b" and consent["path"] == ["press"]


def test_every_finding_has_a_location():
    from .test_check_rules import CASES

    for rule, (bad, _good, _path) in CASES.items():
        report = check_program(program_from(bad))
        for result in report.rules:
            for finding in result.findings:
                assert finding.location, (rule, finding)


def test_all_schema_and_guard_errors_in_one_run_say_what_is_allowed(tmp_path, capsys):
    path = tmp_path / "bad.toy.yaml"
    path.write_text(f"script: t\nprofile: {EXAMPLES / 'mimi.profile.yaml'}\ninitial: a\n"
                    "variables:\n  y: {min: 0, max: 3}\nstates:\n  a:\n    after:\n      - delay: -2s\n"
                    "        target: a\n    on:\n      pat_head: {target: a, guard: \"y + true\"}\n"
                    "  böse:\n    entry:\n      - play: {clip: giggle, volume: loud}\n")
    assert main(["--json", "toys", "validate", str(path)]) == 1
    problems = [p["message"] for p in json.loads(capsys.readouterr().out)["problems"]]
    assert len(problems) == 4, problems
    assert any("2s" in m and "500ms" in m for m in problems)
    assert any("ASCII" in m for m in problems)
    assert any("type error" in m for m in problems)
    assert any("from 0 to 100" in m for m in problems)


# ------------------------------------------------------------ issue 17: the interactive simulator
def test_interactive_help_lists_commands_and_led_off_is_not_doubled():
    program = example_program("mimi")
    session = InteractiveSession(program, 1)
    from lgcraft.toys.simulate import HelpRequested

    with pytest.raises(HelpRequested) as answer:
        session.send("help")
    assert "wait DURATION" in str(answer.value) and "pat_head" in str(answer.value)
    assert program.describe((0, "led", 0, 0, 0, 0)) == f"led {program.led_names[0]} off"
    result = runner.invoke(app, ["toys", "simulate", str(EXAMPLES / "mimi.toy.yaml")], input="help\nquit\n")
    assert result.exit_code == 0 and "unknown event" not in result.output and "Commands:" in result.output


def test_trace_lines_are_bounded(tmp_path, capsys):
    trace = tmp_path / "deep.jsonl"
    trace.write_text("[" * 100_000 + "\n")
    assert main(["toys", "simulate", str(EXAMPLES / "bolt.toy.yaml"), "--events", str(trace)]) == 2
    assert "longer than 10000 characters" in capsys.readouterr().err
