"""`lgcraft jewelry`: design drafts with diffusers; mesh prep for rings and earrings.

Thin on purpose: parse options, resolve settings, call lgcraft.jewelry.drafts /
brief / sheet / models, print. Only light modules are imported at module level.
"""

from __future__ import annotations

import signal
import threading
from contextlib import ExitStack, contextmanager
from pathlib import Path

import typer

from lgcraft.context import app_context
from lgcraft.errors import InputError
from lgcraft.jewelry.custom_cli import custom
from lgcraft.jewelry.prep_cli import prep
from lgcraft.jewelry.tryon_cli import tryon

app = typer.Typer(
    help="Jewelry design drafts (diffusers) and ring/earring meshes for try-on.\n\n"
         "Example: lgcraft jewelry draft --type ring --metal rose-gold --stone diamond -n 4",
    no_args_is_help=True,
)
app.command("prep")(prep)
app.command("tryon")(tryon)
app.command("custom")(custom)

# -- options shared by the drafting commands ----------------------------------------------------
TYPE = typer.Option(None, "--type", help="ring, pendant, earrings, bracelet, necklace, brooch.")
METAL = typer.Option(None, "--metal", help="e.g. platinum, 18k-yellow-gold, rose-gold, sterling-silver.")
STONE = typer.Option(None, "--stone", help="e.g. diamond, lab-diamond, sapphire, pearl, none.")
CUT = typer.Option(None, "--cut", help="e.g. round-brilliant, oval, cushion, emerald, pear.")
SETTING = typer.Option(None, "--setting", help="e.g. 4-prong, 6-prong, bezel, pave, channel.")
STYLE = typer.Option(None, "--style", help="Repeatable: halo, solitaire, vintage, art-deco, hoop...")
FINISH = typer.Option(None, "--finish", help="high-polish, brushed, hammered, milgrain, filigree...")
VIEW = typer.Option(None, "--view", help="three-quarter (default), front, top, side, on-hand, flat-lay.")
NEGATIVE = typer.Option("", "--negative", help="Extra words to keep out of the image.")
COUNT = typer.Option(None, "--count", "-n", help="Images per design (seeds SEED, SEED+1, ...).")
SEED = typer.Option(None, "--seed", help="First seed (default: random, recorded in each image).")
STEPS = typer.Option(None, "--steps", help="Denoising steps (default: the model's recommendation).")
GUIDANCE = typer.Option(None, "--guidance", help="Classifier-free guidance scale.")
SIZE = typer.Option(None, "--size", metavar="WxH", help="Image size, multiples of 8, e.g. 512x512.")
SCHEDULER = typer.Option(None, "--scheduler", help="euler, euler-a, ddim, dpm++2m, dpm++2m-karras, unipc, lcm, ...")
MODEL = typer.Option(None, "--model", metavar="ID|PATH",
                     help="Diffusers pipeline folder, or hub id already in the local cache.")
LORA = typer.Option(None, "--lora", metavar="PATH[:WEIGHT]", help="LoRA .safetensors (repeatable).")
DEVICE = typer.Option(None, "--device", help="auto, cuda, mps or cpu.")
DTYPE = typer.Option("auto", "--dtype", help="auto (fp16 on GPU, fp32 on CPU), float32, float16, bfloat16.")
OUT = typer.Option(None, "--out", "-o", metavar="DIR", help="Output folder (default ./drafts).")
TINY_VAE = typer.Option(None, "--tiny-vae", metavar="ID|PATH",
                        help="AutoencoderTiny (e.g. madebyollin/taesd) for fast CPU drafts.")
ACCEPT = typer.Option(False, "--accept-license", help="Use a model whose licence is non-commercial.")
UNSAFE = typer.Option(False, "--allow-unsafe-weights", help="Allow pickle (.bin/.ckpt) weights.")
SLICING = typer.Option(False, "--attention-slicing", help="Lower peak memory, slightly slower.")
TILING = typer.Option(False, "--vae-tiling", help="Decode large images in tiles (less memory).")
OFFLOAD = typer.Option(False, "--cpu-offload", help="Keep idle parts in RAM (GPU only).")
RECORD = typer.Option(False, "--record", help="Add each draft to the provenance store as a design-origin record.")
DESIGNER = typer.Option(None, "--designer", help="Designer named in --record records (default [jewelry] designer, else login name).")
EXECUTOR = typer.Option(None, "--executor", metavar="local|ray|auto|ray://HOST:PORT",
                        help="Where to draft: local (default), or on Ray: one actor per GPU "
                             "(per CPU without GPUs) loading the model once. Config [run] "
                             "executor, env LGCRAFT_RUN_EXECUTOR.")
