"""Parsing: positions of errors, schema, duplicate keys, YAML 1.2 words."""

from __future__ import annotations

import pytest

from lgcraft.toys.model import load_profile, load_script
from lgcraft.toys.program import check_program
from lgcraft.toys.source import ToyScriptError, parse_yaml

from .conftest import profile_text


def _diags(text: str, profile: str | None = None):
    try:
        script = load_script(text=text)
    except ToyScriptError as exc:
        return exc.diagnostics
    return check_program(script, load_profile(text=profile or profile_text()))


def test_positions_are_one_based_lines_and_columns():
    doc = parse_yaml("a:\n  b: [1, 2]\n", "f.yaml")
    assert doc.pos(("a", "b", 1)) == (2, 10)
    assert doc.diag(("a", "b", 1), "bad", 2).__str__() == "f.yaml:2:10: bad (value: 2)"


def test_yaml_syntax_error_has_position():
    with pytest.raises(ToyScriptError) as info:
        load_script(text="script: x\nstates: [\n")
    diag = info.value.diagnostics[0]
    assert diag.line >= 2 and "YAML syntax error" in diag.message


def test_on_is_a_key_not_a_boolean():
    script = load_script(text="script: s\ninitial: a\nstates:\n  a:\n    on: {press: a}\n")
    assert script.states["a"].transitions[0].event == "press"


def test_schema_error_names_value_and_position():
    diags = _diags("script: s\ninitial: a\nstates:\n  a:\n    entry:\n      - led: {color: red, pattern: strobe}\n")
    assert (diags[0].line, diags[0].column) == (6, 36)
    assert diags[0].value == "strobe"
    assert "must be one of" in str(diags[0])


def test_unknown_key_is_reported_at_the_key():
    diags = _diags("script: s\ninitial: a\nstates:\n  a:\n    entyr: []\n")
    assert (diags[0].line, diags[0].column) == (5, 5)
    assert "unknown key 'entyr'" in diags[0].message


def test_duplicate_key():
    diags = _diags("script: s\ninitial: a\nstates:\n  a: {}\n  a: {}\n")
    assert diags[0].line == 5 and "duplicate" in diags[0].message


def test_unknown_event_for_this_toy():
    diags = _diags("script: s\ninitial: a\nstates:\n  a:\n    on:\n      tuch: a\n")
    assert len(diags) == 1
    assert (diags[0].line, diags[0].column, diags[0].value) == (6, 7, "tuch")
    assert "unknown event" in diags[0].message


def test_unknown_actuator_and_missing_asset():
    text = ("script: s\ninitial: a\nstates:\n  a:\n    entry:\n"
            "      - motor: {name: arm, speed: 10, duration: 1s}\n"
            "      - play: {clip: roar, volume: 50}\n")
    diags = _diags(text)
    messages = {d.value: (d.line, d.message) for d in diags}
    assert messages["arm"][0] == 6 and "unknown motor" in messages["arm"][1]
    assert messages["roar"][0] == 7 and "missing audio asset" in messages["roar"][1]


@pytest.mark.parametrize("guard, fragment", [
    ("mood + 1", "expected a bool expression"),
    ("mood and true", "'and' needs bool operands"),
    ("happy > 2", "unknown variable 'happy'"),
    ("mood > 1 > 0", "chained comparisons"),
    ("mood / 2 > 1", "unsupported operator"),
    ("mood * 30000 * 30000 > 1", "overflow"),
])
def test_type_errors_in_guards(guard, fragment):
    text = ("script: s\nvariables: {mood: {min: 0, max: 10}}\ninitial: a\nstates:\n  a:\n    on:\n"
            f"      press: {{target: a, guard: '{guard}'}}\n")
    diags = _diags(text)
    assert len(diags) == 1, diags
    assert fragment in diags[0].message
    assert diags[0].line == 7 and diags[0].value == guard


def test_bad_target_and_bad_initial():
    diags = _diags("script: s\ninitial: b\nstates:\n  a:\n    on: {press: nowhere}\n")
    text = " | ".join(str(d) for d in diags)
    assert "initial state is not defined" in text and "unknown target state" in text


def test_profile_errors_have_positions():
    with pytest.raises(ToyScriptError) as info:
        load_profile(text="profile: p\ncategory: spaceship\nboard: {mcu: x, flash_budget_bytes: 1, ram_budget_bytes: 1}\n")
    assert info.value.diagnostics[0].line == 2 and info.value.diagnostics[0].value == "spaceship"


def test_published_schemas_are_valid_and_accept_the_examples():
    import jsonschema
    import yaml

    from lgcraft.toys.model import schema

    from .conftest import EXAMPLE_NAMES, EXAMPLES

    for kind in ("script", "profile"):
        jsonschema.Draft202012Validator.check_schema(schema(kind))
    for name in EXAMPLE_NAMES:
        # a plain YAML 1.1 loader turns the key 'on' into True; editors use YAML 1.2
        script = yaml.load((EXAMPLES / f"{name}.toy.yaml").read_text(), Loader=_Yaml12Loader)
        jsonschema.validate(script, schema("script"))
        jsonschema.validate(yaml.safe_load((EXAMPLES / f"{name}.profile.yaml").read_text()), schema("profile"))


def _yaml12_loader():
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {k: [r for r in v if r[0] != "tag:yaml.org,2002:bool"]
                                      for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))
    return Loader


_Yaml12Loader = _yaml12_loader()
