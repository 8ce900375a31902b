"""GS1 EPCIS 2.0 JSON-LD documents from a piece's records.

Mapping (see docs/provenance.md): commissioning, grading, hallmarking, shipping,
receiving, repairing -> ObjectEvent; casting and setting (inputs to the piece) ->
TransformationEvent; selling and transferring -> TransactionEvent. Business steps use
the CBV 2.0 vocabulary where one fits (grading and hallmarking are CBV ``inspecting``);
the lgcraft step, trade fields and record hash travel in an ``lgc:`` extension.
"""

from __future__ import annotations

from typing import Any

from lgcraft.provenance.store import StoredRecord, now_iso

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
LGC_NS = "https://lgcraft.dev/epcis/"

CBV_STEP = {
    "commissioning": "commissioning", "casting": "creating_class_instance", "setting": "assembling",
    "grading": "inspecting", "inspecting": "inspecting", "hallmarking": "inspecting",
    "shipping": "shipping", "receiving": "receiving", "selling": "retail_selling",
    "transferring": "other", "repairing": "repairing",
}
CBV_DISPOSITION = {
    "commissioning": "active", "casting": "active", "setting": "active", "grading": "conformant",
    "inspecting": "conformant", "hallmarking": "conformant", "shipping": "in_transit",
    "receiving": "in_progress", "selling": "retail_sold", "transferring": "active",
    "repairing": "in_progress",
}


def epc_uri(item_id: str) -> str:
    """An item id as a URI: kept if it already is one (``urn:epc:id:sgtin:...``)."""
    if item_id.startswith(("urn:", "http://", "https://")):
        return item_id
    return f"urn:lgcraft:item:{item_id}"


def _event(rec: StoredRecord, anchor: dict[str, Any] | None) -> dict[str, Any]:
    body = rec.body
    step = body["biz_step"]
    event_type = body["event_type"]
    time_text = body["event_time"]
    offset = "+00:00" if time_text.endswith("Z") else time_text[-6:]
    event: dict[str, Any] = {
        "type": event_type,
        "eventID": f"ni:///sha-256;{rec.record_hash[2:]}?ver=CBV2.0",
        "eventTime": time_text,
        "eventTimeZoneOffset": offset,
        "bizStep": CBV_STEP.get(step, "other"),
        "disposition": CBV_DISPOSITION.get(step, "active"),
    }
    epc = epc_uri(body["item_id"])
    if event_type == "TransformationEvent":
        event["inputEPCList"] = [epc_uri(i) for i in body.get("inputs", [])]
        event["outputEPCList"] = [epc]
    else:
        event["epcList"] = [epc]
        event["action"] = "ADD" if step == "commissioning" else "OBSERVE"
    if event_type == "TransactionEvent":
        event["bizTransactionList"] = [{"type": "inv", "bizTransaction": f"urn:lgcraft:tx:{rec.record_hash[2:18]}"}]
        event["sourceList"] = [{"type": "owning_party", "source": f"urn:lgcraft:party:{body['actor']['address']}"}]
        party = body.get("counterparty", {})
        dest = party.get("address") or party.get("name", "unknown").replace(" ", "_")
        event["destinationList"] = [{"type": "owning_party", "destination": f"urn:lgcraft:party:{dest}"}]
    loc = body.get("location")
    if loc:
        place = f"urn:epc:id:sgln:{loc['gln']}" if "gln" in loc else f"urn:lgcraft:loc:{loc['name'].replace(' ', '_')}"
        event["readPoint"] = {"id": place}
        event["bizLocation"] = {"id": place}
    reports = [s for s in body.get("stones", []) if "report_number" in s]
    if reports:  # EPCIS 2.0 certificationInfo is one URI; further reports go in the extension
        uris = [f"urn:lgcraft:report:{s['lab']}:{s['report_number']}" for s in reports]
        event["certificationInfo"] = uris[0]
        if len(uris) > 1:
            event["lgc:certifications"] = uris
    trade = {k: v for k, v in body.items() if k not in ("schema", "item_id", "event_type", "event_time", "inputs")}
    event["lgc:step"] = step
    event["lgc:record"] = {"recordHash": rec.record_hash, "prev": body["prev"], "signature": rec.signature,
                           "fields": trade}
    if anchor:
        event["lgc:anchor"] = anchor
    return event


def epcis_document(records: list[StoredRecord], anchors: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """An EPCISDocument with one event per record, oldest first."""
    return {
        "@context": [EPCIS_CONTEXT, {"lgc": LGC_NS}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": now_iso(),
        "epcisBody": {"eventList": [_event(r, anchors.get(r.batch_id)) for r in records]},
    }
