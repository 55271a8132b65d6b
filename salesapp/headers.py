"""Security headers on every response (filled in by the hardening work, issue 8)."""

from __future__ import annotations


def includeme(config):
    pass
