"""Row identifiers: time-ordered UUIDs (version 7), made by the application.

They never collide when a tenant moves between stores, need no sequence fix-up,
and reveal nothing about other tenants' volume (DESIGN.md, RLS rules).
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = [0, 0]  # last millisecond, last 12-bit counter


def uuid7() -> uuid.UUID:
    """Return a new RFC 9562 version-7 UUID, monotonic within this process."""
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last[0]:
            # Same (or a backwards) millisecond: bump the counter so ids stay ordered.
            ms = _last[0]
            counter = _last[1] + 1
            if counter > 0xFFF:
                ms += 1
                counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        else:
            counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        _last[0], _last[1] = ms, counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)
