"""`--executor` / `[run] executor` / `LGCRAFT_RUN_EXECUTOR`: parsing, precedence, errors,
the local default importing no Ray; a separate process joining a running cluster with
`auto` (batch and doctor)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lgcraft.cli import main
from lgcraft.config import Settings
from lgcraft.errors import InputError
from lgcraft.run import ExecutorSpec, parse_executor, resolve_executor

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "spec"), [
    ("local", ExecutorSpec("local", None)), (None, ExecutorSpec("local", None)),
    ("ray", ExecutorSpec("ray", None)), ("RAY", ExecutorSpec("ray", None)),
    ("auto", ExecutorSpec("ray", "auto")),
    ("ray://head:10001", ExecutorSpec("ray", "ray://head:10001")),
    ("ray://10.0.0.5", ExecutorSpec("ray", "ray://10.0.0.5:10001")),
    ("ray://[::1]:2000", ExecutorSpec("ray", "ray://[::1]:2000")),
])
def test_executor_forms(text, spec):
    assert parse_executor(text) == spec


@pytest.mark.parametrize("text", ["rai", "ray:/head", "ray://", "ray://head:99999",
                                  "ray://head:port", "ray://head/x", "dask"])
def test_bad_executors_name_the_value(text):
    with pytest.raises(InputError, match="--executor") as info:
        parse_executor(text)
    assert info.value.hint


def test_flag_beats_env_beats_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lgcraft.toml").write_text('[run]\nexecutor = "auto"\n')
    assert str(resolve_executor(Settings.load(env={}), None)) == "auto"
    env = {"LGCRAFT_RUN_EXECUTOR": "ray://head:10001"}
    assert str(resolve_executor(Settings.load(env=env), None)) == "ray://head:10001"
    assert resolve_executor(Settings.load(env=env), "local").is_local
    with pytest.raises(InputError, match="LGCRAFT_RUN_EXECUTOR 'dask'"):
        resolve_executor(Settings.load(env={"LGCRAFT_RUN_EXECUTOR": "dask"}), None)
    (tmp_path / "lgcraft.toml").write_text('[run]\nexecutor = "yarn"\n')
    with pytest.raises(InputError, match=r"\[run\] executor 'yarn'"):
        resolve_executor(Settings.load(env={}), None)


@pytest.mark.parametrize("command", [["eyewear", "prep", "x.obj", "--out", "o"],
                                     ["jewelry", "prep", "x.obj", "--out", "o"],
                                     ["jewelry", "draft", "--type", "ring"]])
def test_a_bad_executor_is_exit_2_before_any_work(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    assert main([*command, "--executor", "spark"]) == 2
    err = capsys.readouterr().err
    assert "Error: --executor 'spark': unknown executor" in err
    assert "Hint: use local, ray, auto or ray://HOST:PORT" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args", [["s3://bucket/frames", "--out", "o"],
                                  ["x.obj", "--out", "s3://bucket/out"]])
def test_object_store_urls_are_refused_not_written_locally(args, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    assert main(["eyewear", "prep", *args, "--executor", "ray"]) == 2
    err = capsys.readouterr().err
    assert "object-store URLs are not supported" in err and "mount the bucket" in err
    assert not (tmp_path / "s3:").exists()


LOCAL_PROBE = """
import json, sys
from lgcraft.cli import main
code = main({args!r})
print(json.dumps([code, "ray" in sys.modules]), file=sys.stderr)
"""


def test_the_local_default_never_imports_ray(tmp_path):
    from lgcraft.eyewear.synthetic import make_frame

    make_frame(detail=12).save(tmp_path / "frame.obj")
    args = ["eyewear", "prep", str(tmp_path / "frame.obj"), "--out", str(tmp_path / "out")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("LGCRAFT_RUN_EXECUTOR", None)
    done = subprocess.run([sys.executable, "-c", LOCAL_PROBE.format(args=args)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=env)
    code, imported = json.loads(done.stderr.strip().splitlines()[-1])
    assert code == 0 and imported is False


@pytest.mark.ray
@pytest.mark.slow
def test_auto_joins_the_running_cluster_from_another_process(ray_cluster, tmp_path):
    """A fresh `lgcraft` process with RAY_ADDRESS set and `auto`: the batch runs on the
    cluster this session started, and doctor counts its node and CPUs."""
    from lgcraft.eyewear.synthetic import make_frame

    make_frame(detail=12).save(tmp_path / "frame.obj")
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_ADDRESS": ray_cluster["address"],
           "LGCRAFT_RUN_EXECUTOR": "auto"}
    lgcraft = [sys.executable, "-m", "lgcraft", "--json"]
    done = subprocess.run([*lgcraft, "eyewear", "prep", "frame.obj", "--out", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"][0]["status"] == "ok"
    assert (tmp_path / "out" / "frame.glb").is_file()
    doctor = subprocess.run([*lgcraft, "doctor", "ray"], capture_output=True, text=True,
                            timeout=180, env=env)
    assert doctor.returncode == 0, doctor.stderr
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert "batch commands run on: auto" in checks["ray executor"]["detail"]
    cluster = checks["ray cluster"]
    assert cluster["status"] == "ok"
    assert cluster["detail"].startswith(f"{ray_cluster['address']}: 1 node(s), 2 CPUs, 0 GPUs")
