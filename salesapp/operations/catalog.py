"""Access to the catalog for operations (console scripts, start-up, tests).

Operations connect as the owner role; web requests read the catalog through the
directory (directory.py) as the app role.
"""

from __future__ import annotations

import copy
import getpass
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from ..settings import Settings
from ..tenancy import urls
from ..tenancy.crypto import SecretBox, mask_secrets
from ..tenancy.directory import StoreKind, TenantStatus
from ..tenancy.errors import first_line
from ..tenancy.stores import connect_args
from .errors import NotFound, OperationError
from .models import Operation, OperationOutcome, Placement, Store, Tenant

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


@dataclass
class OperationRecord:
    """An operation being logged (Catalog.operation): what the block may add to."""

    action: str
    tenant_slug: str | None
    store_name: str | None
    detail: dict = field(default_factory=dict)
    id: int | None = None


class Catalog:
    """The catalog database as seen by an operator: sessions, secrets, the operations log."""

    def __init__(self, settings: Settings):
        if not settings.catalog_url:
            raise ValueError(
                "no catalog URL: start the embedded server or set SALESAPP_CATALOG_URL"
            )
        self.settings = settings
        self.box = SecretBox(settings.secret_key, settings.previous_secret_keys)
        self.engine = create_engine(
            urls.sqlalchemy_url(settings.catalog_url),
            poolclass=NullPool,
            # the catalog too may sit behind a transaction-mode pooler
            connect_args=connect_args(settings),
        )
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.actor: str | None = None
        _ensure_file_log(settings.log_dir)

    def acting_as(self, actor: str) -> Catalog:
        """The same catalog (engine, sessions, secrets) whose operations log names
        ``actor`` instead of the OS user: what the console and the job worker run in an
        operator's name is logged with the operator's name."""
        other = copy.copy(self)
        other.actor = actor
        return other

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

    def pooled_store(self, session: Session, name: str | None) -> Store | None:
        """The pooled store named ``name`` (NotFound if none), or the default one."""
        return self.store_named(session, name) if name else self.default_pooled_store(session)

    def store_by_name(self, session: Session, name: str) -> Store | None:
        return session.scalars(select(Store).where(Store.name == name)).first()

    def store_named(self, session: Session, name: str) -> Store:
        store = self.store_by_name(session, name)
        if store is None:
            raise NotFound(f"no store named {name!r}; see `salesapp store list`")
        return store

    # -- operations log --------------------------------------------------------------
    def actor_name(self) -> str:
        """Who the operations log names: the operator (acting_as), else the OS user."""
        if self.actor:
            return self.actor
        try:
            return getpass.getuser()
        except Exception:
            return "unknown"

    def record(self, action: str, outcome: str, *, tenant_slug=None, store_name=None, **detail):
        """Append one finished entry to the operations log: the catalog table and
        logs/tenant_operations.log. Every password in ``detail`` (in URLs or
        ``password=``) is masked first. Work that takes time is logged with
        :meth:`operation` instead, which records its start too."""
        clean = _mask(detail)
        with self.session() as session:
            session.add(
                Operation(
                    actor=self.actor_name(),
                    action=action,
                    tenant_slug=tenant_slug,
                    store_name=store_name,
                    outcome=outcome,
                    detail=clean,
                    finished_at=func.now(),
                )
            )
        self._log(action, outcome, tenant_slug, store_name, clean)

    def _log(self, action, outcome, tenant_slug, store_name, detail) -> None:
        log.info(
            "%s %s actor=%s tenant=%s store=%s %s",
            action,
            outcome,
            self.actor_name(),
            tenant_slug,
            store_name,
            detail,
        )

    @contextmanager
    def operation(self, action: str, *, tenant_slug=None, store_name=None, **detail):
        """Log an operation before it starts and its outcome when it ends, on one row.

        The row is committed as ``started`` before the block runs, so an operation killed
        midway stays visible in the log (``started``, no ``finished_at``); what it left
        half-done is what ``salesapp doctor`` finds and repairs. The block may add to the
        record through the yielded :class:`OperationRecord` (``record.detail[...] = ...``,
        ``record.tenant_slug = ...``). On exit the row gets
        its outcome: ``ok``; ``refused`` for an OperationError (an expected refusal: what
        was wrong and what to do); ``failed`` for anything else, with the error's first
        line. The exception goes on to the caller unchanged.
        """
        record = OperationRecord(action, tenant_slug, store_name, dict(detail))
        with self.session() as session:
            row = Operation(
                actor=self.actor_name(),
                action=action,
                tenant_slug=tenant_slug,
                store_name=store_name,
                outcome=OperationOutcome.STARTED,
                detail=_mask(record.detail),
            )
            session.add(row)
            session.flush()
            record.id = row.id
        self._log(action, OperationOutcome.STARTED, tenant_slug, store_name, _mask(detail))
        outcome, error = OperationOutcome.OK, None
        try:
            yield record
        except OperationError as exc:
            outcome, error = OperationOutcome.REFUSED, str(exc)
            raise
        except BaseException as exc:
            outcome, error = OperationOutcome.FAILED, first_line(exc)
            raise
        finally:
            self._finish(record, outcome, error)

    def _finish(self, record: OperationRecord, outcome: str, error: str | None) -> None:
        detail = dict(record.detail)
        if error:
            detail["error"] = error[:500]
        clean = _mask(detail)
        try:
            with self.session() as session:
                row = session.get(Operation, record.id)
                row.outcome, row.detail, row.finished_at = outcome, clean, func.now()
                row.tenant_slug = record.tenant_slug
                row.store_name = record.store_name
        except Exception as exc:  # the catalog went away: the row stays "started"
            log.warning("could not record the end of %s: %s", record.action, first_line(exc))
        self._log(record.action, outcome, record.tenant_slug, record.store_name, clean)

    def dispose(self) -> None:
        self.engine.dispose()
