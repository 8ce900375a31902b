"""The behavior-script and hardware-profile models, loaded from YAML with positions.

`load_script` / `load_profile` check the published JSON Schema first (every error with
its file:line:column), then build plain dataclasses. Semantic checks against a profile
live in `lgcraft.toys.validate`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lgcraft.toys.source import (
    DEFAULT_LIMITS,
    Diagnostic,
    Document,
    Limits,
    ToyScriptError,
    load_yaml,
    parse_yaml,
)

COLORS = {
    "off": 0x000000, "red": 0xFF0000, "green": 0x00FF00, "blue": 0x0000FF,
    "yellow": 0xFFFF00, "orange": 0xFF8000, "purple": 0x8000FF, "pink": 0xFF60A0,
    "cyan": 0x00FFFF, "white": 0xFFFFFF, "warm_white": 0xFFB060, "amber": 0xFFBF00,
}
PATTERNS = ("off", "solid", "blink", "pulse")
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|sec|min)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "sec": 1000, "min": 60000}


@cache
def schema(kind: str) -> dict:
    """The published JSON Schema: ``kind`` is "script" or "profile"."""
    text = resources.files("lgcraft.toys").joinpath(f"{kind}.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def categories() -> dict[str, dict[str, Any]]:
    """Loudness limits per toy category (data in categories.json, with its source)."""
    text = resources.files("lgcraft.toys").joinpath("categories.json").read_text("utf-8")
    return json.loads(text)["categories"]


def parse_duration(value: int | str) -> int:
    """Milliseconds from 1500, '1.5s', '500ms' or '2min'.

    >>> parse_duration("1.5s"), parse_duration(250), parse_duration("2min")
    (1500, 250, 120000)
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r}")
    number, unit = match.groups()
    ms = float(number) * _UNIT_MS[unit]
    if ms != int(ms):
        raise ValueError(f"duration {value!r} is not a whole number of milliseconds")
    return int(ms)


def format_duration(ms: int) -> str:
    if ms % 60000 == 0:
        return f"{ms // 60000}min"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


def parse_color(text: str) -> int:
    if text.startswith("#"):
        return int(text[1:], 16)
    if text not in COLORS:
        raise ValueError(f"unknown colour {text!r} (use #rrggbb or one of {', '.join(COLORS)})")
    return COLORS[text]


def format_color(rgb: int) -> str:
    for name, value in COLORS.items():
        if value == rgb:
            return name
    return f"#{rgb:06x}"


# --------------------------------------------------------------------------- model


@dataclass
class Option:
    weight: int | None = None  # random choice
    score: str | None = None  # utility choice (an int expression)
    actions: list[Action] = field(default_factory=list)
    path: tuple = ()


