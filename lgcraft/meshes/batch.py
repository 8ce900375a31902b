"""The batch runner: one job function over many input files, one failure never stopping
the rest, each file's outputs written whole (atomic), resumable, summed up in
batch.json and batch.csv.

A *job* is a plain module-level function ``job(item: BatchItem, options) -> dict``: it
reads ``item.path``, writes its outputs under ``item.out_dir`` (named after
``item.name``, with `lgcraft.files.write_atomic`) and returns the file's report, a
JSON-able dict whose ``"outputs"`` maps labels to the paths it wrote. The runner writes
the report last, as ``<name>.report.json``, stamped with the input's digest and the
options' key: a file counts as done exactly when its report names outputs that all
exist, and ``resume`` skips it when the input and the options are unchanged. A job
fails by raising an `lgcraft.errors.LgcraftError` (its message goes into the table);
any other exception is caught too and recorded as unexpected. ``options`` must pickle
(a frozen dataclass): jobs run in worker processes.

>>> def count_faces(item: BatchItem, options) -> dict:        # doctest: +SKIP
...     faces = sum(line.startswith("f ") for line in item.path.open())
...     target = item.out_dir / f"{item.name}.txt"
...     write_atomic(target, str(faces).encode())
...     return {"faces": faces, "outputs": {"txt": str(target)}}
>>> batch = run_batch([Path("a.obj")], Path("out"), count_faces, Options(), jobs=2)  # doctest: +SKIP
>>> batch.ok, (Path("out") / "batch.csv").exists()             # doctest: +SKIP
(1, True)

Executors other than the built-in one (worker processes on this machine) use the same
pieces: `make_items`, `run_one` (never raises) and `finish_batch`.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

from lgcraft.errors import InputError, LgcraftError
from lgcraft.run.spec import ExecutorSpec

ENGINE_VERSION = "1"  # part of every options key: bump when outputs change for the same input
BASE_FIELDS = ("name", "status", "seconds", "error", "input")


@dataclass(frozen=True)
class BatchItem:
    """One input file of a batch and where its outputs go."""

    path: Path
    out_dir: Path
    name: str  # output base name: NAME.report.json, NAME.glb, ...
    digest: str  # sha256 of the input (and, for glTF, the files it references)
    settings_key: str  # options_key(options)

    @property
    def report_path(self) -> Path:
        return self.out_dir / f"{self.name}.report.json"


@dataclass
class FileResult:
    input: str
    name: str
    status: str  # ok | failed | skipped
    error: str | None = None
    report: dict | None = None
    seconds: float = 0.0


@dataclass
class BatchResult:
    out_dir: str
    files: list[FileResult]
    settings: dict

    @property
    def failed(self) -> int:
        return sum(f.status == "failed" for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.status == "skipped" for f in self.files)

    @property
    def ok(self) -> int:
        return sum(f.status == "ok" for f in self.files)


Job = Callable[[BatchItem, Any], dict]
Row = Callable[[FileResult], dict]


def options_dict(options: Any) -> dict:
    if hasattr(options, "as_dict"):
        return options.as_dict()
    return asdict(options) if is_dataclass(options) else dict(options or {})


def options_key(options: Any) -> str:
    """A short hash of the options (and the engine version): what resume compares."""
    if hasattr(options, "key"):
        return options.key()
    data = json.dumps({**options_dict(options), "engine": ENGINE_VERSION}, sort_keys=True,
                      default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


# -- inputs -------------------------------------------------------------------------
def expand_inputs(patterns: Sequence[str], formats: Sequence[str] | None = None) -> list[Path]:
    """Files from files, folders (recursive, ``formats`` suffixes only: by default the
    mesh formats) and globs, in order, each once."""
    if formats is None:
        from lgcraft.meshes.mesh import FORMATS as formats
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            matches = sorted(p for p in path.rglob("*") if p.suffix.lower() in formats and p.is_file())
            if not matches:
                raise InputError(f"no mesh files in folder {pattern}", hint="formats: " + ", ".join(formats))
            found += matches
        elif any(ch in pattern for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True)
                             if Path(p).suffix.lower() in formats)
            if not matches:
                raise InputError(f"no mesh files match {pattern!r}")
            found += matches
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"input not found: {pattern}")
    unique, seen = [], set()
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


GENERIC_STEMS = {"scene", "model", "mesh", "untitled", "export", "object"}


def output_names(paths: Sequence[Path]) -> list[str]:
    """Output base names: the stem, or folder_stem where stems collide or say nothing."""
    names = []
    for p in paths:
        stem = p.stem
        names.append(f"{p.parent.name}" if stem.lower() in GENERIC_STEMS and p.parent.name else stem)
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    out, used = [], set()
    for p, n in zip(paths, names, strict=True):
        name = n if counts[n] == 1 else f"{p.parent.name}_{n}"
        base, k = name, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        out.append(name)
    return out


def input_digest(path: Path) -> str:
    """sha256 over the file and, for glTF, the buffers and textures it references."""
    h = hashlib.sha256()
    files = [path]
    if path.suffix.lower() == ".gltf":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            for item in doc.get("buffers", []) + doc.get("images", []):
                uri = item.get("uri", "")
                if uri and not uri.startswith("data:") and "://" not in uri:
                    files.append(path.parent / uri)
        except (ValueError, OSError, UnicodeDecodeError, AttributeError):
            pass
    for f in files:
        h.update(str(f.name).encode())
        try:
            with open(f, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    h.update(chunk)
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()


def make_items(paths: Sequence[Path], out_dir: Path, options: Any) -> list[BatchItem]:
    """One `BatchItem` per input (names unique in the batch); digests are taken later,
    by `run_one`, where the work runs. Options with an ``item_key(path, name)`` method
    key each file on its own (e.g. a per-file marking), so resume redoes only the files
    whose own options changed."""
    items = []
    for p, n in zip(paths, output_names(paths), strict=True):
        key = options.item_key(Path(p), n) if hasattr(options, "item_key") else options_key(options)
        items.append(BatchItem(Path(p), Path(out_dir), n, "", key))
    return items


# -- reports --------------------------------------------------------------------------
def write_report(item: BatchItem, report: dict) -> dict:
    """Stamp ``report`` with the input digest, the options key and its own path, write it
    (atomically, last), then delete what the previous run for this name made and this one
    did not. Returns the report."""
    from lgcraft.files import write_atomic

    report.setdefault("input_sha256", item.digest)
    report.setdefault("settings_key", item.settings_key)
    report.setdefault("outputs", {})["report"] = str(item.report_path)
    stale = _stale_outputs(item.out_dir, item.name, report["outputs"])
    write_atomic(item.report_path, (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode())
    for path in stale:  # only once the new report names what this run made
        path.unlink(missing_ok=True)
    return report


def _stale_outputs(out_dir: Path, name: str, outputs: dict) -> list[Path]:
    """Files the previous run for ``name`` listed in its report that this run did not
    make again (a USDZ or previews from a run with --usdz/--preview, a licence no longer
    beside the input): left, they would pass for outputs of this run. Only files that
    report names inside ``out_dir`` are ever touched."""
    try:
        previous = json.loads((out_dir / f"{name}.report.json").read_text(encoding="utf-8"))
        listed = [Path(p) for p in previous.get("outputs", {}).values()]
    except (OSError, ValueError, AttributeError, TypeError):
        return []
    keep = {Path(p).resolve() for p in outputs.values()}
    folder = out_dir.resolve()
    return [p for p in listed
            if p.resolve() not in keep and p.resolve().parent == folder
            and p.name.startswith(f"{name}.") and p.is_file()]


def resume_hit(item: BatchItem) -> dict | None:
    """The previous report of ``item`` if it came from the same input and options and
    every output it names is still there."""
    try:
        report = json.loads(item.report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict):
        return None
    if report.get("input_sha256") != item.digest or report.get("settings_key") != item.settings_key:
        return None
    if not all(Path(p).is_file() for p in report.get("outputs", {}).values()):
        return None
    return report


def run_one(job: Job, item: BatchItem, options: Any, resume: bool = False) -> FileResult:
    """One batch item; never raises: errors become a failed `FileResult`."""
    started = time.perf_counter()
    p = item.path
    try:
        if not item.digest:
            item = BatchItem(p, item.out_dir, item.name, input_digest(p) if p.is_file() else "",
                             item.settings_key)
        if resume and item.digest:
            hit = resume_hit(item)
            if hit is not None:
                return FileResult(str(p), item.name, "skipped", None, hit, time.perf_counter() - started)
        report = write_report(item, job(item, options))
        return FileResult(str(p), item.name, "ok", None, report, time.perf_counter() - started)
    except LgcraftError as exc:
        return FileResult(str(p), item.name, "failed", exc.message, None, time.perf_counter() - started)
    except MemoryError:
        return FileResult(str(p), item.name, "failed", "out of memory", None, time.perf_counter() - started)
    except Exception as exc:  # a bug or a library's odd failure must not stop the batch
        message = f"unexpected {type(exc).__name__}: {str(exc)[:200]}"
        return FileResult(str(p), item.name, "failed", message, None, time.perf_counter() - started)


# -- running --------------------------------------------------------------------------
def _worker_init(threads: int) -> None:
    # headless OpenGL for previews, before anything imports OpenGL in this process
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    from lgcraft.meshes import _threads

    _threads.FILE_THREADS = threads  # this worker's share of --jobs


def _ray_worker_init(threads: int) -> None:
    """A Ray worker is not forked from the CLI: it gets the CLI's memory setting itself."""
    _worker_init(threads)
    from lgcraft.meshes._threads import keep_freed_memory

    keep_freed_memory()


