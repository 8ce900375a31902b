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
_BRANCH_LIMIT = 4096  # random outcomes of one move; more: the rules are undecided, never cut
_MARK = 1 << 40  # marks an armed timer whose remaining time an event move keeps
_SLOW = 1 << 50  # time abstraction: the deadline of a slow timer (its time is not tracked)
_SLOW_HALF = 1 << 49
# rules whose findings under the time abstraction hold without a replay: the abstraction
# only adds behaviour, so "never entered", "never fires" and a structural defect are real
_SOUND_WHEN_ABSTRACT = {"unreachable-state", "dead-timer", "motor-timeout"}
_KEEP = -2
# findings raised while monitoring actions point at the state the move ended in
_ACTION_RULES = {"loudness", "flashing", "motor-on-time", "motor-duty", "mic-consent", "mic-indicator"}


@dataclass(frozen=True)
class Bounds:
    """How far `check_program` may go before it answers "could not decide" (exit 3):
    configurations kept, seconds of search, megabytes of memory added by the search.
    The defaults fit a laptop; settings ``[toys] max_states``, ``max_check_seconds``,
    ``max_check_memory_mb`` and the flags of the same names change them."""

    max_states: int = 500_000
    max_seconds: float = 120.0
    max_memory_mb: int = 2048


class Undecided(OperationError):
    """The search hit a bound: the rules not yet failed are neither proved nor refuted.
    Exit 3, so CI can tell "could not check" from "unsafe" (1) and "safe" (0)."""

    exit_code = 3


