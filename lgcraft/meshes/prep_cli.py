"""The CLI side of mesh prep that `eyewear prep` and `jewelry prep` share: settings from
flags and config, the batch with a progress bar, the table, the exit code. Each trade's
thin command passes its job, its batch columns and its table rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer

from lgcraft.context import app_context
from lgcraft.errors import InputError, OperationError

MAX_JOBS = 256  # more workers than this is a typo, not a machine
# dropped first, in this order, when the table does not fit the terminal (all in --json)
LOW_VALUE_COLUMNS = ("s", "B", "width", "error mm")

def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def prepare_engine() -> None:
    """Before numpy loads: the extra, BLAS threads, warm imports, memory kept."""
    from lgcraft.extras import require

    require("eyewear")
    # the steps use only tiny matrix products, where BLAS threads just spin and, in a
    # batch, compete with the workers (a user's own setting wins)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from lgcraft.meshes._threads import keep_freed_memory, warm_imports

    warm_imports()  # numpy/scipy load on another core while this one reads options and input
    keep_freed_memory()


def run_prep(ctx: typer.Context, section: str, inputs: list[str], out: Path, *,
             settings: dict[str, Any], profile: str | None, max_triangles: int | None,
             units: str | None, jobs: int | None, usdz: bool, preview: bool, resume: bool,
             job: Callable, row: Callable, fields: Sequence[str], warm: Callable | None,
             table: Callable[[Any, dict], tuple[str, list[str], list[list]]],
             assumed_hint: str = "pass --units", executor: str | None = None) -> None:
    """Settings, batch, table, exit code (1 if any file failed). ``settings`` holds the
    trade's own `PrepSettings` fields (kind, frame_width_mm, ...); ``table(batch,
    summary)`` gives the table's title, columns and rows."""
    prepare_engine()
    from lgcraft.meshes.batch import batch_summary, expand_inputs, run_batch
    from lgcraft.meshes.mesh import FORMATS
    from lgcraft.meshes.prep import PrepSettings
    from lgcraft.run import refuse_urls, resolve_executor

    app = app_context(ctx)
    spec = resolve_executor(app.settings, executor)
    get = app.settings.get
    profile = get(section, "profile", str, "web", flag=profile)
    prep_settings = PrepSettings(
        profile=profile,
        max_triangles=get(section, "max_triangles", int, None, flag=max_triangles),
        units=get(section, "units", str, "auto", flag=units),
        usdz=usdz or get(section, "usdz", bool, False) or profile == "quicklook",
        preview=preview or get(section, "preview", bool, False),
        **settings,
    )
    jobs = get(section, "jobs", int, os.cpu_count() or 1, flag=jobs,
               valid=lambda n: 1 <= n <= MAX_JOBS, expect=f"1-{MAX_JOBS}")
    refuse_urls([out])
    refuse_urls(inputs, "input")
    paths = expand_inputs(inputs, FORMATS)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    out_ = app.out
    workers = f"{min(jobs, len(paths))} worker(s)" if spec.is_local else f"Ray ({spec})"
    out_.detail(f"{len(paths)} file(s), {workers}, budget {prep_settings.triangle_budget} triangles")
    with out_.progress(f"Preparing {len(paths)} file(s)", total=len(paths)) as advance:
        batch = run_batch(paths, out, job, prep_settings, jobs=jobs, resume=resume,
                          on_done=lambda r: advance(1, description=f"{r.name}: {r.status}"),
                          row=row, fields=fields, warm=warm, executor=spec)
    from lgcraft.cli import allow_quick_exit

    allow_quick_exit()  # every output and the batch files are written and closed
    summary = batch_summary(batch, row)

    def render():
        title, columns, rows = table(batch, summary)
        caption = (f"{batch.ok} prepared, {batch.skipped} skipped (resume), {batch.failed} failed; "
                   f"reports and batch.json/batch.csv in {out}")
        return out_.table(title, columns, rows, caption=caption, optional=LOW_VALUE_COLUMNS)

    out_.emit(summary, render)
    assumed = [row["name"] for row in summary["files"] if row.get("scale") == "assumed"]
    if assumed:  # once per batch, not once per file
        shown = ", ".join(assumed[:3]) + (f" and {len(assumed) - 3} more" if len(assumed) > 3 else "")
        out_.warn(f"{len(assumed)} file(s) with no telling unit and no marking were scaled to a "
                  f"typical size (scale: assumed): {shown}; {assumed_hint}")
    if batch.failed:
        raise OperationError(f"{batch.failed} of {len(batch.files)} file(s) failed",
                             hint=f"see the table or {out / 'batch.json'}")
