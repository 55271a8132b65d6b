"""A shared till: a browser a Manager or Admin makes a till device, on which cashiers
take turns with their PIN instead of a full sign-in (issue 17).

The device lives in the browser's session (signed, tenant-bound: salesapp.sessions):
the register it is for, who made it a till, and that person's session generation then.
It is a till device only while that person is an active Manager or Admin who has not
signed out everywhere since (AccountService.end_sessions), and while the register and
its location are active: a full sign-out by the Manager ends till mode on every device
they made a till.

"Lock till" ends the current cashier's turn: a new session that keeps the device's keys
and names nobody, then the PIN pad (the staff of the register's location who have a
PIN, as big name buttons, then the PIN). The right PIN makes that person the session's
user (``remember(..., keep_till=True, by_pin=True)``, salesapp.security), so every sale
rung next names them (sales.user_id is the session's user). A wrong PIN counts as a
failed sign-in (salesapp.accounts.pins). Someone with a one-time password, or an Admin
who owes the workspace two-factor set-up, must sign in fully first.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.security import remember
from pyramid.view import view_config, view_defaults

from ..audit.recorder import record
from ..db import KEEP_WRITES
from ..forms import Form, FormError, parse_uuid
from ..http_helpers import client_address
from ..locations.models import Location
from ..pages import field_errors, refuse
from ..registers.models import Register
from .models import User
from .pins import PinService
from .places import place_choices, staff_for
from .services import AccountService, SignInThrottled, step_due

#: the register the till works at (set by the till when a register is chosen)
TILL_REGISTER = "till_register_id"
#: the device: its register, who made it a till, and their session generation then
DEVICE_REGISTER = "till_device_register_id"
DEVICE_BY = "till_device_by"
DEVICE_GENERATION = "till_device_generation"
#: the session was begun with a PIN at the device (salesapp.security.PIN_SESSION_DENIED)
BY_PIN = "by_pin"
#: what a switch of cashier keeps of the session (the point of sale's chosen location
#: too: the next cashier goes on where the last one was)
TILL_KEYS = (TILL_REGISTER, DEVICE_REGISTER, DEVICE_BY, DEVICE_GENERATION, "pos_location")
DEVICE_KEYS = (DEVICE_REGISTER, DEVICE_BY, DEVICE_GENERATION)
#: who may make a browser a till device (salesapp.security's till.manage)
TILL_MAKERS = frozenset({"Admin", "Managers"})


@dataclass(frozen=True)
class TillDevice:
    """This browser as a till: its register and location, and who made it one."""

    register: Register
    location: Location
    made_by: User


def till_device_for_request(request) -> TillDevice | None:
    """``request.till_device``: the till device this browser is, or None (not one, or
    no longer: its maker signed out everywhere, lost the role or was deactivated, or
    the register or its location was retired)."""
    session, tenant = request.session, request.tenant
    if tenant is None or session.get("tenant_id") != tenant.id or not session.get(DEVICE_BY):
        return None
    maker = request.find_service(AccountService).get_user(session.get(DEVICE_BY))
    if (
        maker is None
        or not maker.is_active
        or not maker.role_names & TILL_MAKERS
        or session.get(DEVICE_GENERATION) != maker.session_generation
    ):
        return None
    register_id = parse_uuid(session.get(DEVICE_REGISTER))
    db = request.dbsession
    register = db.get(Register, (tenant.id, register_id)) if register_id else None
    if register is None or not register.active:
        return None
    location = db.get(Location, (tenant.id, register.location_id))
    if location is None or not location.is_active:
        return None
    return TillDevice(register, location, maker)


def _registers(db) -> list[tuple[Register, Location]]:
    """The active registers of active locations, by location and name."""
    return place_choices(db)[1]


# -- making a till ---------------------------------------------------------------------
@view_defaults(route_name="till", renderer="accounts/till.jinja2", permission="till.manage")
class TillDeviceView:
    """A Manager or Admin makes this browser a till device for a register, or ends
    that."""

    def __init__(self, request):
        self.request = request

    def page(self, errors=None) -> dict:
        request = self.request
        return {
            "device": request.till_device,
            "registers": _registers(request.dbsession),
            "chosen": str(request.session.get(TILL_REGISTER) or ""),
            "errors": errors or {},
        }

    @view_config(request_method="GET")
    def get(self):
        return self.page()

    @view_config(request_method="POST", request_param="action=make")
    def make(self):
        request = self.request
        form = Form(request.POST)
        register_id = form.uuid("register_id")
        choices = {register.id: register for register, _ in _registers(request.dbsession)}
        if not form.errors and register_id not in choices:
            form.error("register_id", "choose one of the active registers listed")
        try:
            form.check()
        except FormError as exc:
            return refuse(request, self.page(field_errors(exc)))
        user, register = request.user, choices[register_id]
        session = request.session
        session[TILL_REGISTER] = session[DEVICE_REGISTER] = str(register.id)
        session[DEVICE_BY] = str(user.id)
        session[DEVICE_GENERATION] = user.session_generation
        record(request.dbsession, "till.device", f"register {register.name}")
        session.flash(
            f"This browser is now a till for {register.name}. Cashiers take turns with "
            "Lock till and their PIN; signing out ends till mode."
        )
        return HTTPSeeOther(location=request.route_url("till"))

    @view_config(request_method="POST", request_param="action=end")
    def end(self):
        request = self.request
        for key in DEVICE_KEYS:
            request.session.pop(key, None)
        request.session.flash("This browser is no longer a till device.")
        return HTTPSeeOther(location=request.route_url("till"))


# -- taking turns ----------------------------------------------------------------------
def lock_session(request) -> list:
    """A new session keeping the till device and naming nobody: the PIN pad is next."""
    return remember(request, None, keep_till=True)


@view_config(route_name="till.lock", request_method="POST")
def lock(request):
    """Lock till: the current cashier's turn ends here (their other sessions go on)."""
    if request.till_device is None:
        raise HTTPNotFound()
    user = request.user
    if user is not None:
        record(request.dbsession, "till.lock", f"user {user.username}")
    headers = lock_session(request)
    return HTTPSeeOther(location=request.route_url("till.unlock"), headers=headers)