@dataclass
class Action:
    """One action. ``kind`` names it; ``params`` holds its normalised arguments:

    play/speak {clip, volume}; led {name, color (0xRRGGBB), pattern, dhz (tenths of Hz)};
    motor {name, speed, duration_ms}; record {duration_ms}; listen {on}; upload {};
    delete {}; set {assign: [(variable, expression), ...]}; raise {event};
    random/utility: ``options``.
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    options: list[Option] = field(default_factory=list)
    path: tuple = ()


@dataclass
class Transition:
    source: str
    event: str | None  # None for a timer
    delay_ms: int | None  # timers only
    target: str | None  # None: internal (actions only, no exit/entry)
    guard: str | None
    actions: list[Action]
    path: tuple = ()

    @property
    def label(self) -> str:
        trigger = self.event if self.event is not None else f"after {format_duration(self.delay_ms or 0)}"
        guard = f" [{self.guard}]" if self.guard else ""
        return f"{self.source} --{trigger}{guard}--> {self.target or '(internal)'}"


@dataclass
class State:
    name: str
    parent: str | None
    initial: str | None
    children: list[str]
    entry: list[Action]
    exit: list[Action]
    transitions: list[Transition]
    timers: list[Transition]
    final: bool = False
    path: tuple = ()


@dataclass
class Variable:
    name: str
    min: int
    max: int
    initial: int


@dataclass
class Script:
    name: str
    initial: str
    variables: dict[str, Variable]
    events: list[str]
    states: dict[str, State]  # pre-order (document order, parents before children)
    seed: int | None = None
    profile_ref: str | None = None
    version: int = 1
    document: Document | None = field(default=None, repr=False, compare=False)

    def ancestors(self, name: str) -> list[str]:
        """``name`` and its ancestors, innermost first."""
        chain = []
        current: str | None = name
        while current is not None:
            chain.append(current)
            current = self.states[current].parent
        return chain

    def all_transitions(self) -> list[Transition]:
        return [t for s in self.states.values() for t in (*s.transitions, *s.timers)]


@dataclass
class Motor:
    max_on_ms: int
    max_duty_percent: int
    duty_window_ms: int = 10000


@dataclass
class Asset:
    duration_ms: int
    level_dbfs: float
    peak_dbfs: float | None = None
    kind: str = "sound"


@dataclass
class Profile:
    name: str
    category: str
    mcu: str
    flash_budget_bytes: int
    ram_budget_bytes: int
    pointer_bytes: int = 4
    sensors: dict[str, list[str]] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)
    has_microphone: bool = False
    indicator_led: str | None = None
    speaker_laeq_db: float | None = None
    speaker_peak_db: float | None = None
    leds: dict[str, bool] = field(default_factory=dict)  # name -> rgb capable
    motors: dict[str, Motor] = field(default_factory=dict)
    can_upload: bool = False
    consent_event: str | None = None
    revoke_event: str | None = None
    battery_low_event: str | None = None
    assets: dict[str, Asset] = field(default_factory=dict)
    document: Document | None = field(default=None, repr=False, compare=False)

    def sensor_events(self) -> list[str]:
        return [event for events in self.sensors.values() for event in events]

    def keyword_events(self) -> list[str]:
        return [f"keyword.{word}" for word in self.keywords]


# --------------------------------------------------------------------------- loading


def _schema_errors(doc: Document, kind: str) -> list[Diagnostic]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema(kind))
    found = []
    for error in sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(error.absolute_path)
        best = error
        allowed = error.schema.get("x-allowed") if isinstance(error.schema, dict) else None
        if error.context:  # oneOf/anyOf: report the most specific sub-error
            best = max(error.context, key=lambda e: len(e.absolute_path))
            path = tuple(best.absolute_path)
        message = _schema_message(best, allowed)
        value = best.instance if not isinstance(best.instance, dict | list) else None
        if best.validator == "additionalProperties" and isinstance(best.instance, dict):
            known = list(best.schema.get("properties", {}))
            extra = [k for k in best.instance if k not in known]
            if extra:
                found.append(doc.diag((*path, extra[0]), f"unknown key '{extra[0]}'"
                                      + (f" (allowed: {', '.join(known)})" if known else ""), None, key=True))
                continue
        if "propertyNames" in best.absolute_schema_path:
            name = best.instance
            allowed = schema("script")["$defs"]["name"]["x-allowed"]
            where = "/".join(map(str, path)) or "(top level)"
            found.append(doc.diag((*path, name), f"{where}: {name!r} is not a valid name; names must be {allowed}",
                                  name, key=True))
            continue
        found.append(doc.diag(path, message, value))
    return found


def _schema_message(error, allowed: str | None = None) -> str:
    """What is wrong and what is allowed, e.g. 'states/a/after/0/delay: must be a
    positive duration: whole milliseconds (1500) or text such as 500ms, 2s ...'."""
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    allowed = allowed or (error.schema.get("x-allowed") if isinstance(error.schema, dict) else None)
    if error.validator == "propertyNames":  # the sub-error names the key's schema
        allowed = allowed or next((e.schema.get("x-allowed") for e in error.context or ()
                                   if isinstance(e.schema, dict) and e.schema.get("x-allowed")), None)
        allowed = allowed or schema("script")["$defs"]["name"]["x-allowed"]
        return f"{where}: {error.instance!r} is not a valid name; names must be {allowed}"
    if allowed:
        return f"{where}: must be {allowed}"
    if error.validator == "required":
        return f"{where}: {error.message}"
    if error.validator == "enum":
        return f"{where}: must be one of {', '.join(map(str, error.validator_value))}"
    if error.validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        words = {"integer": "an integer", "number": "a number", "string": "text", "boolean": "true or false",
                 "object": "a mapping (key: value lines)", "array": "a list", "null": "empty"}
        shown = " or ".join(words.get(k, k) for k in kinds)
        lo, hi = error.schema.get("minimum"), error.schema.get("maximum")
        if lo is not None and hi is not None:
            shown += f" from {lo} to {hi}"
        elif lo is not None:
            shown += f" of at least {lo}"
        return f"{where}: must be {shown}"
    if error.validator == "pattern":
        return f"{where}: does not match the expected form {error.validator_value}"
    if error.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                 "exclusiveMaximum": "less than"}
        return f"{where}: must be {words[error.validator]} {error.validator_value}"
    message = error.message
    if len(message) > 160:
        message = message[:157] + "..."
    return f"{where}: {message}"


