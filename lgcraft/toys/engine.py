"""The reference semantics of a toy program: one interpreter for simulator and checker.

Precisely (the C runtime in ``runtime/toyrt.c`` does the same, see docs/toys-format.md):

* Time is a millisecond clock, unbounded here; the C runtime's 32-bit tick wraps every
  49.7 days and compares deadlines by unsigned difference, which gives the same order
  (delays are below 2^31 ms). A trace entry ``(t, event)`` first fires every
  timer whose deadline is ``<= t``, earliest deadline first, lower slot first on ties,
  with the clock set to that deadline; then, at ``t``, it dispatches the event.
* Dispatch looks for a transition on the active leaf state, then its parent, and so on;
  within a state in declaration order; the first whose guard holds is taken. Keyword
  events are dropped while the microphone is not listening.
* Taking a transition with a target exits the active states up to (not including) the
  nearest common proper ancestor of source and target (innermost first: log ``exit``,
  disarm its timers, run its exit actions), runs the transition's actions, then enters
  from there down to the target and on through initial children (log ``enter``, arm its
  timers at ``now + delay``, run its entry actions). Without a target only the actions
  run. A timer is one-shot: it is disarmed when it fires, whether its guard holds or not.
* ``raise`` queues an internal event (FIFO, 8 places, a full queue drops it and logs
  ``drop``); the queue is drained after each macrostep, at most 16 events per external
  event or timer, the rest dropped with ``drop`` entries.
* Variables are integers clamped to their declared bounds when set; expressions cannot
  overflow 32 bits (checked when compiled).
* Random choice: xorshift32 (13, 17, 5) seeded with the seed (0 becomes 0x6D2B79F5);
  option = first whose cumulative weight exceeds ``next() % total``. Utility choice:
  the option with the highest score, the first one on ties.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lgcraft.toys.program import NONE, Program, TransitionIR

MASK32 = 0xFFFFFFFF
DEFAULT_SEED_STATE = 0x6D2B79F5
QUEUE_CAPACITY = 8
MAX_INTERNAL_EVENTS = 16
INFINITY = float("inf")

LogEntry = tuple  # (t, op, *int args)


def xorshift32(state: int) -> int:
    state ^= (state << 13) & MASK32
    state ^= state >> 17
    state ^= (state << 5) & MASK32
    return state


def seed_state(seed: int) -> int:
    seed &= MASK32
    return seed or DEFAULT_SEED_STATE


class Engine:
    """Runs a `Program`. ``delays`` overrides timer delays (the checker uses grid units);
    ``chooser(kind, n)`` overrides random/utility picks (the checker enumerates them).

    >>> # engine = Engine(program, seed=7); engine.start(); engine.event(1000, 3)
    """

    def __init__(self, program: Program, seed: int = 1, *, delays: list[int] | None = None,
                 chooser: Callable[[str, int], int | None] | None = None) -> None:
        self.program = program
        self.chooser = chooser
        self.delays = delays if delays is not None else [t.delay_ms for t in program.timers]
        self.rng = seed_state(seed)
        self.log: list[LogEntry] = []
        self.now = 0
        self.leaf = NONE
        self.v = list(program.var_init)
        self.listen = 0
        self.queue: list[int] = []
        self.deadline: list[float | None] = [None] * program.n_slots
        self.slot_timer: list[TransitionIR | None] = [None] * program.n_slots
        self.next_deadline: float = INFINITY
        n_all = len(program.transitions) + len(program.timers)
        self.taken = [0] * n_all
        self.entered = [0] * len(program.state_names)
        self.var_lo, self.var_hi = program.var_min, program.var_max
        self._keyword = program.keyword_event
        self._guards: dict[int, Callable | None] = {}
        self._acts: dict[int, tuple] = {}
        self._plans: dict[tuple[int, int], tuple] = {}
        for tr in program.all_transitions:
            self._guards[tr.index] = _guard_fn(tr.guard)
            self._acts[tr.index] = self._compile(tr.actions)
        self._entry = [self._compile(a) for a in program.entry]
        self._exit = [self._compile(a) for a in program.exit]
        # candidates[leaf][event]: transitions to try, innermost state first
        n_events = len(program.event_names)
        self.candidates: list[list[tuple]] = []
        for leaf in range(len(program.state_names)):
            row: list[list] = [[] for _ in range(n_events)]
            state = leaf
            while state != NONE:
                for k in program.state_transitions[state]:
                    tr = program.transitions[k]
                    row[tr.event].append((self._guards[tr.index], tr))
                state = program.parent[state]
            self.candidates.append([tuple(c) for c in row])

    # ------------------------------------------------------------------ actions
    def _compile(self, actions: Iterable[tuple]) -> tuple:
        return tuple(self._compile_one(a) for a in actions)

    def _compile_one(self, action: tuple) -> Callable[[Engine], None]:
        op = action[0]
        if op in ("play", "speak"):
            _, clip, volume = action
            return lambda e: e.log.append((e.now, op, clip, volume))
        if op == "led":
            _, led, pattern, rgb, dhz = action
            return lambda e: e.log.append((e.now, "led", led, pattern, rgb, dhz))
        if op == "motor":
            _, motor, speed, ms = action
            return lambda e: e.log.append((e.now, "motor", motor, speed, ms))
        if op == "record":
            ms = action[1]
            return lambda e: e.log.append((e.now, "record", ms))
        if op in ("upload", "delete"):
            return lambda e: e.log.append((e.now, op))
        if op == "listen":
            on = action[1]

            def listen(e: Engine) -> None:
                e.listen = on
                e.log.append((e.now, "listen", on))
            return listen
        if op == "set":
            assigns = [(index, _value_fn(compiled)) for index, compiled in action[1]]

            def set_vars(e: Engine) -> None:
                v = e.v
                for index, fn in assigns:
                    value = fn(v)
                    lo, hi = e.var_lo[index], e.var_hi[index]
                    value = lo if value < lo else hi if value > hi else value
                    v[index] = value
                    e.log.append((e.now, "set", index, value))
            return set_vars
        if op == "raise":
            event = action[1]

            def raise_event(e: Engine) -> None:
                if len(e.queue) < QUEUE_CAPACITY:
                    e.queue.append(event)
                    e.log.append((e.now, "raise", event))
                else:
                    e.log.append((e.now, "drop", event))
            return raise_event
        if op == "random":
            weights = [w for w, _ in action[1]]
            bodies = [self._compile(body) for _, body in action[1]]
            total = sum(weights)

            def random_choice(e: Engine) -> None:
                pick = e.chooser("random", len(weights)) if e.chooser else None
                if pick is None:
                    e.rng = xorshift32(e.rng)
                    r = e.rng % total
                    pick = 0
                    acc = weights[0]
                    while r >= acc:
                        pick += 1
                        acc += weights[pick]
                e.log.append((e.now, "random", pick))
                for f in bodies[pick]:
                    f(e)
            return random_choice
        if op == "utility":
            scores = [_value_fn(score) for score, _ in action[1]]
            bodies = [self._compile(body) for _, body in action[1]]

            def utility_choice(e: Engine) -> None:
                v = e.v
                best, best_score = 0, None
                for i, fn in enumerate(scores):
                    score = fn(v)
                    if best_score is None or score > best_score:
                        best, best_score = i, score
                e.log.append((e.now, "utility", best))
                for f in bodies[best]:
                    f(e)
            return utility_choice
        raise ValueError(f"unknown action {op}")

    # ------------------------------------------------------------------ structure
    def _plan(self, leaf: int, tr: TransitionIR) -> tuple:
        key = (leaf, tr.index)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        p = self.program
        if tr.target == NONE:
            plan = ((), self._acts[tr.index], (), leaf)
        else:
            target_line = []
            s = tr.target
            while s != NONE:
                target_line.append(s)
                s = p.parent[s]
            domain = p.parent[tr.source]
            while domain != NONE and (domain == tr.target or domain not in target_line):
                domain = p.parent[domain]
            exits = []
            s = leaf
            while s != domain:
                exits.append(s)
                s = p.parent[s]
            enters = list(reversed(target_line[:target_line.index(domain)] if domain != NONE else target_line))
            s = tr.target
            while p.initial_child[s] != NONE:
                s = p.initial_child[s]
                enters.append(s)
            plan = (tuple(exits), self._acts[tr.index], tuple(enters), enters[-1])
        self._plans[key] = plan
        return plan

    def _take(self, tr: TransitionIR) -> None:
        exits, actions, enters, new_leaf = self._plan(self.leaf, tr)
        self.taken[tr.index] += 1
        p = self.program
        for s in exits:
            self.log.append((self.now, "exit", s))
            for k in p.state_timers[s]:
                self.deadline[p.timers[k].slot] = None
            for f in self._exit[s]:
                f(self)
        for f in actions:
            f(self)
        for s in enters:
            self._enter(s)
        self.leaf = new_leaf
        self._update_next()

    def _enter(self, s: int) -> None:
        p = self.program
        self.entered[s] += 1
        self.log.append((self.now, "enter", s))
        for k in p.state_timers[s]:
            timer = p.timers[k]
            self.deadline[timer.slot] = self.now + self.delays[k]
            self.slot_timer[timer.slot] = timer
        for f in self._entry[s]:
            f(self)

    def _update_next(self) -> None:
        best = INFINITY
        for d in self.deadline:
            if d is not None and d < best:
                best = d
        self.next_deadline = best

    # ------------------------------------------------------------------ running
    def start(self, t: int = 0) -> None:
        """Enter the initial states at time ``t``."""
        p = self.program
        self.now = t
        s = p.root_initial
        self._enter(s)
        while p.initial_child[s] != NONE:
            s = p.initial_child[s]
            self._enter(s)
        self.leaf = s
        self._update_next()
        if self.queue:
            self._drain()

    def dispatch(self, event: int) -> int:
        """Offer ``event`` now; returns the global index of the transition taken or -1."""
        v = self.v
        for guard, tr in self.candidates[self.leaf][event]:
            if guard is None or guard(v):
                self._take(tr)
                return tr.index
        return -1

    def _drain(self) -> None:
        count = 0
        queue = self.queue
        while queue:
            if count == MAX_INTERNAL_EVENTS:
                for event in queue:
                    self.log.append((self.now, "drop", event))
                queue.clear()
                return
            event = queue.pop(0)
            count += 1
            self.dispatch(event)

    def advance(self, t: int) -> None:
        """Fire every timer due at or before ``t`` (in deadline order); the clock ends at ``t``."""
        while self.next_deadline <= t:
            best_slot, best = -1, INFINITY
            for slot, d in enumerate(self.deadline):
                if d is not None and d < best:
                    best_slot, best = slot, d
            timer = self.slot_timer[best_slot]
            self.deadline[best_slot] = None
            self.now = best
            guard = self._guards[timer.index]
            if guard is None or guard(self.v):
                self._take(timer)
            else:
                self._update_next()
            if self.queue:
                self._drain()
        if t > self.now:
            self.now = t

    def event(self, t: int, event: int) -> int:
        """Advance to ``t`` and dispatch ``event``; returns the transition index or -1."""
        if self.next_deadline <= t:
            self.advance(t)
        self.now = t
        if self._keyword[event] and not self.listen:
            return -1
        taken = self.dispatch(event)
        if self.queue:
            self._drain()
        return taken

    def run(self, trace: Iterable[tuple[int, int]]) -> list[LogEntry]:
        """Start, then feed ``(t, event)`` pairs (event -1: only advance the clock)."""
        self.start()
        event = self.event
        advance = self.advance
        for t, ev in trace:
            if ev < 0:
                advance(t)
            else:
                event(t, ev)
        return self.log


def _guard_fn(compiled) -> Callable | None:
    if compiled is None:
        return None
    return eval(f"lambda v: {compiled.python}", {"__builtins__": {}, "min": min, "max": max})  # noqa: S307 - generated from a checked AST


def _value_fn(compiled) -> Callable:
    return eval(f"lambda v: {compiled.python}", {"__builtins__": {}, "min": min, "max": max})  # noqa: S307


def format_log_line(entry: LogEntry) -> str:
    """The canonical text form both the Python simulator and the C runtime print; the
    time is the runtime's 32-bit millisecond tick (it wraps every 49.7 days)."""
    return " ".join(str(x) for x in (entry[0] & MASK32, *entry[1:]))