class _BoundHit(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            import os

            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError, AttributeError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Budget:
    """Counts work and checks the time and memory bounds every few thousand steps."""

    def __init__(self, bounds: Bounds, estimate_mb: Callable[[], float] | None = None) -> None:
        self.bounds = bounds
        self.started = time.perf_counter()
        self.base_mb = _rss_mb()
        self.ticks = 0
        # the process's growth misses memory the allocator reuses (a warm process), so
        # the search's own estimate of its tables counts too, whichever is larger
        self.estimate_mb = estimate_mb

    def tick(self, n: int = 1) -> None:
        self.ticks += n
        if self.ticks < 2000:
            return
        self.ticks = 0
        elapsed = time.perf_counter() - self.started
        if elapsed > self.bounds.max_seconds:
            raise _BoundHit(f"the search ran out of time ({self.bounds.max_seconds:g} s, --max-seconds)")
        grown = _rss_mb() - self.base_mb
        if self.estimate_mb is not None:
            grown = max(grown, self.estimate_mb())
        if grown > self.bounds.max_memory_mb:
            raise _BoundHit(f"the search needed more than {self.bounds.max_memory_mb} MB (--max-memory-mb)")


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
    undecided: str | None = None  # why the rule could not be decided (a bound was hit)


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
    time_abstraction: str | None = None  # set when slow timers' times were abstracted

    @property
    def passed(self) -> bool:
        return all(r.passed and not r.undecided for r in self.rules)

    @property
    def failed_rules(self) -> list[str]:
        return [r.rule for r in self.rules if not r.passed]

    @property
    def undecided_rules(self) -> list[str]:
        return [r.rule for r in self.rules if r.passed and r.undecided]

    @property
    def outcome(self) -> str:
        """"unsafe" (a rule fails: exit 1), "undecided" (exit 3) or "safe" (exit 0)."""
        if self.failed_rules:
            return "unsafe"
        return "undecided" if self.undecided_rules else "safe"


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


def check_program(program: Program, *, max_configurations: int | None = None,
                  bounds: Bounds | None = None,
                  progress: Callable[[int], None] | None = None) -> CheckReport:
    """Explore ``program`` (it must have a profile) and evaluate every rule in `RULES`.
    A rule is passed, failed (with findings) or, when a bound is hit, undecided.

    >>> # report = check_program(build_program(script, profile)); report.outcome
    """
    bounds = bounds or Bounds()
    if max_configurations is not None:
        bounds = Bounds(max_configurations, bounds.max_seconds, bounds.max_memory_mb)
    started = time.perf_counter()
    exact = _Checker(program, bounds, progress)
    report = exact.run()
    horizon = _window_horizon(program)
    if not (exact.hit_state_bound and any(t.delay_ms > horizon for t in program.timers)):
        return report
    # Too many configurations on the exact timer grid, and some timers are longer than
    # every rule's time window: check again with those timers' times abstracted away.
    left = bounds.max_seconds - (time.perf_counter() - started)
    if left <= 0:
        return report
    abstract = _Checker(program, Bounds(bounds.max_states, left, bounds.max_memory_mb), progress,
                        slow_after_ms=horizon)
    second = abstract.run()
    merged = []
    for first_rule, second_rule in zip(report.rules, second.rules, strict=True):
        merged.append(first_rule if not first_rule.passed else second_rule)
    second.rules = merged
    second.time_abstraction = (f"timers longer than {format_duration(horizon)} may fire at any moment "
                               f"(their order and times are not tracked); the exact timer grid of "
                               f"{report.time_step_ms} ms needed more than {bounds.max_states} configurations")
    second.seconds = time.perf_counter() - started
    return second


def _window_horizon(program: Program) -> int:
    """The longest time window a rule measures (1 s of flashing, each motor's duty window)."""
    windows = [FLASH_WINDOW_MS] + [m.duty_window_ms for m in program.profile.motors.values()]
    return max(windows)


class _Checker:
    def __init__(self, program: Program, bounds: Bounds, progress, slow_after_ms: int | None = None) -> None:
        if program.profile is None:
            raise OperationError("checking needs a hardware profile", hint="pass --profile PROFILE")
        self.p = program
        self.profile = program.profile
        self.bounds = bounds
        self.max_configurations = bounds.max_states
        self.budget = _Budget(bounds, self._estimate_mb)
        self.undecided: dict[str, str] = {}
        self.progress = progress
        delays = [t.delay_ms for t in program.timers]
        # the time abstraction (slow_after_ms): timers longer than every rule's window keep
        # only "armed" (remaining time 0 in a configuration) and may fire at any moment
        self.slow = [slow_after_ms is not None and d > slow_after_ms for d in delays]
        self.abstract = any(self.slow)
        fast = [d for d, slow in zip(delays, self.slow, strict=True) if not slow]
        self.step = math.gcd(*fast) if fast else 1000
        self.units = [_SLOW if slow else d // self.step for d, slow in zip(delays, self.slow, strict=True)]
        self.engine = Engine(program, 1, delays=self.units)
        self.ms_delays = [_SLOW if slow else d for d, slow in zip(delays, self.slow, strict=True)]
        self.hit_state_bound = False
        self._confirmations: dict = {}
        self._taken_seen = [0] * len(program.all_transitions)
        self.timer_witness: dict[int, tuple] = {}
        self.leave_witness: dict[int, tuple] = {}
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

    def _estimate_mb(self) -> float:
        """The search's tables: each kept configuration (a tuple of small ints, its
        parent link and queue slot) and each window node, at measured CPython sizes."""
        import sys

        parent = getattr(self, "parent", None)
        if not parent:
            return 0.0
        sample = next(iter(parent))
        per_config = sys.getsizeof(sample) + 8 * len(sample) + 120  # ints are shared; dict + link
        return (len(parent) * per_config + 200 * len(getattr(self, "_windows_done", ()))) / 2**20

    # ---------------------------------------------------------------- configurations
    def _load(self, config: tuple, prefix: list[int]) -> _Replay:
        e = self.engine
        e.leaf, e.listen = config[0], config[1]
        nv = self.n_vars
        e.v = list(config[5:5 + nv])
        e.deadline = [None if r < 0 else (_SLOW if r == 0 else r) for r in config[5 + nv:]]
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
        return (e.leaf, e.listen, *bits, *e.v, *self._remaining())

    def _remaining(self) -> tuple:
        """Remaining grid units of each slot (-1 unarmed; 0 a slow timer, abstracted)."""
        now = self.engine.now
        return tuple(-1 if d is None else (0 if d - now >= _SLOW_HALF else d - now) for d in self.engine.deadline)

    def _outcomes(self, config: tuple, move: int):
        """Every (successor, log, choices, taken) of ``move`` (an event id, or -1 = wait)."""
        results = []
        pending = [[]]
        while pending:
            prefix = pending.pop()
            chooser = self._load(config, prefix)
            taken = -2
            if move <= -2:  # a slow timer fires now (time abstraction)
                self.engine.deadline[-2 - move] = self.engine.now
                self.engine._update_next()
                self.engine.advance(self.engine.now)
            elif move < 0:
                self.engine.advance(1)
            else:
                if self.p.keyword_event[move] and not self.engine.listen:
                    taken = -1
                else:
                    taken = self.engine.dispatch(move)
                    if self.engine.queue:
                        self.engine._drain()
            if self.abstract:  # which timers fired: the witnesses that "every timer can fire"
                fired = [i for i, n in enumerate(self.engine.taken) if n != self._taken_seen[i]]
                for i in fired:
                    self._taken_seen[i] = self.engine.taken[i]
                    self.timer_witness.setdefault(i, (config, (move, tuple(chooser.chosen))))
            results.append((self.engine.log, tuple(chooser.chosen), taken,
                            self.engine.leaf, self.engine.listen, self._snapshot_rest()))
            for i in range(len(prefix), len(chooser.arity)):
                for alt in range(1, chooser.arity[i]):
                    pending.append([*chooser.chosen[:i], alt])
            if len(results) + len(pending) > _BRANCH_LIMIT:
                raise _BoundHit(f"one move has more than {_BRANCH_LIMIT} random outcomes")
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
        return (tuple(self.engine.v), self._remaining())

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
        self._window_starts: dict = {}
        self._windows_done: set = set()
        self._window_site: dict = {}
        self._upload_site: dict = {}
        self._site_cache: dict = {}
        # consent, indicator, pending upload, after the start-up entries
        bits0 = self._monitor(None, None, self.engine.log, (0, 0, 0), self.engine.leaf)
        root = (self.engine.leaf, self.engine.listen, *bits0, *self.engine.v, *self._remaining())
        self._root = root
        start_log = self.engine.log
        self.parent: dict[tuple, tuple | None] = {root: None}
        queue = deque([root])
        self.first_active: dict[int, tuple] = {}
        self.entered_at: dict[int, tuple] = {}
        leaves_left: set[int] = set()
        reached_leaves: set[int] = set()
        wait_edges: dict[tuple, list[tuple]] = {}
        moves = 0
        nv = self.n_vars
        try:
            for kind, index, init in _window_starts(p, start_log, self.profile):
                self._window(kind, index, init, root, None, None, root[0])
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
                has_timer = any(r > 0 for r in rem)
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
                candidate_moves += [-2 - slot for slot, r in enumerate(rem) if r == 0]
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
                    elif move == -1 and min(r for r in rem if r > 0) > 1:
                        # a wait step that fires no timer: only the remaining times change
                        moves += 1
                        succ = config[:5 + nv] + tuple(r - 1 if r > 0 else r for r in rem)
                        if config[4] or config[1]:
                            wait_edges.setdefault(config, []).append(succ)
                        if succ not in self.parent:
                            self.parent[succ] = (config, move, ())
                            queue.append(succ)
                        continue
                    if self.abstract:  # the outcome caches assume exact remaining times
                        outcomes = self._outcomes(config, move)
                    else:
                        outcomes = (self._event_outcomes(config, move) if move >= 0
                                    else self._wait_outcomes(config, move))
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
                        self.budget.tick()
                        if id(log) not in self._window_starts:
                            self._window_starts[id(log)] = (log, _window_starts(p, log, self.profile))
                        for kind, index, init in self._window_starts[id(log)][1]:
                            self._window(kind, index, init, succ, config, (move, choices), new_leaf)
                        if new_leaf != leaf:
                            leaves_left.add(leaf)
                            self.leave_witness.setdefault(leaf, (config, (move, choices)))
                        if move < 0 and (config[4] or config[1]):
                            wait_edges.setdefault(config, []).append(succ)
                        if succ not in self.parent:
                            self.parent[succ] = (config, move, choices)
                            queue.append(succ)
                            if len(self.parent) > self.max_configurations:
                                self.hit_state_bound = True
                                raise _BoundHit(f"the search passed {self.max_configurations} configurations "
                                                "(--max-states)")
                            if self.progress and len(self.parent) % 5000 == 0:
                                self.progress(len(self.parent))
        except _BoundHit as hit:
            for rule in RULES:
                if not self.findings[rule]:
                    self.undecided.setdefault(rule, hit.why)
            queue.clear()
        if not self.undecided:  # the analyses after the search need the whole graph
            self._finish(reached_leaves, leaves_left, wait_edges)
        results = []
        for rule, description in RULES.items():
            found = list(self.findings[rule].values())[:MAX_FINDINGS_PER_RULE]
            skipped = self._skipped(rule)
            why = None if found or skipped else self.undecided.get(rule)
            results.append(RuleResult(rule, description, not found, found, skipped, why))
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
            moves.append((move, choices, prev))
            node = prev
        moves.reverse()
        if last is not None:
            moves.append((*last, config))
        labels: list[str] = []
        waited = 0
        for move, choices, before in moves:
            if move <= -2:
                if waited:
                    labels.append(f"wait {format_duration(waited)}")
                    waited = 0
                timer = self.slot_map[before[0]][-2 - move] if before is not None else None
                labels.append(f"wait until '{timer.model.label if timer else 'a long timer'}' fires")
                continue
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

    def _add(self, rule: str, key, config: tuple, last, message: str, location=None,
             state: int | None = None) -> None:
        """Record a finding once per ``key``; ``state`` is where the toy is when the rule
        breaks (after the last move), default the configuration's own state."""
        bucket = self.findings[rule]
        if key in bucket or len(bucket) >= MAX_FINDINGS_PER_RULE:
            return
        if self.abstract and rule not in _SOUND_WHEN_ABSTRACT and rule not in ("flashing", "motor-duty"):
            if rule in ("upload-delete", "mic-always-on") or config is None:
                confirmed = False
            elif rule == "trap-state":  # "never left" is sound; the state must really be reached
                run = _witness_run(self, (config, last))
                confirmed = run is not None and run.entered[key] > 0
            else:
                probe = (config, last)
                if probe not in self._confirmations:
                    self._confirmations[probe] = self._concrete_after(config, last) is not None
                confirmed = self._confirmations[probe]
            if not confirmed:
                self.undecided.setdefault(rule, "a violation was found only under the time abstraction "
                                                "(timers longer than every rule's window may fire at any moment) "
                                                "and does not replay on the real clock")
                return
        leaf = state
        if leaf is None and rule in _ACTION_RULES:
            leaf = getattr(self, "_monitor_leaf", None)
        if leaf is None and config is not None:
            leaf = config[0]
        state = self.p.state_names[leaf] if leaf is not None else None
        if location is None and rule in _ACTION_RULES:
            location = getattr(self, "_default_location", None)
        if location is None and leaf is not None:
            location = _position(self.p, self.p.script.states[self.p.state_names[leaf]].path)
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
        consent, indicator, pending = bits
        p, prof = self.p, self.profile
        near = p.state_names[leaf_after]
        self._monitor_leaf = leaf_after
        sites = self._site_cache
        for entry in log:
            op = entry[1]
            probe = (entry[1:], near)
            cached = sites.get(probe)
            if cached is None:
                site = p.action_path(entry, near)
                where = _position(p, site) if site else _position(p, p.script.states[near].path)
                cached = sites[probe] = (site, where)
            site, self._default_location = cached
            if op in ("led", "motor") and site:
                key = ("flash" if op == "led" else "duty", entry[2], leaf_after)
                self._window_site.setdefault(key, self._default_location)
            if op in ("upload", "listen", "record") and site:
                self._upload_site.setdefault((op, leaf_after), self._default_location)
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
        self._monitor_leaf = None
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
    def _window(self, kind: str, index: int, init: tuple, succ: tuple, config, last, leaf_after: int) -> None:
        """Every no-input future of ``succ`` within the rule's window, over every random
        branch: the flashing window (1 s after an LED comes on) or the motor's duty window
        after a run starts. Breadth over (configuration, elapsed ms, monitor) nodes, each
        kept once, so branches that meet again are explored once; a bound makes the rule
        undecided, never passed. Under the time abstraction a slow timer armed before the
        window may fire at any moment in it; a violation found so is confirmed on the real
        clock (replay, then this search without abstraction) or the rule is undecided."""
        rule = "flashing" if kind == "flash" else "motor-duty"
        if self.findings[rule] and any(k[:2] == (kind, index) for k in self.findings[rule]):
            return
        if rule in self.undecided:
            return
        nv = self.n_vars
        step = self.step
        start = (succ[0], succ[1], succ[5:5 + nv],
                 tuple(-1 if r < 0 else (-2 if r == 0 else r * step) for r in succ[5 + nv:]))
        key = (kind, index, init, start)
        if key in self._windows_done:
            return
        self._windows_done.add(key)
        limits = None
        if kind == "duty":
            limits = self.profile.motors.get(self.p.motor_names[index])
            if limits is None:
                return
        eng = getattr(self, "_ms_engine", None)
        if eng is None:
            eng = self._ms_engine = Engine(self.p, 1, delays=self.ms_delays)
        found = self._window_search(eng, kind, index, init, start, limits, config, last)
        if found is None:
            return
        monitor, used_slow = found
        if used_slow or self.abstract:
            concrete = self._concrete_after(config, last)
            exact = None
            if concrete is not None:
                real = Engine(self.p, 1)
                exact = self._window_search(real, kind, index, init, concrete, limits, config, last)
            if exact is None:
                self.undecided.setdefault(rule, "a window that breaks the rule was found only under the time "
                                                "abstraction (timers longer than the window may fire at any moment)")
                return
            monitor = exact[0]
        self._window_finding(rule, kind, index, config, last, leaf_after, monitor, limits)

    def _window_search(self, eng: Engine, kind: str, index: int, init: tuple, start: tuple, limits,
                       config, last) -> tuple | None:
        """(monitor at the violation, whether a slow timer fired on the way) or None.
        ``start`` deadlines: ms from now, -1 unarmed, -2 a slow timer that may fire any time."""
        rule = "flashing" if kind == "flash" else "motor-duty"
        horizon = (FLASH_WINDOW_MS if kind == "flash" else limits.duty_window_ms) - 1
        seen: set = set()
        frontier = [(0, start, init, False)]
        nodes = 0
        while frontier:
            elapsed, (leaf, listen, values, deadlines), monitor, used_slow = frontier.pop()
            node = (elapsed, leaf, listen, values, deadlines, monitor, used_slow)
            if node in seen:
                continue
            seen.add(node)
            nodes += 1
            self.budget.tick()
            if nodes > self.max_configurations:
                self.undecided[rule] = (f"a {horizon + 1} ms window after a configuration reached by "
                                        f"{' -> '.join(self.path_to(config, last)) or 'the start'} has more than "
                                        f"{self.max_configurations} futures (--max-states)")
                return None
            armed = [d for d in deadlines if d >= 0]
            due = min(armed) if armed else None
            moves = [("slow", slot) for slot, d in enumerate(deadlines) if d == -2]
            if due is not None and due <= horizon:
                moves.append(("due", due))
            if not moves and kind == "duty" and self._duty_over(monitor, limits):
                return monitor, used_slow
            for what, arg in moves:
                pending = [[]]
                count = 0
                while pending:
                    prefix = pending.pop()
                    chooser = _Replay(prefix)
                    eng.chooser = chooser
                    eng.leaf, eng.listen = leaf, listen
                    eng.v = list(values)
                    eng.deadline = [None if d == -1 else (3 * _SLOW if d == -2 else d) for d in deadlines]
                    eng.slot_timer = list(self.slot_map[leaf])
                    eng.now = elapsed
                    eng.log = []
                    eng.queue = []
                    if what == "slow":
                        eng.deadline[arg] = elapsed
                    eng._update_next()
                    eng.advance(arg if what == "due" else elapsed)
                    after = self._step_monitor(kind, index, monitor, eng.log)
                    slow_now = used_slow or what == "slow"
                    if kind == "flash" and after[1] > MAX_FLASHES:
                        return after, slow_now
                    if kind == "duty" and after[0] * 100 > limits.max_duty_percent * (horizon + 1):
                        return after, slow_now
                    # a slow timer armed inside the window cannot fire in it (it is longer)
                    left = tuple(-1 if d is None else (-2 if d >= 2 * _SLOW else (-1 if d >= _SLOW_HALF else d))
                                 for d in eng.deadline)
                    nxt = arg if what == "due" else elapsed
                    frontier.append((nxt, (eng.leaf, eng.listen, tuple(eng.v), left), after, slow_now))
                    for i in range(len(prefix), len(chooser.arity)):
                        for alt in range(1, chooser.arity[i]):
                            pending.append([*chooser.chosen[:i], alt])
                    count += 1
                    if count + len(pending) > _BRANCH_LIMIT:
                        self.undecided[rule] = f"a timer in its window has more than {_BRANCH_LIMIT} random outcomes"
                        return None
        return None

    def _concrete_after(self, config, last) -> tuple | None:
        """Replay the path to ``config`` then ``last`` on the real millisecond clock; the
        concrete (leaf, listen, values, deadlines in ms from now) if every move did the
        same actions as under the abstraction, else None."""
        moves = []
        node = config
        while node is not None and self.parent.get(node) is not None:
            prev, move, choices = self.parent[node]
            moves.append((prev, move, choices))
            node = prev
        moves.reverse()
        if last is not None and config is not None:
            moves.append((config, last[0], last[1]))
        real = Engine(self.p, 1)
        real.log = []
        real.start(0)
        for prev, move, choices in moves:
            abstract_log = None
            for log, picked, *_rest in self._outcomes(prev, move):
                if picked == tuple(choices):
                    abstract_log = [e[1:] for e in log]
                    break
            real.chooser = _Replay(list(choices))
            real.log = []
            if move >= 0:
                real.event(real.now, move)
            elif move == -1:
                real.advance(real.now + self.step)
            else:
                slot = -2 - move
                if real.deadline[slot] is None:
                    return None
                real.advance(real.deadline[slot])
            if [e[1:] for e in real.log] != abstract_log:
                return None
        now = real.now
        return (real.leaf, real.listen, tuple(real.v),
                tuple(-1 if d is None else d - now for d in real.deadline))

    def _step_monitor(self, kind: str, index: int, monitor: tuple, log: list) -> tuple:
        if kind == "flash":
            led_on, ons = monitor
            for entry in log:
                if entry[1] == "led" and entry[2] == index:
                    on = PATTERNS[entry[3]] != "off" and entry[4] != 0
                    if on and not led_on:
                        ons += 1
                    led_on = on
            return (led_on, ons)
        done, run_start, run_end = monitor
        for entry in log:
            if entry[1] == "motor" and entry[2] == index:
                t, speed, ms = entry[0], entry[3], entry[4]
                if run_start is not None:
                    done += max(0, min(run_end, t) - run_start)
                run_start, run_end = (t, t + ms) if speed != 0 else (None, None)
        return (done, run_start, run_end)

    @staticmethod
    def _duty_over(monitor: tuple, limits) -> bool:
        done, run_start, run_end = monitor
        window = limits.duty_window_ms
        total = done + (max(0, min(run_end, window) - run_start) if run_start is not None else 0)
        return total * 100 > limits.max_duty_percent * window

    def _window_finding(self, rule, kind, index, config, last, leaf_after, monitor, limits) -> None:
        p = self.p
        if kind == "flash":
            message = (f"LED '{p.led_names[index]}' comes on {monitor[1]} times within 1 s on some random "
                       f"branch (timer-driven blinking; WCAG 2.3.1 allows {MAX_FLASHES})")
        else:
            done, run_start, run_end = monitor
            window = limits.duty_window_ms
            on_ms = done + (max(0, min(run_end, window) - run_start) if run_start is not None else 0)
            message = (f"motor '{p.motor_names[index]}' on {on_ms} ms of {window} ms "
                       f"({100 * on_ms / window:.0f}%) on some random branch, limit {limits.max_duty_percent}%")
        op = "led" if kind == "flash" else "motor"
        where = self._window_site.get((kind, index, leaf_after))
        self._add(rule, (kind, index), config if config is not None else self._root, last, message,
                  where, state=leaf_after)
        del op

    def _confirm_possibilities(self, leaves_left: set[int]) -> None:
        """Under the time abstraction "state reached", "timer fired" and "state left" may
        be artefacts (a long timer firing early): each needs a witness that replays on the
        real clock, else its rule is undecided."""
        p = self.p
        for s in range(len(p.state_names)):
            seen = self.first_active.get(s)
            witnesses = [(seen, None)] if seen is not None else []
            if s in self.entered_at:
                witnesses.append(self.entered_at[s])
            runs = (_witness_run(self, w) for w in witnesses)
            if witnesses and not any(run is not None and run.entered[s] for run in runs):
                self.undecided.setdefault("unreachable-state", f"state '{p.state_names[s]}' is entered only under "
                                                               "the time abstraction")
        for timer in p.timers:
            if self.engine.taken[timer.index]:
                run = _witness_run(self, self.timer_witness.get(timer.index))
                if run is None or not run.taken[timer.index]:
                    self.undecided.setdefault("dead-timer", f"{timer.model.label} fires only under the time "
                                                            "abstraction")
        for leaf in leaves_left:
            run = _witness_run(self, self.leave_witness.get(leaf))
            if run is None or not _left(run, leaf):
                self.undecided.setdefault("trap-state", f"'{p.state_names[leaf]}' is left only under the time "
                                                        "abstraction")

    # ---------------------------------------------------------------- after the search
    def _finish(self, reached_leaves: set[int], leaves_left: set[int], wait_edges) -> None:
        p = self.p
        if self.abstract:
            self._confirm_possibilities(leaves_left)
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
        def site(ops, leaf):
            for op in ops:
                if (op, leaf) in self._upload_site:
                    return self._upload_site[(op, leaf)]
            found = [where for (op, _), where in self._upload_site.items() if op in ops]
            return found[0] if found else None

        for c in _stuck(self.parent, wait_edges, 4):
            self._add("upload-delete", c[0], c, None,
                      f"an upload in '{p.state_names[c[0]]}' can stay undeleted "
                      "(no delete follows through timers alone)", site(("upload",), c[0]))
        for c in _stuck(self.parent, wait_edges, 1):
            self._add("mic-always-on", c[0], c, None,
                      f"the microphone can stay on in '{p.state_names[c[0]]}' with no input "
                      "(no timer turns listening off)", site(("listen",), c[0]))


def _window_starts(program: Program, log: list, profile) -> list[tuple]:
    """Windows that ``log`` (one move's actions) opens: ("flash", led, (on, ons)) from the
    first time an LED comes on, with the on-edges after it in the same move, and
    ("duty", motor, (done, start, end)) from the last run of a motor the profile limits."""
    starts = []
    leds: dict[int, tuple] = {}
    motors: dict[int, tuple] = {}
    for entry in log:
        if entry[1] == "led":
            led = entry[2]
            on = PATTERNS[entry[3]] != "off" and entry[4] != 0
            if led in leds:
                was_on, ons = leds[led]
                leds[led] = (on, ons + (1 if on and not was_on else 0))
            elif on:
                leds[led] = (True, 1)
        elif entry[1] == "motor" and program.motor_names[entry[2]] in profile.motors:
            motors[entry[2]] = (0, 0, entry[4]) if entry[3] != 0 else None
    starts += [("flash", led, state) for led, state in leds.items()]
    starts += [("duty", motor, state) for motor, state in motors.items() if state is not None]
    return starts


def _witness_run(checker: _Checker, witness) -> Engine | None:
    """A real run (millisecond clock, every timer exact) guided by an abstract path: its
    events and random picks in order, each long-timer move waiting on the real clock for
    that timer (other timers fire on the way as they really would). What the run does
    is possible; the caller checks the run for what it wants to witness."""
    if witness is None:
        return None
    config, last = witness
    moves = []
    node = config
    while node is not None and checker.parent.get(node) is not None:
        prev, move, choices = checker.parent[node]
        moves.append((move, choices))
        node = prev
    moves.reverse()
    if last is not None:
        moves.append(last)
    real = Engine(checker.p, 1)
    real.start(0)
    for move, choices in moves:
        real.chooser = _Replay(list(choices))
        if move >= 0:
            real.event(real.now, move)
        elif move == -1:
            real.advance(real.now + checker.step)
        else:
            deadline = real.deadline[-2 - move]
            if deadline is not None:
                real.advance(deadline)
    return real


def _left(run: Engine, leaf: int) -> bool:
    return any(entry[1] == "exit" and entry[2] == leaf for entry in run.log)


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
