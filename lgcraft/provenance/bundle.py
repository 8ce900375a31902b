"""Proof bundles: export from the store, verify from the bundle alone plus the chain.

A bundle (format ``lgcraft-provenance-bundle``, version 1, JSON Schema in
``schema/bundle-v1.schema.json``, documented in docs/provenance.md) holds every
anchored record of one piece with its salt, signature and Merkle path, and the
anchors (chain id, contract, transaction, block, issuer) of their roots.

`verify_bundle` checks, in order, and names the first thing that does not match in
each check: record hashes (RFC 8785), signatures (EIP-712 recover = actor), the
per-piece hash chain, Merkle paths to their roots, and - unless offline - each root on
chain with one ``eth_call`` (anchored, leaf count, issuer, trusted issuer, chain id).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from lgcraft.errors import InputError, VerificationError
from lgcraft.provenance import merkle
from lgcraft.provenance.canonical import canonical_bytes, sha256_hex
from lgcraft.provenance.records import ZERO_HASH
from lgcraft.provenance.signing import DOMAIN
from lgcraft.provenance.store import Store, now_iso

BUNDLE_FORMAT = "lgcraft-provenance-bundle"
BUNDLE_VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "bundle-v1.schema.json"


class BundleError(InputError):
    """A malformed, truncated or unsupported bundle (exit 2)."""


@cache
def bundle_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
def export_bundle(store: Store, item_id: str) -> tuple[dict[str, Any], int]:
    """The bundle of ``item_id`` and the number of its records left out (not yet anchored)."""
    records = store.records_of(item_id)
    if not records:
        raise InputError(f"no records of item {item_id!r} in {store.folder}")
    batches = {b.id: b for b in store.batches("anchored")}
    anchored = [r for r in records if r.batch_id in batches]
    left_out = len(records) - len(anchored)
    if not anchored:
        raise InputError(f"none of the {len(records)} records of {item_id} is anchored yet",
                         hint="run 'lgcraft provenance anchor' first")
    anchors: dict[str, dict[str, Any]] = {}
    out_records = []
    for rec in anchored:
        batch = batches[rec.batch_id]
        anchors.setdefault(batch.root, {
            "root": batch.root, "leaf_count": batch.leaf_count, "chain_id": batch.chain_id,
            "contract": batch.contract, "issuer": batch.issuer, "tx_hash": batch.tx_hash,
            "block_number": batch.block_number, "block_hash": batch.block_hash,
            "block_time": batch.block_time,
        })
        out_records.append({
            "body": rec.body, "record_hash": rec.record_hash, "salt": rec.salt,
            "signature": rec.signature,
            "proof": {"root": batch.root, "leaf_index": rec.leaf_index, "leaf_count": batch.leaf_count,
                      "siblings": rec.proof or []},
        })
    bundle = {
        "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "merkle": merkle.MERKLE_VERSION,
        "canonicalization": "RFC8785", "hash": "sha-256",
        "signature": {"scheme": "EIP-712", "domain": DOMAIN, "primary_type": "ProvenanceRecord"},
        "item_id": item_id, "exported_at": now_iso(),
        "anchors": list(anchors.values()), "records": out_records,
    }
    return bundle, left_out


def write_json_atomic(path: Path, data: Any) -> None:
    import os

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc


def qr_label(bundle: dict[str, Any], path: Path) -> str:
    """A QR code PNG for the retail tag: item id, last record hash and root(s).

    The payload is short enough for a small tag; the full bundle travels separately.
    """
    import qrcode

    last = bundle["records"][-1]
    payload = "lgcraft-prov:1;" + ";".join([
        f"item={bundle['item_id']}", f"record={last['record_hash']}", f"root={last['proof']['root']}",
        f"chain={bundle['anchors'][-1]['chain_id']}",
    ])
    image = qrcode.make(payload, error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=4)
    tmp = Path(path).with_name(f".{Path(path).name}.tmp")
    try:
        image.save(tmp, format="PNG")
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc
    return payload


# --------------------------------------------------------------------------------------------
@dataclass
class Check:
    name: str
    ok: bool | None  # None: skipped
    detail: str


@dataclass
class VerifyReport:
    valid: bool
    item_id: str
    records: int
    roots: int
    checks: list[Check] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    chain_checked: bool = False
    issuers: list[str] = field(default_factory=list)


def load_bundle(path: Path) -> dict[str, Any]:
    """Read and schema-check a bundle file; `BundleError` (exit 2) if malformed."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BundleError(f"bundle {path} not found") from None
    except OSError as exc:
        raise BundleError(f"bundle {path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise BundleError(f"bundle {path}: not UTF-8 JSON") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        at_end = text.lstrip().startswith("{") and (
            getattr(exc, "pos", 0) >= len(text.rstrip()) or "Unterminated string" in str(exc))
        kind = "truncated (the JSON ends early)" if at_end else "not valid JSON"
        raise BundleError(f"bundle {path}: {kind} ({exc})") from None
    check_bundle_shape(data, str(path))
    return data


def check_bundle_shape(data: Any, origin: str = "bundle") -> None:
    import jsonschema

    if isinstance(data, dict) and data.get("format") == BUNDLE_FORMAT and data.get("version") != BUNDLE_VERSION:
        raise BundleError(f"{origin}: unsupported bundle version {data.get('version')!r} "
                          f"(this lgcraft reads version {BUNDLE_VERSION})")
    validator = jsonschema.Draft202012Validator(bundle_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise BundleError(f"{origin}: malformed bundle at {where.lstrip('.') or 'top level'}: {error.message}")


def _label(index: int, body: dict[str, Any]) -> str:
    return f"record {index + 1} ({body.get('biz_step', '?')}, {body.get('event_time', '?')})"


def verify_bundle(bundle: dict[str, Any], *, read_anchor: Callable[[dict[str, Any]], Any] | None = None,
                  trusted_issuers: list[str] | None = None) -> VerifyReport:
    """Verify a schema-checked bundle. ``read_anchor(anchor)`` returns what the chain
    holds for that anchor's root (a `lgcraft.provenance.chain.AnchorRecord`) after
    checking the chain id, or raises; None verifies offline (roots not checked on chain).
    Never raises for a failed check: the report lists them.
    """
    from lgcraft.provenance.signing import recover_signer

    records = bundle["records"]
    item = bundle["item_id"]
    report = VerifyReport(valid=True, item_id=item, records=len(records), roots=len(bundle["anchors"]))

    def fail(check: str, message: str) -> None:
        report.failures.append(f"{check}: {message}")

    anchors = {a["root"]: a for a in bundle["anchors"]}
    prev_hash = ZERO_HASH
    leaves_ok = sig_ok = chain_ok = paths_ok = True
    for i, rec in enumerate(records):
        body = rec["body"]
        label = _label(i, body)
        # 1. record hash
        try:
            computed = sha256_hex(canonical_bytes(body))
        except InputError as exc:
            fail("record hash", f"{label}: {exc.message}")
            leaves_ok = False
            continue
        if computed != rec["record_hash"]:
            fail("record hash", f"{label}: contents hash to {computed}, bundle says {rec['record_hash']} "
                                "(a field of this record was changed)")
            leaves_ok = False
        if body.get("item_id") != item:
            fail("item", f"{label}: item_id {body.get('item_id')!r} is not the bundle's item {item!r}")
            leaves_ok = False
        # 2. signature
        actor = body.get("actor", {}).get("address")
        try:
            signer = recover_signer(body, rec["record_hash"], rec["signature"])
            if signer != actor:
                fail("signature", f"{label}: signed by {signer}, but actor.address is {actor}")
                sig_ok = False
        except (InputError, KeyError, TypeError, ValueError) as exc:
            fail("signature", f"{label}: {getattr(exc, 'message', exc)}")
            sig_ok = False
        # 3. hash chain
        if body.get("prev") != prev_hash:
            expected = "none (first record)" if prev_hash == ZERO_HASH else prev_hash
            fail("hash chain", f"{label}: prev is {body.get('prev')}, expected {expected}")
            chain_ok = False
        prev_hash = rec["record_hash"]
        # 4. Merkle path
        proof = rec["proof"]
        try:
            leaf = merkle.leaf_hash(bytes.fromhex(rec["salt"][2:]), bytes.fromhex(rec["record_hash"][2:]),
                                    bytes.fromhex(rec["signature"][2:]))
            root = merkle.root_from_proof(leaf, proof["leaf_index"], proof["leaf_count"],
                                          [bytes.fromhex(s[2:]) for s in proof["siblings"]])
        except (merkle.MerkleError, ValueError) as exc:
            fail("merkle proof", f"{label}: {exc}")
            paths_ok = False
            continue
        if "0x" + root.hex() != proof["root"]:
            fail("merkle proof", f"{label}: path leads to 0x{root.hex()}, not to root {proof['root']}")
            paths_ok = False
        anchor = anchors.get(proof["root"])
        if anchor is None:
            fail("merkle proof", f"{label}: root {proof['root']} has no entry in anchors")
            paths_ok = False
        elif anchor["leaf_count"] != proof["leaf_count"]:
            fail("merkle proof", f"{label}: proof says {proof['leaf_count']} leaves, anchor says "
                                 f"{anchor['leaf_count']}")
            paths_ok = False
    report.checks += [
        Check("record hash", leaves_ok, f"{len(records)} records recomputed (RFC 8785, SHA-256)"),
        Check("signature", sig_ok, "every EIP-712 signature recovers its actor"),
        Check("hash chain", chain_ok, "each record names the previous record of the piece"),
        Check("merkle proof", paths_ok, f"every path leads to its root ({merkle.MERKLE_VERSION})"),
    ]
    # 5. chain
    trusted = {t.lower() for t in trusted_issuers or []}
    if read_anchor is None:
        report.checks.append(Check("on chain", None, "offline: roots not read from the chain"))
    else:
        report.chain_checked = True
        on_chain_ok = True
        for anchor in bundle["anchors"]:
            root = anchor["root"]
            where = f"root {root} on chain {anchor['chain_id']} contract {anchor['contract']}"
            try:
                found = read_anchor(anchor)
            except Exception as exc:  # ChainError with a precise message (wrong chain, unreachable)
                if type(exc).__name__ == "ChainError" and "wrong chain" not in str(exc):
                    raise
                fail("on chain", f"{where}: {exc}")
                on_chain_ok = False
                continue
            if not found.exists:
                fail("on chain", f"{where} is not anchored")
                on_chain_ok = False
                continue
            if found.leaf_count != anchor["leaf_count"]:
                fail("on chain", f"{where}: chain says {found.leaf_count} leaves, bundle says {anchor['leaf_count']}")
                on_chain_ok = False
            if found.issuer.lower() != str(anchor.get("issuer", "")).lower():
                fail("issuer", f"{where} was anchored by {found.issuer}, bundle says {anchor.get('issuer')}")
                on_chain_ok = False
            if anchor.get("block_time") is not None and found.block_time != anchor["block_time"]:
                fail("on chain", f"{where}: anchored at block time {found.block_time}, bundle says "
                                 f"{anchor['block_time']}")
                on_chain_ok = False
            if trusted and found.issuer.lower() not in trusted:
                fail("trusted issuer", f"{where} was anchored by {found.issuer}, which is not a trusted issuer")
                on_chain_ok = False
            report.issuers.append(found.issuer)
        report.checks.append(Check("on chain", on_chain_ok, f"{len(bundle['anchors'])} root(s) read with eth_call"))
        if trusted:
            report.checks.append(Check("trusted issuer", not any(f.startswith("trusted issuer") for f in report.failures),
                                       "roots anchored by a trusted issuer"))
        else:
            report.checks.append(Check("trusted issuer", None, "no --issuer given: issuer not checked against a trust list"))
    report.valid = not report.failures
    return report


def raise_if_invalid(report: VerifyReport) -> None:
    if not report.valid:
        first = report.failures[0]
        more = f" (and {len(report.failures) - 1} more)" if len(report.failures) > 1 else ""
        raise VerificationError(f"bundle of {report.item_id} is NOT valid: {first}{more}")
