"""The compiled kernels (`_meshcore.c`: repair passes, exact point-to-surface distances,
the simplifier's memory layout, per-component sums), or None where this install could
not build them (no C compiler): callers then take their numpy path, which gives the same
results more slowly. Callers read ``MODULE`` at call time, so `path` can switch it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

try:
    from lgcraft.meshes import _meshcore as MODULE
except ImportError:
    MODULE = None

_BUILT = MODULE


def int64(a: np.ndarray) -> np.ndarray:
    """``a`` as the kernels take index arrays: C-contiguous int64 (no copy if it is)."""
    return np.ascontiguousarray(a, dtype=np.int64)


def float64(a: np.ndarray) -> np.ndarray:
    """``a`` as the kernels take coordinates: C-contiguous float64 (no copy if it is)."""
    return np.ascontiguousarray(a, dtype=np.float64)


@contextlib.contextmanager
def path(name: str) -> Iterator[None]:
    """Run the eyewear code on the ``"compiled"`` kernels or on the ``"numpy"`` path
    inside this block (tests and benchmarks compare the two). Not thread-safe: it
    switches a module global."""
    global MODULE
    if name not in ("compiled", "numpy"):
        raise ValueError(f"unknown kernel path {name!r}: use 'compiled' or 'numpy'")
    if name == "compiled" and _BUILT is None:
        raise RuntimeError("lgcraft/meshes/_meshcore.c was not built by this install")
    saved = MODULE
    MODULE = _BUILT if name == "compiled" else None
    try:
        yield
    finally:
        MODULE = saved