def load_script(path: str | Path | None = None, *, text: str | None = None,
                limits: Limits = DEFAULT_LIMITS) -> Script:
    """Load and schema-check a script file (or ``text``); raise `ToyScriptError` if bad.

    >>> load_script(text="script: s\\ninitial: a\\nstates: {a: {}}").initial
    'a'
    """
    doc = load_yaml(path, limits) if text is None else parse_yaml(text, str(path or "<string>"), limits)
    errors = _schema_errors(doc, "script")
    if errors:
        # go on past the schema errors, on a copy without the values they name, so one
        # run lists the model's and the guards' problems too (a crash there just stops)
        partial = _partial_script(doc, errors)
        raise ToyScriptError(errors + (partial.errors if partial else []),
                             script=partial.script if partial else None)
    builder = _ScriptBuilder(doc)
    script = builder.build()
    if builder.errors:
        raise ToyScriptError(builder.errors, script=script)
    return script


@dataclass
class _Partial:
    script: Script
    errors: list[Diagnostic]


def _partial_script(doc: Document, errors: list[Diagnostic]) -> _Partial | None:
    """The script without the values the schema refused (and, where that leaves a
    mapping incomplete, without that mapping), for the problems behind them."""
    import copy

    data = copy.deepcopy(doc.data)
    bad = {(d.line, d.column) for d in errors}
    pruned: set[tuple] = set()

    def prune(value, path):
        if isinstance(value, dict):
            for key in list(value):
                child = (*path, key)
                if doc.positions.get(child) in bad or doc.key_positions.get(child) in bad:
                    del value[key]
                    pruned.add(child)
                else:
                    prune(value[key], child)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                prune(item, (*path, i))

    shadow = Document(doc.file, data, doc.positions, doc.key_positions)
    try:
        for _ in range(6):
            prune(data, ())
            if not isinstance(data, dict) or not {"script", "initial", "states"} <= set(data):
                return None
            again = _schema_errors(shadow, "script")
            if not again:
                break
            bad = set()
            for d in again:  # a list item cannot go alone (positions would shift): its list goes
                path = _path_of(d, doc)
                while path and isinstance(path[-1], int):
                    path = path[:-1]
                bad.add(doc.pos(path) if path else (d.line, d.column))
        else:
            return None
        builder = _ScriptBuilder(shadow)
        script = builder.build()
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None
    known = {(d.line, d.column, d.message) for d in errors}
    gone = {name for path in pruned for name in path if isinstance(name, str)}
    return _Partial(script, [d for d in builder.errors if (d.line, d.column, d.message) not in known
                             and not (isinstance(d.value, str) and d.value in gone)])


