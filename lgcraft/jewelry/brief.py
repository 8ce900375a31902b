"""Brief files and draft plans: what to draft, expanded before anything loads.

A brief (TOML or YAML) names designs; any design field given as a list is a matrix
axis and every combination is drafted, each with the same seeds so the variations
compare like for like::

    name = "bridal-2026"
    [defaults]
    type = "ring"
    steps = 4
    [[design]]
    name = "solitaire"
    metal = ["platinum", "18k-yellow-gold", "rose-gold"]
    stone = ["diamond", "morganite"]
    setting = "6-prong"
    seeds = [101, 102]

Nothing here imports torch: ``--dry-run`` prints the plan this module builds.
"""

from __future__ import annotations

import difflib
import itertools
import random
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lgcraft.errors import InputError
from lgcraft.jewelry.prompt import DesignSpec, compile_prompt, validate

AXES = ("metal", "stone", "cut", "setting", "style", "finish", "view")
PLURALS = {"metals": "metal", "stones": "stone", "cuts": "cut", "settings": "setting",
           "styles": "style", "finishes": "finish", "views": "view", "types": "type"}
DESIGN_KEYS = {"name", "type", *AXES, "prompt", "negative", "seed", "seeds", "count", "steps",
               "guidance", "size", *PLURALS}
TOP_KEYS = {"name", "model", "scheduler", "defaults", "design", "designs", "description"}
MAX_IMAGES = 10000


@dataclass
class DraftJob:
    """One image to draft."""

    index: int
    design: str
    spec: DesignSpec
    prompt: str
    negative: str
    seed: int
    steps: int | None = None
    guidance: float | None = None
    width: int | None = None
    height: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "design": self.design, "seed": self.seed,
                "prompt": self.prompt, "negative_prompt": self.negative, "steps": self.steps,
                "guidance": self.guidance, "width": self.width, "height": self.height,
                "spec": self.spec.to_dict()}


@dataclass
class DraftPlan:
    jobs: list[DraftJob]
    source: str
    collection: str = "drafts"
    model: str | None = None
    scheduler: str | None = None
    designs: list[str] = field(default_factory=list)


