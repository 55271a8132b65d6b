"""The error of a refused account change."""

from __future__ import annotations


class AccountError(ValueError):
    """A refused account change; the message says what was wrong and what to do.

    ``field`` names the form field the message belongs to (None: the whole form).
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
