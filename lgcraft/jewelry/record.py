"""`--record`: each draft becomes a provenance design-origin record.

The record (a signed ``commissioning`` event in the provenance store) carries the
draft PNG and its recipe sidecar as SHA-256 attachments, and a note naming the
recipe hash, model and seed, so a finished piece can later prove which draft (and
which model and licence) its design came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lgcraft.errors import InputError


@dataclass
class RecordTarget:
    """Where and as whom to record: resolved before drafting, so failures come first."""

    store_path: Path
    signer: Any
    designer: str
    item_id: str | None = None


def open_target(settings, *, designer: str, item_id: str | None = None) -> RecordTarget:
    """Check that the store and the signing key exist (no records written yet)."""
    from lgcraft.provenance import open_store, signer_from_settings

    if item_id is not None:
        import re

        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,120}$", item_id):
            raise InputError(f"--item-id {item_id!r}: letters, digits and . _ : / # - only")
    signer = signer_from_settings(settings)
    with open_store(settings.get("provenance", "store", str, None)) as store:
        store_path = Path(store.folder)
    return RecordTarget(store_path=store_path, signer=signer, designer=designer, item_id=item_id)


def item_id_for(target: RecordTarget, image, count: int) -> str:
    if target.item_id:
        return target.item_id if count == 1 else f"{target.item_id}-{image.index:03d}"
    return f"DRAFT-{image.sha256[:16].upper()}"


def record_report(target: RecordTarget, report) -> list[dict[str, Any]]:
    """One design-origin record per written draft; returns item ids and record hashes."""
    from lgcraft.provenance import open_store, record_design_origin

    results = []
    with open_store(target.store_path) as store:
        for image in report.images:
            recipe = image.recipe
            model = recipe["model"]
            note = (f"lgcraft jewelry draft {Path(image.file).name}: sha256 {image.sha256}; "
                    f"model {model['id']} (licence {model.get('license') or 'unknown'}, "
                    f"folder {str(model.get('folder_hash'))[:16]}); seed {recipe['seed']}; "
                    f"prompt: {recipe['prompt']}")[:1000]
            result = record_design_origin(store, target.signer, item_id=item_id_for(target, image, len(report.images)),
                                          designer=target.designer, files=[image.file, image.sidecar],
                                          note=note)
            results.append({"file": str(image.file), "item_id": result.item_id,
                            "record_hash": result.record_hash, "status": result.status})
    return results
