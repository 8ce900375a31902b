"""Provenance operations: record, batch, deploy, anchor, status, history.

Library functions: typed arguments in, dataclasses out; no printing, no environment.
The CLI (cli.py) resolves settings and keys and calls these.
"""

from __future__ import annotations

import fcntl
import json
import math
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lgcraft.errors import ChainError, InputError, OperationError
from lgcraft.provenance import merkle
from lgcraft.provenance.canonical import canonical_bytes_validated, sha256_hex
from lgcraft.provenance.records import ZERO_HASH, validate_event
from lgcraft.provenance.store import STORE_DIR, Batch, Store, find_store, now_iso


# --------------------------------------------------------------------------------------------
# store location
def resolve_store(explicit: str | Path | None, cwd: Path | None = None) -> Path:
    """The store folder: ``explicit`` if given, else ``.lgcraft`` in cwd or a parent."""
    if explicit:
        folder = Path(explicit).expanduser()
        if not (folder / "provenance.sqlite").is_file():
            raise InputError(f"no provenance store in {folder}",
                             hint=f"run 'lgcraft provenance init --store {folder}'")
        return folder
    found = find_store(cwd)
    if found is None:
        here = (cwd or Path.cwd()).resolve()
        raise InputError(f"no provenance store (.lgcraft/) in {here} or its parents",
                         hint="run 'lgcraft provenance init' here, or pass --store DIR")
    return found


@dataclass
class InitResult:
    store: str
    created: bool


def init_store(folder: str | Path | None = None, cwd: Path | None = None) -> InitResult:
    """Create a store in ``folder`` (default ``./.lgcraft``); existing stores are kept."""
    target = Path(folder).expanduser() if folder else (cwd or Path.cwd()) / STORE_DIR
    existed = (target / "provenance.sqlite").is_file()
    Store.create(target).close()
    return InitResult(store=str(target.resolve()), created=not existed)


# --------------------------------------------------------------------------------------------
# recording
def event_key(body: dict[str, Any]) -> str:
    """Identity of an event regardless of its place in the chain (body without prev)."""
    return sha256_hex(canonical_bytes_validated({k: v for k, v in body.items() if k != "prev"}))


@dataclass
class RecordResult:
    item_id: str
    biz_step: str
    event_time: str
    record_hash: str
    prev: str
    actor: str
    seq: int | None
    status: str  # "recorded" or "skipped (already recorded)"


def prepare_body(raw: dict[str, Any], signer_address: str | None, path: str) -> tuple[dict[str, Any], str | None]:
    """Validated body and, for a record its actor signed elsewhere (``lgcraft provenance
    sign``), that signature. Unsigned records get the signer's address as actor."""
    body = validate_event(raw, path=path)
    actor = body["actor"]
    signature = raw.get("signature")
    if signature is not None:
        if not isinstance(signature, str) or not re.fullmatch(r"0x[0-9a-f]{130}", signature):
            raise InputError(f"{path}.signature: not a 65-byte 0x-hex EIP-712 signature")
        if "address" not in actor or "prev" not in body:
            raise InputError(f"{path}: a signed record needs actor.address and prev (as 'sign' writes them)")
        return body, signature
    if signer_address is None:
        raise InputError("no signing key: set LGCRAFT_PRIVATE_KEY or pass --keystore FILE",
                         hint="records that carry their actor's signature need no key")
    if "address" not in actor:
        actor["address"] = signer_address
    elif actor["address"] != signer_address:
        raise InputError(f"{path}.actor.address: {actor['address']} is not the signing key's address "
                         f"{signer_address}; each record is signed by its actor",
                         hint="leave actor.address out, or let that actor sign it with 'lgcraft provenance sign'")
    return body, None


