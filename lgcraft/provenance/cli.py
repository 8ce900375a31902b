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


ISSUER_HINT = ("give the maker's address: the 0x... that 'lgcraft provenance record' printed "
               "after 'signed by', or one that 'lgcraft provenance trust list' shows")
KEYGEN_HINT = ("make a key with 'lgcraft provenance keygen maker-key.json' and set "
               "LGCRAFT_PROVENANCE_KEYSTORE=maker-key.json (or, to try things on a development chain, "
               "eval \"$(lgcraft provenance keygen --dev)\")")


def _signer(app, keystore: Path | None, *, required: bool = True):
    """The signing key: a keystore file (--keystore, [provenance] keystore), else
    LGCRAFT_PRIVATE_KEY; checked at once, never echoed. ``required=False``: None when
    no key is configured (a configured but bad key still fails)."""
    from lgcraft.provenance.signing import (
        password_file_for,
        signer_from_keystore,
        signer_from_private_key,
    )

    secret = app.settings.secret("LGCRAFT_PRIVATE_KEY")
    path = app.settings.get("provenance", "keystore", str, None, flag=keystore)
    try:
        if path:
            if not Path(path).expanduser().is_file():  # say so before asking for its password
                raise InputError(f"keystore {path}: no such file")
            password = app.settings.secret("LGCRAFT_KEYSTORE_PASSWORD")
            beside = password_file_for(Path(path).expanduser())
            if password is None and beside.is_file():
                password = beside.read_text(encoding="utf-8").strip()
            if password is None:
                if not sys.stdin.isatty():
                    raise InputError(f"keystore {path} needs a password: set LGCRAFT_KEYSTORE_PASSWORD, or keep "
                                     f"it in {beside} (mode 600)", hint="or run in a terminal to be asked")
                password = typer.prompt(f"Password for {path}", hide_input=True)
            return signer_from_keystore(Path(path).expanduser(), password)
        if secret:
            return signer_from_private_key(secret)
    except InputError as exc:
        exc.hint = exc.hint or KEYGEN_HINT
        raise
    if not required:
        return None
    raise InputError("no signing key: set LGCRAFT_PROVENANCE_KEYSTORE (a keystore file) or LGCRAFT_PRIVATE_KEY",
                     hint=KEYGEN_HINT)


def _refuse_dev_key_off_dev_chains(signer, chain_id: int) -> None:
    from lgcraft.provenance.trust import DEV_CHAIN_IDS, is_dev_address

    if signer is not None and is_dev_address(signer.address) and chain_id not in DEV_CHAIN_IDS:
        raise InputError(f"{signer.address} is a public development key (anvil's): anyone can sign with it, "
                         f"so it is never used on chain {chain_id}", hint=KEYGEN_HINT.replace(
                             " (or, to try things on a development chain, eval \"$(lgcraft provenance "
                             "keygen --dev)\")", ""))


def _trust_path(app, trust: Path | None, store: Path | None) -> Path | None:
    """--trust / LGCRAFT_PROVENANCE_TRUST / [provenance] trust, else trust.toml in the
    store folder (found like git), else None."""
    from lgcraft.provenance.service import resolve_store
    from lgcraft.provenance.trust import TRUST_FILE

    named = app.settings.get("provenance", "trust", str, None, flag=str(trust) if trust else None)
    if named:
        return Path(named).expanduser()
    try:
        return resolve_store(app.settings.get("provenance", "store", str, None, flag=store)) / TRUST_FILE
    except InputError:
        return None


def _add_own_trust_entry(app, folder: Path, signer, network, organisation: str | None) -> str | None:
    """`deploy` (and the embedded chain's first anchor) adds the maker's own entry: its
    key signs as maker and anchors with this contract on this chain. Returns the file."""
    from lgcraft.provenance.trust import (
        TRUST_FILE,
        AnchorEntry,
        add_entry,
        is_dev_address,
        load_or_empty,
        save_trust,
    )

    if signer is None or network is None:
        return None
    named = app.settings.get("provenance", "trust", str, None)
    path = Path(named).expanduser() if named else folder / TRUST_FILE
    trust = load_or_empty(path)
    name = organisation or app.settings.get("provenance", "organisation", str, None)
    existing = trust.signer(signer.address)
    if existing is not None:
        name = existing.name  # one key, one organisation
    elif name is None:
        name = f"maker of {folder.resolve().parent.name or 'this store'}"
    before = _dumps_or_none(trust)
    add_entry(trust, name=name, roles=["maker"] if existing is None else [], addresses=[signer.address],
              anchor=AnchorEntry(network.chain_id, signer.address, network.contract),
              dev=is_dev_address(signer.address))
    if _dumps_or_none(trust) != before:
        save_trust(trust)
    return str(path)


