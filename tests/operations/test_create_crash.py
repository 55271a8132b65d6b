"""`tenant create` killed at any step leaves nothing stuck (issue 15, item 4).

A real `salesapp tenant create` process is killed with SIGKILL right after a step (the
crash hook: SALESAPP_CRASH_AT=create:STEP). The half-made tenant then shows as such in
`tenant show` and `tenant list` ("creator gone"), and `tenant create` of the same
subdomain, `tenant delete`, or the doctor's ``provisioning.abandon`` undo it: the
database it made is dropped (after proving it is that database), the rows it seeded
in the pooled store deleted, its catalog rows removed. While a creator lives, its lease
(an advisory lock anyone sees in pg_locks) keeps every other command's hands off.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from sqlalchemy import select

from salesapp.operations import lifecycle, provisioning, workspace
from salesapp.operations.errors import OperationError
from salesapp.operations.models import Domain, Operation, Placement, Store, Tenant
from tests.conftest import REPO, run_cli, wait_for
from tests.operations.test_delete_safety import rows_in

SALESAPP = os.path.join(os.path.dirname(sys.executable), "salesapp")


def create_args(slug, *options):
    return ("tenant", "create", *options, "--", f"Shop {slug}", slug, f"owner@{slug}.example.org")


def kill_create_at(ini_file, step, slug, *options):
    """Run `salesapp tenant create` as a process of its own, killed by SIGKILL after
    ``step``."""
    env = {**os.environ, provisioning.CRASH_ENV: f"create:{step}"}
    done = subprocess.run(
        [SALESAPP, "-c", str(ini_file), *create_args(slug, *options)],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == -9, (done.returncode, done.stdout, done.stderr)


def tenant_row(catalog, slug):
    with catalog.session() as session:
        return session.scalars(select(Tenant).where(Tenant.slug == slug)).first()


def database_oid(admin_conn, name):
    row = admin_conn.execute("select oid from pg_database where datname = %s", (name,)).fetchone()
    return row[0] if row else None


CASES = [
    # (placement, step the creator is killed after, what repairs it)
    ("dedicated", "catalog", "delete"),
    ("dedicated", "made", "create"),  # CREATE DATABASE done, its identity not yet recorded
    ("dedicated", "made", "abandon"),
    ("dedicated", "database", "delete"),
    ("dedicated", "seed", "create"),
    ("dedicated", "activate", "abandon"),
    ("pooled", "seed", "create"),
    ("pooled", "seed", "delete"),
]


@pytest.mark.parametrize(("placement", "step", "repair"), CASES)
def test_kill_9_of_a_creation_is_shown_and_undone(
    catalog, settings, ini_file, admin_conn, server_admin_url, placement, step, repair
):
    slug = f"k{secrets.token_hex(4)}"
    # its custom domain is held by the dead creation, and given back by the undo
    options = ("--domain", f"shop-{slug}.example.org")
    options += ("--dedicated",) if placement == "dedicated" else ()
    database = provisioning.dedicated_database_name(catalog, slug)
    pool = settings.database_name("pool1")

    kill_create_at(ini_file, step, slug, *options)

    dead = tenant_row(catalog, slug)
    assert dead.status == "provisioning"

    # seen, with what to do
    info = json.loads(run_cli(ini_file, "tenant", "show", slug, "--json").output)
    assert info["status"] == "provisioning"
    assert "creator gone" in info["state"] and "salesapp doctor" in info["state"]
    shown = run_cli(ini_file, "tenant", "show", slug).output
    assert "provisioning (creator gone" in shown
    listed = {
        row["slug"]: row for row in json.loads(run_cli(ini_file, "tenant", "list", "--json").output)
    }
    assert "creator gone" in listed[slug]["state"]
    table = run_cli(ini_file, "tenant", "list").output
    assert "provisioning (creator gone" in next(
        line for line in table.splitlines() if line.startswith(slug)
    )

    # the lease went with the creator's connection
    assert wait_for(lambda: not provisioning.creator_alive(catalog, dead.id), timeout=10)
    made_oid = database_oid(admin_conn, database)
    if placement == "dedicated":
        assert (made_oid is not None) is (step != "catalog")
        with catalog.session() as session:
            store = session.get(Store, session.get(Placement, dead.id).store_id)
            assert (store.database_oid is None) is (step in ("catalog", "made"))
    seeded_in = database if placement == "dedicated" else pool
    if step in ("seed", "activate"):
        assert rows_in(server_admin_url, seeded_in, dead.id) > 0
    with catalog.session() as session:  # the killed operation stays visible as started
        (op,) = session.scalars(
            select(Operation).where(
                Operation.tenant_slug == slug, Operation.action == "tenant.create"
            )
        ).all()
        assert (op.outcome, op.finished_at) == ("started", None)
    assert info["creation"] == {"creator_alive": False, "step": dead.status_reason}

    # undone
    if repair == "create":
        plan = run_cli(ini_file, *create_args(slug, *options, "--dry-run")).output
        assert f"undo the interrupted creation of {slug!r}" in plan, plan
        out = run_cli(ini_file, *create_args(slug, *options)).output
        assert f"Undid the interrupted creation of {slug} first:" in out, out
        assert f"Created tenant {slug}" in out
        again = tenant_row(catalog, slug)
        assert again.status == "active" and again.id != dead.id
        with catalog.session() as session:
            hosts = session.scalars(select(Domain.host).where(Domain.tenant_id == again.id))
            assert list(hosts) == [f"shop-{slug}.example.org"]
    elif repair == "delete":
        out = run_cli(ini_file, "tenant", "delete", slug, "--force").output
        assert f"Deleted {slug}, whose creation had been interrupted:" in out, out
        assert tenant_row(catalog, slug) is None
    else:
        done = provisioning.abandon(catalog, dead.id)
        assert any("removed tenant" in line for line in done), done
        assert tenant_row(catalog, slug) is None

    # nothing of the dead creation is left
    with catalog.session() as session:
        assert session.get(Placement, dead.id) is None
        stores = session.scalars(select(Store.name).where(Store.name.like(f"dedicated-{slug}%")))
        assert list(stores) == (
            [f"dedicated-{slug}"] if placement == "dedicated" and repair == "create" else []
        )
    assert rows_in(server_admin_url, pool, dead.id) == 0
    now_oid = database_oid(admin_conn, database)
    if placement == "dedicated" and repair == "create":
        assert now_oid is not None and now_oid != made_oid  # dropped, then made anew
    else:
        assert now_oid is None


def test_a_live_creator_keeps_its_creation_to_itself(catalog):
    """While the creator runs, its lease is seen and respected: nobody undoes its
    creation, nobody creates the same subdomain, show says it is being created."""
    slug = f"live{secrets.token_hex(3)}"
    seen = {}

    def seed(session, tenant_id, **kw):
        seen["alive"] = provisioning.creator_alive(catalog, tenant_id)
        seen["state"] = lifecycle.show_tenant(catalog, slug)["state"]
        for attempt in (
            lambda: provisioning.abandon(catalog, tenant_id),
            lambda: lifecycle.delete_tenant(catalog, slug),
        ):
            with pytest.raises(OperationError, match="still running"):
                attempt()
        with pytest.raises(provisioning.ProvisioningError, match="being created right now"):
            provisioning.create_tenant(
                catalog,
                provisioning.TenantRequest(name="Other", slug=slug, admin_email="x@y.org"),
            )
        return workspace.seed(session, tenant_id, **kw)

    made = provisioning.create_tenant(
        catalog,
        provisioning.TenantRequest(name="Live", slug=slug, admin_email=f"a@{slug}.org"),
        seed=seed,
    )
    assert seen == {"alive": True, "state": "provisioning (being created now)"}
    assert tenant_row(catalog, slug).status == "active"
    assert not provisioning.creator_alive(catalog, made.id)  # the lease ended with it
    with pytest.raises(OperationError, match="is active: it is not being created"):
        provisioning.abandon(catalog, made.id)


def test_an_undo_drops_no_database_it_cannot_prove_it_made(
    catalog, ini_file, admin_conn, server_admin_url
):
    """The store row of a dead creation records the identity of the database it made;
    a database of that name with another identity (made by someone else since) is not
    dropped."""
    slug = f"k{secrets.token_hex(4)}"
    database = provisioning.dedicated_database_name(catalog, slug)
    kill_create_at(ini_file, "database", slug, "--dedicated")
    dead = tenant_row(catalog, slug)
    assert wait_for(lambda: not provisioning.creator_alive(catalog, dead.id), timeout=10)
    with catalog.session() as session:
        store = session.get(Store, session.get(Placement, dead.id).store_id)
        recorded = store.database_oid
        store.database_oid = recorded + 1_000_000  # as if the name now meant another database

    with pytest.raises(OperationError, match="not the database the store row names"):
        provisioning.abandon(catalog, dead.id)
    assert database_oid(admin_conn, database) == recorded
    assert tenant_row(catalog, slug).status == "provisioning"

    with catalog.session() as session:
        session.get(Store, store.id).database_oid = recorded
    provisioning.abandon(catalog, dead.id)
    assert database_oid(admin_conn, database) is None
    assert tenant_row(catalog, slug) is None