def record_events(store: Store, events: Iterable[dict[str, Any]], signer, *,
                  skip_existing: bool = False, progress: Callable[[int], None] | None = None,
                  ) -> list[RecordResult]:
    """Validate, chain, sign and store events, all or none (one transaction).

    ``events`` are user input dicts (see `validate_event`); ``signer`` a
    `lgcraft.provenance.signing.Signer` (None if every event carries its actor's
    signature from `sign_events`). Raises `InputError` naming the record and field of
    the first problem; nothing is written then.
    """
    from lgcraft.provenance.signing import recover_signer

    address = signer.address if signer is not None else None
    prepared = [prepare_body(raw, address, f"record {i + 1}") for i, raw in enumerate(events)]
    if not prepared:
        raise InputError("no records given")
    results: list[RecordResult] = []
    with store.transaction() as conn:
        last: dict[str, str] = {}
        for i, (body, presigned) in enumerate(prepared):
            item = body["item_id"]
            key = event_key(body)
            existing = store.find_event(item, key)
            if existing is not None:
                if skip_existing:
                    results.append(RecordResult(item, body["biz_step"], body["event_time"], existing,
                                                "", body["actor"]["address"], None,
                                                "skipped (already recorded)"))
                    continue
                raise InputError(f"record {i + 1}: this {body['biz_step']} event of {item} is already "
                                 f"recorded as {existing}", hint="use --skip-existing to rerun a file")
            prev = last.get(item) or store.last_record_hash(item) or ZERO_HASH
            if "prev" in body and body["prev"] != prev:
                raise InputError(f"record {i + 1}.prev: {body['prev']} is not the latest record of "
                                 f"{item} ({prev})", hint="sign it again against the latest record")
            body["prev"] = prev
            body_bytes = canonical_bytes_validated(body)
            record_hash = sha256_hex(body_bytes)
            if presigned is not None:
                recovered = recover_signer(body, record_hash, presigned)
                if recovered != body["actor"]["address"]:
                    raise InputError(f"record {i + 1}.signature: recovers {recovered}, not the actor "
                                     f"{body['actor']['address']} (record changed after signing?)")
                signature = presigned
            else:
                signature = signer.sign_record(body, record_hash)
            salt = secrets.token_bytes(merkle.SALT_BYTES)
            leaf = merkle.leaf_hash(salt, bytes.fromhex(record_hash[2:]), bytes.fromhex(signature[2:]))
            seq = store.insert_record(conn, item_id=item, record_hash=record_hash, event_key=key,
                                      body_json=body_bytes.decode("utf-8"), salt="0x" + salt.hex(),
                                      signature=signature, leaf_hash="0x" + leaf.hex())
            last[item] = record_hash
            results.append(RecordResult(item, body["biz_step"], body["event_time"], record_hash, prev,
                                        body["actor"]["address"], seq, "recorded"))
            if progress:
                progress(1)
    return results


def sign_events(events: Iterable[dict[str, Any]], signer, prevs: dict[str, str] | None = None,
                ) -> list[dict[str, Any]]:
    """Sign events for someone else's store: a grader signs the grading of a piece whose
    latest record hash (``prevs[item]`` or the event's own ``prev``) the maker gave them.
    Returns record bodies with ``signature``, ready for ``record --from`` there."""
    prevs = dict(prevs or {})
    signed = []
    for i, raw in enumerate(events):
        body, presigned = prepare_body(raw, signer.address, f"record {i + 1}")
        if presigned is not None:
            raise InputError(f"record {i + 1}: already signed")
        item = body["item_id"]
        body["prev"] = body.get("prev") or prevs.get(item) or ZERO_HASH
        record_hash = sha256_hex(canonical_bytes_validated(body))
        signed.append({**body, "signature": signer.sign_record(body, record_hash)})
        prevs[item] = record_hash
    if not signed:
        raise InputError("no records given")
    return signed


# --------------------------------------------------------------------------------------------
# network: which chain and contract
@dataclass
class Network:
    kind: str  # "embedded" or "rpc"
    chain_id: int
    contract: str
    rpc_url: str | None = None
    deploy_tx: str | None = None
    deploy_block: int | None = None
    deployer: str | None = None
    deployed_at: str | None = None
    contract_version: int = 2


def stored_network(store: Store) -> Network | None:
    data = store.get_meta("network")
    return Network(**data) if data else None


def open_chain(store_folder: Path, rpc_url: str | None, *, rpc_auth: str | None = None, create: bool = True):
    from lgcraft.provenance import chain

    if rpc_url:
        return chain.open_rpc(rpc_url, auth=rpc_auth)
    return chain.open_embedded(store_folder, create=create)


