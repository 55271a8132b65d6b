"""Products as CSV: the export's writer and the import's parser.

Both are pure functions (bytes and rows in, rows and messages out), so the rules of the
file format are tested without a database. The parser checks every row before anything
is imported and reports every bad row by its line number (line 1 is the header).

Text cells are written so that no spreadsheet runs any part of them as a formula, in a
comma locale or a semicolon one (``salesapp.csvcells``: an apostrophe before each piece
that would start with ``=``, ``+``, ``-``, ``@``, tab or carriage return), and the parser
takes those apostrophes off again, so an export re-imports unchanged.

Numbers in a file are machine data, read as plain decimals whatever the workspace's
locale: a point before the decimals and no grouping (``1234.5``). ``1,234`` is refused,
naming its line and column, never read as 1.234 nor as 1234 (a spreadsheet in another
locale writes the same text for other numbers).

A file may also give each product's opening stock: a column ``stock:<location name>``
per location, or ``opening_stock`` for the default location. The import receives it as
"receive" movements in the same transaction (salesapp.inventory.services
``post_opening_stock``).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from ..csvcells import QUOTING, escape_cell, unescape_cell
from ..forms import Form
from .services import TILL_FLAGS, VALUE_FIELDS, read_product_fields

#: the file's columns, in the export's order; the till flags come last and are optional,
#: so files written before them still import (a product they create sells at a fixed
#: price by the unit; one they update keeps its flags)
COLUMNS = (*VALUE_FIELDS, "active", *TILL_FLAGS)
#: the yes/no columns: the model's field each sets, and the value of a blank cell
YES_NO_COLUMNS = {"active": ("is_active", True)} | {name: (name, False) for name in TILL_FLAGS}
REQUIRED_COLUMNS = ("sku", "name", "unit_price")
TEXT_COLUMNS = frozenset({"sku", "barcode", "name", "category"})
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
#: the column of the default location's opening stock, and the prefix of a named one's
OPENING_STOCK = "opening_stock"
STOCK_PREFIX = "stock:"
MAX_STOCK = Decimal("1000000")
PLAIN_NUMBERS = "numbers in a CSV are plain decimals: a point and no grouping, e.g. 1234.5"
YES = frozenset({"yes", "y", "true", "1", "on"})
NO = frozenset({"no", "n", "false", "0", "off"})


@dataclass(frozen=True)
class ImportRow:
    """One checked row: its line in the file and the product fields it sets (the
    model's names; only the columns the file has)."""

    line: int
    fields: dict
    #: {location id: quantity} of the row's opening stock columns (blank cells left out)
    opening_stock: dict = field(default_factory=dict)


@dataclass
class ParsedImport:
    """The rows of a file, and every problem found in it (nothing is imported unless
    ``errors`` is empty)."""

    rows: list[ImportRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def write_products_csv(products: Iterable) -> str:
    """The CSV text of ``products``: a header, then one row per product."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=QUOTING)
    writer.writerow(COLUMNS)
    for p in products:
        writer.writerow(
            [
                escape_cell(p.sku),
                escape_cell(p.barcode or ""),
                escape_cell(p.name),
                escape_cell(p.category or ""),
                p.unit_price,
                p.cost,
                p.tax_rate,
                p.reorder_level,
                *(_yes_no(getattr(p, name)) for name, _ in YES_NO_COLUMNS.values()),
            ]
        )
    return out.getvalue()


def parse_products_csv(data: bytes, locations: Iterable = ()) -> ParsedImport:
    """Check an uploaded products file; the result's ``rows`` are ready for
    ``ProductService.apply_import`` when its ``errors`` are empty. ``locations``: the
    workspace's (``id``, ``name``, ``is_default``), which its stock columns may name."""
    if len(data) > MAX_BYTES:
        return _refused(too_big(len(data)))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return _refused(
            f"The file is not UTF-8 text (line {line}: byte 0x{data[exc.start]:02x} at "
            f"position {exc.start}). Save it as “CSV UTF-8” and try again."
        )
    if not text.strip():
        return _refused(
            "The file is empty; its first line must be the header: " + ",".join(COLUMNS)
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except csv.Error as exc:
        return _refused(f"line 1: the header cannot be read ({exc})")
    columns, errors = _read_header(header)
    stock_columns = _stock_columns(columns, list(locations), errors)
    if errors:
        return ParsedImport(errors=errors)

    result = ParsedImport()
    first_line_of = {"sku": {}, "barcode": {}}
    line = reader.line_num + 1
    count = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "field limit" in str(exc):
                result.errors.append(
                    f"line {line}: a cell is longer than {csv.field_size_limit():,} "
                    "characters, far more than any product field holds; check that its "
                    "quotes are closed"
                )
            else:
                result.errors.append(f"line {line}: cannot be read ({exc})")
            line = reader.line_num + 1
            continue
        row_line, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        count += 1
        if count > MAX_ROWS:
            return _refused(
                f"The file has more than {MAX_ROWS:,} rows; import at most {MAX_ROWS:,} "
                "at once. Split it into smaller files."
            )
        row, ok = _read_row(row_line, cells, columns, result.errors, stock_columns)
        # a bad row's SKU still counts, so its repetition further down is reported too
        if _unique_in_file(row, first_line_of, result.errors) and ok:
            result.rows.append(row)
    if count == 0 and not result.errors:
        return _refused("The file has a header but no rows to import.")
    return result


def too_big(size: int) -> str:
    """The message for a file of ``size`` bytes, over :data:`MAX_BYTES`."""
    return (
        f"The file has {size:,} bytes; at most 2 MB ({MAX_BYTES:,} bytes) can be imported "
        "at once. Split it into smaller files."
    )


def _refused(message: str) -> ParsedImport:
    return ParsedImport(errors=[message])


def _read_header(header: list[str]) -> tuple[list[str], list[str]]:
    columns = [name.strip().lower() for name in header]
    errors = []
    named = [name for name in columns if name]
    unknown = [
        name
        for name in named
        if name not in COLUMNS and name != OPENING_STOCK and not name.startswith(STOCK_PREFIX)
    ]
    if unknown:
        errors.append(
            "line 1: unknown column(s) "
            + ", ".join(repr(name) for name in unknown)
            + "; the columns are "
            + ",".join(COLUMNS)
            + f", and {OPENING_STOCK} or {STOCK_PREFIX}<location name> for opening stock"
        )
    repeated = sorted({name for name in named if named.count(name) > 1})
    if repeated:
        errors.append("line 1: column(s) named more than once: " + ", ".join(repeated))
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        hint = " (columns must be separated by commas)" if ";" in ",".join(header) else ""
        errors.append(
            "line 1: missing required column(s) "
            + ", ".join(missing)
            + f"; the header needs {', '.join(REQUIRED_COLUMNS)}{hint}"
        )
    return columns, errors


def _stock_columns(columns: list[str], locations: list, errors: list[str]) -> dict:
    """{column: location id} of the header's opening stock columns; a column naming no
    location (or one named twice) is an error of line 1."""
    by_name = {" ".join(loc.name.split()).lower(): loc for loc in locations}
    default = next((loc for loc in locations if loc.is_default), None)
    found, seen = {}, {}
    for column in columns:
        if column == OPENING_STOCK:
            location = default
        elif column.startswith(STOCK_PREFIX):
            location = by_name.get(" ".join(column[len(STOCK_PREFIX) :].split()))
        else:
            continue
        if location is None:
            names = ", ".join(sorted(loc.name for loc in locations)) or "none"
            errors.append(
                f"line 1: column {column!r} names no location of this workspace "
                f"(its locations: {names})"
            )
        elif location.id in seen:
            errors.append(
                f"line 1: columns {seen[location.id]!r} and {column!r} both give the opening "
                f"stock of {location.name}"
            )
        else:
            seen[location.id] = column
            found[column] = location.id
    return found


def _read_stock(form: Form, stock_columns: dict) -> dict[uuid.UUID, Decimal]:
    """{location id: quantity} of the row's non-blank opening stock cells."""
    stock = {}
    for column, location_id in stock_columns.items():
        quantity = form.decimal(
            column, places=3, minimum=Decimal(0), maximum=MAX_STOCK, required=False
        )
        if quantity:
            stock[location_id] = quantity
    return stock


def _read_row(
    line: int,
    cells: list[str],
    columns: list[str],
    errors: list[str],
    stock_columns: dict | None = None,
) -> tuple[ImportRow, bool]:
    """The row's fields (those that could be read) and whether all of it was good."""
    if len(cells) > len(columns):
        errors.append(f"line {line}: has {len(cells)} cells, but the header has {len(columns)}")
        return ImportRow(line=line, fields={}), False
    values = {}
    for name, cell in zip(columns, cells, strict=False):
        if not name:
            if cell.strip():
                errors.append(f"line {line}: has a value under a column with no name")
                return ImportRow(line=line, fields={}), False
            continue
        values[name] = unescape_cell(cell) if name in TEXT_COLUMNS else cell
    stock_columns = stock_columns or {}
    present = [name for name in columns if name and name not in stock_columns]
    form, flags_form = Form(values), Form(values)  # plain decimals: no locale in a CSV
    # the flags first (an open price may leave the unit price blank), their messages last
    flags = _read_yes_no(flags_form, values, present)
    fields = read_product_fields(
        form,
        [name for name in present if name not in YES_NO_COLUMNS],
        open_price=flags.get("open_price", False),
    )
    fields.update(flags)
    stock = _read_stock(form, stock_columns)
    for name, message in flags_form.errors.items():
        form.error(name, message)
    for name, message in form.errors.items():
        if "," in values.get(name, "") and "must be a number" in message:
            message = f"{message}: {PLAIN_NUMBERS}"
        errors.append(f"line {line}: {name} {message}")
    good = {name: value for name, value in fields.items() if name not in form.errors}
    return ImportRow(line=line, fields=good, opening_stock=stock), not form.errors


def openings(rows: Iterable[ImportRow]) -> list[tuple[int, str, dict]]:
    """(line, SKU, {location id: quantity}) of the rows that give opening stock, for
    ``InventoryService.post_opening_stock`` once the products are imported."""
    return [(row.line, row.fields["sku"], row.opening_stock) for row in rows if row.opening_stock]


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _read_yes_no(form: Form, values: dict, present: list[str]) -> dict:
    """The model's fields set by the row's yes/no cells (of the columns the file has);
    a blank cell is the column's default, anything but yes or no an error."""
    fields = {}
    for column in present:
        if column not in YES_NO_COLUMNS:
            continue
        name, blank = YES_NO_COLUMNS[column]
        raw = values.get(column, "").strip().lower()
        if not raw:
            fields[name] = blank
        elif raw in YES or raw in NO:
            fields[name] = raw in YES
        else:
            form.error(column, f"must be yes or no, got {values[column].strip()[:30]!r}")
    return fields


def _unique_in_file(row: ImportRow, first_line_of: dict, errors: list[str]) -> bool:
    ok = True
    for name, label in (("sku", "SKU"), ("barcode", "barcode")):
        value = row.fields.get(name)
        if not value:
            continue
        first = first_line_of[name].setdefault(value, row.line)
        if first != row.line:
            errors.append(
                f"line {row.line}: {label} {value} appears more than once (first on line {first})"
            )
            ok = False
    return ok
