"""Reading the audit trail (writing it is the recorder's job), and showing it with
names: who acted by their name, and the rows an event names by id (a refund's sale, a
stock movement's product, a shift, a location in the details) by their number or name.

The trail keeps ids where a row had no name of its own to record (a refund names its
sale by id) and names where it had one; a name may change later, an id does not. The
page looks names up when it shows a page of events: one query per kind of row for the
whole page, never one per event. A row since deleted keeps its id on the page.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ..accounts.models import User
from ..locations.models import Location
from ..products.models import Product
from ..registers.models import Register, Shift
from ..sales.models import Sale
from ..services import TenantService
from .models import AuditEvent

#: what an empty value shows as (not "None", not a blank cell)
EMPTY = "—"
#: a target that names its row by id: "sale id 0190c3e0-..."
TARGET_ID = re.compile(r"(sale|product|shift) id ([0-9a-fA-F-]{36})")
#: detail keys holding the id of a row, shown as that row's name under a plain label
DETAIL_IDS = {
    "location_id": ("location", "location"),
    "register_id": ("register", "register"),
    "approved_by": ("approved by", "user"),
    "user_id": ("user", "user"),
}


@dataclass(frozen=True)
class EventRow:
    """An audit event as the page shows it: ``who`` and ``target`` by name, and the
    ``details`` as (label, text) pairs, old → new for a change."""

    event: AuditEvent
    who: str
    target: str
    details: list[tuple[str, str]]


def shown(value: Any) -> str:
    """A detail value as text; nothing at all as "—"."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _as_id(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def person(username: str, full_name: str) -> str:
    """A user as the trail names them: "Carl Cashier (carl2)", unambiguous when two
    people share a name; the username alone when they have no full name."""
    return f"{full_name} ({username})" if full_name and full_name != username else username


class AuditService(TenantService):
    model = AuditEvent

    def _filtered(self, *, action="", username="", since=None, until=None):
        """Events of an action (prefix), a username, at or after ``since`` and before
        ``until`` (UTC instants: the view turns local days into them)."""
        query = select(AuditEvent)
        if action:
            query = query.where(AuditEvent.action.startswith(action, autoescape=True))
        if username:
            query = query.where(AuditEvent.username == username.lower())
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        if until is not None:
            query = query.where(AuditEvent.at < until)
        return query

    def events(self, *, limit=50, offset=0, **filters) -> list[AuditEvent]:
        query = self._filtered(**filters).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        return list(self.db.scalars(query.limit(limit).offset(offset)))

    def count(self, **filters) -> int:
        return self.db.scalar(
            select(func.count()).select_from(self._filtered(**filters).subquery())
        )

    def actions(self) -> list[str]:
        return list(
            self.db.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
        )

    # -- names -------------------------------------------------------------------------
    def named(self, events: list[AuditEvent], when=None) -> list[EventRow]:
        """``events`` with names for the ids they hold (see the module's docstring);
        ``when`` formats a shift's opening time (the page's ``local.when``)."""
        wanted: dict[str, set[uuid.UUID]] = {
            "user": set(),
            "sale": set(),
            "product": set(),
            "shift": set(),
            "location": set(),
            "register": set(),
        }
        for event in events:
            if event.user_id is not None:
                wanted["user"].add(event.user_id)
            found = TARGET_ID.fullmatch(event.target or "")
            if found and _as_id(found[2]):
                wanted[found[1]].add(_as_id(found[2]))
            for key, (_, kind) in DETAIL_IDS.items():
                key_id = _as_id(event.detail.get(key)) if key in event.detail else None
                if key_id is not None:
                    wanted[kind].add(key_id)
        names = self._names(wanted, when or (lambda value: str(value)))
        return [self._row(event, names) for event in events]

    def _names(self, wanted: dict[str, set[uuid.UUID]], when) -> dict[str, dict]:
        """{kind: {id: name}}: one query per kind that the page needs."""
        names: dict[str, dict] = {kind: {} for kind in wanted}
        if wanted["user"]:
            for user_id, username, full_name in self._rows(
                select(User.id, User.username, User.full_name), User.id, wanted["user"]
            ):
                names["user"][user_id] = person(username, full_name)
        if wanted["sale"]:
            for sale_id, number in self._rows(
                select(Sale.id, Sale.number), Sale.id, wanted["sale"]
            ):
                names["sale"][sale_id] = f"sale {number}"
        if wanted["product"]:
            query = select(Product.id, Product.name, Product.sku)
            for product_id, name, sku in self._rows(query, Product.id, wanted["product"]):
                names["product"][product_id] = f"product {name} ({sku})"
        if wanted["shift"]:
            query = select(Shift.id, Register.name, Shift.opened_at).join(
                Register,
                (Register.tenant_id == Shift.tenant_id) & (Register.id == Shift.register_id),
            )
            for shift_id, register, opened_at in self._rows(query, Shift.id, wanted["shift"]):
                names["shift"][shift_id] = f"shift at {register}, opened {when(opened_at)}"
        if wanted["location"]:
            query = select(Location.id, Location.name)
            names["location"] = dict(self._rows(query, Location.id, wanted["location"]))
        if wanted["register"]:
            query = select(Register.id, Register.name)
            names["register"] = dict(self._rows(query, Register.id, wanted["register"]))
        return names

    def _rows(self, query, column, ids: Iterable[uuid.UUID]) -> list:
        return self.db.execute(query.where(column.in_(sorted(ids)))).all()

    @staticmethod
    def _row(event: AuditEvent, names: dict[str, dict]) -> EventRow:
        who = names["user"].get(event.user_id) or event.username or EMPTY
        target = event.target or EMPTY
        found = TARGET_ID.fullmatch(event.target or "")
        if found:
            target = names[found[1]].get(_as_id(found[2]), target)
        details = []
        for key, value in (event.detail or {}).items():
            if key in DETAIL_IDS:
                label, kind = DETAIL_IDS[key]
                details.append((label, names[kind].get(_as_id(value), shown(value))))
            elif isinstance(value, list) and len(value) == 2:
                details.append((key.replace("_", " "), f"{shown(value[0])} → {shown(value[1])}"))
            else:
                details.append((key.replace("_", " "), shown(value)))
        return EventRow(event, who, target, details)


def day_bounds(local, day_from: dt.date | None, day_to: dt.date | None):
    """(since, until): the UTC instants the local days ``day_from`` to ``day_to``
    (either may be None: no bound) begin and end."""
    since = local.day_start(day_from) if day_from else None
    until = local.day_start(day_to + dt.timedelta(days=1)) if day_to else None
    return since, until
