"""Batches on a Ray cluster: one task per file, or one actor per device slot.

Imported only when ``--executor`` names Ray; every ``import ray`` is in a function
body. A batch opens a `RayExecutor` (it joins or starts the cluster and leaves one it
started as it found it), checks the folders are shared, then either maps a per-file
job over tasks (`map_files`) or spreads a plan over actors that load a model once
(`map_actors`). Results come back in input order; ``on_done`` sees them as they finish.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lgcraft.errors import DependencyError, InputError, LgcraftError, OperationError
from lgcraft.run.spec import ExecutorSpec

PROBE_PREFIX = ".lgcraft-probe-"
WORKER_NICENESS = "RAY_worker_niceness"
TASK_NAME = "lgcraft_file"  # what `ps` shows for a worker running a file: ray::lgcraft_file


@dataclass
class ClusterInfo:
    """What `lgcraft doctor --ray` and a batch's verbose line report."""

    address: str
    nodes: int
    cpus: float
    gpus: float
    ray_version: str
    started_here: bool


def _import_ray():
    try:
        import ray
    except ImportError as exc:
        raise DependencyError("--executor ray needs Ray, which is not installed",
                              hint="pip install 'lgcraft[ray]'") from exc
    return ray


def _cause(exc: BaseException) -> BaseException:
    """The exception a task raised, from Ray's wrapper (an lgcraft error keeps its type)."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


# -- what runs on the workers ---------------------------------------------------------------
def _enter_folder(cwd: str) -> None:
    """Run in the driver's working folder, so relative paths mean on every node what they
    mean on the driver (and reports name inputs exactly as a local run does)."""
    try:
        os.chdir(cwd)
    except OSError as exc:
        raise InputError(f"the working folder {cwd} does not exist on Ray node "
                         f"{socket.gethostname()}",
                         hint="pass absolute paths on storage every node mounts") from exc


def lgcraft_file(function: Callable, args: tuple, initializer: Callable | None,
                 initargs: tuple, cwd: str):
    """One file of a batch on a Ray worker: ``function(*args)`` in the driver's folder."""
    _enter_folder(cwd)
    if initializer is not None:
        initializer(*initargs)
    return function(*args)


def storage_probe(cwd: str, out_dir: str, token: str, inputs: list[str]) -> dict:
    """On one node: which inputs it cannot see, and a probe file written into ``out_dir``
    (never created here: a folder only this node sees is what the probe is to catch)."""
    import ray

    host = socket.gethostname()
    result: dict[str, Any] = {"host": host, "node": ray.get_runtime_context().get_node_id(),
                              "missing": [], "probe": None, "error": None}
    try:
        _enter_folder(cwd)
    except InputError as exc:
        result["error"] = exc.message
        return result
    result["missing"] = [p for p in inputs if not os.path.exists(p)]
    target = Path(out_dir) / f"{PROBE_PREFIX}{token}-{uuid.uuid4().hex[:8]}"
    if not Path(out_dir).is_dir():
        result["error"] = f"the folder does not exist on Ray node {host}: it is not shared"
        return result
    try:
        target.write_text(f"{token} {host}\n", encoding="utf-8")
        result["probe"] = str(target)
    except OSError as exc:
        result["error"] = f"Ray node {host} cannot write there ({exc.strerror})"
    return result


def remove_probe(path: str) -> None:
    Path(path).unlink(missing_ok=True)


