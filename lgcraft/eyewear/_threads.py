"""Threads a single file's work may use (KD-tree queries). Batch workers set it to 1,
since the parallelism is then across files; one process alone may use every core."""

from __future__ import annotations

QUERY_WORKERS = -1


def query_workers() -> int:
    return QUERY_WORKERS
