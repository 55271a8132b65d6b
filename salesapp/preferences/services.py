"""A tenant's workspace settings: read by the point of sale and the sale service,
changed by an Admin."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from ..audit.recorder import record
from ..services import TenantService
from .forms import NO_CAP
from .models import DEFAULT_CASHIER_DISCOUNT_CAP, SalePolicy, SignInPolicy, WorkspaceSettings

#: the selling rules of a workspace that has not saved them (no ``sale_policies`` row)
POLICY_DEFAULTS = {
    "cashier_discount_cap": DEFAULT_CASHIER_DISCOUNT_CAP,
    "manager_discount_cap": None,
    "needs_open_shift": True,
}


class SettingsService(TenantService):
    """The one settings row of a tenant, on that tenant's session."""

    def get(self) -> WorkspaceSettings:
        """The tenant's settings; the row is created with the defaults if missing
        (ON CONFLICT DO NOTHING: two requests creating it at once both succeed)."""
        row = self.db.get(WorkspaceSettings, self.tenant_id)
        if row is None:
            self.db.execute(
                insert(WorkspaceSettings)
                .values(tenant_id=self.tenant_id)
                .on_conflict_do_nothing(index_elements=["tenant_id"])
            )
            row = self.db.get(WorkspaceSettings, self.tenant_id)
        return row

    def update(
        self,
        *,
        allow_negative_stock: bool,
        currency: str,
        receipt_footer: str,
        admins_need_two_factor: bool = False,
        cashier_discount_cap: Decimal | None = None,
        manager_discount_cap: Decimal | str | None = None,
        needs_open_shift: bool | None = None,
    ) -> WorkspaceSettings:
        """Save validated values (see :func:`.forms.parse_settings`); a cap (or shift
        rule) of None leaves it as it is; the Managers' cap NO_CAP removes it."""
        row = self.get()
        row.allow_negative_stock = allow_negative_stock
        row.currency = currency
        row.receipt_footer = receipt_footer
        self._set_admins_need_two_factor(admins_need_two_factor)
        if cashier_discount_cap is not None:
            self.set_policy("cashier_discount_cap", cashier_discount_cap)
        if manager_discount_cap is not None:
            self.set_policy(
                "manager_discount_cap",
                None if manager_discount_cap == NO_CAP else manager_discount_cap,
            )
        if needs_open_shift is not None:
            self.set_policy("needs_open_shift", needs_open_shift)
        self.db.flush()
        return row

    def admins_need_two_factor(self) -> bool:
        """Whether Admins must use two-factor sign-in (read on an Admin's requests)."""
        return bool(self.db.scalar(select(SignInPolicy.admins_need_two_factor)))

    def _set_admins_need_two_factor(self, value: bool) -> None:
        before = self.admins_need_two_factor()
        if value == before:
            return
        self.db.execute(
            insert(SignInPolicy)
            .values(tenant_id=self.tenant_id, admins_need_two_factor=value)
            .on_conflict_do_update(
                index_elements=["tenant_id"], set_={"admins_need_two_factor": value}
            )
        )
        record(self.db, "settings.update", "sign-in policy", admins_need_two_factor=[before, value])

    def cashier_discount_cap(self) -> Decimal:
        """The most a Cashier may take off, in percent of a price before tax."""
        cap = self.db.scalar(select(SalePolicy.cashier_discount_cap))
        return DEFAULT_CASHIER_DISCOUNT_CAP if cap is None else cap

    def manager_discount_cap(self) -> Decimal | None:
        """The most a Manager may take off (None, the default: no cap)."""
        return self.db.scalar(select(SalePolicy.manager_discount_cap))

    def discount_cap(self, roles: frozenset[str]) -> Decimal | None:
        """The most someone with ``roles`` may take off, in percent of a price (None: no
        cap), read by the sale service on every quote: Admins have no cap; otherwise
        the most generous cap of their roles (a user with no selling role is held to
        the Cashiers')."""
        if "Admin" in roles:
            return None
        row = self.db.execute(
            select(SalePolicy.cashier_discount_cap, SalePolicy.manager_discount_cap)
        ).first()
        cashier = DEFAULT_CASHIER_DISCOUNT_CAP if row is None else row.cashier_discount_cap
        if "Managers" in roles:
            return (
                None
                if row is None or row.manager_discount_cap is None
                else max(row.manager_discount_cap, cashier)
            )
        return cashier

    def needs_open_shift(self) -> bool:
        """Whether a register must have an open shift to sell (default on; read by the
        till and the sale service when a sale is rung on a register)."""
        value = self.db.scalar(select(SalePolicy.needs_open_shift))
        return True if value is None else value

    def set_policy(self, name: str, value) -> None:
        """Set one of the selling rules (a column of ``sale_policies``: the caps, the
        open-shift rule), audited; the same value again changes nothing."""
        before = self.db.scalar(select(getattr(SalePolicy, name)))
        if before is None:
            before = POLICY_DEFAULTS[name]
        if value == before:
            return
        self.db.execute(
            insert(SalePolicy)
            .values(tenant_id=self.tenant_id, **{name: value})
            .on_conflict_do_update(index_elements=["tenant_id"], set_={name: value})
        )
        record(self.db, "settings.update", "selling rules", **{name: [before, value]})
