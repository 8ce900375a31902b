"""File-level operations the CLI calls: load a script with its profile, validate,
compile and write outputs atomically."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lgcraft.errors import InputError, VerificationError
from lgcraft.files import write_atomic
from lgcraft.toys.model import Profile, Script, load_profile, load_script
from lgcraft.toys.program import Program, build_program, check_program
from lgcraft.toys.source import DEFAULT_LIMITS, Diagnostic, Limits, ToyScriptError


def resolve_profile_path(script: Script, script_path: Path, explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    if script.profile_ref:
        return (script_path.parent / script.profile_ref).resolve()
    return None


def load_program(script_path: str | Path, profile_path: str | Path | None = None,
                 *, need_profile: bool = False, limits: Limits = DEFAULT_LIMITS) -> Program:
    """Load, schema-check and compile a script (and its profile: ``--profile`` or the
    script's ``profile:`` key). Raises `ToyScriptError` (exit 2) on the first problems."""
    script_path = Path(script_path)
    script = load_script(script_path, limits=limits)
    found = resolve_profile_path(script, script_path, Path(profile_path) if profile_path else None)
    if found is None and need_profile:
        raise InputError(f"no hardware profile for {script_path}",
                         hint="pass --profile PROFILE or add 'profile: FILE' to the script")
    profile = load_profile(found, limits=limits) if found is not None else None
    return build_program(script, profile)


@dataclass
class ValidationResult:
    script: str
    profile: str | None
    diagnostics: list[Diagnostic]

    @property
    def valid(self) -> bool:
        return not self.diagnostics


def validate_files(script_path: str | Path, profile_path: str | Path | None,
                   limits: Limits = DEFAULT_LIMITS) -> ValidationResult:
    """Every problem of a script against its profile; never raises for script problems."""
    script_path = Path(script_path)
    try:
        script = load_script(script_path, limits=limits)
        early: list[Diagnostic] = []
    except ToyScriptError as exc:
        if exc.script is None:
            return ValidationResult(str(script_path), str(profile_path) if profile_path else None, exc.diagnostics)
        script, early = exc.script, exc.diagnostics
    found = resolve_profile_path(script, script_path, Path(profile_path) if profile_path else None)
    profile: Profile | None = None
    if found is not None:
        try:
            profile = load_profile(found, limits=limits)
        except ToyScriptError as exc:
            return ValidationResult(str(script_path), str(found), exc.diagnostics)
    else:
        raise InputError(f"no hardware profile for {script_path}",
                         hint="pass --profile PROFILE or add 'profile: FILE' to the script")
    later = []
    try:
        later = check_program(script, profile)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        if not early:
            raise
    known = {(d.line, d.column, d.message) for d in early}
    places = {(d.line, d.column) for d in early}
    # a value the schema refused was dropped for this pass: not "unknown" on top of "bad"
    found_all = early + [d for d in later if (d.line, d.column, d.message) not in known
                         and not (early and (d.line, d.column) in places)
                         and not (early and "unknown variable" in d.message)]
    return ValidationResult(str(script_path), str(found),
                            sorted(found_all, key=lambda d: (d.file, d.line, d.column)))


@dataclass
class CompileResult:
    script: str
    target: str
    outputs: list[str]
    flash_bytes: int
    flash_budget_bytes: int | None
    flash_percent: float | None
    ram_bytes: int
    ram_state_bytes: int
    ram_stack_bytes: int
    ram_budget_bytes: int | None
    ram_percent: float | None
    fits: bool
    crc32: str
    check_outcome: str = "not run"
    failed_rules: list[str] | None = None
    undecided_rules: list[str] | None = None
    waived_rules: list[str] | None = None
    signed: bool = False
    public_key: str | None = None


def gate(report, allow_unsafe: list[str]) -> list[str]:
    """The rules to record as waived; raises when a failing or undecided rule is not
    named in ``allow_unsafe`` (exit 1 for a failure, 3 for could-not-decide)."""
    from lgcraft.toys.check import RULES, Undecided

    unknown = [rule for rule in allow_unsafe if rule not in RULES]
    if unknown:
        raise InputError(f"unknown rule for --allow-unsafe (value: {unknown[0]!r})",
                         hint="rules: " + ", ".join(RULES))
    failing = report.failed_rules + report.undecided_rules
    missing = [rule for rule in report.failed_rules if rule not in allow_unsafe]
    if missing:
        raise VerificationError(
            f"refusing to compile: {len(missing)} rule(s) fail: {', '.join(missing)}; nothing written",
            hint="fix the script (lgcraft toys check lists each problem), or waive on the record with "
                 + " ".join(f"--allow-unsafe {rule}" for rule in missing))
    open_rules = [rule for rule in report.undecided_rules if rule not in allow_unsafe]
    if open_rules:
        first = next(r for r in report.rules if r.rule == open_rules[0])
        raise Undecided(f"refusing to compile: could not decide: {first.rule}, {first.undecided}; nothing written",
                        hint="raise the check's bounds, or waive with "
                             + " ".join(f"--allow-unsafe {rule}" for rule in open_rules))
    return [rule for rule in RULES if rule in allow_unsafe and rule in failing]


def compile_files(program: Program, target: str, output: Path, stem: str | None = None, *,
                  report=None, waivers: list[str] | None = None, signing_key=None) -> CompileResult:
    """Compile and write ``output``: a .bin file, or for C a folder (files named ``stem``)
    or a ``NAME.c``/``NAME.h`` path. Over budget: nothing is written (see `fits`).
    ``report`` is the check that gated the build (see `gate`), ``waivers`` the rules
    compiled in despite it (written into the image header), ``signing_key`` an Ed25519
    key that signs the image."""
    from lgcraft.toys.compiler import c_sources, encode, public_key_bytes, read_header, size_report

    waivers = list(waivers or [])
    image = encode(program, waivers, signing_key)
    check = report
    report = size_report(program, image)
    result = CompileResult(
        script=program.script.name, target=target, outputs=[], flash_bytes=report.flash_bytes,
        flash_budget_bytes=report.flash_budget_bytes,
        flash_percent=None if report.flash_percent is None else round(report.flash_percent, 1),
        ram_bytes=report.ram_bytes, ram_state_bytes=report.ram_state_bytes,
        ram_stack_bytes=report.ram_stack_bytes, ram_budget_bytes=report.ram_budget_bytes,
        ram_percent=None if report.ram_percent is None else round(report.ram_percent, 1),
        fits=report.fits, crc32=f"0x{read_header(image).crc32:08x}",
        check_outcome=check.outcome if check is not None else "not run",
        failed_rules=check.failed_rules if check is not None else None,
        undecided_rules=check.undecided_rules if check is not None else None,
        waived_rules=waivers, signed=signing_key is not None,
        public_key=public_key_bytes(signing_key).hex() if signing_key is not None else None,
    )
    if not report.fits:
        return result
    if target == "bin":
        write_atomic(output, image)
        result.outputs = [str(output)]
    elif target == "c":
        if output.suffix in (".c", ".h"):
            stem, folder = output.stem, output.parent
        else:
            stem, folder = stem or output.name, output
        ident = "".join(ch if ch.isalnum() else "_" for ch in stem)
        header, source = c_sources(program, image, ident,
                                   public_key_bytes(signing_key) if signing_key is not None else None)
        write_atomic(folder / f"{ident}.h", header.encode())
        write_atomic(folder / f"{ident}.c", source.encode())
        result.outputs = [str(folder / f"{ident}.h"), str(folder / f"{ident}.c")]
    else:
        raise InputError(f"unknown target (value: {target!r})", hint="use --target bin or --target c")
    return result


def over_budget_error(result: CompileResult) -> VerificationError:
    parts = []
    if result.flash_budget_bytes is not None and result.flash_bytes > result.flash_budget_bytes:
        parts.append(f"flash {result.flash_bytes}/{result.flash_budget_bytes} B ({result.flash_percent}%)")
    if result.ram_budget_bytes is not None and result.ram_bytes > result.ram_budget_bytes:
        parts.append(f"RAM {result.ram_bytes}/{result.ram_budget_bytes} B ({result.ram_percent}%)")
    return VerificationError("over the board's budget: " + ", ".join(parts) + "; nothing written",
                             hint="simplify the script or raise the budget in the profile's board section")
