"""`lgcraft doctor`: what this installation can do, and how to fix what it cannot."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from lgcraft import __version__
from lgcraft.config import Settings, redact_url, split_url
from lgcraft.errors import InputError
from lgcraft.extras import install_line, missing_modules

# What each area of lgcraft needs: `lgcraft doctor AREA...` runs these checks only.
AREAS = ("jewelry", "eyewear", "toys", "provenance", "tryon", "custom", "ray")


@dataclass
class Check:
    """One finding. ``status`` is ``ok``, ``warn`` (works, something optional is
    missing) or ``fail`` (what this area needs is missing or broken)."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None
    status: str = ""
    area: str = ""

    def __post_init__(self) -> None:
        if not self.status:
            self.status = "ok" if self.ok else "fail"
        self.ok = self.status != "fail"


@dataclass
class DoctorReport:
    python: str
    lgcraft: str
    platform: str
    config_file: str | None
    areas: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)


def check_extra(extra: str, *, asked: bool) -> Check:
    """An extra that is not installed fails when its area was asked about, else warns."""
    missing = missing_modules(extra)
    if not missing:
        return Check(f"extra: {extra}", True, "installed", area=extra)
    return Check(f"extra: {extra}", False, f"not installed (missing {', '.join(missing)})",
                 install_line(extra), status="fail" if asked else "warn", area=extra)


def check_torch_device() -> Check:
    """torch's build and the device it would use, read without importing torch (~1.5 s)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        torch_version = version("torch")
    except PackageNotFoundError:
        return Check("torch device", False, "torch not installed", install_line("jewelry"))
    nvidia = shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia/version").exists()
    if "+cpu" not in torch_version and nvidia:
        device = "cuda (NVIDIA driver present)"
    elif sys.platform == "darwin" and platform.machine() == "arm64":
        device = "mps"
    else:
        device = "cpu"
    return Check("torch device", True, f"{device}, torch {torch_version}")


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
    # a warning: every other jewelry command works, and --model can name any folder
    return Check("diffusion models", False, "no diffusers pipeline found locally: drafts need one",
                 f"on a connected machine: `hf download {DEFAULT_MODEL}`, or pass --model PATH "
                 "to a diffusers folder (see `lgcraft jewelry models`)", status="warn")


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


def _egl_device_display() -> str | None:
    """Initialise EGL the way pyrender does headless (an EGL device, else Mesa's
    surfaceless platform) through ctypes, in milliseconds; the vendor, or None."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("EGL") or "libEGL.so.1"
    try:
        egl = ctypes.CDLL(name)
    except OSError:
        return None
    egl.eglGetProcAddress.restype = ctypes.c_void_p
    egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
    egl.eglInitialize.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int),
                                  ctypes.POINTER(ctypes.c_int)]
    egl.eglTerminate.argtypes = [ctypes.c_void_p]
    egl.eglQueryString.restype = ctypes.c_char_p
    egl.eglQueryString.argtypes = [ctypes.c_void_p, ctypes.c_int]
    get_display_ptr = egl.eglGetProcAddress(b"eglGetPlatformDisplayEXT")
    query_devices_ptr = egl.eglGetProcAddress(b"eglQueryDevicesEXT")
    if not get_display_ptr:
        return None
    get_display = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_uint, ctypes.c_void_p,
                                   ctypes.c_void_p)(get_display_ptr)
    candidates = []
    if query_devices_ptr:
        query = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                                 ctypes.POINTER(ctypes.c_int))(query_devices_ptr)
        devices, count = (ctypes.c_void_p * 4)(), ctypes.c_int()
        if query(4, devices, ctypes.byref(count)):
            candidates += [(0x313F, devices[i]) for i in range(count.value)]  # EGL_PLATFORM_DEVICE_EXT
    candidates.append((0x31DD, None))  # EGL_PLATFORM_SURFACELESS_MESA
    for platform_id, native in candidates:
        display = get_display(platform_id, native, None)
        major, minor = ctypes.c_int(), ctypes.c_int()
        if display and egl.eglInitialize(display, ctypes.byref(major), ctypes.byref(minor)):
            vendor = (egl.eglQueryString(display, 0x3053) or b"?").decode(errors="replace")
            egl.eglTerminate(display)
            return f"{vendor} EGL {major.value}.{minor.value}"
    return None


def check_renderer() -> Check:
    import importlib.util

    fix = ("install Mesa EGL (apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri) "
           f"and {install_line('eyewear')}")
    if importlib.util.find_spec("pyrender") is None:
        return Check("headless renderer", False, "pyrender not installed", install_line("eyewear"),
                     area="eyewear")
    vendor = _egl_device_display()
    if vendor is None:
        return Check("headless renderer", False, "no EGL display (Mesa EGL missing?)", fix,
                     area="eyewear")
    return Check("headless renderer", True, f"OpenGL via {vendor}", area="eyewear")