@contextmanager
def chain_lock(store: Store, timeout: float = 30.0) -> Iterator[None]:
    """One deploy/anchor at a time per store (released by the OS even on kill -9)."""
    path = store.folder / "anchor.lock"
    handle = open(path, "a+")  # noqa: SIM115 - held for the duration
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OperationError(f"another deploy or anchor is running on {store.folder}",
                                         hint="wait for it to finish, then rerun") from None
                time.sleep(0.2)
        yield
    finally:
        handle.close()


@dataclass
class DeployResult:
    chain_id: int
    contract: str
    tx_hash: str | None
    block_number: int | None
    deployer: str
    network: str
    reused: bool


MAX_CONFIRMATIONS = 1000  # hours of blocks on any chain; more is a typo, not caution


CONFIRMATIONS_EXPECTED = f"1..{MAX_CONFIRMATIONS}"
TIMEOUT_EXPECTED = "a positive number of seconds"


def confirmations_ok(confirmations: int) -> bool:
    return 1 <= confirmations <= MAX_CONFIRMATIONS


def timeout_ok(timeout: float) -> bool:
    return math.isfinite(timeout) and timeout > 0


def check_wait(confirmations: int, timeout: float) -> None:
    """Refuse confirmation counts and timeouts no wait could honour (0, negative, NaN, huge)."""
    if not confirmations_ok(confirmations):
        raise InputError(f"confirmations {confirmations}: must be {CONFIRMATIONS_EXPECTED}")
    if not timeout_ok(timeout):
        raise InputError(f"timeout {timeout}: must be {TIMEOUT_EXPECTED}")


def deploy(store: Store, client, signer, *, rpc_url: str | None, confirmations: int = 1,
           timeout: float = 120.0, existing: str | None = None) -> DeployResult:
    """Deploy the anchor contract (or adopt ``existing``) and remember it in the store."""
    check_wait(confirmations, timeout)
    with chain_lock(store):
        return _deploy(store, client, signer, rpc_url=rpc_url, confirmations=confirmations,
                       timeout=timeout, existing=existing)


def _deploy(store: Store, client, signer, *, rpc_url: str | None, confirmations: int,
            timeout: float, existing: str | None) -> DeployResult:
    current = stored_network(store)
    kind = "rpc" if rpc_url else "embedded"
    chain_id = client.chain_id
    if existing:
        from lgcraft.provenance.records import validate_address

        address = validate_address(existing, "--contract")
        version = client.code_version(address)
        if version == 1:
            raise ChainError(f"{address} on chain {chain_id} is the version 1 anchor contract, which lets anyone "
                             "take a root first; new batches need version 2",
                             hint="run 'lgcraft provenance deploy' without --contract to deploy version 2")
        if version != 2:
            raise ChainError(f"{address} on chain {chain_id} is not the lgcraft anchor contract "
                             "(its code differs from AnchorV2.json)")
        net = Network(kind=kind, chain_id=chain_id, contract=address, rpc_url=rpc_url,
                      deployer=None, deployed_at=now_iso())
        with store.transaction() as conn:
            store.set_meta("network", net.__dict__, conn)
        return DeployResult(chain_id, address, None, None, signer.address if signer else "", kind, True)
    if (current and current.chain_id == chain_id and current.kind == kind and current.contract_version == 2
            and client.has_anchor_code(current.contract)):
        return DeployResult(chain_id, current.contract, current.deploy_tx, current.deploy_block,
                            current.deployer or "", kind, True)
    unfinished = store.unfinished_batches()
    if current and unfinished and current.chain_id != chain_id:
        raise InputError(f"{len(unfinished)} batch(es) are still being anchored on chain {current.chain_id}; "
                         f"finish them before switching to chain {chain_id}",
                         hint="run 'lgcraft provenance anchor' against the old chain first")
    pending = store.get_meta("pending_deploy")
    tx = None
    if pending and pending.get("chain_id") == chain_id:
        receipt = client.receipt(pending["tx_hash"])
        if receipt is None:
            client.send_raw(pending["raw"])
        tx_hash = pending["tx_hash"]
    else:
        client.ensure_funds(signer.address)
        tx = client.build_deploy(signer, client.nonce(signer.address))
        with store.transaction() as conn:
            store.set_meta("pending_deploy", {"chain_id": chain_id, "tx_hash": tx.tx_hash, "raw": tx.raw}, conn)
        client.send_raw(tx.raw)
        tx_hash = tx.tx_hash
    receipt = client.wait(tx_hash, confirmations, timeout)
    if receipt.status != 1 or not receipt.contract_address:
        with store.transaction() as conn:
            conn.execute("DELETE FROM meta WHERE key = 'pending_deploy'")
        raise ChainError(f"deploy transaction {tx_hash} failed on chain {chain_id}")
    net = Network(kind=kind, chain_id=chain_id, contract=receipt.contract_address, rpc_url=rpc_url,
                  deploy_tx=tx_hash, deploy_block=receipt.block_number, deployer=signer.address,
                  deployed_at=now_iso())
    with store.transaction() as conn:
        store.set_meta("network", net.__dict__, conn)
        conn.execute("DELETE FROM meta WHERE key = 'pending_deploy'")
    return DeployResult(chain_id, net.contract, tx_hash, receipt.block_number, signer.address, kind, False)


