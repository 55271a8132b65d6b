"""A tenant's workspace settings and sign-in rules: one row of each per tenant."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.declare import Audit, changed
from ..db import Base


class WorkspaceSettings(Base):
    __tablename__ = "workspace_settings"
    __audit__ = Audit(
        target=lambda settings: "workspace settings",
        updated=(changed("settings.update", "allow_negative_stock", "currency", "receipt_footer"),),
    )

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    allow_negative_stock: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    currency: Mapped[str] = mapped_column(Text, default="USD", server_default="USD")
    receipt_footer: Mapped[str] = mapped_column(Text, default="", server_default="")


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
