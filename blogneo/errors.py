"""The errors blogneo raises on purpose. Each message says what was wrong and what to do next."""

from __future__ import annotations


class BlogneoError(Exception):
    """Something the user can fix: a bad value, a missing model, too little memory."""


class ParameterError(BlogneoError, ValueError):
    """A value outside what is allowed. ``field`` names the parameter."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class NotEnoughMemoryError(BlogneoError, MemoryError):
    """Loading would need more memory than the device has free; refused before loading."""


def said(error: BaseException) -> str:
    """What a studio shows for an error: blogneo's own message, or what went wrong with its type."""
    return str(error) if isinstance(error, BlogneoError) else f"Something went wrong: {type(error).__name__}: {error}"
