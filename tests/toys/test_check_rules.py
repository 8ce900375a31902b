"""Every check rule: a script that breaks it (with the shortest path) and one that passes."""

from __future__ import annotations

import copy

import pytest

from lgcraft.toys.check import RULES, check_program
from lgcraft.toys.generate import GENERATED_PROFILE

from .conftest import program_from

LOUD = dict(GENERATED_PROFILE, speaker={"max_laeq_db": 95, "max_peak_db": 110})
QUIET_LOW_BATTERY = {"battery_low": {"actions": [{"play": {"clip": "chime", "volume": 40}}]}}


def wrap(states: dict, initial: str, variables: dict | None = None, events=None) -> dict:
    """A script whose top-level 'toy' state handles low battery (so that rule passes)."""
    data = {"script": "t", "initial": "toy",
            "states": {"toy": {"initial": initial, "on": dict(QUIET_LOW_BATTERY), "states": states}}}
    if variables:
        data["variables"] = variables
    if events:
        data["events"] = events
    return data


def leaf(**body) -> dict:
    return body


def loop_ab(extra_a=None, extra_b=None) -> dict:
    """a <-> b on press, the simplest passing machine."""
    a = {"on": {"press": "b"}}
    b = {"on": {"press": "a"}}
    a.update(extra_a or {})
    b.update(extra_b or {})
    return {"a": a, "b": b}


