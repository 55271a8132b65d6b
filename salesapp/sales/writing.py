"""Writing a completed sale in one statement: the stock check, the invoice number, the
sale, its lines, payments and stock movements, its completion key and its audit events.

A sale used to take a dozen round trips after its products were locked (the on-hand
sum, the counter, then an INSERT per table and one for the audit trail). Here they are
one ``WITH`` statement whose parts are gated on each other, so it writes all or nothing:

- ``short``: the lines wanting more than the ledger holds at the location, unless the
  workspace allows negative stock. The products' rows are locked by an earlier
  statement (:meth:`InventoryService.lock_products`, in id order) and, PostgreSQL
  reading each statement with a new snapshot under READ COMMITTED, this sum sees every
  sale committed before the lock was granted: two tills cannot both take the last unit.
  (Locking in this same statement would not do: its snapshot predates the wait.)
- ``claim``: with a client-made key, the completion row (as ``complete_once`` always
  did: a concurrent completion with the key waits on its primary key, then finds it
  taken and writes nothing).
- ``counter``: the per-tenant invoice counter, incremented only when the sale goes
  ahead: a refused sale takes no number, and a second till waits on the counter row
  until the first commits (gapless, never repeated).
- the sale takes the counter's number; its lines, payments, movements and audit events
  are written only with it. Foreign keys are checked at the end of the statement, so
  children in the same statement as their parent are fine.

Every statement runs in the request's transaction, under its tenant binding: row-level
security checks each inserted row as before.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import zope.sqlalchemy
from sqlalchemy import text
from sqlalchemy.orm import Session

from ..audit.declare import declaration, plain
from ..audit.recorder import ADDRESS, _actor
from ..ids import uuid7

#: stands for the sale's number in its audit target until the statement gives the number
NUMBER = "{the sale number}"


@dataclass
class SaleWrite:
    """What one completed sale writes, each row as {column: value} (ids made by the
    caller). ``sale`` lacks its ``number`` (the counter gives it); ``audit`` rows' targets
    carry :data:`NUMBER` where the number goes."""

    tenant_id: int
    location_id: uuid.UUID
    sale: dict
    lines: list[dict]
    payments: list[dict]
    movements: list[dict]
    audit: list[dict]
    #: {product_id: quantity} taken out; checked against on hand unless negatives allowed
    wanted: dict[uuid.UUID, Decimal]
    key: str | None = None
    fingerprint: str | None = None


@dataclass
class Written:
    """What the statement answered: the number and time of the sale (None: not written),
    the lines short of stock, and whether the key was claimed."""

    number: int | None
    created_at: object
    #: [(product_id, wanted, on hand)] when stock was short (nothing written)
    short: list[tuple[uuid.UUID, Decimal, Decimal]] = field(default_factory=list)
    claimed: bool = True


def audit_rows(session: Session, row) -> list[dict]:
    """The audit events the row's model declares for its insert (as the flush hook of
    salesapp.audit.recorder would record them), as audit_events rows."""
    audit = declaration(row)
    if audit is None:
        return []
    rows = []
    for rule in audit.inserted:
        for event in rule(row):
            who = event.actor
            actor = {"id": who.id, "username": who.username} if who else _actor(session)
            rows.append(
                {
                    "id": uuid7(),
                    "user_id": actor["id"],
                    "username": actor["username"],
                    "action": event.action,
                    "target": audit.target(row)[:200],
                    "detail": json.dumps({k: plain(v) for k, v in event.detail.items()}),
                    "address": session.info.get(ADDRESS, "")[:64],
                }
            )
    return rows


def _values(name: str, rows: Sequence[dict], casts: dict[str, str], params: dict) -> str:
    """``name(col, ...) AS (VALUES (...), ...)``: ``rows`` as bound parameters, each
    column cast (so an empty string or a None keeps its type)."""
    columns = list(casts)
    tuples = []
    for i, row in enumerate(rows):
        cells = []
        for column in columns:
            params[f"{name}_{i}_{column}"] = row[column]
            cells.append(f"cast(:{name}_{i}_{column} as {casts[column]})")
        tuples.append(f"({', '.join(cells)})")
    return f"{name}({', '.join(columns)}) AS (VALUES {', '.join(tuples)})"


SALE_COLUMNS = {
    "id": "uuid",
    "location_id": "uuid",
    "user_id": "uuid",
    "customer_id": "uuid",
    "register_id": "uuid",
    "shift_id": "uuid",
    "status": "text",
    "subtotal": "numeric",
    "discount_total": "numeric",
    "tax_total": "numeric",
    "total": "numeric",
    "paid_total": "numeric",
    "change_due": "numeric",
    "refunded_total": "numeric",
    "cart_discount": "numeric",
    "discount_approved_by": "uuid",
    "discount_percent": "numeric",
    "prices_include_tax": "boolean",
    "tax_rounding": "text",
    "receipt_prints": "integer",
}
LINE_COLUMNS = {
    "id": "uuid",
    "sale_id": "uuid",
    "position": "integer",
    "product_id": "uuid",
    "description": "text",
    "sku": "text",
    "quantity": "numeric",
    "unit_price": "numeric",
    "unit_cost": "numeric",
    "discount": "numeric",
    "tax_rate": "numeric",
    "tax_name": "text",
    "tax_amount": "numeric",
    "line_total": "numeric",
    "refunded_quantity": "numeric",
    "refunded_amount": "numeric",
}
PAYMENT_COLUMNS = {
    "id": "uuid",
    "sale_id": "uuid",
    "position": "integer",
    "method": "text",
    "amount": "numeric",
    "reference": "text",
}
MOVEMENT_COLUMNS = {
    "id": "uuid",
    "product_id": "uuid",
    "location_id": "uuid",
    "quantity": "numeric",
    "kind": "text",
    "reason": "text",
    "reference": "uuid",
    "user_id": "uuid",
}
AUDIT_COLUMNS = {
    "id": "uuid",
    "user_id": "uuid",
    "username": "text",
    "action": "text",
    "target": "text",
    "detail": "jsonb",
    "address": "text",
}


def _insert(table: str, source: str, columns: dict) -> str:
    names = ", ".join(columns)
    picked = ", ".join(f"v.{c}" for c in columns)
    return (
        f"INSERT INTO {table} (tenant_id, {names}) "
        f"SELECT :tenant_id, {picked} FROM {source} v CROSS JOIN sale"
    )


def write_sale(session: Session, sale: SaleWrite) -> Written:
    """Write ``sale`` in one statement (see the module's docstring); the caller has
    locked its products. Nothing is written when stock is short or the key was taken."""
    params: dict = {
        "tenant_id": sale.tenant_id,
        "location_id": sale.location_id,
        "key": sale.key,
        "fingerprint": sale.fingerprint,
        "sale_id": sale.sale["id"],
        "number_mark": NUMBER,
    }
    wanted = [{"product_id": p, "quantity": q} for p, q in sale.wanted.items()]
    ctes = [
        _values("wanted", wanted, {"product_id": "uuid", "quantity": "numeric"}, params),
        _values("sale_in", [sale.sale], SALE_COLUMNS, params),
        _values("lines_in", sale.lines, LINE_COLUMNS, params),
        _values("movements_in", sale.movements, MOVEMENT_COLUMNS, params),
        """have AS (
            SELECT product_id, sum(quantity) AS on_hand FROM stock_movements
            WHERE location_id = :location_id AND product_id IN (SELECT product_id FROM wanted)
            GROUP BY product_id)""",
        """short AS (
            SELECT w.product_id, w.quantity, coalesce(h.on_hand, 0) AS on_hand
            FROM wanted w LEFT JOIN have h ON h.product_id = w.product_id
            WHERE w.quantity > coalesce(h.on_hand, 0) AND NOT coalesce(
                (SELECT allow_negative_stock FROM workspace_settings
                 WHERE tenant_id = :tenant_id), false))""",
    ]
    if sale.key is not None:
        ctes.append(
            """claim AS (
            INSERT INTO sale_completions (tenant_id, key, fingerprint, sale_id)
            SELECT :tenant_id, :key, :fingerprint, :sale_id WHERE NOT EXISTS (SELECT FROM short)
            ON CONFLICT (tenant_id, key) DO NOTHING RETURNING key)"""
        )
        go = "EXISTS (SELECT FROM claim)"
    else:
        go = "NOT EXISTS (SELECT FROM short)"
    ctes += [
        f"""counter AS (
            INSERT INTO invoice_counters (tenant_id, last_number) SELECT :tenant_id, 1 WHERE {go}
            ON CONFLICT (tenant_id)
            DO UPDATE SET last_number = invoice_counters.last_number + 1
            RETURNING last_number)""",
        f"""sale AS (
            INSERT INTO sales (tenant_id, number, {", ".join(SALE_COLUMNS)})
            SELECT :tenant_id, counter.last_number, {", ".join(f"v.{c}" for c in SALE_COLUMNS)}
            FROM sale_in v CROSS JOIN counter
            RETURNING number, created_at)""",
        f"lines AS ({_insert('sale_lines', 'lines_in', LINE_COLUMNS)})",
        f"movements AS ({_insert('stock_movements', 'movements_in', MOVEMENT_COLUMNS)})",
    ]
    if sale.payments:
        ctes.insert(3, _values("payments_in", sale.payments, PAYMENT_COLUMNS, params))
        ctes.append(f"payments AS ({_insert('payments', 'payments_in', PAYMENT_COLUMNS)})")
    if sale.audit:
        ctes.insert(3, _values("audit_in", sale.audit, AUDIT_COLUMNS, params))
        ctes.append(
            f"""audit AS (
            INSERT INTO audit_events (tenant_id, {", ".join(AUDIT_COLUMNS)})
            SELECT :tenant_id, v.id, v.user_id, v.username, v.action,
                   replace(v.target, :number_mark, sale.number::text), v.detail, v.address
            FROM audit_in v CROSS JOIN sale)"""
        )
    claimed = "EXISTS (SELECT FROM claim)" if sale.key is not None else "true"
    statement = (
        "WITH "
        + ",\n".join(ctes)
        + f"""
        SELECT (SELECT number FROM sale) AS number, (SELECT created_at FROM sale) AS created_at,
               (SELECT array_agg(product_id) FROM short) AS short_ids,
               (SELECT array_agg(quantity) FROM short) AS short_wanted,
               (SELECT array_agg(on_hand) FROM short) AS short_have,
               {claimed} AS claimed"""
    )
    session.flush()  # what the session holds goes first, as a flush before it would
    row = session.execute(text(statement), params).one()
    request = session.info.get("request")
    if row.number is not None and request is not None:
        # a write the session did not flush: without this, the request's transaction
        # manager (pyramid_tm, through zope.sqlalchemy) would roll it back as a read
        zope.sqlalchemy.mark_changed(session, transaction_manager=request.tm)
    short = list(
        zip(row.short_ids or (), row.short_wanted or (), row.short_have or (), strict=True)
    )
    return Written(row.number, row.created_at, short, bool(row.claimed))