def _dumps_or_none(trust) -> str:
    from lgcraft.provenance.trust import dumps_trust

    return dumps_trust(trust)


def _chain(app, store_folder: Path, rpc_url: str | None, network):
    """The chain client: --rpc-url/config/env, else the network remembered at deploy, else embedded."""
    from lgcraft.provenance.service import open_chain

    url = app.settings.get("provenance", "rpc_url", str, None, flag=rpc_url)
    if url is None and network is not None and network.kind == "rpc":
        url = network.rpc_url
    client = open_chain(store_folder, url, rpc_auth=app.settings.secret("LGCRAFT_RPC_AUTH"))
    return client, url


def _finality(app) -> int:
    return app.settings.get("provenance", "finality", int, 64, valid=lambda n: 1 <= n <= 100_000,
                            expect="1..100000 blocks")


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
    signer = _signer(app, None, required=False)  # a configured key is checked now, not at the first record
    target = app.settings.get("provenance", "store", str, None, flag=store)
    result = init_store(target)
    data = {**result.__dict__, "signer": signer.address if signer else None}
    key_line = (f"\nsigning key {signer.address}" if signer else
                "\nno signing key yet: " + KEYGEN_HINT)
    app.out.emit(data, lambda: app.out.panel(
        f"{'Created' if result.created else 'Already present'}: {result.store}{key_line}", "provenance store"))


