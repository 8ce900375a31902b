"""Provenance records of jewelry pieces: the event model, validation, hashing.

A record is one EPCIS-style event about one piece. Its *body* (what is hashed and
signed) is a plain JSON object with integer units only::

    {"schema": "lgcraft-provenance-record/1", "item_id": "RING-0001",
     "biz_step": "grading", "event_type": "ObjectEvent",
     "event_time": "2025-03-12T10:00:00+08:00",
     "actor": {"address": "0x...", "name": "NGTC Shenzhen"},
     "location": {"name": "Shuibei Jewelry Park, Shenzhen", "country": "CN"},
     "weight_mg": 4210, "metal": {"type": "gold", "fineness": 750},
     "stones": [{"type": "diamond", "carat_hundredths": 102, ...}],
     "prev": "0x<record hash of the previous record of the piece, or 64 zeros>"}

`validate_event` turns user input (from flags or a JSON file) into such a body, with
one clear error naming the field and the bad value for anything wrong.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from lgcraft.errors import InputError

RECORD_SCHEMA = "lgcraft-provenance-record/1"
ZERO_HASH = "0x" + "00" * 32

# business step -> EPCIS event type (GS1 EPCIS 2.0 / CBV mapping, see docs/provenance.md)
BIZ_STEPS: dict[str, str] = {
    "commissioning": "ObjectEvent",
    "casting": "TransformationEvent",
    "setting": "TransformationEvent",
    "grading": "ObjectEvent",
    "inspecting": "ObjectEvent",
    "hallmarking": "ObjectEvent",
    "shipping": "ObjectEvent",
    "receiving": "ObjectEvent",
    "selling": "TransactionEvent",
    "transferring": "TransactionEvent",
    "repairing": "ObjectEvent",
}
EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent",
               "TransformationEvent", "AssociationEvent")
METALS = ("gold", "platinum", "palladium", "silver", "titanium", "stainless_steel", "other")
MATERIAL_SOURCES = ("recycled", "mined", "mixed")
STONE_TYPES = ("diamond", "lab_grown_diamond", "ruby", "sapphire", "emerald", "pearl",
               "jade", "tourmaline", "topaz", "amethyst", "moissanite", "other")
ITEM_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,127}$")
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
HASH_RE = re.compile(r"^0x[0-9a-f]{64}$")
SHA256_HEX_RE = re.compile(r"^[0-9a-f]{64}$")
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}:\d{2}|Z)$")

TOP_FIELDS = {"schema", "item_id", "biz_step", "event_type", "event_time", "actor", "location",
              "metal", "weight_mg", "stones", "material_source", "compliance", "attachments",
              "inputs", "counterparty", "note", "prev"}
_ATTACHMENT_KEYS = frozenset({"name", "media_type", "sha256", "size_bytes"})
_ACTOR_KEYS = frozenset({"address", "name", "role"})
_LOCATION_KEYS = frozenset({"name", "address", "country", "gln"})
_METAL_KEYS = frozenset({"type", "fineness", "colour"})
_PARTY_KEYS = frozenset({"name", "address"})
_REPORT_RE = re.compile(r"[A-Za-z0-9-]{4,40}")
_GIA_RE = re.compile(r"\d{10}")
_COUNTRY_RE = re.compile(r"[A-Z]{2}")
_GLN_RE = re.compile(r"\d{13}")
_STONE_TEXT = tuple((key, "." + key) for key in ("cut", "colour", "clarity", "origin", "lab", "treatment"))
_TOP_ALLOWED = frozenset(TOP_FIELDS | {"signature", "salt"})
_BIZ_STEP_NAMES = tuple(BIZ_STEPS)
STONE_FIELDS = frozenset({"type", "carat_hundredths", "carat", "count", "cut", "colour", "clarity",
                          "origin", "lab", "report_number", "treatment"})


class Float(str):
    """A JSON number with a fraction or exponent, kept as its text so validation can
    name it: floats are never allowed in hashed data."""


def loads_json(text: str, origin: str) -> Any:
    """Parse JSON keeping decimals as `Float` markers instead of binary floats."""
    from lgcraft.provenance.strictjson import loads_strict

    try:
        return loads_strict(text, origin, parse_float=Float)
    except ValueError as exc:
        raise InputError(f"{origin}: not valid JSON ({exc})") from exc


def _bad_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _fail(path: str, message: str) -> InputError:
    return InputError(f"{path}: {message}")


def _string(value: Any, path: str, suffix: str = "", *, max_len: int = 200,
            required: bool = True) -> str | None:
    if type(value) is str and 0 < len(value) <= max_len and not value[0].isspace() and not value[-1].isspace():
        return value  # fast path: already clean text
    path += suffix  # the error path is only built when needed
    if value is None:
        if required:
            raise _fail(path, "is required")
        return None
    if not isinstance(value, str) or isinstance(value, Float):
        raise _fail(path, f"expected text, got {_show(value)}")
    value = value.strip()
    if required and not value:
        raise _fail(path, "must not be empty")
    if len(value) > max_len:
        raise _fail(path, f"longer than {max_len} characters")
    return value


def _show(value: Any) -> str:
    if isinstance(value, Float):
        return f"the decimal number {value}"
    return repr(value)


def _integer(value: Any, path: str, suffix: str = "", *, low: int, high: int, unit: str) -> int:
    if type(value) is int and low <= value <= high:
        return value
    path += suffix
    if isinstance(value, Float) or isinstance(value, float):
        raise _fail(path, f"{value} is not an integer; give whole {unit}")
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        else:
            raise _fail(path, f"expected an integer number of {unit}, got {_show(value)}")
    if not low <= value <= high:
        raise _fail(path, f"{value} is out of range {low}..{high} {unit}")
    return value


def _choice(value: Any, path: str, choices: tuple[str, ...], suffix: str = "") -> str:
    if value in choices and type(value) is str:
        return value
    path += suffix
    text = _string(value, path)
    norm = text.lower().replace(" ", "_").replace("-", "_")
    if norm not in choices:
        raise _fail(path, f"{text!r} is not one of: {', '.join(choices)}")
    return norm


def _no_unknown(data: dict, allowed: set[str] | frozenset[str], path: str, suffix: str = "") -> None:
    if data.keys() <= allowed:
        return
    path += suffix
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _fail(path, f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _object(value: Any, path: str, suffix: str = "") -> dict:
    if type(value) is dict:
        return value
    path += suffix
    if not isinstance(value, dict):
        raise _fail(path, f"expected an object, got {_show(value)}")
    return value


MAX_CARAT_HUNDREDTHS = 10_000_000  # 100,000 ct: far above any real stone or parcel


def carat_to_hundredths(text: str, path: str = "carat") -> int:
    """``"1.02"`` -> 102, exactly; a carat weight finer than 0.01 ct is refused.

    >>> carat_to_hundredths("1.02")
    102
    """
    try:
        value = Decimal(str(text).strip().lower().removesuffix("ct"))
        hundredths = value * 100
    except ArithmeticError as exc:  # InvalidOperation, or Overflow for an exponent like 1e99999999999
        raise _fail(path, f"{text!r} is not a carat weight like 1.02") from exc
    if not hundredths.is_finite() or hundredths != hundredths.to_integral_value() or value <= 0:
        raise _fail(path, f"{text} ct is not a positive weight in whole hundredths of a carat")
    if hundredths > MAX_CARAT_HUNDREDTHS:  # checked before int(): 1e999 would be a 1000-digit int
        raise _fail(path, f"{text} ct is out of range 0.01..{MAX_CARAT_HUNDREDTHS // 100} ct")
    return int(hundredths)


def validate_time(value: Any, path: str = "event_time", suffix: str = "") -> str:
    text = _string(value, path, suffix, max_len=40)
    if TIME_RE.match(text):
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
            return text
        except ValueError:
            pass
    path += suffix
    if not TIME_RE.match(text):
        raise _fail(path, f"{text!r} is not an ISO 8601 time with a time-zone offset, "
                          "e.g. 2025-03-12T10:00:00+08:00")
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _fail(path, f"{text!r} is not a valid date and time") from exc
    return text


@lru_cache(maxsize=4096)
def _checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


_KNOWN_ADDRESSES: dict[str, str] = {}


def validate_address(value: Any, path: str, suffix: str = "") -> str:
    known = _KNOWN_ADDRESSES.get(value) if type(value) is str else None
    if known is not None:
        return known
    path += suffix
    text = _string(value, path, max_len=42)
    if not ADDRESS_RE.match(text):
        raise _fail(path, f"{text!r} is not an EVM address (0x and 40 hex digits)")
    checksummed = _checksum(text.lower())
    if text != text.lower() and text[2:] != text[2:].upper() and checksummed != text:
        raise _fail(path, f"{text!r} has a wrong EIP-55 checksum (mistyped?)")
    if len(_KNOWN_ADDRESSES) < 4096:
        _KNOWN_ADDRESSES[text] = checksummed
    return checksummed


def _stone(raw: Any, path: str) -> dict:
    raw = _object(raw, path)
    _no_unknown(raw, STONE_FIELDS, path)
    stone: dict[str, Any] = {"type": _choice(raw.get("type"), path, STONE_TYPES, ".type")}
    if "carat_hundredths" in raw and "carat" in raw:
        raise _fail(path, "give carat_hundredths or carat, not both")
    if "carat" in raw:
        carat = raw["carat"]
        if isinstance(carat, int) and not isinstance(carat, bool):
            carat = str(carat)
        if not isinstance(carat, str):
            raise _fail(f"{path}.carat", f"give the carat as text like \"1.02\", got {_show(carat)}")
        stone["carat_hundredths"] = carat_to_hundredths(carat, f"{path}.carat")
    elif "carat_hundredths" in raw:
        stone["carat_hundredths"] = _integer(raw["carat_hundredths"], path, ".carat_hundredths",
                                             low=1, high=MAX_CARAT_HUNDREDTHS, unit="hundredths of a carat")
    if "count" in raw:
        stone["count"] = _integer(raw["count"], path, ".count", low=1, high=100_000, unit="stones")
    for key, suffix in _STONE_TEXT:
        value = raw.get(key)
        if value is not None:
            stone[key] = _string(value, path, suffix, max_len=80)
    if raw.get("report_number") is not None:
        report = raw["report_number"]
        if isinstance(report, int) and not isinstance(report, bool):
            report = str(report)
        report = _string(report, path, ".report_number", max_len=40)
        if not _REPORT_RE.fullmatch(report):
            raise _fail(f"{path}.report_number", f"{report!r} is not a lab report number")
        lab = stone.get("lab", "").upper()
        if lab == "GIA" and not _GIA_RE.fullmatch(report):
            raise _fail(f"{path}.report_number", f"{report!r}: GIA report numbers have 10 digits")
        stone["report_number"] = report
    if "report_number" in stone and "lab" not in stone:
        raise _fail(path, "a report_number needs the lab that issued it")
    return stone


def _attachment(raw: Any, path: str) -> dict:
    raw = _object(raw, path)
    _no_unknown(raw, _ATTACHMENT_KEYS, path)
    out = {"name": _string(raw.get("name"), path, ".name", max_len=200)}
    digest = _string(raw.get("sha256"), f"{path}.sha256", max_len=64).lower()
    if not SHA256_HEX_RE.match(digest):
        raise _fail(f"{path}.sha256", f"{digest!r} is not a SHA-256 hex digest (64 hex digits)")
    out["sha256"] = digest
    if raw.get("media_type") is not None:
        out["media_type"] = _string(raw["media_type"], path, ".media_type", max_len=100)
    if raw.get("size_bytes") is not None:
        out["size_bytes"] = _integer(raw["size_bytes"], path, ".size_bytes", low=0,
                                     high=2**53 - 1, unit="bytes")
    return out


def validate_event(raw: Any, *, path: str = "record") -> dict[str, Any]:
    """Validate one event (user input) and return its record body without ``prev``
    (the store fills it) unless the input names one.

    >>> validate_event({"item_id": "R-1", "biz_step": "casting",
    ...     "event_time": "2025-01-02T09:00:00+08:00",
    ...     "actor": {"name": "Caster"}, "weight_mg": 4210})["event_type"]
    'TransformationEvent'
    """
    raw = _object(raw, path)
    _no_unknown(raw, _TOP_ALLOWED, path)
    if raw.get("schema") not in (None, RECORD_SCHEMA):
        raise _fail(f"{path}.schema", f"{raw['schema']!r} is not {RECORD_SCHEMA}")
    body: dict[str, Any] = {"schema": RECORD_SCHEMA}
    item = raw.get("item_id")
    if isinstance(item, int) and not isinstance(item, bool):
        item = str(item)
    item = _string(item, path, ".item_id", max_len=128)
    if not ITEM_ID_RE.match(item):
        raise _fail(f"{path}.item_id", f"{item!r} is not an item id (serial, SKU or lab report "
                                       "number: letters, digits and . _ : / # -)")
    body["item_id"] = item
    step = raw.get("biz_step")
    if type(step) is not str or step not in BIZ_STEPS:  # fast path for the exact spelling
        step = _choice(step, path, _BIZ_STEP_NAMES, ".biz_step")
    body["biz_step"] = step
    event_type = raw.get("event_type") or BIZ_STEPS[step]
    if event_type not in EVENT_TYPES:
        raise _fail(f"{path}.event_type", f"{event_type!r} is not one of: {', '.join(EVENT_TYPES)}")
    body["event_type"] = event_type
    body["event_time"] = validate_time(raw.get("event_time"), path, ".event_time")

    actor = _object(raw.get("actor"), path, ".actor")
    _no_unknown(actor, _ACTOR_KEYS, path, ".actor")
    body["actor"] = {"name": _string(actor.get("name"), path, ".actor.name", max_len=120)}
    if actor.get("address") is not None:
        body["actor"]["address"] = validate_address(actor["address"], path, ".actor.address")
    if actor.get("role") is not None:
        body["actor"]["role"] = _string(actor["role"], path, ".actor.role", max_len=60)

    if raw.get("location") is not None:
        loc = raw["location"]
        if isinstance(loc, str):
            loc = {"name": loc}
        loc = _object(loc, path, ".location")
        _no_unknown(loc, _LOCATION_KEYS, path, ".location")
        out = {"name": _string(loc.get("name"), path, ".location.name", max_len=200)}
        if loc.get("address") is not None:
            out["address"] = _string(loc["address"], path, ".location.address", max_len=300)
        if loc.get("country") is not None:
            country = _string(loc["country"], path, ".location.country", max_len=2).upper()
            if not _COUNTRY_RE.fullmatch(country):
                raise _fail(f"{path}.location.country", f"{country!r} is not an ISO 3166 country code")
            out["country"] = country
        if loc.get("gln") is not None:
            gln = str(loc["gln"]) if isinstance(loc["gln"], int) else loc["gln"]
            gln = _string(gln, path, ".location.gln", max_len=13)
            if not _GLN_RE.fullmatch(gln):
                raise _fail(f"{path}.location.gln", f"{gln!r} is not a 13-digit GS1 GLN")
            out["gln"] = gln
        body["location"] = out

    if raw.get("metal") is not None:
        metal = _object(raw["metal"], path, ".metal")
        _no_unknown(metal, _METAL_KEYS, path, ".metal")
        out = {"type": _choice(metal.get("type"), path, METALS, ".metal.type")}
        if metal.get("fineness") is not None:
            out["fineness"] = _integer(metal["fineness"], path, ".metal.fineness", low=1,
                                       high=1000, unit="parts per thousand")
        if metal.get("colour") is not None:
            out["colour"] = _string(metal["colour"], path, ".metal.colour", max_len=40)
        body["metal"] = out
    if raw.get("weight_mg") is not None:
        body["weight_mg"] = _integer(raw["weight_mg"], path, ".weight_mg", low=1,
                                     high=100_000_000, unit="milligrams")
    if raw.get("stones") is not None:
        stones = raw["stones"]
        if not isinstance(stones, list):
            raise _fail(f"{path}.stones", f"expected a list, got {_show(stones)}")
        body["stones"] = [_stone(s, f"{path}.stones[{i}]") for i, s in enumerate(stones)]
    if raw.get("material_source") is not None:
        body["material_source"] = _choice(raw["material_source"], f"{path}.material_source",
                                          MATERIAL_SOURCES)
    if raw.get("compliance") is not None:
        comp = _object(raw["compliance"], path, ".compliance")
        _no_unknown(comp, {"kimberley_process_certificate", "system_of_warranties",
                           "chain_of_custody"}, f"{path}.compliance")
        out = {}
        for key in ("kimberley_process_certificate", "system_of_warranties", "chain_of_custody"):
            if comp.get(key) is not None:
                out[key] = _string(comp[key], f"{path}.compliance.{key}", max_len=500)
        body["compliance"] = out
    if raw.get("attachments") is not None:
        atts = raw["attachments"]
        if not isinstance(atts, list):
            raise _fail(f"{path}.attachments", f"expected a list, got {_show(atts)}")
        body["attachments"] = [_attachment(a, f"{path}.attachments[{i}]") for i, a in enumerate(atts)]
    if raw.get("inputs") is not None:
        inputs = raw["inputs"]
        if not isinstance(inputs, list):
            raise _fail(f"{path}.inputs", f"expected a list of item ids, got {_show(inputs)}")
        body["inputs"] = [_string(x, f"{path}.inputs[{i}]", max_len=128) for i, x in enumerate(inputs)]
    if raw.get("counterparty") is not None:
        party = raw["counterparty"]
        if isinstance(party, str):
            party = {"name": party}
        party = _object(party, path, ".counterparty")
        _no_unknown(party, _PARTY_KEYS, path, ".counterparty")
        out = {"name": _string(party.get("name"), path, ".counterparty.name", max_len=120)}
        if party.get("address") is not None:
            out["address"] = validate_address(party["address"], f"{path}.counterparty.address")
        body["counterparty"] = out
    if step in ("selling", "transferring") and "counterparty" not in body:
        raise _fail(f"{path}.counterparty", f"a {step} event needs the counterparty (buyer or new owner)")
    if raw.get("note") is not None:
        body["note"] = _string(raw["note"], path, ".note", max_len=1000)
    if raw.get("prev") is not None:
        prev = _string(raw["prev"], path, ".prev", max_len=66).lower()
        if not HASH_RE.match(prev):
            raise _fail(f"{path}.prev", f"{prev!r} is not a record hash (0x and 64 hex digits)")
        body["prev"] = prev
    return body


def attachment_for_file(file_path) -> dict[str, Any]:
    """An attachment reference (name, media type, SHA-256, size) for a local file."""
    import hashlib
    import mimetypes
    from pathlib import Path

    path = Path(file_path)
    try:
        digest = hashlib.sha256()
        size = 0
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise InputError(f"attachment {path}: cannot read ({exc.strerror})") from exc
    media = mimetypes.guess_type(path.name)[0]
    if path.suffix.lower() == ".glb":
        media = "model/gltf-binary"
    return {"name": path.name, "media_type": media or "application/octet-stream",
            "sha256": digest.hexdigest(), "size_bytes": size}