def run_batch(paths: Sequence[Path], out_dir: Path, job: Job, options: Any, *, jobs: int = 1,
              resume: bool = False, on_done: Callable[[FileResult], None] | None = None,
              row: Row | None = None, fields: Sequence[str] | None = None,
              warm: Callable[[Sequence[Path], Any], None] | None = None,
              executor: ExecutorSpec | None = None) -> BatchResult:
    """Run ``job`` on every file; one failure never stops the rest. Writes batch.json
    and batch.csv (columns ``fields``, values from ``row``) last.

    A Ray ``executor`` (`lgcraft.run`) runs each file as one Ray task instead (one CPU,
    largest first, retried when its worker is lost); ``jobs`` then does not apply.

    ``jobs`` is the number of cores to use: with fewer files than that, each file's own
    steps share the rest as threads (`lgcraft.meshes._threads`); with more, one process
    per core, the largest files first (so no big file starts last and runs alone).
    ``warm(paths, options)`` imports in the parent what every file needs, once, before
    the workers fork. ``on_done`` sees each result as it comes (progress bars).
    """
    from lgcraft.files import TEMP_SUFFIX
    from lgcraft.meshes import _threads

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(f".*{TEMP_SUFFIX}"):  # temporaries of a killed earlier run
        stale.unlink(missing_ok=True)
    items = make_items(paths, out_dir, options)
    results: list[FileResult | None] = [None] * len(items)
    workers = max(1, min(jobs, len(items)))
    threads = max(1, jobs // workers)

    def size(i: int) -> int:
        try:
            return items[i].path.stat().st_size
        except OSError:
            return 0

    if executor is not None and not executor.is_local:
        results = _run_on_ray(executor, job, items, options, resume, on_done,
                              sorted(range(len(items)), key=lambda i: -size(i)))
    elif workers == 1:
        saved = _threads.FILE_THREADS
        _threads.FILE_THREADS = threads
        try:
            for i, item in enumerate(items):
                results[i] = run_one(job, item, options, resume)
                if on_done:
                    on_done(results[i])
        finally:
            _threads.FILE_THREADS = saved
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from lgcraft.meshes.kdtree import fork_safe

        fork = "fork" in multiprocessing.get_all_start_methods() and fork_safe()
        if fork and warm is not None:
            warm(paths, options)
        context = multiprocessing.get_context("fork" if fork else "spawn")
        order = sorted(range(len(items)), key=lambda i: -size(i))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 initializer=_worker_init, initargs=(threads,)) as pool:
            futures = {pool.submit(run_one, job, items[i], options, resume): i for i in order}
            for future in as_completed(futures):
                i = futures[future]
                try:
                    results[i] = future.result()
                except Exception as exc:  # a worker died (killed, out of memory)
                    results[i] = FileResult(str(items[i].path), items[i].name, "failed",
                                            f"worker died: {type(exc).__name__}: {exc}")
                if on_done:
                    on_done(results[i])
    return finish_batch(out_dir, [r for r in results if r is not None], options, row=row,
                        fields=fields)


