"""Running a draft plan: resolve and check the model, load once, draft, write, check.

The flow of every drafting command (draft, refine, inpaint, replay):

1. `prepare` resolves the model, LoRAs, tiny VAE and ControlNet on disk and applies
   the licence and safetensors rules, all without importing torch;
2. `run_plan` loads the pipeline once, drafts each image from its own seed, writes
   PNG + sidecar atomically, runs the offline quality checks, and returns a
   `RunReport` (also written as ``report-<collection>.json``).

Stopping: ``should_stop`` is polled at every denoising step; the image in progress
is dropped, files already written stay whole, and the report says ``interrupted``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lgcraft.errors import InputError, LgcraftError, ModelError
from lgcraft.files import write_text_atomic
from lgcraft.jewelry import models as model_rules
from lgcraft.jewelry.brief import DraftJob, DraftPlan
from lgcraft.jewelry.recipe import Recipe, save_draft, slug
from lgcraft.jewelry.vocab import METAL_FAMILY
from lgcraft.run.spec import ExecutorSpec

CONTROL_TYPES = ("scribble", "canny")


@dataclass
class DraftOptions:
    """How to draft: model and hardware choices, and the guide images of refine/inpaint."""

    model: str | None = None
    models_dir: str | None = None
    cache_dir: Path | None = None
    device: str = "auto"
    dtype: str = "auto"
    scheduler: str | None = None
    loras: list[str] = field(default_factory=list)
    tiny_vae: str | None = None
    accept_license: bool = False
    allow_unsafe_weights: bool = False
    attention_slicing: bool = False
    vae_tiling: bool = False
    cpu_offload: bool = False
    steps: int | None = None
    guidance: float | None = None
    size: tuple[int, int] | None = None
    mode: str = "txt2img"
    init_image: Path | None = None
    mask_image: Path | None = None
    strength: float | None = None
    control: str | None = None
    control_model: str | None = None
    control_scale: float = 1.0


@dataclass
class Prepared:
    model: model_rules.LocalModel
    loras: list[model_rules.LoraSpec]
    tiny_vae: model_rules.LocalModel | None
    control_model: model_rules.LocalModel | None
    warnings: list[str]


@dataclass
class DraftImage:
    index: int
    design: str
    seed: int
    file: Path
    sidecar: Path
    sha256: str
    width: int
    height: int
    seconds: float
    recipe: dict[str, Any]
    quality: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    collection: str
    out_dir: Path
    model: dict[str, Any]
    device: str
    dtype: str
    planned: int
    images: list[DraftImage] = field(default_factory=list)
    near_duplicates: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    interrupted: bool = False
    error: str | None = None
    load_seconds: float = 0.0
    seconds: float = 0.0
    seconds_per_image: float | None = None
    report_file: Path | None = None
    executor: str = "local"
    workers: int = 1


def _model_record(model: model_rules.LocalModel) -> dict[str, Any]:
    return {"id": model.id, "source": model.source, "path": str(model.path), "revision": model.revision,
            "folder_hash": model_rules.folder_hash(model.path), "license": model.license,
            "commercial": model.commercial, "kind": model.kind}


def prepare(options: DraftOptions) -> Prepared:
    """Resolve every model on disk and apply the licence/safetensors rules (no torch).

    Every model folder that is missing is named in one error, so a user fixes them all
    in one go rather than meeting them one run at a time.
    """
    if options.mode not in ("txt2img", "img2img", "inpaint", "controlnet"):
        raise InputError(f"unknown mode {options.mode!r}")
    if options.mode == "controlnet":
        if options.control not in CONTROL_TYPES:
            raise InputError(f"--control {options.control!r}: use one of {', '.join(CONTROL_TYPES)}")
        if not options.control_model:
            raise InputError("--control needs --control-model PATH (a ControlNet folder)",
                             hint="e.g. a local copy of lllyasviel/control_v11p_sd15_scribble")
    missing: list[tuple[str, LgcraftError]] = []

    def resolve(flag: str, spec: str | None, component: str | None = None):
        try:
            return model_rules.resolve_model(spec, models_dir=options.models_dir,
                                             cache_dir=options.cache_dir, component=component)
        except (InputError, ModelError) as exc:
            missing.append((flag, exc))
            return None

    model = resolve("--model", options.model)
    tiny = resolve("--tiny-vae", options.tiny_vae, "AutoencoderTiny") if options.tiny_vae else None
    control = (resolve("--control-model", options.control_model, "ControlNetModel")
               if options.mode == "controlnet" else None)
    if len(missing) == 1:
        raise missing[0][1]
    if missing:
        kind = InputError if any(isinstance(exc, InputError) for _, exc in missing) else ModelError
        hints = list(dict.fromkeys(exc.hint for _, exc in missing if exc.hint))
        raise kind(f"{len(missing)} models missing: "
                   + "; ".join(f"{flag}: {exc.message}" for flag, exc in missing),
                   hint="; ".join(hints) or None)
    found = model_rules.check_use(model, accept_license=options.accept_license,
                                  allow_unsafe_weights=options.allow_unsafe_weights)
    loras = [model_rules.parse_lora(text, allow_unsafe_weights=options.allow_unsafe_weights,
                                    accept_license=options.accept_license) for text in options.loras]
    for extra in (tiny, control):
        if extra is not None:
            found += model_rules.check_use(extra, accept_license=options.accept_license,
                                           allow_unsafe_weights=options.allow_unsafe_weights)
    if options.strength is not None and not 0 < options.strength <= 1:
        raise InputError(f"--strength must be in (0, 1], got {options.strength}")
    return Prepared(model, loras, tiny, control, found)


# -- guide images ---------------------------------------------------------------------------------
def open_image(path: Path, what: str):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except FileNotFoundError:
        raise InputError(f"{what} not found: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"{what} {path}: not a readable image ({exc})") from exc


def guide_size(image, size: tuple[int, int] | None, longest: int = 1024) -> tuple[int, int]:
    """The draft size for a guide image: ``size``, else its own, capped and made /8."""
    if size:
        return size
    w, h = image.size
    scale = min(1.0, longest / max(w, h))
    return max(8, int(w * scale) // 8 * 8), max(8, int(h * scale) // 8 * 8)


def scribble_map(image, size: tuple[int, int]):
    """Dark pencil lines on paper -> white lines on black, as scribble ControlNets expect."""
    import numpy as np
    from PIL import Image

    grey = np.asarray(image.convert("L").resize(size, Image.Resampling.LANCZOS), dtype=np.float64)
    threshold = min(200.0, float(np.median(grey)) - 30)
    lines = (grey < threshold).astype(np.uint8) * 255
    return Image.fromarray(lines).convert("RGB")


def canny_map(image, size: tuple[int, int]):
    """Edge map (Sobel magnitude, non-maximum-free, hysteresis-free Canny approximation)."""
    import numpy as np
    from PIL import Image, ImageFilter

    grey = image.convert("L").resize(size, Image.Resampling.LANCZOS).filter(ImageFilter.GaussianBlur(1.0))
    g = np.asarray(grey, dtype=np.float64)
    gx = np.zeros_like(g)
    gy = np.zeros_like(g)
    gx[1:-1, 1:-1] = (g[:-2, 2:] + 2 * g[1:-1, 2:] + g[2:, 2:]) - (g[:-2, :-2] + 2 * g[1:-1, :-2] + g[2:, :-2])
    gy[1:-1, 1:-1] = (g[2:, :-2] + 2 * g[2:, 1:-1] + g[2:, 2:]) - (g[:-2, :-2] + 2 * g[:-2, 1:-1] + g[:-2, 2:])
    magnitude = np.hypot(gx, gy)
    high = max(1.0, float(np.percentile(magnitude, 90)))
    edges = (magnitude >= high).astype(np.uint8) * 255
    return Image.fromarray(edges).convert("RGB")


def _file_record(path: Path) -> dict[str, Any]:
    return {"path": str(Path(path).resolve()), "sha256": model_rules.file_sha256(path)}


class _Guides:
    """The guide images of one run, loaded and sized once."""

    def __init__(self, options: DraftOptions) -> None:
        self.options = options
        self.init = self.mask = None
        if options.mode in ("img2img", "inpaint", "controlnet"):
            if options.init_image is None:
                raise InputError(f"{options.mode} needs an input image")
            self.init = open_image(options.init_image, "image")
            self.init_record = _file_record(options.init_image)
        if options.mode == "inpaint":
            if options.mask_image is None:
                raise InputError("inpaint needs --mask MASK.png (white = the region to change)")
            self.mask = open_image(options.mask_image, "mask")
            self.mask_record = _file_record(options.mask_image)

    def size(self) -> tuple[int, int] | None:
        return guide_size(self.init, self.options.size) if self.init is not None else self.options.size

    def kwargs(self, size: tuple[int, int]) -> dict[str, Any]:
        from PIL import Image

        mode = self.options.mode
        if mode == "txt2img":
            return {}
        if mode == "controlnet":
            make = scribble_map if self.options.control == "scribble" else canny_map
            return {"image": make(self.init, size), "control_scale": self.options.control_scale}
        image = self.init.convert("RGB").resize(size, Image.Resampling.LANCZOS)
        strength = self.options.strength if self.options.strength is not None else (
            0.6 if mode == "img2img" else 1.0)
        out = {"image": image, "strength": strength}
        if mode == "inpaint":
            out["mask_image"] = self.mask.convert("L").resize(size, Image.Resampling.NEAREST)
        return out


# -- the run ----------------------------------------------------------------------------------------
class Drafter:
    """A loaded pipeline and what every recipe records: one per process, or per Ray actor.

    `draft` makes one image of the plan and writes it (PNG + sidecar, atomically).
    """

    def __init__(self, options: DraftOptions, prepared: Prepared, guides: _Guides,
                 scheduler: str | None, out_dir: Path) -> None:
        from lgcraft.jewelry.engine import Engine, EngineOptions, versions

        started = time.perf_counter()
        self.options, self.prepared, self.guides, self.scheduler = options, prepared, guides, scheduler
        self.out_dir = Path(out_dir)
        self.engine = Engine(EngineOptions(
            model=prepared.model, mode=options.mode, device=options.device, dtype=options.dtype,
            scheduler=scheduler, loras=prepared.loras, tiny_vae=prepared.tiny_vae,
            control_model=prepared.control_model, allow_unsafe_weights=options.allow_unsafe_weights,
            attention_slicing=options.attention_slicing, vae_tiling=options.vae_tiling,
            cpu_offload=options.cpu_offload))
        self.model_record = _model_record(prepared.model)
        self.tiny_record = _model_record(prepared.tiny_vae) if prepared.tiny_vae else None
        self.control_record = _model_record(prepared.control_model) if prepared.control_model else None
        self.versions = versions()
        self.defaults = self.engine.defaults()
        self.guide_size = guides.size()
        self.load_seconds = round(time.perf_counter() - started, 3)

    def draft(self, job: DraftJob, stem: str | None = None,
              should_stop: Callable[[], bool] | None = None,
              on_step: Callable[[DraftJob, int, int], None] | None = None) -> DraftImage | None:
        """Draft, write and check one job; None if ``should_stop`` turned true mid-image."""
        from lgcraft.jewelry.engine import Interrupted
        from lgcraft.jewelry.quality import check_image

        options, guides, engine = self.options, self.guides, self.engine
        default_steps, default_guidance = self.defaults
        steps = options.steps or job.steps or default_steps
        guidance = options.guidance if options.guidance is not None else (
            job.guidance if job.guidance is not None else default_guidance)
        size = options.size or ((job.width, job.height) if job.width else None) or self.guide_size
        extra = guides.kwargs(size) if guides.init is not None else {}
        t0 = time.perf_counter()
        try:
            image = engine.draft(prompt=job.prompt, negative_prompt=job.negative, seed=job.seed,
                                 steps=steps, guidance=guidance, width=size[0] if size else None,
                                 height=size[1] if size else None, should_stop=should_stop,
                                 on_step=(lambda step, total: on_step(job, step, total))
                                 if on_step else None, **extra)
        except Interrupted:
            return None
        recipe = Recipe(
            kind=options.mode, design=job.design, prompt=job.prompt, negative_prompt=job.negative,
            seed=job.seed, steps=steps, guidance=guidance, width=image.width, height=image.height,
            model=self.model_record, scheduler=self.scheduler, scheduler_class=engine.scheduler_class,
            spec=job.spec.to_dict(), strength=extra.get("strength"),
            init_image=guides.init_record if guides.init is not None else None,
            mask_image=guides.mask_record if guides.mask is not None else None,
            control={"type": options.control, "model": self.control_record,
                     "scale": options.control_scale} if self.control_record else None,
            tiny_vae=self.tiny_record,
            loras=[{"path": str(lo.path), "weight": lo.weight, "sha256": lo.sha256,
                    "license": lo.license} for lo in self.prepared.loras],
            device=engine.device, dtype=engine.dtype, versions=self.versions, index=job.index)
        image_path = self.out_dir / f"{stem or recipe.file_stem()}.png"
        quality = check_image(image, METAL_FAMILY.get(job.spec.metal or ""))
        quality_dict = {k: v for k, v in quality.__dict__.items() if k != "warnings"}
        save_draft(image, image_path, recipe, extra={"quality": quality_dict, "warnings": quality.warnings})
        return DraftImage(index=job.index, design=job.design, seed=job.seed, file=image_path,
                          sidecar=image_path.with_suffix(".json"),
                          sha256=hashlib.sha256(image_path.read_bytes()).hexdigest(),
                          width=image.width, height=image.height,
                          seconds=round(time.perf_counter() - t0, 3), recipe=recipe.to_dict(),
                          quality=quality_dict, warnings=list(quality.warnings))


class DraftActor:
    """A `Drafter` on a Ray actor: loads the pipeline once, then drafts the jobs it is given.

    Runs with two threads (see `RayExecutor.map_actors`): `stop` lands while `run` drafts,
    and the image under way is dropped at its next step, as Ctrl-C does locally.
    """

    def __init__(self, options: DraftOptions, prepared: Prepared, guides: _Guides,
                 scheduler: str | None, out_dir: str, cwd: str, threads: int, cpus: int) -> None:
        import os

        import torch

        # CPU kernels sum in an order that depends on the thread count: the driver's own
        # count (what a local run uses) keeps every pixel equal to a local run's; beside a
        # GPU (which draws the image) the actor keeps to its CPU share
        torch.set_num_threads(cpus if torch.cuda.is_available() else threads)

        self.stopping = False
        self.error: Exception | None = None
        self.drafter: Drafter | None = None
        os.chdir(cwd)  # relative --out and model paths mean what they mean on the driver
        try:
            self.drafter = Drafter(options, prepared, guides, scheduler, Path(out_dir))
        except Exception as exc:  # noqa: BLE001 - raised again by ready(), where the driver
            self.error = exc       # sees it; a constructor that raised would be restarted

    def ready(self) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        engine = self.drafter.engine
        return {"device": engine.device, "dtype": engine.dtype, "notes": engine.notes,
                "load_seconds": self.drafter.load_seconds}

    def run(self, number: int, job_and_stem: tuple[DraftJob, str | None]) -> DraftImage | None:
        job, stem = job_and_stem
        if self.stopping:
            return None
        return self.drafter.draft(job, stem, should_stop=lambda: self.stopping)

    def stop(self) -> None:
        self.stopping = True


def run_plan(plan: DraftPlan, options: DraftOptions, out_dir: Path, *,
             prepared: Prepared | None = None,
             on_loaded: Callable[[RunReport], None] | None = None,
             on_image: Callable[[DraftImage], None] | None = None,
             on_step: Callable[[DraftJob, int, int], None] | None = None,
             should_stop: Callable[[], bool] | None = None,
             file_stems: list[str] | None = None,
             executor: ExecutorSpec | None = None) -> RunReport:
    """Draft every job of ``plan`` into ``out_dir``; see the module docstring.

    With a Ray ``executor``, one actor per device slot loads the pipeline once and the
    plan is shared among them; every PNG is the one a local run writes.
    """
    from lgcraft.jewelry.engine import check_scheduler

    if not plan.jobs:
        raise InputError("the plan has no images")
    out_dir = Path(out_dir)
    try:  # before the model load: a bad --out must not cost a minute of loading first
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder {out_dir}: {exc.strerror}") from exc
    prepared = prepared or prepare(options)
    guides = _Guides(options)
    scheduler = check_scheduler(options.scheduler or plan.scheduler)
    if executor is not None and not executor.is_local:
        return _run_on_ray(plan, options, out_dir, prepared, guides, scheduler, executor,
                           on_loaded=on_loaded, on_image=on_image, should_stop=should_stop,
                           file_stems=file_stems)
    started = time.perf_counter()
    drafter = Drafter(options, prepared, guides, scheduler, out_dir)
    engine = drafter.engine
    report = RunReport(collection=plan.collection, out_dir=Path(out_dir), model=drafter.model_record,
                       device=engine.device, dtype=engine.dtype, planned=len(plan.jobs),
                       warnings=[*prepared.warnings, *engine.notes],
                       load_seconds=round(time.perf_counter() - started, 3))
    if on_loaded:
        on_loaded(report)
    draft_start = time.perf_counter()
    try:
        for number, job in enumerate(plan.jobs):
            if should_stop and should_stop():
                report.interrupted = True
                break
            item = drafter.draft(job, file_stems[number] if file_stems else None,
                                 should_stop=should_stop, on_step=on_step)
            if item is None:
                report.interrupted = True
                break
            report.images.append(item)
            if on_image:
                on_image(item)
    except Exception as exc:
        # Keep what was drafted: the images already written are whole; say why it stopped.
        report.error = str(exc)
        _finish(report, plan, out_dir, started, draft_start)
        raise
    _finish(report, plan, out_dir, started, draft_start)
    return report


def _run_on_ray(plan: DraftPlan, options: DraftOptions, out_dir: Path, prepared: Prepared,
                guides: _Guides, scheduler: str | None, executor: ExecutorSpec, *,
                on_loaded, on_image, should_stop, file_stems) -> RunReport:
    """`run_plan` on Ray actors: the same files, shared among the device slots."""
    import os

    from lgcraft.run import open_executor

    started = time.perf_counter()
    report = RunReport(collection=plan.collection, out_dir=out_dir,
                       model=_model_record(prepared.model), device="", dtype="",
                       planned=len(plan.jobs), warnings=list(prepared.warnings),
                       executor=str(executor))
    items = [(job, file_stems[n] if file_stems else None) for n, job in enumerate(plan.jobs)]
    shared = [m.path for m in (prepared.model, prepared.tiny_vae, prepared.control_model) if m]
    shared += [lo.path for lo in prepared.loras]
    draft_start = started
    import torch

    threads = torch.get_num_threads()  # a local run's CPU threads: each CPU actor gets as many
    with open_executor(executor) as cluster:
        cluster.check_storage(out_dir, shared)

        def ready(actors: list[dict]) -> None:
            nonlocal draft_start
            first = actors[0]
            report.device, report.dtype = first["device"], first["dtype"]
            report.warnings += [n for n in first["notes"] if n not in report.warnings]
            report.load_seconds = round(time.perf_counter() - started, 3)
            report.workers = len(actors)
            draft_start = time.perf_counter()
            if on_loaded:
                on_loaded(report)

        def done(number: int, item: DraftImage) -> None:
            if on_image:
                on_image(item)

        try:
            results, stopped = cluster.map_actors(
                DraftActor, (options, prepared, guides, scheduler, str(out_dir), os.getcwd(), threads),
                items, on_ready=ready, on_done=done, should_stop=should_stop, cpus_per_actor=threads)
        except Exception as exc:
            report.error = str(exc)
            _finish(report, plan, out_dir, started, draft_start)
            raise
    report.images = [item for item in results if item is not None]
    report.interrupted = stopped or len(report.images) < len(plan.jobs)
    _finish(report, plan, out_dir, started, draft_start)
    return report


def _finish(report: RunReport, plan: DraftPlan, out_dir: Path, started: float, draft_start: float) -> None:
    from lgcraft.jewelry.quality import near_duplicates
    from lgcraft.output import dumps

    report.seconds = round(time.perf_counter() - started, 3)
    if report.images:
        report.seconds_per_image = round((time.perf_counter() - draft_start) / len(report.images), 3)
    report.near_duplicates = near_duplicates([(i.file.name, i.quality["phash"]) for i in report.images])
    for pair in report.near_duplicates:
        report.warnings.append(f"near-duplicates: {pair['a']} and {pair['b']} (pHash distance {pair['distance']})")
    report.report_file = out_dir / f"report-{slug(plan.collection)}.json"
    write_text_atomic(report.report_file, dumps(report) + "\n")


def job_from_recipe(recipe: Recipe) -> DraftJob:
    from lgcraft.jewelry.prompt import DesignSpec

    spec_data = dict(recipe.spec or {})
    spec_data["style"] = tuple(spec_data.get("style") or ())
    spec = DesignSpec(**{k: v for k, v in spec_data.items() if k in DesignSpec.__dataclass_fields__})
    return DraftJob(index=recipe.index, design=recipe.design, spec=spec, prompt=recipe.prompt,
                    negative=recipe.negative_prompt, seed=recipe.seed, steps=recipe.steps,
                    guidance=recipe.guidance, width=recipe.width, height=recipe.height)


@dataclass
class ReplayResult:
    source: Path
    file: Path
    identical: bool
    max_pixel_difference: int
    warnings: list[str]
    report: RunReport


def replay(image_path: Path, out_dir: Path, *, cache_dir: Path | None = None,
           models_dir: str | None = None, device: str | None = None,
           accept_license: bool = False, allow_unsafe_weights: bool = False) -> ReplayResult:
    """Regenerate a draft from the recipe inside it, and compare pixels with the original."""
    import numpy as np

    from lgcraft.jewelry.recipe import read_recipe

    recipe = read_recipe(image_path)
    warnings: list[str] = []
    model_spec = recipe.model.get("id")
    if recipe.model.get("source") == "folder":
        model_spec = recipe.model.get("path")
    for key, what in (("init_image", "input image"), ("mask_image", "mask")):
        record = getattr(recipe, key)
        if record:
            path = Path(record["path"])
            if not path.is_file():
                raise InputError(f"the recipe's {what} is missing: {path}",
                                 hint="replay needs the same guide image at the same path")
            if model_rules.file_sha256(path) != record["sha256"]:
                raise InputError(f"the recipe's {what} changed since the draft: {path}")
    options = DraftOptions(
        model=model_spec, models_dir=models_dir, cache_dir=cache_dir,
        device=device or recipe.device, dtype=recipe.dtype, scheduler=recipe.scheduler,
        loras=[f"{lo['path']}:{lo['weight']}" for lo in recipe.loras],
        tiny_vae=(recipe.tiny_vae or {}).get("path") if (recipe.tiny_vae or {}).get("source") == "folder"
        else (recipe.tiny_vae or {}).get("id"),
        accept_license=accept_license, allow_unsafe_weights=allow_unsafe_weights,
        mode=recipe.kind, init_image=Path(recipe.init_image["path"]) if recipe.init_image else None,
        mask_image=Path(recipe.mask_image["path"]) if recipe.mask_image else None,
        strength=recipe.strength, size=(recipe.width, recipe.height),
        control=(recipe.control or {}).get("type"),
        control_model=((recipe.control or {}).get("model") or {}).get("path"),
        control_scale=(recipe.control or {}).get("scale", 1.0))
    prepared = prepare(options)
    if model_rules.folder_hash(prepared.model.path) != recipe.model.get("folder_hash"):
        warnings.append(f"model {prepared.model.id} changed since the draft: pixels will differ")
    from lgcraft.jewelry.engine import versions

    if device and device != recipe.device:
        warnings.append(f"device {device} differs from the draft's {recipe.device}: pixels will differ slightly")
    now = versions()
    for key in ("torch", "diffusers", "transformers"):
        if recipe.versions.get(key) and recipe.versions[key] != now[key]:
            warnings.append(f"{key} {now[key]} differs from the draft's {recipe.versions[key]}: "
                            "pixels may differ slightly")
    original = np.asarray(open_image(image_path, "image").convert("RGB"), dtype=np.int16)
    target = Path(out_dir) / f"{Path(image_path).stem}.png"
    if target.resolve() == Path(image_path).resolve():
        raise InputError(f"replay would overwrite the original {image_path}",
                         hint="choose another --out folder")
    plan = DraftPlan(jobs=[job_from_recipe(recipe)], source=str(image_path), collection="replay")
    report = run_plan(plan, options, out_dir, prepared=prepared,
                      file_stems=[Path(image_path).stem])
    if not report.images:
        raise InputError("replay was interrupted")
    new_path = report.images[0].file
    again = np.asarray(open_image(new_path, "image").convert("RGB"), dtype=np.int16)
    if original.shape != again.shape:
        difference = 255
    else:
        difference = int(np.abs(original - again).max()) if original.size else 0
    report.warnings[:0] = warnings
    return ReplayResult(source=Path(image_path), file=new_path, identical=difference == 0,
                        max_pixel_difference=difference, warnings=warnings, report=report)


def load_report(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
