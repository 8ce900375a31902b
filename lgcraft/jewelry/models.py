"""Finding diffusion models on this machine, and the rules for using them.

Nothing here imports torch: listing models, resolving ``--model`` and the license
and safetensors checks all run before the (slow) pipeline load, so a bad model
choice fails in milliseconds. lgcraft never downloads: a hub id must already be in
the local Hugging Face cache.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lgcraft.errors import InputError, ModelError

# The documented default: Apache-2.0 (commercial use allowed), 4 steps, diffusers-native.
DEFAULT_MODEL = "black-forest-labs/FLUX.2-klein-4B"

COMMERCIAL_YES, COMMERCIAL_RESTRICTED, COMMERCIAL_NO, COMMERCIAL_UNKNOWN = (
    "yes", "restricted", "no", "unknown")


@dataclass(frozen=True)
class KnownModel:
    license: str
    commercial: str
    steps: int | None = None
    guidance: float | None = None
    note: str = ""


# Licences as published on each model card (checked 2025-2026; see REFERENCES.md).
KNOWN_MODELS: dict[str, KnownModel] = {
    "black-forest-labs/FLUX.2-klein-4B": KnownModel("apache-2.0", COMMERCIAL_YES, 4, 1.0, "default"),
    "black-forest-labs/FLUX.2-klein-9B": KnownModel("flux-non-commercial-license", COMMERCIAL_NO, 4, 1.0),
    "black-forest-labs/FLUX.2-dev": KnownModel("flux-dev-non-commercial-license", COMMERCIAL_NO, 28, 4.0),
    "black-forest-labs/FLUX.1-schnell": KnownModel("apache-2.0", COMMERCIAL_YES, 4, 0.0),
    "black-forest-labs/FLUX.1-dev": KnownModel("flux-1-dev-non-commercial-license", COMMERCIAL_NO, 28, 3.5),
    "Tongyi-MAI/Z-Image-Turbo": KnownModel("apache-2.0", COMMERCIAL_YES, 8, 0.0),
    "stabilityai/sd-turbo": KnownModel("sai-nc-community", COMMERCIAL_NO, 1, 0.0),
    "stabilityai/sdxl-turbo": KnownModel("sai-nc-community", COMMERCIAL_NO, 1, 0.0),
    "Efficient-Large-Model/Sana_Sprint_1.6B_1024px_diffusers": KnownModel("nvidia-license", COMMERCIAL_NO, 2, 4.5),
    "Efficient-Large-Model/Sana_Sprint_0.6B_1024px_diffusers": KnownModel("nvidia-license", COMMERCIAL_NO, 2, 4.5),
    "stable-diffusion-v1-5/stable-diffusion-v1-5": KnownModel("creativeml-openrail-m", COMMERCIAL_RESTRICTED, 25, 7.0),
    "stabilityai/stable-diffusion-2-1-base": KnownModel("openrail++", COMMERCIAL_RESTRICTED, 25, 7.0),
    "stabilityai/stable-diffusion-xl-base-1.0": KnownModel("openrail++", COMMERCIAL_RESTRICTED, 30, 6.0),
    "madebyollin/taesd": KnownModel("mit", COMMERCIAL_YES),
    "madebyollin/taesdxl": KnownModel("mit", COMMERCIAL_YES),
    "lllyasviel/control_v11p_sd15_scribble": KnownModel("openrail", COMMERCIAL_RESTRICTED),
    "lllyasviel/control_v11p_sd15_canny": KnownModel("openrail", COMMERCIAL_RESTRICTED),
}

_LICENSE_CLASSES = [
    (re.compile(r"(^|-)nc($|-)|non-?commercial|sai-nc|nvidia-license|research"), COMMERCIAL_NO),
    (re.compile(r"openrail|stabilityai-ai-community|llama"), COMMERCIAL_RESTRICTED),
    (re.compile(r"^(apache-2\.0|mit|bsd.*|cc0-1\.0|cc-by-4\.0|cc-by-sa-4\.0|unlicense|isc)$"), COMMERCIAL_YES),
]

UNSAFE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


def commercial_use(license_id: str | None) -> str:
    """'yes', 'restricted', 'no' or 'unknown' for a model-card licence id.

    >>> commercial_use("apache-2.0"), commercial_use("cc-by-nc-4.0")
    ('yes', 'no')
    """
    if not license_id:
        return COMMERCIAL_UNKNOWN
    text = license_id.strip().lower()
    for pattern, verdict in _LICENSE_CLASSES:
        if pattern.search(text):
            return verdict
    return COMMERCIAL_UNKNOWN


def card_license(folder: Path) -> str | None:
    """The ``license:`` (or ``license_name:``) of the model card's YAML front matter."""
    readme = folder / "README.md"
    try:
        text = readme.read_text(encoding="utf-8", errors="replace")[:20000]
    except OSError:
        return None
    match = re.match(r"---\s*\n(.*?)\n---", text, re.S)
    if not match:
        return None
    found = {}
    for line in match.group(1).splitlines():
        m = re.match(r"(license|license_name)\s*:\s*['\"]?([^'\"#\n]+?)['\"]?\s*$", line.strip())
        if m:
            found[m.group(1)] = m.group(2).strip()
    if found.get("license") == "other" and found.get("license_name"):
        return found["license_name"]
    return found.get("license") or found.get("license_name")