# --------------------------------------------------------------------------------------------
# batching and anchoring
def build_batch(store: Store) -> Batch | None:
    """All pending records -> one batch (status 'built') with their Merkle paths."""
    with store.transaction() as conn:
        pending = store.pending_leaves()
        if not pending:
            return None
        leaves = [bytes.fromhex(h[2:]) for _, h in pending]
        levels = merkle.build_levels(leaves)
        root = "0x" + levels[-1][0].hex()
        cur = conn.execute("INSERT INTO batches (root, leaf_count, status, created_at) VALUES (?, ?, 'built', ?)",
                           (root, len(leaves), now_iso()))
        batch_id = int(cur.lastrowid)
        rows = []
        for index, (seq, _) in enumerate(pending):
            proof = json.dumps(["0x" + s.hex() for s in merkle.proof_for(levels, index)])
            rows.append((batch_id, index, proof, seq))
        conn.executemany("UPDATE records SET batch_id = ?, leaf_index = ?, proof = ? WHERE seq = ?", rows)
    return store.batch(batch_id)


@dataclass
class AnchoredBatch:
    batch_id: int
    root: str
    leaf_count: int
    tx_hash: str | None
    block_number: int | None
    block_time: int | None
    gas_used: int | None
    gas_per_record: float | None
    chain_id: int
    contract: str
    issuer: str
    resumed: bool


@dataclass
class AnchorResult:
    batches: list[AnchoredBatch] = field(default_factory=list)
    pending_left: int = 0
    recheck: RecheckResult | None = None


def anchor_pending(store: Store, client, signer, *, confirmations: int = 1, timeout: float = 120.0,
                   rpc_url: str | None = None, hook: Callable[[str], None] | None = None,
                   finality: int = 64) -> AnchorResult:
    """Anchor every pending record: resume unfinished batches first (never sending a
    root twice), then one new batch -> one transaction.

    ``hook(stage)`` is called at "submitted" (stored, not yet broadcast) and
    "broadcast" (sent, receipt not yet stored); the crash tests use it.
    """
    check_wait(confirmations, timeout)
    with chain_lock(store):
        network = stored_network(store)
        if network is None:
            if rpc_url:
                raise InputError("no anchor contract deployed for this store",
                                 hint="run 'lgcraft provenance deploy --rpc-url URL' first")
            _deploy(store, client, signer, rpc_url=None, confirmations=1, timeout=timeout, existing=None)
            network = stored_network(store)
        client.check_chain_id(network.chain_id)
        found = client.code_version(network.contract)  # one eth_getCode: never anchor into unknown code
        if found != network.contract_version:
            raise ChainError(f"the store's contract {network.contract} on chain {network.chain_id} is not the "
                             f"lgcraft anchor contract version {network.contract_version} (its code differs)",
                             hint="run 'lgcraft provenance deploy' to deploy the anchor contract again")
        if network.contract_version != 2 and not store.unfinished_batches():
            if network.kind == "embedded":  # nothing to ask: install version 2 beside the old contract
                _deploy(store, client, signer, rpc_url=None, confirmations=1, timeout=timeout, existing=None)
                network = stored_network(store)
            else:
                raise InputError(f"this store anchors with the version 1 contract {network.contract}, which lets "
                                 "anyone take a root first; batches anchored there stay valid",
                                 hint="run 'lgcraft provenance deploy' once to deploy version 2, then anchor")
        result = AnchorResult()
        if network.kind == "rpc":  # the embedded chain has one writer and never reorganises
            result.recheck = recheck_batches(store, client, finality=finality)
        for batch in store.unfinished_batches():
            result.batches.append(_anchor_batch(store, client, signer, network, batch, confirmations,
                                                timeout, hook, resumed=True))
        batch = build_batch(store)
        if batch is not None:
            result.batches.append(_anchor_batch(store, client, signer, network, batch, confirmations,
                                                timeout, hook, resumed=False))
        result.pending_left = store.counts()["pending"]
        return result


