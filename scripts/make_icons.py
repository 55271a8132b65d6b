"""Draw the app's icons (salesapp/static/icons/icon-192.png, icon-512.png) with nothing
but the standard library: a receipt on the brand's blue, inside the middle 60% so a
launcher's round or squircle mask (a "maskable" icon) never cuts it.

Run `python scripts/make_icons.py` after changing the drawing; the PNGs are committed.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "salesapp" / "static" / "icons"
BLUE, WHITE, INK = (0x1F, 0x6F, 0xEB), (0xFF, 0xFF, 0xFF), (0x9D, 0xBE, 0xF7)


def colour_at(x: float, y: float) -> tuple[int, int, int]:
    """The colour at (x, y), both 0..1 across the icon: a receipt with a torn edge and
    four printed lines, on blue."""
    left, right, top, bottom = 0.32, 0.68, 0.22, 0.78
    tooth = 0.04
    torn = bottom - tooth * (1 - abs(((x - left) / tooth) % 2 - 1))  # zigzag bottom edge
    if not (left <= x <= right and top <= y <= torn):
        return BLUE
    for line_top, line_right in ((0.32, 0.62), (0.40, 0.56), (0.48, 0.62), (0.60, 0.62)):
        if line_top <= y <= line_top + 0.035 and left + 0.06 <= x <= line_right:
            return INK if line_top < 0.6 else BLUE
    return WHITE


def png(size: int) -> bytes:
    """An RGB PNG of the icon at ``size`` pixels square."""
    rows = b"".join(
        b"\x00"
        + bytes(c for x in range(size) for c in colour_at((x + 0.5) / size, (y + 0.5) / size))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (ICONS / f"icon-{size}.png").write_bytes(png(size))


if __name__ == "__main__":
    main()
