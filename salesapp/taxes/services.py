"""A workspace's named tax rates: listed, created, renamed, re-rated, deactivated, and
named lazily for workspaces that had only percentages.

Products made before named rates (t0016) carry only ``tax_rate``, a percentage, and no
``tax_rate_id``; a migration cannot name them (row-level security hides every tenant's
rows from it). So :meth:`TaxService.ensure` names them the first time a list of rates is
needed: a workspace without rates gets the typical set (Standard, Reduced, Zero-rated,
Exempt) with the percentages its products use, and every product without a rate is
linked to one of its percentage. It is idempotent and safe when two requests run it at
once: rates are inserted with ON CONFLICT DO NOTHING on their unique name, and products
are linked only while they still have no rate.

A product's ``tax_rate`` always follows its named rate: changing a rate's percentage
changes its products' (past sales keep the percentage and name they were sold at).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from ..forms import Form, FormError
from ..ids import uuid7
from ..products.models import Product
from ..services import TenantService
from .models import TaxRate

MAX_NAME = 60
ZERO = Decimal("0")
HUNDRED = Decimal("100")
#: the names of the typical set, in the order a workspace without rates is offered them
STANDARD, REDUCED, ZERO_RATED, EXEMPT = "Standard", "Reduced", "Zero-rated", "Exempt"


def percent_text(rate: Decimal) -> str:
    """A percentage as people write it in a name: 16, 7.5 (no trailing zeros)."""
    return f"{Decimal(rate).normalize():f}"


def label(rate: TaxRate | None, percent: Decimal | None = None) -> str:
    """How a rate is shown in a list or a <select>: "Standard (16%)"; a percentage alone
    without a rate."""
    if rate is None:
        return f"{percent_text(percent or ZERO)}%"
    return f"{rate.name} ({percent_text(rate.rate)}%)"


def typical_set(in_use: list[Decimal]) -> list[tuple[str, Decimal]]:
    """The rates offered to a workspace that has none, for the percentages its products
    use: the highest positive one is Standard, the next Reduced (more are "Reduced 5%"),
    and Zero-rated and Exempt (both 0%) always. Zero-rated comes before Exempt, so a
    product at 0% is linked to Zero-rated (see :meth:`TaxService.for_percent`)."""
    positive = sorted({Decimal(p) for p in in_use if p > 0}, reverse=True)
    named = []
    for i, percent in enumerate(positive):
        if i == 0:
            named.append((STANDARD, percent))
        elif i == 1:
            named.append((REDUCED, percent))
        else:
            named.append((f"{REDUCED} {percent_text(percent)}%", percent))
    return [*named, (ZERO_RATED, ZERO), (EXEMPT, ZERO)]


def read_rate_form(form: Form) -> tuple[str, Decimal | None]:
    """(name, percentage) from the tax-rate form; problems collected in ``form.errors``."""
    name = form.text("name", required=True, max_length=MAX_NAME)
    rate = form.decimal("rate", places=2, minimum=ZERO, maximum=HUNDRED)
    return name, rate


class TaxService(TenantService):
    """The tax rates of one tenant, on that tenant's session."""

    model = TaxRate

    # -- reading ---------------------------------------------------------------------
    def rates(self, *, active_only: bool = False) -> list[TaxRate]:
        """The workspace's rates, the highest percentage first, named first (after
        naming any that are missing: :meth:`ensure`)."""
        self.ensure()
        query = select(TaxRate).order_by(TaxRate.rate.desc(), TaxRate.name)
        if active_only:
            query = query.where(TaxRate.is_active.is_(True))
        return list(self.db.scalars(query))

    def choices(self, current: uuid.UUID | None = None) -> list[TaxRate]:
        """The rates a product may be given: the active ones, and its ``current`` rate
        even if deactivated (so saving the product keeps it)."""
        return [r for r in self.rates() if r.is_active or r.id == current]

    def by_id(self, ids) -> dict[uuid.UUID, TaxRate]:
        """id -> rate for the given ids (the product list's names, a sale's)."""
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        return {r.id: r for r in self.db.scalars(select(TaxRate).where(TaxRate.id.in_(wanted)))}

    def product_counts(self) -> dict[uuid.UUID, int]:
        """rate id -> how many products have it (the rates page)."""
        rows = self.db.execute(
            select(Product.tax_rate_id, func.count())
            .where(Product.tax_rate_id.is_not(None))
            .group_by(Product.tax_rate_id)
        )
        return dict(rows.all())

    # -- naming what was only a percentage --------------------------------------------
    def ensure(self, also=()) -> None:
        """Name the percentages in use (see the module's docstring): a workspace without
        rates gets the typical set, for the percentages of its products and ``also``
        (a product being saved); each product without a rate is linked to one of its
        percentage (created as "7.5%" if the workspace has none). Cheap when there is
        nothing to do: one look-up of a product without a rate, one of a rate."""
        unnamed = list(
            self.db.scalars(
                select(Product.tax_rate).where(Product.tax_rate_id.is_(None)).distinct()
            )
        )
        has_rates = self.db.scalar(select(TaxRate.id).limit(1)) is not None
        if has_rates and not unnamed:
            return
        if not has_rates:
            for name, percent in typical_set([*unnamed, *also]):
                self._insert(name, percent)
        for percent in unnamed:
            rate = self.for_percent(percent)
            self.db.execute(
                update(Product)
                .where(Product.tax_rate_id.is_(None), Product.tax_rate == percent)
                .values(tax_rate_id=rate.id)
                .execution_options(synchronize_session="fetch")
            )

    def for_percent(self, percent: Decimal) -> TaxRate:
        """The workspace's rate of ``percent``: its oldest active one, else a new one
        named "7.5%" (or "7.5% (2)" if that name is taken by another percentage). For
        products given a percentage rather than a rate (the API, a CSV import)."""
        found = self._active_at(percent)
        if found is not None:
            return found
        base = f"{percent_text(percent)}%"
        for n in range(1, 100):
            name = base if n == 1 else f"{base} ({n})"
            rate = self._insert(name, percent)
            if rate is not None:
                return rate
            taken = self.db.scalars(select(TaxRate).where(TaxRate.name == name)).one()
            if taken.rate == percent and taken.is_active:
                return taken
        raise FormError({"tax_rate": f"no name is free for a rate of {base}; rename some rates"})

    def _active_at(self, percent: Decimal) -> TaxRate | None:
        return self.db.scalars(
            select(TaxRate)
            .where(TaxRate.rate == percent, TaxRate.is_active.is_(True))
            .order_by(TaxRate.created_at, TaxRate.id)
            .limit(1)
        ).first()

    def _insert(self, name: str, percent: Decimal) -> TaxRate | None:
        """A new rate, or None if the name is taken (ON CONFLICT DO NOTHING: a rate
        another request is inserting at the same time is waited for, not duplicated)."""
        inserted = self.db.execute(
            insert(TaxRate)
            .values(tenant_id=self.tenant_id, id=uuid7(), name=name, rate=percent)
            .on_conflict_do_nothing(index_elements=["tenant_id", "name"])
            .returning(TaxRate.id)
        ).scalar()
        return None if inserted is None else self.db.get(TaxRate, (self.tenant_id, inserted))

    # -- changes ---------------------------------------------------------------------
    def create(self, name: str, percent: Decimal) -> TaxRate:
        """A new active rate; FormError if another rate has the name. A workspace's
        first rate comes after the typical set (:meth:`ensure`), not instead of it."""
        self.ensure()
        self._refuse_taken(name)
        rate = TaxRate(tenant_id=self.tenant_id, id=uuid7(), name=name, rate=percent)
        self._flush_guarded(name, lambda: self.db.add(rate))
        return rate

    def update(self, rate: TaxRate, *, name: str, percent: Decimal) -> TaxRate:
        """Rename ``rate`` and set its percentage; its products' ``tax_rate`` follows
        (past sales keep theirs). FormError if another rate has the name."""
        self._refuse_taken(name, rate)

        def change():
            rate.name = name
            if rate.rate != percent:
                rate.rate = percent
                self.db.execute(
                    update(Product)
                    .where(Product.tax_rate_id == rate.id)
                    .values(tax_rate=percent)
                    .execution_options(synchronize_session="fetch")
                )

        self._flush_guarded(name, change)
        return rate

    def set_active(self, rate: TaxRate, active: bool) -> TaxRate:
        """Deactivate (no new product may choose it) or reactivate ``rate``. A rate that
        active products still have is not deactivated: they would sell at a rate nobody
        can choose any more."""
        if not active and rate.is_active:
            used = self.db.scalar(
                select(func.count()).where(
                    Product.tax_rate_id == rate.id, Product.is_active.is_(True)
                )
            )
            if used:
                raise FormError(
                    {
                        "active": f"{rate.name} is the rate of {used} active "
                        f"product{'' if used == 1 else 's'}; give "
                        f"{'it' if used == 1 else 'them'} another rate first"
                    }
                )
        rate.is_active = active
        self.db.flush()
        return rate

    def _refuse_taken(self, name: str, rate: TaxRate | None = None) -> None:
        """FormError if another rate has ``name`` (letter case aside: "standard" and
        "Standard" would be two rates nobody can tell apart)."""
        query = select(TaxRate).where(func.lower(TaxRate.name) == name.lower())
        if rate is not None:
            query = query.where(TaxRate.id != rate.id)
        with self.db.no_autoflush:
            other = self.db.scalars(query).first()
        if other is not None:
            raise FormError(
                {
                    "name": f"a tax rate named {other.name!r} already exists "
                    f"({percent_text(other.rate)}%); choose another name or change that rate"
                }
            )

    def _flush_guarded(self, name: str, change) -> None:
        """Apply ``change`` and flush in a savepoint: a name taken by a rate saved at the
        same time becomes a FormError, and the request's transaction stays usable."""
        try:
            with self.db.begin_nested():
                change()
                self.db.flush()
        except IntegrityError as exc:
            raise FormError(
                {"name": f"a tax rate named {name!r} was just saved by someone else"}
            ) from exc
