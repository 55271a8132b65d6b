"""A tenant's workspace settings, sign-in rules and selling rules: one row of each per
tenant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    LargeBinary,
    Numeric,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.declare import Audit, changed
from ..db import Base

#: the columns of workspace_settings issue 18 added: where the workspace is, how it writes
#: numbers, its tax rules and the business details its receipts print (the settings
#: service sets them when given, the form reads them, the audit trail records them)
DETAILS = (
    "time_zone",
    "locale",
    "prices_include_tax",
    "tax_rounding",
    "legal_name",
    "address",
    "phone",
    "tax_number",
    "receipt_header",
)


class WorkspaceSettings(Base):
    __tablename__ = "workspace_settings"
    __table_args__ = (CheckConstraint("tax_rounding in ('line', 'invoice')", name="tax_rounding"),)
    __audit__ = Audit(
        target=lambda settings: "workspace settings",
        updated=(
            changed(
                "settings.update", "allow_negative_stock", "currency", "receipt_footer", *DETAILS
            ),
        ),
    )

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    allow_negative_stock: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    currency: Mapped[str] = mapped_column(Text, default="USD", server_default="USD")
    receipt_footer: Mapped[str] = mapped_column(Text, default="", server_default="")
    # -- t0015 (issue 18): where the workspace is, how it writes numbers, its tax rules
    #: an IANA zone name; every date and time shown and every day boundary is in it
    time_zone: Mapped[str] = mapped_column(Text, default="UTC", server_default="UTC")
    #: a Babel locale identifier of salesapp.localization.LOCALES
    locale: Mapped[str] = mapped_column(Text, default="en_US", server_default="en_US")
    #: prices are typed and shown with tax included (shelf prices in the EU, UK, Africa)
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    #: tax rounded on each line ('line') or once per rate on the whole sale ('invoice')
    tax_rounding: Mapped[str] = mapped_column(Text, default="line", server_default="line")
    # -- the business's details, printed on receipts
    legal_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    phone: Mapped[str] = mapped_column(Text, default="", server_default="")
    tax_number: Mapped[str] = mapped_column(Text, default="", server_default="")
    receipt_header: Mapped[str] = mapped_column(Text, default="", server_default="")


#: the largest logo the settings page takes, in bytes
MAX_LOGO_BYTES = 256 * 1024


class WorkspaceLogo(Base):
    """A workspace's logo for receipts (t0015): uploaded on the settings page, served by
    the app. A table of its own so that reading the settings never loads the image."""

    __tablename__ = "workspace_logos"
    __table_args__ = (
        CheckConstraint(f"octet_length(content) <= {MAX_LOGO_BYTES}", name="content_size"),
        CheckConstraint(
            "media_type in ('image/png', 'image/jpeg', 'image/webp')", name="media_type"
        ),
    )

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    media_type: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class SignInPolicy(Base):
    """A tenant's sign-in rules, one row per tenant once an Admin saves them (no row: the
    defaults). A table of its own rather than columns of workspace_settings: a tenant
    archive of an older schema revision restores table by table, and a table that did
    not exist then is simply empty (salesapp.operations.archive)."""

    __tablename__ = "sign_in_policies"

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: Admins must sign in with a second factor (TOTP); one without it must enrol first
    admins_need_two_factor: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )


#: how much of a price a Cashier may take off when no Admin has said otherwise (t0014;
#: 20 before)
DEFAULT_CASHIER_DISCOUNT_CAP = Decimal("10")


class SalePolicy(Base):
    """A tenant's selling rules, one row per tenant once an Admin saves them (no row: the
    defaults); a table of its own for the same reason as :class:`SignInPolicy`."""

    __tablename__ = "sale_policies"
    __table_args__ = (
        CheckConstraint(
            "cashier_discount_cap >= 0 and cashier_discount_cap <= 100",
            name="cashier_discount_cap_percent",
        ),
        CheckConstraint(
            "manager_discount_cap >= 0 and manager_discount_cap <= 100",
            name="manager_discount_cap_percent",
        ),
    )

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: the most a Cashier may discount, in percent of a price before tax
    cashier_discount_cap: Mapped[Decimal] = mapped_column(
        Numeric(5, 2), default=DEFAULT_CASHIER_DISCOUNT_CAP, server_default="10"
    )
    #: the most a Manager may discount (t0014; None: no cap); Admins have no cap
    manager_discount_cap: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    #: a register can't sell without an open shift (t0011; issue 17)
    needs_open_shift: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
