"""Product logic: look-ups, search, create and update with per-tenant uniqueness of SKU
and barcode, and applying a checked CSV import.

The views, the point of sale and the CSV import all come through :class:`ProductService`,
so the uniqueness rules and their messages live in one place; so do the tax rules: a
product chosen a named rate (``tax_rate_id``) takes its percentage, and one given only
a percentage (the API, a CSV file) is linked to the workspace's rate of that percentage
(salesapp.taxes), so ``tax_rate`` and the named rate always agree. Amounts finer than
the workspace's currency allows (100.5 yen) are refused here, whatever the way in.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import Select, case, or_, select
from sqlalchemy.exc import IntegrityError

from ..forms import Form, FormError
from ..localization import Local
from ..preferences.services import SettingsService
from ..services import TenantService, page_and_total
from ..taxes.models import TaxRate
from ..taxes.services import TaxService
from .models import Product

#: every field of a product that people set (the model's own names)
PRODUCT_FIELDS = (
    "sku",
    "barcode",
    "name",
    "category",
    "unit_price",
    "cost",
    "tax_rate",
    "reorder_level",
    "is_active",
)
#: the fields people type; ``is_active`` is a checkbox on the form, yes/no in a CSV file
VALUE_FIELDS = PRODUCT_FIELDS[:-1]
#: how the till sells a product (issue 17), checkboxes on the form and yes/no in a CSV
#: file like ``is_active``; apart from PRODUCT_FIELDS, so that the API, which reads those,
#: refuses them until it represents them
TILL_FLAGS = ("open_price", "sold_by_weight")
#: the largest values the columns hold: Numeric(12, 2) and Numeric(12, 3)
MAX_MONEY = Decimal("9999999999.99")
MAX_QUANTITY = Decimal("999999999.999")
ZERO = Decimal("0")
#: the amounts of a product, held to the currency's decimals
MONEY_FIELDS = ("unit_price", "cost")


def read_product_fields(
    form: Form, columns: Iterable[str] | None = None, *, open_price: bool = False
) -> dict:
    """Read the product fields named in ``columns`` (all but ``is_active`` by default)
    from ``form``; problems are collected in ``form.errors`` under the field's name.

    The web form and the CSV import share these rules. ``is_active`` and the till flags
    are read by the caller: checkboxes on the web form, yes/no cells in a CSV file. A
    product with an ``open_price`` may leave its unit price blank (zero): the cashier
    types the price at the till.
    """
    wanted = set(PRODUCT_FIELDS if columns is None else columns)
    fields: dict = {}
    if "sku" in wanted:
        fields["sku"] = form.text("sku", required=True, max_length=64)
    if "barcode" in wanted:
        fields["barcode"] = form.text("barcode", max_length=64) or None
    if "name" in wanted:
        fields["name"] = form.text("name", required=True, max_length=200)
    if "category" in wanted:
        fields["category"] = form.text("category", max_length=100)
    if "unit_price" in wanted:
        fields["unit_price"] = form.money(
            "unit_price",
            minimum=ZERO,
            maximum=MAX_MONEY,
            default=ZERO if open_price else None,
        )
    if "cost" in wanted:
        fields["cost"] = form.money("cost", minimum=ZERO, maximum=MAX_MONEY, default=ZERO)
    if "tax_rate" in wanted:
        fields["tax_rate"] = form.decimal(
            "tax_rate", places=2, minimum=ZERO, maximum=Decimal("100"), default=ZERO
        )
    if "reorder_level" in wanted:
        fields["reorder_level"] = form.decimal(
            "reorder_level", places=3, minimum=ZERO, maximum=MAX_QUANTITY, default=ZERO
        )
    return fields


class ProductService(TenantService):
    """The products of one tenant, on that tenant's session."""

    model = Product

    # -- look-ups --------------------------------------------------------------------

    def by_sku(self, sku: str) -> Product | None:
        return self.db.scalars(select(Product).where(Product.sku == sku)).first()

    def by_barcode(self, code: str) -> Product | None:
        if not code:
            return None
        return self.db.scalars(select(Product).where(Product.barcode == code)).first()

    def search(self, q, *, active_only=True, limit=20, offset=0) -> list[Product]:
        """Products whose name contains ``q`` or whose SKU or barcode starts with it
        (case-insensitive; exact SKU or barcode matches first). ``%`` and ``_`` in ``q``
        match themselves."""
        active = "yes" if active_only else "all"
        return list(self.db.scalars(self._filtered(q, active=active).limit(limit).offset(offset)))

    def listing(
        self, q="", *, category="", active="all", limit=50, offset=0
    ) -> tuple[list[Product], int]:
        """One page of the product list and the number of matching products."""
        return page_and_total(
            self.db, self._filtered(q, category=category, active=active), limit, offset
        )

    def categories(self) -> list[str]:
        """The categories in use, for the list's filter."""
        query = select(Product.category).where(Product.category != "").distinct()
        return list(self.db.scalars(query.order_by(Product.category)))

    def all(self) -> list[Product]:
        """Every product, by SKU (the CSV export)."""
        return list(self.db.scalars(select(Product).order_by(Product.sku)))

    def _filtered(self, q="", *, category="", active="all") -> Select:
        query = select(Product)
        q = (q or "").strip()
        exact = None
        if q:
            query = query.where(
                or_(
                    Product.name.icontains(q, autoescape=True),
                    Product.sku.istartswith(q, autoescape=True),
                    Product.barcode.istartswith(q, autoescape=True),
                )
            )
            exact = case((or_(Product.sku == q, Product.barcode == q), 0), else_=1)
        if category:
            query = query.where(Product.category == category)
        if active == "yes":
            query = query.where(Product.is_active.is_(True))
        elif active == "no":
            query = query.where(Product.is_active.is_(False))
        order = [Product.name, Product.sku]
        return query.order_by(*([exact] if exact is not None else []), *order)

    # -- changes ---------------------------------------------------------------------
    def create(self, **fields) -> Product:
        """A new product; FormError names the field if its SKU or barcode is taken, its
        tax rate is not one of the workspace's active ones, or an amount has more
        decimals than the currency."""
        fields = self._check_fields(fields)
        fields.setdefault("barcode", None)
        fields.setdefault("tax_rate", ZERO)
        self._raise_conflicts(fields, exclude=None)
        self._with_tax_rate(fields, None)
        product = Product(tenant_id=self.tenant_id, **fields)
        self._flush_guarded(fields, lambda: self.db.add(product))
        return product

    def update(self, product: Product, **fields) -> Product:
        """Change ``product``; FormError names the field if its SKU or barcode is taken
        (or as :meth:`create`)."""
        fields = self._check_fields(fields)
        self._raise_conflicts(fields, exclude=product)
        self._with_tax_rate(fields, product)

        def assign():
            for name, value in fields.items():
                setattr(product, name, value)

        self._flush_guarded(fields, assign)
        return product

    def _check_fields(self, fields: dict) -> dict:
        unknown = set(fields) - set(PRODUCT_FIELDS) - set(TILL_FLAGS) - {"tax_rate_id"}
        if unknown:
            raise TypeError(f"unknown product fields: {', '.join(sorted(unknown))}")
        fields = dict(fields)
        if "barcode" in fields:
            fields["barcode"] = fields["barcode"] or None  # no barcode is NULL, never ""
        errors = self.money_problems(fields)
        if errors:
            raise FormError(errors)
        return fields

    def local(self) -> Local:
        """The workspace's currency and locale (for the decimals of its amounts)."""
        return Local.of(SettingsService(self.db, self.tenant_id).get())

    def money_problems(self, fields: dict) -> dict[str, str]:
        """field -> message for an amount with more decimals than the workspace's
        currency has (JPY has none): the API and a CSV file read plain decimals with two
        places, so the currency's rule is held here, once for every way in."""
        amounts = {name: fields[name] for name in MONEY_FIELDS if fields.get(name) is not None}
        if not amounts:
            return {}
        local = self.local()
        places = local.decimals
        wording = f"{places or 'no'} decimal place{'' if places == 1 else 's'}"
        return {
            name: f"has more decimals than {local.currency} amounts have ({wording}): {value}"
            for name, value in amounts.items()
            if value != local.round_money(value)
        }

    def _with_tax_rate(self, fields: dict, product: Product | None) -> None:
        """Make ``tax_rate`` and ``tax_rate_id`` agree: a chosen rate (an active one, or
        the product's own) gives its percentage; a percentage alone is linked to the
        workspace's rate of that percentage (one is named if there is none)."""
        taxes = TaxService(self.db, self.tenant_id)
        if fields.get("tax_rate_id") is not None:
            rate = taxes.get(fields["tax_rate_id"])
            current = product.tax_rate_id if product is not None else None
            if rate is None or not (rate.is_active or rate.id == current):
                raise FormError(
                    {"tax_rate_id": "is not one of the workspace's tax rates; choose one"}
                )
            fields["tax_rate"] = rate.rate
            return
        fields.pop("tax_rate_id", None)
        if "tax_rate" not in fields:
            return
        percent = fields["tax_rate"]
        if product is not None and product.tax_rate_id is not None:
            linked = self.db.get(TaxRate, (self.tenant_id, product.tax_rate_id))
            if linked is not None and linked.rate == percent:
                return  # the same percentage: the product keeps its named rate
        taxes.ensure(also=[percent])
        fields["tax_rate_id"] = taxes.for_percent(percent).id

    def conflicts(self, fields: dict, exclude: Product | None = None) -> dict[str, str]:
        """field -> message for a SKU or barcode another product of the tenant has."""
        errors = {}
        with self.db.no_autoflush:
            sku = fields.get("sku")
            other = self.by_sku(sku) if sku else None
            if other is not None and other is not exclude:
                errors["sku"] = f"SKU {sku} is already used by {other.name}"
            code = fields.get("barcode")
            other = self.by_barcode(code) if code else None
            if other is not None and other is not exclude:
                errors["barcode"] = f"Barcode {code} is already used by {other.name}"
        return errors

    def _raise_conflicts(self, fields, exclude):
        errors = self.conflicts(fields, exclude)
        if errors:
            raise FormError(errors)

    def _flush_guarded(self, fields: dict, change) -> None:
        """Apply ``change`` and flush inside a savepoint: a unique violation that slipped
        past :meth:`conflicts` (a concurrent insert) becomes a FormError, and the
        request's transaction stays usable."""
        try:
            with self.db.begin_nested():
                change()
                self.db.flush()
        except IntegrityError as exc:
            raise FormError(_unique_violation_errors(exc, fields)) from exc

    # -- CSV import ------------------------------------------------------------------
    def import_conflicts(self, rows) -> list[str]:
        """Problems only the database can show for checked CSV rows (``csvio.ImportRow``):
        a barcode that another product, not changed by the file, already has, and an
        amount with more decimals than the workspace's currency has."""
        by_sku = {row.fields["sku"]: row for row in rows}
        codes = {row.fields["barcode"]: row for row in rows if row.fields.get("barcode")}
        errors = [
            f"line {row.line}: {name} {message}"
            for row in rows
            for name, message in self.money_problems(row.fields).items()
        ]
        if codes:
            holders = self.db.scalars(select(Product).where(Product.barcode.in_(codes)))
            for holder in holders:
                row = codes[holder.barcode]
                if holder.sku == row.fields["sku"]:
                    continue
                moving = by_sku.get(holder.sku)
                if moving is not None and "barcode" in moving.fields:
                    continue  # the file gives the holder another barcode (or none)
                errors.append(
                    f"line {row.line}: barcode {holder.barcode} is already used by "
                    f"{holder.name} (SKU {holder.sku})"
                )
        return errors

    def apply_import(self, rows) -> tuple[int, int]:
        """Create or update (by SKU) a product per checked row, all or nothing;
        returns (created, updated). Call :meth:`import_conflicts` first."""
        skus = [row.fields["sku"] for row in rows]
        existing = {p.sku: p for p in self.db.scalars(select(Product).where(Product.sku.in_(skus)))}
        rate_ids = self._import_rate_ids(rows)
        created = updated = 0
        try:
            with self.db.begin_nested():
                # free barcodes that change first, so two products can swap theirs
                # (the unique constraint is checked row by row, not at commit)
                for row in rows:
                    product = existing.get(row.fields["sku"])
                    if product is not None and product.barcode != row.fields.get(
                        "barcode", product.barcode
                    ):
                        product.barcode = None
                self.db.flush()
                for row in rows:
                    product = existing.get(row.fields["sku"])
                    linked = rate_ids.get(row.fields.get("tax_rate", ZERO))
                    if product is None:
                        self.db.add(
                            Product(tenant_id=self.tenant_id, tax_rate_id=linked, **row.fields)
                        )
                        created += 1
                    else:
                        relink = "tax_rate" in row.fields and row.fields["tax_rate"] != (
                            product.tax_rate if product.tax_rate_id else None
                        )
                        for name, value in row.fields.items():
                            setattr(product, name, value)
                        if relink:
                            product.tax_rate_id = linked
                        updated += 1
                self.db.flush()
        except IntegrityError as exc:
            messages = _unique_violation_errors(exc, {})
            raise FormError({"file": "; ".join(messages.values())}) from exc
        return created, updated

    def _import_rate_ids(self, rows) -> dict:
        """percentage -> the workspace's rate of it, for the percentages of the rows (and
        0%, a new product's without the column)."""
        percents = {row.fields["tax_rate"] for row in rows if "tax_rate" in row.fields}
        percents.add(ZERO)
        taxes = TaxService(self.db, self.tenant_id)
        taxes.ensure(also=sorted(percents))
        return {percent: taxes.for_percent(percent).id for percent in percents}


def _unique_violation_errors(exc: IntegrityError, fields: dict) -> dict[str, str]:
    """field -> message for a unique violation the database reported."""
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
    if constraint.endswith("_barcode"):
        code = fields.get("barcode")
        what = f"Barcode {code}" if code else "A barcode"
        return {"barcode": f"{what} is already used by another product"}
    if constraint.endswith("_sku"):
        sku = fields.get("sku")
        what = f"SKU {sku}" if sku else "An SKU"
        return {"sku": f"{what} is already used by another product"}
    return {"sku": "This product conflicts with another one saved at the same time; try again"}
