"""Provenance: signed jewelry records, Merkle batches anchored on an EVM chain.

Public library API (light to import; heavy modules load inside the calls)::

    from lgcraft.provenance import open_store, signer_from_settings, record_design_origin

    with open_store() as store:                       # .lgcraft/ in cwd or a parent
        signer = signer_from_settings(app.settings)   # LGCRAFT_PRIVATE_KEY or keystore
        result = record_design_origin(store, signer, item_id="LG-RING-2025-0001",
                                      designer="Studio Lin", files=[Path("draft.png")])
        result.record_hash                            # '0x...'

Everything else (anchor, export, verify) lives in `lgcraft.provenance.service` and
`lgcraft.provenance.bundle`; the CLI in `lgcraft.provenance.cli` is a thin skin on them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from lgcraft.config import Settings
    from lgcraft.provenance.service import RecordResult
    from lgcraft.provenance.signing import Signer
    from lgcraft.provenance.store import Store

__all__ = ["open_store", "load_signer", "signer_from_settings", "record_event", "record_design_origin"]


def open_store(store: str | Path | None = None, *, cwd: Path | None = None, create: bool = False) -> Store:
    """Open the provenance store: ``store`` if given, else ``.lgcraft/`` in ``cwd`` (default
    the working directory) or a parent, like git. ``create=True`` makes one in
    ``store`` or ``cwd/.lgcraft`` when none is found. Use it as a context manager.
    Raises `lgcraft.errors.InputError` when there is no store (and not ``create``).
    """
    from lgcraft.errors import InputError
    from lgcraft.provenance.service import init_store, resolve_store
    from lgcraft.provenance.store import Store

    try:
        return Store(resolve_store(store, cwd))
    except InputError:
        if not create:
            raise
        return Store(Path(init_store(store, cwd).store))


def load_signer(*, private_key: str | None = None, keystore: str | Path | None = None,
                password: str | None = None) -> Signer:
    """A signing key from a hex private key, or from a keystore file and its password."""
    from lgcraft.errors import InputError
    from lgcraft.provenance.signing import signer_from_keystore, signer_from_private_key

    if keystore is not None:
        if password is None:
            raise InputError(f"keystore {keystore} needs a password (LGCRAFT_KEYSTORE_PASSWORD)")
        return signer_from_keystore(Path(keystore).expanduser(), password)
    if private_key:
        return signer_from_private_key(private_key)
    raise InputError("no signing key: set LGCRAFT_PRIVATE_KEY or [provenance] keystore with "
                     "LGCRAFT_KEYSTORE_PASSWORD")


def signer_from_settings(settings: Settings, keystore: str | Path | None = None) -> Signer:
    """The configured key: ``keystore`` (or ``[provenance] keystore``) with
    ``LGCRAFT_KEYSTORE_PASSWORD``, else ``LGCRAFT_PRIVATE_KEY`` (no prompt here)."""
    path = settings.get("provenance", "keystore", str, None, flag=str(keystore) if keystore else None)
    return load_signer(private_key=settings.secret("LGCRAFT_PRIVATE_KEY"), keystore=path,
                       password=settings.secret("LGCRAFT_KEYSTORE_PASSWORD"))


def record_event(store: Store, signer: Signer, event: dict[str, Any]) -> RecordResult:
    """Validate, chain, sign and store one event (see `lgcraft.provenance.records`)."""
    from lgcraft.provenance.service import record_events

    return record_events(store, [event], signer)[0]


def record_design_origin(store: Store, signer: Signer, *, item_id: str, designer: str,
                         files: list[str | Path], event_time: str | None = None,
                         note: str | None = None, location: str | None = None,
                         metal: dict[str, Any] | None = None) -> RecordResult:
    """Record where a piece's design came from: a ``commissioning`` event by
    ``designer`` whose attachments reference ``files`` (draft PNGs, the recipe JSON, a
    GLB mesh) by SHA-256. Returns the stored record (``record_hash``, ``seq``, ...).

    >>> record_design_origin(store, signer, item_id="LG-RING-2025-0001",  # doctest: +SKIP
    ...                      designer="Studio Lin", files=["draft-0001.png", "recipe.json"])
    """
    from lgcraft.provenance.records import attachment_for_file

    event: dict[str, Any] = {
        "item_id": item_id,
        "biz_step": "commissioning",
        "event_time": event_time or datetime.now().astimezone().isoformat(timespec="seconds"),
        "actor": {"name": designer, "role": "designer", "address": signer.address},
        "attachments": [attachment_for_file(Path(f)) for f in files],
        "note": note or "design origin",
    }
    if location:
        event["location"] = {"name": location}
    if metal:
        event["metal"] = metal
    return record_event(store, signer, event)
