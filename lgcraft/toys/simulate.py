"""Deterministic simulation, event traces, random coverage runs."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from lgcraft.errors import InputError
from lgcraft.toys.engine import Engine, format_log_line
from lgcraft.toys.model import parse_duration
from lgcraft.toys.program import Program


@dataclass
class LogLine:
    t: int
    op: str
    args: list[int]
    text: str


@dataclass
class SimulationResult:
    script: str
    seed: int
    events: int
    log: list[LogLine]
    final_state: str
    active_states: list[str]
    variables: dict[str, int]
    end_ms: int


def load_trace(path: str | Path, program: Program) -> list[tuple[int, int]]:
    """Read a JSON-lines trace: ``{"t": 1200, "event": "pat_head"}`` (absolute ms) or
    ``{"after": "2s", "event": ...}`` (relative); without ``event`` only the clock moves."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read trace {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read trace {path}: not UTF-8 text (byte {exc.start})") from exc
    return parse_trace(lines, program, str(path))


def parse_trace(lines: list[str], program: Program, name: str = "<trace>") -> list[tuple[int, int]]:
    trace: list[tuple[int, int]] = []
    now = 0
    for number, raw in enumerate(lines, 1):
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            continue
        if len(raw) > 10_000:  # a trace line is one small object
            raise InputError(f"{name}:{number}:1: line longer than 10000 characters (value: {raw[:40]!r}...)")
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}:{number}:{exc.colno}: not JSON: {exc.msg} (value: {raw[:40]!r})") from exc
        except RecursionError as exc:
            raise InputError(f"{name}:{number}:1: JSON nested too deeply (value: {raw[:40]!r})") from exc
        if not isinstance(item, dict):
            raise InputError(f"{name}:{number}:1: each line must be a JSON object (value: {raw[:40]!r})")
        try:
            if "t" in item:
                t = item["t"]
                if not isinstance(t, int) or isinstance(t, bool):
                    raise ValueError(f"'t' must be integer milliseconds (value: {t!r})")
            elif "after" in item:
                t = now + parse_duration(item["after"])
            else:
                raise ValueError("needs 't' (absolute ms) or 'after' (a duration)")
        except ValueError as exc:
            raise InputError(f"{name}:{number}:1: {exc}") from exc
        if t < now:
            raise InputError(f"{name}:{number}:1: time goes backwards (value: {t} < {now})")
        if t > 2**53:  # the runtime's tick wraps (every 49.7 days) and keeps working
            raise InputError(f"{name}:{number}:1: time beyond 2^53 ms (value: {t})")
        event = item.get("event")
        ev = -1
        if event is not None:
            ev = program.event_id(str(event))
            if ev < 0:
                raise InputError(f"{name}:{number}:1: unknown event (value: {event!r})",
                                 hint="events: " + ", ".join(program.event_names))
        trace.append((t, ev))
        now = t
    return trace


def _lines(program: Program, entries) -> list[LogLine]:
    return [LogLine(e[0], e[1], list(e[2:]), program.describe(e)) for e in entries]


def simulate(program: Program, trace: list[tuple[int, int]], seed: int) -> SimulationResult:
    """Run ``trace`` from the initial state; the same inputs always give the same log.

    >>> # simulate(program, [(1000, program.event_id("pat_head"))], seed=7).log[0].text
    """
    engine = Engine(program, seed)
    entries = engine.run(trace)
    return _result(program, engine, entries, seed, len(trace))


def _result(program: Program, engine: Engine, entries, seed: int, n_events: int) -> SimulationResult:
    chain = []
    s = engine.leaf
    while s != 0xFF:
        chain.append(program.state_names[s])
        s = program.parent[s]
    return SimulationResult(
        script=program.script.name, seed=seed, events=n_events, log=_lines(program, entries),
        final_state=program.state_names[engine.leaf], active_states=list(reversed(chain)),
        variables=dict(zip(program.var_names, engine.v, strict=True)), end_ms=int(engine.now),
    )


def canonical_log(program: Program, trace: list[tuple[int, int]], seed: int) -> list[str]:
    """The log as the C runtime's host driver prints it (for conformance tests)."""
    return [format_log_line(e) for e in Engine(program, seed).run(trace)]


