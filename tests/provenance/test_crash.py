"""kill -9 during `anchor`, then rerun: no record lost, no batch anchored twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def start_until(cwd: Path, args: list[str], env: dict[str, str], marker: str, timeout: float = 120):
    proc = subprocess.Popen([sys.executable, "-m", "lgcraft", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return proc
    proc.kill()
    raise AssertionError(f"never reached {marker!r}: {''.join(seen)}")


def sent_transactions(store: Path, address: str, rpc_url: str | None = None) -> int:
    from lgcraft.provenance.chain import open_embedded, open_rpc

    client = open_rpc(rpc_url) if rpc_url else open_embedded(store, create=False)
    try:
        return int(client.w3.eth.get_transaction_count(address))
    finally:
        client.close()


def crash_and_resume(folder: Path, k, stage: str, rpc: list[str], rpc_url: str | None = None):
    lg = k.Lg(folder)
    lg("provenance", "init")
    if rpc:
        lg("provenance", "deploy", *rpc)
    lg("provenance", "record", "--from", str(k.RING))
    if not rpc:
        lg("provenance", "deploy")
    before = sent_transactions(folder / ".lgcraft", k.ADDR_A, rpc_url)
    env = k.clean_env(LGCRAFT_PRIVATE_KEY=k.KEY_A, LGCRAFT_TEST_HOOK=f"{stage}:120")
    proc = start_until(folder, ["provenance", "anchor"], env, f"test hook: {stage}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    status = lg.json("provenance", "status")
    assert status["records"] == 5 and status["batches_unfinished"] == 1  # nothing lost, batch remembered
    result = lg.json("provenance", "anchor")
    assert [b["resumed"] for b in result["batches"]] == [True]
    assert result["pending_left"] == 0
    status = lg.json("provenance", "status")
    assert status["batches_anchored"] == 1 and status["batches_unfinished"] == 0 and status["pending"] == 0
    # exactly one anchor transaction was ever sent
    assert sent_transactions(folder / ".lgcraft", k.ADDR_A, rpc_url) == before + 1
    # and a rerun has nothing left to do
    assert lg.json("provenance", "anchor")["batches"] == []
    lg("provenance", "export", "LG-RING-2025-0001", "-o", "ring.json")
    verify = ["provenance", "verify", "ring.json", "--trust", str(k.DEMO_TRUST), "--issuer", k.ADDR_A] + (
        ["--rpc-url", rpc_url] if rpc_url else [])
    assert lg.json(*verify)["valid"] is True


@pytest.mark.parametrize("stage", ["submitted", "broadcast"])
def test_kill_during_anchor_on_embedded_chain(tmp_path, k, stage):
    crash_and_resume(tmp_path, k, stage, rpc=[])


def test_kill_during_record_loses_nothing_written(tmp_path, k):
    """A record run is one SQLite transaction: killed midway, the store is unchanged."""
    lg = k.Lg(tmp_path)
    lg("provenance", "init")
    lines = [json.dumps(k.make_event(item=f"K-{i}")) for i in range(50)]
    (tmp_path / "many.jsonl").write_text("\n".join(lines) + "\n")
    env = k.clean_env(LGCRAFT_PRIVATE_KEY=k.KEY_A, LGCRAFT_TEST_HOOK="record:120")
    proc = start_until(tmp_path, ["provenance", "record", "--from", "many.jsonl"], env, "test hook: record")
    os.kill(proc.pid, signal.SIGKILL)  # one record inserted, transaction not committed
    proc.wait()
    assert lg.json("provenance", "status")["records"] == 0
    lg("provenance", "record", "--from", "many.jsonl", "--skip-existing")
    assert lg.json("provenance", "status")["records"] == 50


def test_confirmations_on_embedded_chain(tmp_path, k):
    lg = k.Lg(tmp_path)
    lg("provenance", "init")
    lg("provenance", "record", "--item", "C-1", "--step", "casting", "--actor", "Caster")
    result = lg.json("provenance", "anchor", "--confirmations", "3")
    block = result["batches"][0]["block_number"]
    from lgcraft.provenance.chain import open_embedded

    client = open_embedded(tmp_path / ".lgcraft", create=False)
    try:
        assert client.block_number() >= block + 2
    finally:
        client.close()
