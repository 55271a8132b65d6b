"""Registers and their shifts: opening a drawer with a counted float, cash put in or
taken out with a reason, the X report of a shift so far and its close (the Z report)
with what was counted against what was expected.

What a shift's drawer should hold is worked out from the rows that name the shift
(``sales.shift_id``, ``refunds.shift_id``, which the till sets) and its cash movements:

    expected cash = float + cash taken (cash payments less change given)
                    - cash refunds + cash in - cash out

A sale voided while its shift is open gave its money back at the till: it is left out
of the takings and counted as a void. A sale voided after its shift closed stays in
that shift's takings (the money was in the drawer when it was counted); the close fixes
``expected_cash`` in the row, so a Z report never changes afterwards.

At most one open shift per register: a check for the friendly message, and the partial
unique index ``uq_shifts_one_open_per_register`` for two tills racing (the second
insert waits for the first to commit, then fails; that failure is the same message).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..locations.models import Location
from ..sales.models import PAYMENT_METHODS, Payment, Refund, Sale
from ..services import TenantService
from .models import CASH_IN, CASH_OUT, CashMovement, Register, Shift

ZERO = Decimal("0.00")
#: the largest amount a NUMERIC(12, 2) column holds
MAX_AMOUNT = Decimal("9999999999.99")
MAX_REASON = 200
MAX_NAME = 60
MAX_NOTE = 500
ONE_OPEN_SHIFT_INDEX = "uq_shifts_one_open_per_register"
METHOD_LABELS = {"cash": "Cash", "card": "Card", "mobile_money": "Mobile money"}
KIND_LABELS = {CASH_IN: "Cash in", CASH_OUT: "Cash out"}


class ShiftError(ValueError):
    """A refused register or shift change; ``field`` names the form field the message
    belongs to (None: the whole form)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def check_amount(value, field: str, *, label: str, positive: bool) -> Decimal:
    """``value`` as cents: a finite number of at most 2 decimal places that a
    NUMERIC(12, 2) column holds, above zero (``positive``) or at least zero; ShiftError
    naming ``field`` otherwise. The pages parse with salesapp.forms first; this guards
    the service's other callers (the till)."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ShiftError(f"{label} must be an amount, got {str(value)[:30]!r}", field) from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ShiftError(f"{label} must be an amount in cents, got {amount}", field)
    if positive and amount <= 0:
        raise ShiftError(f"{label} must be more than 0, got {amount}", field)
    if amount < 0:
        raise ShiftError(f"{label} must not be negative, got {amount}", field)
    if amount > MAX_AMOUNT:
        raise ShiftError(f"{label} must be at most {MAX_AMOUNT}, got {amount}", field)
    return amount.quantize(Decimal("0.01"))


def check_text(value, field: str, *, label: str, max_length: int, required: bool) -> str:
    """Trimmed text of at most ``max_length`` characters, without NUL; ShiftError."""
    text = (value or "").strip()
    if required and not text:
        raise ShiftError(f"{label} is required", field)
    if "\x00" in text:
        raise ShiftError(f"{label} must not contain NUL characters", field)
    if len(text) > max_length:
        raise ShiftError(
            f"{label} is too long ({len(text)} characters; at most {max_length})", field
        )
    return text


@dataclass(frozen=True)
class Tender:
    """One payment method's figures in a shift: what came in, what went back, what the
    drawer (cash) or the terminal's batch (card, mobile money) should show, and what was
    counted at the close (None: open, or not counted)."""

    method: str
    taken: Decimal
    refunded: Decimal
    expected: Decimal
    counted: Decimal | None = None

    @property
    def label(self) -> str:
        return METHOD_LABELS[self.method]

    @property
    def over_short(self) -> Decimal | None:
        """Counted less expected: above 0 is over, below 0 is short."""
        return None if self.counted is None else self.counted - self.expected


@dataclass(frozen=True)
class CashierTotals:
    name: str
    sales: int
    total: Decimal


@dataclass
class ShiftSummary:
    """The X report of an open shift, or the Z report of a closed one."""

    shift: Shift
    register: Register
    location: Location
    opened_by: str
    closed_by: str | None
    opening_float: Decimal
    cash_in: Decimal
    cash_out: Decimal
    tenders: dict[str, Tender]
    sales: int
    sales_total: Decimal
    refunds: int
    refunds_total: Decimal
    voids: int
    by_cashier: list[CashierTotals] = field(default_factory=list)
    movements: list[tuple[CashMovement, str]] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.shift.is_open

    @property
    def cash(self) -> Tender:
        return self.tenders["cash"]

    @property
    def cash_sales(self) -> Decimal:
        """Cash payments less the change given."""
        return self.cash.taken

    @property
    def cash_refunds(self) -> Decimal:
        return self.cash.refunded

    @property
    def expected_cash(self) -> Decimal:
        return self.cash.expected

    @property
    def over_short_total(self) -> Decimal | None:
        """The sum of the counted methods' over/short (None while open)."""
        found = [t.over_short for t in self.tenders.values() if t.over_short is not None]
        return sum(found, ZERO) if found else None


