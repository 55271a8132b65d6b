"""The reports' figures: one method per report, each for a date range (the workspace's
local days, both ends inclusive) and an optional location, each returning rows and their
totals.

Days are the workspace's days (``salesapp.localization.Local``): a range of local days
is the UTC instants ``Local.day_range`` gives (a DST day has 23 or 25 hours), and a row
falls on the local day of its instant, which SQL works out with ``AT TIME ZONE`` and the
zone's name as a bound parameter. Storage stays UTC.

Rules every report keeps, so that its totals agree to the cent with the sales and
expenses it summarises:

- Voided sales are left out. A sale's refunds count with the sale (by sale date),
  whenever they were made; so a day's net is what that day's sales finally brought in.
- Money is summed from stored cent amounts (exact, no rounding). Where a refund must be
  split into its net and tax parts, the split starts from the amounts stored in
  ``refund_lines``: the tax part is the line's tax in proportion to the amount refunded
  (rounded half up to the cent) and the net part is the rest, so net + tax of every
  refund is exactly its stored amount.
- The cost of goods sold is each line's cost at the time of sale times the quantity not
  refunded, rounded half up to the cent per line (exact for whole quantities).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Date, and_, bindparam, case, cast, distinct, func, or_, select

from ..accounts.models import User
from ..expenses.models import Expense
from ..formatting import quantity
from ..forms import CENT, money
from ..inventory.models import StockMovement
from ..localization import PLAIN, Local
from ..locations.models import Location
from ..products.models import Product
from ..registers.models import Register, Shift
from ..sales.models import PAYMENT_METHODS, Payment, Refund, RefundLine, Sale, SaleLine
from ..services import TenantService

ZERO = Decimal("0.00")
METHOD_LABELS = {"cash": "Cash", "card": "Card", "mobile_money": "Mobile money"}
#: over/short per method of a closed shift: the row keys, the shift's counted column
OVER_SHORT = (
    ("cash_over_short", "cash"),
    ("card_over_short", "card"),
    ("mobile_over_short", "mobile_money"),
)


@dataclass
class ReportResult:
    """A report's rows (dicts keyed by column) and the totals row (same keys; a key
    missing from ``totals`` has no meaningful total)."""

    rows: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)


def days(date_from: dt.date, date_to: dt.date) -> list[dt.date]:
    return [date_from + dt.timedelta(days=n) for n in range((date_to - date_from).days + 1)]


def _cents(value) -> Decimal:
    """A sum from the database as cents (an empty sum is 0.00)."""
    return Decimal(value or 0).quantize(CENT)


def person(full_name: str, username: str) -> str:
    """A user as reports name them: the full name and the username, which is unique in
    the workspace, so two "Carl Cashier"s are told apart ("Carl Cashier (carl2)"); the
    username alone when there is no full name."""
    return f"{full_name} ({username})" if full_name and full_name != username else username


def tax_label(name: str, rate: Decimal) -> str:
    """A tax rate as the tax summary names it: its name when sold. Lines sold before
    rates had names have the name ''; they are named by their percentage ("16%",
    "7.5%"), as the till names a rate-less product's tax, so both make one row."""
    return name or f"{quantity(rate)}%"


SALE_JOIN = and_(Sale.tenant_id == SaleLine.tenant_id, Sale.id == SaleLine.sale_id)