def _anchor_batch(store: Store, client, signer, network: Network, batch: Batch, confirmations: int,
                  timeout: float, hook, resumed: bool) -> AnchoredBatch:
    tx_hash = batch.tx_hash if batch.status == "submitted" else None
    version = batch.contract_version or network.contract_version
    contract = batch.contract or network.contract
    issuer = batch.issuer or signer.address
    if tx_hash:
        receipt = client.receipt(tx_hash)
        if receipt is None:
            on_chain = client.anchored(contract, issuer, batch.root, version)
            if on_chain.exists:
                return _finish_found(store, client, network, batch, on_chain, resumed)
            try:
                client.send_raw(batch.raw_tx)
            except ChainError as exc:
                if "nonce" not in exc.message.lower():
                    raise
                tx_hash = None  # its nonce went to another transaction: sign a new one
    else:
        on_chain = client.anchored(network.contract, signer.address, batch.root, network.contract_version)
        if on_chain.exists:
            return _finish_found(store, client, network, batch, on_chain, resumed)
    if tx_hash is None:
        version, contract, issuer = network.contract_version, network.contract, signer.address
        client.ensure_funds(signer.address)
        tx = client.build_anchor(signer, network.contract, batch.root, batch.leaf_count,
                                 client.nonce(signer.address))
        with store.transaction() as conn:
            conn.execute("UPDATE batches SET status = 'submitted', tx_hash = ?, raw_tx = ?, nonce = ?, "
                         "chain_id = ?, contract = ?, issuer = ?, submitted_at = ?, contract_version = ? "
                         "WHERE id = ?",
                         (tx.tx_hash, tx.raw, tx.nonce, network.chain_id, network.contract, signer.address,
                          now_iso(), network.contract_version, batch.id))
        if hook:
            hook("submitted")
        client.send_raw(tx.raw)
        tx_hash = tx.tx_hash
        if hook:
            hook("broadcast")
    receipt = client.wait(tx_hash, confirmations, timeout)
    if receipt.status != 1:
        on_chain = client.anchored(contract, issuer, batch.root, version)
        if on_chain.exists:
            return _finish_found(store, client, network, batch, on_chain, resumed)
        raise ChainError(f"anchor transaction {tx_hash} reverted on chain {network.chain_id}",
                         hint="the batch stays pending; check the account's funds and rerun")
    if version >= 2:
        # read our own event back: the root must now be ours, whatever else happened
        events = receipt.anchored_events(contract)
        if not any(e[0].lower() == issuer.lower() and e[1] == batch.root and e[2] == batch.leaf_count
                   for e in events):
            shown = ", ".join(f"{e[1][:12]}... by {e[0]}" for e in events) or "no Anchored event"
            raise ChainError(f"anchor transaction {tx_hash} did not anchor root {batch.root} as {issuer} "
                             f"(its receipt shows {shown}); the batch is not marked anchored",
                             hint="check that the stored contract is lgcraft's ('lgcraft provenance status')")
    block_time = client.block_time(receipt.block_number)
    with store.transaction() as conn:
        conn.execute("UPDATE batches SET status = 'anchored', tx_hash = ?, block_number = ?, block_hash = ?, "
                     "block_time = ?, gas_used = ?, chain_id = ?, contract = ?, issuer = ?, anchored_at = ?, "
                     "contract_version = ?, final = 0 WHERE id = ?",
                     (tx_hash, receipt.block_number, receipt.block_hash, block_time, receipt.gas_used,
                      network.chain_id, contract, issuer, now_iso(), version, batch.id))
    return AnchoredBatch(batch.id, batch.root, batch.leaf_count, tx_hash, receipt.block_number, block_time,
                         receipt.gas_used, round(receipt.gas_used / batch.leaf_count, 2), network.chain_id,
                         contract, issuer, resumed)


