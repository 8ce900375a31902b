"""Threads a single file's work may use (per-part repair, index builds, error checks). A
batch gives each file its share of ``--jobs``: one file alone may use them all, eight
files on two workers use one thread each (the parallelism is then across files)."""

from __future__ import annotations

import os

FILE_THREADS = -1  # -1: every core


def file_threads() -> int:
    """How many threads one file's steps may run at once."""
    return FILE_THREADS if FILE_THREADS > 0 else (os.cpu_count() or 1)


def map_parts(function, items: list, threads: int | None = None, *, size=None, pool=None,
              ) -> list:
    """``[function(item) for item in items]``, on up to ``threads`` threads (numpy's
    sorts, the KD-tree and meshoptimizer release the GIL), or on ``pool`` (an executor
    that may be busy with other work: its free threads take the items as they come).
    With ``size``, the largest items start first (no big one starts last and runs
    alone); results stay in item order."""
    threads = file_threads() if threads is None else threads
    if pool is None and (threads <= 1 or len(items) <= 1):
        return [function(item) for item in items]
    order = sorted(range(len(items)), key=lambda i: -size(items[i])) if size else range(len(items))
    if pool is not None:
        futures = {i: pool.submit(function, items[i]) for i in order}
        return [futures[i].result() for i in range(len(items))]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(threads, len(items))) as own:
        futures = {i: own.submit(function, items[i]) for i in order}
        return [futures[i].result() for i in range(len(items))]


_WARMING = None


def warm_imports() -> None:
    """Start importing numpy, meshoptimizer and the KD-tree on a background thread, so that a
    command's own start-up (option parsing, reading the input) overlaps with them. Safe:
    the caller imports these lazily, from function bodies, holding no import lock that
    this thread could wait for; a caller needing a module early just waits for it."""
    global _WARMING
    if _WARMING is not None or (os.cpu_count() or 1) < 2:
        return
    import threading

    def run() -> None:
        try:
            import meshoptimizer  # noqa: F401
            import numpy  # noqa: F401

            import lgcraft.meshes.kdtree  # noqa: F401
        except Exception:  # noqa: S110 - the real import reports it, in the main thread
            pass

    _WARMING = threading.Thread(target=run, name="lgcraft-warm-imports", daemon=True)
    _WARMING.start()


def keep_freed_memory() -> None:
    """Let glibc keep freed memory for reuse instead of returning every large numpy
    temporary to the system (each return and re-fault costs kernel time, a few tenths of
    a second per 500k-face file). Peak memory is unchanged. No-op off glibc."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    mallopt(m_mmap_threshold, 1 << 30)  # large arrays from the heap, not fresh mappings
    mallopt(m_trim_threshold, (1 << 31) - 1)  # and freed heap kept for the next array
    mallopt(m_top_pad, 1 << 28)


def join_warm_imports() -> None:
    """Wait for `warm_imports` to finish (before forking workers: a child must not
    inherit a module half-imported by a thread that does not exist in it)."""
    if _WARMING is not None:
        _WARMING.join()
