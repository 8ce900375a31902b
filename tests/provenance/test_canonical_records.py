"""RFC 8785 canonical form (property tests) and record validation."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgcraft.errors import InputError
from lgcraft.provenance.canonical import canonical_bytes, record_hash
from lgcraft.provenance.records import carat_to_hundredths, loads_json, validate_event

json_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_canonical_round_trips_and_is_stable(value):
    data = canonical_bytes(value)
    assert json.loads(data) == value
    assert canonical_bytes(json.loads(data)) == data  # idempotent


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_scalars, min_size=1, max_size=8), st.randoms())
def test_key_order_does_not_matter(mapping, rnd):
    items = list(mapping.items())
    rnd.shuffle(items)
    assert canonical_bytes(dict(items)) == canonical_bytes(mapping)


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_are_refused_anywhere(number):
    with pytest.raises(InputError, match="float"):
        canonical_bytes({"stones": [{"carat": number}]})


def test_known_jcs_output():
    # RFC 8785 orders keys by UTF-16 code units and escapes minimally
    assert canonical_bytes({"b": 1, "a": [True, None, "é\n"], "€": 2, "\u0080": 3}) == \
        '{"a":[true,null,"é\\n"],"b":1,"\u0080":3,"€":2}'.encode()
    assert canonical_bytes({"x": 2**53 - 1}) == b'{"x":9007199254740991}'
    with pytest.raises(InputError, match="2\\^53"):
        canonical_bytes({"x": 2**53})


def test_json_sort_keys_differs_from_jcs():
    value = {"\ufb01": 1, "\U0001f48e": 2}  # UTF-16 puts the surrogate pair first
    assert canonical_bytes(value) != json.dumps(value, sort_keys=True, separators=(",", ":"),
                                                ensure_ascii=False).encode()


def test_record_hash_changes_with_any_field(k):
    body = validate_event(k.make_event())
    assert record_hash(body) != record_hash({**body, "weight_mg": 4211})


def test_validate_fills_event_type_and_keeps_integers(k):
    body = validate_event(k.make_event(step="setting", stones=[
        {"type": "diamond", "carat": "1.02", "lab": "GIA", "report_number": "2141438167"}]))
    assert body["event_type"] == "TransformationEvent"
    assert body["stones"][0]["carat_hundredths"] == 102


@pytest.mark.parametrize("change, message", [
    ({"weight_mg": loads_json("4.21", "x")}, "weight_mg: 4.21 is not an integer"),
    ({"weight_mg": 0}, "weight_mg: 0 is out of range"),
    ({"biz_step": "polishing"}, "biz_step: 'polishing' is not one of"),
    ({"event_time": "2025-01-02 09:00"}, "event_time: '2025-01-02 09:00' is not an ISO 8601 time with a time-zone offset"),
    ({"event_time": "2025-01-02T09:00:00"}, "time-zone offset"),
    ({"event_time": "2025-02-30T09:00:00+08:00"}, "not a valid date"),
    ({"item_id": "bad id with spaces"}, "item_id: 'bad id with spaces' is not an item id"),
    ({"colour": "red"}, "unknown field 'colour'"),
    ({"metal": {"type": "gold", "fineness": 1750}}, "metal.fineness: 1750 is out of range"),
    ({"metal": {"type": "brass"}}, "metal.type: 'brass' is not one of"),
    ({"stones": [{"type": "diamond", "carat": "1.025"}]}, "stones\\[0\\].carat: 1.025 ct is not a positive weight"),
    ({"stones": [{"type": "diamond", "carat": 1.02}]}, "stones\\[0\\].carat: give the carat as text"),
    ({"stones": [{"type": "diamond", "lab": "GIA", "report_number": "12345"}]}, "GIA report numbers have 10 digits"),
    ({"stones": [{"type": "diamond", "report_number": "2141438167"}]}, "needs the lab"),
    ({"actor": {"name": "x", "address": "0x1234"}}, "actor.address: '0x1234' is not an EVM address"),
    ({"actor": {"name": "x", "address": "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266"}}, "wrong EIP-55 checksum"),
    ({"material_source": "found"}, "material_source: 'found' is not one of"),
    ({"attachments": [{"name": "a.pdf", "sha256": "xyz"}]}, "attachments\\[0\\].sha256: 'xyz' is not a SHA-256"),
    ({"biz_step": "selling"}, "counterparty: a selling event needs the counterparty"),
    ({"location": {"name": "Shenzhen", "country": "China"}}, "location.country"),
    ({"location": {"name": "Shenzhen", "gln": "123"}}, "13-digit GS1 GLN"),
    ({"prev": "0xabc"}, "prev: '0xabc' is not a record hash"),
])
def test_validation_errors_name_field_and_value(k, change, message):
    with pytest.raises(InputError, match=message):
        validate_event(k.make_event(**change))


def test_missing_fields(k):
    event = k.make_event()
    del event["actor"]
    with pytest.raises(InputError, match="record.actor: expected an object"):
        validate_event(event)
    with pytest.raises(InputError, match="record.item_id: is required"):
        validate_event({"biz_step": "casting"})


def test_carats():
    assert carat_to_hundredths("0.5") == 50
    assert carat_to_hundredths("2ct") == 200
    with pytest.raises(InputError):
        carat_to_hundredths("abc")
    with pytest.raises(InputError):
        carat_to_hundredths("-1")


@pytest.mark.parametrize("text", ["inf", "-inf", "1e999", "1e99999999999", "100000.01"])
def test_carats_out_of_range_are_refused_by_value(text):
    with pytest.raises(InputError, match=f"carat: '?{re.escape(text)}'? "):
        carat_to_hundredths(text)


def test_loads_json_rejects_nan():
    with pytest.raises(InputError, match="not valid JSON"):
        loads_json('{"weight_mg": NaN}', "f.json")


any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
wide_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4), max_leaves=25)


@settings(max_examples=500, deadline=None)
@given(wide_values)
def test_fast_path_equals_reference_rfc8785(value):
    """The json-module fast path must be byte-identical to the rfc8785 package."""
    from lgcraft.provenance.canonical import canonical_bytes_reference

    assert canonical_bytes(value) == canonical_bytes_reference(value)


def test_control_characters_and_lone_surrogates():
    from lgcraft.provenance.canonical import canonical_bytes_reference

    value = {"note": "tab\t nl\n bell\x07 del\x7f quote\" back\\ slash/ \u2028 \u00e9 \u4e2d"}
    assert canonical_bytes(value) == canonical_bytes_reference(value)
    with pytest.raises(InputError, match="surrogate"):
        canonical_bytes({"note": "\ud800"})


event_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.text(max_size=30)
    | st.sampled_from(["casting", "grading", "gold", "diamond", "2025-01-02T09:00:00+08:00", "1.02"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "name", "carat", "lab", "report_number", "fineness", "address", "x"]),
        inner, max_size=4), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted({"item_id", "biz_step", "event_time", "actor", "location",
                                               "metal", "weight_mg", "stones", "material_source", "compliance",
                                               "attachments", "inputs", "counterparty", "note", "prev", "bogus"})),
                       event_values, max_size=8))
def test_any_input_validates_or_fails_cleanly(raw):
    """Arbitrary input: a clean InputError naming a field, or a body that hashes."""
    try:
        body = validate_event(raw)
    except InputError as exc:
        assert exc.message.startswith("record")
        return
    assert canonical_bytes(body)
