"""Errors an operator can act on. The CLI prints the message alone (no traceback) and
exits non-zero; the message says what was wrong, with the value, and what to do."""


class OperationError(ValueError):
    """An operation was refused or failed in an expected way."""


class NotFound(OperationError):
    """A named tenant, store, domain or user does not exist."""
