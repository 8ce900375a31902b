"""Proof bundles: export from the store, verify from the bundle, a trust list and the chain.

A bundle (format ``lgcraft-provenance-bundle``, version 2, JSON Schema in
``schema/bundle-v2.schema.json``, documented in docs/provenance.md) holds every
anchored record of one piece with its salt, signature and Merkle path, and the
anchors (chain id, contract and its version, issuer, transaction, block) of their
roots. Version 1 bundles (before the trust model) are still read.

`verify_bundle` returns a `VerifyReport`: per check a name, a result and a sentence,
the organisations that signed and anchored, and a status - valid (0), invalid (1) or
could not check (3). Checks: record hashes (RFC 8785), signatures (EIP-712 recover =
actor), the per-piece hash chain, Merkle paths, signers (the trust list gives each
record's key the role and name the record claims), the label, attachments, and per
root: issuer listed for that chain and contract, contract code (``eth_getCode``),
``anchored(issuer, root)`` (``eth_call``), the transaction's receipt and event, and
the block hash - one call each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from lgcraft.errors import InputError, LgcraftError, UncheckedError, VerificationError
from lgcraft.files import write_atomic, write_text_atomic
from lgcraft.provenance import merkle
from lgcraft.provenance.canonical import canonical_bytes, sha256_hex
from lgcraft.provenance.records import ZERO_HASH
from lgcraft.provenance.signing import DOMAIN
from lgcraft.provenance.store import Store, now_iso
from lgcraft.provenance.strictjson import MAX_BYTES as MAX_BUNDLE_BYTES
from lgcraft.provenance.trust import TrustList

BUNDLE_FORMAT = "lgcraft-provenance-bundle"
BUNDLE_VERSION = 2  # what export writes
READ_VERSIONS = (1, 2)  # what verify reads (version 1: before the trust model, see docs "Migration")
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
SCHEMA_PATH = SCHEMA_DIR / "bundle-v2.schema.json"


class BundleError(InputError):
    """A malformed, truncated or unsupported bundle (exit 2)."""


@cache
def bundle_schema(version: int = BUNDLE_VERSION) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"bundle-v{version}.schema.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
def export_bundle(store: Store, item_id: str) -> tuple[dict[str, Any], int]:
    """The bundle of ``item_id`` (version 2) and the number of its records left out
    (not yet anchored). Records are exported up to the first one not anchored, so the
    bundle is always a prefix of the piece's history."""
    records = store.records_of(item_id)
    if not records:
        raise InputError(f"no records of item {item_id!r} in {store.folder}")
    batches = {b.id: b for b in store.batches("anchored")}
    anchored = []
    for rec in records:
        if rec.batch_id not in batches:
            break
        anchored.append(rec)
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
            "contract": batch.contract, "contract_version": batch.contract_version or 1,
            "issuer": batch.issuer, "tx_hash": batch.tx_hash, "block_number": batch.block_number,
            "block_hash": batch.block_hash, "block_time": batch.block_time,
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
    write_text_atomic(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------------------------
# the label: what a scanner reads from the piece's tag
LABEL_PREFIX = "lgcraft-prov:2"


@dataclass
class Label:
    """The piece a tag was printed for: its id and the latest record then (hash, count)."""

    item_id: str
    head: str
    count: int

    @property
    def payload(self) -> str:
        return f"{LABEL_PREFIX};item={self.item_id};count={self.count};head={self.head}"


def label_of(bundle: dict[str, Any]) -> Label:
    records = bundle["records"]
    return Label(bundle["item_id"], records[-1]["record_hash"], len(records))


def parse_label(payload: str) -> Label:
    """Read a label payload (`Label.payload`); `InputError` naming what is wrong.

    >>> parse_label("lgcraft-prov:2;item=R-1;count=2;head=0x" + "ab" * 32).count
    2
    """
    from lgcraft.provenance.records import HASH_RE, ITEM_ID_RE

    text = payload.strip()
    prefix, _, rest = text.partition(";")
    if prefix != LABEL_PREFIX:
        raise InputError(f"--label {text[:40]!r}: not an lgcraft label (it starts with {LABEL_PREFIX!r})",
                         hint="a label printed before version 2 carries no count: use --item and --head")
    fields: dict[str, str] = {}
    for part in rest.split(";"):
        key, sep, value = part.partition("=")
        if not sep or key in fields:
            raise InputError(f"--label: {part!r} is not a single key=value field")
        fields[key] = value
    if set(fields) != {"item", "count", "head"}:
        raise InputError(f"--label: expected item, count and head, got {', '.join(sorted(fields)) or 'nothing'}")
    if not ITEM_ID_RE.match(fields["item"]):
        raise InputError(f"--label: item {fields['item']!r} is not an item id")
    if not HASH_RE.match(fields["head"]):
        raise InputError(f"--label: head {fields['head']!r} is not a 0x record hash")
    if not fields["count"].isdigit() or not 1 <= int(fields["count"]) <= 1_000_000:
        raise InputError(f"--label: count {fields['count']!r} is not a record count")
    return Label(fields["item"], fields["head"], int(fields["count"]))


def qr_label(bundle: dict[str, Any], path: Path) -> str:
    """A QR code PNG for the retail tag: the label payload (item id, latest record hash
    and count). The full bundle travels separately; `verify --label` binds it to the tag.
    """
    import qrcode

    payload = label_of(bundle).payload
    image = qrcode.make(payload, error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=4)
    write_atomic(path, lambda handle: image.save(handle, format="PNG"))
    return payload


def load_bundle(path: Path) -> dict[str, Any]:
    """Read and schema-check a bundle file; `BundleError` (exit 2) if malformed,
    including duplicate keys, more than `strictjson.MAX_DEPTH` levels or `MAX_BYTES`."""
    from lgcraft.provenance.strictjson import loads_strict

    try:
        size = Path(path).stat().st_size
        if size > MAX_BUNDLE_BYTES:
            raise BundleError(f"bundle {path}: {size} bytes, more than the limit of {MAX_BUNDLE_BYTES} bytes")
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BundleError(f"bundle {path} not found") from None
    except IsADirectoryError:
        raise BundleError(f"bundle {path} is a folder, not a file") from None
    except OSError as exc:
        raise BundleError(f"bundle {path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise BundleError(f"bundle {path}: not UTF-8 JSON") from None
    try:
        data = loads_strict(text, f"bundle {path}", max_bytes=MAX_BUNDLE_BYTES, error=BundleError,
                            describe=_describe_path)
    except BundleError:
        raise
    except ValueError as exc:
        at_end = text.lstrip().startswith("{") and (
            getattr(exc, "pos", 0) >= len(text.rstrip()) or "Unterminated string" in str(exc))
        kind = "truncated (the JSON ends early)" if at_end else "not valid JSON"
        raise BundleError(f"bundle {path}: {kind} ({exc})") from None
    check_bundle_shape(data, str(path))
    return data


def _describe_path(path: str) -> str:
    """``records[2].body.stones[0]`` -> ``record 3 (records[2].body.stones[0])``."""
    if path.startswith("records["):
        number = path[len("records["):].split("]")[0]
        if number.isdigit():
            return f"record {int(number) + 1} ({path})"
    return path


def check_bundle_shape(data: Any, origin: str = "bundle") -> None:
    """Raise `BundleError` naming the first place where ``data`` breaks the bundle
    JSON Schema. A hand-written check of exactly that schema (jsonschema takes ~6 ms
    per bundle, this ~0.05 ms); tests hold the two to the same verdicts."""
    if isinstance(data, dict) and data.get("format") == BUNDLE_FORMAT and (
            data.get("version") not in READ_VERSIONS or type(data.get("version")) is not int):
        raise BundleError(f"{origin}: unsupported bundle version {data.get('version')!r} "
                          f"(this lgcraft reads versions {', '.join(map(str, READ_VERSIONS))})")
    problem = shape_error(data)
    if problem is not None:
        where, message = problem
        raise BundleError(f"{origin}: malformed bundle at {where or 'top level'}: {message}")


_HASH32 = re.compile(r"^0x[0-9a-f]{64}\Z")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}\Z")
_SIGNATURE = re.compile(r"^0x[0-9a-f]{130}\Z")
_TOP = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "merkle": merkle.MERKLE_VERSION,
        "canonicalization": "RFC8785", "hash": "sha-256"}
