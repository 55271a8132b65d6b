"""Locations (shops, warehouses) of a tenant; a single-location tenant has one default."""

from __future__ import annotations

from sqlalchemy import Boolean, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.declare import Audit, always, changed
from ..db import Base, TenantScoped


class Location(TenantScoped, Base):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    __audit__ = Audit(
        target=lambda location: f"location {location.name}",
        inserted=(always("location.create"),),
        updated=(changed("location.update", "name", "address", "is_default", "is_active"),),
    )

    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