@app.command("keygen")
def keygen_command(
    ctx: typer.Context,
    keystore: Path | None = typer.Argument(None, help="Keystore file to create."),
    dev: bool = typer.Option(False, "--dev", help="Print the PUBLIC development key (anvil's account 0) as an "
                             "export line, for trying lgcraft on the embedded chain or anvil; refused on any "
                             "other chain."),
    ask: bool = typer.Option(False, "--ask", help="Ask for the password in the terminal instead of generating one."),
) -> None:
    """Create a new signing key in an encrypted keystore file; prints only the address.
    The password is LGCRAFT_KEYSTORE_PASSWORD if set, else asked (--ask), else generated
    and kept beside the keystore in FILE.password (mode 600), where lgcraft finds it.

    Example: lgcraft provenance keygen maker-key.json && export LGCRAFT_PROVENANCE_KEYSTORE=maker-key.json
    """
    _require()
    from lgcraft.provenance.signing import (
        DEV_ADDRESS,
        DEV_PRIVATE_KEY,
        new_keystore,
        password_file_for,
    )

    app = app_context(ctx)
    if dev:
        if keystore is not None:
            raise InputError("give either --dev or a keystore file, not both")
        app.out.warn(f"{DEV_ADDRESS} is anvil's account 0: its key is PUBLIC, anyone can sign with it. "
                     "lgcraft uses it only on development chains (embedded, anvil 31337).")
        if app.out.json_mode:
            app.out.emit({"address": DEV_ADDRESS, "private_key": DEV_PRIVATE_KEY, "public": True})
        else:
            sys.stdout.write(f"export LGCRAFT_PRIVATE_KEY={DEV_PRIVATE_KEY}  # PUBLIC dev key, {DEV_ADDRESS}\n")
        return
    if keystore is None:
        raise InputError("keygen needs a keystore FILE to create (or --dev)",
                         hint="lgcraft provenance keygen maker-key.json")
    password = app.settings.secret("LGCRAFT_KEYSTORE_PASSWORD")
    kept = None
    if password is None and ask:
        if not sys.stdin.isatty():
            raise InputError("--ask needs a terminal", hint="leave --ask out to have a password generated")
        password = typer.prompt("New keystore password", hide_input=True, confirmation_prompt=True)
    elif password is None:
        import secrets

        password = secrets.token_urlsafe(24)
        kept = password_file_for(keystore)
    address = new_keystore(keystore, password, password_file=kept)
    where = (f"password kept in {kept} (mode 600; lgcraft reads it from there)" if kept
             else "password: the one you gave")
    data = {"keystore": str(keystore), "address": address, "password_file": str(kept) if kept else None}
    app.out.emit(data, lambda: app.out.panel(
        f"{address}\nin {keystore}\n{where}\nuse it: export LGCRAFT_PROVENANCE_KEYSTORE={keystore}",
        "new signing key"))


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
    organisation: str | None = typer.Option(None, "--organisation", metavar="NAME",
                                            help="Your organisation's name in the trust list (config "
                                                 "[provenance] organisation)."),
    keystore: Path | None = KEYSTORE_OPT,
    store: Path | None = STORE_OPT,
) -> None:
    """Deploy the anchor contract (version 2) and remember chain and address in the
    store; adds your own entry (maker, this contract, your address) to the trust list.

    Example: lgcraft provenance deploy --rpc-url http://127.0.0.1:8545
    """
    _require()
    from lgcraft.provenance.service import deploy, stored_network

    app = app_context(ctx)
    confirm, timeout = _wait_settings(app, confirmations, None)
    signer = _signer(app, keystore, required=not contract)
    folder = _store_folder(app, store)
    from lgcraft.provenance.store import Store

    with Store(folder) as st:
        url = app.settings.get("provenance", "rpc_url", str, None, flag=rpc_url)
        client, url = _chain(app, folder, url, None if url else stored_network(st))
        try:
            _refuse_dev_key_off_dev_chains(signer, client.chain_id)
            result = deploy(st, client, signer, rpc_url=url, confirmations=confirm,
                            timeout=timeout, existing=contract)
        finally:
            client.close()
        trust_file = _add_own_trust_entry(app, folder, signer, stored_network(st), organisation)
    data = {**result.__dict__, "trust_list": trust_file}
    app.out.emit(data, lambda: app.out.panel(
        f"anchor contract {result.contract}\nchain id {result.chain_id} ({result.network})"
        + ("\n(already deployed)" if result.reused else f"\ntx {result.tx_hash}, block {result.block_number}")
        + (f"\nyour entry in the trust list {trust_file}" if trust_file else ""),
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
    finality = _finality(app)
    folder = _store_folder(app, store)
    signer = _signer(app, keystore)
    with Store(folder) as st:
        network = stored_network(st)
        recheck_due = network is not None and network.kind == "rpc" and bool(st.unfinal_batches())
        if st.counts()["pending"] == 0 and not st.unfinished_batches() and not recheck_due:
            data = {"batches": [], "pending_left": 0}
            app.out.emit(data, lambda: app.out.panel("Nothing to anchor: no pending records.", "anchor", "yellow"))
            return
        client, url = _chain(app, folder, rpc_url, network)
        try:
            if network is not None:
                client.check_chain_id(network.chain_id)  # a wrong node is named as such, before anything else
            _refuse_dev_key_off_dev_chains(signer, client.chain_id)
            app.out.info(f"Anchoring on {client.describe()} ...")
            result = anchor_pending(
                st, client, signer, rpc_url=url,
                confirmations=confirm, timeout=timeout, hook=_test_hook, finality=finality)
        except ChainError as exc:
            pending = st.counts()["pending"] + sum(b.leaf_count for b in st.unfinished_batches())
            exc.message += f"; {pending} record(s) stay pending"
            raise
        finally:
            client.close()
        try:
            _add_own_trust_entry(app, folder, signer, stored_network(st), None)
        except InputError as exc:  # the batches are anchored; a trust list we cannot edit is a warning
            app.out.warn(f"your own trust entry was not added: {exc.message}")
    for gone in (result.recheck.reverted if result.recheck else []):
        app.out.warn(f"batch {gone['batch_id']} (root {gone['root'][:18]}..., block {gone['block_number']}) left "
                     f"the chain in a reorganisation: its {gone['records']} record(s) were anchored again")
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
    from lgcraft.provenance.service import recheck_batches, status, stored_network

    app = app_context(ctx)
    with _open_store(app, store) as st:
        network = stored_network(st)
        recheck = None
        if network is not None and network.kind == "rpc" and st.unfinal_batches():
            client, _ = _chain(app, st.folder, None, network)
            try:
                recheck = recheck_batches(st, client, finality=_finality(app))
            except ChainError as exc:
                app.out.warn(f"anchored batches not re-checked: {exc.message}")
            finally:
                client.close()
        result = status(st, recheck)
    for gone in (recheck.reverted if recheck else []):
        app.out.warn(f"batch {gone['batch_id']} (root {gone['root'][:18]}..., block {gone['block_number']}) left "
                     f"the chain in a reorganisation: its {gone['records']} record(s) are pending again; "
                     "run 'lgcraft provenance anchor'")
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
    site_url: str | None = typer.Option(None, "--site-url", metavar="URL",
                                        help="With --qr: the QR opens this verification page (see 'site') "
                                             "with the item id and the latest record's hash and count."),
    store: Path | None = STORE_OPT,
) -> None:
    """Write the proof bundle of a piece (self-contained, versioned, JSON Schema).

    Example: lgcraft provenance export RING-0001 -o ring.bundle.json --qr ring-tag.png --site-url https://shop.example/verify/
    """
    _require()
    from lgcraft.provenance.bundle import export_bundle, qr_label, write_json_atomic

    app = app_context(ctx)
    if site_url is not None and qr is None:
        raise InputError("--site-url goes into the QR code: give --qr PNG too")
    if site_url is not None:
        from lgcraft.provenance.site import page_url

        page_url(site_url, item, "0x", 0)  # refuse a bad URL before anything is written
    with _open_store(app, store) as st:
        bundle, left_out = export_bundle(st, item)
    write_json_atomic(output, bundle)
    from lgcraft.provenance.bundle import label_of

    payload = label_of(bundle).payload
    qr_payload = None
    if qr and site_url:
        from lgcraft.provenance.site import qr_page_label

        qr_payload = qr_page_label(bundle, qr, site_url)
    elif qr:
        qr_payload = qr_label(bundle, qr)
    if left_out:
        app.out.warn(f"{left_out} record(s) of {item} are not anchored yet and are not in the bundle")
    data = {"item_id": item, "bundle": str(output), "records": len(bundle["records"]),
            "roots": len(bundle["anchors"]), "not_anchored": left_out, "bytes": output.stat().st_size,
            "qr": str(qr) if qr else None, "qr_payload": qr_payload, "label": payload}
    app.out.emit(data)


RPC_MANY_OPT = typer.Option([], "--rpc-url", metavar="URL",
                            help="EVM JSON-RPC node; repeat it to ask several nodes, which must all agree "
                                 "(config [provenance] rpc_url).")


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    bundle_path: Path = typer.Argument(..., metavar="BUNDLE", help="Proof bundle (JSON)."),
    trusts: list[Path] = typer.Option([], "--trust", metavar="FILE",
                                      help="Trust list (TOML): who may sign and anchor; repeatable, read as one "
                                           "(config [provenance] trust; default trust.toml in the store)."),
    rpc_urls: list[str] = RPC_MANY_OPT,
    label: str | None = typer.Option(None, "--label", metavar="PAYLOAD",
                                     help="What the scanner read from the tag (export --qr; also the page URL of "
                                          "--site-url): binds the bundle to it."),
    item: str | None = typer.Option(None, "--item", help="The piece in front of you: the bundle must be its."),
    head: str | None = typer.Option(None, "--head", metavar="HASH",
                                    help="The latest record hash on its tag: the bundle must reach it."),
    issuers: list[str] = typer.Option([], "--issuer", metavar="ADDRESS",
                                      help="Also require the anchoring issuer to be this address (repeatable)."),
    offline: bool = typer.Option(False, "--offline", help="Do not read the chain: exit 3 at best, never VALID."),
    files: list[Path] = typer.Option([], "--file", metavar="FILE",
                                     help="A file you hold (certificate PDF, photo): must be an attachment (repeatable)."),
    store: Path | None = STORE_OPT,
) -> None:
    """Verify a proof bundle against a trust list and the chain. Exit 0 VALID and
    trusted, 1 NOT VALID or not trusted (naming the check and the record), 2 malformed
    input, 3 could not check (node down, timeout, wrong node, --offline).

    Example: lgcraft provenance verify ring.bundle.json --trust shop-trust.toml --rpc-url http://127.0.0.1:8545
    """
    _require()
    from lgcraft.provenance.bundle import (
        load_bundle,
        parse_label,
        raise_if_not_valid,
        verify_bundle,
    )
    from lgcraft.provenance.records import (
        HASH_RE,
        ITEM_ID_RE,
        attachment_for_file,
        validate_address,
    )
    from lgcraft.provenance.trust import load_trust, load_trusts

    app = app_context(ctx)
    try:
        wanted = [validate_address(t, "--issuer") for t in issuers]
    except InputError as exc:
        raise InputError(exc.message, hint=ISSUER_HINT) from exc
    if label and label.strip().lower().startswith(("http://", "https://")):
        from lgcraft.provenance.site import label_from_page_url

        label = label_from_page_url(label)  # the QR of 'export --site-url' holds the page's URL
    parsed_label = parse_label(label) if label else None
    if item is not None and not ITEM_ID_RE.match(item):
        raise InputError(f"--item {item!r} is not an item id")
    if head is not None and not HASH_RE.match(head.strip().lower()):
        raise InputError(f"--head {head!r} is not a 0x record hash (0x and 64 hex digits)")
    if trusts:
        trust_list = load_trusts(list(trusts))
    else:
        trust_path = _trust_path(app, None, store)
        trust_list = None
        if trust_path is not None and (trust_path.exists() or app.settings.get("provenance", "trust", str, None)):
            trust_list = load_trust(trust_path)
    bundle = load_bundle(bundle_path)
    file_hashes = {str(f): attachment_for_file(f)["sha256"] for f in files}
    urls = list(rpc_urls) or [u for u in [app.settings.get("provenance", "rpc_url", str, None)] if u]
    readers: dict = {}
    opened: list = []

    def reader_for(chain_id: int):
        if chain_id not in readers:
            readers[chain_id] = _open_readers(app, chain_id, urls, store, opened)
        return readers[chain_id]

    try:
        report = verify_bundle(bundle, trust=trust_list, chain=None if offline else reader_for,
                               files=file_hashes, label=parsed_label, expect_item=item,
                               expect_head=head.strip().lower() if head else None, issuers=wanted)
    finally:
        for client in opened:
            client.close()

    def render():
        from lgcraft.output import shorten_hash

        marks = {True: "ok", False: "FAILED", None: "not checked"}
        rows = [(c.name, marks[c.ok], c.detail) for c in report.checks]
        rows += [("signed by", "", f"record {s.record} ({s.biz_step}): {s.organisation or 'unknown'} "
                                   f"({shorten_hash(s.address) if s.address else '?'})") for s in report.signers]
        shown = {c.name + ": " + c.detail for c in report.checks}
        rows += [("failure", "", f) for f in report.failures if f not in shown]
        rows += [("not checked", "", u) for u in report.unchecked if u not in shown]
        return app.out.table(f"{bundle_path}: {report.summary}", ["check", "result", "detail"], rows)

    app.out.emit(report, render)
    raise_if_not_valid(report)