class RegisterService(TenantService):
    """Registers, shifts and cash movements of one tenant, on that tenant's session."""

    model = Register

    # -- registers ------------------------------------------------------------------
    def registers(self, location_id=None, active_only=True) -> list[Register]:
        """The registers (of one location, if given), by location name then name;
        only active ones unless ``active_only`` is false."""
        query = select(Register).join(
            Location,
            and_(Location.tenant_id == Register.tenant_id, Location.id == Register.location_id),
        )
        if location_id is not None:
            query = query.where(Register.location_id == location_id)
        if active_only:
            query = query.where(Register.active)
        return list(self.db.scalars(query.order_by(Location.name, Register.name, Register.id)))

    def location(self, register: Register) -> Location | None:
        return self.db.get(Location, (self.tenant_id, register.location_id))

    def create(self, location_id, name: str) -> Register:
        """A new register at an active location; its name unique there (any case)."""
        location = self.db.get(Location, (self.tenant_id, location_id)) if location_id else None
        if location is None or not location.is_active:
            raise ShiftError("choose an active location for the register", "location_id")
        name = check_text(name, "name", label="Name", max_length=MAX_NAME, required=True)
        self._check_name(location.id, name)
        register = Register(tenant_id=self.tenant_id, location_id=location.id, name=name)
        return self._flushed(register, location.id, name)

    def rename(self, register: Register, name: str) -> Register:
        name = check_text(name, "name", label="Name", max_length=MAX_NAME, required=True)
        self._check_name(register.location_id, name, exclude=register.id)
        register.name = name
        return self._flushed(register, register.location_id, name)

    def set_active(self, register: Register, active: bool) -> Register:
        """Retire a register (no new shifts; its history stays) or bring it back. A
        register with an open shift is closed first."""
        if not active and self.current_shift(register.id) is not None:
            raise ShiftError(
                f"{register.name} has an open shift; close it before retiring the register",
                "active",
            )
        register.active = active
        self.db.flush()
        return register

    def _check_name(self, location_id, name: str, exclude=None) -> None:
        query = select(Register.name).where(
            Register.location_id == location_id, func.lower(Register.name) == name.lower()
        )
        if exclude is not None:
            query = query.where(Register.id != exclude)
        taken = self.db.scalar(query)
        if taken is not None:
            raise ShiftError(
                f"this location already has a register named {taken!r}; choose another name",
                "name",
            )

    def _flushed(self, register: Register, location_id, name: str) -> Register:
        """Flush ``register`` in a savepoint: a name taken by a concurrent request (the
        unique constraint) is the same refusal as one found by the check."""
        try:
            with self.db.begin_nested():
                self.db.add(register)
                self.db.flush()
        except IntegrityError:
            raise ShiftError(
                f"this location already has a register named {name!r}; choose another name",
                "name",
            ) from None
        return register

    # -- shifts ---------------------------------------------------------------------
    def current_shift(self, register_id) -> Shift | None:
        """The register's open shift, if any."""
        return self.db.scalar(
            select(Shift).where(Shift.register_id == register_id, Shift.closed_at.is_(None))
        )

    def shift(self, shift_id) -> Shift | None:
        """The shift with this id (a UUID or its text), or None."""
        try:
            key = uuid.UUID(str(shift_id))
        except ValueError:
            return None
        return self.db.get(Shift, (self.tenant_id, key))

    def shifts(self, register_id, limit: int = 50, offset: int = 0) -> list[Shift]:
        """The register's shifts, newest first."""
        return list(
            self.db.scalars(
                select(Shift)
                .where(Shift.register_id == register_id)
                .order_by(Shift.opened_at.desc(), Shift.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )

    def count_shifts(self, register_id) -> int:
        return self.db.scalar(
            select(func.count()).select_from(Shift).where(Shift.register_id == register_id)
        )

    def open_shift(self, register: Register, opening_float, user) -> Shift:
        """Open the register's drawer with the float counted into it. Refused for a
        retired register, one at a deactivated location, and one already open."""
        opening_float = check_amount(
            opening_float, "opening_float", label="The float", positive=False
        )
        location = self.location(register)
        if location is None or not location.is_active:
            raise ShiftError(
                f"{register.name} belongs to a deactivated location; it cannot open a shift",
                "form",
            )
        if not register.active:
            raise ShiftError(f"{register.name} is retired; it cannot open a shift", "form")
        if self.current_shift(register.id) is not None:
            raise self._already_open(register)
        shift = Shift(
            tenant_id=self.tenant_id,
            register_id=register.id,
            opened_by=user.id,
            opening_float=opening_float,
        )
        try:
            with self.db.begin_nested():
                self.db.add(shift)
                self.db.flush()
        except IntegrityError as exc:
            if _constraint(exc) != ONE_OPEN_SHIFT_INDEX:
                raise
            raise self._already_open(register) from None
        self.db.refresh(shift)  # opened_at, from the database's clock
        return shift

    @staticmethod
    def _already_open(register: Register) -> ShiftError:
        return ShiftError(
            f"{register.name} already has an open shift; use it, or close it first", "form"
        )

    def _locked_open(self, shift: Shift, doing: str) -> Shift:
        """``shift`` locked for this transaction and read afresh; ShiftError if it is
        closed (a close and a cash movement racing: the second waits, then is refused)."""
        shift = self.db.scalars(
            select(Shift)
            .where(Shift.id == shift.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if not shift.is_open:
            raise ShiftError(f"this shift is closed; {doing} needs an open shift", "form")
        return shift

    def move_cash(self, shift: Shift, kind: str, amount, reason: str, user) -> CashMovement:
        """Cash put in (``in``) or taken out (``out``) of an open shift's drawer."""
        if kind not in KIND_LABELS:
            raise ShiftError(f"must be one of {CASH_IN}, {CASH_OUT}", "kind")
        amount = check_amount(amount, "amount", label="The amount", positive=True)
        reason = check_text(reason, "reason", label="Reason", max_length=MAX_REASON, required=True)
        shift = self._locked_open(shift, "moving cash")
        movement = CashMovement(
            tenant_id=self.tenant_id,
            shift_id=shift.id,
            user_id=user.id,
            kind=kind,
            amount=amount,
            reason=reason,
        )
        self.db.add(movement)
        self.db.flush()
        return movement

    def close_shift(
        self,
        shift: Shift,
        counted_cash,
        counted_card,
        counted_mobile_money,
        note: str,
        user,
    ) -> ShiftSummary:
        """Close the shift with what was counted (card and mobile money may be None: not
        counted); the expected cash is fixed in the row. Returns the Z report."""
        counts = _counts(counted_cash, counted_card, counted_mobile_money)
        note = check_text(note, "note", label="Note", max_length=MAX_NOTE, required=False)
        shift = self._locked_open(shift, "closing")
        expected = self.summary(shift).expected_cash
        shift.expected_cash = expected
        for method, value in counts.items():
            setattr(shift, _COUNTED[method], value)
        shift.close_note = note or None
        shift.closed_by = user.id
        shift.closed_at = func.now()
        self.db.flush()
        self.db.refresh(shift)
        return self.summary(shift)

    def preview_close(self, shift: Shift, counted_cash, counted_card, counted_mobile_money):
        """The Z report the close would give with these counts, writing nothing: what
        the close page shows before it is confirmed."""
        counts = _counts(counted_cash, counted_card, counted_mobile_money)
        summary = self.summary(shift)
        summary.tenders = {
            method: replace(tender, counted=counts[method])
            for method, tender in summary.tenders.items()
        }
        return summary

    # -- the X and Z reports --------------------------------------------------------
    def summary(self, shift: Shift) -> ShiftSummary:
        """The shift's figures so far (open: the X report) or at its close (the Z)."""
        register = self.db.get(Register, (self.tenant_id, shift.register_id))
        moved = self._moved(shift)
        taken, change, sales, sales_total, voids = self._takings(shift)
        refunded, refunds, refunds_total = self._refunds(shift)
        tenders = {}
        for method in PAYMENT_METHODS:
            method_taken = taken.get(method, ZERO) - (change if method == "cash" else ZERO)
            expected = method_taken - refunded.get(method, ZERO)
            if method == "cash":
                expected += shift.opening_float + moved[CASH_IN] - moved[CASH_OUT]
                if shift.expected_cash is not None:
                    expected = shift.expected_cash  # fixed at the close
            tenders[method] = Tender(
                method,
                method_taken,
                refunded.get(method, ZERO),
                expected,
                getattr(shift, _COUNTED[method]),
            )
        names = self._names({shift.opened_by, shift.closed_by})
        return ShiftSummary(
            shift=shift,
            register=register,
            location=self.location(register),
            opened_by=names.get(shift.opened_by, "?"),
            closed_by=names.get(shift.closed_by) if shift.closed_by else None,
            opening_float=shift.opening_float,
            cash_in=moved[CASH_IN],
            cash_out=moved[CASH_OUT],
            tenders=tenders,
            sales=sales,
            sales_total=sales_total,
            refunds=refunds,
            refunds_total=refunds_total,
            voids=voids,
            by_cashier=self._by_cashier(shift),
            movements=self._movements(shift),
        )

    def _kept(self, shift: Shift):
        """The shift's sales whose money stayed in its drawer: not voided, or voided
        after the shift closed."""
        kept = Sale.status != "voided"
        if shift.closed_at is not None:
            kept = or_(kept, Sale.voided_at > shift.closed_at)
        return and_(Sale.shift_id == shift.id, kept)

    def _takings(self, shift: Shift):
        """(payments by method, change given, number of sales, their total, voids)."""
        taken = dict(
            self.db.execute(
                select(Payment.method, func.sum(Payment.amount))
                .join(Sale, and_(Sale.tenant_id == Payment.tenant_id, Sale.id == Payment.sale_id))
                .where(self._kept(shift))
                .group_by(Payment.method)
            ).all()
        )
        sales, total, change = self.db.execute(
            select(func.count(), func.sum(Sale.total), func.sum(Sale.change_due)).where(
                self._kept(shift)
            )
        ).one()
        voids = self.db.scalar(
            select(func.count())
            .select_from(Sale)
            .where(Sale.shift_id == shift.id, Sale.status == "voided", ~self._kept(shift))
        )
        return taken, _cents(change), sales, _cents(total), voids

    def _refunds(self, shift: Shift):
        """(refunded by method, number of refunds, their total)."""
        rows = self.db.execute(
            select(Refund.method, func.count(), func.sum(Refund.amount))
            .where(Refund.shift_id == shift.id)
            .group_by(Refund.method)
        ).all()
        by_method = {method: _cents(amount) for method, _, amount in rows}
        return by_method, sum(count for _, count, _ in rows), sum(by_method.values(), ZERO)

    def _moved(self, shift: Shift) -> dict[str, Decimal]:
        rows = self.db.execute(
            select(CashMovement.kind, func.sum(CashMovement.amount))
            .where(CashMovement.shift_id == shift.id)
            .group_by(CashMovement.kind)
        ).all()
        moved = {CASH_IN: ZERO, CASH_OUT: ZERO}
        moved.update({kind: _cents(amount) for kind, amount in rows})
        return moved

    def _movements(self, shift: Shift) -> list[tuple[CashMovement, str]]:
        """The shift's cash movements in order, each with who made it."""
        rows = list(
            self.db.scalars(
                select(CashMovement)
                .where(CashMovement.shift_id == shift.id)
                .order_by(CashMovement.at, CashMovement.id)
            )
        )
        names = self._names({row.user_id for row in rows})
        return [(row, names.get(row.user_id, "?")) for row in rows]

    def _by_cashier(self, shift: Shift) -> list[CashierTotals]:
        rows = self.db.execute(
            select(Sale.user_id, func.count(), func.sum(Sale.total))
            .where(self._kept(shift))
            .group_by(Sale.user_id)
        ).all()
        names = self._names({user_id for user_id, _, _ in rows})
        found = [
            CashierTotals(names.get(user_id, "?"), count, _cents(total))
            for user_id, count, total in rows
        ]
        return sorted(found, key=lambda row: row.name.lower())

    def _names(self, user_ids) -> dict:
        """User id -> full name, else username."""
        ids = [user_id for user_id in user_ids if user_id is not None]
        if not ids:
            return {}
        rows = self.db.execute(
            select(User.id, User.full_name, User.username).where(User.id.in_(ids))
        ).all()
        return {user_id: full_name or username for user_id, full_name, username in rows}


_COUNTED = {
    "cash": "counted_cash",
    "card": "counted_card",
    "mobile_money": "counted_mobile_money",
}


def _counts(cash, card, mobile_money) -> dict[str, Decimal | None]:
    """What was counted at a close, by method: cash is required (0 for an empty
    drawer); card and mobile money may be None (not counted)."""
    return {
        "cash": check_amount(cash, "counted_cash", label="Counted cash", positive=False),
        "card": _optional_amount(card, "counted_card", "Card total"),
        "mobile_money": _optional_amount(
            mobile_money, "counted_mobile_money", "Mobile money total"
        ),
    }


def _optional_amount(value, field: str, label: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return check_amount(value, field, label=label, positive=False)


def _cents(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _constraint(exc: IntegrityError) -> str | None:
    """The name of the constraint or index an IntegrityError broke (psycopg's diag)."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)
