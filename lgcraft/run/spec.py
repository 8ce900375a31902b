"""Which executor runs a batch: the ``--executor`` value, parsed once by the CLI.

Forms (flag ``--executor``, config ``[run] executor``, env ``LGCRAFT_RUN_EXECUTOR``)::

    local             this machine, as always (the default; Ray is never imported)
    ray               ray.init(): join the cluster RAY_ADDRESS names or one started with
                      `ray start` on this machine, else start a local one
    auto              ray.init(address="auto"): join a running cluster, never start one
    ray://HOST:PORT   Ray Client to a remote cluster's head (port 10001 by default)
"""

from __future__ import annotations

from dataclasses import dataclass

from lgcraft.errors import InputError

FORMS = "local, ray, auto or ray://HOST:PORT"
CLIENT_PORT = 10001


@dataclass(frozen=True)
class ExecutorSpec:
    """A parsed ``--executor``: ``kind`` is local or ray; ``address`` what ray.init gets
    (None: start or join a local cluster, "auto", or "ray://host:port")."""

    kind: str = "local"
    address: str | None = None

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def __str__(self) -> str:
        if self.kind == "local":
            return "local"
        return self.address or "ray"


LOCAL = ExecutorSpec()


def parse_executor(text: str | None, origin: str = "--executor") -> ExecutorSpec:
    """``"ray://head:10001"`` -> ExecutorSpec("ray", "ray://head:10001").

    ``origin`` names where the value came from, for the error.

    >>> parse_executor("auto")
    ExecutorSpec(kind='ray', address='auto')
    """
    value = (text or "local").strip()
    lowered = value.lower()
    if lowered == "local":
        return LOCAL
    if lowered == "ray":
        return ExecutorSpec("ray", None)
    if lowered == "auto":
        return ExecutorSpec("ray", "auto")
    if lowered.startswith("ray://"):
        rest = value[len("ray://"):]
        host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
        host = host.strip("[]")
        if not host or "/" in rest or (port and not (port.isdigit() and 0 < int(port) < 65536)):
            raise InputError(f"{origin} {value}: not a Ray Client address",
                             hint=f"use ray://HOST:PORT, e.g. ray://head-node:{CLIENT_PORT}")
        return ExecutorSpec("ray", f"ray://{rest if port else f'{host}:{CLIENT_PORT}'}")
    raise InputError(f"{origin} {value!r}: unknown executor", hint=f"use {FORMS}")
