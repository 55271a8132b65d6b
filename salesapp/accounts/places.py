"""Where a user may sell: the locations and registers an Admin ties them to (issue 17).

A user tied to nothing may work anywhere (the behaviour before issue 17). A tie to a
location lets them work at any register of it; a tie to a register lets them work at
that register (so at its location, but at no other register there unless the location
is tied too). The till asks :func:`may_sell_at` before it sells, the PIN pad lists the
staff who may work at its register, and the sale service refuses a sale elsewhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select

from ..locations.models import Location
from ..registers.models import Register
from .models import User, UserLocation, UserRegister


@dataclass(frozen=True)
class Ties:
    """A user's tied locations and registers (each register with its location)."""

    locations: frozenset[uuid.UUID]
    registers: dict[uuid.UUID, uuid.UUID]  # register id -> its location id

    @property
    def anywhere(self) -> bool:
        return not self.locations and not self.registers


NO_TIES = Ties(frozenset(), {})


def _all_ties(db, user_ids=None) -> dict[uuid.UUID, Ties]:
    """Every user's ties (or those of ``user_ids``), in two queries; users without
    any are not in the answer."""
    locations: dict[uuid.UUID, set] = {}
    registers: dict[uuid.UUID, dict] = {}
    by_location = select(UserLocation.user_id, UserLocation.location_id)
    by_register = select(UserRegister.user_id, Register.id, Register.location_id).join(
        Register,
        (Register.tenant_id == UserRegister.tenant_id) & (Register.id == UserRegister.register_id),
    )
    if user_ids is not None:
        by_location = by_location.where(UserLocation.user_id.in_(user_ids))
        by_register = by_register.where(UserRegister.user_id.in_(user_ids))
    for user_id, location_id in db.execute(by_location):
        locations.setdefault(user_id, set()).add(location_id)
    for user_id, register_id, location_id in db.execute(by_register):
        registers.setdefault(user_id, {})[register_id] = location_id
    return {
        user_id: Ties(frozenset(locations.get(user_id, ())), registers.get(user_id, {}))
        for user_id in locations.keys() | registers.keys()
    }


def ties(db, user: User) -> Ties:
    """The user's ties."""
    return _all_ties(db, [user.id]).get(user.id, NO_TIES)


def _may(found: Ties, location_id, register_id) -> bool:
    if found.anywhere or location_id in found.locations:
        return True
    if register_id is None:
        return location_id in found.registers.values()
    return found.registers.get(register_id) == location_id


def allowed_location_ids(db, user: User) -> frozenset[uuid.UUID] | None:
    """The locations ``user`` may sell at (a tied location, or the location of a tied
    register); None: anywhere, no ties."""
    found = ties(db, user)
    if found.anywhere:
        return None
    return found.locations | frozenset(found.registers.values())


def may_sell_at(db, user: User, location_id, register_id=None) -> bool:
    """May ``user`` sell at this location (and, when given, this register of it)?"""
    return _may(ties(db, user), location_id, register_id)


def set_ties(
    db,
    tenant_id: int,
    user: User,
    location_ids: Iterable[uuid.UUID],
    register_ids: Iterable[uuid.UUID],
) -> None:
    """Replace the user's ties with these (the Admin's user page). Ids must be the
    tenant's (the form offers only those; a foreign key refuses any other)."""
    for model in (UserLocation, UserRegister):
        db.execute(
            delete(model).where(model.tenant_id == tenant_id, model.user_id == user.id),
            execution_options={"synchronize_session": False},
        )
    db.add_all(
        [UserLocation(tenant_id=tenant_id, user_id=user.id, location_id=i) for i in location_ids]
        + [UserRegister(tenant_id=tenant_id, user_id=user.id, register_id=i) for i in register_ids]
    )
    db.flush()


def place_choices(db) -> tuple[list[Location], list[tuple[Register, Location]]]:
    """What the Admin may tie a user to: the active locations, and the active registers
    of active locations (with their location), by name."""
    locations = list(db.scalars(select(Location).where(Location.is_active).order_by(Location.name)))
    registers = db.execute(
        select(Register, Location)
        .join(
            Location,
            (Location.tenant_id == Register.tenant_id) & (Location.id == Register.location_id),
        )
        .where(Register.active, Location.is_active)
        .order_by(Location.name, Register.name)
    ).all()
    return locations, [(register, location) for register, location in registers]


def staff_for(db, location_id, register_id=None) -> list[User]:
    """The active users who may sell at this location (and register), by name: the PIN
    pad's names."""
    users = db.scalars(select(User).where(User.is_active).order_by(User.full_name, User.username))
    every = _all_ties(db)
    return [u for u in users if _may(every.get(u.id, NO_TIES), location_id, register_id)]
