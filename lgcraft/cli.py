"""The `lgcraft` command: global options, the trade groups, and the one error handler.

Kept light on purpose: ``lgcraft --help`` and each group's ``--help`` import no torch,
diffusers, transformers, trimesh or web3 (tests/test_startup.py checks it).
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path
from typing import NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from lgcraft import __version__
from lgcraft.errors import LgcraftError

# The trade groups: the module holding each group's Typer app, and the one line
# `lgcraft --help` shows for it (tests/core/test_cli.py keeps it equal to the group's own).
TRADES: dict[str, tuple[str, str]] = {
    "jewelry": ("lgcraft.jewelry.cli",
                "Jewelry design drafts (diffusers) and ring/earring meshes for try-on."),
    "eyewear": ("lgcraft.eyewear.cli",
                "Frame meshes for virtual try-on: repair, scale, pose, budget, measure, GLB/USDZ."),
    "toys": ("lgcraft.toys.cli",
             "Smart-toy behavior scripts: validate, safety checks, simulate, compile."),
    "provenance": ("lgcraft.provenance.cli",
                   "Jewelry provenance: signed records, chain-anchored batches, proof bundles."),
}


def load_trade(name: str):
    """The click group of trade ``name``, built from its Typer app on first use."""
    import importlib

    from typer.main import get_group

    sub_app = importlib.import_module(TRADES[name][0]).app
    sub_app.rich_markup_mode = None  # see the root app: keep --help fast
    group = get_group(sub_app)
    group.name = name
    return group


class TradeGroup(TyperGroup):
    """The root group. Trade groups load when named, so `lgcraft --help` imports none."""

    def list_commands(self, ctx) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in TRADES if n not in self.commands)]

    def get_command(self, ctx, name: str):
        if name in TRADES and name not in self.commands:
            self.add_command(load_trade(name), name)
        return super().get_command(ctx, name)

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except Exception as exc:  # click's UsageError; suggest the trades not loaded yet too
            matches = difflib.get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches and isinstance(getattr(exc, "message", None), str) \
                    and "Did you mean" not in exc.message:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {matches[0]!r}?"
            raise

    def format_commands(self, ctx, formatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in TRADES and name not in self.commands:
                command = TyperCommand(name=name, help=TRADES[name][1])  # a stand-in
            else:
                command = self.commands[name]
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    cls=TradeGroup,
    name="lgcraft",
    help=(
        "AI and modern tooling for Longgang's consumer-goods trades.\n\n"
        "Example: lgcraft --json doctor"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's help renderer costs ~100 ms of start-up
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lgcraft {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Machine output: JSON on stdout, nothing else there."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only results and errors; no progress or notes."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="More detail on stderr (e.g. compiled prompts)."),
    config: Path | None = typer.Option(None, "--config", metavar="FILE", help="Read settings from this lgcraft.toml."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """Global options apply to every command: `lgcraft --json eyewear inspect frame.glb`."""
    from lgcraft.config import Settings
    from lgcraft.context import AppContext
    from lgcraft.output import Output

    ctx.obj = AppContext(
        settings=Settings.load(config),
        out=Output(json_mode=json_output, quiet=quiet, verbose=verbose),
    )


@app.command("doctor")
def doctor(
    ctx: typer.Context,
    areas: list[str] = typer.Argument(None, metavar="[AREA]...",
                                      help="Only these: jewelry, eyewear, toys, provenance, tryon, custom, ray."),
    ray_cluster: bool = typer.Option(False, "--ray", help="Also join the Ray cluster the executor names (a running one) and count its nodes, CPUs and GPUs."),
) -> None:
    """Check this installation: extras, torch, models, chain, renderer, mesh kernels, anvil.

    Exits 1 when a check fails, so a script can use it as a gate: an area named must be
    complete; without areas, extras that are not installed are only warnings.

    Example: lgcraft --json doctor provenance
    """
    from lgcraft.context import app_context
    from lgcraft.doctor import run_doctor

    app_ctx = app_context(ctx)
    report = run_doctor(app_ctx.settings, list(areas or []),
                        **({"ray_cluster": True} if ray_cluster else {}))
    data = {
        "python": report.python, "lgcraft": report.lgcraft, "platform": report.platform,
        "config_file": report.config_file, "areas": report.areas, "ok": report.ok,
        "checks": [vars(check) for check in report.checks],
    }

    def render():
        rows = [(c.status, c.name, c.detail + (f"\nfix: {c.fix}" if c.fix else ""))
                for c in report.checks]
        title = f"lgcraft {report.lgcraft} on Python {report.python} ({report.platform})"
        return app_ctx.out.table(title, ["", "check", "status"], rows)

    app_ctx.out.emit(data, render)
    if not report.ok:
        raise typer.Exit(1)


def _usage_hint(exc) -> str:
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "lgcraft"
    return f"run '{path} --help' for usage"


def _interrupted(err) -> int:
    err.err.print("\nInterrupted.", markup=False)  # on a fresh line: a progress bar may be mid-line
    return 130


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, map every error to one line and an exit code."""
    from typer.main import get_command

    from lgcraft.output import Output

    command = get_command(app)
    args = sys.argv[1:] if argv is None else argv
    debug = os.environ.get("LGCRAFT_DEBUG", "") not in ("", "0")
    err = Output()
    try:
        result = command.main(args=args, prog_name="lgcraft", standalone_mode=False)
        if result == 130:  # typer turns Ctrl-C into Exit(130) before it reaches us
            return _interrupted(err)
        return result if isinstance(result, int) else 0
    except LgcraftError as exc:
        if debug:
            raise
        from lgcraft.runs import record_failure

        record_failure(args, exc.message)
        err.error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        return _interrupted(err)
    except Exception as exc:  # click's exceptions, without importing click by name
        name = type(exc).__name__
        if name == "Abort":
            return _interrupted(err)
        if name == "Exit":
            return getattr(exc, "exit_code", 0)
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            if debug:
                raise
            err.error(exc.format_message(), _usage_hint(exc))
            return exc.exit_code
        if debug:
            raise
        err.error(f"unexpected {name}: {exc}", "rerun with LGCRAFT_DEBUG=1 for the traceback, and report it")
        return 1


_QUICK_EXIT = False


def allow_quick_exit() -> None:
    """Called by a command once every file it makes is written and closed: the process
    may then end without Python's teardown of its modules (~0.07 s after a mesh batch
    has loaded numpy and the mesh libraries), which has nothing left to save."""
    global _QUICK_EXIT
    _QUICK_EXIT = True


def exit_process(code: int) -> NoReturn:
    """End the process with ``code``: at once (streams flushed) when the command allowed
    it, else through the normal interpreter shutdown."""
    if _QUICK_EXIT:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing more to say
                pass
        os._exit(code)
    sys.exit(code)


def run() -> None:  # pragma: no cover - console entry
    exit_process(main())