def _open_readers(app, chain_id: int, urls: list[str], store: Path | None, opened: list):
    """A chain reader for ``chain_id``: every --rpc-url (all must agree), else the
    embedded dev chain of the store. Raises ChainError (a could-not-check) otherwise."""
    from lgcraft.provenance.chain import DEV_CHAIN_ID, AgreeingReader, open_embedded, open_rpc
    from lgcraft.provenance.service import resolve_store

    if urls:
        clients = []
        for url in urls:
            client = open_rpc(url, auth=app.settings.secret("LGCRAFT_RPC_AUTH"))
            opened.append(client)
            client.check_chain_id(chain_id)
            clients.append(client)
        return clients[0] if len(clients) == 1 else AgreeingReader(clients)
    if chain_id == DEV_CHAIN_ID:
        try:
            folder = resolve_store(app.settings.get("provenance", "store", str, None, flag=store))
        except InputError:
            raise ChainError(
                f"the bundle was anchored on an embedded dev chain (chain id {DEV_CHAIN_ID}), "
                "which lives only in its maker's store",
                hint="verify where that store is (or --store DIR)") from None
        client = open_embedded(folder, create=False)
        opened.append(client)
        client.check_chain_id(chain_id)
        return client
    raise ChainError(f"no RPC URL to read chain id {chain_id}", hint="pass --rpc-url for that chain")


