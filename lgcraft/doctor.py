"""`lgcraft doctor`: what this installation can do, and how to fix what it cannot."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from lgcraft import __version__
from lgcraft.config import Settings, redact_url, split_url
from lgcraft.extras import EXTRAS, install_line, missing_modules


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None


@dataclass
class DoctorReport:
    python: str
    lgcraft: str
    platform: str
    config_file: str | None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def check_extras() -> list[Check]:
    checks = []
    for extra in EXTRAS:
        missing = missing_modules(extra)
        checks.append(Check(
            f"extra: {extra}", not missing,
            "installed" if not missing else f"missing {', '.join(missing)}",
            None if not missing else install_line(extra),
        ))
    return checks


def check_torch_device() -> Check:
    if missing_modules("jewelry")[:1] == ["torch"]:
        return Check("torch device", False, "torch not installed", install_line("jewelry"))
    try:
        import torch
    except Exception as exc:  # a broken torch install must not break doctor
        return Check("torch device", False, f"torch fails to import: {exc}", install_line("jewelry"))
    if torch.cuda.is_available():
        device = f"cuda ({torch.cuda.get_device_name(0)})"
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        device = "mps"
    else:
        device = "cpu"
    return Check("torch device", True, f"{device}, torch {torch.__version__}")


def hub_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return Path(home) / "hub"


def local_diffusion_models(settings: Settings) -> list[str]:
    """Diffusers models in the Hugging Face cache and ``[jewelry] models_dir`` (ids or paths)."""
    from lgcraft.jewelry.models import discover_models

    return [m.id for m in discover_models(settings.get("jewelry", "models_dir"))]


def check_models(settings: Settings) -> Check:
    from lgcraft.jewelry.models import DEFAULT_MODEL, discover_models

    found = discover_models(settings.get("jewelry", "models_dir"))
    pipelines = [m for m in found if m.is_pipeline]
    if pipelines:
        detail = ", ".join(f"{m.id} ({m.license or 'licence unknown'}, commercial use: {m.commercial})"
                           for m in pipelines)
        fix = None if any(m.is_default for m in pipelines) else (
            f"optional: the default {DEFAULT_MODEL} is not cached (`hf download {DEFAULT_MODEL}`)")
        return Check("diffusion models", True, detail, fix)
    return Check("diffusion models", False, "no diffusers pipeline found locally",
                 f"on a connected machine: `hf download {DEFAULT_MODEL}`, or pass --model PATH "
                 "to a diffusers folder (see `lgcraft jewelry models`)")


def check_chain(settings: Settings) -> Check:
    url = settings.get("provenance", "rpc_url")
    if not url:
        ok = not missing_modules("provenance")
        return Check("chain endpoint", ok, "embedded local development chain (no server)",
                     None if ok else install_line("provenance"))
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    try:
        split_url(url)
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    except ValueError as exc:  # 'garbage', 'http://[::1', 'http://host:99999': not a usable URL
        return Check("chain endpoint", False, f"{redact_url(url)!r} is not a valid URL ({exc})",
                     "fix [provenance] rpc_url / LGCRAFT_PROVENANCE_RPC_URL, e.g. http://127.0.0.1:8545")
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            chain_id = int(json.loads(response.read())["result"], 16)
        return Check("chain endpoint", True, f"{redact_url(url)} (chain id {chain_id})")
    except Exception as exc:
        return Check("chain endpoint", False, f"{redact_url(url)} unreachable ({type(exc).__name__})",
                     "start the node or fix [provenance] rpc_url / LGCRAFT_PROVENANCE_RPC_URL")


_RENDER_PROBE = (
    "import os; os.environ.setdefault('PYOPENGL_PLATFORM', 'egl');"
    "import pyrender; r = pyrender.OffscreenRenderer(8, 8); r.delete()"
)


def check_renderer() -> Check:
    try:
        subprocess.run([sys.executable, "-c", _RENDER_PROBE], check=True, timeout=60,
                       capture_output=True)
        return Check("headless renderer", True, "OpenGL via EGL (Mesa)")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
        return Check("headless renderer", False, "no EGL OpenGL context",
                     "install Mesa EGL (apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri) "
                     f"and {install_line('eyewear')}")


def check_mesh_kernels() -> Check:
    """The compiled eyewear kernels: without them mesh prep runs its numpy path (same
    results, ~1.7-2x slower)."""
    import importlib.util

    if importlib.util.find_spec("lgcraft.eyewear._meshcore") is not None:
        return Check("mesh kernels", True, "compiled (lgcraft/eyewear/_meshcore.c)")
    return Check("mesh kernels", False, "not built: mesh prep runs its numpy path, ~1.7-2x slower",
                 "install a C compiler (apt-get install gcc libc6-dev, or Xcode / MSVC build "
                 "tools) and reinstall lgcraft")


def check_anvil() -> Check:
    from lgcraft.tools import find_tool

    anvil = find_tool("anvil")
    if not anvil:
        return Check("anvil", False, "not found", "npm install @foundry-rs/anvil (or scripts/install.sh)")
    try:
        first = subprocess.run([anvil, "--version"], capture_output=True, text=True, timeout=20).stdout
        return Check("anvil", True, f"{first.splitlines()[0] if first else 'found'} ({anvil})")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("anvil", False, f"{anvil} does not run ({exc})", "reinstall @foundry-rs/anvil")


def run_doctor(settings: Settings) -> DoctorReport:
    report = DoctorReport(
        python=platform.python_version(), lgcraft=__version__,
        platform=f"{platform.system()} {platform.machine()}",
        config_file=str(settings.source) if settings.source else None,
    )
    report.checks += check_extras()
    report.checks += [check_torch_device(), check_models(settings), check_chain(settings),
                      check_renderer(), check_mesh_kernels(), check_anvil()]
    return report