def _run_on_ray(executor: ExecutorSpec, job: Job, items: list[BatchItem], options: Any,
                resume: bool, on_done: Callable[[FileResult], None] | None,
                order: list[int]) -> list[FileResult]:
    """`run_one` per item as Ray tasks (`lgcraft.run`), after checking every node sees
    the inputs and shares ``out_dir``."""
    from lgcraft.files import TEMP_SUFFIX
    from lgcraft.run import open_executor

    out_dir = items[0].out_dir if items else Path(".")

    def lost(i: int, exc: BaseException) -> FileResult:
        return FileResult(str(items[i].path), items[i].name, "failed",
                          f"Ray worker lost: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")

    with open_executor(executor) as cluster:
        cluster.check_storage(out_dir, [item.path for item in items])
        results = cluster.map_files(run_one, [(job, item, options, resume) for item in items],
                                    order=order, initializer=_ray_worker_init, initargs=(1,),
                                    on_done=(lambda i, result: on_done(result)) if on_done else None,
                                    on_lost=lost)
    # a worker killed mid-write leaves its temporary (its retry wrote the file whole)
    for stale in out_dir.glob(f".*{TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)
    return results


def base_row(result: FileResult) -> dict:
    return {"name": result.name, "status": result.status, "seconds": round(result.seconds, 2),
            "error": result.error, "input": result.input}


def finish_batch(out_dir: Path, results: Iterable[FileResult], options: Any, *,
                 row: Row | None = None, fields: Sequence[str] | None = None) -> BatchResult:
    """The `BatchResult` of ``results``, with batch.json and batch.csv written (atomically)."""
    from lgcraft.files import write_atomic

    batch = BatchResult(str(out_dir), list(results), options_dict(options))
    row = row or base_row
    write_atomic(Path(out_dir) / "batch.json",
                 (json.dumps(batch_summary(batch, row), indent=2, ensure_ascii=False) + "\n").encode())
    write_atomic(Path(out_dir) / "batch.csv", batch_csv(batch, row, fields).encode())
    return batch


def batch_summary(batch: BatchResult, row: Row | None = None) -> dict:
    """What batch.json holds (and ``--json`` prints): counts, one row per file, reports."""
    row = row or base_row
    return {
        "out_dir": batch.out_dir, "settings": batch.settings,
        "total": len(batch.files), "ok": batch.ok, "failed": batch.failed, "skipped": batch.skipped,
        "files": [row(f) for f in batch.files],
        "reports": {f.name: (f.report or {}).get("outputs", {}).get("report") for f in batch.files},
    }


def batch_csv(batch: BatchResult, row: Row | None = None, fields: Sequence[str] | None = None) -> str:
    row = row or base_row
    rows = [row(f) for f in batch.files]
    if fields is None:
        fields = list(rows[0]) if rows else list(BASE_FIELDS)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fields), extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in fields})
    return buf.getvalue()
