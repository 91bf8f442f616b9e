"""The error ``flowyml ui`` raises for what a user can fix: a port in use, no project."""

from __future__ import annotations

from flowyml.backend import FlowyMLError

__all__ = ["UiError"]


class UiError(FlowyMLError):
    """``flowyml ui`` cannot start as asked; the message says why and what to do."""
