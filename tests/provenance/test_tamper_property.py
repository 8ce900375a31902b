"""Property: any single edit inside a bundle's records makes verification fail (or the
bundle malformed) - never valid, never a traceback."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgcraft.provenance.bundle import BundleError, check_bundle_shape, verify_bundle


def leaf_paths(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaf_paths(item, (*path, index))
    else:
        yield path


def mutate(value, choice: int):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1 + choice % 3
    if isinstance(value, str):
        if not value:
            return "x"
        pos = choice % len(value)
        char = value[pos]
        if char in "0123456789abcdef":
            new = "0123456789abcdef"[("0123456789abcdef".index(char) + 1 + choice % 15) % 16]
        else:
            new = "Z" if char != "Z" else "Y"
        return value[:pos] + new + value[pos + 1:]
    return "changed"


@pytest.fixture(scope="module")
def demo_trust(k):
    from lgcraft.provenance.trust import load_trust

    return load_trust(k.DEMO_TRUST)


def test_the_untouched_bundle_is_only_unchecked_offline(bundle, demo_trust):
    report = verify_bundle(copy.deepcopy(bundle), trust=demo_trust)
    assert report.status == "unchecked" and not report.failures and report.exit_code == 3


@pytest.fixture(scope="module")
def bundle(anchored_store):
    return json.loads((anchored_store / "ring.json").read_text())


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_edit_in_records_fails(bundle, demo_trust, data):
    paths = [p for p in leaf_paths(bundle["records"])]
    path = data.draw(st.sampled_from(paths))
    choice = data.draw(st.integers(0, 10_000))
    edited = copy.deepcopy(bundle)
    target = edited["records"]
    for key in path[:-1]:
        target = target[key]
    original = target[path[-1]]
    target[path[-1]] = mutate(original, choice)
    assert target[path[-1]] != original
    try:
        check_bundle_shape(json.loads(json.dumps(edited)))
    except BundleError:
        return  # malformed: exit 2
    report = verify_bundle(edited, trust=demo_trust)
    assert report.status == "invalid", f"edit at records{list(path)} went unnoticed"
    assert report.failures and all(":" in f for f in report.failures)


def test_reordered_records_fail(bundle, demo_trust):
    edited = copy.deepcopy(bundle)
    edited["records"][1], edited["records"][2] = edited["records"][2], edited["records"][1]
    report = verify_bundle(edited, trust=demo_trust)
    assert report.status == "invalid" and any(f.startswith("hash chain") for f in report.failures)