def _path_of(diag: Diagnostic, doc: Document) -> tuple:
    for path, pos in doc.positions.items():
        if pos == (diag.line, diag.column):
            return path
    return ()


class _ScriptBuilder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.errors: list[Diagnostic] = []

    def build(self) -> Script:
        data = self.doc.data
        variables = {}
        for name, spec in (data.get("variables") or {}).items():
            lo, hi = spec["min"], spec["max"]
            init = spec.get("initial", lo)
            if lo > hi:
                self.errors.append(self.doc.diag(("variables", name, "max"),
                                                 f"variable '{name}': max is below min", hi))
            elif not lo <= init <= hi:
                self.errors.append(self.doc.diag(("variables", name, "initial"),
                                                 f"variable '{name}': initial value outside {lo}..{hi}", init))
            variables[name] = Variable(name, lo, hi, init)
        states: dict[str, State] = {}
        self._states(data["states"], None, ("states",), states)
        return Script(
            name=data["script"], initial=data["initial"], variables=variables,
            events=list(data.get("events") or []), states=states, seed=data.get("seed"),
            profile_ref=data.get("profile"), version=data.get("version", 1), document=self.doc,
        )

    def _states(self, mapping: dict, parent: str | None, path: tuple, out: dict[str, State]) -> None:
        for name, spec in mapping.items():
            spec = spec or {}
            here = (*path, name)
            if name in out:
                self.errors.append(self.doc.diag(here, f"state name '{name}' is used twice (state names are global)", name, key=True))
                continue
            state = State(
                name=name, parent=parent, initial=spec.get("initial"),
                children=list((spec.get("states") or {}).keys()),
                entry=self._actions(spec.get("entry"), (*here, "entry")),
                exit=self._actions(spec.get("exit"), (*here, "exit")),
                transitions=[], timers=[], final=bool(spec.get("final", False)), path=here,
            )
            for event, body in (spec.get("on") or {}).items():
                items = body if isinstance(body, list) else [body]
                for i, item in enumerate(items):
                    tpath = (*here, "on", event, i) if isinstance(body, list) else (*here, "on", event)
                    state.transitions.append(self._transition(name, event, None, item, tpath))
            for i, item in enumerate(spec.get("after") or []):
                tpath = (*here, "after", i)
                try:
                    delay = parse_duration(item["delay"])
                except ValueError as exc:
                    self.errors.append(self.doc.diag((*tpath, "delay"), str(exc), item["delay"]))
                    delay = 1
                state.timers.append(self._transition(name, None, delay, item, tpath))
            out[name] = state
            if spec.get("states"):
                if state.initial is None:
                    self.errors.append(self.doc.diag(here, f"composite state '{name}' needs an 'initial' child", name, key=True))
                self._states(spec["states"], name, (*here, "states"), out)
            elif state.initial is not None:
                self.errors.append(self.doc.diag((*here, "initial"), f"state '{name}' has 'initial' but no child states", state.initial))

    def _transition(self, source, event, delay, item, path) -> Transition:
        if isinstance(item, str):
            return Transition(source, event, delay, item, None, [], path)
        return Transition(source, event, delay, item.get("target"), item.get("guard"),
                          self._actions(item.get("actions"), (*path, "actions")), path)

    def _actions(self, items, path: tuple) -> list[Action]:
        result = []
        for i, item in enumerate(items or []):
            here = (*path, i)
            if isinstance(item, str):
                result.append(Action(item, {}, [], here))
                continue
            (kind, body), = item.items()
            apath = (*here, kind)
            params: dict[str, Any] = {}
            options: list[Option] = []
            try:
                if kind in ("play", "speak"):
                    params = {"clip": body["clip"], "volume": body.get("volume", 100)}
                elif kind == "led":
                    pattern = body.get("pattern", "solid")
                    hz = body.get("hz")
                    if pattern in ("blink", "pulse") and hz is None:
                        raise ValueError(f"pattern '{pattern}' needs 'hz'")
                    dhz = round(float(hz) * 10) if hz is not None and pattern in ("blink", "pulse") else 0
                    if hz is not None and abs(float(hz) * 10 - dhz) > 1e-9:
                        raise ValueError(f"hz {hz} must be a multiple of 0.1")
                    params = {"name": body.get("name"), "color": parse_color(body["color"]),
                              "pattern": pattern, "dhz": dhz}
                elif kind == "motor":
                    params = {"name": body["name"], "speed": body["speed"],
                              "duration_ms": parse_duration(body["duration"])}
                elif kind == "record":
                    params = {"duration_ms": parse_duration(body["duration"])}
                elif kind == "listen":
                    params = {"on": bool(body)}
                elif kind in ("upload", "delete"):
                    params = {}
                elif kind == "set":
                    params = {"assign": list(body.items())}
                elif kind == "raise":
                    params = {"event": body}
                elif kind == "random":
                    options = [Option(weight=o["weight"], actions=self._actions(o.get("actions"), (*apath, j, "actions")), path=(*apath, j))
                               for j, o in enumerate(body)]
                elif kind == "utility":
                    options = [Option(score=o["score"], actions=self._actions(o.get("actions"), (*apath, j, "actions")), path=(*apath, j))
                               for j, o in enumerate(body)]
            except ValueError as exc:
                self.errors.append(self.doc.diag(apath, f"{kind}: {exc}"))
            result.append(Action(kind, params, options, apath))
        return result


