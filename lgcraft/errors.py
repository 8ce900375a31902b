"""The one exception tree of lgcraft.

Every error a user can meet is an `LgcraftError`. Library code raises the most precise
subclass it can, with a message that names the offending value and, where there is
one, a hint with the next step. Foreign exceptions are translated at the boundary
(``raise InputError(...) from exc``) so users never meet a dependency's types.

Exit codes (see `lgcraft.cli`): 2 for bad input or usage, 1 for a failed operation or
a failed verification, 3 for a verification that could not be carried out (see
`UncheckedError`), 130 for Ctrl-C.
"""

from __future__ import annotations


class LgcraftError(Exception):
    """Root of all lgcraft errors. ``exit_code`` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(LgcraftError):
    """Bad input from the user: a value, a file, a flag combination. Exit 2."""

    exit_code = 2


class ConfigError(InputError):
    """A bad configuration file, environment variable or setting. Exit 2."""


class DependencyError(LgcraftError):
    """An optional extra, tool or system library is not installed."""


class ModelError(LgcraftError):
    """A model is missing, not cached offline, unsafe or not licensed for the use."""


class OperationError(LgcraftError):
    """An operation that was started could not be completed (I/O, resources, ...)."""


class ChainError(OperationError):
    """The blockchain node is unreachable, on the wrong chain, or rejected a call."""


class VerificationError(LgcraftError):
    """A check ran and failed: a proof, signature or rule does not hold. Exit 1."""


class UncheckedError(LgcraftError):
    """A check could not run (node down or wrong, timeout, offline): neither valid nor
    invalid. Exit 3, so a script never takes a network failure for a forgery."""

    exit_code = 3


__all__ = [
    "ChainError",
    "ConfigError",
    "DependencyError",
    "InputError",
    "LgcraftError",
    "ModelError",
    "OperationError",
    "UncheckedError",
    "VerificationError",
]
