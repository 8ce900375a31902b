"""What every command receives: the resolved settings and the output, once per run."""

from __future__ import annotations

from dataclasses import dataclass

from lgcraft.config import Settings
from lgcraft.output import Output


@dataclass
class AppContext:
    settings: Settings
    out: Output

    @property
    def json_mode(self) -> bool:
        return self.out.json_mode


def app_context(ctx) -> AppContext:
    """The `AppContext` of a typer/click context (built by the root callback).

    Commands run on their own (tests invoking a group app directly) get defaults.
    """
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext(settings=Settings.load(), out=Output())
    return root.obj