def hub_cache_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    home = env.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return Path(home).expanduser() / "hub"


@dataclass
class LocalModel:
    """A model folder on this machine: a pipeline or one component (ControlNet, VAE)."""

    id: str
    path: Path
    kind: str               # pipeline class name, or component class name
    source: str             # "hub-cache" or "folder"
    revision: str | None
    license: str | None
    commercial: str
    safetensors_only: bool
    is_default: bool = False
    note: str = ""

    @property
    def is_pipeline(self) -> bool:
        return (self.path / "model_index.json").is_file()


def _kind(folder: Path) -> str | None:
    for name in ("model_index.json", "config.json"):
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("_class_name"):
            return str(data["_class_name"])
    return None


def weight_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.suffix in (".safetensors", *UNSAFE_SUFFIXES)
            and p.is_file() and not p.name.startswith(".")]


def unsafe_weights(folder: Path) -> list[Path]:
    """Pickle weight files in components that have no safetensors alternative."""
    by_dir: dict[Path, list[Path]] = {}
    for path in weight_files(folder):
        by_dir.setdefault(path.parent, []).append(path)
    bad = []
    for files in by_dir.values():
        if not any(f.suffix == ".safetensors" for f in files):
            bad += [f for f in files if f.suffix in UNSAFE_SUFFIXES]
    return sorted(bad)


def describe_folder(model_id: str, folder: Path, source: str, revision: str | None) -> LocalModel | None:
    kind = _kind(folder)
    if kind is None:
        return None
    known = KNOWN_MODELS.get(model_id)
    license_id = card_license(folder) or (known.license if known else None)
    verdict = known.commercial if known else commercial_use(license_id)
    return LocalModel(id=model_id, path=folder, kind=kind, source=source, revision=revision,
                      license=license_id, commercial=verdict,
                      safetensors_only=not unsafe_weights(folder),
                      is_default=model_id == DEFAULT_MODEL, note=known.note if known else "")