def _finish_found(store: Store, client, network: Network, batch: Batch, on_chain, resumed: bool) -> AnchoredBatch:
    """The root is already on chain (an earlier run got that far): record it, send nothing.
    The transaction that did it is our stored one, else found by its event (eth_getLogs)."""
    contract = batch.contract or network.contract
    version = batch.contract_version or network.contract_version
    receipt = client.receipt(batch.tx_hash) if batch.tx_hash else None
    if receipt is not None and receipt.status != 1:
        receipt = None
    if receipt is None and version >= 2:
        found_tx = client.find_anchor_tx(contract, on_chain.issuer, batch.root)
        receipt = client.receipt(found_tx) if found_tx else None
        if receipt is None or receipt.status != 1:
            raise ChainError(f"contract {contract} reports root {batch.root} anchored by {on_chain.issuer}, but no "
                             "transaction emitted its Anchored event; the batch is not marked anchored",
                             hint="check the node (--rpc-url) and the contract ('lgcraft provenance status')")
    tx_hash = receipt.tx_hash if receipt else None
    with store.transaction() as conn:
        conn.execute("UPDATE batches SET status = 'anchored', block_number = ?, block_hash = ?, block_time = ?, "
                     "gas_used = ?, chain_id = ?, contract = ?, issuer = ?, anchored_at = ?, tx_hash = ?, "
                     "contract_version = ?, final = 0 WHERE id = ?",
                     (receipt.block_number if receipt else None, receipt.block_hash if receipt else None,
                      on_chain.block_time, receipt.gas_used if receipt else None, network.chain_id,
                      contract, on_chain.issuer, now_iso(), tx_hash, version, batch.id))
    return AnchoredBatch(batch.id, batch.root, batch.leaf_count, tx_hash,
                         receipt.block_number if receipt else None, on_chain.block_time,
                         receipt.gas_used if receipt else None, None, network.chain_id, contract,
                         on_chain.issuer, resumed)


@dataclass
class RecheckResult:
    checked: int = 0
    finalised: int = 0
    moved: list[int] = field(default_factory=list)  # batch ids re-mined in another block
    reverted: list[dict[str, Any]] = field(default_factory=list)  # batch id, root, records back to pending


def recheck_batches(store: Store, client, *, finality: int = 64) -> RecheckResult:
    """Re-check anchored batches not yet ``finality`` blocks deep: is their block still
    the canonical one? A batch whose block left the chain (a reorganisation) and whose
    transaction is in no other block goes back to pending - its records are anchored
    again by the next ``anchor``. One ``eth_getBlockByNumber`` per batch."""
    result = RecheckResult()
    batches = store.unfinal_batches()
    if not batches:
        return result
    head = client.block_number()
    for batch in batches:
        if batch.block_number is None:
            continue
        result.checked += 1
        block = client.block_hash(batch.block_number)
        if block is not None and block[0] == batch.block_hash:
            if head - batch.block_number + 1 >= finality:
                with store.transaction() as conn:
                    conn.execute("UPDATE batches SET final = 1 WHERE id = ?", (batch.id,))
                result.finalised += 1
            continue
        receipt = client.receipt(batch.tx_hash) if batch.tx_hash else None
        if receipt is not None and receipt.status == 1:
            with store.transaction() as conn:
                conn.execute("UPDATE batches SET block_number = ?, block_hash = ?, block_time = ? WHERE id = ?",
                             (receipt.block_number, receipt.block_hash, client.block_time(receipt.block_number),
                              batch.id))
            result.moved.append(batch.id)
            continue
        with store.transaction() as conn:
            count = store.revert_batch(conn, batch.id)
        result.reverted.append({"batch_id": batch.id, "root": batch.root, "records": count,
                                "block_number": batch.block_number})
    return result


# --------------------------------------------------------------------------------------------
# status and history
@dataclass
class StatusResult:
    store: str
    records: int
    pending: int
    items: int
    batches_anchored: int
    batches_unfinished: int
    network: dict[str, Any] | None
    last_batch: dict[str, Any] | None
    batches_unfinal: int = 0  # anchored, not yet deeper than the finality depth
    recheck: RecheckResult | None = None


