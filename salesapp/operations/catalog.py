"""Access to the catalog for operations (console scripts, start-up, tests).

Operations connect as the owner role; web requests read the catalog through the
directory (directory.py) as the app role.
"""

from __future__ import annotations

import getpass
import logging
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from ..settings import Settings
from ..tenancy import urls
from ..tenancy.crypto import SecretBox, mask_secrets
from ..tenancy.directory import StoreKind, TenantStatus
from .errors import NotFound
from .models import Operation, Placement, Store, Tenant

log = logging.getLogger("salesapp.operations")

OPERATIONS_LOG = "tenant_operations.log"
_file_handlers: dict[Path, logging.Handler] = {}


def _ensure_file_log(log_dir: Path) -> None:
    """Append operations to ``<log_dir>/tenant_operations.log`` (once per process)."""
    path = (log_dir / OPERATIONS_LOG).resolve()
    if path in _file_handlers:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    _file_handlers[path] = handler


def _mask(value):
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


class Catalog:
    """The catalog database as seen by an operator: sessions, secrets, the operations log."""

    def __init__(self, settings: Settings):
        if not settings.catalog_url:
            raise ValueError(
                "no catalog URL: start the embedded server or set SALESAPP_CATALOG_URL"
            )
        self.settings = settings
        self.box = SecretBox(settings.secret_key)
        self.engine = create_engine(
            urls.sqlalchemy_url(settings.catalog_url),
            poolclass=NullPool,
            connect_args={"connect_timeout": settings.connect_timeout},
        )
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        _ensure_file_log(settings.log_dir)

    @contextmanager
    def session(self) -> Session:
        """A catalog session committed on success and rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    # -- tenants ---------------------------------------------------------------------
    def tenant(self, session: Session, slug: str) -> Tenant:
        """The tenant with this subdomain, or NotFound with what to do."""
        slug = (slug or "").strip().lower()
        tenant = session.scalars(
            select(Tenant).where(Tenant.slug == slug, Tenant.status != TenantStatus.PROVISIONING)
        ).first()
        if tenant is None:
            raise NotFound(f"no tenant with subdomain {slug!r}; see `salesapp tenant list`")
        return tenant

    def placement(self, session: Session, tenant: Tenant) -> tuple[Placement, Store]:
        placement = session.get(Placement, tenant.id)
        if placement is None:
            raise NotFound(f"tenant {tenant.slug!r} has no placement; it was never activated")
        return placement, session.get(Store, placement.store_id)

    # -- stores ----------------------------------------------------------------------
    def store_url(self, store: Store) -> str:
        """The store's owner-role URL, decrypted."""
        return self.box.decrypt(store.url_encrypted)

    def app_url(self, owner_url: str) -> str:
        """The same database as the app role."""
        return urls.with_role(owner_url, self.settings.app_role, self.settings.app_password)

    def owner_engine(self, store: Store) -> Engine:
        """A pool-less engine on a store as the owner role, bound to no tenant; dispose
        it when done. (salesapp.operations.door opens one bound to a tenant.)"""
        from .door import store_engine

        return store_engine(self, store)

    def default_pooled_store(self, session: Session) -> Store | None:
        return session.scalars(
            select(Store)
            .where(Store.kind == StoreKind.POOLED)
            .order_by(Store.is_default.desc(), Store.id)
        ).first()

    def store_by_name(self, session: Session, name: str) -> Store | None:
        return session.scalars(select(Store).where(Store.name == name)).first()

    def store_named(self, session: Session, name: str) -> Store:
        store = self.store_by_name(session, name)
        if store is None:
            raise NotFound(f"no store named {name!r}; see `salesapp store list`")
        return store

    # -- operations log --------------------------------------------------------------
    def record(self, action: str, outcome: str, *, tenant_slug=None, store_name=None, **detail):
        """Append to the operations log: the catalog table and logs/tenant_operations.log.

        Every password in ``detail`` (in URLs or ``password=``) is masked first.
        """
        clean = _mask(detail)
        try:
            actor = getpass.getuser()
        except Exception:
            actor = "unknown"
        with self.session() as session:
            session.add(
                Operation(
                    actor=actor,
                    action=action,
                    tenant_slug=tenant_slug,
                    store_name=store_name,
                    outcome=outcome,
                    detail=clean,
                )
            )
        log.info(
            "%s %s actor=%s tenant=%s store=%s %s",
            action,
            outcome,
            actor,
            tenant_slug,
            store_name,
            clean,
        )

    def dispose(self) -> None:
        self.engine.dispose()
