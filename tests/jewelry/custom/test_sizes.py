"""Ring sizes: the tables, parsing, and conversions both ways (property tests)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgcraft.errors import InputError
from lgcraft.jewelry.custom.sizes import SYSTEMS, TABLES, parse_size, sizes_for_diameter

ALL = [(system, label) for system in SYSTEMS for label, _ in TABLES[system]]


def test_anchor_values_from_the_cited_tables():
    assert parse_size("54", "iso").inner_circumference_mm == 54.0
    assert parse_size("7", "us").inner_diameter_mm == pytest.approx(17.3196, abs=1e-4)
    assert parse_size("0", "us").inner_diameter_mm == pytest.approx(11.630, abs=1e-3)
    assert parse_size("A", "uk").inner_circumference_mm == 37.5
    assert parse_size("N 1/2", "uk").inner_circumference_mm == pytest.approx(37.5 + 13.5 * 1.25)
    assert parse_size("13", "jp").inner_circumference_mm == parse_size("6.5", "us").inner_circumference_mm
    assert parse_size("15", "hk").inner_circumference_mm == parse_size("7", "us").inner_circumference_mm


@pytest.mark.parametrize("text,system,label", [
    ("7 1/4", "us", "7.25"), ("7¼", "us", "7.25"), (" 7.50 ", "us", "7.5"), ("n½", "uk", "N 1/2"),
    ("N1/2", "uk", "N 1/2"), ("m", "uk", "M"), ("54", "ISO", "54"), ("13", "Jp", "13")])
def test_spellings_of_one_size(text, system, label):
    assert parse_size(text, system).label == label


@pytest.mark.parametrize("text,system", [("7.3", "us"), ("17", "us"), ("39", "iso"), ("77", "iso"),
                                         ("Z 3/4", "uk"), ("AA", "uk"), ("28", "jp"), ("4", "hk"),
                                         ("seven", "us"), ("", "us"), ("7 1/0", "us")])
def test_sizes_outside_the_tables_are_refused_by_value(text, system):
    with pytest.raises(InputError) as err:
        parse_size(text, system)
    assert repr(text) in err.value.message and system.upper() in err.value.message


def test_unknown_system():
    with pytest.raises(InputError, match="unknown size system 'eu'"):
        parse_size("7", "eu")


@settings(deadline=None)  # a loaded CI machine must not fail a pure function
@given(st.sampled_from(ALL))
def test_every_size_converts_back_to_itself(entry):
    system, label = entry
    size = parse_size(label, system)
    assert sizes_for_diameter(size.inner_diameter_mm)[system] == label
    assert size.inner_diameter_mm * math.pi == pytest.approx(size.inner_circumference_mm)


@settings(deadline=None)  # a loaded CI machine must not fail a pure function
@given(st.sampled_from(SYSTEMS), st.data())
def test_tables_grow_with_the_size(system, data):
    table = TABLES[system]
    i = data.draw(st.integers(0, len(table) - 2))
    assert table[i][1] < table[i + 1][1]


@settings(deadline=None)  # a loaded CI machine must not fail a pure function
@given(st.floats(14.0, 23.0, allow_nan=False))
def test_nearest_size_is_within_half_a_step(diameter):
    for system, label in sizes_for_diameter(diameter).items():
        if label is None:
            continue
        circumference = parse_size(label, system).inner_circumference_mm
        table = [c for _, c in TABLES[system]]
        step = max(b - a for a, b in zip(table, table[1:], strict=False))
        assert abs(circumference - diameter * math.pi) <= step / 2 + 1e-9


@settings(deadline=None)  # a loaded CI machine must not fail a pure function
@given(st.sampled_from(["us", "iso", "jp", "hk"]), st.floats(-5, 100, allow_nan=False))
def test_any_number_either_parses_to_a_table_size_or_is_refused(system, value):
    try:
        size = parse_size(f"{value:g}", system)
    except InputError:
        return
    assert (size.label, size.inner_circumference_mm) in TABLES[system]
