"""Request body size limits: 413 before a view reads an oversized body (issue 8)."""

from __future__ import annotations


def includeme(config):
    pass
