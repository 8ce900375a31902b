"""The small public library API other trades use (e.g. jewelry drafts --record)."""

from __future__ import annotations

import hashlib

import pytest

from lgcraft.config import Settings
from lgcraft.errors import InputError
from lgcraft.provenance import load_signer, open_store, record_design_origin, signer_from_settings


def test_record_design_origin(tmp_path, k):
    draft = tmp_path / "draft-0001.png"
    draft.write_bytes(b"\x89PNG fake draft")
    with pytest.raises(InputError, match="no provenance store"):
        open_store(cwd=tmp_path)
    settings = Settings.load(env={"LGCRAFT_PRIVATE_KEY": k.KEY_A})
    signer = signer_from_settings(settings)
    with open_store(cwd=tmp_path, create=True) as store:
        result = record_design_origin(store, signer, item_id="LG-RING-2025-0001", designer="Studio Lin",
                                      files=[draft], event_time="2025-02-01T09:00:00+08:00")
        assert result.status == "recorded" and result.record_hash.startswith("0x")
        rec = store.records_of("LG-RING-2025-0001")[0]
        assert rec.body["biz_step"] == "commissioning" and rec.body["actor"]["address"] == k.ADDR_A
        assert rec.body["attachments"][0]["sha256"] == hashlib.sha256(draft.read_bytes()).hexdigest()
    # found again from a subfolder, like git
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    with open_store(cwd=sub) as store:
        assert store.counts()["records"] == 1


def test_signer_errors():
    with pytest.raises(InputError, match="no signing key"):
        signer_from_settings(Settings.load(env={}))
    with pytest.raises(InputError, match="needs a password"):
        load_signer(keystore="k.json")