def load_profile(path: str | Path | None = None, *, text: str | None = None,
                 limits: Limits = DEFAULT_LIMITS) -> Profile:
    """Load and schema-check a hardware profile; raise `ToyScriptError` if bad."""
    doc = load_yaml(path, limits) if text is None else parse_yaml(text, str(path or "<string>"), limits)
    errors = _schema_errors(doc, "profile")
    if errors:
        raise ToyScriptError(errors)
    data = doc.data
    if data["category"] not in categories():
        raise ToyScriptError([doc.diag(("category",), f"unknown toy category (known: {', '.join(categories())})", data["category"])])
    mic = data.get("microphone")
    speaker = data.get("speaker")
    privacy = data.get("privacy") or {}
    profile = Profile(
        name=data["profile"], category=data["category"], mcu=data["board"]["mcu"],
        flash_budget_bytes=data["board"]["flash_budget_bytes"],
        ram_budget_bytes=data["board"]["ram_budget_bytes"],
        pointer_bytes=data["board"].get("pointer_bytes", 4),
        sensors={k: list(v) for k, v in (data.get("sensors") or {}).items()},
        keywords=list((mic or {}).get("keywords") or []), has_microphone=mic is not None,
        indicator_led=(mic or {}).get("indicator_led"),
        speaker_laeq_db=speaker["max_laeq_db"] if speaker else None,
        speaker_peak_db=speaker["max_peak_db"] if speaker else None,
        leds={k: bool((v or {}).get("rgb", True)) for k, v in (data.get("leds") or {}).items()},
        motors={k: Motor(v["max_on_ms"], v["max_duty_percent"], v.get("duty_window_ms", 10000))
                for k, v in (data.get("motors") or {}).items()},
        can_upload=bool((data.get("network") or {}).get("upload", False)),
        consent_event=privacy.get("consent_event"), revoke_event=privacy.get("revoke_event"),
        battery_low_event=data.get("battery_low_event"),
        assets={k: Asset(v["duration_ms"], v["level_dbfs"], v.get("peak_dbfs"), v.get("kind", "sound"))
                for k, v in (data.get("assets") or {}).items()},
        document=doc,
    )
    problems = []
    events = profile.sensor_events()
    seen = set()
    for sensor, names in profile.sensors.items():
        for i, name in enumerate(names):
            if name in seen:
                problems.append(doc.diag(("sensors", sensor, i), "event declared by two sensors", name))
            seen.add(name)
    for key, value in (("consent_event", profile.consent_event), ("revoke_event", profile.revoke_event)):
        if value is not None and value not in events:
            problems.append(doc.diag(("privacy", key), "not an event of any sensor", value))
    if profile.battery_low_event is not None and profile.battery_low_event not in events:
        problems.append(doc.diag(("battery_low_event",), "not an event of any sensor", profile.battery_low_event))
    if profile.indicator_led is not None and profile.indicator_led not in profile.leds:
        problems.append(doc.diag(("microphone", "indicator_led"), "not one of the profile's leds", profile.indicator_led))
    if problems:
        raise ToyScriptError(problems)
    return profile


