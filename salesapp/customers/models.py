"""Customers of a tenant."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, TenantScoped


class Customer(TenantScoped, Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_tenant_id_name", "tenant_id", "name"),
        Index("ix_customers_tenant_id_phone_normalized", "tenant_id", "phone_normalized"),
    )

    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: the phone in E.164 ("+254712345678") as the workspace's country reads it, else
    #: its digits; empty when there is no phone, or for a customer made before t0019
    #: (filled when first needed: salesapp.customers.phones)
    phone_normalized: Mapped[str] = mapped_column(Text, default="", server_default="")
    email: Mapped[str] = mapped_column(Text, default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