# -- the driver ------------------------------------------------------------------------------
class RayExecutor:
    """One batch's connection to a Ray cluster (a context manager).

    >>> with RayExecutor(parse_executor("ray")) as ray_run:      # doctest: +SKIP
    ...     ray_run.check_storage(Path("out"), [Path("a.obj")])
    ...     results = ray_run.map_files(prep_one, [(p,) for p in paths])
    """

    def __init__(self, spec: ExecutorSpec, *, max_retries: int = 3) -> None:
        self.spec = spec
        self.max_retries = max_retries
        self.started_here = False
        self.startup_seconds = 0.0
        self._ray = None

    # -- connecting ------------------------------------------------------------------------
    def __enter__(self) -> RayExecutor:
        self.connect()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def connect(self) -> None:
        started = time.perf_counter()
        ray = self._ray = _import_ray()
        if self.spec.address and self.spec.address.startswith("ray://"):
            import importlib.util

            if importlib.util.find_spec("grpc") is None:
                raise DependencyError(f"--executor {self.spec}: Ray Client needs grpcio",
                                      hint="pip install 'lgcraft[ray]' (it brings ray[client])")
        if not ray.is_initialized():  # a caller (a test, a notebook) may have joined already
            # no dashboard: it is the slowest part of a local start and a batch has no use for it
            kwargs: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
            if self.spec.address is None:
                kwargs["include_dashboard"] = False
            # A cluster started here runs its workers at normal priority, as the local
            # executor's are: Ray's default (nice 15) leaves them only the CPU that
            # everything else on the machine leaves. A user's own setting wins; the
            # variable reaches only processes this call starts.
            saved = os.environ.get(WORKER_NICENESS)
            os.environ.setdefault(WORKER_NICENESS, "0")
            client = bool(self.spec.address and self.spec.address.startswith("ray://"))
            try:
                try:
                    with warnings.catch_warnings():  # its own hint is in our error
                        warnings.simplefilter("ignore", UserWarning)
                        ray.init(address=self.spec.address, **kwargs)
                except ConnectionError as exc:
                    if not (client and "Initialization failure" in str(exc)):
                        raise
                    # the head starts a server for each Ray Client; on a busy head the
                    # first connection can give up before it is up: once more
                    time.sleep(2)
                    ray.init(address=self.spec.address, **kwargs)
            except ConnectionError as exc:
                hint = ("is the head's Ray Client server (`ray start --head`, port 10001) "
                        "reachable from here?") if client else (
                        "start one (`ray start --head`), set RAY_ADDRESS, or use "
                        "--executor ray to start a local one")
                raise InputError(f"--executor {self.spec}: no Ray cluster to join "
                                 f"({str(exc).splitlines()[0][:200]})", hint=hint) from exc
            except (RuntimeError, ValueError) as exc:
                raise OperationError(f"--executor {self.spec}: Ray did not start "
                                     f"({str(exc).splitlines()[0][:200]})") from exc
            finally:
                if saved is None:
                    os.environ.pop(WORKER_NICENESS, None)
            self.started_here = True
        self.startup_seconds = round(time.perf_counter() - started, 3)

    def close(self) -> None:
        if self._ray is not None and self.started_here:
            self._ray.shutdown()
        self._ray = None

    def info(self) -> ClusterInfo:
        ray = self._ray
        resources = ray.cluster_resources()
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        try:
            address = ray.get_runtime_context().gcs_address
        except Exception:  # noqa: BLE001 - Ray Client has no GCS address on the client side
            address = str(self.spec.address)
        return ClusterInfo(address=address, nodes=len(nodes), cpus=resources.get("CPU", 0.0),
                           gpus=resources.get("GPU", 0.0), ray_version=ray.__version__,
                           started_here=self.started_here)

    # -- shared storage ----------------------------------------------------------------------
    def check_storage(self, out_dir: Path, inputs: Sequence[Path | str] = ()) -> None:
        """Every live node can see ``inputs`` and write into ``out_dir``, and what it writes
        the driver reads back. Otherwise an `InputError` naming the folder and the node."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ray = self._ray
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        probe = ray.remote(num_cpus=0, max_retries=1)(storage_probe)
        names = [str(p) for p in inputs]
        refs = [probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
                    node["NodeID"], soft=False)).remote(os.getcwd(), str(out_dir), token, names)
                for node in ray.nodes() if node.get("Alive")]
        reports = ray.get(refs)
        cleanup = ray.remote(num_cpus=0)(remove_probe)
        try:
            for report in reports:
                host = report["host"]
                if report["error"]:
                    raise InputError(f"--out {out_dir}: {report['error']}",
                                     hint=self._storage_hint())
                if report["missing"]:
                    first = report["missing"][0]
                    raise InputError(f"input {first} is not visible to the Ray worker on "
                                     f"{host} ({len(report['missing'])} of {len(names)} inputs)",
                                     hint=self._storage_hint())
                seen = Path(report["probe"])
                try:
                    readable = seen.read_text(encoding="utf-8").split()[0] == token
                except (OSError, IndexError, UnicodeDecodeError):
                    readable = False
                if not readable:
                    raise InputError(f"--out {out_dir} is not shared: a Ray worker on {host} "
                                     "wrote a file there that this machine cannot read",
                                     hint=self._storage_hint())
        finally:  # the probes go, whether the driver could see them or not
            unseen = []
            for report in reports:
                if report["probe"] and Path(report["probe"]).is_file():
                    Path(report["probe"]).unlink(missing_ok=True)
                elif report["probe"]:
                    unseen.append(cleanup.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
                        report["node"], soft=True)).remote(report["probe"]))
            ray.get(unseen)

    @staticmethod
    def _storage_hint() -> str:
        return ("inputs and --out must be on storage every Ray node mounts at the same path "
                "(NFS, a cluster filesystem, or a bucket mounted with s3fs-fuse/gcsfuse); "
                "see docs/scale-out.md")

    # -- one task per file -------------------------------------------------------------------
    def map_files(self, function: Callable, calls: Sequence[tuple], *,
                  order: Sequence[int] | None = None,
                  initializer: Callable | None = None, initargs: tuple = (),
                  on_done: Callable[[int, Any], None] | None = None,
                  on_lost: Callable[[int, BaseException], Any] | None = None) -> list:
        """``[function(*call) for call in calls]``, one Ray task (one CPU) each.

        ``order`` is the submission order (largest first); a worker lost mid-file (killed,
        out of memory, node gone) is retried up to ``max_retries`` times; after that, or
        if the job itself raises, ``on_lost(i, exc)`` makes the result (by default the
        exception is raised). ``on_done(i, result)`` runs as each file finishes.
        """
        ray = self._ray
        task = ray.remote(lgcraft_file).options(
            name=TASK_NAME, num_cpus=1, max_retries=self.max_retries, retry_exceptions=False)
        cwd = os.getcwd()
        order = list(range(len(calls))) if order is None else list(order)
        pending = {task.remote(function, calls[i], initializer, initargs, cwd): i for i in order}
        results: list[Any] = [None] * len(calls)
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    i = pending.pop(ref)
                    try:
                        results[i] = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        if on_lost is None:
                            raise _cause(exc) from exc
                        results[i] = on_lost(i, _cause(exc))
                    if on_done:
                        on_done(i, results[i])
        except BaseException:
            for ref in pending:  # Ctrl-C or a failed callback: stop the rest of the batch
                ray.cancel(ref)
            raise
        return results

    # -- one actor per device slot -------------------------------------------------------------
    def actor_slots(self, limit: int, cpus_per_actor: int = 1) -> tuple[int, dict[str, float]]:
        """How many actors and what each asks for: one per GPU where the cluster has
        GPUs, else one per ``cpus_per_actor`` CPUs (no more than the largest node has);
        never more than ``limit`` (the jobs to share)."""
        ray = self._ray
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if gpus:
            return max(1, min(gpus, limit)), {"num_gpus": 1, "num_cpus": 1}
        per_node = [int(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
        cpus = max(1, min(cpus_per_actor, max(per_node, default=1)))
        slots = sum(n // cpus for n in per_node)
        return max(1, min(slots, limit)), {"num_cpus": cpus}

    def map_actors(self, actor_class: type, init_args: tuple, items: Sequence[Any], *,
                   on_ready: Callable[[list[Any]], None] | None = None,
                   on_done: Callable[[int, Any], None] | None = None,
                   should_stop: Callable[[], bool] | None = None,
                   cpus_per_actor: int = 1) -> tuple[list, bool]:
        """Spread ``items`` over actors of ``actor_class(*init_args)``, each taking the next
        item when it finishes one; ``(results in item order, stopped)``.

        The class provides ``ready()`` (returns what ``on_ready`` gets, one per actor),
        ``run(i, item)`` (None when stopped mid-item) and ``stop()``. When ``should_stop``
        turns true no further item starts, every actor is told to stop, and the items
        under way finish or are dropped as the class decides. The actor's ``__init__``
        gets ``cpus`` (what it was given: 1 beside a GPU) after ``init_args``.
        """
        ray = self._ray
        count, resources = self.actor_slots(len(items), cpus_per_actor)
        # two threads per actor: run() works while stop() can still get through
        remote = ray.remote(actor_class).options(**resources, max_concurrency=2,
                                                  max_restarts=self.max_retries,
                                                  max_task_retries=self.max_retries)
        actors = [remote.remote(*init_args, int(resources["num_cpus"])) for _ in range(count)]
        results: list[Any] = [None] * len(items)
        stopped = False
        try:
            try:
                ready = ray.get([a.ready.remote() for a in actors])
            except ray.exceptions.RayError as exc:
                raise _unwrapped(exc) from exc
            if on_ready:
                on_ready(ready)
            queue = list(range(len(items)))
            running: dict[Any, tuple[int, Any]] = {}

            def start(actor) -> None:
                i = queue.pop(0)
                running[actor.run.remote(i, items[i])] = (i, actor)

            for actor in actors:
                if queue:
                    start(actor)
            while running:
                ready_refs, _ = ray.wait(list(running), num_returns=1, timeout=0.2)
                if not stopped and should_stop and should_stop():
                    stopped = True
                    queue.clear()
                    ray.get([a.stop.remote() for a in actors])
                for ref in ready_refs:
                    i, actor = running.pop(ref)
                    try:
                        results[i] = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        raise _unwrapped(exc) from exc
                    if on_done and results[i] is not None:
                        on_done(i, results[i])
                    if queue:
                        start(actor)
        finally:
            for actor in actors:
                ray.kill(actor)
        return results, stopped


def _unwrapped(exc: BaseException) -> BaseException:
    cause = _cause(exc)
    if isinstance(cause, LgcraftError):
        return cause
    return OperationError(f"a Ray worker failed: {str(cause).splitlines()[0][:300] if str(cause) else type(cause).__name__}")