class ReportService(TenantService):
    """The reports of one tenant, on that tenant's session (reads only), in its local
    days (``local``: the request's, from the workspace settings)."""

    def __init__(self, dbsession, tenant_id: int, local: Local = PLAIN):
        super().__init__(dbsession, tenant_id)
        self.local = local

    @classmethod
    def factory(cls, context, request):
        return cls(request.dbsession, request.tenant.id, request.local)

    def _day(self, instant):
        """The local day of a timestamp column, in SQL. The zone is the one ``local``
        really uses (an unknown name falls back to UTC there and here alike), bound as
        a parameter. Group by it through a subquery's column: PostgreSQL cannot tell
        that two bound parameters are one, so the expression itself must not be
        repeated in a GROUP BY."""
        return cast(func.timezone(bindparam("zone", self.local.zone.key), instant), Date)

    # -- what every sales figure starts from ----------------------------------------
    def _sale_filters(self, date_from: dt.date, date_to: dt.date, location_id) -> list:
        start, end = self.local.day_range(date_from, date_to)
        conditions = [Sale.created_at >= start, Sale.created_at < end, Sale.status != "voided"]
        if location_id is not None:
            conditions.append(Sale.location_id == location_id)
        return conditions

    def _lines(self, date_from, date_to, location_id):
        """A subquery of the selected sales' lines with what each line finally brought
        in: gross (its total), refunded (stored refund amounts), the net and tax kept
        after refunds, the quantity kept and its cost."""
        refunded = (
            select(
                RefundLine.tenant_id,
                RefundLine.sale_line_id,
                func.sum(RefundLine.amount).label("amount"),
            )
            .group_by(RefundLine.tenant_id, RefundLine.sale_line_id)
            .subquery()
        )
        refunded_amount = func.coalesce(refunded.c.amount, 0)
        # the tax part of what was refunded; a free line (total 0) refunds no tax
        refund_tax = case(
            (SaleLine.line_total == 0, 0),
            else_=func.round(refunded_amount * SaleLine.tax_amount / SaleLine.line_total, 2),
        )
        kept_quantity = SaleLine.quantity - SaleLine.refunded_quantity
        return (
            select(
                SaleLine.sale_id.label("sale_id"),
                SaleLine.product_id.label("product_id"),
                SaleLine.tax_rate.label("tax_rate"),
                SaleLine.tax_name.label("tax_name"),
                self._day(Sale.created_at).label("day"),
                SaleLine.line_total.label("gross"),
                refunded_amount.label("refunded"),
                (SaleLine.tax_amount - refund_tax).label("kept_tax"),
                (SaleLine.line_total - SaleLine.tax_amount - (refunded_amount - refund_tax)).label(
                    "kept_net"
                ),
                kept_quantity.label("kept_quantity"),
                func.round(SaleLine.unit_cost * kept_quantity, 2).label("cost"),
            )
            .join(Sale, SALE_JOIN)
            .outerjoin(
                refunded,
                and_(
                    refunded.c.tenant_id == SaleLine.tenant_id,
                    refunded.c.sale_line_id == SaleLine.id,
                ),
            )
            .where(*self._sale_filters(date_from, date_to, location_id))
            .subquery()
        )

    def _sales_totals(self, date_from, date_to, location_id) -> dict:
        """Number of sales, gross, refunds and net of the selected sales."""
        count, gross, refunds = self.db.execute(
            select(func.count(), func.sum(Sale.total), func.sum(Sale.refunded_total)).where(
                *self._sale_filters(date_from, date_to, location_id)
            )
        ).one()
        return _summary(count, gross, refunds)

    def _sales_grouped(self, key_columns, joins, date_from, date_to, location_id):
        query = select(
            *key_columns, func.count(), func.sum(Sale.total), func.sum(Sale.refunded_total)
        )
        for target, on in joins:
            query = query.join(target, on)
        query = query.where(*self._sale_filters(date_from, date_to, location_id)).group_by(
            *key_columns
        )
        return self.db.execute(query).all()

    # -- the sales reports ------------------------------------------------------------
    def sales_by_day(
        self, date_from: dt.date, date_to: dt.date, location_id: uuid.UUID | None = None
    ) -> ReportResult:
        """Every local day of the range (days without sales too): sales, gross, refunds,
        net."""
        sold = (
            select(self._day(Sale.created_at).label("day"), Sale.total, Sale.refunded_total)
            .where(*self._sale_filters(date_from, date_to, location_id))
            .subquery()
        )
        found = {
            day: _summary(count, gross, refunds)
            for day, count, gross, refunds in self.db.execute(
                select(
                    sold.c.day,
                    func.count(),
                    func.sum(sold.c.total),
                    func.sum(sold.c.refunded_total),
                ).group_by(sold.c.day)
            )
        }
        rows = [
            {"day": day, **found.get(day, _summary(0, 0, 0))} for day in days(date_from, date_to)
        ]
        return ReportResult(rows, self._sales_totals(date_from, date_to, location_id))

    def sales_by_product(
        self, date_from: dt.date, date_to: dt.date, location_id: uuid.UUID | None = None
    ) -> ReportResult:
        """Per product sold: sales it was in, quantity kept (sold less refunded), gross
        (its lines' totals), refunds (its refund lines) and net; best net first."""
        lines = self._lines(date_from, date_to, location_id)
        rows = self.db.execute(
            select(
                Product.sku,
                Product.name,
                func.count(distinct(lines.c.sale_id)),
                func.sum(lines.c.kept_quantity),
                func.sum(lines.c.gross),
                func.sum(lines.c.refunded),
            )
            .select_from(lines)
            .join(Product, Product.id == lines.c.product_id)
            .group_by(Product.id, Product.sku, Product.name)
        ).all()
        result = [
            {"sku": sku, "product": name, "quantity": quantity, **_summary(count, gross, refunds)}
            for sku, name, count, quantity, gross, refunds in rows
        ]
        result.sort(key=lambda row: (-row["net"], row["product"], row["sku"]))
        totals = self._sales_totals(date_from, date_to, location_id)
        totals["quantity"] = sum((row["quantity"] for row in result), Decimal(0))
        return ReportResult(result, totals)

    def sales_by_cashier(
        self, date_from: dt.date, date_to: dt.date, location_id: uuid.UUID | None = None
    ) -> ReportResult:
        """Per user who sold (grouped by the user, never by name; named by
        :func:`person`, so two people of one name are two rows told apart): sales,
        gross, refunds, net."""
        joins = [(User, and_(User.tenant_id == Sale.tenant_id, User.id == Sale.user_id))]
        rows = [
            {"cashier": person(full_name, username), **_summary(count, gross, refunds)}
            for _, full_name, username, count, gross, refunds in self._sales_grouped(
                [User.id, User.full_name, User.username], joins, date_from, date_to, location_id
            )
        ]
        rows.sort(key=lambda row: row["cashier"].lower())
        return ReportResult(rows, self._sales_totals(date_from, date_to, location_id))

    def sales_by_location(
        self, date_from: dt.date, date_to: dt.date, location_id: uuid.UUID | None = None
    ) -> ReportResult:
        """Per location sold from: sales, gross, refunds, net."""
        joins = [
            (
                Location,
                and_(Location.tenant_id == Sale.tenant_id, Location.id == Sale.location_id),
            )
        ]
        rows = [
            {"location": name, **_summary(count, gross, refunds)}
            for _, name, count, gross, refunds in self._sales_grouped(
                [Location.id, Location.name], joins, date_from, date_to, location_id
            )
        ]
        rows.sort(key=lambda row: row["location"].lower())
        return ReportResult(rows, self._sales_totals(date_from, date_to, location_id))

    # -- profit and loss, tax ---------------------------------------------------------
    def profit_and_loss(
        self, date_from: dt.date, date_to: dt.date, location_id: uuid.UUID | None = None
    ) -> ReportResult:
        """Per local day: revenue (net of refunds, excluding tax), cost of goods sold (at
        the cost at the time of sale), gross profit, expenses (by the day they were
        spent, a date as typed), net profit."""
        lines = self._lines(date_from, date_to, location_id)
        sold = {
            day: (_cents(revenue), _cents(cost))
            for day, revenue, cost in self.db.execute(
                select(lines.c.day, func.sum(lines.c.kept_net), func.sum(lines.c.cost)).group_by(
                    lines.c.day
                )
            )
        }
        spent_query = (
            select(Expense.spent_on, func.sum(Expense.amount))
            .where(Expense.spent_on >= date_from, Expense.spent_on <= date_to)
            .group_by(Expense.spent_on)
        )
        if location_id is not None:
            spent_query = spent_query.where(Expense.location_id == location_id)
        spent = {day: _cents(amount) for day, amount in self.db.execute(spent_query)}
        rows = []
        for day in days(date_from, date_to):
            revenue, cost = sold.get(day, (ZERO, ZERO))
            expenses = spent.get(day, ZERO)
            rows.append(
                {
                    "day": day,
                    "revenue": revenue,
                    "cost": cost,
                    "gross_profit": revenue - cost,
                    "expenses": expenses,
                    "net_profit": revenue - cost - expenses,
                }
            )
        keys = ("revenue", "cost", "gross_profit", "expenses", "net_profit")
        totals = {key: sum((row[key] for row in rows), ZERO) for key in keys}
        return ReportResult(rows, totals)

    def tax_summary(
        self, date_from: dt.date, date_to: dt.date, location_id: uuid.UUID | None = None
    ) -> ReportResult:
        """Per tax rate sold (its name and percentage when sold: ``Standard`` 16% and
        an unnamed 16% of older sales are two rows): the net, the tax and the gross
        (net + tax), all net of refunds. A line's total is always its net plus its tax,
        whether its prices included tax or not (``sales.prices_include_tax``), so the
        sums per rate hold for both; with tax rounded per invoice the lines' tax
        amounts are the invoice's shares, and sum to it."""
        lines = self._lines(date_from, date_to, location_id)
        found: dict[tuple[str, Decimal], list[Decimal]] = {}
        for name, rate, net, tax in self.db.execute(
            select(
                lines.c.tax_name,
                lines.c.tax_rate,
                func.sum(lines.c.kept_net),
                func.sum(lines.c.kept_tax),
            ).group_by(lines.c.tax_name, lines.c.tax_rate)
        ):
            sums = found.setdefault((tax_label(name, rate), rate), [ZERO, ZERO])
            sums[0] += _cents(net)
            sums[1] += _cents(tax)
        rows = [
            {"tax_name": label, "rate": rate, "net": net, "tax": tax, "gross": net + tax}
            for (label, rate), (net, tax) in sorted(found.items(), key=lambda f: (f[0][1], f[0][0]))
        ]
        totals = {key: sum((row[key] for row in rows), ZERO) for key in ("net", "tax", "gross")}
        return ReportResult(rows, totals)

    # -- payment methods and shifts ---------------------------------------------------
    def sales_by_payment_method(
        self, date_from: dt.date, date_to: dt.date, location_id: uuid.UUID | None = None
    ) -> ReportResult:
        """Per payment method: the sales paid (partly) with it, what it took in (cash
        less the change given), what was refunded by it, and the net. A sale paid two
        ways counts once under each; the totals count it once, and the taken column
        adds up to the sales' totals."""
        conditions = self._sale_filters(date_from, date_to, location_id)
        paid = {
            method: (count, _cents(amount))
            for method, count, amount in self.db.execute(
                select(Payment.method, func.count(distinct(Sale.id)), func.sum(Payment.amount))
                .join(Sale, and_(Sale.tenant_id == Payment.tenant_id, Sale.id == Payment.sale_id))
                .where(*conditions)
                .group_by(Payment.method)
            )
        }
        change = _cents(self.db.scalar(select(func.sum(Sale.change_due)).where(*conditions)))
        refunded = dict(
            self.db.execute(
                select(Refund.method, func.sum(Refund.amount))
                .join(Sale, and_(Sale.tenant_id == Refund.tenant_id, Sale.id == Refund.sale_id))
                .where(*conditions)
                .group_by(Refund.method)
            ).all()
        )
        rows = []
        for method in PAYMENT_METHODS:
            count, taken = paid.get(method, (0, ZERO))
            if method == "cash":
                taken -= change
            rows.append(
                {"method": METHOD_LABELS[method], **_summary(count, taken, refunded.get(method))}
            )
        return ReportResult(rows, self._sales_totals(date_from, date_to, location_id))

    def shifts(
        self, date_from: dt.date, date_to: dt.date, location_id: uuid.UUID | None = None
    ) -> ReportResult:
        """Every shift closed in the range (local days), by close time (an instant,
        shown in local time): its register, who opened it,
        the cash expected and counted, and over/short per method (counted - expected;
        empty for a method not counted) and in all."""
        rows = [
            self._shift_row(*found)
            for found in self._closed_shifts(date_from, date_to, location_id)
        ]
        return ReportResult(rows, _shift_totals(rows))

    def shifts_by_register(
        self, date_from: dt.date, date_to: dt.date, location_id: uuid.UUID | None = None
    ) -> ReportResult:
        """Per register: its shifts closed in the range and their summed figures."""
        return _grouped_shifts(self.shifts(date_from, date_to, location_id), "register")

    def shifts_by_cashier(
        self, date_from: dt.date, date_to: dt.date, location_id: uuid.UUID | None = None
    ) -> ReportResult:
        """Per person who opened shifts closed in the range (by user, named by
        :func:`person`): their summed figures."""
        return _grouped_shifts(self.shifts(date_from, date_to, location_id), "cashier")

    def _closed_shifts(self, date_from, date_to, location_id) -> list:
        """(shift, register name, opener's name, expected card and mobile money) of the
        shifts closed in the range of local days, oldest first."""
        start, end = self.local.day_range(date_from, date_to)
        query = (
            select(Shift, Register.name, User.full_name, User.username)
            .join(
                Register,
                and_(Register.tenant_id == Shift.tenant_id, Register.id == Shift.register_id),
            )
            .join(User, and_(User.tenant_id == Shift.tenant_id, User.id == Shift.opened_by))
            .where(Shift.closed_at >= start, Shift.closed_at < end)
            .order_by(Shift.closed_at, Shift.id)
        )
        if location_id is not None:
            query = query.where(Register.location_id == location_id)
        found = self.db.execute(query).all()
        expected = self._expected_by_method([shift.id for shift, *_ in found])
        return [
            (shift, register, person(full_name, username), expected)
            for shift, register, full_name, username in found
        ]

    def _expected_by_method(self, shift_ids: list) -> dict:
        """{(shift id, method): taken less refunded} for those shifts: what a card or
        mobile money terminal should show (the sales kept in the shift, as its Z
        report counts them: not voided, or voided after it closed)."""
        if not shift_ids:
            return {}
        kept = or_(Sale.status != "voided", Sale.voided_at > Shift.closed_at)
        taken = self.db.execute(
            select(Sale.shift_id, Payment.method, func.sum(Payment.amount))
            .join(Sale, and_(Sale.tenant_id == Payment.tenant_id, Sale.id == Payment.sale_id))
            .join(Shift, and_(Shift.tenant_id == Sale.tenant_id, Shift.id == Sale.shift_id))
            .where(Sale.shift_id.in_(shift_ids), kept)
            .group_by(Sale.shift_id, Payment.method)
        ).all()
        refunded = self.db.execute(
            select(Refund.shift_id, Refund.method, func.sum(Refund.amount))
            .where(Refund.shift_id.in_(shift_ids))
            .group_by(Refund.shift_id, Refund.method)
        ).all()
        expected: dict = {}
        for shift_id, method, amount in taken:
            expected[shift_id, method] = expected.get((shift_id, method), ZERO) + _cents(amount)
        for shift_id, method, amount in refunded:
            expected[shift_id, method] = expected.get((shift_id, method), ZERO) - _cents(amount)
        return expected

    @staticmethod
    def _shift_row(shift: Shift, register: str, cashier: str, expected: dict) -> dict:
        counted = {
            "cash": shift.counted_cash,
            "card": shift.counted_card,
            "mobile_money": shift.counted_mobile_money,
        }
        row = {
            "closed": shift.closed_at,
            "register": register,
            "cashier": cashier,
            # what the by-register and by-cashier reports group by (names may repeat)
            "register_id": shift.register_id,
            "cashier_id": shift.opened_by,
            "shifts": 1,
            "expected": shift.expected_cash,
            "counted": shift.counted_cash,
        }
        for key, method in OVER_SHORT:
            wanted = (
                shift.expected_cash if method == "cash" else expected.get((shift.id, method), ZERO)
            )
            row[key] = None if counted[method] is None else counted[method] - wanted
        found = [row[key] for key, _ in OVER_SHORT if row[key] is not None]
        row["over_short"] = sum(found, ZERO)
        return row

    # -- stock --------------------------------------------------------------------------
    def stock_valuation(
        self,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        location_id: uuid.UUID | None = None,
    ) -> ReportResult:
        """Stock on hand now (the dates are ignored: the ledger's sum is today's stock)
        at each product's current cost, per product with stock (inactive products and
        deactivated locations too: their goods are still there). A product's value is
        on hand x cost rounded half up to the cent; the total is the sum of those."""
        on_hand = func.sum(StockMovement.quantity)
        query = (
            select(Product.sku, Product.name, Product.cost, on_hand)
            .join(
                StockMovement,
                and_(
                    StockMovement.tenant_id == Product.tenant_id,
                    StockMovement.product_id == Product.id,
                ),
            )
            .group_by(Product.id, Product.sku, Product.name, Product.cost)
            .having(on_hand != 0)
            .order_by(Product.name, Product.sku)
        )
        if location_id is not None:
            query = query.where(StockMovement.location_id == location_id)
        rows = [
            {
                "sku": sku,
                "product": name,
                "on_hand": quantity,
                "cost": Decimal(cost).quantize(CENT),
                "value": money(quantity * cost),
            }
            for sku, name, cost, quantity in self.db.execute(query)
        ]
        return ReportResult(rows, {"value": sum((row["value"] for row in rows), ZERO)})


def _summary(count, gross, refunds) -> dict:
    gross, refunds = _cents(gross), _cents(refunds)
    return {"sales": int(count or 0), "gross": gross, "refunds": refunds, "net": gross - refunds}


#: the money columns of the shift reports, summed in their totals and groups
SHIFT_SUMS = ("expected", "counted", *(key for key, _ in OVER_SHORT), "over_short")


def _shift_totals(rows: list[dict]) -> dict:
    totals = {"shifts": sum(row["shifts"] for row in rows)}
    for key in SHIFT_SUMS:
        totals[key] = sum((row[key] for row in rows if row[key] is not None), ZERO)
    return totals


def _grouped_shifts(result: ReportResult, key: str) -> ReportResult:
    """The shift rows summed per ``key`` (register or cashier), grouped by its id, not
    its name: two registers or people of one name stay two rows."""
    groups: dict = {}
    for row in result.rows:
        groups.setdefault(row[f"{key}_id"], []).append(row)
    rows = [{key: found[0][key], **_shift_totals(found)} for found in groups.values()]
    rows.sort(key=lambda row: row[key].lower())
    return ReportResult(rows, result.totals)
