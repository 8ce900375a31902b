"""Executors for the batch commands: where a batch's files or drafts run.

``local`` (the default) runs on this machine exactly as before and never imports Ray;
``ray``, ``auto`` and ``ray://HOST:PORT`` run the same per-file job on a Ray cluster
(`lgcraft.run.ray_executor`, imported only then). A trade's batch runner takes an
`ExecutorSpec` and calls `open_executor` when it is not local::

    spec = parse_executor(settings.get("run", "executor", str, "local", flag=executor))
    with open_executor(spec) as cluster:
        cluster.check_storage(out_dir, inputs)
        results = cluster.map_files(prep_one, calls, order=largest_first)
"""

from __future__ import annotations

from lgcraft.run.spec import FORMS, LOCAL, ExecutorSpec, parse_executor


def open_executor(spec: ExecutorSpec, *, max_retries: int = 3):
    """The `RayExecutor` for a Ray ``spec`` (a context manager that connects on entry)."""
    if spec.is_local:
        raise ValueError("the local executor is the batch runner's own loop")
    from lgcraft.run.ray_executor import RayExecutor

    return RayExecutor(spec, max_retries=max_retries)


def resolve_executor(settings, flag: str | None) -> ExecutorSpec:
    """``--executor`` > ``LGCRAFT_RUN_EXECUTOR`` > ``[run] executor`` > local."""
    value = settings.get("run", "executor", str, "local", flag=flag)
    origin = "--executor"
    if flag is None:
        if "executor" in settings.env_values.get("run", {}):
            origin = "LGCRAFT_RUN_EXECUTOR"
        elif "executor" in settings.file_values.get("run", {}):
            origin = f"{settings.source} [run] executor"
    return parse_executor(value, origin)


def refuse_urls(paths, what: str = "--out") -> None:
    """An object-store URL (``s3://bucket/x``; a `Path` has made it ``s3:/bucket/x``)
    is an `InputError`: lgcraft reads and writes paths, and a mount is the way to a bucket."""
    import re

    from lgcraft.errors import InputError

    for path in paths:
        text = str(path)
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", text):
            raise InputError(f"{what} {text}: object-store URLs are not supported",
                             hint="mount the bucket at the same path on every node "
                                  "(s3fs-fuse, gcsfuse) and pass that path; see docs/scale-out.md")


EXECUTOR_HELP = ("Where to run: local (this machine, default), ray (start or join a local Ray "
                 "cluster), auto (join a running one) or ray://HOST:PORT (Ray Client): one Ray "
                 "task per file on one CPU, retried if its worker is lost; --jobs then does "
                 "not apply. Config [run] executor, env LGCRAFT_RUN_EXECUTOR.")

__all__ = ["EXECUTOR_HELP", "FORMS", "LOCAL", "ExecutorSpec", "open_executor", "parse_executor",
           "refuse_urls", "resolve_executor"]
