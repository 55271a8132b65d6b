"""Text cells of the CSV files people open in a spreadsheet (the products export, the
reports): written so that no spreadsheet runs any part of them as a formula, and read
back to exactly what was written.

A spreadsheet runs a field as a formula when it starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return. Which characters end a field depends on the reader: Excel
opens a ``.csv`` with the list separator of the computer's locale, a comma in some and a
semicolon in others, and a reader that does not honour our quotes splits inside them.
So a cell ``a;=1+1`` is one harmless field in a comma locale, and two fields, the second
a formula, in a semicolon locale. Quoting does not help there (the split happens inside
the quotes), so every *piece* of a cell that could begin a field (the text at its start
and after each ``,``, ``;`` or line break) that would start with a formula character
(after any double quotes, which a mismatched reader may take as quoting) gets an
apostrophe before it: a spreadsheet shows such a field as text. A piece that already
starts with apostrophes before a formula character gets one more, and reading takes
exactly one off every such piece, so an export re-imports unchanged.

Writers quote every cell too (``QUOTING``): a reader that offers "quoted field as text"
(LibreOffice) then never evaluates any of them.
"""

from __future__ import annotations

import csv
import re

#: the characters that make a spreadsheet field a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: where a reader may start a new field: the separators of common locales, a line break
PIECE_SEPARATORS_RE = re.compile(r"([,;\n])")
#: a piece a spreadsheet could run (after quotes a mismatched reader may strip), with
#: the apostrophes an earlier escape may have put before it
_RUNNABLE_RE = re.compile(r"""'*"*[=+\-@\t\r]""")
#: how the writers quote: every cell
QUOTING = csv.QUOTE_ALL


def escape_cell(value: str) -> str:
    """``value`` as written to a CSV file: an apostrophe before each piece that a
    spreadsheet could run as a formula (see the module's docstring)."""
    return _each_piece(value, _escape_piece)


def unescape_cell(value: str) -> str:
    """The inverse of :func:`escape_cell`: one apostrophe off each escaped piece."""
    return _each_piece(value, _unescape_piece)


def _each_piece(value: str, change) -> str:
    # split with the separators kept: odd items are the separators themselves
    parts = PIECE_SEPARATORS_RE.split(value)
    return "".join(part if i % 2 else change(part) for i, part in enumerate(parts))


def _escape_piece(piece: str) -> str:
    return "'" + piece if _RUNNABLE_RE.match(piece) else piece


def _unescape_piece(piece: str) -> str:
    escaped = piece.startswith("'") and _RUNNABLE_RE.match(piece, 1)
    return piece[1:] if escaped else piece