trust_app = typer.Typer(
    help=("The trust list: organisations, the keys that sign their records, their roles, and where "
          "they anchor. verify trusts exactly what it names.\n\n"
          "Example: lgcraft provenance trust list --trust shop-trust.toml"),
    no_args_is_help=True,
)
app.add_typer(trust_app, name="trust")
TRUST_OPT = typer.Option(None, "--trust", metavar="FILE",
                         help="Trust list file (config [provenance] trust; default trust.toml in the store).")


def _trust_for_edit(app, trust: Path | None, store: Path | None) -> Path:
    path = _trust_path(app, trust, store)
    if path is None:
        raise InputError("no trust list file: there is no store here and no --trust FILE",
                         hint="pass --trust FILE (it is created), or set [provenance] trust")
    return path


@trust_app.command("add")
def trust_add_command(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", help="Organisation name, as its records name their actor."),
    roles: list[str] = typer.Option([], "--role", help="maker, designer, setter, lab, assay_office, wholesaler, "
                                    "retailer (repeatable)."),
    addresses: list[str] = typer.Option([], "--address", metavar="ADDRESS",
                                        help="A key that signs its records (repeatable)."),
    aliases: list[str] = typer.Option([], "--alias", metavar="NAME", help="Another name its records may use."),
    chain_id: int | None = typer.Option(None, "--chain-id", help="Chain it anchors on (with --issuer)."),
    issuer: str | None = typer.Option(None, "--issuer", metavar="ADDRESS", help="Address that anchors its batches."),
    contract: str | None = typer.Option(None, "--contract", metavar="ADDRESS",
                                        help="Its anchor contract (default: any contract running lgcraft's code)."),
    dev: bool = typer.Option(False, "--dev", help="It uses public development keys (only on development chains)."),
    trust: Path | None = TRUST_OPT,
    store: Path | None = STORE_OPT,
) -> None:
    """Add an organisation, or add roles, keys, names or an anchor entry to one.

    Example: lgcraft provenance trust add --trust shop-trust.toml --name "GIA Laboratory, Hong Kong" --role lab --address 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC --dev
    """
    _require()
    from lgcraft.provenance.records import validate_address
    from lgcraft.provenance.trust import (
        ROLES,
        AnchorEntry,
        add_entry,
        canonical_role,
        load_or_empty,
        save_trust,
    )

    app = app_context(ctx)
    for role in roles:
        if canonical_role(role) not in ROLES:
            raise InputError(f"--role {role!r} is not one of: {', '.join(ROLES)}")
    keys = [validate_address(a, "--address") for a in addresses]
    anchor = None
    if (chain_id is None) != (issuer is None) or (contract and issuer is None):
        raise InputError("an anchor entry needs both --chain-id and --issuer (and optionally --contract)")
    if chain_id is not None:
        if chain_id < 1:
            raise InputError(f"--chain-id {chain_id}: must be a positive chain id")
        anchor = AnchorEntry(chain_id, validate_address(issuer, "--issuer"),
                             validate_address(contract, "--contract") if contract else None)
    path = _trust_for_edit(app, trust, store)
    trust_list = load_or_empty(path)
    org = add_entry(trust_list, name=name, roles=roles, addresses=keys, names=aliases, anchor=anchor, dev=dev)
    save_trust(trust_list)
    app.out.emit({"trust_list": str(path), "organisation": org},
                 lambda: app.out.panel(f"{org.name}: roles {', '.join(org.roles) or '-'}; "
                                       f"{len(org.addresses)} key(s); {len(org.anchors)} anchor entr(ies)\n"
                                       f"in {path}", "trust list"))


