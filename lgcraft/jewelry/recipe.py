"""Recipes: everything needed to regenerate a draft, stored inside the PNG.

Each draft PNG carries two text chunks and a sidecar file:

* ``parameters``: the AUTOMATIC1111 convention many tools read (prompt lines,
  ``Negative prompt: ...``, then ``Steps: 20, Sampler: ..., CFG scale: 7, Seed: N,
  Size: WxH, Model: ...``; values with ``,`` ``:`` or a newline JSON-quoted);
* ``lgcraft-recipe``: the JSON recipe (every parameter, model id and revision or
  folder hash, versions, seed) that `replay` reads;
* ``<name>.json`` next to the image: the same recipe plus the quality checks.

File names are deterministic: ``NNN-<design>-s<seed>-<hash8>.png`` where the hash
covers the generation parameters, so the same recipe always gets the same name.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lgcraft.errors import InputError
from lgcraft.files import write_atomic, write_text_atomic

RECIPE_VERSION = 1
RECIPE_CHUNK = "lgcraft-recipe"
A1111_CHUNK = "parameters"

# diffusers scheduler class -> A1111 sampler name (for the parameters chunk).
SAMPLER_NAMES = {
    "EulerDiscreteScheduler": "Euler", "EulerAncestralDiscreteScheduler": "Euler a",
    "DDIMScheduler": "DDIM", "PNDMScheduler": "PLMS", "LMSDiscreteScheduler": "LMS",
    "HeunDiscreteScheduler": "Heun", "DPMSolverMultistepScheduler": "DPM++ 2M",
    "UniPCMultistepScheduler": "UniPC", "LCMScheduler": "LCM",
    "FlowMatchEulerDiscreteScheduler": "Euler (flow match)",
}


@dataclass
class Recipe:
    """One draft's full recipe. ``kind``: txt2img, img2img, controlnet or inpaint."""

    kind: str
    design: str
    prompt: str
    negative_prompt: str
    seed: int
    steps: int
    guidance: float
    width: int
    height: int
    model: dict[str, Any]                 # id, source, revision, folder_hash, license, kind
    scheduler: str | None = None          # lgcraft scheduler name; None = the model's own
    scheduler_class: str = ""             # the diffusers class that ran
    spec: dict[str, Any] = field(default_factory=dict)
    strength: float | None = None
    init_image: dict[str, Any] | None = None   # path, sha256
    mask_image: dict[str, Any] | None = None
    control: dict[str, Any] | None = None      # type, model {...}, scale
    tiny_vae: dict[str, Any] | None = None
    loras: list[dict[str, Any]] = field(default_factory=list)
    device: str = "cpu"
    dtype: str = "float32"
    versions: dict[str, str] = field(default_factory=dict)
    index: int = 0
    recipe_version: int = RECIPE_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "recipe") -> Recipe:
        if not isinstance(data, dict) or data.get("recipe_version") != RECIPE_VERSION:
            raise InputError(f"{where}: not an lgcraft recipe (version {RECIPE_VERSION})")
        names = {f for f in cls.__dataclass_fields__}
        try:
            return cls(**{k: v for k, v in data.items() if k in names})
        except TypeError as exc:
            raise InputError(f"{where}: incomplete recipe ({exc})") from exc

    def generation_key(self) -> str:
        """Hash of what determines the pixels (not versions, not the output index)."""
        data = self.to_dict()
        for volatile in ("versions", "index"):
            data.pop(volatile)
        data["model"] = {k: data["model"].get(k) for k in ("id", "revision", "folder_hash")}
        for key in ("init_image", "mask_image"):
            if data.get(key):
                data[key] = {"sha256": data[key].get("sha256")}
        for lora in data["loras"]:
            lora.pop("path", None)
        if data.get("control"):
            data["control"] = {**data["control"], "model": {
                k: data["control"]["model"].get(k) for k in ("id", "folder_hash")}}
        if data.get("tiny_vae"):
            data["tiny_vae"] = {k: data["tiny_vae"].get(k) for k in ("id", "folder_hash")}
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def file_stem(self) -> str:
        return f"{self.index:03d}-{slug(self.design)}-s{self.seed}-{self.generation_key()[:8]}"


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe form of a design name.

    >>> slug("Bridal Halo / Rose")
    'bridal-halo-rose'
    """
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (cleaned[:limit].rstrip("-")) or "draft"


# -- the AUTOMATIC1111 parameters text --------------------------------------------------------
def _quote(value: Any) -> str:
    text = str(value)
    if any(c in text for c in ",:\n\""):
        return json.dumps(text, ensure_ascii=False)
    return text


def _num(value: float) -> str:
    return f"{value:g}"


def a1111_parameters(recipe: Recipe) -> str:
    """The ``parameters`` text of ``recipe`` in the AUTOMATIC1111 layout."""
    fields: list[tuple[str, Any]] = [
        ("Steps", recipe.steps),
        ("Sampler", SAMPLER_NAMES.get(recipe.scheduler_class, recipe.scheduler_class or "default")),
        ("CFG scale", _num(recipe.guidance)),
        ("Seed", recipe.seed),
        ("Size", f"{recipe.width}x{recipe.height}"),
    ]
    if recipe.model.get("folder_hash"):
        fields.append(("Model hash", recipe.model["folder_hash"][:10]))
    fields.append(("Model", recipe.model.get("id", "")))
    if recipe.strength is not None:
        fields.append(("Denoising strength", _num(recipe.strength)))
    if recipe.control:
        fields.append(("ControlNet", f"{recipe.control['type']} ({recipe.control['model'].get('id')})"))
    if recipe.tiny_vae:
        fields.append(("VAE", recipe.tiny_vae.get("id")))
    if recipe.loras:
        fields.append(("Lora hashes", ", ".join(
            f"{Path(lo['path']).stem}: {lo['sha256'][:12]}" for lo in recipe.loras)))
    fields.append(("Version", f"lgcraft {recipe.versions.get('lgcraft', '')}"))
    tail = ", ".join(f"{key}: {_quote(value)}" for key, value in fields)
    lines = [recipe.prompt]
    if recipe.negative_prompt:
        lines.append(f"Negative prompt: {recipe.negative_prompt}")
    lines.append(tail)
    return "\n".join(lines)


_A1111_FIELD = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def parse_a1111(text: str) -> dict[str, str]:
    """Parse a ``parameters`` text the way AUTOMATIC1111's own reader does.

    >>> parse_a1111("a ring\\nNegative prompt: blur\\nSteps: 4, Seed: 7")["Seed"]
    '7'
    """
    *lines, last = text.strip().split("\n")
    if len(_A1111_FIELD.findall(last)) < 3 and not lines:
        lines.append(last)
        last = ""
    prompt, negative, in_negative = "", "", False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:"):].strip()
        if in_negative:
            negative += ("" if not negative else "\n") + line
        else:
            prompt += ("" if not prompt else "\n") + line
    result = {"Prompt": prompt, "Negative prompt": negative}
    for key, value in _A1111_FIELD.findall(last):
        value = value.strip()
        if value.startswith('"') and value.endswith('"'):
            value = json.loads(value)
        result[key.strip()] = value
    return result


# -- writing and reading PNGs -----------------------------------------------------------------
def save_draft(image, path: Path, recipe: Recipe, extra: dict[str, Any] | None = None) -> Path:
    """Write ``image`` with both metadata chunks, and its sidecar JSON, atomically."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(A1111_CHUNK, a1111_parameters(recipe))
    info.add_itxt(RECIPE_CHUNK, json.dumps(recipe.to_dict(), ensure_ascii=False, sort_keys=True))
    path = Path(path)
    write_atomic(path, lambda handle: image.save(handle, format="PNG", pnginfo=info))
    sidecar = {"image": path.name, "recipe": recipe.to_dict(), **(extra or {})}
    write_text_atomic(path.with_suffix(".json"), json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n")
    return path


def read_png_text(path: Path) -> dict[str, str]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return {str(k): str(v) for k, v in getattr(image, "text", {}).items()}
    except FileNotFoundError as exc:
        from lgcraft.runs import failed_run

        why = failed_run(Path(path).parent)
        hint = ("fix that run first" if why else
                "no file matches that pattern" if "*" in str(path) else None)
        raise InputError(f"image not found: {path}" + (f" ({why})" if why else ""),
                         hint=hint) from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from exc


def read_recipe(path: Path) -> Recipe:
    """The recipe inside a draft PNG (or from its sidecar ``.json``)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable recipe ({exc})") from exc
        return Recipe.from_dict(data.get("recipe", data), where=str(path))
    chunks = read_png_text(path)
    if RECIPE_CHUNK not in chunks:
        hint = ("it has only an AUTOMATIC1111 'parameters' text; lgcraft replays its own "
                "recipes" if A1111_CHUNK in chunks else "was it written by lgcraft jewelry draft?")
        raise InputError(f"{path}: no lgcraft recipe in this PNG", hint=hint)
    try:
        data = json.loads(chunks[RECIPE_CHUNK])
    except ValueError as exc:
        raise InputError(f"{path}: damaged recipe chunk ({exc})") from exc
    return Recipe.from_dict(data, where=str(path))