CASES = {
    "unreachable-state": (
        wrap({"a": {"on": {"press": "a"}}, "b": {"on": {"press": "a"}}}, "a"),
        wrap(loop_ab(), "a"),
        None,
    ),
    "trap-state": (
        wrap({"a": {"on": {"press": "b"}}, "b": {}}, "a"),
        wrap({"a": {"on": {"press": "b"}}, "b": {"final": True}}, "a"),
        ["press"],
    ),
    "conflicting-transitions": (
        wrap({"a": {"on": {"press": [{"target": "b", "guard": "x > 1"}, {"target": "a", "guard": "x > 0"}],
                           "tap": {"actions": [{"set": {"x": "x + 1"}}]}}},
              "b": {"on": {"press": "a"}}},
             "a", {"x": {"min": 0, "max": 3, "initial": 0}}),
        wrap({"a": {"on": {"press": [{"target": "b", "guard": "x > 1"}, {"target": "a", "guard": "x <= 1"}],
                           "tap": {"actions": [{"set": {"x": "x + 1"}}]}}},
              "b": {"on": {"press": "a"}}},
             "a", {"x": {"min": 0, "max": 3, "initial": 0}}),
        ["tap", "tap", "press"],
    ),
    "dead-timer": (
        wrap(loop_ab({"after": [{"delay": "5s", "target": "b"}, {"delay": "10s", "target": "b"}]}), "a"),
        wrap(loop_ab({"after": [{"delay": "5s", "target": "b"}]}), "a"),
        [],
    ),
    "loudness": (
        wrap(loop_ab(None, {"entry": [{"play": {"clip": "siren", "volume": 100}}]}), "a"),
        wrap(loop_ab(None, {"entry": [{"play": {"clip": "siren", "volume": 30}}]}), "a"),
        ["press"],
    ),
    "flashing": (
        wrap(loop_ab(None, {"entry": [{"led": {"name": "eyes", "color": "red", "pattern": "blink", "hz": 5}}]}), "a"),
        wrap(loop_ab(None, {"entry": [{"led": {"name": "eyes", "color": "red", "pattern": "blink", "hz": 2}}]}), "a"),
        ["press"],
    ),
    "motor-on-time": (
        wrap(loop_ab(None, {"entry": [{"motor": {"name": "wheel", "speed": 50, "duration": "5s"}}],
                            "after": [{"delay": "6s", "target": "a"}]}), "a"),
        wrap(loop_ab(None, {"entry": [{"motor": {"name": "wheel", "speed": 50, "duration": "2s"}}],
                            "after": [{"delay": "6s", "target": "a"}]}), "a"),
        ["press"],
    ),
    "motor-duty": (
        wrap(loop_ab(None, {"entry": [{"motor": {"name": "wheel", "speed": 50, "duration": "2s"}}],
                            "after": [{"delay": "2500ms", "target": "b"}]}), "a"),
        wrap(loop_ab(None, {"entry": [{"motor": {"name": "wheel", "speed": 50, "duration": "2s"}}],
                            "after": [{"delay": "5s", "target": "b"}]}), "a"),
        ["press"],
    ),
    "motor-timeout": (
        wrap(loop_ab(None, {"entry": [{"motor": {"name": "wheel", "speed": 50, "duration": "1s"}}]}), "a"),
        wrap(loop_ab(None, {"entry": [{"motor": {"name": "wheel", "speed": 50, "duration": "1s"}}],
                            "after": [{"delay": "3s", "target": "a"}]}), "a"),
        ["press"],
    ),
    "low-battery": (
        {"script": "t", "initial": "a", "states": loop_ab(None, {"on": {"press": "a", "battery_low": "a"}})},
        {"script": "t", "initial": "a",
         "states": loop_ab({"on": {"press": "b", "battery_low": "b"}}, {"on": {"press": "a", "battery_low": "b"}})},
        ["battery_low"],
    ),
    "mic-consent": (
        wrap(loop_ab(None, {"entry": [{"led": {"name": "mic_led", "color": "white"}}, {"listen": True}],
                            "exit": [{"listen": False}], "after": [{"delay": "10s", "target": "a"}]}), "a"),
        wrap({"a": {"on": {"press": {"target": "b", "guard": "consent == 1"},
                           "consent": {"actions": [{"set": {"consent": 1}}]},
                           "revoke": {"actions": [{"set": {"consent": 0}}]}}},
              "b": {"entry": [{"led": {"name": "mic_led", "color": "white"}}, {"listen": True}],
                    "exit": [{"listen": False}],
                    "on": {"press": "a", "revoke": {"target": "a", "actions": [{"set": {"consent": 0}}]}},
                    "after": [{"delay": "10s", "target": "a"}]}},
             "a", {"consent": {"min": 0, "max": 1, "initial": 0}}),
        ["press"],
    ),
    "mic-indicator": (
        wrap({"a": {"on": {"consent": "b"}},
              "b": {"entry": [{"record": {"duration": "2s"}}], "after": [{"delay": "3s", "target": "a"}]}}, "a"),
        wrap({"a": {"on": {"consent": "b"}},
              "b": {"entry": [{"led": {"name": "mic_led", "color": "white"}}, {"record": {"duration": "2s"}}],
                    "exit": [{"led": {"name": "mic_led", "color": "off", "pattern": "off"}}],
                    "after": [{"delay": "3s", "target": "a"}]}}, "a"),
        ["consent"],
    ),
    "mic-always-on": (
        wrap({"a": {"on": {"consent": "b"}},
              "b": {"entry": [{"led": {"name": "mic_led", "color": "white"}}, {"listen": True}],
                    "on": {"keyword.hello": "a"}, "exit": [{"listen": False}]}}, "a"),
        wrap({"a": {"on": {"consent": "b"}},
              "b": {"entry": [{"led": {"name": "mic_led", "color": "white"}}, {"listen": True}],
                    "on": {"keyword.hello": "a"}, "exit": [{"listen": False}],
                    "after": [{"delay": "20s", "target": "a"}]}}, "a"),
        ["consent"],
    ),
    "upload-delete": (
        wrap(loop_ab(None, {"entry": ["upload"]}), "a"),
        wrap(loop_ab(None, {"entry": ["upload"], "exit": ["delete"], "after": [{"delay": "2s", "target": "a"}]}), "a"),
        ["press"],
    ),
}


def test_every_rule_has_a_case():
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fails_on_bad_script_with_shortest_path(rule):
    bad, _, path = CASES[rule]
    report = check_program(program_from(bad, LOUD if rule == "loudness" else None))
    result = next(r for r in report.rules if r.rule == rule)
    assert not result.passed, result
    assert not report.passed
    if path is not None:
        assert result.findings[0].path == path


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_passes_on_good_script(rule):
    _, good, _ = CASES[rule]
    report = check_program(program_from(good, LOUD if rule == "loudness" else None))
    result = next(r for r in report.rules if r.rule == rule)
    assert result.passed, result.findings


