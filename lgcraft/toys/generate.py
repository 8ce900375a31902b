"""Generated scripts: for benchmarks (a realistic N-state toy) and property tests
(random programs that use every feature)."""

from __future__ import annotations

import random

SENSOR_EVENTS = ["press", "tap", "shake", "tilt", "hug", "dark", "bright"]
GENERATED_PROFILE = {
    "profile": "generated-toy",
    "category": "hand-held",
    "board": {"mcu": "nRF52840", "flash_budget_bytes": 16384, "ram_budget_bytes": 1024},
    "sensors": {"buttons": ["press", "tap"], "motion": ["shake", "tilt", "hug"],
                "light": ["dark", "bright"], "battery": ["battery_low", "charging"],
                "app": ["consent", "revoke"]},
    "microphone": {"keywords": ["hello", "play"], "indicator_led": "mic_led"},
    "speaker": {"max_laeq_db": 80, "max_peak_db": 100},
    "leds": {"eyes": {"rgb": True}, "mic_led": {"rgb": False}},
    "motors": {"wheel": {"max_on_ms": 3000, "max_duty_percent": 60, "duty_window_ms": 10000}},
    "network": {"upload": True},
    "privacy": {"consent_event": "consent", "revoke_event": "revoke"},
    "battery_low_event": "battery_low",
    "assets": {name: {"duration_ms": 800, "level_dbfs": -12, "peak_dbfs": -4}
               for name in ("beep", "giggle", "song", "story", "yawn", "chime")}
    | {"siren": {"duration_ms": 1500, "level_dbfs": -3, "peak_dbfs": -1}},
}
_CLIPS = list(GENERATED_PROFILE["assets"])
_COLORS = ["red", "green", "blue", "yellow", "pink", "warm_white", "cyan"]


