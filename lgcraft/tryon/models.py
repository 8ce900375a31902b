"""Prepared try-on models (from ``lgcraft eyewear prep`` / ``lgcraft jewelry prep``) read
for placing: parts in millimetres, anchors, roles, and the prep report's boxing figures.

A prepared GLB is in metres, +Y up, +Z front, with its origin at the bridge (frames) or
the piercing (earrings) and ``anchor_*`` empty nodes. Anything else (no anchors, a
size that is not metres) is refused with the command that prepares it.

>>> frame = read_prepared(Path("out/eyewear/glasses-01.glb"), "frame")   # doctest: +SKIP
>>> sorted(frame.anchors)                                               # doctest: +SKIP
['bridge', 'ear_rest_left', 'ear_rest_right', 'hinge_left', 'hinge_right']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lgcraft.errors import InputError

REQUIRED_ANCHOR = {"frame": "bridge", "earring": "piercing"}
PREP_COMMAND = {"frame": "lgcraft eyewear prep", "earring": "lgcraft jewelry prep --kind earring"}
SIZE_RANGE_MM = {"frame": (60.0, 250.0), "earring": (2.0, 150.0)}  # the model's largest extent
ROLE_PREFIXES = ("temple_left", "temple_right", "lens_left", "lens_right", "nose_pads", "front")


@dataclass
class PreparedModel:
    path: Path
    kind: str                      # frame | earring
    parts: list                    # lgcraft.meshes.part.Part, vertices in mm
    anchors: dict[str, np.ndarray]  # name (without anchor_) -> mm
    boxing: dict = field(default_factory=dict)  # from the prep report, when beside the GLB
    report: dict = field(default_factory=dict)

    @property
    def triangles(self) -> int:
        return sum(p.triangles for p in self.parts)

    @property
    def name(self) -> str:
        return self.path.name[:-4] if self.path.name.lower().endswith(".glb") else self.path.stem


def _node_anchors(doc: dict) -> dict[str, np.ndarray]:
    """World positions of the ``anchor_*`` nodes (metres)."""
    from lgcraft.meshes.gltf import _local_matrix

    nodes = doc.get("nodes", []) or []
    held = {c for n in nodes if isinstance(n, dict) for c in n.get("children", []) or []}
    stack = [(i, np.eye(4)) for i in range(len(nodes)) if i not in held]
    anchors, seen = {}, set()
    while stack:
        index, parent = stack.pop()
        if index in seen or not isinstance(index, int) or not 0 <= index < len(nodes):
            continue
        seen.add(index)
        node = nodes[index]
        world = parent @ _local_matrix(node)
        name = str(node.get("name", ""))
        if name.startswith("anchor_"):
            anchors[name[len("anchor_"):]] = world[:3, 3].copy()
        stack.extend((c, world) for c in node.get("children", []) or [])
    return anchors


def _role(name: str) -> str:
    for prefix in ROLE_PREFIXES:
        if name == prefix or name.startswith(prefix + "_"):
            return prefix
    return "part"


def read_prepared(path: str | Path, kind: str) -> PreparedModel:
    """Read a prepared GLB of ``kind`` (frame or earring), in millimetres."""
    from lgcraft.meshes.errors import MeshError
    from lgcraft.meshes.gltf import read_gltf, split_glb

    path = Path(path)
    hint = f"run: {PREP_COMMAND[kind]} {path} --out DIR, then use DIR/{path.stem}.glb"
    if not path.is_file():
        raise InputError(f"{path}: no such file", hint=hint)
    if path.suffix.lower() != ".glb":
        raise InputError(f"{path}: not a prepared GLB (try-on takes the GLB that prep writes)",
                         hint=hint)
    try:
        doc, binary = split_glb(path.read_bytes(), path.name)
        parts = read_gltf(path, doc, binary)
    except MeshError as exc:
        raise InputError(f"{path}: {exc.message}", hint=hint) from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as GLB ({exc})", hint=hint) from exc
    if parts is None:
        raise InputError(f"{path}: uses glTF features prep never writes (compression?)", hint=hint)
    anchors = _node_anchors(doc)
    need = REQUIRED_ANCHOR[kind]
    if need not in anchors:
        found = ", ".join(sorted(anchors)) or "none"
        raise InputError(f"{path}: not a prepared {kind}: no anchor_{need} node (anchors: {found})",
                         hint=hint)
    if not parts:
        raise InputError(f"{path}: has no triangles", hint=hint)
    vertices = np.concatenate([p.vertices for p in parts])
    extent_mm = float(np.ptp(vertices, axis=0).max()) * 1000.0
    lo, hi = SIZE_RANGE_MM[kind]
    if not lo <= extent_mm <= hi:
        raise InputError(f"{path}: {extent_mm / 1000:.4g} units across is not a {kind} in metres",
                         hint=hint)
    mm_parts = []
    for part in parts:
        mm_parts.append(part.copy(vertices=part.vertices * 1000.0, role=_role(part.name)))
    report, boxing = {}, {}
    report_path = path.with_name(path.name[:-4] + ".report.json")
    if report_path.is_file():
        try:
            report = json.loads(report_path.read_text())
            boxing = report.get("boxing") or {}
        except (ValueError, OSError):
            report = {}
    return PreparedModel(path=path, kind=kind, parts=mm_parts,
                         anchors={k: v * 1000.0 for k, v in anchors.items()},
                         boxing=boxing, report=report)


def frame_boxing(model: PreparedModel) -> dict:
    """Boxing figures (mm): the prep report's, else measured from the lens parts/anchors."""
    if model.boxing.get("lens_width_mm"):
        return model.boxing
    lenses = [p for p in model.parts if p.role in ("lens_left", "lens_right")]
    out = {}
    if len(lenses) == 2:
        boxes = [(p.vertices[:, 0].min(), p.vertices[:, 0].max()) for p in lenses]
        widths = [b - a for a, b in boxes]
        inner = sorted(boxes)
        out["lens_width_mm"] = float(np.mean(widths))
        out["bridge_mm"] = float(inner[1][0] - inner[0][1])
    hinges = [model.anchors.get("hinge_left"), model.anchors.get("hinge_right")]
    vertices = np.concatenate([p.vertices for p in model.parts if p.role in ("front", "lens_left",
                                                                            "lens_right", "part")]
                              or [p.vertices for p in model.parts])
    out["total_width_mm"] = float(np.ptp(vertices[:, 0]))
    if all(h is not None for h in hinges):
        out["hinge_span_mm"] = float(abs(hinges[0][0] - hinges[1][0]))
    return out
