"""The KD-tree behind every closest-point query (pykdtree: small, and quick to import).

It runs on one OpenMP thread. lgcraft parallelises on its own threads (queries release
the GIL) and forks batch workers, and a libgomp thread pool does not survive a fork: a
worker's first query would hang. libgomp reads its thread count once, when it loads, so
the count is pinned around the import (pykdtree's wheel bundles its own libgomp, so no
other OpenMP user in the process is touched). Another OpenMP runtime loaded globally
(torch's) can serve pykdtree's calls instead, with its own threads: `fork_safe` then
says no, and batches spawn their workers.
"""

from __future__ import annotations

import os
import sys

import numpy as np

# pykdtree loaded before this module keeps the thread count it was loaded with
_PINNED = "pykdtree.kdtree" not in sys.modules or os.environ.get("OMP_NUM_THREADS") == "1"


def _import_single_threaded():
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        from pykdtree.kdtree import KDTree as tree_class
    finally:
        if saved is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = saved
    return tree_class


_KDTree = _import_single_threaded()


def kdtree(points: np.ndarray):
    """A KD-tree over (n, 3) points; ``query(points, k, distance_upper_bound=...)``
    gives (distances, indices), a missing neighbour as index n at infinite distance."""
    return _KDTree(np.ascontiguousarray(points, dtype=np.float64), leafsize=16)


def nearest(tree, points: np.ndarray, k: int = 1, bound: float | None = None):
    """(distances, indices) of the ``k`` nearest tree points to each of ``points``."""
    return tree.query(np.ascontiguousarray(points, dtype=np.float64), k=k,
                      distance_upper_bound=bound)


def fork_safe() -> bool:
    """Whether batch workers may be forked: the only OpenMP runtime in this process is
    the one pykdtree brought, pinned to one thread (or none is loaded at all)."""
    if not _PINNED:
        return False
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            libraries = {line.split()[-1] for line in maps if ".so" in line}
    except OSError:  # no /proc: fork is then rarely the default either
        return True
    runtimes = [path for path in libraries
                if os.path.basename(path).startswith(("libgomp", "libiomp", "libomp"))]
    return all(os.path.basename(os.path.dirname(path)) == "pykdtree.libs" for path in runtimes)