_TOP_KEYS = frozenset(["format", "version", "merkle", "canonicalization", "hash", "signature", "item_id",
                       "exported_at", "anchors", "records"])
_ANCHOR_V1 = ["root", "leaf_count", "chain_id", "contract", "issuer", "tx_hash", "block_number",
              "block_hash", "block_time"]
_ANCHOR_KEYS = {1: frozenset(_ANCHOR_V1), 2: frozenset([*_ANCHOR_V1, "contract_version"])}
_ANCHOR_REQUIRED = {1: ("root", "leaf_count", "chain_id", "contract", "issuer", "block_time"),
                    2: ("root", "leaf_count", "chain_id", "contract", "contract_version", "issuer", "tx_hash",
                        "block_number", "block_hash", "block_time")}
_EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")


def _is_int(value: Any, minimum: int) -> bool:
    return type(value) is int and value >= minimum


def shape_error(data: Any) -> tuple[str, str] | None:
    """(path, message) of the first violation of bundle-v<version>.schema.json, else None."""
    if not isinstance(data, dict):
        return "", f"{_short(data)} is not of type 'object'"
    for key in ("format", "version", "merkle", "canonicalization", "hash", "signature", "item_id",
                "anchors", "records"):
        if key not in data:
            return "", f"'{key}' is a required property"
    extra = sorted(set(data) - _TOP_KEYS)
    if extra:
        return "", f"additional property {extra[0]!r} is not allowed"
    version = data["version"] if data["version"] in READ_VERSIONS and type(data["version"]) is int else BUNDLE_VERSION
    for key, const in {**_TOP, "version": version}.items():
        if data[key] != const or type(data[key]) is not type(const):
            return key, f"{const!r} was expected"
    sig = data["signature"]
    if not isinstance(sig, dict):
        return "signature", "is not of type 'object'"
    for key in ("scheme", "domain", "primary_type"):
        if key not in sig:
            return "signature", f"'{key}' is a required property"
    if sig["scheme"] != "EIP-712":
        return "signature.scheme", "'EIP-712' was expected"
    if sig["domain"] != DOMAIN:
        return "signature.domain", f"{DOMAIN!r} was expected"
    if sig["primary_type"] != "ProvenanceRecord":
        return "signature.primary_type", "'ProvenanceRecord' was expected"
    if not isinstance(data["item_id"], str) or not data["item_id"]:
        return "item_id", "must be a non-empty string"
    if "exported_at" in data and not isinstance(data["exported_at"], str):
        return "exported_at", "is not of type 'string'"
    anchors = data["anchors"]
    if not isinstance(anchors, list) or not anchors:
        return "anchors", "must be a non-empty array"
    for i, anchor in enumerate(anchors):
        where = f"anchors[{i}]"
        if not isinstance(anchor, dict):
            return where, "is not of type 'object'"
        for key in _ANCHOR_REQUIRED[version]:
            if key not in anchor:
                return where, f"'{key}' is a required property"
        extra = sorted(set(anchor) - _ANCHOR_KEYS[version])
        if extra:
            return where, f"additional property {extra[0]!r} is not allowed"
        checks = [("root", _hash(anchor["root"])), ("leaf_count", _is_int(anchor["leaf_count"], 1)),
                  ("chain_id", _is_int(anchor["chain_id"], 1)), ("contract", _addr(anchor["contract"])),
                  ("issuer", _addr(anchor["issuer"])), ("block_time", _is_int(anchor["block_time"], 0)),
                  ("tx_hash", anchor.get("tx_hash") is None or _hash(anchor["tx_hash"])),
                  ("block_number", anchor.get("block_number") is None or _is_int(anchor["block_number"], 0)),
                  ("block_hash", anchor.get("block_hash") is None or _hash(anchor["block_hash"]))]
        if version >= 2:
            checks += [("contract_version", anchor["contract_version"] in (1, 2)
                        and type(anchor["contract_version"]) is int),
                       ("tx_hash", _hash(anchor["tx_hash"])), ("block_number", _is_int(anchor["block_number"], 0)),
                       ("block_hash", _hash(anchor["block_hash"]))]
        for key, ok in checks:
            if not ok:
                return f"{where}.{key}", f"{_short(anchor[key])} is not a valid {key}"
    records = data["records"]
    if not isinstance(records, list) or not records:
        return "records", "must be a non-empty array"
    for i, rec in enumerate(records):
        where = f"records[{i}]"
        if not isinstance(rec, dict):
            return where, "is not of type 'object'"
        for key in ("body", "record_hash", "salt", "signature", "proof"):
            if key not in rec:
                return where, f"'{key}' is a required property"
        extra = sorted(set(rec) - {"body", "record_hash", "salt", "signature", "proof"})
        if extra:
            return where, f"additional property {extra[0]!r} is not allowed"
        if not _hash(rec["record_hash"]):
            return f"{where}.record_hash", f"{_short(rec['record_hash'])} is not a 0x-prefixed 32-byte hash"
        if not _hash(rec["salt"]):
            return f"{where}.salt", f"{_short(rec['salt'])} is not a 0x-prefixed 32-byte hex salt"
        if not (isinstance(rec["signature"], str) and _SIGNATURE.match(rec["signature"])):
            return f"{where}.signature", f"{_short(rec['signature'])} is not a 65-byte hex signature"
        body = rec["body"]
        if not isinstance(body, dict):
            return f"{where}.body", "is not of type 'object'"
        for key in ("schema", "item_id", "biz_step", "event_type", "event_time", "actor", "prev"):
            if key not in body:
                return f"{where}.body", f"'{key}' is a required property"
        if body["schema"] != "lgcraft-provenance-record/1":
            return f"{where}.body.schema", "'lgcraft-provenance-record/1' was expected"
        for key in ("item_id", "biz_step", "event_time"):
            if not isinstance(body[key], str) or (key == "item_id" and not body[key]):
                return f"{where}.body.{key}", f"{_short(body[key])} is not a valid string"
        if body["event_type"] not in _EVENT_TYPES:
            return f"{where}.body.event_type", f"{_short(body['event_type'])} is not one of {list(_EVENT_TYPES)}"
        actor = body["actor"]
        if not isinstance(actor, dict):
            return f"{where}.body.actor", "is not of type 'object'"
        for key in ("address", "name"):
            if key not in actor:
                return f"{where}.body.actor", f"'{key}' is a required property"
        if not _addr(actor["address"]):
            return f"{where}.body.actor.address", f"{_short(actor['address'])} is not an address"
        if not isinstance(actor["name"], str):
            return f"{where}.body.actor.name", "is not of type 'string'"
        if not _hash(body["prev"]):
            return f"{where}.body.prev", f"{_short(body['prev'])} is not a 0x-prefixed 32-byte hash"
        proof = rec["proof"]
        if not isinstance(proof, dict):
            return f"{where}.proof", "is not of type 'object'"
        for key in ("root", "leaf_index", "leaf_count", "siblings"):
            if key not in proof:
                return f"{where}.proof", f"'{key}' is a required property"
        extra = sorted(set(proof) - {"root", "leaf_index", "leaf_count", "siblings"})
        if extra:
            return f"{where}.proof", f"additional property {extra[0]!r} is not allowed"
        if not _hash(proof["root"]):
            return f"{where}.proof.root", f"{_short(proof['root'])} is not a 0x-prefixed 32-byte hash"
        if not _is_int(proof["leaf_index"], 0):
            return f"{where}.proof.leaf_index", f"{_short(proof['leaf_index'])} is not an integer >= 0"
        if not _is_int(proof["leaf_count"], 1):
            return f"{where}.proof.leaf_count", f"{_short(proof['leaf_count'])} is not an integer >= 1"
        siblings = proof["siblings"]
        if not isinstance(siblings, list) or len(siblings) > 64:
            return f"{where}.proof.siblings", "must be an array of at most 64 hashes"
        for j, sibling in enumerate(siblings):
            if not _hash(sibling):
                return f"{where}.proof.siblings[{j}]", f"{_short(sibling)} is not a 0x-prefixed 32-byte hash"
    return None