def generate_script(n_states: int = 50, seed: int = 0, *, group_size: int = 8,
                    var_max: int = 4) -> dict:
    """A plausible toy with ``n_states`` states in total: a top-level 'toy' state
    (low battery handled there) holding modes of ``group_size`` leaves, each leaf with
    entry actions, two or three sensor transitions (some guarded), and a timer."""
    rng = random.Random(seed)
    n_leaves = max(2, n_states - 2 - max(1, (n_states - 2) // (group_size + 1)))
    n_groups = max(1, n_states - 2 - n_leaves)
    n_leaves = n_states - 2 - n_groups
    leaves = [f"s{i}" for i in range(n_leaves)]
    groups: list[list[str]] = [[] for _ in range(n_groups)]
    for i, leaf in enumerate(leaves):
        groups[i % n_groups].append(leaf)
    states: dict = {}
    for g, members in enumerate(groups):
        body: dict = {}
        for leaf in members:
            entry = [{"led": {"name": "eyes", "color": rng.choice(_COLORS), "pattern": "solid"}}]
            if rng.random() < 0.6:
                entry.append({"play": {"clip": rng.choice(_CLIPS), "volume": rng.choice([40, 60, 80])}})
            if rng.random() < 0.3:
                entry.append({"set": {"energy": f"energy - {rng.randint(1, 2)}"}})
            on: dict = {}
            for event in rng.sample(SENSOR_EVENTS, rng.randint(2, 3)):
                target = rng.choice(leaves)
                if rng.random() < 0.3:
                    on[event] = [{"target": target, "guard": f"mood >= {rng.randint(1, var_max)}"},
                                 {"target": rng.choice(members), "actions": [{"set": {"mood": "mood + 1"}}]}]
                else:
                    on[event] = {"target": target}
            after = [{"delay": f"{rng.choice([2, 3, 5, 10])}s", "target": rng.choice(leaves),
                      "actions": [{"set": {"energy": "energy + 1"}}]}]
            body[leaf] = {"entry": entry, "on": on, "after": after}
        states[f"mode{g}"] = {"initial": members[0], "states": body}
    return {
        "script": f"generated-{n_states}",
        "version": 1,
        "seed": seed,
        "variables": {"mood": {"min": 0, "max": var_max, "initial": 1},
                      "energy": {"min": 0, "max": var_max, "initial": var_max}},
        "initial": "toy",
        "states": {
            "toy": {"initial": "mode0", "on": {"battery_low": "low_battery"}, "states": states},
            "low_battery": {"entry": [{"led": {"name": "eyes", "color": "red", "pattern": "pulse", "hz": 0.5}}],
                            "on": {"charging": "toy", "battery_low": {"actions": [{"play": {"clip": "chime", "volume": 40}}]}}},
        },
    }


def random_script(rng: random.Random, *, n_states: int | None = None) -> dict:
    """A random (valid) script exercising every construct, for property tests."""
    n = n_states or rng.randint(2, 9)
    names = [f"st{i}" for i in range(n)]
    parent: dict[str, str | None] = {names[0]: None}
    for i, name in enumerate(names[1:], 1):
        parent[name] = rng.choice([None, *names[:i]]) if rng.random() < 0.5 else None
    children = {name: [c for c in names if parent[c] == name] for name in names}
    events = ["ping", "pong"]
    external = ["press", "tap", "shake", "consent", "revoke", "battery_low", "keyword.hello"]
    variables = {"a": (0, rng.randint(1, 6)), "b": (-3, rng.randint(0, 9))}

    def expr_int() -> str:
        return rng.choice(["a", "b", "a + 1", "b - a", "a * 2 - b", "max(a, b)", "min(a, 3)", "-b", "7"])

    def expr_bool() -> str:
        return rng.choice(["a > 1", "b <= 2", "a == b", "not (a < 2)", "a != 0 and b > -2",
                           "a >= 3 or b < 0", "true"])

    def actions(depth: int = 0) -> list:
        result = []
        for _ in range(rng.randint(0, 3)):
            kind = rng.choice(["play", "speak", "led", "motor", "record", "listen", "upload",
                               "delete", "set", "raise", "random", "utility"])
            if kind in ("random", "utility") and depth >= 2:
                kind = "set"
            if kind in ("play", "speak"):
                result.append({kind: {"clip": rng.choice(_CLIPS), "volume": rng.randint(0, 100)}})
            elif kind == "led":
                pattern = rng.choice(["off", "solid", "blink", "pulse"])
                led = {"name": rng.choice(["eyes", "mic_led"]), "color": rng.choice(_COLORS + ["#102030", "off"]),
                       "pattern": pattern}
                if pattern in ("blink", "pulse"):
                    led["hz"] = rng.choice([0.5, 1, 2, 2.5, 4])
                result.append({"led": led})
            elif kind == "motor":
                result.append({"motor": {"name": "wheel", "speed": rng.randint(-100, 100),
                                         "duration": rng.choice(["500ms", "1s", "2.5s", 1200])}})
            elif kind == "record":
                result.append({"record": {"duration": rng.choice(["1s", "3s"])}})
            elif kind == "listen":
                result.append({"listen": rng.random() < 0.5})
            elif kind in ("upload", "delete"):
                result.append(kind)
            elif kind == "set":
                result.append({"set": {rng.choice(["a", "b"]): expr_int()}})
            elif kind == "raise":
                result.append({"raise": rng.choice(events)})
            elif kind == "random":
                result.append({"random": [{"weight": rng.randint(1, 9), "actions": actions(depth + 1)}
                                          for _ in range(rng.randint(1, 3))]})
            else:
                result.append({"utility": [{"score": expr_int(), "actions": actions(depth + 1)}
                                           for _ in range(rng.randint(1, 3))]})
        return result

    def transition(with_delay: bool) -> dict:
        body: dict = {}
        if with_delay:
            body["delay"] = rng.choice([100, 250, 1000, 1500, "2s", "5s"])
        if rng.random() < 0.85:
            body["target"] = rng.choice(names)
        if rng.random() < 0.4:
            body["guard"] = expr_bool()
        acts = actions()
        if acts:
            body["actions"] = acts
        return body

    def state(name: str) -> dict:
        body: dict = {}
        if rng.random() < 0.7:
            body["entry"] = actions()
        if rng.random() < 0.4:
            body["exit"] = actions()
        on: dict = {}
        for event in rng.sample(external + events, rng.randint(0, 4)):
            items = [transition(False) for _ in range(rng.randint(1, 2))]
            on[event] = items
        if on:
            body["on"] = on
        if rng.random() < 0.6:
            body["after"] = [transition(True) for _ in range(rng.randint(1, 2))]
        if children[name]:
            body["initial"] = rng.choice(children[name])
            body["states"] = {c: state(c) for c in children[name]}
        return body

    top = [name for name in names if parent[name] is None]
    return {
        "script": "random",
        "version": 1,
        "seed": rng.randrange(2**32),
        "variables": {k: {"min": lo, "max": hi, "initial": rng.randint(lo, hi)} for k, (lo, hi) in variables.items()},
        "events": events,
        "initial": rng.choice(top),
        "states": {name: state(name) for name in top},
    }
