"""`salesapp store accept | drain` and the placement policy as an operator meets it: a
drained store's tenants are moved out online, one at a time, verified row for row; a
rerun continues where it stopped; refusals are one line. On a deployment of its own."""

from __future__ import annotations

import contextlib
import json
import secrets

import psycopg
import pytest
from sqlalchemy import select

from salesapp.operations import bootstrap, mobility, provisioning
from salesapp.operations.catalog import Catalog
from salesapp.operations.models import Operation, Placement, Store, Tenant
from salesapp.tenancy import urls
from tests.conftest import run_cli, write_ini
from tests.mobility.conftest import fingerprint, placement_of


@pytest.fixture(scope="module")
def deployment(make_deployment, tmp_path_factory):
    """(catalog, ini) of a deployment with two pooled stores, pool1 and pool2."""
    settings = make_deployment()
    catalog = Catalog(settings)
    ini = write_ini(settings, tmp_path_factory.mktemp("policy") / "p.ini")
    url = urls.with_database(bootstrap.owner_server_url(settings), settings.database_name("pool2"))
    run_cli(ini, "store", "add", "pool2", "--kind", "pooled", "--url", url)
    yield catalog, ini
    catalog.dispose()


def create(catalog, store_name):
    slug = f"d{secrets.token_hex(4)}"
    return provisioning.create_tenant(
        catalog,
        provisioning.TenantRequest(
            name=f"Shop {slug}",
            slug=slug,
            admin_email=f"a@{slug}.example.org",
            store_name=store_name,
        ),
    )


def create_cli(ini, *options, expect=0):
    slug = f"c{secrets.token_hex(4)}"
    result = run_cli(
        ini, "tenant", "create", *options, "--", f"Shop {slug}", slug, "a@b.org", expect=expect
    )
    return slug, result.output


def logged(catalog, after_id, *actions):
    with catalog.session() as session:
        return session.execute(
            select(Operation.action, Operation.outcome, Operation.tenant_slug, Operation.detail)
            .where(Operation.id > after_id, Operation.action.in_(actions))
            .order_by(Operation.id)
        ).all()


def last_operation_id(catalog) -> int:
    with catalog.session() as session:
        return session.scalar(select(Operation.id).order_by(Operation.id.desc()).limit(1))


def one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[-1], result.output


@contextlib.contextmanager
def mover_busy(catalog, *tenants):
    """Another process holding the tenants' mover locks, as a live `tenant move` would."""
    conn = psycopg.connect(urls.libpq_url(catalog.settings.catalog_url))
    try:
        for tenant in tenants:
            conn.execute("select pg_advisory_xact_lock(%s, %s)", mobility._mover_key(tenant.id))
        yield
    finally:
        conn.close()


def stores(ini) -> dict[str, dict]:
    """`store list --json`, by store name."""
    return {r["name"]: r for r in json.loads(run_cli(ini, "store", "list", "--json").output)}


def test_drain_moves_every_tenant_out_and_a_rerun_does_nothing(deployment):
    catalog, ini = deployment
    tenants = [create(catalog, "pool1") for _ in range(2)]
    before = {t.slug: fingerprint(catalog, "pool1", t.id) for t in tenants}
    start = last_operation_id(catalog)

    out = run_cli(ini, "store", "drain", "pool1").output
    for i, tenant in enumerate(tenants, 1):
        assert f"[{i}] moving {tenant.slug} to pool2" in out
        assert f"moved {tenant.slug} to pool2:" in out
        assert placement_of(catalog, tenant.slug) == ("pool2", "pooled", "active")
        assert fingerprint(catalog, "pool2", tenant.id) == before[tenant.slug]
        assert not any(rows for rows, _ in fingerprint(catalog, "pool1", tenant.id).values())
    assert "  copy" in out
    assert "verify" in out
    assert out.startswith("Store pool1 is draining: it takes no new tenants\n[1] moving")
    assert "Moved 2 tenants, 0 failed; 0 left in pool1" in out
    entries = logged(catalog, start, "store.drain", "tenant.move")
    assert [(a, o, s) for a, o, s, _ in entries] == [
        ("store.drain", "ok", None),
        ("tenant.move", "ok", tenants[0].slug),
        ("tenant.move", "ok", tenants[1].slug),
    ]
    drained = entries[0].detail
    assert drained["moved"] == [f"{t.slug} -> pool2" for t in tenants]
    assert drained["left"] == 0

    # a rerun: the store is marked and empty; nothing moves
    start = last_operation_id(catalog)
    out = run_cli(ini, "store", "drain", "pool1").output
    assert "(it already was)" in out
    assert "Moved 0 tenants, 0 failed; 0 left in pool1" in out
    assert [a for a, *_ in logged(catalog, start, "store.drain", "tenant.move")] == ["store.drain"]

    rows = stores(ini)
    assert (rows["pool1"]["placement"], rows["pool1"]["next"]) == ("draining", False)
    assert (rows["pool2"]["placement"], rows["pool2"]["next"]) == ("accepting", True)
    table = run_cli(ini, "store", "list").output.splitlines()
    assert "PLACEMENT" in table[0]
    assert "NEXT" in table[0]
    assert any(
        line.startswith("pool2 ") and "accepting" in line and "<- next" in line for line in table
    )
    assert any(line.startswith("pool1 (default)") and "draining" in line for line in table)
    # new tenants go to pool2, though it holds them all; pool1 by name is refused
    slug, out = create_cli(ini)
    assert placement_of(catalog, slug)[0] == "pool2"
    slug = f"c{secrets.token_hex(4)}"
    one_line_error(
        run_cli(
            ini, "tenant", "create", "--store", "pool1", "--", "Shop", slug, "a@b.org", expect=1
        ),
        "pooled store 'pool1' is draining",
    )
    # accepted again, it has the most room
    assert "Store pool1 accepts new tenants" in run_cli(ini, "store", "accept", "pool1").output
    slug, _ = create_cli(ini)
    assert placement_of(catalog, slug)[0] == "pool1"


