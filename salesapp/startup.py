"""What the app does before it serves: the embedded server and the demo tenants; and
what production refuses to start without."""

from __future__ import annotations

import dataclasses
import logging
import sys

from .settings import ENVIRONMENT, Settings, SettingsError

log = logging.getLogger(__name__)


def require_catalog_in_production(settings: Settings) -> None:
    """Refuse production without a catalog URL (SettingsError naming the setting).

    Without one, development starts a throwaway embedded PostgreSQL under var/: in
    production that would be tenants' data written where nobody backs it up, on a
    server that dies with the process. pserve and every ``salesapp`` command check this
    before anything starts.
    """
    if settings.production and settings.embedded:
        raise SettingsError(
            "salesapp.production is on but no catalog URL is set: production never runs "
            "on the embedded server under var/. Set "
            f"{ENVIRONMENT['salesapp.catalog_url']} (or salesapp.catalog_url in the ini "
            "file) to the catalog database as the owner role, e.g. "
            "postgresql://salesapp_owner:PASSWORD@db.internal:5432/salesapp_catalog, "
            "then run `salesapp init`"
        )


def prepare(settings: Settings) -> Settings:
    """With no catalog URL, start the embedded PostgreSQL and initialise it (idempotent);
    in production, refuse to (require_catalog_in_production).

    With ``salesapp.demo_tenants`` on (development), make sure the demo tenants exist
    and print their admin credentials once, freshly generated at each start.
    """
    try:
        require_catalog_in_production(settings)
    except SettingsError as exc:
        # pserve would print a traceback around it: the one line says what to do
        raise SystemExit(f"salesapp: {exc}") from None
    if settings.embedded:
        from .operations import bootstrap, embedded

        try:
            admin_url = embedded.start(settings.var_dir / "pgdata")
        except embedded.EmbeddedUnavailable as exc:
            # pserve would print a traceback around it: the one line says what to do
            raise SystemExit(f"salesapp: {exc}") from None
        settings = bootstrap.init_deployment(
            dataclasses.replace(settings, server_admin_url=admin_url)
        )
        # Development keeps every store at head by itself (on real servers operators
        # run `salesapp migrate`); at head this is one query per store.
        from .operations import migrations
        from .operations.catalog import Catalog

        catalog = Catalog(settings)
        try:
            failed = [r for r in migrations.migrate_deployment(catalog) if r.failed]
        finally:
            catalog.dispose()
        for result in failed:
            log.error("store %s did not migrate: %s", result.name, result.error)
    if settings.demo_tenants:
        from .operations.workspace import ensure_demo_tenants

        shown = ensure_demo_tenants(settings, port=settings.demo_port)
        lines = ["", "salesapp demo workspaces (passwords are generated at every start):"]
        lines += [
            f"  {url:<32} user {user:<6} password {password}   ({kind})"
            for url, user, password, kind in shown
        ]
        print("\n".join(lines) + "\n", file=sys.stderr, flush=True)
        if settings.signup_enabled:
            start_signup_worker(settings)
    return settings


def start_signup_worker(settings: Settings) -> None:
    """Development only: make the workspaces of verified sign-ups in this process, as
    `salesapp signup process --watch` does beside the web processes in production."""
    import threading

    from .operations import signups
    from .operations.catalog import Catalog

    def report(outcome) -> None:
        log.warning("sign-up: %s", outcome)

    worker = threading.Thread(
        target=signups.watch, args=(Catalog(settings), report), name="salesapp-signups", daemon=True
    )
    worker.start()
