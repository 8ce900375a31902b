"""Optional extras: which are installed, and a clear error when one is missing."""

from __future__ import annotations

import importlib.util

from lgcraft.errors import DependencyError

# The modules that prove an extra is installed (import names, not distribution names).
EXTRAS: dict[str, tuple[str, ...]] = {
    "jewelry": ("torch", "diffusers", "transformers", "safetensors", "PIL", "yaml", "peft"),
    "eyewear": ("trimesh", "numpy", "scipy", "pykdtree", "fast_simplification", "meshoptimizer", "PIL"),
    "toys": ("yaml", "jsonschema"),
    "provenance": ("web3", "eth_account", "rfc8785", "qrcode", "jsonschema"),
    "tryon": ("mediapipe", "trimesh", "numpy", "PIL", "pyrender"),
    "custom": ("manifold3d", "fontTools", "trimesh", "numpy", "PIL"),
    "ray": ("ray",),
}


def install_line(extra: str) -> str:
    return f"pip install 'lgcraft[{extra}]'"


def missing_modules(extra: str) -> list[str]:
    """Import names of ``extra`` that cannot be found (without importing them)."""
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require(extra: str) -> None:
    """Raise `DependencyError` naming the install line if ``extra`` is incomplete.

    >>> require("toys")  # doctest: +SKIP
    """
    missing = missing_modules(extra)
    if missing:
        raise DependencyError(
            f"the '{extra}' extra is not installed (missing: {', '.join(missing)})",
            hint=f"run: {install_line(extra)}",
        )
