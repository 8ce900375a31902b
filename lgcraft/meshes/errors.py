"""Errors of the mesh engine (all `lgcraft.errors` subclasses)."""

from __future__ import annotations

from lgcraft.errors import InputError, OperationError


class MeshError(InputError):
    """A mesh file that cannot be used: unreadable, truncated, empty, NaN, bad references."""


class MeasureError(OperationError):
    """A model loaded but could not be measured or posed (e.g. the unit cannot be told)."""


class UnitError(InputError):
    """The unit cannot be told from the model's size; pass --units or --frame-width."""
