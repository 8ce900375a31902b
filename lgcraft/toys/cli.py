"""`lgcraft toys`: behavior scripts for smart toys."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from lgcraft.context import app_context
from lgcraft.errors import InputError, VerificationError

app = typer.Typer(
    help=(
        "Smart-toy behavior scripts: validate, safety checks, simulate, compile.\n\n"
        "Example: lgcraft toys check examples/toys/mimi.toy.yaml"
    ),
    no_args_is_help=True,
)

SCRIPT = typer.Argument(..., metavar="SCRIPT", help="Behavior script (.toy.yaml).")
PROFILE = typer.Option(None, "--profile", "-p", metavar="PROFILE",
                       help="Hardware profile (.profile.yaml); default: the script's 'profile:'.")


def _require() -> None:
    from lgcraft.extras import require

    require("toys")


def _limits(app_):
    """Resource limits on script and profile files, from the settings ([toys] section)."""
    from lgcraft.toys.source import DEFAULT_LIMITS, Limits

    def get(key: str, default: int) -> int:
        return app_.settings.get("toys", key, int, default, valid=lambda v: v >= 1, expect="at least 1")

    return Limits(max_file_bytes=get("max_file_bytes", DEFAULT_LIMITS.max_file_bytes),
                  max_nodes=get("max_yaml_nodes", DEFAULT_LIMITS.max_nodes),
                  max_depth=get("max_yaml_depth", DEFAULT_LIMITS.max_depth),
                  max_aliases=get("max_yaml_aliases", DEFAULT_LIMITS.max_aliases))


@app.command()
def validate(ctx: typer.Context, script: Path = SCRIPT, profile: Path | None = PROFILE) -> None:
    """Check a script against the schema and its toy: unknown events, actuators, assets,
    type errors in guards. Every problem is listed as file:line:column.

    Example: lgcraft toys validate examples/toys/mimi.toy.yaml --profile examples/toys/mimi.profile.yaml
    """
    _require()
    from lgcraft.toys.workflow import validate_files

    app_ = app_context(ctx)
    result = validate_files(script, profile, _limits(app_))
    data = {"script": result.script, "profile": result.profile, "valid": result.valid,
            "problems": [{"file": d.file, "line": d.line, "column": d.column, "message": d.message,
                          "value": d.value if isinstance(d.value, str | int | float | bool) or d.value is None else str(d.value),
                          "text": str(d)} for d in result.diagnostics]}

    def render():
        if result.valid:
            return app_.out.panel(f"{result.script} is valid for {result.profile}", title="valid")
        return app_.out.table(f"{len(result.diagnostics)} problem(s)", ["where", "problem", "value"],
                              [(f"{d.file}:{d.line}:{d.column}", d.message, "" if d.value is None else repr(d.value))
                               for d in result.diagnostics])

    app_.out.emit(data, render)
    if not result.valid:
        raise VerificationError(f"{len(result.diagnostics)} problem(s) in {script}; first: {result.diagnostics[0]}")


MAX_STATES = typer.Option(None, "--max-states", min=1,
                          help="Bound: configurations kept (default 500000; setting toys.max_states).")
MAX_SECONDS = typer.Option(None, "--max-seconds", min=0.001,
                           help="Bound: seconds of search (default 120; setting toys.max_check_seconds).")
MAX_MEMORY = typer.Option(None, "--max-memory-mb", min=1,
                          help="Bound: MB the search may add (default 2048; setting toys.max_check_memory_mb).")


def _bounds(app_, max_states, max_seconds, max_memory_mb):
    from lgcraft.toys.check import Bounds

    base = Bounds()
    return Bounds(
        max_states=app_.settings.get("toys", "max_states", int, base.max_states, max_states,
                                     valid=lambda v: v >= 1, expect="at least 1"),
        max_seconds=app_.settings.get("toys", "max_check_seconds", float, base.max_seconds, max_seconds,
                                      valid=lambda v: v > 0, expect="more than 0"),
        max_memory_mb=app_.settings.get("toys", "max_check_memory_mb", int, base.max_memory_mb, max_memory_mb,
                                        valid=lambda v: v >= 1, expect="at least 1"))


def _check_data(report) -> dict:
    return {
        "script": report.script, "profile": report.profile, "category": report.category,
        "passed": report.passed, "outcome": report.outcome,
        "configurations": report.configurations, "moves": report.moves,
        "time_step_ms": report.time_step_ms, "seconds": round(report.seconds, 3),
        "time_abstraction": report.time_abstraction,
        "failed_rules": report.failed_rules, "undecided_rules": report.undecided_rules,
        "rules": [{"rule": r.rule, "description": r.description, "passed": r.passed,
                   "status": ("skip" if r.skipped and r.passed else "fail" if not r.passed
                              else "undecided" if r.undecided else "pass"),
                   "skipped": r.skipped, "undecided": r.undecided,
                   "findings": [{"message": f.message, "state": f.state, "path": f.path,
                                 "location": f.location} for f in r.findings]}
                  for r in report.rules],
    }


def _check_render(app_, report):
    from rich.console import Group

    rows = []
    for r in report.rules:
        status = ("skip" if r.skipped and r.passed else "FAIL" if not r.passed
                  else "UNDECIDED" if r.undecided else "pass")
        rows.append((status, r.rule, r.skipped or r.undecided or r.description))
    parts = [app_.out.table(
        f"{report.script} on {report.profile} ({report.category}): {report.configurations} "
        f"configurations, {report.moves} moves, {report.seconds:.2f} s, timer grid {report.time_step_ms} ms",
        ["", "rule", "what it checks"], rows,
        caption=f"time abstraction: {report.time_abstraction}" if report.time_abstraction else None)]
    problems = [(r.rule, f.message, " -> ".join(f.path) or "(none)", f.location or "")
                for r in report.rules for f in r.findings]
    if problems:
        parts.append(app_.out.table("Problems, each with the shortest event sequence",
                                    ["rule", "problem", "shortest sequence", "where"], problems))
    return Group(*parts)


def check_outcome_error(report):
    """The error `check` (and `compile`) ends with: exit 1 when a rule fails, exit 3
    "could not decide: <rule>, <why>" when a bound left rules undecided."""
    from lgcraft.toys.check import Undecided

    if report.failed_rules:
        return VerificationError(f"{len(report.failed_rules)} rule(s) failed: {', '.join(report.failed_rules)}")
    if report.undecided_rules:
        first = next(r for r in report.rules if r.rule == report.undecided_rules[0])
        more = len(report.undecided_rules) - 1
        return Undecided(f"could not decide: {first.rule}, {first.undecided}"
                         + (f" (and {more} more rule(s): {', '.join(report.undecided_rules[1:])})" if more else ""),
                         hint="raise the bound named, or simplify the script (fewer variable values, "
                              "coarser timer delays)")
    return None


@app.command()
def check(
    ctx: typer.Context,
    script: Path = SCRIPT,
    profile: Path | None = PROFILE,
    max_states: int | None = MAX_STATES,
    max_seconds: float | None = MAX_SECONDS,
    max_memory_mb: int | None = MAX_MEMORY,
) -> None:
    """Explore every reachable configuration (states x variables x timers, every random
    branch) and check the safety and privacy rules; each problem comes with the shortest
    event sequence that reaches it. Exit 1 if a rule fails, exit 3 ("could not decide")
    if a bound (states, seconds, memory) was hit first.

    Example: lgcraft toys check examples/toys/mimi.toy.yaml --profile examples/toys/mimi.profile.yaml
    """
    _require()
    from lgcraft.toys.check import check_program
    from lgcraft.toys.workflow import load_program

    app_ = app_context(ctx)
    bounds = _bounds(app_, max_states, max_seconds, max_memory_mb)
    program = load_program(script, profile, need_profile=True, limits=_limits(app_))
    with app_.out.progress("Exploring configurations", total=None) as advance:
        report = check_program(program, bounds=bounds,
                               progress=lambda n: advance(5000, description=f"Exploring ({n} configurations)"))
    app_.out.emit(_check_data(report), lambda: _check_render(app_, report))
    error = check_outcome_error(report)
    if error is not None:
        raise error


@app.command()
def simulate(
    ctx: typer.Context,
    script: Path = SCRIPT,
    events: Path | None = typer.Option(None, "--events", "-e", metavar="TRACE.jsonl",
                                       help='Trace, one JSON per line: {"t": 1200, "event": "pat_head"}. '
                                            "Without it: interactive (type events, 'wait 30s', 'quit')."),
    seed: int | None = typer.Option(None, "--seed", min=0, max=2**32 - 1,
                                    help="Seed of random choices (default: the script's 'seed', else 1)."),
    profile: Path | None = PROFILE,
) -> None:
    """Run the script on a simulated clock and print the deterministic action log
    (a table, or JSON lines, one action each, with --json). Same script, trace and
    seed: same log, here and on the toy's C runtime.

    Example: lgcraft toys simulate examples/toys/mimi.toy.yaml --events examples/toys/mimi.trace.jsonl --seed 7
    """
    _require()
    from lgcraft.toys.simulate import InteractiveSession, load_trace
    from lgcraft.toys.simulate import simulate as run_simulation
    from lgcraft.toys.workflow import load_program

    app_ = app_context(ctx)
    program = load_program(script, profile, limits=_limits(app_))
    seed = seed if seed is not None else (program.script.seed if program.script.seed is not None else 1)
    if events is None:
        _interactive(app_, InteractiveSession(program, seed))
        return
    trace = load_trace(events, program)
    result = run_simulation(program, trace, seed)
    if app_.json_mode:  # JSON lines: one object per action, then a summary line
        for line in result.log:
            app_.out.json_line(_action(line))
        app_.out.json_line({"summary": {"script": result.script, "seed": result.seed,
                                        "events": result.events, "actions": len(result.log),
                                        "final_state": result.final_state,
                                        "active_states": result.active_states,
                                        "variables": result.variables, "end_ms": result.end_ms}})
        return
    table = app_.out.table(
        f"{result.script}: {result.events} events, seed {result.seed}, ends in "
        f"{' > '.join(result.active_states)} at {result.end_ms} ms",
        ["t (ms)", "action"], [(line.t, line.text) for line in result.log],
        caption=("variables: " + ", ".join(f"{k}={v}" for k, v in result.variables.items())) if result.variables else None)
    app_.out.emit({}, table)


def _action(line) -> dict:
    """One action of the log, as a JSON line."""
    return {"t": line.t, "op": line.op, "args": line.args, "text": line.text}


def _interactive(app_, session) -> None:
    out = app_.out

    def show(lines) -> None:
        for line in lines:
            if app_.json_mode:  # the same JSON lines as with --events: stdout stays parseable
                out.json_line(_action(line))
            else:
                out.console.print(f"{line.t:>8} ms  {line.text}", markup=False)

    show(session.new_lines())
    interactive = sys.stdin.isatty()
    events = ", ".join(session.program.event_names)
    out.info(f"Events: {events}. Type an event, 'wait 30s', 'state', 'help' or 'quit'.")
    while True:
        if interactive:
            out.err.print(f"[{session.state()}] > ", end="", markup=False)
        raw = sys.stdin.readline()
        if not raw:
            break
        command = raw.strip()
        if command in ("quit", "exit"):
            break
        if command == "state":
            variables = dict(zip(session.program.var_names, session.engine.v, strict=True))
            if app_.json_mode:
                out.json_line({"state": session.state(), "variables": variables})
            else:
                out.console.print(f"{session.state()} {variables}", markup=False)
            continue
        from lgcraft.toys.simulate import HelpRequested

        try:
            show(session.send(command))
        except HelpRequested as answer:
            if app_.json_mode:
                out.json_line({"help": str(answer), "events": session.program.event_names,
                               "commands": ["EVENT", "wait DURATION", "state", "help", "quit"]})
            else:
                out.console.print(str(answer), markup=False)
        except InputError as exc:
            out.error(exc.message, exc.hint)


@app.command()
def coverage(
    ctx: typer.Context,
    script: Path = SCRIPT,
    random_runs: int = typer.Option(100, "--random", min=1, help="Number of random traces."),
    seed: int = typer.Option(1, "--seed", min=0, help="Seed of the random traces."),
    length: int = typer.Option(40, "--length", min=1, max=1_000_000, help="Events per random trace."),
    profile: Path | None = PROFILE,
) -> None:
    """State and transition coverage of random event traces; lists what was never hit.

    Example: lgcraft toys coverage examples/toys/mimi.toy.yaml --random 200 --seed 3
    """
    _require()
    from lgcraft.toys.simulate import coverage as run_coverage
    from lgcraft.toys.workflow import load_program

    app_ = app_context(ctx)
    program = load_program(script, profile, limits=_limits(app_))
    with app_.out.progress("Random traces", total=random_runs) as advance:
        result = run_coverage(program, random_runs, seed, length, progress=advance)
    data = {"script": result.script, "runs": result.runs, "events_per_run": result.events_per_run,
            "seed": result.seed, "states_covered": result.states_covered, "states_total": result.states_total,
            "state_percent": round(result.state_percent, 1),
            "transitions_covered": result.transitions_covered,
            "transitions_total": result.transitions_total,
            "transition_percent": round(result.transition_percent, 1),
            "uncovered_states": result.uncovered_states,
            "uncovered_transitions": result.uncovered_transitions}

    def render():
        rows = [("states", f"{result.states_covered}/{result.states_total}", f"{result.state_percent:.1f}%",
                 ", ".join(result.uncovered_states)),
                ("transitions", f"{result.transitions_covered}/{result.transitions_total}",
                 f"{result.transition_percent:.1f}%", "; ".join(result.uncovered_transitions))]
        return app_.out.table(f"{result.script}: {result.runs} random traces x {result.events_per_run} events, seed {result.seed}",
                              ["", "covered", "%", "never hit"], rows)

    app_.out.emit(data, render)


@app.command("compile")
def compile_command(
    ctx: typer.Context,
    script: Path = SCRIPT,
    profile: Path | None = PROFILE,
    target: str = typer.Option("bin", "--target", "-t", help="bin (binary image) or c (C source + header)."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Output .bin file, or for C a folder (or NAME.c); default next to the script."),
    allow_unsafe: list[str] | None = typer.Option(
        None, "--allow-unsafe", metavar="RULE",
        help="Compile although this check rule fails or is undecided (repeat, or comma-separate); "
             "recorded in the image header and the report."),
    sign: Path | None = typer.Option(None, "--sign", metavar="KEYFILE",
                                     help="Sign the image with this Ed25519 key (PEM; make one with 'toys keygen')."),
    max_states: int | None = MAX_STATES,
    max_seconds: float | None = MAX_SECONDS,
    max_memory_mb: int | None = MAX_MEMORY,
) -> None:
    """Check, then compile for the toy's C runtime: a versioned binary with header and
    CRC-32 (optionally Ed25519-signed), or a C source/header pair; prints flash and RAM
    used / budget and refuses over 100%. A script that fails `check` is refused (exit 1;
    exit 3 if the check could not decide) unless --allow-unsafe names each failing rule.

    Example: lgcraft toys compile examples/toys/mimi.toy.yaml --target bin -o mimi.bin
    """
    _require()
    from lgcraft.toys.check import check_program
    from lgcraft.toys.workflow import compile_files, gate, load_program, over_budget_error

    app_ = app_context(ctx)
    if target not in ("bin", "c"):
        raise InputError(f"unknown target (value: {target!r})", hint="use --target bin or --target c")
    waive = [rule.strip() for item in (allow_unsafe or []) for rule in item.split(",") if rule.strip()]
    bounds = _bounds(app_, max_states, max_seconds, max_memory_mb)
    program = load_program(script, profile, need_profile=True, limits=_limits(app_))
    signing_key = None
    if sign is not None:
        from lgcraft.toys.compiler import load_signing_key

        signing_key = load_signing_key(sign)
    with app_.out.progress("Checking before compiling", total=None) as advance:
        report = check_program(program, bounds=bounds,
                               progress=lambda n: advance(5000, description=f"Checking ({n} configurations)"))
    try:
        waivers = gate(report, waive)
    except Exception:
        if not app_.json_mode:
            app_.out.err.print(_check_render(app_, report))
        else:
            app_.out.emit({"compiled": False, "check": _check_data(report)})
        raise
    stem = script.name.split(".")[0]
    if output is None:
        output = script.parent / f"{stem}.bin" if target == "bin" else script.parent
    result = compile_files(program, target, output, stem, report=report, waivers=waivers, signing_key=signing_key)
    data = {k: v for k, v in vars(result).items()}

    def render():
        def cell(used, budget, percent):
            return f"{used} / {budget} B ({percent}%)" if budget else f"{used} B"
        rows = [("check", result.check_outcome + (f" (waived: {', '.join(result.waived_rules)})"
                                                  if result.waived_rules else "")),
                ("flash (program image)", cell(result.flash_bytes, result.flash_budget_bytes, result.flash_percent)),
                ("RAM (runtime state + expression stack)",
                 cell(result.ram_bytes, result.ram_budget_bytes, result.ram_percent)
                 + f"  = {result.ram_state_bytes} + {result.ram_stack_bytes}"),
                ("CRC-32", result.crc32),
                ("signature", f"Ed25519, public key {result.public_key}" if result.signed else "none"),
                ("written", ", ".join(result.outputs) or "nothing")]
        table = app_.out.table(f"{result.script} -> {target}", ["", "used / budget"], rows)
        table.show_header = False
        return table

    app_.out.emit(data, render)
    if result.waived_rules and not app_.json_mode:
        app_.out.err.print(f"Warning: compiled despite failing check rule(s), recorded in the image header: "
                           f"{', '.join(result.waived_rules)}", markup=False)
    if not result.fits:
        raise over_budget_error(result)


@app.command()
def keygen(
    ctx: typer.Context,
    keyfile: Path = typer.Argument(..., metavar="KEYFILE", help="Where to write the new private key (PEM, mode 600)."),
) -> None:
    """Make an Ed25519 key for signing toy program images (compile --sign KEYFILE); prints
    the public key the toy's firmware must trust (toyrt_init_signed).

    Example: lgcraft toys keygen toy-signing.pem
    """
    _require()
    from lgcraft.toys.compiler import generate_key

    app_ = app_context(ctx)
    public = generate_key(keyfile)
    app_.out.emit({"keyfile": str(keyfile), "public_key": public.hex()},
                  lambda: app_.out.panel(f"private key: {keyfile} (keep it secret)\npublic key (build into the "
                                         f"toy's firmware): {public.hex()}", title="Ed25519 key"))


@app.command()
def graph(
    ctx: typer.Context,
    script: Path = SCRIPT,
    fmt: str = typer.Option("mermaid", "--format", "-f", help="mermaid or dot."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Draw the state machine as Mermaid (stateDiagram-v2) or Graphviz dot.

    Example: lgcraft toys graph examples/toys/mimi.toy.yaml --format dot -o mimi.dot
    """
    _require()
    from lgcraft.files import write_atomic
    from lgcraft.toys.graph import to_dot, to_mermaid
    from lgcraft.toys.model import load_script

    app_ = app_context(ctx)
    if fmt not in ("mermaid", "dot"):
        raise InputError(f"unknown graph format (value: {fmt!r})", hint="use --format mermaid or --format dot")
    parsed = load_script(script, limits=_limits(app_))
    text = to_mermaid(parsed) if fmt == "mermaid" else to_dot(parsed)
    if output is not None:
        write_atomic(output, text.encode())
        app_.out.emit({"script": parsed.name, "format": fmt, "output": str(output)})
        return
    if app_.json_mode:
        app_.out.emit({"script": parsed.name, "format": fmt, "text": text})
    else:
        app_.out.console.file.write(text)


@app.command()
def schema(
    ctx: typer.Context,
    kind: str = typer.Argument("script", help="script or profile."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Print the published JSON Schema of scripts or profiles (for editor completion,
    e.g. a yaml-language-server modeline).

    Example: lgcraft toys schema script -o toy-script.schema.json
    """
    import json

    from lgcraft.files import write_atomic
    from lgcraft.toys.model import schema as load_schema

    app_ = app_context(ctx)
    if kind not in ("script", "profile"):
        raise InputError(f"unknown schema (value: {kind!r})", hint="use 'script' or 'profile'")
    text = json.dumps(load_schema(kind), indent=2) + "\n"
    if output is not None:
        write_atomic(output, text.encode())
        app_.out.emit({"schema": kind, "output": str(output)})
    else:
        app_.out.console.file.write(text)
