"""Safety and privacy checks by explicit-state search (breadth first).

A configuration is (active leaf, microphone listening, consent given, indicator LED on,
upload not yet deleted, variable values, remaining time of each armed timer). Time runs
on a grid: the greatest common divisor of all timer delays, so timers keep their exact
order. From each configuration the explorer tries every sensor event (keyword events
only while listening) and "wait one grid step"; random choices branch into every
option. Breadth-first order makes the first path found to any problem a shortest one.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from lgcraft.errors import OperationError
from lgcraft.toys.engine import Engine
from lgcraft.toys.model import PATTERNS, categories, format_duration
from lgcraft.toys.program import NONE, Program

RULES: dict[str, str] = {
    "unreachable-state": "every state is reachable from the initial state",
    "trap-state": "no state (other than a 'final' one) is impossible to leave",
    "conflicting-transitions": "never two enabled transitions for one event in one state",
    "dead-timer": "every timer can fire",
    "loudness": "sound output within the limit of the declared toy category",
    "flashing": "at most 3 flashes in any 1-second window",
    "motor-on-time": "each motor run within the motor's maximum on-time",
    "motor-duty": "motor duty cycle within the limit over its window",
    "motor-timeout": "every motor-on state has an unconditional timeout exit",
    "low-battery": "low battery is handled from every state",
    "mic-consent": "microphone used only after the parent's consent",
    "mic-indicator": "microphone used only with the indicator LED on",
    "mic-always-on": "no always-listening loop: without input, timers turn listening off",
    "upload-delete": "every upload is followed by a delete without further input",
}
FLASH_WINDOW_MS = 1000
MAX_FLASHES = 3
MAX_FINDINGS_PER_RULE = 20
_BRANCH_LIMIT = 64
_MARK = 1 << 40  # marks an armed timer whose remaining time an event move keeps
_KEEP = -2
# findings raised while monitoring actions point at the state the move ended in
_ACTION_RULES = {"loudness", "flashing", "motor-on-time", "motor-duty", "mic-consent", "mic-indicator"}


@dataclass
class Finding:
    rule: str
    message: str
    state: str | None
    path: list[str]
    location: str | None = None


@dataclass
class RuleResult:
    rule: str
    description: str
    passed: bool
    findings: list[Finding] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class CheckReport:
    script: str
    profile: str
    category: str
    configurations: int
    moves: int
    time_step_ms: int
    seconds: float
    rules: list[RuleResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rules)

    @property
    def failed_rules(self) -> list[str]:
        return [r.rule for r in self.rules if not r.passed]


def _position(program: Program, path: tuple | None) -> str | None:
    doc = program.script.document
    if doc is None or path is None:
        return None
    line, col = doc.pos(path)
    return f"{doc.file}:{line}:{col}"


class _Replay:
    """A chooser that replays a prefix of random picks, then picks 0, recording arities."""

    __slots__ = ("prefix", "chosen", "arity")

    def __init__(self, prefix: list[int]) -> None:
        self.prefix = prefix
        self.chosen: list[int] = []
        self.arity: list[int] = []

    def __call__(self, kind: str, n: int) -> int:
        i = len(self.chosen)
        pick = self.prefix[i] if i < len(self.prefix) else 0
        self.chosen.append(pick)
        self.arity.append(n)
        return pick


def check_program(program: Program, *, max_configurations: int = 500_000,
                  progress: Callable[[int], None] | None = None) -> CheckReport:
    """Explore ``program`` (it must have a profile) and evaluate every rule in `RULES`.

    >>> # report = check_program(build_program(script, profile)); report.passed
    """
    return _Checker(program, max_configurations, progress).run()


class _Checker:
    def __init__(self, program: Program, max_configurations: int, progress) -> None:
        if program.profile is None:
            raise OperationError("checking needs a hardware profile", hint="pass --profile PROFILE")
        self.p = program
        self.profile = program.profile
        self.max_configurations = max_configurations
        self.progress = progress
        delays = [t.delay_ms for t in program.timers]
        self.step = math.gcd(*delays) if delays else 1000
        self.units = [d // self.step for d in delays]
        self.engine = Engine(program, 1, delays=self.units)
        self.findings: dict[str, dict[object, Finding]] = {rule: {} for rule in RULES}
        prof = self.profile
        self.events = list(range(len(program.event_names)))
        self.external = [e for e in self.events if program.event_names[e] not in program.script.events]
        self.consent_ev = program.event_id(prof.consent_event) if prof.consent_event else -99
        self.revoke_ev = program.event_id(prof.revoke_event) if prof.revoke_event else -99
        self.battery_ev = program.event_id(prof.battery_low_event) if prof.battery_low_event else -99
        self.indicator = program.led_names.index(prof.indicator_led) if prof.indicator_led in program.led_names else -1
        self.n_vars = len(program.var_names)
        # slot -> timer for each leaf's active chain
        self.slot_map: list[list] = []
        for leaf in range(len(program.state_names)):
            slots = [None] * program.n_slots
            s = leaf
            while s != NONE:
                for k in program.state_timers[s]:
                    slots[program.timers[k].slot] = program.timers[k]
                s = program.parent[s]
            self.slot_map.append(slots)
        self.category = categories()[prof.category]

    # ---------------------------------------------------------------- configurations
    def _load(self, config: tuple, prefix: list[int]) -> _Replay:
        e = self.engine
        e.leaf, e.listen = config[0], config[1]
        nv = self.n_vars
        e.v = list(config[5:5 + nv])
        e.deadline = [None if r < 0 else r for r in config[5 + nv:]]
        e.slot_timer = list(self.slot_map[config[0]])
        e.now = 0
        e.log = []
        e.queue = []
        e._update_next()
        chooser = _Replay(prefix)
        e.chooser = chooser
        return chooser

    def _snapshot(self, bits: tuple) -> tuple:
        e = self.engine
        now = e.now
        rem = tuple(-1 if d is None else d - now for d in e.deadline)
        return (e.leaf, e.listen, *bits, *e.v, *rem)

    def _outcomes(self, config: tuple, move: int):
        """Every (successor, log, choices, taken) of ``move`` (an event id, or -1 = wait)."""
        results = []
        pending = [[]]
        while pending:
            prefix = pending.pop()
            chooser = self._load(config, prefix)
            taken = -2
            if move < 0:
                self.engine.advance(1)
            else:
                if self.p.keyword_event[move] and not self.engine.listen:
                    taken = -1
                else:
                    taken = self.engine.dispatch(move)
                    if self.engine.queue:
                        self.engine._drain()
            results.append((self.engine.log, tuple(chooser.chosen), taken,
                            self.engine.leaf, self.engine.listen, self._snapshot_rest()))
            for i in range(len(prefix), len(chooser.arity)):
                for alt in range(1, chooser.arity[i]):
                    if len(results) + len(pending) < _BRANCH_LIMIT:
                        pending.append([*chooser.chosen[:i], alt])
        return results

    def _event_outcomes(self, config: tuple, move: int):
        """Outcomes of an event move. They depend only on (leaf, listening, variables):
        no timer fires during an event, so each armed timer either keeps its remaining
        time, is disarmed, or is re-armed; cached with "keep" markers for the first."""
        nv = self.n_vars
        key = (config[0], config[1], config[5:5 + nv], move)
        cached = self._event_cache.get(key)
        if cached is None:
            marked = config[:5 + nv] + tuple(_MARK + slot for slot in range(self.p.n_slots))
            cached = []
            for log, choices, taken, leaf, listen, (values, rem) in self._outcomes(marked, move):
                spec = tuple(_KEEP if r == _MARK + slot else r for slot, r in enumerate(rem))
                cached.append((log, choices, taken, leaf, listen, values, spec))
            self._event_cache[key] = cached
        rem = config[5 + nv:]
        return [(log, choices, taken, leaf, listen,
                 (values, tuple(r if s == _KEEP else s for r, s in zip(rem, spec, strict=True))))
                for log, choices, taken, leaf, listen, values, spec in cached]

    def _wait_outcomes(self, config: tuple, move: int):
        """Outcomes of a wait step that fires timers: they depend on (leaf, listening,
        variables, which slots are due); other armed timers only lose one step, unless
        the transitions taken disarm or re-arm them."""
        nv = self.n_vars
        rem = config[5 + nv:]
        due = tuple(slot for slot, r in enumerate(rem) if r == 1)
        key = (config[0], config[1], config[5:5 + nv], due)
        cached = self._wait_cache.get(key)
        if cached is None:
            marked = config[:5 + nv] + tuple(1 if r == 1 else _MARK + slot for slot, r in enumerate(rem))
            cached = []
            for log, choices, taken, leaf, listen, (values, new_rem) in self._outcomes(marked, move):
                spec = tuple(_KEEP if r == _MARK + slot - 1 else r for slot, r in enumerate(new_rem))
                cached.append((log, choices, taken, leaf, listen, values, spec))
            self._wait_cache[key] = cached
        return [(log, choices, taken, leaf, listen,
                 (values, tuple(r - 1 if s == _KEEP and r > 0 else (r if s == _KEEP else s)
                                for r, s in zip(rem, spec, strict=True))))
                for log, choices, taken, leaf, listen, values, spec in cached]

    def _snapshot_rest(self) -> tuple:
        e = self.engine
        now = e.now
        return (tuple(e.v), tuple(-1 if d is None else d - now for d in e.deadline))

    # ---------------------------------------------------------------- search
    def run(self) -> CheckReport:
        started = time.perf_counter()
        p = self.p
        # the initial configuration
        self.engine.log = []
        self.engine.start(0)
        self.entered_at = {}
        self._event_cache: dict = {}
        self._monitor_cache: dict = {}
        self._conflict_cache: dict = {}
        self._wait_cache: dict = {}
        # consent, indicator, pending upload, after the start-up entries
        bits0 = self._monitor(None, None, self.engine.log, (0, 0, 0), self.engine.leaf)
        root = (self.engine.leaf, self.engine.listen, *bits0, *self.engine.v,
                *(-1 if d is None else d for d in self.engine.deadline))
        self.parent: dict[tuple, tuple | None] = {root: None}
        queue = deque([root])
        self.first_active: dict[int, tuple] = {}
        self.entered_at: dict[int, tuple] = {}
        leaves_left: set[int] = set()
        reached_leaves: set[int] = set()
        wait_edges: dict[tuple, list[tuple]] = {}
        moves = 0
        nv = self.n_vars
        while queue:
            config = queue.popleft()
            leaf = config[0]
            if leaf not in reached_leaves:
                reached_leaves.add(leaf)
            s = leaf
            while s != NONE:
                if s not in self.first_active:
                    self.first_active[s] = config
                s = p.parent[s]
            rem = config[5 + nv:]
            has_timer = any(r >= 0 for r in rem)
            listen = config[1]
            if listen and not config[2]:
                origin = self.parent.get(config)
                if origin is not None and origin[1] == self.revoke_ev:
                    self._add("mic-consent", ("revoked", leaf), config, None,
                              f"still listening in '{p.state_names[leaf]}' after the consent was revoked "
                              f"('{self.profile.revoke_event}')",
                              _position(p, p.script.states[p.state_names[leaf]].path))
            candidate_moves = [e for e in self.external if not (p.keyword_event[e] and not listen)]
            if has_timer:
                candidate_moves.append(-1)
            for move in candidate_moves:
                if move >= 0:
                    enabled = self._conflicts(config, move)
                    if not enabled and move != self.consent_ev and move != self.revoke_ev:
                        # nothing happens: the same configuration again (fast path)
                        moves += 1
                        if move == self.battery_ev:
                            self._add("low-battery", leaf, config, (move, ()),
                                      f"'{p.event_names[move]}' is not handled in '{p.state_names[leaf]}'")
                        continue
                elif min(r for r in rem if r >= 0) > 1:
                    # a wait step that fires no timer: only the remaining times change
                    moves += 1
                    succ = config[:5 + nv] + tuple(r - 1 if r > 0 else r for r in rem)
                    if config[4] or config[1]:
                        wait_edges.setdefault(config, []).append(succ)
                    if succ not in self.parent:
                        self.parent[succ] = (config, move, ())
                        queue.append(succ)
                    continue
                outcomes = self._event_outcomes(config, move) if move >= 0 else self._wait_outcomes(config, move)
                for log, choices, taken, new_leaf, new_listen, (values, new_rem) in outcomes:
                    moves += 1
                    consent = config[2]
                    if move == self.consent_ev:
                        consent = 1
                    elif move == self.revoke_ev:
                        consent = 0
                    if move == self.battery_ev and taken == -1:
                        self._add("low-battery", leaf, config, (move, choices),
                                  f"'{p.event_names[move]}' is not handled in '{p.state_names[leaf]}'")
                    bits_in = (consent, config[3], config[4])
                    # logs are cached per outcome, so a (bits, log) pair is monitored once
                    mkey = (bits_in, id(log))
                    hit = self._monitor_cache.get(mkey)
                    if hit is not None and hit[0] is log:
                        bits = hit[1]
                    else:
                        bits = self._monitor(config, (move, choices), log, bits_in, new_leaf)
                        self._monitor_cache[mkey] = (log, bits)
                    succ = (new_leaf, new_listen, *bits, *values, *new_rem)
                    if new_leaf != leaf:
                        leaves_left.add(leaf)
                    if move < 0 and (config[4] or config[1]):
                        wait_edges.setdefault(config, []).append(succ)
                    if succ not in self.parent:
                        self.parent[succ] = (config, move, choices)
                        queue.append(succ)
                        if len(self.parent) > self.max_configurations:
                            raise OperationError(
                                f"the state space exceeds {self.max_configurations} configurations",
                                hint="raise --max-states, or narrow variable ranges / use coarser timer delays")
                        if self.progress and len(self.parent) % 5000 == 0:
                            self.progress(len(self.parent))
        self._finish(reached_leaves, leaves_left, wait_edges)
        results = []
        for rule, description in RULES.items():
            found = list(self.findings[rule].values())[:MAX_FINDINGS_PER_RULE]
            skipped = self._skipped(rule)
            results.append(RuleResult(rule, description, not found, found, skipped))
        return CheckReport(
            script=p.script.name, profile=self.profile.name, category=self.profile.category,
            configurations=len(self.parent), moves=moves, time_step_ms=self.step,
            seconds=time.perf_counter() - started, rules=results,
        )

    def _skipped(self, rule: str) -> str | None:
        prof = self.profile
        if rule == "low-battery" and self.battery_ev == -99:
            return "the profile declares no battery_low_event"
        if rule == "mic-consent" and self.consent_ev == -99 and prof.has_microphone:
            return None  # without a consent event every microphone use fails
        if rule.startswith("motor") and not prof.motors:
            return "the toy has no motors"
        if rule.startswith("mic") and not prof.has_microphone:
            return "the toy has no microphone"
        return None

    # ---------------------------------------------------------------- paths
    def path_to(self, config: tuple, last=None) -> list[str]:
        moves = []
        node = config
        while self.parent.get(node) is not None:
            prev, move, choices = self.parent[node]
            moves.append((move, choices))
            node = prev
        moves.reverse()
        if last is not None:
            moves.append(last)
        labels: list[str] = []
        waited = 0
        for move, choices in moves:
            if move < 0:
                waited += self.step
                if choices and any(choices):
                    labels.append(f"wait {format_duration(waited)} (random picks {_picks(choices)})")
                    waited = 0
                continue
            if waited:
                labels.append(f"wait {format_duration(waited)}")
                waited = 0
            label = self.p.event_names[move]
            if choices and any(choices):
                label += f" (random picks {_picks(choices)})"
            labels.append(label)
        if waited:
            labels.append(f"wait {format_duration(waited)}")
        return labels

    def _add(self, rule: str, key, config: tuple, last, message: str, location=None) -> None:
        bucket = self.findings[rule]
        if key in bucket or len(bucket) >= MAX_FINDINGS_PER_RULE:
            return
        state = self.p.state_names[config[0]] if config is not None else None
        if location is None and rule in _ACTION_RULES:
            location = getattr(self, "_default_location", None)
        bucket[key] = Finding(rule, message, state, self.path_to(config, last) if config is not None else [],
                              location)

    # ---------------------------------------------------------------- per-move rules
    def _conflicts(self, config: tuple, event: int) -> bool:
        key = (config[0], config[1], config[5:5 + self.n_vars], event)
        enabled = self._conflict_cache.get(key)
        if enabled is None:
            enabled = self._conflict_cache[key] = self._conflicts_uncached(config, event)
        return enabled

    def _conflicts_uncached(self, config: tuple, event: int) -> bool:
        p = self.p
        v = config[5:5 + self.n_vars]
        if p.keyword_event[event] and not config[1]:
            return False
        by_source: dict[int, list] = {}
        for guard, tr in self.engine.candidates[config[0]][event]:
            if guard is None or guard(v):
                by_source.setdefault(tr.source, []).append(tr)
        if not by_source:
            return False
        first = next(iter(by_source.values()))
        if len(first) > 1 and first[-1].guard is None and len(first) == 2:
            return True  # a guarded transition and a trailing unguarded one: an 'else' branch
        if len(first) > 1 and first[-1].guard is None:
            first = first[:-1]
        if len(first) > 1:
            labels = " and ".join(t.model.label for t in first)
            self._add("conflicting-transitions", tuple(t.index for t in first), config, (event, ()),
                      f"both enabled: {labels} (the first wins, the other is dead here)",
                      _position(p, first[1].model.path))
        return True

    def _monitor(self, config: tuple, last, log: list, bits: tuple, leaf_after: int = 0) -> tuple:
        self._default_location = _position(self.p, self.p.script.states[self.p.state_names[leaf_after]].path)
        consent, indicator, pending = bits
        p, prof = self.p, self.profile
        for entry in log:
            op = entry[1]
            if op == "enter":
                if entry[2] not in self.entered_at:
                    self.entered_at[entry[2]] = (config, last)
            elif op == "led":
                led, pattern, rgb, dhz = entry[2:]
                on = PATTERNS[pattern] != "off" and rgb != 0
                if led == self.indicator:
                    indicator = 1 if on else 0
                if on and PATTERNS[pattern] in ("blink", "pulse") and dhz > MAX_FLASHES * 10:
                    self._add("flashing", ("hz", led, dhz), config, last,
                              f"LED '{p.led_names[led]}' {PATTERNS[pattern]} at {dhz / 10:g} Hz: "
                              f"more than {MAX_FLASHES} flashes per second (WCAG 2.3.1)")
                elif on and config is not None:
                    self._flash_timeline(config, last, led)
            elif op in ("listen", "record"):
                if op == "listen" and not entry[2]:
                    continue
                where = p.state_names[leaf_after] if config is not None else "start"
                if not consent:
                    self._add("mic-consent", (op, where), config, last,
                              f"microphone ({op}) used without the parent's consent event"
                              + (f" '{prof.consent_event}'" if prof.consent_event else " (the profile declares none)"))
                if not indicator:
                    self._add("mic-indicator", (op, where), config, last,
                              f"microphone ({op}) used while the indicator LED "
                              f"'{prof.indicator_led or '(none declared)'}' is off")
            elif op == "upload":
                pending = 1
            elif op == "delete":
                pending = 0
            elif op in ("play", "speak"):
                self._loudness(config, last, entry)
            elif op == "motor":
                motor, speed, ms = entry[2:]
                limits = prof.motors.get(p.motor_names[motor])
                if limits and speed != 0 and ms > limits.max_on_ms:
                    self._add("motor-on-time", ("on", motor, ms), config, last,
                              f"motor '{p.motor_names[motor]}' on for {ms} ms, limit {limits.max_on_ms} ms")
                if limits and speed != 0 and config is not None:
                    self._duty_timeline(config, last, motor, limits)
        return consent, indicator, pending

    def _loudness(self, config, last, entry) -> None:
        prof, p = self.profile, self.p
        clip, volume = entry[2], entry[3]
        checked = self.__dict__.setdefault("_loud_checked", set())
        if (clip, volume) in checked:
            return
        checked.add((clip, volume))
        asset = prof.assets.get(p.clip_names[clip])
        if asset is None or prof.speaker_laeq_db is None or volume == 0:
            return
        gain = 20 * math.log10(volume / 100)
        laeq = prof.speaker_laeq_db + asset.level_dbfs + gain
        peak = (prof.speaker_peak_db or 0) + (asset.peak_dbfs if asset.peak_dbfs is not None else 0) + gain
        limits = self.category
        problems = []
        if limits["laeq_db"] is not None and laeq > limits["laeq_db"]:
            problems.append(f"LAeq {laeq:.1f} dB > {limits['laeq_db']} dB")
        if limits["peak_db"] is not None and peak > limits["peak_db"]:
            problems.append(f"peak {peak:.1f} dB > {limits['peak_db']} dB")
        if limits["lafmax_db"] is not None and peak > limits["lafmax_db"]:
            problems.append(f"level {peak:.1f} dB > LAFmax {limits['lafmax_db']} dB")
        if problems:
            self._add("loudness", (clip, volume), config, last,
                      f"{entry[1]} '{p.clip_names[clip]}' at {volume}%: {', '.join(problems)} "
                      f"for a {prof.category} toy (ASTM F963-23 4.5)")

    # ---------------------------------------------------------------- timelines
    def _timeline(self, config: tuple, horizon_ms: int) -> list[list]:
        """Logs of what happens with no input for ``horizon_ms`` after ``config`` (ms clock),
        one per random branch (at most a few)."""
        p = self.p
        logs = []
        pending = [[]]
        eng = getattr(self, "_ms_engine", None)
        if eng is None:
            eng = self._ms_engine = Engine(p, 1)
        nv = self.n_vars
        while pending and len(logs) < 8:
            prefix = pending.pop()
            chooser = _Replay(prefix)
            eng.chooser = chooser
            eng.leaf, eng.listen = config[0], config[1]
            eng.v = list(config[5:5 + nv])
            eng.deadline = [None if r < 0 else r * self.step for r in config[5 + nv:]]
            eng.slot_timer = list(self.slot_map[config[0]])
            eng.now = 0
            eng.log = []
            eng.queue = []
            eng._update_next()
            eng.advance(horizon_ms)
            logs.append(eng.log)
            for i in range(len(prefix), len(chooser.arity)):
                for alt in range(1, chooser.arity[i]):
                    pending.append([*chooser.chosen[:i], alt])
        return logs

    def _flash_timeline(self, config, last, led) -> None:
        key = ("flash", config[0], led)
        seen = self.__dict__.setdefault("_flash_seen", set())
        if key in seen or ("flash", led) in self.findings["flashing"]:
            return
        seen.add(key)
        # the successor of `config` after `last` is where the LED came on: walk from the
        # configuration that move produced (approximated by re-running the move)
        succ = self._successor(config, last)
        for log in self._timeline(succ, FLASH_WINDOW_MS - 1):
            state = {}
            ons = [0]
            for entry in log:
                if entry[1] == "led" and entry[2] == led:
                    on = PATTERNS[entry[3]] != "off" and entry[4] != 0
                    if on and not state.get(led, True):
                        ons.append(entry[0])
                    state[led] = on
            if len(ons) > MAX_FLASHES:
                self._add("flashing", ("flash", led), config, last,
                          f"LED '{self.p.led_names[led]}' comes on {len(ons)} times within 1 s "
                          f"(timer-driven blinking; WCAG 2.3.1 allows {MAX_FLASHES})")
                return

    def _duty_timeline(self, config, last, motor, limits) -> None:
        key = ("duty", config[0], motor)
        seen = self.__dict__.setdefault("_duty_seen", set())
        if key in seen:
            return
        seen.add(key)
        window = limits.duty_window_ms
        succ = self._successor(config, last)
        # the run that started this move is at time 0 of the window
        start_runs = [(0, e[3], e[4]) for e in self._last_log if e[1] == "motor" and e[2] == motor]
        for log in self._timeline(succ, window - 1):
            runs = start_runs[-1:] + [(e[0], e[3], e[4]) for e in log if e[1] == "motor" and e[2] == motor]
            on_ms = 0
            for i, (t, speed, ms) in enumerate(runs):
                end = min(t + ms, window, runs[i + 1][0] if i + 1 < len(runs) else window)
                if speed != 0 and end > t:
                    on_ms += end - t
            if on_ms * 100 > limits.max_duty_percent * window:
                self._add("motor-duty", ("duty", motor, config[0]), config, last,
                          f"motor '{self.p.motor_names[motor]}' on {on_ms} ms of {window} ms "
                          f"({100 * on_ms / window:.0f}%), limit {limits.max_duty_percent}%")
                return

    def _successor(self, config, last) -> tuple:
        move, choices = last
        chooser = self._load(config, list(choices))
        del chooser
        if move < 0:
            self.engine.advance(1)
        else:
            self.engine.dispatch(move)
            if self.engine.queue:
                self.engine._drain()
        self._last_log = self.engine.log
        values, rem = self._snapshot_rest()
        # the timeline engine runs in ms; remaining grid units convert back there
        return (self.engine.leaf, self.engine.listen, 0, 0, 0, *values, *rem)

    # ---------------------------------------------------------------- after the search
    def _finish(self, reached_leaves: set[int], leaves_left: set[int], wait_edges) -> None:
        p = self.p
        for s, name in enumerate(p.state_names):
            if s not in self.first_active and s not in self.entered_at:
                self._add("unreachable-state", s, None, None,
                          f"state '{name}' is never entered", _position(p, p.script.states[name].path))
        for leaf in sorted(reached_leaves):
            if leaf not in leaves_left and not p.final[leaf]:
                self._add("trap-state", leaf, self.first_active[leaf], None,
                          f"once in '{p.state_names[leaf]}' no event or timer leads out "
                          "(mark it 'final: true' if intended)",
                          _position(p, p.script.states[p.state_names[leaf]].path))
        for timer in p.timers:
            if self.engine.taken[timer.index] == 0:
                config = self.first_active.get(timer.source)
                why = ("its state is unreachable" if config is None else
                       "an earlier timer or event always leaves first, or its guard is false when due")
                self._add("dead-timer", timer.index, config, None,
                          f"{timer.model.label} never fires: {why}", _position(p, timer.model.path))
        # motor-on states need an unconditional timeout exit on the state or an ancestor
        for s, name in enumerate(p.state_names):
            if not _starts_motor(p.entry[s]):
                continue
            chain = []
            x = s
            while x != NONE:
                chain.append(x)
                x = p.parent[x]
            ok = any(p.timers[k].target != NONE and p.timers[k].guard is None
                     for x in chain for k in p.state_timers[x])
            if not ok:
                config, last = self.entered_at.get(s, (None, None))
                self._add("motor-timeout", s, config, last,
                          f"state '{name}' starts a motor but has no unconditional 'after' exit",
                          _position(p, p.script.states[name].path))
        # upload-delete and mic-always-on: from a waiting configuration with an undeleted
        # upload (bit 4) or a listening microphone (bit 1), timers alone must lead to a
        # delete / to the microphone turning off
        for c in _stuck(self.parent, wait_edges, 4):
            self._add("upload-delete", c[0], c, None,
                      f"an upload in '{p.state_names[c[0]]}' can stay undeleted "
                      "(no delete follows through timers alone)")
        for c in _stuck(self.parent, wait_edges, 1):
            self._add("mic-always-on", c[0], c, None,
                      f"the microphone can stay on in '{p.state_names[c[0]]}' with no input "
                      "(no timer turns listening off)")


def _stuck(configurations, wait_edges: dict, bit: int) -> list[tuple]:
    """Configurations with ``bit`` set from which waiting does not surely clear it.

    good(c) holds when c has wait successors and each has the bit clear or is good
    (least fixpoint, by counting down unresolved successors along reverse edges)."""
    marked = [c for c in configurations if c[bit]]
    good: set[tuple] = set()
    waiting: dict[tuple, int] = {}
    users: dict[tuple, list[tuple]] = {}
    ready = []
    for c in marked:
        succs = wait_edges.get(c)
        if not succs:
            continue
        open_succs = {s for s in succs if s[bit]}
        waiting[c] = len(open_succs)
        for s in open_succs:
            users.setdefault(s, []).append(c)
        if not open_succs:
            ready.append(c)
    while ready:
        c = ready.pop()
        if c in good:
            continue
        good.add(c)
        for user in users.get(c, ()):
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    return [c for c in marked if c not in good]


def _picks(choices: tuple) -> str:
    return ",".join(str(c + 1) for c in choices)


def _starts_motor(actions: list[tuple]) -> bool:
    for a in actions:
        if a[0] == "motor" and a[2] != 0:
            return True
        if a[0] in ("random", "utility") and any(_starts_motor(body) for _, body in a[1]):
            return True
    return False