def status(store: Store, recheck: RecheckResult | None = None) -> StatusResult:
    """Counts and network of the store; ``recheck`` (from `recheck_batches`, run first
    by the caller when the store anchors on a node) is reported as it is."""
    counts = store.counts()
    batches = store.batches()
    net = stored_network(store)
    net_dict = None
    if net:
        from lgcraft.config import redact_url

        net_dict = {"kind": net.kind, "chain_id": net.chain_id, "contract": net.contract,
                    "contract_version": net.contract_version,
                    "rpc_url": redact_url(net.rpc_url) if net.rpc_url else None}
    last = batches[-1] if batches else None
    return StatusResult(
        store=str(store.folder.resolve()), records=counts["records"], pending=counts["pending"],
        items=counts["items"], batches_anchored=sum(b.status == "anchored" for b in batches),
        batches_unfinished=sum(b.status != "anchored" for b in batches), network=net_dict,
        last_batch=None if last is None else {
            "id": last.id, "root": last.root, "leaf_count": last.leaf_count, "status": last.status,
            "tx_hash": last.tx_hash, "block_number": last.block_number},
        batches_unfinal=len(store.unfinal_batches()), recheck=recheck)


@dataclass
class HistoryEntry:
    seq: int
    event_time: str
    biz_step: str
    actor: str
    actor_address: str
    location: str | None
    summary: str
    record_hash: str
    status: str  # pending / batched / submitted / anchored
    tx_hash: str | None
    block_number: int | None


def summarise(body: dict[str, Any]) -> str:
    parts = []
    metal = body.get("metal")
    if metal:
        parts.append(f"{metal['type']} {metal.get('fineness', '')}".strip())
    if "weight_mg" in body:
        parts.append(f"{body['weight_mg'] / 1000:.3f} g")
    for stone in body.get("stones", []):
        text = stone["type"]
        if "carat_hundredths" in stone:
            text += f" {stone['carat_hundredths'] // 100}.{stone['carat_hundredths'] % 100:02d} ct"
        for key in ("colour", "clarity"):
            if key in stone:
                text += f" {stone[key]}"
        if "report_number" in stone:
            text += f" ({stone.get('lab', '')} {stone['report_number']})"
        parts.append(text)
    if "material_source" in body:
        parts.append(body["material_source"])
    if "counterparty" in body:
        parts.append(f"to {body['counterparty']['name']}")
    if body.get("attachments"):
        parts.append(f"{len(body['attachments'])} attachment(s)")
    return "; ".join(parts)


def history(store: Store, item_id: str) -> list[HistoryEntry]:
    records = store.records_of(item_id)
    if not records:
        raise InputError(f"no records of item {item_id!r} in {store.folder}")
    batches = {b.id: b for b in store.batches()}
    out = []
    for rec in records:
        batch = batches.get(rec.batch_id) if rec.batch_id else None
        state = "pending" if batch is None else ("batched" if batch.status == "built" else batch.status)
        loc = rec.body.get("location")
        out.append(HistoryEntry(rec.seq, rec.body["event_time"], rec.body["biz_step"], rec.body["actor"]["name"],
                                rec.body["actor"]["address"], loc["name"] if loc else None,
                                summarise(rec.body), rec.record_hash, state,
                                batch.tx_hash if batch and batch.status == "anchored" else None,
                                batch.block_number if batch and batch.status == "anchored" else None))
    return out


def read_events_file(path: Path) -> list[dict[str, Any]]:
    """Events from a ``.json`` (one object or a list) or ``.jsonl`` file."""
    from lgcraft.provenance.records import loads_json

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text") from exc
    suffix = Path(path).suffix.lower()
    if suffix == ".jsonl":
        events = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                value = loads_json(line, f"{path}:{number}")
                if not isinstance(value, dict):
                    raise InputError(f"{path}:{number}: expected one JSON object per line")
                events.append(value)
        return events
    if suffix == ".json":
        value = loads_json(text, str(path))
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return value
        raise InputError(f"{path}: expected an event object or a list of them")
    raise InputError(f"{path}: expected a .json or .jsonl file")