class HelpRequested(Exception):
    """Raised by `InteractiveSession.send` for 'help': the text to show."""


class InteractiveSession:
    """Feed events one at a time: ``send("pat_head")``, ``send("wait 30s")``."""

    def __init__(self, program: Program, seed: int) -> None:
        self.program = program
        self.engine = Engine(program, seed)
        self.engine.start()
        self._shown = 0

    def new_lines(self) -> list[LogLine]:
        entries = self.engine.log[self._shown:]
        self._shown = len(self.engine.log)
        return _lines(self.program, entries)

    def help_text(self) -> str:
        """What the interactive simulator understands (its answer to 'help')."""
        return ("Commands: an event name sends that event; 'wait DURATION' (e.g. wait 30s, wait 500ms) "
                "moves the clock; 'state' shows the active state and variables; 'help' this list; "
                "'quit' ends.\nEvents: " + ", ".join(self.program.event_names))

    def send(self, command: str) -> list[LogLine]:
        words = command.split()
        if not words:
            return []
        if words[0] in ("help", "?"):
            raise HelpRequested(self.help_text())
        if words[0] == "wait":
            if len(words) != 2:
                raise InputError("usage: wait DURATION (e.g. wait 30s)")
            try:
                ms = parse_duration(words[1] if not words[1].isdigit() else int(words[1]))
            except ValueError as exc:
                raise InputError(str(exc)) from exc
            self.engine.advance(int(self.engine.now) + ms)
        else:
            ev = self.program.event_id(words[0])
            if ev < 0:
                raise InputError(f"unknown event (value: {words[0]!r})",
                                 hint="type 'help' for the commands; events: " + ", ".join(self.program.event_names))
            self.engine.event(int(self.engine.now), ev)
        return self.new_lines()

    def state(self) -> str:
        return self.program.state_names[self.engine.leaf]


@dataclass
class CoverageResult:
    script: str
    runs: int
    events_per_run: int
    seed: int
    states_covered: int
    states_total: int
    transitions_covered: int
    transitions_total: int
    uncovered_states: list[str] = field(default_factory=list)
    uncovered_transitions: list[str] = field(default_factory=list)

    @property
    def state_percent(self) -> float:
        return 100 * self.states_covered / max(1, self.states_total)

    @property
    def transition_percent(self) -> float:
        return 100 * self.transitions_covered / max(1, self.transitions_total)


def random_trace(program: Program, rng: random.Random, length: int) -> list[tuple[int, int]]:
    """A random trace: uniform sensor events; gaps short, medium, or past a timer delay."""
    external = [i for i, n in enumerate(program.event_names) if n not in program.script.events]
    delays = sorted({t.delay_ms for t in program.timers}) or [1000]
    trace = []
    t = 0
    for _ in range(length):
        kind = rng.random()
        if kind < 0.4:
            t += rng.randrange(0, 500)
        elif kind < 0.7:
            t += rng.randrange(500, 5000)
        else:
            t += rng.choice(delays) + rng.randrange(0, 50)
        trace.append((t, rng.choice(external) if external else -1))
    return trace


def coverage(program: Program, runs: int, seed: int, length: int = 40,
             progress=None) -> CoverageResult:
    """State and transition coverage of ``runs`` random traces of ``length`` events."""
    rng = random.Random(seed)
    entered = [0] * len(program.state_names)
    taken = [0] * len(program.all_transitions)
    for _ in range(runs):
        engine = Engine(program, rng.randrange(2**32))
        engine.run(random_trace(program, rng, length))
        entered = [a + b for a, b in zip(entered, engine.entered, strict=True)]
        taken = [a + b for a, b in zip(taken, engine.taken, strict=True)]
        if progress:
            progress()
    transitions = program.all_transitions
    return CoverageResult(
        script=program.script.name, runs=runs, events_per_run=length, seed=seed,
        states_covered=sum(1 for c in entered if c), states_total=len(entered),
        transitions_covered=sum(1 for c in taken if c), transitions_total=len(taken),
        uncovered_states=[program.state_names[i] for i, c in enumerate(entered) if not c],
        uncovered_transitions=[transitions[i].model.label for i, c in enumerate(taken) if not c],
    )
