"""Access to the catalog for operations (console scripts, start-up, tests).

Operations connect as the owner role; web requests read the catalog through the
directory (directory.py) as the app role.
"""

from __future__ import annotations

import getpass
import logging
from contextlib import contextmanager

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from ..settings import Settings
from . import urls
from .crypto import SecretBox, mask_url
from .models import Operation, Store

log = logging.getLogger("salesapp.operations")


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

    @contextmanager
    def session(self) -> Session:
        """A catalog session committed on success and rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    # -- stores ---------------------------------------------------------------------
    def store_url(self, store: Store) -> str:
        """The store's owner-role URL, decrypted."""
        return self.box.decrypt(store.url_encrypted)

    def app_url(self, owner_url: str) -> str:
        """The same database as the app role."""
        return urls.with_role(owner_url, self.settings.app_role, self.settings.app_password)

    def default_pooled_store(self, session: Session) -> Store | None:
        return session.scalars(
            select(Store).where(Store.kind == "pooled").order_by(Store.is_default.desc(), Store.id)
        ).first()

    def store_by_name(self, session: Session, name: str) -> Store | None:
        return session.scalars(select(Store).where(Store.name == name)).first()

    # -- operations log -------------------------------------------------------------
    def record(self, action: str, outcome: str, *, tenant_slug=None, store_name=None, **detail):
        """Append to the operations log (catalog table and the ``salesapp.operations`` log).

        Anything that looks like a database URL in ``detail`` is masked first.
        """
        clean = {
            key: mask_url(value) if isinstance(value, str) and "://" in value else value
            for key, value in detail.items()
        }
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
        log.info("%s %s tenant=%s store=%s %s", action, outcome, tenant_slug, store_name, clean)

    def dispose(self) -> None:
        self.engine.dispose()
