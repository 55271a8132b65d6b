"""Locations of one tenant: the default one, the active ones, and the Admin's changes.

Exactly one location is the default at all times (provisioning creates "Main"); the
default cannot be deactivated, and only an active location can become the default.
"""

from __future__ import annotations

from sqlalchemy import func, select, text, update

from ..services import TenantService
from .models import Location


class LocationError(ValueError):
    """A refused change; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class LocationService(TenantService):
    """The locations of one tenant, on that tenant's session."""

    model = Location

    # -- queries ---------------------------------------------------------------------

    def default(self) -> Location:
        """The default location. Should a damaged workspace have none, the first active
        location by name becomes it (else the first inactive one, reactivated; else a new
        "Main")."""
        location = self.db.scalars(select(Location).where(Location.is_default)).first()
        if location is None:
            location = self._repair_default()
        return location

    def active(self) -> list[Location]:
        """The active locations, by name."""
        return list(
            self.db.scalars(select(Location).where(Location.is_active).order_by(Location.name))
        )

    def all(self) -> list[Location]:
        """Every location, active and not, by name."""
        return list(self.db.scalars(select(Location).order_by(Location.name)))

    # -- changes ---------------------------------------------------------------------
    def create(self, *, name: str, address: str = "") -> Location:
        self._lock()
        self._check_name(name)
        location = Location(tenant_id=self.tenant_id, name=name, address=address)
        self.db.add(location)
        self.db.flush()
        return location

    def update(self, location: Location, *, name: str, address: str, active: bool) -> None:
        """Rename, readdress, (de)activate; the default stays active."""
        self._lock()
        self.db.refresh(location)
        if not active and location.is_default:
            raise LocationError(
                f"{location.name} is the default location and cannot be deactivated; make "
                "another location the default first.",
                "active",
            )
        self._check_name(name, exclude=location)
        location.name = name
        location.address = address
        location.is_active = active
        self.db.flush()

    def make_default(self, location: Location) -> None:
        """Make ``location`` the one default (it must be active)."""
        self._lock()
        self.db.refresh(location)
        if not location.is_active:
            raise LocationError(
                f"{location.name} is deactivated; activate it before making it the default."
            )
        self.db.execute(
            update(Location)
            .where(
                Location.tenant_id == self.tenant_id,
                Location.is_default,
                Location.id != location.id,
            )
            .values(is_default=False),
            execution_options={"synchronize_session": "fetch"},
        )
        location.is_default = True
        self.db.flush()

    # -- rules -----------------------------------------------------------------------
    def _lock(self) -> None:
        """Lock the tenant's locations so concurrent changes cannot leave two defaults
        (or none), nor two locations of one name."""
        self.db.execute(select(Location.id).order_by(Location.id).with_for_update())

    def _check_name(self, name: str, exclude: Location | None = None) -> None:
        # case-insensitive: "Main" and "main" would be the same shop to a person
        query = select(Location.name).where(func.lower(Location.name) == name.lower())
        if exclude is not None:
            query = query.where(Location.id != exclude.id)
        taken = self.db.scalar(query)
        if taken is not None:
            raise LocationError(
                f"A location named {taken!r} already exists; choose another name.", "name"
            )

    def _repair_default(self) -> Location:
        self._lock()
        location = self.db.scalars(
            select(Location).order_by(Location.is_active.desc(), Location.name)
        ).first()
        if location is None:
            location = Location(tenant_id=self.tenant_id, name="Main")
            self.db.add(location)
        location.is_active = True
        location.is_default = True
        self.db.flush()
        return location


def turn_on_multi_location(catalog_engine, tenant_id: int) -> bool:
    """Let a one-location workspace keep several locations: its Admin's choice, made
    on the locations page. Whether a workspace has several locations is the catalog's
    (``tenants.multi_location``: every request reads it with the tenant), so it is
    written there, in a transaction of its own; the catalog's trigger tells every app
    process to reload the tenant. True if it changed (False: it was on already).
    Turning it off again is the operator's (`salesapp tenant`), as locations and their
    stock would be hidden, not gone."""
    with catalog_engine.begin() as conn:
        changed = conn.execute(
            text("update tenants set multi_location = true where id = :id and not multi_location"),
            {"id": tenant_id},
        ).rowcount
    return bool(changed)