def test_a_failed_move_is_reported_and_the_drain_goes_on(deployment):
    """A tenant whose move fails stays whole where it is; the others are moved; a rerun
    moves it. Two failures in a row stop the drain."""
    catalog, ini = deployment
    run_cli(ini, "store", "accept", "pool1")
    busy = create(catalog, "pool1")
    others = set(tenants_of(catalog, "pool1")) - {busy.slug}
    with mover_busy(catalog, busy):
        result = run_cli(ini, "store", "drain", "pool1", expect=1)
    assert f"FAILED {busy.slug}: tenant '{busy.slug}' is being moved by another process" in (
        result.output
    )
    assert all(f"moved {slug} to pool2" in result.output for slug in others)
    one_line_error(
        result,
        "store pool1 is not empty yet",
        "1 move failed",
        "run `salesapp store drain pool1` again",
    )
    assert tenants_of(catalog, "pool1") == [busy.slug]
    assert placement_of(catalog, busy.slug) == ("pool1", "pooled", "active")

    out = run_cli(ini, "store", "drain", "pool1").output  # continues where it stopped
    assert f"[1] moving {busy.slug} to pool2" in out
    assert "0 left in pool1" in out
    assert tenants_of(catalog, "pool1") == []

    # two failures in a row stop it before the third tenant
    run_cli(ini, "store", "accept", "pool1")
    first, second, third = (create(catalog, "pool1") for _ in range(3))
    with mover_busy(catalog, first, second):
        result = run_cli(ini, "store", "drain", "pool1", expect=1)
    assert "[3]" not in result.output
    one_line_error(result, "stopped: 2 moves in a row failed")
    assert sorted(tenants_of(catalog, "pool1")) == sorted(t.slug for t in (first, second, third))
    run_cli(ini, "store", "accept", "pool1")


def tenants_of(catalog, store_name) -> list[str]:
    """The subdomains of the tenants placed in a store, oldest first."""
    with catalog.session() as session:
        return list(
            session.scalars(
                select(Tenant.slug)
                .join(Placement, Placement.tenant_id == Tenant.id)
                .join(Store, Store.id == Placement.store_id)
                .where(Store.name == store_name)
                .order_by(Tenant.id)
            )
        )


def test_drain_refusals_are_one_line_and_change_nothing(deployment):
    catalog, ini = deployment
    run_cli(ini, "store", "accept", "pool1")
    run_cli(ini, "store", "accept", "pool2")
    create(catalog, "pool2")
    out = run_cli(ini, "store", "drain", "pool1", "--no-move").output
    assert stores(ini)["pool1"]["placement"] == "draining"
    assert "Store pool1 is draining" in out
    assert "`salesapp store drain pool1` moves them" in out
    # nowhere for pool2's tenants to go: refused before it is even marked
    start = last_operation_id(catalog)
    one_line_error(
        run_cli(ini, "store", "drain", "pool2", expect=1),
        "no other pooled store accepts new tenants",
        "`salesapp store accept NAME`",
    )
    assert stores(ini)["pool2"]["placement"] == "accepting"
    assert [(a, o) for a, o, *_ in logged(catalog, start, "store.drain")] == [
        ("store.drain", "refused")
    ]
    # ...but marking it alone is allowed; then no pooled creation has anywhere to go
    run_cli(ini, "store", "drain", "pool2", "--no-move")
    slug = f"c{secrets.token_hex(4)}"
    one_line_error(
        run_cli(ini, "tenant", "create", "--", "Shop", slug, "a@b.org", expect=1),
        "no pooled store accepts new tenants",
    )
    one_line_error(run_cli(ini, "store", "drain", "nosuch", expect=1), "no store named 'nosuch'")
    one_line_error(run_cli(ini, "store", "accept", "nosuch", expect=1), "no store named 'nosuch'")
    run_cli(ini, "store", "accept", "pool1")
    run_cli(ini, "store", "accept", "pool2")
