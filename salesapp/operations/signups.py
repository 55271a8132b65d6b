"""Make the workspaces of verified sign-ups (issue 19): what `salesapp signup process`
runs, the back half of self-service sign-up (salesapp.public.signups is the front half,
in the web process, which may not make workspaces).

Each verified sign-up becomes a pooled trial workspace through
:func:`salesapp.operations.provisioning.create_tenant`, exactly as `salesapp tenant
create` makes one (logged in the operations log, undone whole on any failure), with the
signer as its Admin: username ``admin``, their e-mail, and the password they chose
(its Argon2 hash, taken over as it is: the password itself was never kept).

A sign-up is claimed with ``FOR UPDATE SKIP LOCKED`` and its row stays locked while its
workspace is made, so several processors never make one twice. The outcome is written
in the same transaction: ``created`` with the tenant, or ``failed`` with the reason when
the creation is refused by provisioning's checks (the subdomain was taken meanwhile,
say). A creation that fails midway (a store unreachable) is undone by provisioning and
leaves the sign-up ``verified``, as does a processor that dies: the next run makes it,
undoing first what a dead one left (provisioning's abandoned creations).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from ..accounts.models import User
from ..mail import compose, mailer_for
from ..public.models import SignupStatus, signups
from ..public.signups import ADMIN_USERNAME
from ..tenancy.directory import StoreKind
from ..tenancy.errors import first_line
from . import lifecycle, workspace
from .catalog import Catalog
from .provisioning import ProvisioningError, TenantRequest, create_tenant, validate

log = logging.getLogger(__name__)

#: seconds between looks for verified sign-ups in `salesapp signup process --watch`
WATCH_INTERVAL = 2.0
#: how long after its link expired an unused sign-up is kept (for the throttle's and
#: an operator's sake) before it is forgotten
PURGE_AFTER = dt.timedelta(days=7)


@dataclass(frozen=True)
class Outcome:
    """What became of one sign-up."""

    signup_id: int
    slug: str
    email: str
    status: SignupStatus
    failure: str | None = None
    tenant_id: int | None = None
    store_name: str | None = None


def seed_with_password_hash(password_hash: str):
    """The new workspace's seed (salesapp.operations.workspace.seed) with the Admin's
    password hash replaced by the one the signer's password was hashed to."""

    def seed(session, tenant_id, **options):
        others = workspace.seed(session, tenant_id, **options)
        admin = session.scalars(
            select(User).where(
                User.tenant_id == tenant_id, User.username == options["admin_username"]
            )
        ).one()
        admin.password_hash = password_hash
        session.flush()
        return others

    return seed


def process_one(catalog: Catalog, *, mailer=None, seed=None) -> Outcome | None:
    """Make the workspace of the oldest verified sign-up nobody else is making; None
    when there is none. ``seed`` (tests) wraps the seed as provisioning's does."""
    with catalog.engine.connect() as conn, conn.begin():
        row = conn.execute(
            select(signups)
            .where(signups.c.status == SignupStatus.VERIFIED)
            .order_by(signups.c.verified_at, signups.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if row is None:
            return None
        request = TenantRequest(
            name=row.business_name,
            slug=row.slug,
            admin_email=row.email,
            placement=StoreKind.POOLED,
            admin_username=ADMIN_USERNAME,
            trial_days=catalog.settings.trial_days,
        )
        try:  # refused (the subdomain taken meanwhile): the sign-up fails for good
            validate(catalog, request, abandoned_ok=True)
        except ProvisioningError as exc:
            outcome = Outcome(row.id, row.slug, row.email, SignupStatus.FAILED, str(exc))
        else:  # any failure from here is undone whole and raised: the sign-up stays verified
            made = create_tenant(
                catalog, request, seed=seed or seed_with_password_hash(row.password_hash)
            )
            outcome = Outcome(
                row.id,
                row.slug,
                row.email,
                SignupStatus.CREATED,
                tenant_id=made.id,
                store_name=made.store_name,
            )
        conn.execute(
            update(signups)
            .where(signups.c.id == row.id)
            .values(
                status=outcome.status,
                failure=outcome.failure,
                tenant_id=outcome.tenant_id,
                finished_at=func.now(),
                password_hash="",  # the Admin's own now, or of nothing: not kept twice
            )
        )
    _tell(catalog, mailer, row, outcome)
    return outcome


def _tell(catalog: Catalog, mailer, row, outcome: Outcome) -> None:
    """E-mail the signer what became of their sign-up (after it is committed); a mail
    that cannot be sent is logged: the status page says the same."""
    try:
        if outcome.status == SignupStatus.CREATED:
            with catalog.session() as session:
                url = lifecycle.tenant_url(catalog, catalog.tenant(session, row.slug)) + "login"
            subject = f"{row.business_name} is ready"
            text = (
                f"Hello,\n\nYour workspace {row.slug} is ready at {url}.\n\n"
                "Sign in with your e-mail address and the password you chose. Your trial "
                f"lasts {catalog.settings.trial_days} days.\n"
            )
        else:
            subject = f"We could not create {row.slug}"
            text = (
                f"Hello,\n\nWe could not create the workspace {row.slug}: {outcome.failure}.\n"
                "Nothing was kept; sign up again with another subdomain.\n"
            )
        (mailer or mailer_for(catalog.settings)).send_immediately(compose(subject, row.email, text))
    except Exception as exc:
        log.warning("could not e-mail %s about sign-up %s: %s", row.email, row.id, first_line(exc))


def purge(catalog: Catalog) -> int:
    """Forget the sign-ups whose link expired over PURGE_AFTER ago, never followed;
    the number forgotten."""
    with catalog.engine.begin() as conn:
        return conn.execute(
            delete(signups).where(
                signups.c.status == SignupStatus.PENDING,
                signups.c.expires_at < func.now() - PURGE_AFTER,
            )
        ).rowcount


def process(catalog: Catalog, *, mailer=None, limit: int | None = None) -> list[Outcome]:
    """Make the workspaces of every verified sign-up (at most ``limit``), one at a time."""
    purge(catalog)
    outcomes = []
    while limit is None or len(outcomes) < limit:
        outcome = process_one(catalog, mailer=mailer)
        if outcome is None:
            break
        outcomes.append(outcome)
    return outcomes


def watch(catalog: Catalog, report, *, interval: float = WATCH_INTERVAL) -> None:
    """Process sign-ups as they are verified until interrupted; ``report(outcome)``
    is called for each. A failure to reach the catalog is logged and retried."""
    while True:
        try:
            for outcome in process(catalog):
                report(outcome)
        except Exception as exc:  # a store or the catalog went away: the sign-ups wait
            log.warning("processing sign-ups failed: %s; retrying", first_line(exc))
        time.sleep(interval)
