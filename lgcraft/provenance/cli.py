"""`lgcraft provenance`: signed records, Merkle batches anchored on an EVM chain."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import typer

from lgcraft.context import app_context
from lgcraft.errors import ChainError, InputError

app = typer.Typer(
    help=(
        "Jewelry provenance: signed records, chain-anchored batches, proof bundles.\n\n"
        "Example: lgcraft provenance init && lgcraft provenance record --from events.jsonl"
    ),
    no_args_is_help=True,
)

STORE_OPT = typer.Option(None, "--store", metavar="DIR",
                         help="Store folder (default: .lgcraft/ in this folder or a parent; "
                              "config [provenance] store).")
RPC_OPT = typer.Option(None, "--rpc-url", metavar="URL",
                       help="EVM JSON-RPC node (default: the one remembered at deploy, else the "
                            "embedded dev chain; config [provenance] rpc_url).")
KEYSTORE_OPT = typer.Option(None, "--keystore", metavar="FILE",
                            help="Encrypted keystore file (password from LGCRAFT_KEYSTORE_PASSWORD "
                                 "or a prompt). Default: LGCRAFT_PRIVATE_KEY.")


def _require() -> None:
    from lgcraft.extras import require

    require("provenance")


def _store_folder(app, store: Path | None) -> Path:
    from lgcraft.provenance.service import resolve_store

    return resolve_store(app.settings.get("provenance", "store", str, None, flag=store))


def _open_store(app, store: Path | None):
    from lgcraft.provenance.store import Store

    return Store(_store_folder(app, store))


def _wait_settings(app, confirmations: int | None, timeout: float | None) -> tuple[int, float]:
    """Confirmations and timeout (flag > env > config > default), refused by their source."""
    from lgcraft.provenance import service

    get = app.settings.get
    return (get("provenance", "confirmations", int, 1, flag=confirmations,
                valid=service.confirmations_ok, expect=service.CONFIRMATIONS_EXPECTED),
            get("provenance", "timeout", float, 120.0, flag=timeout,
                valid=service.timeout_ok, expect=service.TIMEOUT_EXPECTED))


def _signer(app, keystore: Path | None):
    """The signing key: LGCRAFT_PRIVATE_KEY, else a keystore file. Never echoed."""
    from lgcraft.provenance.signing import signer_from_keystore, signer_from_private_key

    secret = app.settings.secret("LGCRAFT_PRIVATE_KEY")
    path = app.settings.get("provenance", "keystore", str, None, flag=keystore)
    if path:
        if not Path(path).expanduser().is_file():  # say so before asking for its password
            raise InputError(f"keystore {path}: no such file",
                             hint="create one with 'lgcraft provenance keygen key.json'")
        password = app.settings.secret("LGCRAFT_KEYSTORE_PASSWORD")
        if password is None:
            if not sys.stdin.isatty():
                raise InputError(f"keystore {path} needs a password",
                                 hint="set LGCRAFT_KEYSTORE_PASSWORD or run in a terminal to be asked")
            password = typer.prompt(f"Password for {path}", hide_input=True)
        return signer_from_keystore(Path(path).expanduser(), password)
    if secret:
        return signer_from_private_key(secret)
    raise InputError("no signing key: set LGCRAFT_PRIVATE_KEY or pass --keystore FILE",
                     hint="create one with 'lgcraft provenance keygen key.json'")


def _chain(app, store_folder: Path, rpc_url: str | None, network):
    """The chain client: --rpc-url/config/env, else the network remembered at deploy, else embedded."""
    from lgcraft.provenance.service import open_chain

    url = app.settings.get("provenance", "rpc_url", str, None, flag=rpc_url)
    if url is None and network is not None and network.kind == "rpc":
        url = network.rpc_url
    client = open_chain(store_folder, url, rpc_auth=app.settings.secret("LGCRAFT_RPC_AUTH"))
    return client, url


def _test_hook(stage: str) -> None:
    # LGCRAFT_TEST_HOOK=broadcast:30 sleeps 30 s at that stage, so crash tests can kill -9 there.
    hook = os.environ.get("LGCRAFT_TEST_HOOK", "")
    name, _, seconds = hook.partition(":")
    if name == stage:
        print(f"test hook: {stage}", file=sys.stderr, flush=True)
        time.sleep(float(seconds or 60))


# --------------------------------------------------------------------------------------------
@app.command("init")
def init_command(ctx: typer.Context, store: Path | None = STORE_OPT) -> None:
    """Create a provenance store (.lgcraft/ here, or --store DIR).

    Example: lgcraft provenance init
    """
    _require()
    from lgcraft.provenance.service import init_store

    app = app_context(ctx)
    target = app.settings.get("provenance", "store", str, None, flag=store)
    result = init_store(target)
    app.out.emit(result, lambda: app.out.panel(
        f"{'Created' if result.created else 'Already present'}: {result.store}", "provenance store"))


@app.command("keygen")
def keygen_command(ctx: typer.Context, keystore: Path = typer.Argument(..., help="Keystore file to create.")) -> None:
    """Create a new signing key in an encrypted keystore file (password from
    LGCRAFT_KEYSTORE_PASSWORD or a prompt); prints only the address.

    Example: lgcraft provenance keygen ~/.lgcraft-key.json
    """
    _require()
    from lgcraft.provenance.signing import new_keystore

    app = app_context(ctx)
    password = app.settings.secret("LGCRAFT_KEYSTORE_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise InputError("a new keystore needs a password", hint="set LGCRAFT_KEYSTORE_PASSWORD or run in a terminal")
        password = typer.prompt("New keystore password", hide_input=True, confirmation_prompt=True)
    address = new_keystore(keystore, password)
    app.out.emit({"keystore": str(keystore), "address": address},
                 lambda: app.out.panel(f"{address}\nin {keystore}", "new signing key"))


def _parse_stone(text: str) -> dict:
    stone: dict = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--stone {text!r}: expected key=value pairs, e.g. "
                             "type=diamond,carat=1.02,colour=F,clarity=VS1,lab=GIA,report=2141438167")
        key = {"report": "report_number", "color": "colour"}.get(key.strip(), key.strip())
        stone[key] = value.strip()
    return stone


@app.command("record")
def record_command(
    ctx: typer.Context,
    from_file: Path | None = typer.Option(None, "--from", metavar="FILE", help="Events from a .json or .jsonl file."),
    item: str | None = typer.Option(None, "--item", help="Item id: serial, SKU or lab report number."),
    step: str | None = typer.Option(None, "--step", help="Business step: commissioning, casting, setting, grading, "
                                    "hallmarking, shipping, receiving, selling, transferring, repairing."),
    event_time: str | None = typer.Option(None, "--time", help="ISO 8601 time with offset (default: now)."),
    actor_name: str | None = typer.Option(None, "--actor", help="Actor's display name."),
    location: str | None = typer.Option(None, "--location", help="Where it happened."),
    metal: str | None = typer.Option(None, "--metal", help="Metal and fineness, e.g. gold:750."),
    weight_mg: int | None = typer.Option(None, "--weight-mg", help="Weight in integer milligrams."),
    stones: list[str] = typer.Option([], "--stone", help="A stone: type=diamond,carat=1.02,colour=F,clarity=VS1,"
                                     "lab=GIA,report=2141438167 (repeatable)."),
    material: str | None = typer.Option(None, "--material", help="recycled, mined or mixed."),
    kp: str | None = typer.Option(None, "--kp-certificate", help="Kimberley Process certificate number."),
    sow: str | None = typer.Option(None, "--warranty", help="System of Warranties statement."),
    counterparty: str | None = typer.Option(None, "--to", help="Buyer or new owner (selling, transferring)."),
    attach: list[Path] = typer.Option([], "--attach", help="Attach a file by content hash (repeatable)."),
    note: str | None = typer.Option(None, "--note", help="Free text."),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="Skip events already recorded (rerun a file)."),
    keystore: Path | None = KEYSTORE_OPT,
    store: Path | None = STORE_OPT,
) -> None:
    """Record signed events: one from flags, or many from --from FILE.

    Example: lgcraft provenance record --item RING-0001 --step casting --actor "Shuibei Casting" --metal gold:750 --weight-mg 4210
    """
    _require()
    from lgcraft.provenance.records import attachment_for_file
    from lgcraft.provenance.service import read_events_file, record_events

    app = app_context(ctx)
    if from_file is not None:
        if item or step:
            raise InputError("give either --from FILE or --item/--step flags, not both")
        events = read_events_file(from_file)
    else:
        if not item or not step:
            raise InputError("record needs --item and --step (or --from FILE)")
        from datetime import datetime

        event: dict = {"item_id": item, "biz_step": step,
                       "event_time": event_time or datetime.now().astimezone().isoformat(timespec="seconds"),
                       "actor": {"name": actor_name or ""}}
        if actor_name is None:
            raise InputError("record needs --actor NAME (the actor's display name)")
        if location:
            event["location"] = {"name": location}
        if metal:
            kind, _, fineness = metal.partition(":")
            event["metal"] = {"type": kind, **({"fineness": fineness} if fineness else {})}
        if weight_mg is not None:
            event["weight_mg"] = weight_mg
        if stones:
            event["stones"] = [_parse_stone(s) for s in stones]
        if material:
            event["material_source"] = material
        if kp or sow:
            event["compliance"] = {k: v for k, v in (("kimberley_process_certificate", kp),
                                                     ("system_of_warranties", sow)) if v}
        if counterparty:
            event["counterparty"] = {"name": counterparty}
        if attach:
            event["attachments"] = [attachment_for_file(p) for p in attach]
        if note:
            event["note"] = note
        events = [event]
    needs_key = any("signature" not in event for event in events)
    signer = _signer(app, keystore) if needs_key else None
    with _open_store(app, store) as st, app.out.progress("Signing records", total=len(events)) as advance:
        def step(n: int = 1) -> None:
            advance(n)
            _test_hook("record")  # crash tests: stop inside the one write transaction

        results = record_events(st, events, signer, skip_existing=skip_existing, progress=step)
    signer_address = signer.address if signer else None
    data = {"recorded": sum(r.status == "recorded" for r in results),
            "skipped": sum(r.status != "recorded" for r in results), "signer": signer_address,
            "records": results}
    app.out.emit(data, lambda: app.out.table(
        f"{data['recorded']} recorded, {data['skipped']} skipped"
        + (f" (signed by {signer_address})" if signer_address else " (signed by their actors)"),
        ["item", "step", "time", "record hash", "status"],
        [(r.item_id, r.biz_step, r.event_time, r.record_hash[:18] + "...", r.status) for r in results]))


@app.command("sign")
def sign_command(
    ctx: typer.Context,
    from_file: Path = typer.Option(..., "--from", metavar="FILE", help="Events (.json or .jsonl) to sign."),
    output: Path = typer.Option(..., "-o", "--output", help="Signed records to write (.jsonl)."),
    prevs: list[str] = typer.Option([], "--prev", metavar="ITEM=HASH",
                                    help="Latest record hash of a piece in the store that will record it."),
    keystore: Path | None = KEYSTORE_OPT,
) -> None:
    """Sign events as their actor, for another party's store (no store needed here).
    The store owner then runs 'record --from' on the output; it checks every signature.

    Example: lgcraft provenance sign --from grading.jsonl --prev LG-RING-2025-0001=0x3f... -o grading.signed.jsonl
    """
    _require()
    import json

    from lgcraft.files import write_text_atomic
    from lgcraft.provenance.records import HASH_RE
    from lgcraft.provenance.service import read_events_file, sign_events

    app = app_context(ctx)
    known: dict[str, str] = {}
    for text in prevs:
        item, sep, value = text.partition("=")
        if not sep or not HASH_RE.match(value.strip().lower()):
            raise InputError(f"--prev {text!r}: expected ITEM=0x<64 hex digits>")
        known[item.strip()] = value.strip().lower()
    signer = _signer(app, keystore)
    signed = sign_events(read_events_file(from_file), signer, known)
    write_text_atomic(output, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in signed))
    app.out.emit({"signed": len(signed), "signer": signer.address, "output": str(output)})


@app.command("deploy")
def deploy_command(
    ctx: typer.Context,
    rpc_url: str | None = RPC_OPT,
    contract: str | None = typer.Option(None, "--contract", metavar="ADDRESS",
                                        help="Use an already deployed anchor contract (its code is checked)."),
    confirmations: int | None = typer.Option(None, "--confirmations", help="Blocks to wait (default 1)."),
    keystore: Path | None = KEYSTORE_OPT,
    store: Path | None = STORE_OPT,
) -> None:
    """Deploy the anchor contract and remember chain and address in the store.

    Example: lgcraft provenance deploy --rpc-url http://127.0.0.1:8545
    """
    _require()
    from lgcraft.provenance.service import deploy, stored_network

    app = app_context(ctx)
    confirm, timeout = _wait_settings(app, confirmations, None)
    signer = None if contract else _signer(app, keystore)
    folder = _store_folder(app, store)
    from lgcraft.provenance.store import Store

    with Store(folder) as st:
        url = app.settings.get("provenance", "rpc_url", str, None, flag=rpc_url)
        client, url = _chain(app, folder, url, None if url else stored_network(st))
        try:
            result = deploy(st, client, signer, rpc_url=url, confirmations=confirm,
                            timeout=timeout, existing=contract)
        finally:
            client.close()
    app.out.emit(result, lambda: app.out.panel(
        f"anchor contract {result.contract}\nchain id {result.chain_id} ({result.network})"
        + ("\n(already deployed)" if result.reused else f"\ntx {result.tx_hash}, block {result.block_number}"),
        "deployed"))


@app.command("anchor")
def anchor_command(
    ctx: typer.Context,
    rpc_url: str | None = RPC_OPT,
    confirmations: int | None = typer.Option(None, "--confirmations", help="Blocks to wait (default 1; "
                                             "config [provenance] confirmations)."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds to wait for confirmations (default 120)."),
    keystore: Path | None = KEYSTORE_OPT,
    store: Path | None = STORE_OPT,
) -> None:
    """Anchor all pending records: one Merkle root, one transaction. Safe to rerun
    after a crash: unfinished batches resume, nothing is anchored twice.

    Example: lgcraft provenance anchor --confirmations 2
    """
    _require()
    from lgcraft.provenance.service import anchor_pending, stored_network
    from lgcraft.provenance.store import Store

    app = app_context(ctx)
    confirm, timeout = _wait_settings(app, confirmations, timeout)
    folder = _store_folder(app, store)
    signer = _signer(app, keystore)
    with Store(folder) as st:
        if st.counts()["pending"] == 0 and not st.unfinished_batches():
            data = {"batches": [], "pending_left": 0}
            app.out.emit(data, lambda: app.out.panel("Nothing to anchor: no pending records.", "anchor", "yellow"))
            return
        network = stored_network(st)
        client, url = _chain(app, folder, rpc_url, network)
        try:
            app.out.info(f"Anchoring on {client.describe()} ...")
            result = anchor_pending(
                st, client, signer, rpc_url=url,
                confirmations=confirm, timeout=timeout, hook=_test_hook)
        except ChainError as exc:
            pending = st.counts()["pending"] + sum(b.leaf_count for b in st.unfinished_batches())
            exc.message += f"; {pending} record(s) stay pending"
            raise
        finally:
            client.close()
    app.out.emit(result, lambda: app.out.table(
        "Anchored batches", ["batch", "root", "records", "tx", "block", "gas/record", "resumed"],
        [(b.batch_id, b.root[:18] + "...", b.leaf_count, (b.tx_hash or "-")[:18] + "...", b.block_number,
          b.gas_per_record, "yes" if b.resumed else "") for b in result.batches]))


@app.command("status")
def status_command(ctx: typer.Context, store: Path | None = STORE_OPT) -> None:
    """Records, pending records, batches and the chain the store anchors on.

    Example: lgcraft --json provenance status
    """
    _require()
    from lgcraft.provenance.service import status

    app = app_context(ctx)
    with _open_store(app, store) as st:
        result = status(st)
    app.out.emit(result)


@app.command("history")
def history_command(ctx: typer.Context, item: str = typer.Argument(..., help="Item id."),
                    store: Path | None = STORE_OPT) -> None:
    """Timeline of one piece: every record, its actor and its anchoring state.

    Example: lgcraft provenance history RING-0001
    """
    _require()
    from lgcraft.provenance.service import history

    app = app_context(ctx)
    with _open_store(app, store) as st:
        entries = history(st, item)
    app.out.emit({"item_id": item, "records": entries}, lambda: app.out.table(
        f"History of {item}", ["#", "time", "step", "actor", "location", "details", "state"],
        [(i + 1, e.event_time, e.biz_step, e.actor, e.location, e.summary,
          e.status + (f" (block {e.block_number})" if e.block_number else "")) for i, e in enumerate(entries)]))


@app.command("export")
def export_command(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="Item id."),
    output: Path = typer.Option(..., "-o", "--output", help="Bundle file to write (JSON)."),
    qr: Path | None = typer.Option(None, "--qr", metavar="PNG", help="Also write a QR label for the retail tag."),
    store: Path | None = STORE_OPT,
) -> None:
    """Write the proof bundle of a piece (self-contained, versioned, JSON Schema).

    Example: lgcraft provenance export RING-0001 -o ring.bundle.json --qr ring-tag.png
    """
    _require()
    from lgcraft.provenance.bundle import export_bundle, qr_label, write_json_atomic

    app = app_context(ctx)
    with _open_store(app, store) as st:
        bundle, left_out = export_bundle(st, item)
    write_json_atomic(output, bundle)
    payload = qr_label(bundle, qr) if qr else None
    if left_out:
        app.out.warn(f"{left_out} record(s) of {item} are not anchored yet and are not in the bundle")
    data = {"item_id": item, "bundle": str(output), "records": len(bundle["records"]),
            "roots": len(bundle["anchors"]), "not_anchored": left_out, "bytes": output.stat().st_size,
            "qr": str(qr) if qr else None, "qr_payload": payload}
    app.out.emit(data)


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    bundle_path: Path = typer.Argument(..., metavar="BUNDLE", help="Proof bundle (JSON)."),
    rpc_url: str | None = RPC_OPT,
    issuers: list[str] = typer.Option([], "--issuer", metavar="ADDRESS",
                                      help="Trusted anchoring address (repeatable; config [provenance] issuers)."),
    offline: bool = typer.Option(False, "--offline", help="Do not read the chain (roots unchecked)."),
    files: list[Path] = typer.Option([], "--file", metavar="FILE",
                                     help="A file you hold (certificate PDF, photo): must be an attachment (repeatable)."),
    store: Path | None = STORE_OPT,
) -> None:
    """Verify a proof bundle: exit 0 valid, 1 invalid (naming what does not match), 2 malformed.

    Example: lgcraft provenance verify ring.bundle.json --issuer 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
    """
    _require()
    from lgcraft.provenance.bundle import load_bundle, raise_if_invalid, verify_bundle
    from lgcraft.provenance.chain import DEV_CHAIN_ID, open_embedded, open_rpc
    from lgcraft.provenance.records import validate_address

    app = app_context(ctx)
    trusted = list(issuers)
    configured = app.settings.get("provenance", "issuers", str, None) if not trusted else None
    if configured:
        trusted = [s.strip() for s in str(configured).replace("[", "").replace("]", "").replace('"', "").split(",") if s.strip()]
    trusted = [validate_address(t, "--issuer") for t in trusted]
    bundle = load_bundle(bundle_path)
    from lgcraft.provenance.records import attachment_for_file

    file_hashes = {str(f): attachment_for_file(f)["sha256"] for f in files}
    url = app.settings.get("provenance", "rpc_url", str, None, flag=rpc_url)
    clients: dict = {}

    def read_anchor(anchor):
        key = anchor["chain_id"]
        if key not in clients:
            if url:
                clients[key] = open_rpc(url, auth=app.settings.secret("LGCRAFT_RPC_AUTH"))
            elif anchor["chain_id"] == DEV_CHAIN_ID:
                from lgcraft.provenance.service import resolve_store

                try:
                    folder = resolve_store(app.settings.get("provenance", "store", str, None, flag=store))
                except InputError:
                    raise ChainError(
                        f"the bundle was anchored on an embedded dev chain (chain id {DEV_CHAIN_ID}), "
                        "which lives only in its maker's store",
                        hint="verify where that store is (or --store DIR), or use --offline") from None
                clients[key] = open_embedded(folder, create=False)
            else:
                raise ChainError(f"no RPC URL to read chain id {anchor['chain_id']}",
                                 hint="pass --rpc-url for that chain, or --offline")
        client = clients[key]
        client.check_chain_id(anchor["chain_id"])
        return client.anchor_of(anchor["contract"], anchor["root"])

    try:
        report = verify_bundle(bundle, read_anchor=None if offline else read_anchor, trusted_issuers=trusted,
                               files=file_hashes)
    finally:
        for client in clients.values():
            client.close()

    def render():
        rows = [(c.name, "ok" if c.ok else ("skipped" if c.ok is None else "FAILED"), c.detail) for c in report.checks]
        rows += [("failure", "", f) for f in report.failures]
        return app.out.table(f"{bundle_path}: {'VALID' if report.valid else 'NOT VALID'} ({report.item_id}, "
                             f"{report.records} records)", ["check", "result", "detail"], rows)

    app.out.emit(report, render)
    raise_if_invalid(report)


@app.command("epcis")
def epcis_command(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="Item id."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to a file instead of stdout."),
    store: Path | None = STORE_OPT,
) -> None:
    """The piece's records as a GS1 EPCIS 2.0 JSON-LD document.

    Example: lgcraft provenance epcis RING-0001 -o ring.epcis.jsonld
    """
    _require()
    import json

    from lgcraft.provenance.bundle import write_json_atomic
    from lgcraft.provenance.epcis import epcis_document

    app = app_context(ctx)
    with _open_store(app, store) as st:
        records = st.records_of(item)
        if not records:
            raise InputError(f"no records of item {item!r} in {st.folder}")
        anchors = {b.id: {"root": b.root, "chainId": b.chain_id, "contract": b.contract, "txHash": b.tx_hash,
                          "blockNumber": b.block_number} for b in st.batches("anchored")}
    doc = epcis_document(records, anchors)
    if output:
        write_json_atomic(output, doc)
        app.out.emit({"item_id": item, "events": len(records), "output": str(output)})
    else:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
