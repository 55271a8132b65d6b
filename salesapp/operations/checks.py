"""The pre-deploy check: one PASS/FAIL line per fact, each FAIL with its fix."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from ..settings import DEVELOPMENT_SECRET
from ..tenancy import urls
from ..tenancy.directory import PLACEMENT_KINDS
from ..tenancy.errors import first_line
from . import bootstrap, doctor, migrations
from .catalog import Catalog
from .models import Store
from .probe import ProbeResult, probe_store
from .rls import audit_problems, audit_store, role_problems


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""
    fix: str = ""


def _database_checks(label: str, url: str, kind: str, app_role: str) -> list[Check]:
    """Reachable, at head, and (for stores) RLS forced with both policies everywhere."""
    engine = create_engine(
        urls.sqlalchemy_url(url), poolclass=NullPool, connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as conn:
            checks = [Check(f"{label} reachable", True)]
            revision, head = migrations.current_revision(conn), migrations.head_revision(kind)
            checks.append(
                Check(
                    f"{label} at head",
                    revision == head,
                    f"at {revision}, head is {head}",
                    "run `salesapp migrate`",
                )
            )
            if kind == "tenant":
                rows = audit_store(conn)
                problems = audit_problems(rows, app_role)
                if not rows:
                    problems.append("no tenant tables found")
                checks.append(
                    Check(
                        f"{label} row-level security",
                        not problems,
                        "; ".join(problems) or f"{len(rows)} tables forced, both policies",
                        "run `salesapp migrate`; if it persists, restore the policies from "
                        "alembic/tenant",
                    )
                )
            problems = role_problems(conn, app_role)
            checks.append(
                Check(
                    f"{label} app role least-privileged",
                    not problems,
                    "; ".join(problems),
                    f"ALTER ROLE {app_role} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
                    "give owned objects to the owner role; memberships and privileges beyond "
                    "DML: `salesapp doctor --yes` revokes them",
                )
            )
            return checks
    except Exception as exc:
        return [
            Check(
                f"{label} reachable",
                False,
                first_line(exc),
                "check the server runs and the URL in the catalog is right",
            )
        ]
    finally:
        engine.dispose()


def _probe_check(result: ProbeResult) -> Check:
    """One store's isolation probe as a check line."""
    name = f"store {result.store} isolation probe"
    if result.error:
        return Check(
            name,
            False,
            "; ".join([*result.failures, result.error]),
            "make `salesapp check` pass without --probe (app role, migrations), then probe again"
            if result.reached
            else "check the server runs, the store's URL in the catalog and the app role's "
            "password (salesapp.app_password)",
        )
    if result.failures:
        return Check(
            name,
            False,
            "; ".join(result.failures),
            "isolation is broken for the app role: restore row-level security and the "
            "policies of the tables named (as in alembic/tenant) and the keys that include "
            "tenant_id, and treat the store's tenants' data as exposed until this passes",
        )
    return Check(
        name,
        True,
        f"as {result.role}, {result.passed} checks on {result.tables} tables, nothing kept",
    )


def doctor_checks(catalog: Catalog) -> list[Check]:
    """One line per kind of inconsistent state ``salesapp doctor`` finds (a crash's
    leftovers, duplicate stores, stray databases, ...): FAIL while any is there."""
    fix = "see them with `salesapp doctor`; repair them with `salesapp doctor --yes`"
    try:
        problems = doctor.find_problems(catalog)
    except Exception as exc:
        return [Check("doctor: inconsistent states", False, first_line(exc), fix)]
    checks = []
    for kind in doctor.ProblemKind:
        found = [p.description for p in problems if p.kind == kind]
        checks.append(
            Check(
                f"doctor: {doctor.KIND_TITLES[kind]}",
                not found,
                f"{len(found)} found: " + "; ".join(found) if found else "",
                fix,
            )
        )
    return checks


def run_checks(catalog: Catalog, probe: bool = False) -> list[Check]:
    """Every check; with ``probe``, also the live isolation probe of every store (see
    probe.py), which connects as the app role."""
    settings = catalog.settings
    checks = _database_checks("catalog", settings.catalog_url, "control", settings.app_role)
    template = urls.with_database(
        bootstrap.owner_server_url(settings), bootstrap.template_database(settings)
    )
    checks += _database_checks("template", template, "tenant", settings.app_role)
    if checks[0].ok:
        with catalog.session() as session:
            stores = session.scalars(
                select(Store).where(Store.kind.in_(PLACEMENT_KINDS)).order_by(Store.name)
            ).all()
            targets = [(s.name, s.kind, catalog.store_url(s)) for s in stores]
        for name, kind, url in targets:
            checks += _database_checks(f"store {name}", url, "tenant", settings.app_role)
            if probe:
                result = probe_store(name, kind, catalog.app_url(url), settings)
                checks.append(_probe_check(result))
        checks += doctor_checks(catalog)
    elif probe:
        checks.append(
            Check(
                "isolation probe",
                False,
                "the catalog cannot be read, so the stores to probe are unknown",
                "make the catalog reachable, then run the probe again",
            )
        )

    production = settings.production
    checks.append(
        Check(
            "secret key not a development value",
            not production
            or (settings.secret_key != DEVELOPMENT_SECRET and len(settings.secret_key) >= 32),
            "production" if production else "development: not required",
            "set SALESAPP_SECRET_KEY to a random string of 32+ characters",
        )
    )
    checks.append(
        Check(
            "secure cookies",
            not production or settings.secure_cookies,
            "production" if production else "development: not required",
            "set salesapp.secure_cookies = true (and serve over HTTPS)",
        )
    )
    checks.append(
        Check(
            "tenancy on",
            settings.tenancy,
            "on" if settings.tenancy else f"off: only {settings.single_tenant} is served",
            "remove salesapp.tenancy = off: it is the benchmark's baseline, not a deployment",
        )
    )
    real_domains = [d for d in settings.base_domains if d not in ("localhost", "example.test")]
    checks.append(
        Check(
            "base domains configured",
            not production or bool(real_domains),
            ", ".join(settings.base_domains),
            "set SALESAPP_BASE_DOMAINS to the domain(s) tenants live under",
        )
    )
    return checks
