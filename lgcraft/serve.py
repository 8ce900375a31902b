"""Serving a built static folder (a try-on page, a verification site) on loopback."""

from __future__ import annotations

from pathlib import Path

from lgcraft.errors import InputError


def serve_folder(folder: str | Path, port: int = 8000, *, built_by: str, host: str = "127.0.0.1"):
    """An HTTP server for the files under ``folder`` on ``host`` (loopback by default;
    port 0 picks a free one). Call ``serve_forever()`` on it.

    ``built_by`` is the command that builds the folder, for the error when it has no
    index.html. Responses are never cached (a rebuilt page shows at once) and never
    MIME-sniffed; requests are not logged (the CLI prints the address once).

    >>> serve_folder("site", 0, built_by="lgcraft eyewear page").serve_forever()  # doctest: +SKIP
    """
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    folder = Path(folder)
    if not (folder / "index.html").is_file():
        raise InputError(f"{folder} has no index.html", hint=f"build it with '{built_by}'")

    class Handler(SimpleHTTPRequestHandler):
        extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript",
                          ".mjs": "text/javascript", ".wasm": "application/wasm",
                          ".json": "application/json", ".toml": "text/plain"}

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet
            pass

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            super().end_headers()

    try:
        return ThreadingHTTPServer((host, port), partial(Handler, directory=str(folder)))
    except OSError as exc:
        raise InputError(f"--port {port}: cannot listen on {host} ({exc.strerror})",
                         hint="pick another port, or --port 0 for any free one") from exc


def serve_until_interrupted(server) -> None:
    """Serve until Ctrl-C, then close the socket: Ctrl-C is how a served folder stops."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
