"""Shared fixtures of the provenance tests: keys, stores, a CLI runner in subprocesses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lgcraft.tools import find_tool

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "provenance"
# the examples signed by each party's own (public, anvil) key, and the demo trust list naming them
RING = EXAMPLES / "solitaire-ring.signed.jsonl"
EAR = EXAMPLES / "recycled-earrings.signed.jsonl"
DEMO_TRUST = EXAMPLES / "demo-trust.toml"
# anvil's well-known dev accounts 0 and 1 (public test keys, never funded on real chains)
KEY_A = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDR_A = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
KEY_B = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDR_B = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LGCRAFT_")}
    env.update(extra)
    env.setdefault("COLUMNS", "200")
    return env


class Lg:
    """Run `python -m lgcraft ...` in a folder, as a separate process (like a user)."""

    def __init__(self, cwd: Path, key: str | None = KEY_A) -> None:
        self.cwd = cwd
        self.key = key

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 180,
                 check: int | None = 0) -> subprocess.CompletedProcess:
        extra = {"LGCRAFT_PRIVATE_KEY": self.key} if self.key else {}
        run_env = clean_env(**extra)
        run_env.update(env or {})
        proc = subprocess.run([sys.executable, "-m", "lgcraft", *args], cwd=self.cwd, env=run_env,
                              capture_output=True, text=True, timeout=timeout)
        if check is not None and proc.returncode != check:
            raise AssertionError(f"lgcraft {' '.join(args)} exited {proc.returncode}, expected {check}\n"
                                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def json(self, *args: str, **kw):
        return json.loads(self("--json", *args, **kw).stdout)


@pytest.fixture
def lg(tmp_path: Path) -> Lg:
    return Lg(tmp_path)


@pytest.fixture(scope="session")
def anchored_store(tmp_path_factory) -> Path:
    """A store with both example pieces recorded and anchored on the embedded chain,
    and the ring's bundle exported as ring.json (shared, read-only for tests)."""
    folder = tmp_path_factory.mktemp("anchored")
    run = Lg(folder)
    run("provenance", "init")
    run("provenance", "record", "--from", str(RING))
    run("provenance", "record", "--from", str(EAR))
    run("provenance", "anchor")
    run("provenance", "export", "LG-RING-2025-0001", "-o", "ring.json")
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Anvil:
    def __init__(self, chain_id: int = 31337) -> None:
        binary = find_tool("anvil")
        assert binary, "anvil not found: run scripts/install.sh (npm @foundry-rs/anvil)"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", str(self.port),
                                      "--chain-id", str(chain_id), "--silent"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.rpc("eth_chainId")
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError(f"anvil exited: {self.proc.stderr.read().decode()}") from None
                time.sleep(0.1)
        self.stop()
        raise AssertionError("anvil did not start in 30 s")

    def rpc(self, method: str, params=None):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())["result"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def anvil():
    """A real anvil node on a free port (never skipped: CI installs anvil from npm)."""
    node = Anvil()
    yield node
    node.stop()


def allow(store_dir: Path, address: str, roles: list[str], names: list[str]) -> Path:
    """Give ``address`` (already in the store's own trust list, as its maker) more roles
    and names, as a test's single-company workshop that does every step itself."""
    from lgcraft.provenance.trust import add_entry, load_or_empty, save_trust

    path = store_dir / ".lgcraft" / "trust.toml"
    trust = load_or_empty(path)
    org = trust.signer(address)
    add_entry(trust, name=org.name if org else "Test Workshop", roles=roles, addresses=[address], names=names,
              dev=True)
    save_trust(trust)
    return path


def make_event(item: str = "T-1", step: str = "casting", **fields) -> dict:
    event = {"item_id": item, "biz_step": step, "event_time": "2025-01-02T09:00:00+08:00",
             "actor": {"name": "Test Caster"}, "weight_mg": 4210}
    event.update(fields)
    return event


class Keys:
    KEY_A = KEY_A
    ADDR_A = ADDR_A
    KEY_B = KEY_B
    ADDR_B = ADDR_B
    EXAMPLES = EXAMPLES
    RING = RING
    EAR = EAR
    DEMO_TRUST = DEMO_TRUST
    allow = staticmethod(allow)
    Anvil = Anvil
    REPO = REPO
    Lg = Lg
    make_event = staticmethod(make_event)
    clean_env = staticmethod(clean_env)


@pytest.fixture(scope="session")
def k() -> type[Keys]:
    """Constants and helpers (tests import nothing from conftest directly)."""
    return Keys
