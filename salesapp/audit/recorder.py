"""The audit trail writes itself: before every flush of a tenant session, the changes
that matter (sales, voids, refunds, prices, stock adjustments, users, roles, sign-ins,
settings, tokens) become audit events in the same transaction. So the web pages, the
API and the operators' commands are all covered without each remembering to log, and
an event exists exactly when its change was committed. A change made with SQL rather
than through the ORM is recorded with :func:`record`.

The actor is ``session.info["actor"]`` (or the request's signed-in user, once known);
sign-in events name the user signing in.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ..accounts.models import Role, User
from ..ids import uuid7
from .models import AuditEvent

ACTOR = "actor"  # session.info key: {"id": uuid or None, "username": str}
ADDRESS = "address"  # session.info key: the client's address


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value)


def _changes(obj, *names) -> dict:
    """{attribute: [old, new]} for the attributes of ``obj`` changed in this flush."""
    state = inspect(obj)
    found = {}
    for name in names:
        history = state.attrs[name].history
        if history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old != new:
                found[name] = [_plain(old), _plain(new)]
    return found


def _class_name(obj) -> str:
    return type(obj).__tablename__


def _events(session: Session):
    """(action, target, detail, actor override) for what this flush will write."""
    for obj in list(session.new):
        table = _class_name(obj)
        if table == "sales":
            yield "sale.complete", f"sale {obj.number}", {"total": _plain(obj.total)}, None
        elif table == "refunds":
            yield (
                "sale.refund",
                f"sale id {obj.sale_id}",
                {"method": obj.method, "reason": obj.reason},
                None,
            )
        elif table == "products":
            yield (
                "product.create",
                f"product {obj.sku}",
                {"unit_price": _plain(obj.unit_price), "cost": _plain(obj.cost)},
                None,
            )
        elif table == "stock_movements" and obj.kind in ("receive", "adjust", "transfer_out"):
            action = {
                "receive": "stock.receive",
                "adjust": "stock.adjust",
                "transfer_out": "stock.transfer",
            }[obj.kind]
            yield (
                action,
                f"product id {obj.product_id}",
                {
                    "quantity": _plain(obj.quantity),
                    "reason": obj.reason,
                    "location_id": str(obj.location_id),
                },
                None,
            )
        elif table == "users":
            yield "user.create", f"user {obj.username}", {}, None
        elif table == "user_roles":
            role = session.get(Role, (obj.tenant_id, obj.role_id))
            user = session.get(User, (obj.tenant_id, obj.user_id))
            yield (
                "user.role.add",
                f"user {user.username if user else obj.user_id}",
                {"role": role.name if role else str(obj.role_id)},
                None,
            )
        elif table == "expenses":
            yield (
                "expense.create",
                f"expense {obj.category}",
                {"amount": _plain(obj.amount), "spent_on": _plain(obj.spent_on)},
                None,
            )
        elif table == "api_tokens":
            yield "token.create", f"token {obj.name}", {"prefix": obj.prefix}, None
        elif table == "locations":
            yield "location.create", f"location {obj.name}", {}, None
    for obj in list(session.dirty):
        if not session.is_modified(obj, include_collections=False):
            continue
        table = _class_name(obj)
        if table == "sales":
            status = _changes(obj, "status")
            if status and status["status"][1] == "voided":
                yield "sale.void", f"sale {obj.number}", {"reason": obj.void_reason}, None
        elif table == "products":
            prices = _changes(obj, "unit_price", "cost", "tax_rate")
            if prices:
                yield "product.price", f"product {obj.sku}", prices, None
            other = _changes(obj, "name", "sku", "barcode", "is_active", "reorder_level")
            if other:
                yield "product.update", f"product {obj.sku}", other, None
        elif table == "users":
            signed_in = _changes(obj, "last_login_at")
            if signed_in:
                yield "auth.sign_in", f"user {obj.username}", {}, obj
            if _changes(obj, "locked_until").get("locked_until", [None, None])[1]:
                yield "auth.locked", f"user {obj.username}", {}, obj
            account = _changes(obj, "is_active", "email", "full_name", "username")
            if account:
                yield "user.update", f"user {obj.username}", account, None
            if _changes(obj, "password_hash") and not signed_in:
                yield (
                    "user.password",
                    f"user {obj.username}",
                    {"one_time": bool(obj.must_change_password)},
                    None,
                )
        elif table == "workspace_settings":
            changed = _changes(obj, "allow_negative_stock", "currency", "receipt_footer")
            if changed:
                yield "settings.update", "workspace settings", changed, None
        elif table == "locations":
            changed = _changes(obj, "name", "address", "is_default", "is_active")
            if changed:
                yield "location.update", f"location {obj.name}", changed, None
        elif table == "api_tokens":
            if _changes(obj, "revoked_at"):
                yield "token.revoke", f"token {obj.name}", {"prefix": obj.prefix}, None
    for obj in list(session.deleted):
        if _class_name(obj) == "user_roles":
            role = session.get(Role, (obj.tenant_id, obj.role_id))
            user = session.get(User, (obj.tenant_id, obj.user_id))
            yield (
                "user.role.remove",
                f"user {user.username if user else obj.user_id}",
                {"role": role.name if role else str(obj.role_id)},
                None,
            )


def _actor(session):
    actor = session.info.get(ACTOR)
    if actor is None:
        request = session.info.get("request")
        # request.user only if already known: computing it here would query mid-flush
        user = request.__dict__.get("user") if request is not None else None
        actor = (
            {"id": user.id, "username": user.username}
            if user
            else {"id": None, "username": "system"}
        )
    return actor


def record(session, action: str, target: str, who=None, **detail) -> None:
    """Record an event for a change made with SQL rather than through the ORM (which
    the flush hook cannot see), in the same transaction."""
    _add(session, action, target, detail, who)


def _add(session, action: str, target: str, detail: dict, who=None) -> None:
    actor = {"id": who.id, "username": who.username} if who is not None else _actor(session)
    session.add(
        AuditEvent(
            tenant_id=session.info["tenant_id"],
            id=uuid7(),
            user_id=actor["id"],
            username=actor["username"],
            action=action,
            target=target[:200],
            detail={k: _plain(v) for k, v in detail.items()},
            address=session.info.get(ADDRESS, "")[:64],
        )
    )


@event.listens_for(Session, "before_flush")
def record_audit_events(session, flush_context, instances):
    if session.info.get("tenant_id") is None:
        return  # not a tenant session (the catalog)
    for action, target, detail, who in list(_events(session)):
        _add(session, action, target, detail, who)
