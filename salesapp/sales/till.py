"""Which register a till rings on, its shift, and whether it may sell (issue 17).

The browser's register lives in ``session["till_register_id"]``. The rule, the same for
the till and ``POST /api/sales``:

* a workspace (location) without active registers sells as before: no register, no
  shift (the sale's ``register_id`` and ``shift_id`` stay empty);
* a location with registers asks the till to choose one first;
* a sale rung on a register belongs to it and to its open shift; when the workspace's
  "a register can't sell without an open shift" (``sale_policies.needs_open_shift``,
  default on) is on and the register has none, completion is refused with a message
  that says to open a shift. With the setting off, a sale without an open shift keeps
  its register and has no shift.
* ``POST /api/sales`` sells without a register, as its clients did before registers
  existed, unless its body names a ``register_id``: then the same rule as at the till.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ..preferences.services import SettingsService
from ..registers.models import Register, Shift
from ..registers.services import RegisterService

TILL_REGISTER = "till_register_id"


@dataclass
class Ringing:
    """Where a sale is rung: the register and its open shift (either may be None), and
    the refusal to show when it may not sell (None: it may)."""

    register: Register | None
    shift: Shift | None
    refusal: str | None = None

    @property
    def register_id(self) -> uuid.UUID | None:
        return self.register.id if self.register else None

    @property
    def shift_id(self) -> uuid.UUID | None:
        return self.shift.id if self.shift else None


def registers_at(request, location_id) -> list[Register]:
    """The active registers of a location, for the till's register picker."""
    return request.find_service(RegisterService).registers(location_id)


def usable_register(request, register_id, location_id) -> Register | None:
    """The register with this id if it is active and at the location, else None."""
    try:
        key = uuid.UUID(str(register_id))
    except ValueError:
        return None
    register = request.dbsession.get(Register, (request.tenant.id, key))
    if register is None or not register.active or register.location_id != location_id:
        return None
    return register


def ringing(request, register: Register | None) -> Ringing:
    """The register, its open shift, and whether a sale may be completed on it."""
    if register is None:
        return Ringing(None, None)
    shift = request.find_service(RegisterService).current_shift(register.id)
    refusal = None
    if shift is None and SettingsService(request.dbsession, request.tenant.id).needs_open_shift():
        refusal = (
            f"{register.name} has no open shift: open a shift first (count the float on "
            "the register's page), then complete the sale"
        )
    return Ringing(register, shift, refusal)


def till_register(request, location_id) -> Register | None:
    """The register this browser rings on (the session's, if still usable here)."""
    register = usable_register(request, request.session.get(TILL_REGISTER), location_id)
    if register is None and TILL_REGISTER in request.session:
        # only then: a pop of a missing key still counts as a change, and the session
        # cookie would be sent again with every answer of the till
        del request.session[TILL_REGISTER]
    return register
