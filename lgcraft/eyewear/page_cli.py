"""`lgcraft eyewear page`: the live-camera try-on page (registered in eyewear/cli.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from lgcraft.context import app_context

DEFAULT_PORT = 8000


def page(
    ctx: typer.Context,
    catalog: Path = typer.Option(..., "--catalog", metavar="DIR", help="A prep output folder (its batch.json lists the frames)."),
    out: Path = typer.Option(..., "--out", "-o", metavar="SITE", help="Folder to write the page to (a page folder written before is replaced)."),
    serve: bool = typer.Option(False, "--serve", help="Then serve SITE on http://127.0.0.1:PORT until Ctrl-C."),
    port: int | None = typer.Option(None, "--port", metavar="PORT", help=f"Port for --serve (default {DEFAULT_PORT}; 0 picks a free one)."),
    title: str | None = typer.Option(None, "--title", help="The page's heading (default: Try on frames)."),
    node_modules: Path | None = typer.Option(None, "--node-modules", metavar="DIR", help="Where the npm packages are (default: ./node_modules or the lgcraft checkout's)."),
) -> None:
    """Write a live-camera try-on page for the frames of a prep output folder.

    SITE gets index.html, one JavaScript bundle (three.js and the page, built with esbuild
    from node_modules), MediaPipe's face-mesh wasm and model, and the prepared GLBs with a
    frame picker. It loads nothing from the internet and sends nothing anywhere: open
    SITE/index.html from disk or put SITE on any static host. The camera starts only after
    a click; the frame is placed at true scale (iris 11.7 mm), smoothed (One-Euro), and
    hidden behind the face where the head covers it.

    Example: lgcraft eyewear page --catalog out/eyewear -o out/site --serve
    """
    from lgcraft.eyewear.page import build_page, find_node_modules, serve_site

    app = app_context(ctx)
    get = app.settings.get
    explicit = get("eyewear", "node_modules", str, None, flag=node_modules)
    modules = find_node_modules(Path(explicit) if explicit else None,
                                [Path.cwd(), Path(__file__).resolve().parents[2]])
    port = get("eyewear", "port", int, DEFAULT_PORT, flag=port, valid=lambda p: 0 <= p <= 65535,
               expect="0-65535")
    with app.out.progress("Writing the try-on page") as advance:
        result = build_page(catalog, out, node_modules=modules,
                            title=title or get("eyewear", "page_title", str, "Try on frames"),
                            on_file=lambda name: advance(1, description=name))
    server = serve_site(result.site, port) if serve else None
    summary = {
        "site": str(result.site), "index": str(result.index),
        "url": f"http://127.0.0.1:{server.server_address[1]}/" if server else None,
        "frames": [{"name": f.name, "marking": f.marking, "glb": f.glb,
                    "total_width_mm": f.total_width_mm} for f in result.frames],
        "skipped": result.skipped, "files": result.files, "bytes": result.bytes,
        "bundle_bytes": result.bundle_bytes, "node_modules": str(result.node_modules),
        "seconds": result.seconds,
    }

    def render():
        rows = [[f.name, f.marking or "-", f"{f.total_width_mm:.1f}" if f.total_width_mm else "-",
                 f.glb] for f in result.frames]
        rows += [[s["name"], "skipped", "-", s["reason"]] for s in result.skipped]
        caption = (f"{len(result.frames)} frame(s), {result.files} files, "
                   f"{result.bytes / 1e6:.1f} MB in {result.site}; open {result.index} "
                   + (f"or {summary['url']}" if server else "or add --serve"))
        return app.out.table("Try-on page", ["frame", "marking", "width mm", "file"], rows,
                             caption=caption)

    app.out.emit(summary, render)
    for skipped in result.skipped:
        app.out.warn(f"left out {skipped['name']}: {skipped['reason']}")
    if server is None:
        return
    app.out.info(f"Serving {result.site} at {summary['url']} (Ctrl-C to stop)")
    from lgcraft.serve import serve_until_interrupted

    serve_until_interrupted(server)