def parse_size(text: str, where: str = "--size") -> tuple[int, int]:
    """``"768x512"`` -> (768, 512); both multiples of 8 within 8..4096.

    >>> parse_size("768x512")
    (768, 512)
    """
    parts = str(text).lower().replace("×", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise InputError(f"{where}: {text!r} is not WIDTHxHEIGHT", hint="e.g. --size 512x512") from None
    for value in (width, height):
        if value < 8 or value > 4096 or value % 8:
            raise InputError(f"{where}: {text!r}: width and height must be multiples of 8 "
                             "between 8 and 4096", hint="e.g. 512x512 or 768x512")
    return width, height


def check_steps(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 500:
        raise InputError(f"{where}: steps must be a whole number 1-500, got {value!r}")
    return value


def check_guidance(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 50:
        raise InputError(f"{where}: guidance must be a number 0-50, got {value!r}")
    return float(value)


def check_seed(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InputError(f"{where}: seed must be a whole number 0..2^63-1, got {value!r}")
    return value


def stable_seed(name: str) -> int:
    """A seed derived from a design name, so a brief without seeds reruns identically."""
    return zlib.crc32(name.encode("utf-8")) % 1_000_000


def random_seed() -> int:
    return random.SystemRandom().randrange(0, 2**32)


def load_brief_data(path: Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"brief not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read brief ({exc})") from exc
    suffix = path.suffix.lower()
    if suffix == ".toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML ({exc})") from exc
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            where = f" at line {line + 1}" if line is not None else ""
            raise InputError(f"{path}: not valid YAML{where}") from exc
    else:
        raise InputError(f"{path}: a brief must be .toml, .yaml or .yml")
    if not isinstance(data, dict):
        raise InputError(f"{path}: a brief is a table of settings and designs")
    return data


def _unknown_key(key: str, known: set[str], where: str) -> InputError:
    close = difflib.get_close_matches(key, sorted(known), n=2, cutoff=0.6)
    hint = (f"did you mean {' or '.join(repr(c) for c in close)}?" if close
            else f"known keys: {', '.join(sorted(known))}")
    return InputError(f"{where}: unknown key {key!r}", hint=hint)


def _as_list(value: Any, where: str) -> list:
    if isinstance(value, list):
        if not value:
            raise InputError(f"{where}: empty list")
        return value
    return [value]


def _terms(value: Any, where: str) -> list[str]:
    items = _as_list(value, where)
    for item in items:
        if not isinstance(item, str):
            raise InputError(f"{where}: expected a word, got {item!r}")
    return items


def _design_jobs(raw: dict[str, Any], defaults: dict[str, Any], where: str,
                 cli_count: int | None, cli_seed: int | None) -> list[tuple[str, DesignSpec, dict]]:
    merged: dict[str, Any] = {}
    for source in (defaults, raw):
        for key, value in source.items():
            if key not in DESIGN_KEYS:
                raise _unknown_key(key, DESIGN_KEYS, where)
            merged[PLURALS.get(key, key)] = value
    name = merged.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where}: every design needs a name")
    where = f"{where} ({name})"
    if "type" in merged and isinstance(merged["type"], list):
        axes_values = {"type": _terms(merged["type"], f"{where} type")}
    else:
        axes_values = {}
    for axis in AXES:
        if axis in merged:
            axes_values[axis] = _terms(merged[axis], f"{where} {axis}")
    steps = check_steps(merged["steps"], f"{where} steps") if "steps" in merged else None
    guidance = check_guidance(merged["guidance"], f"{where} guidance") if "guidance" in merged else None
    size = parse_size(merged["size"], f"{where} size") if "size" in merged else (None, None)
    count = cli_count if cli_count is not None else merged.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
        raise InputError(f"{where}: count must be 1-1000, got {count!r}")
    if "seeds" in merged:
        seeds = [check_seed(s, f"{where} seeds") for s in _as_list(merged["seeds"], f"{where} seeds")]
        seeds = [s + i for s in seeds for i in range(count)] if count > 1 else seeds
    else:
        base = cli_seed if cli_seed is not None else (
            check_seed(merged["seed"], f"{where} seed") if "seed" in merged else stable_seed(name))
        seeds = [base + i for i in range(count)]
    prompt = merged.get("prompt", "")
    negative = merged.get("negative", "")
    for key, value in (("prompt", prompt), ("negative", negative)):
        if not isinstance(value, str):
            raise InputError(f"{where}: {key} must be text")
    axis_names = list(axes_values)
    combos = list(itertools.product(*(axes_values[a] for a in axis_names)))
    varying = [a for a in axis_names if len(axes_values[a]) > 1]
    out = []
    for combo in combos:
        values = dict(zip(axis_names, combo, strict=True))
        styles = tuple(s.strip() for s in values.pop("style", "").split(",") if s.strip()) \
            if "style" in values else ()
        spec = DesignSpec(name=name, type=values.get("type", merged.get("type")) if not isinstance(
            merged.get("type"), list) else values.get("type"), style=styles, prompt=prompt,
            negative=negative, **{k: values.get(k) for k in ("metal", "stone", "cut", "setting",
                                                             "finish", "view")})
        spec = validate(spec, where=where)
        label = "-".join([name, *(str(dict(zip(axis_names, combo, strict=True))[a]) for a in varying)])
        out.append((label, spec, {"seeds": seeds, "steps": steps, "guidance": guidance,
                                  "width": size[0], "height": size[1]}))
    return out


def plan_from_brief(path: Path, *, count: int | None = None, seed: int | None = None) -> DraftPlan:
    """Expand a brief file into every draft it asks for (validated, no torch).

    ``count``/``seed`` (from the command line) override the brief's.
    """
    path = Path(path)
    data = load_brief_data(path)
    for key in data:
        if key not in TOP_KEYS:
            raise _unknown_key(key, TOP_KEYS, str(path))
    defaults = data.get("defaults", {}) or {}
    if not isinstance(defaults, dict):
        raise InputError(f"{path}: [defaults] must be a table")
    if "name" in defaults:
        raise InputError(f"{path}: [defaults] cannot hold a name")
    designs = data.get("design", data.get("designs"))
    if not isinstance(designs, list) or not designs or not all(isinstance(d, dict) for d in designs):
        raise InputError(f"{path}: no designs", hint="add [[design]] tables (TOML) or a designs: list (YAML)")
    seen: set[str] = set()
    entries = []
    for number, raw in enumerate(designs, 1):
        for label, spec, params in _design_jobs(raw, defaults, f"{path} design {number}", count, seed):
            if spec.name in seen and label == spec.name:
                raise InputError(f"{path}: design name {spec.name!r} is used twice")
            entries.append((label, spec, params))
        seen.add(str(raw.get("name")))
    jobs = _jobs(entries)
    for key in ("model", "scheduler"):
        if key in data and not isinstance(data[key], str):
            raise InputError(f"{path}: {key} must be text")
    model = data.get("model")
    if model and not Path(model).is_absolute() and (path.parent / model).is_dir():
        model = str((path.parent / model).resolve())     # a folder named relative to the brief
    return DraftPlan(jobs=jobs, source=str(path), collection=str(data.get("name") or path.stem),
                     model=model, scheduler=data.get("scheduler"),
                     designs=[str(d.get("name")) for d in designs])


def _jobs(entries: list[tuple[str, DesignSpec, dict]]) -> list[DraftJob]:
    jobs: list[DraftJob] = []
    total = sum(len(p["seeds"]) for _, _, p in entries)
    if total > MAX_IMAGES:
        raise InputError(f"the plan has {total} images, more than {MAX_IMAGES}",
                         hint="split the brief or use fewer matrix values")
    for label, spec, params in entries:
        compiled = compile_prompt(spec)
        for seed_value in params["seeds"]:
            jobs.append(DraftJob(index=len(jobs) + 1, design=label, spec=spec, prompt=compiled.prompt,
                                 negative=compiled.negative, seed=seed_value, steps=params["steps"],
                                 guidance=params["guidance"], width=params["width"],
                                 height=params["height"]))
    return jobs


def plan_from_options(spec: DesignSpec, *, count: int = 1, seed: int | None = None,
                      steps: int | None = None, guidance: float | None = None,
                      size: tuple[int, int] | None = None, require_subject: bool = True) -> DraftPlan:
    """The plan of a single design given on the command line.

    ``require_subject=False`` (refine, inpaint: the image is the subject) allows a
    design with neither a prompt nor a type.
    """
    spec = validate(spec, require_subject=require_subject)
    if not 1 <= count <= 1000:
        raise InputError(f"--count must be 1-1000, got {count}")
    base = check_seed(seed, "--seed") if seed is not None else random_seed()
    name = spec.name if spec.name != "draft" else (spec.type or "draft")
    spec = DesignSpec(**{**spec.__dict__, "name": name})
    params = {"seeds": [base + i for i in range(count)],
              "steps": check_steps(steps, "--steps") if steps is not None else None,
              "guidance": check_guidance(guidance, "--guidance") if guidance is not None else None,
              "width": size[0] if size else None, "height": size[1] if size else None}
    return DraftPlan(jobs=_jobs([(name, spec, params)]), source="command line", collection=name,
                     designs=[name])