# --------------------------------------------------------------------------- serialising


def _action_to_data(action: Action) -> Any:
    p = action.params
    kind = action.kind
    if kind in ("upload", "delete"):
        return kind
    if kind in ("play", "speak"):
        return {kind: {"clip": p["clip"], "volume": p["volume"]}}
    if kind == "led":
        body: dict[str, Any] = {"color": format_color(p["color"]), "pattern": p["pattern"]}
        if p.get("name") is not None:
            body = {"name": p["name"], **body}
        if p["dhz"]:
            body["hz"] = p["dhz"] / 10 if p["dhz"] % 10 else p["dhz"] // 10
        return {"led": body}
    if kind == "motor":
        return {"motor": {"name": p["name"], "speed": p["speed"], "duration": format_duration(p["duration_ms"])}}
    if kind == "record":
        return {"record": {"duration": format_duration(p["duration_ms"])}}
    if kind == "listen":
        return {"listen": p["on"]}
    if kind == "set":
        return {"set": dict(p["assign"])}
    if kind == "raise":
        return {"raise": p["event"]}
    if kind == "random":
        return {"random": [{"weight": o.weight, "actions": [_action_to_data(a) for a in o.actions]} for o in action.options]}
    return {"utility": [{"score": o.score, "actions": [_action_to_data(a) for a in o.actions]} for o in action.options]}


def _transition_to_data(t: Transition) -> dict:
    body: dict[str, Any] = {}
    if t.delay_ms is not None:
        body["delay"] = format_duration(t.delay_ms)
    if t.target is not None:
        body["target"] = t.target
    if t.guard is not None:
        body["guard"] = t.guard
    if t.actions:
        body["actions"] = [_action_to_data(a) for a in t.actions]
    return body


def script_to_data(script: Script) -> dict:
    """The canonical plain-data form of a script (what `dump_script` writes)."""
    def state_data(state: State) -> dict:
        body: dict[str, Any] = {}
        if state.entry:
            body["entry"] = [_action_to_data(a) for a in state.entry]
        if state.exit:
            body["exit"] = [_action_to_data(a) for a in state.exit]
        if state.transitions:
            on: dict[str, list] = {}
            for t in state.transitions:
                on.setdefault(t.event, []).append(_transition_to_data(t))
            body["on"] = on
        if state.timers:
            body["after"] = [_transition_to_data(t) for t in state.timers]
        if state.final:
            body["final"] = True
        if state.children:
            body["initial"] = state.initial
            body["states"] = {c: state_data(script.states[c]) for c in state.children}
        return body

    data: dict[str, Any] = {"script": script.name, "version": script.version}
    if script.profile_ref is not None:
        data["profile"] = script.profile_ref
    if script.seed is not None:
        data["seed"] = script.seed
    if script.variables:
        data["variables"] = {v.name: {"min": v.min, "max": v.max, "initial": v.initial}
                             for v in script.variables.values()}
    if script.events:
        data["events"] = list(script.events)
    data["initial"] = script.initial
    data["states"] = {s.name: state_data(s) for s in script.states.values() if s.parent is None}
    return data


def dump_script(script: Script) -> str:
    """Serialise a script to YAML text that `load_script` reads back to an equal script."""
    import yaml

    return yaml.safe_dump(script_to_data(script), sort_keys=False, allow_unicode=True, width=100)