def check_mesh_kernels() -> Check:
    """The compiled mesh kernels: without them mesh prep runs its numpy path (same
    results, ~1.7-2x slower)."""
    import importlib.util

    if importlib.util.find_spec("lgcraft.meshes._meshcore") is not None:
        return Check("mesh kernels", True, "compiled (lgcraft/meshes/_meshcore.c)")
    return Check("mesh kernels", False, "not built: mesh prep runs its numpy path, ~1.7-2x slower",
                 "install a C compiler (apt-get install gcc libc6-dev, or Xcode / MSVC build "
                 "tools) and reinstall lgcraft", status="warn")


def check_anvil() -> Check:
    from lgcraft.tools import find_tool

    anvil = find_tool("anvil")
    if not anvil:
        return Check("anvil", False, "not found (only needed for a local test node)",
                     "npm install @foundry-rs/anvil (or scripts/install.sh)", status="warn")
    try:
        first = subprocess.run([anvil, "--version"], capture_output=True, text=True, timeout=20).stdout
        return Check("anvil", True, f"{first.splitlines()[0] if first else 'found'} ({anvil})")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("anvil", False, f"{anvil} does not run ({exc})", "reinstall @foundry-rs/anvil")


def check_ray_executor(settings: Settings) -> Check:
    """Ray's version (package metadata: importing ray costs ~0.7 s) and the executor the
    batch commands use."""
    from importlib.metadata import version

    from lgcraft.run import resolve_executor

    return Check("ray executor", True, f"ray {version('ray')}; batch commands run on: "
                 f"{resolve_executor(settings, None)}")


def check_ray_cluster(settings: Settings) -> Check:
    """Join the cluster the executor names (a running one for `ray`: doctor starts none)
    and count its nodes, CPUs and GPUs."""
    from lgcraft.errors import LgcraftError
    from lgcraft.run import ExecutorSpec, open_executor, resolve_executor

    spec = resolve_executor(settings, None)
    if spec.is_local or spec.address is None:
        spec = ExecutorSpec("ray", "auto")
    try:
        with open_executor(spec) as cluster:
            info = cluster.info()
    except LgcraftError as exc:
        return Check("ray cluster", False, exc.message, exc.hint, status="warn", area="ray")
    return Check("ray cluster", True, f"{info.address}: {info.nodes} node(s), {info.cpus:g} CPUs, "
                 f"{info.gpus:g} GPUs (ray {info.ray_version})", area="ray")


def _ray_address_configured(settings: Settings) -> bool:
    value = settings.get("run", "executor", str, "local").strip().lower()
    return value == "auto" or value.startswith("ray://")


# The checks of each area beyond its extra (functions of the settings).
_AREA_CHECKS = {
    "jewelry": (lambda settings: check_torch_device(), check_models),
    "eyewear": (lambda settings: check_renderer(), lambda settings: check_mesh_kernels()),
    "provenance": (check_chain, lambda settings: check_anvil()),
    "ray": (check_ray_executor,),
}


def run_doctor(settings: Settings, areas: list[str] | None = None, *,
               ray_cluster: bool = False) -> DoctorReport:
    """Check ``areas`` (all when None). Without areas, an extra that is not installed is
    a warning and its area's other checks are skipped; an area asked about by name must
    be complete. The Ray cluster is joined only with ``ray_cluster`` or when the
    configured executor names one (auto, ray://): that imports Ray (~1 s or more).

    >>> run_doctor(Settings.load(), ["provenance"]).ok  # doctest: +SKIP
    True
    """
    unknown = [a for a in areas or [] if a not in AREAS]
    if unknown:
        raise InputError(f"unknown area {unknown[0]!r}: use one of {', '.join(AREAS)}")
    asked = bool(areas)
    report = DoctorReport(
        python=platform.python_version(), lgcraft=__version__,
        platform=f"{platform.system()} {platform.machine()}",
        config_file=str(settings.source) if settings.source else None,
        areas=list(areas or AREAS),
    )
    for area in dict.fromkeys(report.areas):
        extra = check_extra(area, asked=asked)
        report.checks.append(extra)
        if extra.status == "ok":
            for check in _AREA_CHECKS.get(area, ()):
                found = check(settings)
                found.area = area
                report.checks.append(found)
            if area == "ray" and (ray_cluster or _ray_address_configured(settings)):
                report.checks.append(check_ray_cluster(settings))
    return report