def _snapshot(repo_dir: Path) -> tuple[Path, str] | None:
    ref = repo_dir / "refs" / "main"
    if ref.is_file():
        revision = ref.read_text().strip()
        snap = repo_dir / "snapshots" / revision
        if snap.is_dir():
            return snap, revision
    snaps = sorted((p for p in (repo_dir / "snapshots").glob("*") if p.is_dir()),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    for snap in snaps:
        if _kind(snap):
            return snap, snap.name
    return None


def discover_models(models_dir: str | Path | None = None, cache_dir: Path | None = None) -> list[LocalModel]:
    """Every diffusers model in the Hugging Face cache and in ``models_dir``.

    >>> [m.id for m in discover_models(cache_dir=Path("/nonexistent"))]
    []
    """
    found: list[LocalModel] = []
    hub = cache_dir or hub_cache_dir()
    if hub.is_dir():
        for repo in sorted(hub.glob("models--*")):
            snap = _snapshot(repo)
            if snap:
                model_id = repo.name[len("models--"):].replace("--", "/")
                described = describe_folder(model_id, snap[0], "hub-cache", snap[1])
                if described:
                    found.append(described)
    if models_dir:
        root = Path(models_dir).expanduser()
        if root.is_dir():
            for folder in sorted(p for p in root.iterdir() if p.is_dir()):
                described = describe_folder(str(folder), folder, "folder", None)
                if described:
                    found.append(described)
    return found


def _looks_like_path(spec: str) -> bool:
    return spec.startswith((".", "/", "~")) or "\\" in spec or spec.count("/") != 1


def how_to_get(model_id: str) -> str:
    return (f"on a connected machine run `hf download {model_id}` (pip install huggingface_hub), "
            "then copy its ~/.cache/huggingface/hub folder here (or set HF_HUB_CACHE); "
            "or pass --model PATH to a diffusers pipeline folder")


def resolve_model(spec: str | None, *, models_dir: str | Path | None = None,
                  cache_dir: Path | None = None, component: str | None = None) -> LocalModel:
    """The local folder of ``--model`` (a path, a name under models_dir, or a cached hub id).

    ``component`` names the expected kind for non-pipelines ("ControlNetModel",
    "AutoencoderTiny"); pipelines need a model_index.json.
    """
    if spec is not None and not spec.strip():
        raise InputError("--model '': empty; give a diffusers folder or a hub id, or leave it out")
    spec = spec or DEFAULT_MODEL
    what = component or "pipeline"
    candidate = Path(spec).expanduser()
    folder_model: LocalModel | None = None
    if candidate.is_file():
        raise InputError(f"{spec}: a single file, not a diffusers {what} folder",
                         hint="diffusers loads folders (model_index.json beside the weights); "
                              "convert single-file checkpoints with diffusers' conversion scripts")
    if candidate.is_dir():
        folder_model = describe_folder(str(candidate.resolve()), candidate.resolve(), "folder", None)
        if folder_model is None:
            raise InputError(f"{spec}: not a diffusers {what} folder (no model_index.json or config.json)",
                             hint="point --model at the folder that holds model_index.json")
    elif models_dir and (Path(models_dir).expanduser() / spec).is_dir():
        folder = (Path(models_dir).expanduser() / spec).resolve()
        folder_model = describe_folder(str(folder), folder, "folder", None)
    elif _looks_like_path(spec):
        raise InputError(f"model not found: {spec}",
                         hint="give a diffusers folder path or a hub id like org/name that is in the local cache")
    if folder_model is None:
        repo = (cache_dir or hub_cache_dir()) / ("models--" + spec.replace("/", "--"))
        snap = _snapshot(repo) if repo.is_dir() else None
        if not snap:
            raise ModelError(f"model {spec!r} is not in the local Hugging Face cache and lgcraft "
                             "works offline", hint=how_to_get(spec))
        folder_model = describe_folder(spec, snap[0], "hub-cache", snap[1])
        if folder_model is None:
            raise ModelError(f"model {spec!r}: cached snapshot {snap[0]} is incomplete",
                             hint=how_to_get(spec))
    if component is None and not folder_model.is_pipeline:
        raise InputError(f"{spec}: a {folder_model.kind} is not a whole pipeline",
                         hint="--model needs a pipeline folder (with model_index.json)")
    if component is not None and folder_model.kind != component:
        raise InputError(f"{spec}: is a {folder_model.kind}, not the {component} this option needs")
    return folder_model


def check_use(model: LocalModel, *, accept_license: bool, allow_unsafe_weights: bool) -> list[str]:
    """Raise ModelError if a licence or weight format rule forbids ``model``; else warnings."""
    warnings = []
    if model.commercial == COMMERCIAL_NO and not accept_license:
        raise ModelError(
            f"model {model.id!r} is under a non-commercial licence ({model.license})",
            hint="drafts from it may not be used commercially; pass --accept-license if this "
                 f"use is allowed, or use the default {DEFAULT_MODEL} (Apache-2.0)")
    if model.commercial == COMMERCIAL_NO:
        warnings.append(f"{model.id}: non-commercial licence {model.license} accepted by --accept-license")
    elif model.commercial == COMMERCIAL_UNKNOWN:
        warnings.append(f"{model.id}: licence unknown; check it before commercial use")
    elif model.commercial == COMMERCIAL_RESTRICTED:
        warnings.append(f"{model.id}: licence {model.license} allows commercial use with use restrictions")
    bad = unsafe_weights(model.path)
    if bad and not allow_unsafe_weights:
        raise ModelError(
            f"model {model.id!r} has pickle weights without safetensors: {bad[0].relative_to(model.path)}",
            hint="pickle files can run code when loaded; convert to safetensors, or pass "
                 "--allow-unsafe-weights if you trust the source")
    return warnings


def folder_hash(folder: Path) -> str:
    """A content fingerprint of a model folder, fast even for multi-GB weights.

    Small files (configs, tokenizers) are hashed whole; large weight files by size and
    their first and last MiB. Any re-saved or swapped weight changes it.
    """
    digest = hashlib.sha256()
    chunk = 1 << 20
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(folder).as_posix()
        if rel.lower() == "readme.md":
            continue
        size = path.stat().st_size
        digest.update(f"{rel}\0{size}\0".encode())
        with path.open("rb") as handle:
            if size <= 2 * chunk:
                digest.update(handle.read())
            else:
                digest.update(handle.read(chunk))
                handle.seek(-chunk, os.SEEK_END)
                digest.update(handle.read(chunk))
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class LoraSpec:
    path: Path
    weight: float = 1.0
    sha256: str = ""
    license: str | None = None
    commercial: str = COMMERCIAL_UNKNOWN
    extra: dict = field(default_factory=dict)


def parse_lora(text: str, *, allow_unsafe_weights: bool, accept_license: bool) -> LoraSpec:
    """``PATH[:WEIGHT]`` -> a checked LoraSpec (safetensors only unless allowed)."""
    path_text, weight = text, 1.0
    head, sep, tail = text.rpartition(":")
    if sep and head:
        try:
            weight = float(tail)
            path_text = head
        except ValueError:
            path_text = text
        if not math.isfinite(weight):
            raise InputError(f"--lora {text}: the weight must be a finite number, got {tail!r}")
    path = Path(path_text).expanduser()
    if path.is_dir():
        files = sorted(path.glob("*.safetensors")) or sorted(
            p for p in path.iterdir() if p.suffix in UNSAFE_SUFFIXES)
        if not files:
            raise InputError(f"--lora {text}: no weights in folder {path}")
        path = files[0]
    if not path.is_file():
        raise InputError(f"--lora {text}: file not found: {path}")
    if path.suffix != ".safetensors" and not allow_unsafe_weights:
        raise ModelError(f"--lora {path}: not a .safetensors file",
                         hint="pass --allow-unsafe-weights if you trust this pickle file")
    license_id = card_license(path.parent)
    verdict = commercial_use(license_id)
    if verdict == COMMERCIAL_NO and not accept_license:
        raise ModelError(f"LoRA {path.name} is under a non-commercial licence ({license_id})",
                         hint="pass --accept-license if this use is allowed")
    return LoraSpec(path=path.resolve(), weight=weight, sha256=file_sha256(path),
                    license=license_id, commercial=verdict)