def _hash(value: Any) -> bool:
    return isinstance(value, str) and _HASH32.match(value) is not None


def _addr(value: Any) -> bool:
    return isinstance(value, str) and _ADDRESS.match(value) is not None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _label(index: int, body: dict[str, Any]) -> str:
    return f"record {index + 1} ({body.get('biz_step', '?')}, {body.get('event_time', '?')})"


# --------------------------------------------------------------------------------------------
# verification
@dataclass
class Check:
    """One check of a verdict. ``name`` is a stable id (the browser page mirrors them):
    record hash, item, signature, hash chain, merkle proof, signers, label, attachment,
    issuer, contract, anchored, transaction, block. ``ok`` None: not run (offline) or
    could not be run (node down); ``detail`` is one sentence for people."""

    name: str
    ok: bool | None
    detail: str


@dataclass
class AnchorInfo:
    """Who anchored a root, as the verdict shows it."""

    root: str
    chain_id: int
    contract: str
    contract_version: int
    issuer: str
    organisation: str | None  # from the trust list; None: not listed for this chain
    tx_hash: str | None
    block_number: int | None
    block_time: int


@dataclass
class SignerInfo:
    """Who signed a record: the recovered address and the organisation the trust list gives it."""

    record: int  # 1-based
    biz_step: str
    actor: str
    address: str | None  # None: the signature does not recover
    organisation: str | None
    roles: list[str]
    ok: bool