@view_defaults(route_name="till.unlock", renderer="accounts/till_unlock.jinja2")
class PinPadView:
    """The PIN pad of a till device: a name, then that person's PIN."""

    def __init__(self, request):
        self.request = request
        self.device = request.till_device
        self.pins = request.find_service(PinService)

    def staff(self) -> list[User]:
        """Who may take the till: its register's staff with a PIN."""
        device = self.device
        users = staff_for(self.request.dbsession, device.location.id, device.register.id)
        with_pins = self.pins.users_with_pins(u.id for u in users)
        return [user for user in users if user.id in with_pins]

    def page(self, staff, chosen=None, error=None, status=200) -> dict:
        self.request.response.status_int = status
        return {"device": self.device, "staff": staff, "chosen": chosen, "error": error}

    def _not_a_till(self):
        return HTTPSeeOther(location=self.request.route_url("accounts.login"))

    @view_config(request_method="GET")
    def get(self):
        if self.device is None:
            return self._not_a_till()
        staff = self.staff()
        wanted = parse_uuid(self.request.GET.get("user"))
        chosen = next((user for user in staff if user.id == wanted), None)
        return self.page(staff, chosen)

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        if self.device is None:
            return self._not_a_till()
        request.environ[KEEP_WRITES] = True  # a wrong PIN counts, in the audit trail too
        staff = self.staff()
        wanted = parse_uuid(request.POST.get("user_id"))
        chosen = next((user for user in staff if user.id == wanted), None)
        if chosen is None:
            return self.page(staff, error="Choose your name first.", status=400)
        try:
            right = self.pins.verify(chosen, request.POST.get("pin", ""), client_address(request))
        except SignInThrottled as refused:
            request.response.headers["Retry-After"] = str(refused.retry_after)
            return self.page(staff, chosen, str(refused), status=refused.status)
        if not right:
            return self.page(staff, chosen, "That PIN is not right. Try again.", status=400)
        return self._switch(staff, chosen)

    def _switch(self, staff, user: User):
        request = self.request
        step = step_due(user)
        if step is not None:
            owed = (
                "change their one-time password"
                if step == "password"
                else "set up two-factor sign-in"
            )
            message = (
                f"{user.full_name or user.username} must sign in with their password and "
                f"{owed} before taking a till by PIN."
            )
            return self.page(staff, None, message, status=403)
        register = self.device.register
        headers = remember(
            request, user.id, generation=user.session_generation, keep_till=True, by_pin=True
        )
        request.session.setdefault(TILL_REGISTER, str(register.id))
        record(request.dbsession, "till.switch", f"register {register.name}", who=user)
        return HTTPSeeOther(location=request.route_url("pos"), headers=headers)
