"""The CLI shell: version, help, global options, errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lgcraft import __version__
from lgcraft.cli import app, main
from lgcraft.errors import InputError, VerificationError

runner = CliRunner()


def run_module(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lgcraft", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"lgcraft {__version__}"


def test_help_lists_every_group_with_a_description():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("jewelry", "eyewear", "toys", "provenance", "doctor"):
        assert f"  {group} " in result.stdout


def test_python_dash_m_runs_the_same_cli():
    result = run_module("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"lgcraft {__version__}"


def test_bad_flag_is_one_line_and_exit_2():
    result = run_module("--no-such-flag")
    assert result.returncode == 2
    assert result.stdout == ""
    first, *rest = result.stderr.strip().splitlines()
    assert first.startswith("Error: No such option: --no-such-flag")
    assert "Traceback" not in result.stderr
    assert len(rest) <= 1 and rest[0].startswith("Hint:")


def test_unknown_command_exit_2(capsys):
    assert main(["no-such-group"]) == 2
    assert "Error: No such command 'no-such-group'" in capsys.readouterr().err


def test_missing_config_file_names_the_path(capsys, tmp_path):
    missing = tmp_path / "nope.toml"
    assert main(["--config", str(missing), "doctor"]) == 2
    err = capsys.readouterr().err
    assert f"Error: config file not found: {missing}" in err


def test_broken_config_file_exit_2(capsys, tmp_path):
    bad = tmp_path / "lgcraft.toml"
    bad.write_text("[provenance\nrpc_url = 1")
    assert main(["--config", str(bad), "doctor"]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_config_file_not_utf8_or_a_folder_exit_2(capsys, tmp_path):
    bad = tmp_path / "lgcraft.toml"
    bad.write_bytes(b"\xff\xfe[core]\n")
    assert main(["--config", str(bad), "--json", "doctor"]) == 2
    captured = capsys.readouterr()
    assert f"Error: {bad}: not UTF-8 text" in captured.err and captured.out == ""
    assert main(["--config", str(tmp_path), "doctor"]) == 2
    assert f"Error: config file {tmp_path} is a folder" in capsys.readouterr().err


def test_lgcraft_errors_map_to_their_exit_codes(monkeypatch, capsys):
    import lgcraft.doctor

    def bad_input(settings, areas=None):
        raise InputError("weight_mg must be an integer, got '1.5'", hint="give milligrams")

    monkeypatch.setattr(lgcraft.doctor, "run_doctor", bad_input)
    assert main(["doctor"]) == 2
    err = capsys.readouterr().err
    assert "Error: weight_mg must be an integer, got '1.5'" in err
    assert "Hint: give milligrams" in err

    def failed_check(settings, areas=None):
        raise VerificationError("merkle path does not reach the anchored root")

    monkeypatch.setattr(lgcraft.doctor, "run_doctor", failed_check)
    assert main(["doctor"]) == 1


def test_ctrl_c_exits_130_without_traceback(monkeypatch, capsys):
    import lgcraft.doctor

    def interrupted(settings, areas=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(lgcraft.doctor, "run_doctor", interrupted)
    assert main(["doctor"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Interrupted." in err


def test_unexpected_error_is_one_line_unless_debug(monkeypatch, capsys):
    import lgcraft.doctor

    def crash(settings, areas=None):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(lgcraft.doctor, "run_doctor", crash)
    assert main(["doctor"]) == 1
    assert "Error: unexpected ZeroDivisionError: boom" in capsys.readouterr().err
    monkeypatch.setenv("LGCRAFT_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["doctor"])


def test_doctor_json_is_the_only_thing_on_stdout():
    result = run_module("--json", "doctor")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["lgcraft"] == __version__
    names = {check["name"] for check in report["checks"]}
    assert {"extra: jewelry", "extra: eyewear", "extra: toys", "extra: provenance",
            "torch device", "diffusion models", "chain endpoint", "headless renderer",
            "mesh kernels", "anvil"} <= names
    kernels = next(c for c in report["checks"] if c["name"] == "mesh kernels")
    assert kernels["ok"], kernels  # scripts/install.sh has a C compiler
    for check in report["checks"]:
        assert set(check) == {"name", "ok", "detail", "fix", "status", "area"}
        assert check["status"] in ("ok", "warn", "fail")
        assert check["ok"] == (check["status"] != "fail")
        assert check["status"] == "ok" or check["fix"], check


def test_doctor_is_a_gate_for_the_areas_asked(monkeypatch, capsys):
    import lgcraft.doctor

    real = lgcraft.doctor.missing_modules
    monkeypatch.setattr(lgcraft.doctor, "missing_modules",
                        lambda extra: ["ray"] if extra == "ray" else real(extra))
    assert main(["--json", "doctor", "ray"]) == 1
    report = json.loads(capsys.readouterr().out)  # stdout stays pure JSON on failure
    assert report["ok"] is False and report["areas"] == ["ray"]
    assert report["checks"][0]["status"] == "fail" and "lgcraft[ray]" in report["checks"][0]["fix"]
    # asked about everything, an extra that is not installed only warns
    assert main(["--json", "doctor"]) == 0
    ray = next(c for c in json.loads(capsys.readouterr().out)["checks"] if c["name"] == "extra: ray")
    assert ray["status"] == "warn"
    assert main(["doctor", "toys"]) == 0
    assert main(["doctor", "shoes"]) == 2
    assert "unknown area 'shoes'" in capsys.readouterr().err


def test_doctor_imports_nothing_heavy():
    code = ("import sys\nfrom lgcraft.cli import main\nrc = main(['--json', 'doctor'])\n"
            "print(sorted(m for m in ('torch', 'diffusers', 'pyrender', 'OpenGL', 'trimesh', 'web3',"
            " 'ray', 'mediapipe') if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr


def test_doctor_table_for_people():
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0
    assert "torch device" in result.stdout and "headless renderer" in result.stdout


def test_doctor_reports_an_unreachable_chain(tmp_path):
    result = run_module("--json", "doctor",
                        env={"LGCRAFT_PROVENANCE_RPC_URL": "http://127.0.0.1:9/secret-token-abcdefghijkl"})
    chain = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "chain endpoint")
    assert chain["ok"] is False and "unreachable" in chain["detail"]
    assert "secret-token" not in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["jewelry", "eyewear", "toys", "provenance"])
def test_root_help_line_is_the_groups_own(name):
    from lgcraft.cli import TRADES, load_trade

    group = load_trade(name)
    assert group.help.split("\n\n")[0] == TRADES[name][1]
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0 and f"lgcraft {name}" in result.stdout


def test_a_mistyped_group_gets_a_suggestion():
    result = run_module("jewlery")
    assert result.returncode == 2
    assert "No such command 'jewlery'. Did you mean 'jewelry'?" in result.stderr


@pytest.mark.parametrize("url", ["garbage", "http://[::1", "http://127.0.0.1:99999"])
def test_doctor_reports_a_malformed_rpc_url_as_a_failed_check(url):
    result = run_module("--json", "doctor", env={"LGCRAFT_PROVENANCE_RPC_URL": url})
    assert result.returncode == 1, result.stderr  # a failed check fails the gate
    chain = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "chain endpoint")
    assert chain["ok"] is False and f"{url!r} is not a valid URL" in chain["detail"]
    assert "LGCRAFT_PROVENANCE_RPC_URL" in chain["fix"]


def test_doctor_says_when_the_mesh_kernels_are_missing(monkeypatch):
    import importlib.util

    from lgcraft.doctor import check_mesh_kernels

    assert check_mesh_kernels().ok
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.endswith("_meshcore") else real(name, *a))
    check = check_mesh_kernels()  # a warning: mesh prep still works, only slower
    assert check.status == "warn" and "numpy path" in check.detail and "C compiler" in check.fix