def test_timer_driven_flashing_is_caught():
    fast = {"a": {"entry": [{"led": {"name": "eyes", "color": "red"}}], "after": [{"delay": "100ms", "target": "b"}]},
            "b": {"entry": [{"led": {"name": "eyes", "color": "off", "pattern": "off"}}],
                  "after": [{"delay": "100ms", "target": "a"}]}}
    slow = copy.deepcopy(fast)
    slow["a"]["after"][0]["delay"] = "300ms"
    slow["b"]["after"][0]["delay"] = "300ms"
    bad = next(r for r in check_program(program_from(wrap(fast, "a"))).rules if r.rule == "flashing")
    good = next(r for r in check_program(program_from(wrap(slow, "a"))).rules if r.rule == "flashing")
    assert not bad.passed and "within 1 s" in bad.findings[0].message
    assert good.passed


def test_loudness_limit_depends_on_category():
    script = wrap(loop_ab(None, {"entry": [{"play": {"clip": "siren", "volume": 60}}]}), "a")
    ear = dict(GENERATED_PROFILE, category="close-to-the-ear")
    held = next(r for r in check_program(program_from(script)).rules if r.rule == "loudness")
    near = next(r for r in check_program(program_from(script, ear)).rules if r.rule == "loudness")
    assert held.passed and not near.passed
    assert "close-to-the-ear" in near.findings[0].message


def test_examples_pass_every_rule():
    from .conftest import EXAMPLE_NAMES, example_program

    for name in EXAMPLE_NAMES:
        report = check_program(example_program(name))
        assert report.passed, (name, report.failed_rules)


def test_explorer_caches_do_not_change_results(monkeypatch):
    """The outcome caches of the explorer give the same report as recomputing every move."""
    import random

    from lgcraft.toys import check as checker
    from lgcraft.toys.generate import random_script

    def summary(report):
        return (report.configurations, report.moves,
                [(r.rule, r.passed, [(f.message, f.path) for f in r.findings]) for r in report.rules])

    compared = 0
    for i in range(12):
        program = program_from(random_script(random.Random(2000 + i)))
        first = check_program(program, max_configurations=8000)
        if first.undecided_rules:  # the bound was hit: not a full report to compare
            continue
        cached = summary(first)
        with monkeypatch.context() as patch:
            patch.setattr(checker._Checker, "_event_outcomes", lambda self, c, m: self._outcomes(c, m))
            patch.setattr(checker._Checker, "_wait_outcomes", lambda self, c, m: self._outcomes(c, m))
            fresh = summary(check_program(program, max_configurations=8000))
        assert cached == fresh
        compared += 1
    assert compared >= 6


def test_listening_loop_through_timers_is_always_on():
    listening = {"entry": [{"led": {"name": "mic_led", "color": "white"}}, {"listen": True}],
                 "exit": [{"listen": False}], "on": {"keyword.hello": "a"},
                 "after": [{"delay": "20s", "target": "b"}]}  # re-enters itself: listens forever
    script = wrap({"a": {"on": {"consent": "b"}}, "b": listening}, "a")
    result = next(r for r in check_program(program_from(script)).rules if r.rule == "mic-always-on")
    assert not result.passed and result.findings[0].path == ["consent"]
    listening["after"][0]["target"] = "a"
    result = next(r for r in check_program(program_from(script)).rules if r.rule == "mic-always-on")
    assert result.passed


def test_listening_on_after_consent_is_revoked_fails():
    listening = {"entry": [{"led": {"name": "mic_led", "color": "white"}}, {"listen": True}],
                 "exit": [{"listen": False}], "after": [{"delay": "20s", "target": "a"}]}
    script = wrap({"a": {"on": {"press": {"target": "b", "guard": "consent == 1"},
                                "consent": {"actions": [{"set": {"consent": 1}}]},
                                "revoke": {"actions": [{"set": {"consent": 0}}]}}},
                   "b": listening}, "a", {"consent": {"min": 0, "max": 1, "initial": 0}})
    result = next(r for r in check_program(program_from(script)).rules if r.rule == "mic-consent")
    assert not result.passed
    assert result.findings[0].path == ["consent", "press", "revoke"]
    assert "after the consent was revoked" in result.findings[0].message
    listening["on"] = {"revoke": {"target": "a", "actions": [{"set": {"consent": 0}}]}}
    result = next(r for r in check_program(program_from(script)).rules if r.rule == "mic-consent")
    assert result.passed
