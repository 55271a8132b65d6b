"""A tenant's workspace settings: read by the point of sale and the sale service,
changed by an Admin."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert

from ..audit.recorder import record
from ..services import TenantService
from .forms import NO_CAP, check_logo
from .models import (
    DEFAULT_CASHIER_DISCOUNT_CAP,
    DETAILS,
    SalePolicy,
    SignInPolicy,
    WorkspaceLogo,
    WorkspaceSettings,
)

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
        **details,
    ) -> WorkspaceSettings:
        """Save validated values (see :func:`.forms.parse_settings`); a cap (or shift
        rule) of None leaves it as it is; the Managers' cap NO_CAP removes it.
        ``details``: any of DETAILS (zone, locale, tax mode, the business's details),
        each set as given; the audit trail records what changed (settings.update)."""
        unknown = set(details) - set(DETAILS)
        if unknown:
            raise TypeError(f"update() got unknown settings: {', '.join(sorted(unknown))}")
        row = self.get()
        row.allow_negative_stock = allow_negative_stock
        row.currency = currency
        row.receipt_footer = receipt_footer
        for name, value in details.items():
            setattr(row, name, value)
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

    def has_sales(self) -> bool:
        """Whether the workspace has sold anything (changing its currency then converts
        nothing: the settings page warns). Plain SQL: settings need no sales model."""
        return bool(self.db.scalar(text("select exists (select 1 from sales)")))

    # -- the logo ---------------------------------------------------------------------
    def logo(self) -> WorkspaceLogo | None:
        """The workspace's logo, or None."""
        return self.db.get(WorkspaceLogo, self.tenant_id, populate_existing=True)

    def logo_stamp(self):
        """(media type, size, updated at) of the logo without loading it, or None."""
        return self.db.execute(
            select(
                WorkspaceLogo.media_type,
                func.octet_length(WorkspaceLogo.content),
                WorkspaceLogo.updated_at,
            )
        ).first()

    def set_logo(self, content: bytes, filename: str = "") -> str:
        """Save an uploaded logo in place of any before, after :func:`.forms.check_logo`
        (LogoError, and nothing saved, for anything but a PNG, JPEG or WebP image of at
        most MAX_LOGO_BYTES); audited. Returns its media type."""
        media_type = check_logo(content, filename)
        before = self.logo_stamp()
        self.db.execute(
            insert(WorkspaceLogo)
            .values(tenant_id=self.tenant_id, content=content, media_type=media_type)
            .on_conflict_do_update(
                index_elements=["tenant_id"],
                set_={"content": content, "media_type": media_type, "updated_at": func.now()},
            )
        )
        record(
            self.db,
            "settings.update",
            "logo",
            logo=[_described(before), f"{media_type}, {len(content):,} bytes"],
        )
        return media_type

    def remove_logo(self) -> bool:
        """Remove the logo (receipts print without one); False if there was none."""
        before = self.logo_stamp()
        if before is None:
            return False
        self.db.execute(delete(WorkspaceLogo))
        record(self.db, "settings.update", "logo", logo=[_described(before), None])
        return True


def _described(stamp) -> str | None:
    """A logo as the audit trail names it: its type and size."""
    return None if stamp is None else f"{stamp[0]}, {stamp[1]:,} bytes"