ITEM_ID = typer.Option(None, "--item-id", help="Item id for --record (default DRAFT-<content hash>; -NNN added per draft).")


class _StopFlag:
    """First Ctrl-C: finish the file being written, then stop. Second: stop now."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested


@contextmanager
def _graceful_stop(out):
    flag = _StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True
        out.warn("stopping after the current image (Ctrl-C again to abort now)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _options(app_ctx, **values):
    from lgcraft.jewelry.brief import parse_size
    from lgcraft.jewelry.drafts import DraftOptions

    settings = app_ctx.settings
    size = values.pop("size", None)
    return DraftOptions(
        model=settings.get("jewelry", "model", str, None, flag=values.pop("model", None)),
        models_dir=settings.get("jewelry", "models_dir", str, None),
        device=settings.get("jewelry", "device", str, "auto", flag=values.pop("device", None)),
        size=parse_size(size) if size else None, **values)


def _plan(*, name: str = "", piece_type, metal, stone, cut, setting, style, finish, view, prompt,
          negative, count, seed, steps, guidance, size, require_subject: bool = True):
    """The plan for one design given by flags (draft, refine, inpaint)."""
    from lgcraft.jewelry.brief import parse_size, plan_from_options
    from lgcraft.jewelry.prompt import DesignSpec

    spec = DesignSpec(type=piece_type, metal=metal, stone=stone, cut=cut, setting=setting,
                      style=tuple(s for item in (style or []) for s in item.split(",") if s.strip()),
                      finish=finish, view=view, prompt=prompt, negative=negative,
                      **({"name": name} if name else {}))
    return plan_from_options(spec, count=1 if count is None else count, seed=seed, steps=steps,
                             guidance=guidance, size=parse_size(size) if size else None,
                             require_subject=require_subject)


def _out_dir(app_ctx, out: Path | None) -> Path:
    return Path(app_ctx.settings.get("jewelry", "out_dir", str, "drafts", flag=out))


def _run_and_report(app_ctx, plan, options, out_dir: Path, record: bool, designer: str | None = None,
                    item_id: str | None = None, executor: str | None = None, **kwargs):
    from lgcraft.jewelry.drafts import prepare, run_plan
    from lgcraft.run import refuse_urls, resolve_executor

    out = app_ctx.out
    spec = resolve_executor(app_ctx.settings, executor)
    refuse_urls([out_dir])
    prepared = prepare(options)               # licence / safetensors / paths, before torch
    target = _record_target(app_ctx, designer, item_id) if record else None   # fail early
    for job in plan.jobs[:50]:
        out.detail(f"#{job.index} {job.design} seed {job.seed}\n  prompt: {job.prompt}\n"
                   f"  negative: {job.negative}")
    out.info(f"Loading {prepared.model.id} ..." if spec.is_local else
             f"Loading {prepared.model.id} on Ray ({spec}) ...")
    # The bar starts once the model is loaded: its refresh thread would otherwise compete
    # with the (pure Python, GIL-bound) import and load of torch and diffusers.
    with _graceful_stop(out) as stop, ExitStack() as stack:
        bar = {}

        def loaded(report):
            where = "" if spec.is_local else f" by {report.workers} Ray actor(s)"
            out.info(f"Loaded{where} on {report.device} ({report.dtype}) in {report.load_seconds:.1f} s")
            bar["advance"] = stack.enter_context(out.progress("Drafting", total=len(plan.jobs)))

        def image_done(item):
            bar["advance"](description=f"Drafted {item.design} #{item.seed}")

        def step_done(job, step, total):
            bar["advance"](0, description=f"{job.design} #{job.seed} step {step}/{total}")

        report = run_plan(plan, options, out_dir, prepared=prepared, on_loaded=loaded,
                          on_image=image_done, on_step=step_done, should_stop=stop,
                          executor=spec, **kwargs)
    records = _record_all(target, report) if target else None
    if records:
        out.info(f"Recorded {len(records)} design-origin records in the provenance store "
                 f"(first item id {records[0]['item_id']})")
    data = _report_data(report, records)
    out.emit(data, lambda: _render_report(out, report))
    if report.interrupted:
        raise typer.Exit(130)
    return report


def _report_data(report, records=None) -> dict:
    from lgcraft.output import to_jsonable

    data = to_jsonable(report)
    for image in data["images"]:
        image.pop("recipe", None)         # in the sidecar; keep stdout readable
    if records is not None:
        data["records"] = records
    return data


def _render_report(out, report):
    rows = []
    for item in report.images:
        q = item.quality
        rows.append((item.index, item.file.name, item.seed, f"{item.seconds:.1f}",
                     f"{q['sharpness']:.0f}", "yes" if q["clean_background"] else "no",
                     q["metal_seen"] or "-", "; ".join(item.warnings)))
    table = out.table(f"{report.collection}: {len(report.images)}/{report.planned} drafts in "
                      f"{report.out_dir}", ["#", "file", "seed", "s", "sharp", "clean bg", "metal", "warnings"],
                      rows, caption=f"model {report.model['id']} ({report.model['license'] or 'licence unknown'})"
                      f" on {report.device}/{report.dtype}; {report.seconds_per_image or 0:.2f} s/image; "
                      f"report {report.report_file}")
    out.console.print(table)
    for warning in report.warnings:
        out.warn(warning)
    if report.interrupted:
        out.warn(f"interrupted: {len(report.images)} of {report.planned} drafts written")
    return None


# -- provenance ---------------------------------------------------------------------------------
def _record_target(app_ctx, designer: str | None, item_id: str | None):
    import getpass

    from lgcraft.jewelry.record import open_target

    try:
        default = getpass.getuser()
    except (KeyError, OSError):
        default = "designer"
    name = app_ctx.settings.get("jewelry", "designer", str, default, flag=designer)
    return open_target(app_ctx.settings, designer=name, item_id=item_id)


def _record_all(target, report) -> list[dict]:
    from lgcraft.jewelry.record import record_report

    if not report.images:
        return []
    return record_report(target, report)


# -- commands -----------------------------------------------------------------------------------
@app.command("draft")
def draft(
    ctx: typer.Context,
    prompt: str = typer.Argument("", help="Free words for the design (optional with --type)."),
    piece_type: str = TYPE, metal: str = METAL, stone: str = STONE, cut: str = CUT,
    setting: str = SETTING, style: list[str] = STYLE, finish: str = FINISH, view: str = VIEW,
    negative: str = NEGATIVE, count: int = COUNT, seed: int = SEED, steps: int = STEPS,
    guidance: float = GUIDANCE, size: str = SIZE, scheduler: str = SCHEDULER, model: str = MODEL,
    lora: list[str] = LORA, device: str = DEVICE, dtype: str = DTYPE, out: Path = OUT,
    brief: Path = typer.Option(None, "--brief", metavar="FILE", help="TOML or YAML brief: designs and matrices."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan (prompts, seeds, count); load nothing."),
    tiny_vae: str = TINY_VAE, accept_license: bool = ACCEPT, allow_unsafe_weights: bool = UNSAFE,
    attention_slicing: bool = SLICING, vae_tiling: bool = TILING, cpu_offload: bool = OFFLOAD,
    record: bool = RECORD, designer: str = DESIGNER, item_id: str = ITEM_ID,
    executor: str = EXECUTOR,
) -> None:
    """Draft jewelry designs from structured options or a brief file.

    Each PNG carries its recipe (replay regenerates it), an A1111 `parameters` text
    and a sidecar .json; a per-run report checks sharpness, background, metal colour
    and near-duplicates.

    Example: lgcraft jewelry draft --type ring --metal platinum --stone diamond --cut oval --style halo -n 4 --seed 7
    """
    from lgcraft.jewelry.brief import plan_from_brief

    app_ctx = app_context(ctx)
    fields = {"--type": piece_type, "--metal": metal, "--stone": stone, "--cut": cut,
              "--setting": setting, "--style": style, "--finish": finish, "--view": view,
              "PROMPT": prompt, "--negative": negative}
    if brief is not None:
        given = [name for name, value in fields.items() if value]
        if given:
            raise InputError(f"{', '.join(given)} cannot be combined with --brief",
                             hint="put design fields in the brief; --count/--seed/--steps/--size override it")
        plan = plan_from_brief(brief, count=count, seed=seed)
    else:
        plan = _plan(piece_type=piece_type, metal=metal, stone=stone, cut=cut, setting=setting, style=style,
                     finish=finish, view=view, prompt=prompt, negative=negative, count=count, seed=seed,
                     steps=steps, guidance=guidance, size=size)
    if dry_run:
        _print_plan(app_ctx, plan, model or plan.model)
        return
    from lgcraft.extras import require

    require("jewelry")
    options = _options(app_ctx, model=model or plan.model, device=device, size=size, dtype=dtype,
                       scheduler=scheduler or plan.scheduler, loras=list(lora or []), tiny_vae=tiny_vae,
                       accept_license=accept_license, allow_unsafe_weights=allow_unsafe_weights,
                       attention_slicing=attention_slicing, vae_tiling=vae_tiling,
                       cpu_offload=cpu_offload, steps=steps, guidance=guidance)
    _run_and_report(app_ctx, plan, options, _out_dir(app_ctx, out), record, designer, item_id,
                    executor)


def _print_plan(app_ctx, plan, model: str | None) -> None:
    from lgcraft.jewelry.models import DEFAULT_MODEL

    out = app_ctx.out
    model_id = app_ctx.settings.get("jewelry", "model", str, None, flag=model) or DEFAULT_MODEL
    data = {"dry_run": True, "collection": plan.collection, "source": plan.source,
            "images": len(plan.jobs), "designs": plan.designs, "model": model_id,
            "scheduler": plan.scheduler, "jobs": [job.to_dict() for job in plan.jobs]}
    for job in plan.jobs:
        out.detail(f"#{job.index} {job.design} seed {job.seed}\n  prompt: {job.prompt}\n"
                   f"  negative: {job.negative}")

    def render():  # with --verbose the whole prompts are above, on stderr: not twice
        columns = ["#", "design", "seed"] + ([] if out.verbose else ["prompt"])
        rows = [(j.index, j.design, j.seed, j.prompt[:90] + "…")[:len(columns)] for j in plan.jobs]
        return out.table(f"Plan: {len(plan.jobs)} images from {plan.source} (model {model_id})",
                         columns, rows)

    out.emit(data, render)


@app.command("refine")
def refine(
    ctx: typer.Context,
    sketch: Path = typer.Argument(..., help="A sketch, photo or earlier draft (PNG/JPEG)."),
    prompt: str = typer.Argument("", help="Free words for the design."),
    strength: float = typer.Option(None, "--strength", help="img2img: 0-1, how far to move from the image (default 0.6)."),
    control: str = typer.Option(None, "--control", help="scribble or canny: guide a fresh draft by the sketch's lines."),
    control_model: str = typer.Option(None, "--control-model", metavar="PATH", help="ControlNet folder for --control."),
    control_scale: float = typer.Option(1.0, "--control-scale", help="How strictly to follow the lines."),
    piece_type: str = TYPE, metal: str = METAL, stone: str = STONE, cut: str = CUT,
    setting: str = SETTING, style: list[str] = STYLE, finish: str = FINISH, view: str = VIEW,
    negative: str = NEGATIVE, count: int = COUNT, seed: int = SEED, steps: int = STEPS,
    guidance: float = GUIDANCE, size: str = SIZE, scheduler: str = SCHEDULER, model: str = MODEL,
    lora: list[str] = LORA, device: str = DEVICE, dtype: str = DTYPE, out: Path = OUT,
    tiny_vae: str = TINY_VAE, accept_license: bool = ACCEPT, allow_unsafe_weights: bool = UNSAFE,
    attention_slicing: bool = SLICING, vae_tiling: bool = TILING, cpu_offload: bool = OFFLOAD,
    record: bool = RECORD, designer: str = DESIGNER, item_id: str = ITEM_ID,
) -> None:
    """Refine a sketch or an earlier draft (img2img), or draft along its lines (ControlNet).

    Example: lgcraft jewelry refine sketch.png --type pendant --metal 18k-yellow-gold --control scribble --control-model ./control_v11p_sd15_scribble
    """

    app_ctx = app_context(ctx)
    if control and strength is not None:
        raise InputError("--strength is for img2img; with --control use --control-scale")
    plan = _plan(name="refine", piece_type=piece_type, metal=metal, stone=stone, cut=cut, setting=setting, style=style,
                 finish=finish, view=view, prompt=prompt, negative=negative, count=count, seed=seed,
                 steps=steps, guidance=guidance, size=size, require_subject=False)
    from lgcraft.extras import require

    require("jewelry")
    options = _options(app_ctx, model=model, device=device, size=size, dtype=dtype, scheduler=scheduler,
                       loras=list(lora or []), tiny_vae=tiny_vae, accept_license=accept_license,
                       allow_unsafe_weights=allow_unsafe_weights, attention_slicing=attention_slicing,
                       vae_tiling=vae_tiling, cpu_offload=cpu_offload, steps=steps, guidance=guidance,
                       mode="controlnet" if control else "img2img", init_image=sketch,
                       strength=strength, control=control, control_model=control_model,
                       control_scale=control_scale)
    _run_and_report(app_ctx, plan, options, _out_dir(app_ctx, out), record, designer, item_id)


@app.command("inpaint")
def inpaint(
    ctx: typer.Context,
    image: Path = typer.Argument(..., help="The draft or photo to change."),
    prompt: str = typer.Argument("", help="What the masked region should become."),
    mask: Path = typer.Option(..., "--mask", metavar="MASK", help="White = change, black = keep."),
    strength: float = typer.Option(None, "--strength", help="0-1 (default 1.0: redraw the region)."),
    piece_type: str = TYPE, metal: str = METAL, stone: str = STONE, cut: str = CUT,
    setting: str = SETTING, style: list[str] = STYLE, finish: str = FINISH, view: str = VIEW,
    negative: str = NEGATIVE, count: int = COUNT, seed: int = SEED, steps: int = STEPS,
    guidance: float = GUIDANCE, size: str = SIZE, scheduler: str = SCHEDULER, model: str = MODEL,
    lora: list[str] = LORA, device: str = DEVICE, dtype: str = DTYPE, out: Path = OUT,
    accept_license: bool = ACCEPT, allow_unsafe_weights: bool = UNSAFE,
    attention_slicing: bool = SLICING, vae_tiling: bool = TILING, cpu_offload: bool = OFFLOAD,
    record: bool = RECORD, designer: str = DESIGNER, item_id: str = ITEM_ID,
) -> None:
    """Change one region of a draft (say, swap the centre stone).

    Example: lgcraft jewelry inpaint drafts/001-ring-s7-ab12cd34.png --mask stone-mask.png --stone emerald --cut emerald "emerald cut green emerald"
    """
    app_ctx = app_context(ctx)
    plan = _plan(name="inpaint", piece_type=piece_type, metal=metal, stone=stone, cut=cut, setting=setting, style=style,
                 finish=finish, view=view, prompt=prompt, negative=negative, count=count, seed=seed,
                 steps=steps, guidance=guidance, size=size, require_subject=False)
    from lgcraft.extras import require

    require("jewelry")
    options = _options(app_ctx, model=model, device=device, size=size, dtype=dtype, scheduler=scheduler,
                       loras=list(lora or []), accept_license=accept_license,
                       allow_unsafe_weights=allow_unsafe_weights, attention_slicing=attention_slicing,
                       vae_tiling=vae_tiling, cpu_offload=cpu_offload, steps=steps, guidance=guidance,
                       mode="inpaint", init_image=image, mask_image=mask, strength=strength)
    _run_and_report(app_ctx, plan, options, _out_dir(app_ctx, out), record, designer, item_id)


@app.command("replay")
def replay(
    ctx: typer.Context,
    image: Path = typer.Argument(..., help="A draft PNG written by lgcraft (or its sidecar .json)."),
    out: Path = typer.Option(None, "--out", "-o", metavar="DIR", help="Output folder (default: replay/ beside the image)."),
    device: str = typer.Option(None, "--device", help="Override the recorded device (pixels may then differ)."),
    accept_license: bool = ACCEPT, allow_unsafe_weights: bool = UNSAFE,
) -> None:
    """Regenerate a draft from the recipe inside it and compare it with the original.

    Bit-identical on the same device and library versions; warns when they differ.

    Example: lgcraft jewelry replay drafts/001-ring-s7-ab12cd34.png --out replayed
    """
    from lgcraft.extras import require

    require("jewelry")
    from lgcraft.jewelry.drafts import replay as replay_draft

    app_ctx = app_context(ctx)
    source = image if image.suffix.lower() == ".png" else image.with_suffix(".png")
    out_dir = out or source.parent / "replay"
    app_ctx.out.info(f"Replaying {image} ...")
    result = replay_draft(image if image.suffix.lower() == ".png" else source, out_dir,
                          models_dir=app_ctx.settings.get("jewelry", "models_dir", str, None),
                          device=device, accept_license=accept_license,
                          allow_unsafe_weights=allow_unsafe_weights)
    data = {"source": str(result.source), "file": str(result.file), "identical": result.identical,
            "max_pixel_difference": result.max_pixel_difference, "warnings": result.warnings,
            "device": result.report.device, "seconds": result.report.seconds}

    def render():
        verdict = "bit-identical" if result.identical else f"differs (max {result.max_pixel_difference}/255)"
        for warning in result.warnings:
            app_ctx.out.warn(warning)
        return app_ctx.out.panel(f"{result.source} -> {result.file}\n{verdict}", title="replay",
                                 style="green" if result.identical else "yellow")

    app_ctx.out.emit(data, render)


@app.command("sheet")
def sheet(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="Folder of drafts."),
    output: Path = typer.Option(None, "--output", "-o", metavar="FILE", help="Sheet PNG (default FOLDER/sheet.png)."),
    thumb: int = typer.Option(256, "--thumb", help="Thumbnail size in pixels."),
    columns: int = typer.Option(None, "--columns", help="Columns (default: about 3:2)."),
    title: str = typer.Option(None, "--title", help="A heading for the sheet."),
) -> None:
    """A contact sheet of every draft in a folder, captioned from the recipes.

    Example: lgcraft jewelry sheet drafts -o bridal-sheet.png --title "Bridal 2026"
    """
    from lgcraft.extras import require

    require("jewelry")
    from lgcraft.jewelry.sheet import make_sheet

    app_ctx = app_context(ctx)
    result = make_sheet(folder, output or folder / "sheet.png", thumb=thumb, columns=columns, title=title)
    app_ctx.out.emit(result, lambda: app_ctx.out.panel(
        f"{result.images} drafts, {result.columns}x{result.rows}, {result.width}x{result.height} px\n"
        f"{result.file}" + (f"\nskipped (unreadable): {', '.join(result.skipped)}" if result.skipped else ""),
        title="contact sheet"))


@app.command("models")
def models(
    ctx: typer.Context,
    known: bool = typer.Option(False, "--known", help="List the models whose licence lgcraft knows, cached or not."),
) -> None:
    """Local diffusion models (HF cache and [jewelry] models_dir), licence and commercial use.

    Example: lgcraft --json jewelry models
    """
    from lgcraft.jewelry.models import DEFAULT_MODEL, KNOWN_MODELS, discover_models

    app_ctx = app_context(ctx)
    if known:
        rows = [{"id": k, "license": v.license, "commercial_use": v.commercial, "steps": v.steps,
                 "guidance": v.guidance, "default": k == DEFAULT_MODEL} for k, v in KNOWN_MODELS.items()]
        app_ctx.out.emit({"default": DEFAULT_MODEL, "models": rows}, lambda: app_ctx.out.table(
            "Models with known licences", ["model", "licence", "commercial use", "steps", "CFG"],
            [(r["id"] + (" (default)" if r["default"] else ""), r["license"], r["commercial_use"],
              r["steps"] or "", "" if r["guidance"] is None else r["guidance"]) for r in rows]))
        return
    found = discover_models(app_ctx.settings.get("jewelry", "models_dir", str, None))
    data = {"default": DEFAULT_MODEL, "default_cached": any(m.id == DEFAULT_MODEL for m in found),
            "models": [{"id": m.id, "kind": m.kind, "source": m.source, "path": str(m.path),
                        "revision": m.revision, "license": m.license, "commercial_use": m.commercial,
                        "safetensors_only": m.safetensors_only, "default": m.is_default} for m in found]}

    def render():
        rows = [(m.id + (" (default)" if m.is_default else ""), m.kind, m.license or "unknown",
                 m.commercial, "yes" if m.safetensors_only else "NO (pickle)", m.source) for m in found]
        caption = None if data["default_cached"] else (
            f"default {DEFAULT_MODEL} is not cached: run `hf download {DEFAULT_MODEL}` on a connected machine")
        return app_ctx.out.table(f"{len(found)} local models", ["model", "kind", "licence",
                                 "commercial use", "safetensors", "source"], rows, caption=caption)

    app_ctx.out.emit(data, render)
