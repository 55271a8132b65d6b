"""Helpers of the till tests (PINs, till devices, places): registers and PINs set up as
the owner under the tenant's binding, and the till's pages driven as a browser would."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select

from salesapp.accounts.models import User
from salesapp.accounts.pins import PinService
from salesapp.accounts.services import make_password_hasher
from salesapp.ids import uuid7
from salesapp.inventory.services import InventoryService
from salesapp.locations.models import Location
from salesapp.operations import door
from salesapp.products.models import Product
from salesapp.registers.models import Register
from tests.conftest import form_with


def user_id(catalog, tenant, username: str) -> uuid.UUID:
    with door.tenant_session(catalog, tenant) as db:
        return db.scalars(select(User.id).where(User.username == username)).one()


def default_location_id(catalog, tenant) -> uuid.UUID:
    with door.tenant_session(catalog, tenant) as db:
        return InventoryService(db, tenant.id).default_location().id


def add_location(catalog, tenant, name: str) -> uuid.UUID:
    with door.tenant_session(catalog, tenant) as db:
        location = Location(tenant_id=tenant.id, id=uuid7(), name=name)
        db.add(location)
        db.flush()
        return location.id


def add_register(catalog, tenant, name="Till 1", location_id=None) -> uuid.UUID:
    """A register at ``location_id`` (the default location when None); its id."""
    location_id = location_id or default_location_id(catalog, tenant)
    with door.tenant_session(catalog, tenant) as db:
        register = Register(tenant_id=tenant.id, id=uuid7(), location_id=location_id, name=name)
        db.add(register)
        db.flush()
        return register.id


def set_pin(catalog, tenant, username: str, pin: str) -> None:
    with door.tenant_session(catalog, tenant) as db:
        user = db.scalars(select(User).where(User.username == username)).one()
        PinService(db, tenant.id, make_password_hasher(catalog.settings)).set_pin(user, pin)


def stocked_product(catalog, tenant, sku="TEA", price="2.50", stock="10") -> uuid.UUID:
    with door.tenant_session(catalog, tenant) as db:
        product = Product(
            tenant_id=tenant.id,
            id=uuid7(),
            sku=sku,
            name=f"Item {sku}",
            unit_price=Decimal(price),
            cost=Decimal("1"),
            tax_rate=Decimal("0"),
        )
        db.add(product)
        db.flush()
        inventory = InventoryService(db, tenant.id)
        inventory.receive(product.id, inventory.default_location().id, Decimal(stock))
        return product.id


def make_till(client, register_id, status=303):
    page = client.get("/till")
    form = next(
        f for f in page.forms.values() if f.html.form.get("data-testid") == "make-till-form"
    )
    form["register_id"] = str(register_id)
    return form.submit(status=status)


def csrf_of(client, path="/till/unlock") -> str:
    page = client.get(path)
    return next(iter(page.forms.values()))["csrf_token"].value


def lock(client, status=303):
    """Press Lock till (the top bar's button: a form posting to /till/lock)."""
    csrf = form_with(client.get("/"), "csrf_token")["csrf_token"].value
    return client.post("/till/lock", {"csrf_token": csrf}, status=status)


def unlock(client, who: uuid.UUID, pin: str, status=303):
    """Tap the name ``who`` on the PIN pad, type ``pin``."""
    page = client.get("/till/unlock", params={"user": str(who)})
    form = form_with(page, "pin")
    form["pin"] = pin
    return form.submit(status=status)


def who(client) -> str:
    """The signed-in user's name as the top bar shows it."""
    return client.get("/").html.select_one('[data-testid="who"]').text.strip()


def open_shift(catalog, tenant, register_id, opened_by: str) -> None:
    """An open shift at the register (a counted float of 0), as its page would open it:
    a register sells only in an open shift."""
    from salesapp.registers.models import Shift

    with door.tenant_session(catalog, tenant) as db:
        opener = db.scalars(select(User.id).where(User.username == opened_by)).one()
        db.add(
            Shift(
                tenant_id=tenant.id,
                id=uuid7(),
                register_id=register_id,
                opened_by=opener,
                opening_float=Decimal("0"),
            )
        )