@trust_app.command("list")
def trust_list_command(ctx: typer.Context, trust: Path | None = TRUST_OPT, store: Path | None = STORE_OPT) -> None:
    """Show the trust list: organisations, roles, keys and anchor entries.

    Example: lgcraft provenance trust list --trust shop-trust.toml
    """
    _require()
    from lgcraft.output import shorten_hash
    from lgcraft.provenance.trust import load_trust

    app = app_context(ctx)
    path = _trust_for_edit(app, trust, store)
    trust_list = load_trust(path)
    rows = []
    for org in trust_list.organisations:
        anchors = "\n".join(f"chain {e.chain_id}: issuer {shorten_hash(e.issuer)}, "
                             + (f"contract {shorten_hash(e.contract)}" if e.contract else "any lgcraft contract")
                             for e in org.anchors)
        rows.append((org.name + (" [dev]" if org.dev else ""), ", ".join(org.roles), "\n".join(org.addresses),
                     anchors or "-"))
    app.out.emit({"trust_list": str(path), "organisations": trust_list.organisations},
                 lambda: app.out.table(f"Trust list {path}", ["organisation", "roles", "signing keys", "anchors"],
                                       rows))


@trust_app.command("remove")
def trust_remove_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Organisation name."),
    address: str | None = typer.Option(None, "--address", metavar="ADDRESS",
                                       help="Remove only this key or anchoring address."),
    trust: Path | None = TRUST_OPT,
    store: Path | None = STORE_OPT,
) -> None:
    """Remove an organisation (or one of its addresses) from the trust list.

    Example: lgcraft provenance trust remove "Old Supplier Ltd" --trust shop-trust.toml
    """
    _require()
    from lgcraft.provenance.trust import load_trust, remove_entry, save_trust

    app = app_context(ctx)
    path = _trust_for_edit(app, trust, store)
    trust_list = load_trust(path)
    message = remove_entry(trust_list, name, address)
    save_trust(trust_list)
    app.out.emit({"trust_list": str(path), "result": message})


