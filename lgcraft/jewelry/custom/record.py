"""``--record``: each custom piece becomes a signed custom-order record in the
provenance store, the way drafts record their design origin (lgcraft.jewelry.record).

The record is a ``commissioning`` event for the order id: the designer, the metal
(type, fineness, colour), the metal weight in whole milligrams, the stone (type and
carat in hundredths), the STL, 3MF, GLB and report as SHA-256 attachments, and a note
carrying the order's parameters and the check status.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from lgcraft.provenance.records import ITEM_ID_RE, STONE_TYPES  # light: no web3 at import

_STONE_TYPE = {"lab-diamond": "lab_grown_diamond", "pink-sapphire": "sapphire"}


def custom_order_event(report: dict[str, Any], target) -> dict[str, Any]:
    """The provenance event for one written piece (its report names the files)."""
    from lgcraft.provenance.records import attachment_for_file

    order = report["order"]
    metal_term = report["metal"]["term"]
    metal_type = "platinum" if metal_term == "platinum" else "silver" if "silver" in metal_term else "gold"
    colour = ("yellow" if "yellow" in metal_term else "rose" if "rose" in metal_term else "white")
    files = [report["outputs"][k] for k in ("stl", "3mf", "glb", "report") if k in report["outputs"]]
    event: dict[str, Any] = {
        "item_id": target.item_id or (report["name"] if ITEM_ID_RE.match(report["name"])
                                      else f"CUSTOM-{report['mesh']['sha256_stl'][:16].upper()}"),
        "biz_step": "commissioning",
        "event_time": datetime.now().astimezone().isoformat(timespec="seconds"),
        "actor": {"name": target.designer, "role": "designer", "address": target.signer.address},
        "metal": {"type": metal_type, "fineness": report["metal"]["fineness"],
                  **({"colour": colour} if metal_type == "gold" else {})},
        "weight_mg": max(1, round(report["metal_weight_g"] * 1000)),
        "attachments": [attachment_for_file(Path(f)) for f in files],
    }
    stone = report.get("stone")
    if stone:
        kind = _STONE_TYPE.get(stone["kind"], stone["kind"])
        entry: dict[str, Any] = {"type": kind if kind in STONE_TYPES else "other",
                                 "carat": f"{max(stone['carat'], 0.01):.2f}", "cut": stone["cut"]}
        event["stones"] = [entry]
    summary = {k: v for k, v in order.items() if v not in (None, False, "")}
    note = (f"lgcraft jewelry custom order {report['name']}: checks {report['status']}; "
            f"stl sha256 {report['mesh']['sha256_stl']}; parameters "
            + json.dumps(summary, ensure_ascii=False, separators=(",", ":")))
    event["note"] = note[:1000]
    return event


def record_pieces(target, reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One signed custom-order record per written piece; item ids and record hashes."""
    from lgcraft.provenance import open_store, record_event

    results = []
    with open_store(target.store_path) as store:
        for report in reports:
            result = record_event(store, target.signer, custom_order_event(report, target))
            results.append({"name": report["name"], "item_id": result.item_id,
                            "record_hash": result.record_hash, "status": result.status})
    return results
