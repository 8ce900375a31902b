"""The fast bundle shape check and the published JSON Schema reach the same verdicts."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from lgcraft.provenance.bundle import bundle_schema, shape_error

MUTATIONS = [
    ("drop format", lambda b: b.pop("format")),
    ("extra top key", lambda b: b.__setitem__("extra", 1)),
    ("version as bool", lambda b: b.__setitem__("version", True)),
    ("merkle v2", lambda b: b.__setitem__("merkle", "lgcraft-merkle/2")),
    ("domain changed", lambda b: b["signature"]["domain"].__setitem__("version", "2")),
    ("empty item", lambda b: b.__setitem__("item_id", "")),
    ("no anchors", lambda b: b.__setitem__("anchors", [])),
    ("anchor root short", lambda b: b["anchors"][0].__setitem__("root", "0x12")),
    ("anchor chain id 0", lambda b: b["anchors"][0].__setitem__("chain_id", 0)),
    ("anchor chain id str", lambda b: b["anchors"][0].__setitem__("chain_id", "1")),
    ("anchor issuer bad", lambda b: b["anchors"][0].__setitem__("issuer", "0xZZ")),
    ("anchor extra", lambda b: b["anchors"][0].__setitem__("note", "x")),
    ("anchor no block_time", lambda b: b["anchors"][0].pop("block_time")),
    ("anchor tx null ok", lambda b: b["anchors"][0].__setitem__("tx_hash", None)),
    ("records not list", lambda b: b.__setitem__("records", {})),
    ("record hash upper", lambda b: b["records"][0].__setitem__("record_hash", b["records"][0]["record_hash"].upper())),
    ("salt missing", lambda b: b["records"][0].pop("salt")),
    ("signature short", lambda b: b["records"][0].__setitem__("signature", "0x1234")),
    ("body schema", lambda b: b["records"][0]["body"].__setitem__("schema", "x")),
    ("body event type", lambda b: b["records"][0]["body"].__setitem__("event_type", "Party")),
    ("body no actor", lambda b: b["records"][0]["body"].pop("actor")),
    ("actor address bad", lambda b: b["records"][0]["body"]["actor"].__setitem__("address", "nope")),
    ("body prev bad", lambda b: b["records"][0]["body"].__setitem__("prev", None)),
    ("proof index negative", lambda b: b["records"][0]["proof"].__setitem__("leaf_index", -1)),
    ("proof count float", lambda b: b["records"][0]["proof"].__setitem__("leaf_count", 1.5)),
    ("sibling bad", lambda b: b["records"][0]["proof"]["siblings"].append("0x00")),
    ("proof extra", lambda b: b["records"][0]["proof"].__setitem__("side", "L")),
    ("body extra field ok", lambda b: b["records"][0]["body"].__setitem__("weight_mg", 5)),
]


@pytest.fixture(scope="module")
def valid(anchored_store):
    return json.loads((anchored_store / "ring.json").read_text())


def test_valid_bundle_passes_both(valid):
    jsonschema.Draft202012Validator(bundle_schema()).validate(valid)
    assert shape_error(valid) is None


@pytest.mark.parametrize("name, mutate", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_same_verdict_as_json_schema(valid, name, mutate):
    bundle = copy.deepcopy(valid)
    mutate(bundle)
    schema_ok = jsonschema.Draft202012Validator(bundle_schema()).is_valid(bundle)
    assert (shape_error(bundle) is None) == schema_ok, (name, shape_error(bundle))


def test_non_object():
    assert shape_error([1]) == ("", "[1] is not of type 'object'")
