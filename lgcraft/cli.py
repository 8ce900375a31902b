"""The `lgcraft` command: global options, the trade groups, and the one error handler.

Kept light on purpose: ``lgcraft --help`` and each group's ``--help`` import no torch,
diffusers, transformers, trimesh or web3 (tests/test_startup.py checks it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from lgcraft import __version__
from lgcraft.errors import LgcraftError

app = typer.Typer(
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


def _add_groups() -> None:
    from lgcraft.eyewear.cli import app as eyewear_app
    from lgcraft.jewelry.cli import app as jewelry_app
    from lgcraft.provenance.cli import app as provenance_app
    from lgcraft.toys.cli import app as toys_app

    for name, group in (("jewelry", jewelry_app), ("eyewear", eyewear_app),
                        ("toys", toys_app), ("provenance", provenance_app)):
        group.rich_markup_mode = None  # see the root app: keep --help fast
        app.add_typer(group, name=name)


@app.command("doctor")
def doctor(ctx: typer.Context) -> None:
    """Check this installation: extras, torch device, models, chain, renderer, anvil.

    Example: lgcraft --json doctor
    """
    from lgcraft.context import app_context
    from lgcraft.doctor import run_doctor

    app_ctx = app_context(ctx)
    report = run_doctor(app_ctx.settings)
    data = {
        "python": report.python, "lgcraft": report.lgcraft, "platform": report.platform,
        "config_file": report.config_file, "ok": report.ok,
        "checks": [vars(check) for check in report.checks],
    }

    def render():
        rows = [("ok" if c.ok else "no", c.name, c.detail, c.fix or "") for c in report.checks]
        title = f"lgcraft {report.lgcraft} on Python {report.python} ({report.platform})"
        return app_ctx.out.table(title, ["", "check", "status", "how to fix"], rows)

    app_ctx.out.emit(data, render)


_add_groups()


def _usage_hint(exc) -> str:
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "lgcraft"
    return f"run '{path} --help' for usage"


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
        return result if isinstance(result, int) else 0
    except LgcraftError as exc:
        if debug:
            raise
        err.error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        err.err.print("Interrupted.", markup=False)
        return 130
    except Exception as exc:  # click's exceptions, without importing click by name
        name = type(exc).__name__
        if name == "Abort":
            err.err.print("Interrupted.", markup=False)
            return 130
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


def run() -> None:  # pragma: no cover - console entry
    sys.exit(main())