VALID, INVALID, UNCHECKED = "valid", "invalid", "unchecked"
EXIT_CODES = {VALID: 0, INVALID: 1, UNCHECKED: 3}


@dataclass
class VerifyReport:
    """The verdict on a bundle. ``status``: valid (exit 0: every check ran and passed,
    against the trust list), invalid (exit 1: a check failed, named in ``failures``),
    unchecked (exit 3: nothing failed but some check could not run: offline, node
    down, wrong node; listed in ``unchecked``). Never VALID without a trust list."""

    valid: bool
    item_id: str
    records: int
    roots: int
    status: str = VALID
    exit_code: int = 0
    bundle_version: int = BUNDLE_VERSION
    checks: list[Check] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    anchors: list[AnchorInfo] = field(default_factory=list)
    signers: list[SignerInfo] = field(default_factory=list)
    head: dict[str, Any] = field(default_factory=dict)
    chain_checked: bool = False
    trust_list: str | None = None
    issuers: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One line: the verdict, the piece and who anchored it."""
        who = "; ".join(f"anchored by {a.issuer} ({a.organisation or 'not in the trust list'}) on chain "
                        f"{a.chain_id}" for a in self.anchors)
        word = {VALID: "VALID", INVALID: "NOT VALID", UNCHECKED: "NOT CHECKED"}[self.status]
        return f"{word}: {self.item_id}, {self.records} record(s); {who}"


class ChainReader:
    """What verify reads from one chain (see `lgcraft.provenance.chain.ChainClient`):
    ``code_version``, ``anchored``, ``receipt``, ``block_hash``. Each raises
    `lgcraft.errors.ChainError` when it cannot answer (a could-not-check, never a fail)."""


def verify_bundle(bundle: dict[str, Any], *, trust: TrustList | None,
                  chain: Callable[[int], Any] | None = None, files: dict[str, str] | None = None,
                  label: Label | None = None, expect_item: str | None = None, expect_head: str | None = None,
                  issuers: list[str] | None = None) -> VerifyReport:
    """Verify a schema-checked bundle against a trust list.

    ``chain(chain_id)`` returns a `ChainReader` for that chain (it raises `ChainError`
    if there is none); None verifies offline, which can give UNCHECKED at best.
    ``files`` maps a file name to its SHA-256 hex: each must be an attachment.
    ``label`` (or ``expect_item``/``expect_head``) binds the bundle to a tag.
    ``issuers`` narrows the trust list's anchoring issuers further.
    Never raises for a failed check: the report lists them.

    >>> report = verify_bundle(bundle, trust=load_trust("shop-trust.toml"), chain=readers)  # doctest: +SKIP
    >>> report.status, report.exit_code, [c.name for c in report.checks if c.ok is False]  # doctest: +SKIP
    ('valid', 0, [])
    """
    from lgcraft.provenance.signing import recover_signer
    from lgcraft.provenance.trust import DEV_CHAIN_IDS, STEP_ROLES, claimed_roles

    records = bundle["records"]
    item = bundle["item_id"]
    report = VerifyReport(valid=False, item_id=item, records=len(records), roots=len(bundle["anchors"]),
                          bundle_version=bundle["version"],
                          trust_list=trust.origin if trust is not None else None)
    results: dict[str, bool | None] = {}

    def fail(check: str, message: str) -> None:
        report.failures.append(f"{check}: {message}")
        results[check] = False

    def cannot(check: str, message: str) -> None:
        report.unchecked.append(f"{check}: {message}")
        if results.get(check) is not False:
            results[check] = None

    for name in ("record hash", "item", "signature", "hash chain", "merkle proof"):
        results[name] = True
    anchors = {a["root"]: a for a in bundle["anchors"]}
    prev_hash = ZERO_HASH
    recovered: list[str | None] = []
    for i, rec in enumerate(records):
        body = rec["body"]
        label_text = _label(i, body)
        signer = None
        # 1. record hash
        try:
            computed = sha256_hex(canonical_bytes(body))
        except InputError as exc:
            fail("record hash", f"{label_text}: {exc.message}")
            recovered.append(None)
            continue
        if computed != rec["record_hash"]:
            fail("record hash", f"{label_text}: contents hash to {computed}, bundle says {rec['record_hash']} "
                                "(a field of this record was changed)")
        if body.get("item_id") != item:
            fail("item", f"{label_text}: item_id {body.get('item_id')!r} is not the bundle's item {item!r}")
        # 2. signature
        actor = body.get("actor", {}).get("address")
        try:
            signer = recover_signer(body, rec["record_hash"], rec["signature"])
            if signer != actor:
                fail("signature", f"{label_text}: signed by {signer}, but actor.address is {actor}")
        except (InputError, KeyError, TypeError, ValueError) as exc:
            fail("signature", f"{label_text}: {getattr(exc, 'message', exc)}")
            signer = None
        recovered.append(signer)
        # 3. hash chain
        if body.get("prev") != prev_hash:
            expected = "none (first record)" if prev_hash == ZERO_HASH else prev_hash
            fail("hash chain", f"{label_text}: prev is {body.get('prev')}, expected {expected}")
        prev_hash = rec["record_hash"]
        # 4. Merkle path
        proof = rec["proof"]
        try:
            leaf = merkle.leaf_hash(bytes.fromhex(rec["salt"][2:]), bytes.fromhex(rec["record_hash"][2:]),
                                    bytes.fromhex(rec["signature"][2:]))
            root = merkle.root_from_proof(leaf, proof["leaf_index"], proof["leaf_count"],
                                          [bytes.fromhex(s[2:]) for s in proof["siblings"]])
        except (merkle.MerkleError, ValueError) as exc:
            fail("merkle proof", f"{label_text}: {exc}")
            continue
        if "0x" + root.hex() != proof["root"]:
            fail("merkle proof", f"{label_text}: path leads to 0x{root.hex()}, not to root {proof['root']}")
        anchor = anchors.get(proof["root"])
        if anchor is None:
            fail("merkle proof", f"{label_text}: root {proof['root']} has no entry in anchors")
        elif anchor["leaf_count"] != proof["leaf_count"]:
            fail("merkle proof", f"{label_text}: proof says {proof['leaf_count']} leaves, anchor says "
                                 f"{anchor['leaf_count']}")
    last = records[-1]
    report.head = {"record_hash": last["record_hash"], "count": len(records),
                   "biz_step": last["body"].get("biz_step"), "event_time": last["body"].get("event_time")}
    details = {
        "record hash": f"{len(records)} records recomputed (RFC 8785, SHA-256)",
        "item": f"every record is about {item}",
        "signature": "every EIP-712 signature recovers the address its record names",
        "hash chain": "each record names the previous record of the piece",
        "merkle proof": f"every path leads to its root ({merkle.MERKLE_VERSION})",
    }

    # 5. signers: each record's key is listed for the role and name the record claims
    results["signers"] = True
    if trust is None:
        fail("signers", "no trust list: nobody's signature can be trusted (pass --trust FILE)")
    for i, (rec, signer) in enumerate(zip(records, recovered, strict=True)):
        body = rec["body"]
        actor_name = str((body.get("actor") or {}).get("name", ""))
        org = trust.signer(signer) if trust is not None and signer else None
        ok = org is not None
        if trust is not None and signer is not None:
            label_text = _label(i, body)
            if org is None:
                fail("signers", f"{label_text}: signed by {signer} (unknown): no organisation in the trust "
                                "list has this key")
            else:
                problems = [f"{why} needs {' or '.join(roles)}" for why, roles in claimed_roles(body)
                            if not set(roles) & set(org.roles)]
                if body.get("biz_step") not in STEP_ROLES:
                    problems.append(f"its step {body.get('biz_step')!r} is not one lgcraft knows")
                if not org.answers_to(actor_name):
                    problems.append(f"it names {actor_name!r}")
                chain_id = anchors.get(rec["proof"]["root"], {}).get("chain_id")
                if org.dev and chain_id not in DEV_CHAIN_IDS:
                    problems.append(f"a public development key counts only on development chains, this is "
                                    f"chain {chain_id}")
                if problems:
                    fail("signers", f"{label_text}: signed by {signer} of {org.name} "
                                    f"({', '.join(org.roles) or 'no roles'}), but {'; '.join(problems)}")
                    ok = False
        report.signers.append(SignerInfo(i + 1, str(body.get("biz_step")), actor_name, signer,
                                         org.name if org else None, list(org.roles) if org else [], ok))
    known = sum(s.organisation is not None for s in report.signers)
    details["signers"] = (f"{known} of {len(records)} records signed by keys the trust list gives the role "
                          "and name they claim" if trust is not None else "no trust list")

    # 6. the label: the bundle is this piece's and reaches the head printed on its tag
    if label is not None:
        expect_item, expect_head = expect_item or label.item_id, expect_head or label.head
    if expect_item is not None or expect_head is not None:
        results["label"] = True
        if expect_item is not None and expect_item != item:
            fail("label", f"the bundle is for {item}, the label for {expect_item}")
        if expect_head is not None:
            position = next((i for i, r in enumerate(records) if r["record_hash"] == expect_head), None)
            if position is None:
                fail("label", f"the bundle's {len(records)} record(s) stop before the label's latest record "
                              f"{expect_head} (records were left out, or it is another piece)")
            elif label is not None and position + 1 != label.count:
                fail("label", f"the label's latest record is record {label.count}, in the bundle it is "
                              f"record {position + 1}")
        details["label"] = f"the bundle is for {expect_item or item} and reaches the label's latest record"

    # 7. attachments the verifier holds
    if files:
        attached = {a.get("sha256") for rec in records for a in rec["body"].get("attachments", [])
                    if isinstance(a, dict)}
        results["attachment"] = True
        for name, digest in files.items():
            if digest not in attached:
                fail("attachment", f"file {name} (sha256 {digest}) is not attached to any record of {item}")
        details["attachment"] = f"{len(files)} file(s) match attachment hashes"

    # 8. anchors: issuer listed for that chain and contract, then the chain itself
    wanted = {t.lower() for t in issuers or []}
    for name in ("issuer", "contract", "anchored", "transaction", "block"):
        results[name] = True
    for anchor in bundle["anchors"]:
        version = anchor.get("contract_version", 1)
        entries = trust.anchorers(anchor["chain_id"], anchor["issuer"]) if trust is not None else []
        org_name = entries[0][0].name if entries else None
        report.anchors.append(AnchorInfo(anchor["root"], anchor["chain_id"], anchor["contract"], version,
                                         anchor["issuer"], org_name, anchor.get("tx_hash"),
                                         anchor.get("block_number"), anchor["block_time"]))
        report.issuers.append(anchor["issuer"])
        where = f"root {anchor['root']} (chain {anchor['chain_id']}, contract {anchor['contract']})"
        if trust is not None and not entries:
            fail("issuer", f"{where} was anchored by {anchor['issuer']}, which no organisation in the trust list "
                           f"may anchor with on chain {anchor['chain_id']}")
        if wanted and anchor["issuer"].lower() not in wanted:
            fail("issuer", f"{where} was anchored by {anchor['issuer']}, not by a --issuer given")
        pinned = [e for _, e in entries if e.contract is not None]
        open_entries = [e for _, e in entries if e.contract is None]
        contract_pinned = any(e.contract.lower() == anchor["contract"].lower() for e in pinned)
        if entries and not contract_pinned and not open_entries:
            fail("contract", f"{where}: the trust list lets {anchor['issuer']} anchor only with "
                             f"{', '.join(e.contract for e in pinned)}")
        if chain is None:
            continue
        report.chain_checked = True
        try:
            reader = chain(anchor["chain_id"])
            # even a pinned contract's code is read: it tells which interface to ask, so a
            # bundle claiming the other version fails here instead of as a failed call
            found_version = reader.code_version(anchor["contract"])
            if found_version is None:
                fail("contract", f"{where}: the code at {anchor['contract']} is not an lgcraft anchor contract "
                                 "(eth_getCode differs from every published artifact)"
                                 + ("" if contract_pinned else " and the trust list does not name it"))
                continue
            if found_version != version:
                fail("contract", f"{where}: the contract is version {found_version}, the bundle says {version}")
                continue
            _check_on_chain(reader, anchor, version, where, fail)
        except InputError:
            raise  # a bad --rpc-url is the verifier's input, not a fault of the bundle
        except LgcraftError as exc:  # ChainError: node down, timeout, wrong chain, nodes disagree
            for name in ("contract", "anchored", "transaction", "block"):
                cannot(name, f"{where}: {exc.message}")
    if trust is not None:
        listed = [f"{a.issuer} ({a.organisation})" for a in report.anchors if a.organisation]
        details["issuer"] = ("anchored by " + ", ".join(listed) if listed
                             else "no anchoring issuer is in the trust list")
    else:
        details["issuer"] = "no trust list"
    if chain is None:
        for name in ("contract", "anchored", "transaction", "block"):
            if results.get(name) is True:
                results[name] = None
        report.unchecked.append("chain: offline, roots not read from the chain")
        details.update({n: "offline: not read from the chain" for n in ("contract", "anchored", "transaction", "block")})
    else:
        details.update({
            "contract": "the contract runs lgcraft's published code of the bundle's version (eth_getCode) and is "
                        "the one the trust list pins, if it pins one",
            "anchored": "each root is anchored by its issuer with the bundle's leaf count and time (eth_call)",
            "transaction": "each anchoring transaction's receipt holds the block and the Anchored event",
            "block": "each anchoring block is still on the canonical chain (block hash)",
        })
    for name, ok in results.items():
        detail = details.get(name, "")
        if ok is False:
            detail = next(f.split(": ", 1)[1] for f in report.failures if f.startswith(name + ":"))
        elif ok is None:
            detail = next((u.split(": ", 1)[1] for u in report.unchecked if u.startswith(name + ":")), detail)
        report.checks.append(Check(name, ok, detail))
    report.status = INVALID if report.failures else (UNCHECKED if report.unchecked else VALID)
    report.exit_code = EXIT_CODES[report.status]
    report.valid = report.status == VALID
    return report


def _check_on_chain(reader: Any, anchor: dict[str, Any], version: int, where: str,
                    fail: Callable[[str, str], None]) -> None:
    """The root, its transaction and its block, one call each."""
    found = reader.anchored(anchor["contract"], anchor["issuer"], anchor["root"], version)
    if not found.exists:
        fail("anchored", f"{where} is not anchored by {anchor['issuer']}")
        return
    if found.issuer.lower() != anchor["issuer"].lower():
        fail("anchored", f"{where} was anchored by {found.issuer}, bundle says {anchor['issuer']}")
    if found.leaf_count != anchor["leaf_count"]:
        fail("anchored", f"{where}: chain says {found.leaf_count} leaves, bundle says {anchor['leaf_count']}")
    if found.block_time != anchor["block_time"]:
        fail("anchored", f"{where}: anchored at block time {found.block_time}, bundle says {anchor['block_time']}")
    tx_hash = anchor.get("tx_hash")
    if not tx_hash:
        fail("transaction", f"{where}: the bundle names no anchoring transaction")
        return
    receipt = reader.receipt(tx_hash)
    if receipt is None:
        fail("transaction", f"{where}: transaction {tx_hash} is not on the chain")
        return
    problems = []
    if receipt.status != 1:
        problems.append("it reverted")
    if (receipt.to or "").lower() != anchor["contract"].lower():
        problems.append(f"it called {receipt.to}, not the contract")
    if (receipt.sender or "").lower() != anchor["issuer"].lower():
        problems.append(f"it was sent by {receipt.sender}, not the issuer")
    if receipt.block_number != anchor.get("block_number") or receipt.block_hash != anchor.get("block_hash"):
        problems.append(f"it is in block {receipt.block_number} ({receipt.block_hash}), the bundle says "
                        f"{anchor.get('block_number')} ({anchor.get('block_hash')})")
    if version >= 2 and not any(issuer.lower() == anchor["issuer"].lower() and root == anchor["root"]
                                and count == anchor["leaf_count"]
                                for issuer, root, count, _ in receipt.anchored_events(anchor["contract"])):
        problems.append("its receipt has no Anchored event of this issuer and root")
    if problems:
        fail("transaction", f"{where}: transaction {tx_hash}: " + "; ".join(problems))
        return
    block = reader.block_hash(receipt.block_number)
    if block is None or block[0] != receipt.block_hash:
        fail("block", f"{where}: block {receipt.block_number} ({receipt.block_hash}) is no longer on the chain "
                      "(reorganised)")
    elif block[1] != anchor["block_time"]:
        fail("block", f"{where}: block {receipt.block_number} has time {block[1]}, the bundle says "
                      f"{anchor['block_time']}")


def raise_if_not_valid(report: VerifyReport) -> None:
    """`VerificationError` (exit 1) naming the first failure, or `UncheckedError`
    (exit 3) naming what could not be checked; nothing for a VALID report."""
    if report.status == INVALID:
        first = report.failures[0]
        more = f" (and {len(report.failures) - 1} more)" if len(report.failures) > 1 else ""
        raise VerificationError(f"bundle of {report.item_id} is NOT valid: {first}{more}",
                                hint=_hint_for(report))
    if report.status == UNCHECKED:
        first = report.unchecked[0]
        more = f" (and {len(report.unchecked) - 1} more)" if len(report.unchecked) > 1 else ""
        raise UncheckedError(f"bundle of {report.item_id} could not be checked: {first}{more}",
                             hint="nothing failed, but this is not a VALID; check again with a reachable node "
                                  "(--rpc-url) and without --offline")


raise_if_invalid = raise_if_not_valid


def _hint_for(report: VerifyReport) -> str | None:
    if report.trust_list is None and any(f.startswith("signers: no trust list") for f in report.failures):
        return ("verify trusts only what a trust list names: pass --trust FILE or set [provenance] trust "
                "(lgcraft provenance trust add ...)")
    return None
