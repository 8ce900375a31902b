"""From a script (and its hardware profile) to the flat program every back end shares.

`build_program` resolves names to small integer ids, compiles guards and values (see
`lgcraft.toys.expr`), assigns timer slots and reports every semantic problem with its
position: unknown events, actuators, assets and variables, type errors in guards, bad
targets, limits of the binary format. The simulator, the checker, the compiler and the
graph all read the resulting `Program`, so they cannot disagree about what a script means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lgcraft.toys.expr import Compiled, ExprError, compile_expr
from lgcraft.toys.model import PATTERNS, Action, Profile, Script, Transition
from lgcraft.toys.source import Diagnostic, ToyScriptError

NONE = 0xFF
MAX_STATES = 254
MAX_EVENTS = 254
MAX_VARS = 64
MAX_TIMER_SLOTS = 32
MAX_NESTING = 4
MAX_DELAY_MS = 2**31 - 1


@dataclass
class TransitionIR:
    index: int  # global: event transitions first, then timers
    source: int
    event: int  # NONE for timers
    delay_ms: int
    slot: int
    target: int  # NONE: internal
    guard: Compiled | None
    actions: list[tuple]
    model: Transition


@dataclass
class Program:
    script: Script
    profile: Profile | None
    state_names: list[str]
    parent: list[int]
    initial_child: list[int]
    root_initial: int
    entry: list[list[tuple]]
    exit: list[list[tuple]]
    state_transitions: list[list[int]]  # indexes into transitions
    state_timers: list[list[int]]  # indexes into timers
    transitions: list[TransitionIR]
    timers: list[TransitionIR]
    event_names: list[str]
    keyword_event: list[bool]
    var_names: list[str]
    var_min: list[int]
    var_max: list[int]
    var_init: list[int]
    clip_names: list[str]
    led_names: list[str]
    motor_names: list[str]
    n_slots: int
    max_stack: int
    final: list[bool] = field(default_factory=list)
    # (op, *args) as the engine logs it -> where such actions are written (paths, in order)
    action_sites: dict[tuple, list[tuple]] = field(default_factory=dict)

    def action_path(self, entry: tuple, near: str | None = None) -> tuple | None:
        """Where the action behind log entry ``(t, op, *args)`` is written: the one inside
        state ``near`` or one of its ancestors if several actions match, else the first."""
        sites = self.action_sites.get(tuple(entry[1:]))
        if not sites:
            return None
        if near is not None and near in self.script.states:
            for name in self.script.ancestors(near):
                prefix = self.script.states[name].path
                inside = [path for path in sites if path[:len(prefix)] == prefix
                          and not (len(path) > len(prefix) and path[len(prefix)] == "states")]
                if inside:
                    return inside[0]
        return sites[0]

    @property
    def all_transitions(self) -> list[TransitionIR]:
        return [*self.transitions, *self.timers]

    def event_id(self, name: str) -> int:
        try:
            return self.event_names.index(name)
        except ValueError:
            return -1

    def describe(self, entry: tuple) -> str:
        """A log entry ``(t, op, *args)`` in words, e.g. ``play giggle vol=80``."""
        op, args = entry[1], entry[2:]
        if op in ("enter", "exit"):
            return f"{op} {self.state_names[args[0]]}"
        if op in ("play", "speak"):
            clip = self.clip_names[args[0]]
            asset = self.profile.assets.get(clip) if self.profile else None
            length = f" ({asset.duration_ms / 1000:g} s)" if asset else ""
            return f"{op} {clip} volume={args[1]}%{length}"
        if op == "led":
            from lgcraft.toys.model import format_color
            if PATTERNS[args[1]] == "off" or args[2] == 0:
                return f"led {self.led_names[args[0]]} off"
            hz = f" {args[3] / 10:g}Hz" if args[3] else ""
            return f"led {self.led_names[args[0]]} {PATTERNS[args[1]]} {format_color(args[2])}{hz}"
        if op == "motor":
            return f"motor {self.motor_names[args[0]]} speed={args[1]} for {args[2]}ms"
        if op == "record":
            return f"record {args[0]}ms"
        if op == "listen":
            return "listen " + ("on" if args[0] else "off")
        if op == "set":
            return f"set {self.var_names[args[0]]}={args[1]}"
        if op in ("raise", "drop"):
            return f"{op} {self.event_names[args[0]]}"
        if op in ("random", "utility"):
            return f"{op} option {args[0] + 1}"
        return op


def _ordered_names(used: list[str], declared: list[str] | None) -> list[str]:
    if declared is not None:
        return list(declared)
    seen: list[str] = []
    for name in used:
        if name not in seen:
            seen.append(name)
    return seen


def build_program(script: Script, profile: Profile | None = None) -> Program:
    """Resolve and compile ``script``; raise `ToyScriptError` listing every problem."""
    builder = _Builder(script, profile)
    program = builder.build()
    if builder.errors:
        raise ToyScriptError(builder.errors)
    return program


def check_program(script: Script, profile: Profile | None) -> list[Diagnostic]:
    """Every semantic problem of ``script`` against ``profile`` (empty when valid)."""
    builder = _Builder(script, profile)
    builder.build()
    return builder.errors


class _Builder:
    def __init__(self, script: Script, profile: Profile | None) -> None:
        self.script = script
        self.profile = profile
        self.doc = script.document
        self.errors: list[Diagnostic] = []
        self.max_stack = 1
        self.sites: dict[tuple, list[tuple]] = {}

    def err(self, path: tuple, message: str, value: Any = None, key: bool = False) -> None:
        if self.doc is None:
            self.errors.append(Diagnostic("<script>", 0, 0, message, value))
        else:
            self.errors.append(self.doc.diag(path, message, value, key=key))

    def build(self) -> Program:
        script, profile = self.script, self.profile
        names = list(script.states)
        self.state_index = {n: i for i, n in enumerate(names)}
        if len(names) > MAX_STATES:
            self.err(("states",), f"too many states ({len(names)}, at most {MAX_STATES})")
        # events: the profile's sensor events, its keywords, then the script's own events
        used_events = [t.event for t in script.all_transitions() if t.event is not None]
        if profile is not None:
            external = profile.sensor_events() + profile.keyword_events()
            keyword = [False] * len(profile.sensor_events()) + [True] * len(profile.keywords)
        else:
            external = _ordered_names([e for e in used_events if e not in script.events], None)
            keyword = [e.startswith("keyword.") for e in external]
        for i, name in enumerate(script.events):
            if name in external:
                self.err(("events", i), "internal event has the name of a sensor event", name)
        self.events = external + [e for e in script.events if e not in external]
        self.keyword = keyword + [False] * (len(self.events) - len(external))
        self.event_index = {n: i for i, n in enumerate(self.events)}
        if len(self.events) > MAX_EVENTS:
            self.err(("events",), f"too many events ({len(self.events)})")
        # variables
        self.var_names = list(script.variables)
        self.var_index = {n: i for i, n in enumerate(self.var_names)}
        self.bounds = {v.name: (v.min, v.max) for v in script.variables.values()}
        if len(self.var_names) > MAX_VARS:
            self.err(("variables",), f"too many variables ({len(self.var_names)}, at most {MAX_VARS})")
        # actuators and assets: profile order (the firmware's tables), else order of use
        used = {"clip": [], "led": [], "motor": []}
        for action in self._all_actions():
            if action.kind in ("play", "speak"):
                used["clip"].append(action.params["clip"])
            elif action.kind == "led" and action.params.get("name"):
                used["led"].append(action.params["name"])
            elif action.kind == "motor":
                used["motor"].append(action.params["name"])
        self.clips = _ordered_names(used["clip"], list(profile.assets) if profile else None)
        self.leds = _ordered_names(used["led"] or ["led"], list(profile.leds) if profile else None)
        self.motors = _ordered_names(used["motor"], list(profile.motors) if profile else None)

        # states
        parent = [self.state_index.get(script.states[n].parent, NONE) if script.states[n].parent else NONE
                  for n in names]
        initial_child = [NONE] * len(names)
        for i, n in enumerate(names):
            state = script.states[n]
            if state.children:
                if state.initial not in state.children:
                    self.err((*state.path, "initial"), f"initial state of '{n}' is not one of its children", state.initial)
                else:
                    initial_child[i] = self.state_index[state.initial]
        root_initial = self.state_index.get(script.initial, 0)
        if script.initial not in self.state_index:
            self.err(("initial",), "initial state is not defined", script.initial)
        elif script.states[script.initial].parent is not None:
            self.err(("initial",), "initial state must be a top-level state", script.initial)

        transitions: list[TransitionIR] = []
        timers: list[TransitionIR] = []
        state_transitions: list[list[int]] = [[] for _ in names]
        state_timers: list[list[int]] = [[] for _ in names]
        base = [0] * len(names)
        n_slots = 0
        for i, n in enumerate(names):
            state = script.states[n]
            base[i] = (base[parent[i]] + len(script.states[names[parent[i]]].timers)) if parent[i] != NONE else 0
            n_slots = max(n_slots, base[i] + len(state.timers))
            for t in state.transitions:
                if t.event not in self.event_index:
                    known = "the profile's sensors and keywords" if profile else "declared events"
                    self.err((*t.path[:-1], t.event) if isinstance(t.path[-1], int) else t.path,
                             f"unknown event (not one of {known} or the script's events)", t.event, key=True)
                ir = self._transition(t, len(transitions), i, self.event_index.get(t.event, 0), 0, 0)
                state_transitions[i].append(len(transitions))
                transitions.append(ir)
            for j, t in enumerate(state.timers):
                if not 1 <= (t.delay_ms or 0) <= MAX_DELAY_MS:
                    self.err((*t.path, "delay"), f"delay must be 1..{MAX_DELAY_MS} ms", t.delay_ms)
                ir = self._transition(t, 0, i, NONE, t.delay_ms or 1, base[i] + j)
                state_timers[i].append(len(timers))
                timers.append(ir)
        for k, ir in enumerate(timers):
            ir.index = len(transitions) + k
        if n_slots > MAX_TIMER_SLOTS:
            self.err(("states",), f"too many timers active at once ({n_slots}, at most {MAX_TIMER_SLOTS})")
        entry = [self._actions(script.states[n].entry, 0) for n in names]
        exit_ = [self._actions(script.states[n].exit, 0) for n in names]
        return Program(
            script=script, profile=profile, state_names=names, parent=parent,
            initial_child=initial_child, root_initial=root_initial, entry=entry, exit=exit_,
            state_transitions=state_transitions, state_timers=state_timers,
            transitions=transitions, timers=timers, event_names=self.events,
            keyword_event=self.keyword, var_names=self.var_names,
            var_min=[script.variables[v].min for v in self.var_names],
            var_max=[script.variables[v].max for v in self.var_names],
            var_init=[script.variables[v].initial for v in self.var_names],
            clip_names=self.clips, led_names=self.leds, motor_names=self.motors,
            n_slots=n_slots, max_stack=self.max_stack,
            final=[script.states[n].final for n in names],
            action_sites=self.sites,
        )

    def _all_actions(self):
        def walk(actions):
            for a in actions:
                yield a
                for o in a.options:
                    yield from walk(o.actions)
        for state in self.script.states.values():
            yield from walk(state.entry)
            yield from walk(state.exit)
        for t in self.script.all_transitions():
            yield from walk(t.actions)

    def _expr(self, source, path: tuple, want: str) -> Compiled | None:
        try:
            compiled = compile_expr(source, self.bounds, self.var_index)
        except ExprError as exc:
            self.err(path, str(exc), source)
            return None
        if compiled.type != want:
            self.err(path, f"type error: expected a {want} expression, got {compiled.type}", source)
            return None
        self.max_stack = max(self.max_stack, compiled.depth)
        return compiled

    def _transition(self, t: Transition, index: int, source: int, event: int, delay: int, slot: int) -> TransitionIR:
        target = NONE
        if t.target is not None:
            if t.target not in self.state_index:
                self.err((*t.path, "target"), "unknown target state", t.target)
            else:
                target = self.state_index[t.target]
        guard = self._expr(t.guard, (*t.path, "guard"), "bool") if t.guard is not None else None
        return TransitionIR(index, source, event, delay, slot, target, guard,
                            self._actions(t.actions, 0), t)

    def _actions(self, actions: list[Action], depth: int) -> list[tuple]:
        result = []
        for a in actions:
            ir = self._action(a, depth)
            if ir is None:
                continue
            if ir[0] not in ("set", "random", "utility", "raise"):
                # the list item itself (its line and column), not the value after 'play:'
                where = a.path[:-1] if a.path and a.path[-1] == a.kind else a.path
                sites = self.sites.setdefault(ir, [])
                if where not in sites:
                    sites.append(where)
            result.append(ir)
        return result

    def _action(self, a: Action, depth: int) -> tuple | None:
        p, prof = a.params, self.profile
        kind = a.kind
        if kind in ("play", "speak"):
            if prof is not None:
                if prof.speaker_laeq_db is None:
                    self.err(a.path, "the toy has no speaker", kind)
                if p["clip"] not in prof.assets:
                    self.err((*a.path, "clip"), "missing audio asset (not in the profile's assets)", p["clip"])
            return (kind, self.clips.index(p["clip"]) if p["clip"] in self.clips else 0, p["volume"])
        if kind == "led":
            name = (p.get("name") or self.leds[0]) if self.leds else None
            if prof is not None and (not prof.leds or (p.get("name") and p["name"] not in prof.leds)):
                self.err((*a.path, "name"), "unknown LED for this toy", p.get("name") or "(default)")
            led = self.leds.index(name) if name in self.leds else 0
            return ("led", led, PATTERNS.index(p["pattern"]), p["color"], p["dhz"])
        if kind == "motor":
            if prof is not None and p["name"] not in prof.motors:
                self.err((*a.path, "name"), "unknown motor for this toy", p["name"])
            if not 1 <= p["duration_ms"] <= 65535:
                self.err((*a.path, "duration"), "motor duration must be 1..65535 ms", p["duration_ms"])
            motor = self.motors.index(p["name"]) if p["name"] in self.motors else 0
            return ("motor", motor, p["speed"], min(max(p["duration_ms"], 1), 65535))
        if kind == "record":
            if prof is not None and not prof.has_microphone:
                self.err(a.path, "the toy has no microphone", kind)
            if not 1 <= p["duration_ms"] <= 65535:
                self.err((*a.path, "duration"), "recording duration must be 1..65535 ms", p["duration_ms"])
            return ("record", min(max(p["duration_ms"], 1), 65535))
        if kind == "listen":
            if prof is not None and not prof.has_microphone:
                self.err(a.path, "the toy has no microphone", kind)
            return ("listen", 1 if p["on"] else 0)
        if kind in ("upload", "delete"):
            if kind == "upload" and prof is not None and not prof.can_upload:
                self.err(a.path, "the toy has no network upload (profile network.upload)", kind)
            return (kind,)
        if kind == "set":
            result = []
            for name, source in p["assign"]:
                if name not in self.var_index:
                    self.err((*a.path, name), "unknown variable", name, key=True)
                    continue
                compiled = self._expr(source, (*a.path, name), "int")
                if compiled is not None:
                    result.append((self.var_index[name], compiled))
            return ("set", result)
        if kind == "raise":
            if p["event"] not in self.script.events:
                self.err(a.path, "raise needs an event declared in the script's 'events'", p["event"])
                return None
            return ("raise", self.event_index[p["event"]])
        if kind in ("random", "utility"):
            if depth >= MAX_NESTING:
                self.err(a.path, f"choices nested deeper than {MAX_NESTING}", kind)
                return None
            options = []
            for o in a.options:
                body = self._actions(o.actions, depth + 1)
                if kind == "random":
                    options.append((o.weight, body))
                else:
                    score = self._expr(o.score, (*o.path, "score"), "int")
                    options.append((score, body))
            if kind == "random" and sum(w for w, _ in options) > 65535:
                self.err(a.path, "random weights must add up to at most 65535", sum(w for w, _ in options))
            return (kind, options)
        self.err(a.path, "unknown action", kind)
        return None
