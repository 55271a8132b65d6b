"""A tenant's workspace settings: read by the point of sale and the sale service,
changed by an Admin."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from ..audit.recorder import record
from ..services import TenantService
from .models import DEFAULT_CASHIER_DISCOUNT_CAP, SalePolicy, SignInPolicy, WorkspaceSettings


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
        needs_open_shift: bool | None = None,
    ) -> WorkspaceSettings:
        """Save validated values (see :func:`.forms.parse_settings`); a cap (or shift
        rule) of None leaves it as it is."""
        row = self.get()
        row.allow_negative_stock = allow_negative_stock
        row.currency = currency
        row.receipt_footer = receipt_footer
        self._set_admins_need_two_factor(admins_need_two_factor)
        if cashier_discount_cap is not None:
            self._set_cashier_discount_cap(cashier_discount_cap)
        if needs_open_shift is not None:
            self._set_needs_open_shift(needs_open_shift)
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
        """The most a Cashier may take off a line, in percent of its price before tax
        (read by the sale service on every quote; Managers and Admins have no cap)."""
        cap = self.db.scalar(select(SalePolicy.cashier_discount_cap))
        return DEFAULT_CASHIER_DISCOUNT_CAP if cap is None else cap

    def needs_open_shift(self) -> bool:
        """Whether a register must have an open shift to sell (default on; read by the
        till and the sale service when a sale is rung on a register)."""
        value = self.db.scalar(select(SalePolicy.needs_open_shift))
        return True if value is None else value

    def _set_needs_open_shift(self, value: bool) -> None:
        before = self.needs_open_shift()
        if value == before:
            return
        self.db.execute(
            insert(SalePolicy)
            .values(tenant_id=self.tenant_id, needs_open_shift=value)
            .on_conflict_do_update(index_elements=["tenant_id"], set_={"needs_open_shift": value})
        )
        record(self.db, "settings.update", "selling rules", needs_open_shift=[before, value])

    def _set_cashier_discount_cap(self, value: Decimal) -> None:
        before = self.cashier_discount_cap()
        if value == before:
            return
        self.db.execute(
            insert(SalePolicy)
            .values(tenant_id=self.tenant_id, cashier_discount_cap=value)
            .on_conflict_do_update(
                index_elements=["tenant_id"], set_={"cashier_discount_cap": value}
            )
        )
        record(self.db, "settings.update", "selling rules", cashier_discount_cap=[before, value])
