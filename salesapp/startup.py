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
    and print their admin credentials once, freshly generated at each start, and start
    the job worker (start_job_worker).
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
        lines += operator_lines(settings)
        print("\n".join(lines) + "\n", file=sys.stderr, flush=True)
        if settings.signup_enabled:
            start_signup_worker(settings)
        start_job_worker(settings)
    return settings


def operator_lines(settings: Settings) -> list[str]:
    """Development only: the demo operator's new credentials for the operator console."""
    from .operations.catalog import Catalog
    from .operations.operators import console_host, ensure_demo_operator

    catalog = Catalog(settings)
    try:
        made = ensure_demo_operator(catalog)
    finally:
        catalog.dispose()
    port = f":{settings.demo_port}" if settings.demo_port else ""
    host = console_host(settings)
    return [
        "",
        "the operator console (the password must be changed at the first sign-in; the",
        "code comes from an authenticator app given the secret or the URI):",
        f"  http://{host}{port}/operator   operator {made.name}   password {made.password}",
        f"  two-factor secret {made.secret}",
        f"  {made.uri}",
    ]


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


#: development's job worker, once per process (pserve --reload starts a new process)
_job_worker = None


def start_job_worker(settings: Settings):
    """Development only: start `salesapp worker` as a child process (never a thread of
    the web process: a move or a backup must not share its fate), as operators run it
    beside the web processes in production (docs/jobs.md). Once per process; it is
    stopped at exit, and stops by itself when this process ends without exiting (pserve
    --reload kills its old process: the old worker sees its parent gone within a second
    and stops, and the new process starts a new one). Returns the child, or None when
    the settings name no ini file (start `salesapp worker` by hand then)."""
    import atexit
    import os
    import subprocess

    global _job_worker
    if _job_worker is not None and _job_worker.poll() is None:
        return _job_worker
    ini = settings.raw.get("__file__")
    if not ini or not os.path.exists(ini):
        log.warning("no ini file to start the job worker with: run `salesapp worker`")
        return None
    command = "import sys; from salesapp.cli import main; sys.exit(main())"
    _job_worker = subprocess.Popen(
        [sys.executable, "-c", command, "-c", ini, "worker", "--parent-pid", str(os.getpid())],
        stdin=subprocess.DEVNULL,
    )
    atexit.register(_stop_job_worker, _job_worker)
    log.warning("job worker started (pid %s): `salesapp worker`", _job_worker.pid)
    return _job_worker


def _stop_job_worker(child) -> None:
    import subprocess

    if child.poll() is None:
        child.terminate()  # SIGTERM: a job it runs is marked failed, then it stops
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
