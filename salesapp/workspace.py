"""What a new tenant's workspace starts with, and the development demo tenants.

Provisioning (salesapp.tenancy) calls :func:`seed` by dotted name, so the tenancy
machinery never imports a business domain.
"""

from __future__ import annotations

import logging

from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from .accounts.models import User
from .accounts.services import AccountService, make_password_hasher
from .db import tenant_session
from .locations.models import Location

log = logging.getLogger(__name__)

DEMO_TENANTS = (
    ("demo", "Demo Traders", "pooled"),
    ("acme", "Acme Supplies", "dedicated"),
)


def seed(session, tenant_id, *, admin_username, admin_email, admin_password, settings):
    """Roles, the admin (with the Admin role) and the default location of a new tenant."""
    accounts = AccountService(session, tenant_id, make_password_hasher(settings))
    accounts.ensure_roles()
    accounts.create_user(
        username=admin_username,
        email=admin_email,
        password=admin_password,
        full_name="Administrator",
        roles=("Admin",),
    )
    session.add(Location(tenant_id=tenant_id, name="Main", is_default=True))
    session.flush()


def ensure_demo_tenants(settings, port: int | str = 6543) -> list[tuple[str, str, str, str]]:
    """Create the demo tenants if missing; give each admin a fresh generated password.

    Returns (url, username, password, kind) per demo tenant; the caller prints it once.
    """
    from .tenancy import provisioning
    from .tenancy.catalog import Catalog
    from .tenancy.models import Placement, Store, Tenant

    catalog = Catalog(settings)
    base = settings.base_domains[0]
    shown = []
    try:
        for slug, name, kind in DEMO_TENANTS:
            password = provisioning.generate_password()
            with catalog.session() as session:
                row = session.execute(
                    select(Tenant.id, Store)
                    .join(Placement, Placement.tenant_id == Tenant.id)
                    .join(Store, Store.id == Placement.store_id)
                    .where(Tenant.slug == slug, Tenant.status != "provisioning")
                ).first()
            if row is None:
                provisioning.create_tenant(
                    catalog,
                    provisioning.TenantRequest(
                        name=name,
                        slug=slug,
                        admin_email=f"admin@{slug}.example.com",
                        placement=kind,
                        admin_password=password,
                        multi_location=kind == "dedicated",
                    ),
                )
            else:
                tenant_id, store = row
                engine = create_engine(_sa(catalog.store_url(store)), poolclass=NullPool)
                try:
                    with tenant_session(engine, tenant_id) as session, session.begin():
                        accounts = AccountService(
                            session, tenant_id, make_password_hasher(settings)
                        )
                        admin = session.scalars(
                            select(User).where(User.username == "admin")
                        ).first()
                        if admin is None:
                            continue
                        accounts.set_password(admin, password)
                finally:
                    engine.dispose()
            shown.append((f"http://{slug}.{base}:{port}/", "admin", password, kind))
    finally:
        catalog.dispose()
    return shown


def _sa(url):
    from .tenancy.urls import sqlalchemy_url

    return sqlalchemy_url(url)