@app.command("site")
def site_command(
    ctx: typer.Context,
    out_dir: Path = typer.Argument(..., metavar="OUTDIR", help="Folder to write (new, empty, or an earlier site)."),
    items: list[str] = typer.Argument(None, metavar="[ITEM]...", help="Pieces to publish (default: every anchored piece)."),
    trust: Path | None = typer.Option(None, "--trust", metavar="FILE",
                                      help="Trust list (TOML) the page checks against (config [provenance] trust; "
                                           "default trust.toml in the store)."),
    rpc_url: str | None = typer.Option(None, "--rpc-url", metavar="URL",
                                       help="The node the page asks (JSON-RPC, reachable from shoppers' phones; "
                                            "config [provenance] rpc_url). Without it the page checks offline."),
    bundles: list[Path] = typer.Option([], "--bundle", metavar="FILE",
                                       help="Also publish this bundle file (repeatable; no store needed)."),
    files: Path | None = typer.Option(None, "--files", metavar="DIR",
                                      help="Folder of photos and certificates: those a record attaches are "
                                           "published and hash-checked by the page."),
    serve: bool = typer.Option(False, "--serve", help="Then serve the folder on 127.0.0.1 until Ctrl-C."),
    port: int = typer.Option(8000, "--port", help="Port for --serve (0: any free port)."),
    store: Path | None = STORE_OPT,
) -> None:
    """Write a static verification page for retailers: a phone opens it from the label's
    QR code and checks the piece's proof in the browser (no install).

    Example: lgcraft provenance site shop-site --trust trust.toml --rpc-url https://node.example --serve
    """
    _require()
    from lgcraft.provenance.site import build_site, make_server
    from lgcraft.provenance.store import Store

    app = app_context(ctx)
    trust_path = _trust_path(app, trust, store)  # as verify finds it: flag, config, the store's trust.toml
    if trust_path is not None and not trust_path.exists() and trust is None:
        trust_path = None
    url = app.settings.get("provenance", "rpc_url", str, None, flag=rpc_url)
    need_store = bool(items) or not bundles
    if need_store:
        with Store(_store_folder(app, store)) as st:
            result = build_site(out_dir, store=st, items=list(items or []), bundle_files=bundles,
                                trust_path=trust_path, rpc_url=url, files_dir=files)
    else:
        result = build_site(out_dir, bundle_files=bundles, trust_path=trust_path, rpc_url=url, files_dir=files)
    for warning in result.warnings:
        app.out.warn(warning)
    if result.trust_organisations == 0:
        app.out.warn("no trust list (--trust): the page will confirm no piece")
    if url is None:
        app.out.warn("no --rpc-url: the page checks offline and says the chain was not checked")
    server = make_server(out_dir, port) if serve else None
    data = {**result.__dict__, "url": f"http://127.0.0.1:{server.server_address[1]}/" if server else None}
    app.out.emit(data, lambda: app.out.panel(
        f"{len(result.items)} piece(s) in {result.folder}: {', '.join(result.items)}"
        + (f"\nserving on {data['url']} (Ctrl-C stops)" if server else ""), "verification site"))
    sys.stdout.flush()  # the URL reaches a pipe before the server blocks
    if server is not None:
        from lgcraft.serve import serve_until_interrupted

        serve_until_interrupted(server)


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
