"""The `lgcraft toys` commands end to end: exit codes, JSON keys, stderr messages."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lgcraft.cli import app, main

from .conftest import EXAMPLES

runner = CliRunner()
MIMI = str(EXAMPLES / "mimi.toy.yaml")
MIMI_PROFILE = str(EXAMPLES / "mimi.profile.yaml")


def run_json(*args):
    result = runner.invoke(app, ["--json", "toys", *args])
    return result, (json.loads(result.stdout) if result.stdout.strip().startswith("{") else None)


def test_help_lists_commands_with_examples():
    result = runner.invoke(app, ["toys", "--help"])
    assert result.exit_code == 0
    for command in ("validate", "check", "simulate", "coverage", "compile", "graph", "schema"):
        assert command in result.stdout
        sub = runner.invoke(app, ["toys", command, "--help"])
        assert "Example:" in sub.stdout


def test_validate_ok_and_json_keys():
    result, data = run_json("validate", MIMI, "--profile", MIMI_PROFILE)
    assert result.exit_code == 0
    assert data["valid"] is True and data["problems"] == []


def test_validate_reports_every_problem_with_position(tmp_path, capsys):
    bad = tmp_path / "bad.toy.yaml"
    bad.write_text("script: s\ninitial: a\nstates:\n  a:\n    on:\n      tickle: a\n"
                   "    entry:\n      - play: {clip: roar, volume: 50}\n")
    code = main(["--json", "toys", "validate", str(bad), "--profile", MIMI_PROFILE])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert code == 1 and data["valid"] is False
    texts = [p["text"] for p in data["problems"]]
    assert any(t.startswith(f"{bad}:6:7: unknown event") and "'tickle'" in t for t in texts)
    assert any(":8:" in t and "'roar'" in t for t in texts)
    assert "Error:" in captured.err


def test_check_passes_on_example_and_fails_with_exit_1(tmp_path, capsys):
    result, data = run_json("check", MIMI)
    assert result.exit_code == 0, result.stdout
    assert data["passed"] is True and data["configurations"] > 100
    assert {r["rule"] for r in data["rules"]} >= {"loudness", "mic-consent", "upload-delete"}
    loud = tmp_path / "loud.profile.yaml"
    loud.write_text((EXAMPLES / "mimi.profile.yaml").read_text().replace("max_laeq_db: 72", "max_laeq_db: 85"))
    bad = tmp_path / "mimi.toy.yaml"
    bad.write_text((EXAMPLES / "mimi.toy.yaml").read_text().replace("profile: mimi.profile.yaml", f"profile: {loud}"))
    code = main(["--json", "toys", "check", str(bad)])
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert code == 1 and "loudness" in data["failed_rules"]
    finding = next(r for r in data["rules"] if r["rule"] == "loudness")["findings"][0]
    assert finding["path"] == ["pat_head"]
    assert "rule(s) failed: loudness" in out.err


def test_simulate_with_trace_json_lines(tmp_path):
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"t": 1000, "event": "pat_head"}\n{"t": 5000}\n')
    result = runner.invoke(app, ["--json", "toys", "simulate", MIMI, "--events", str(trace), "--seed", "3"])
    assert result.exit_code == 0
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert lines[0] == {"t": 0, "op": "enter", "args": [0], "text": "enter mimi"}
    summary = lines[-1]["summary"]
    assert summary["final_state"] == "idle" and summary["variables"]["affection"] == 4
    again = runner.invoke(app, ["--json", "toys", "simulate", MIMI, "--events", str(trace), "--seed", "3"])
    assert again.stdout == result.stdout


def test_simulate_table_and_interactive():
    result = runner.invoke(app, ["toys", "simulate", MIMI, "--events", str(EXAMPLES / "mimi.trace.jsonl")])
    assert result.exit_code == 0 and "listen on" in result.stdout
    result = runner.invoke(app, ["toys", "simulate", MIMI], input="pat_head\nwait 3s\nstate\nquit\n")
    assert result.exit_code == 0
    assert "set affection=4" in result.stdout and "idle" in result.stdout


def test_coverage_json():
    result, data = run_json("coverage", str(EXAMPLES / "bolt.toy.yaml"), "--random", "30", "--seed", "2")
    assert result.exit_code == 0
    assert data["states_total"] == 12 and 0 < data["state_percent"] <= 100
    assert set(data) >= {"transitions_covered", "uncovered_transitions", "uncovered_states"}


def test_compile_bin_and_c(tmp_path):
    out = tmp_path / "bolt.bin"
    result, data = run_json("compile", str(EXAMPLES / "bolt.toy.yaml"), "-o", str(out))
    assert result.exit_code == 0 and out.read_bytes()[:4] == b"LGTY"
    assert data["fits"] and data["flash_bytes"] <= data["flash_budget_bytes"] == 1024
    assert data["ram_bytes"] <= 256 and data["crc32"].startswith("0x")
    result, data = run_json("compile", MIMI, "--target", "c", "-o", str(tmp_path / "c"))
    assert result.exit_code == 0 and len(data["outputs"]) == 2


def test_compile_over_budget_exits_1_and_writes_nothing(tmp_path, capsys):
    profile = tmp_path / "tiny.profile.yaml"
    profile.write_text((EXAMPLES / "mimi.profile.yaml").read_text().replace("flash_budget_bytes: 2048", "flash_budget_bytes: 100"))
    out = tmp_path / "m.bin"
    code = main(["toys", "compile", MIMI, "--profile", str(profile), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert "over the board's budget: flash" in err and "/100 B" in err


@pytest.mark.parametrize("fmt, marker", [("mermaid", "stateDiagram-v2"), ("dot", "digraph")])
def test_graph(fmt, marker):
    result = runner.invoke(app, ["toys", "graph", MIMI, "--format", fmt])
    assert result.exit_code == 0 and result.stdout.startswith(marker)


def test_schema_command_prints_json_schema():
    result = runner.invoke(app, ["toys", "schema", "script"])
    assert json.loads(result.stdout)["title"] == "lgcraft toy behavior script"


@pytest.mark.parametrize("args, fragment, code", [
    (["toys", "check", "missing.toy.yaml"], "file not found: missing.toy.yaml", 2),
    (["toys", "graph", MIMI, "--format", "png"], "unknown graph format (value: 'png')", 2),
    (["toys", "compile", MIMI, "--target", "hex"], "unknown target (value: 'hex')", 2),
    (["toys", "simulate", MIMI, "--events", "nope.jsonl"], "cannot read trace nope.jsonl", 2),
])
def test_bad_input_is_one_line_and_exit_2(args, fragment, code, capsys):
    assert main(args) == code
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_invalid_script_for_other_commands_is_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toy.yaml"
    bad.write_text("script: s\ninitial: a\nstates:\n  a:\n    on: {press: {guard: 'x +'}}\n")
    assert main(["toys", "simulate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:5:" in err and "syntax error in expression" in err


def test_trace_not_utf8_is_bad_input(tmp_path, capsys):
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(b'{"t": 10, "event": "\xff"}\n')
    assert main(["--json", "toys", "simulate", MIMI, "--events", str(trace)]) == 2
    captured = capsys.readouterr()
    assert f"Error: cannot read trace {trace}: not UTF-8 text" in captured.err and captured.out == ""


@pytest.mark.parametrize("command", [["compile", MIMI, "-o"], ["compile", MIMI, "-t", "c", "-o"],
                                     ["graph", MIMI, "-o"], ["schema", "script", "-o"]])
@pytest.mark.parametrize("where", ["folder", "under-a-file"])
def test_unwritable_output_names_the_path_and_keeps_what_is_there(tmp_path, capsys, command, where):
    blocker = tmp_path / "blocker"
    if where == "folder":
        blocker.mkdir()
        (blocker / "keep.txt").write_text("kept")
        target = blocker if command[0] != "compile" or "c" not in command else blocker / "keep.txt" / "x"
    else:
        blocker.write_text("kept")
        target = blocker / "out.bin"
    code = main(["--json", "toys", *command, str(target)])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "Error: cannot write " in captured.err and str(blocker) in captured.err
    assert "unexpected" not in captured.err and captured.out == ""
    kept = blocker / "keep.txt" if where == "folder" else blocker
    assert kept.read_text() == "kept"


def test_coverage_length_is_bounded(capsys):
    assert main(["toys", "coverage", MIMI, "--length", "99999999999999999999"]) == 2
    err = capsys.readouterr().err
    assert "Invalid value for '--length'" in err and "1000000" in err


def test_interactive_simulate_keeps_json_stdout():
    result = runner.invoke(app, ["--json", "toys", "simulate", MIMI], input="pat_head\nwait 3s\nbogus\nstate\nquit\n")
    assert result.exit_code == 0
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert lines[0] == {"t": 0, "op": "enter", "args": [0], "text": "enter mimi"}
    assert any(line.get("text") == "set affection=4" for line in lines)
    assert lines[-1] == {"state": "idle", "variables": {"affection": 4, "consent": 0}}
    assert "unknown event (value: 'bogus')" in result.stderr
