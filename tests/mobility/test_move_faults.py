"""A move survives being stopped dead at any step: run again, it ends with the tenant
wholly in one store, every row present once, checksums equal. And while it moves, the
tenant's writes complete before the fence or are refused cleanly; other tenants'
writes never notice."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter

import psycopg
import pytest
import webtest

from salesapp.operations import door, fence, mobility
from salesapp.operations.door import As
from salesapp.operations.models import Store, TenantMove
from salesapp.tenancy import urls
from tests.conftest import REPO, form_with, host_of, sign_in, wait_for
from tests.mobility.conftest import fingerprint, placement_of, store_url, tenant_rows
from tests.mobility.test_moves import api, directory_sees, sale, stock_product

STEPS = list(mobility.STEPS)


def whole_in_one_store(catalog, tenant, expected_store, before):
    """The tenant is in ``expected_store`` only, all of it, with no move pending."""
    name, _, state = placement_of(catalog, tenant.slug)
    assert (name, state) == (expected_store, "active")
    assert fingerprint(catalog, name, tenant.id) == before
    with catalog.session() as session:
        assert session.get(TenantMove, tenant.id) is None
        stores = session.query(Store).all()
        others = [s for s in stores if s.name != name and s.kind == "pooled"]
        dedicated = [s.name for s in stores if s.kind == "dedicated" and tenant.slug in s.name]
    for store in others:
        assert tenant_rows(catalog, store.name, tenant.id) == 0, store.name
    # no half-made dedicated store is left registered
    assert dedicated == ([name] if name.startswith("dedicated-") else [])


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("direction", ["pooled->dedicated", "dedicated->pooled"])
def test_a_crash_after_any_step_then_a_rerun_loses_nothing(
    catalog, make_tenant, move, step, direction
):
    start, to = direction.split("->")
    tenant = make_tenant(start)
    stock_product(catalog, tenant.slug)
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    with pytest.raises(mobility.SimulatedCrash):
        move(tenant.slug, to, fail_at=step)
    flipped = STEPS.index(step) >= STEPS.index("flip")
    name, _, _state = placement_of(catalog, tenant.slug)
    # before the flip the source holds the tenant, after it the target does
    assert (name == tenant.store_name) is not flipped
    assert fingerprint(catalog, name, tenant.id) == before
    result = move(tenant.slug, to)
    assert result.resumed is flipped
    target = placement_of(catalog, tenant.slug)[0]
    assert target != tenant.store_name
    whole_in_one_store(catalog, tenant, target, before)
    if start == "dedicated":  # the source database is gone
        url = urls.with_database(catalog.settings.server_admin_url, "postgres")
        with psycopg.connect(urls.libpq_url(url), autocommit=True) as conn:
            gone = conn.execute(
                "select count(*) from pg_database where datname = %s", (tenant.database,)
            ).fetchone()[0]
        assert gone == 0


@pytest.mark.parametrize("step", ["fence", "copy", "flip"])
def test_kill_9_of_the_mover_then_the_same_command(catalog, make_tenant, ini_file, step):
    """A real SIGKILL of `salesapp tenant move` (the crash hook kills the process right
    after the step), then the same command again."""
    tenant = make_tenant("pooled")
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    command = [
        os.path.join(os.path.dirname(sys.executable), "salesapp"),
        "-c",
        str(ini_file),
        "tenant",
        "move",
        tenant.slug,
        "--to",
        "dedicated",
    ]
    env = {**os.environ, mobility.CRASH_ENV: f"move:{step}"}
    killed = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
    assert killed.returncode == -9, killed.stderr
    env.pop(mobility.CRASH_ENV)
    again = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 0, again.stderr + again.stdout
    assert "Traceback" not in again.stderr
    target = placement_of(catalog, tenant.slug)[0]
    assert target.startswith("dedicated-")
    whole_in_one_store(catalog, tenant, target, before)
    word = "Finished the earlier move" if step == "flip" else "undoing it"
    assert word in again.stdout


def test_in_flight_writes_finish_before_the_copy(catalog, make_tenant, move):
    """A write transaction open when the fence goes up is waited for, and its row moves."""
    tenant = make_tenant("pooled")
    results = {}
    mover = threading.Thread(target=lambda: results.update(done=move(tenant.slug, "dedicated")))
    with door.tenant_connection(catalog, tenant, As.APP) as writer:
        writer.execute("update users set full_name = 'Written in flight'")
        mover.start()
        # fenced (the placement "moving") and waiting for the writer: however long the
        # mover takes to get there on a busy machine, it cannot go past this point
        assert wait_for(lambda: placement_of(catalog, tenant.slug)[2] == "moving", timeout=30)
        time.sleep(0.5)
        assert mover.is_alive()  # still waiting for the writer
    # committed: the move goes on
    mover.join(30)
    with door.tenant_connection(catalog, tenant.slug) as conn:  # wherever it is now
        assert placement_of(catalog, tenant.slug)[0] != tenant.store_name
        assert conn.execute("select full_name from users").fetchone()[0] == "Written in flight"


def test_a_write_that_outlasts_the_wait_calls_the_move_off(catalog, make_tenant, move):
    tenant = make_tenant("pooled")
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    with door.tenant_connection(catalog, tenant, As.APP) as writer:
        writer.execute("update users set full_name = 'slow'")
        with pytest.raises(mobility.MoveError, match="did not finish within 1 s.*called off"):
            move(tenant.slug, "dedicated", wait_seconds=1)
        writer.rollback()
    whole_in_one_store(catalog, tenant, tenant.store_name, before)


def test_writes_hitting_the_fence_get_503_and_write_nothing(app, catalog, make_tenant):
    """The app's cache may not know yet that a move began: the store's fence refuses the
    write anyway, the page or the API says so with Retry-After, nothing is written."""
    tenant = make_tenant("pooled")
    stock_product(catalog, tenant.slug)
    client = api(app, tenant, catalog)
    web = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(tenant)})
    sign_in(web, "admin", tenant.admin_password)
    page = web.get("/customers/new")
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    with psycopg.connect(
        urls.libpq_url(store_url(catalog, tenant.store_name)), autocommit=True
    ) as holder:
        fence.lock(holder, tenant.id, 5)
        res = client.post_json("/api/sales", sale(), status=503)
        assert res.headers["Retry-After"] == "30"
        assert "being moved" in res.json["message"]
        form = form_with(page, "name")
        form["name"] = "Fenced Customer"
        res = form.submit(status=503)
        assert res.headers["Retry-After"] == "30"
        assert "being moved" in res.text
        client.get("/api/products", status=200)  # reads go on
        fence.unlock(holder, tenant.id)
    assert fingerprint(catalog, tenant.store_name, tenant.id) == before
    client.post_json("/api/sales", sale(), status=201)  # and writes come back


def test_during_a_move_no_sale_is_lost_or_doubled(app, catalog, make_tenant, move, tenant_b):
    """Two streams of sales through the app while the moving tenant goes pooled ->
    dedicated: the other tenant's sales all succeed; the moving tenant's either succeed
    (and are in the new store, once each) or get 503 (and are nowhere)."""
    moving = make_tenant("pooled")
    stock_product(catalog, moving.slug)
    stock_product(catalog, tenant_b.slug, sku="B-STREAM")
    # enough rows that the fence holds a while: the stream meets it
    with door.tenant_connection(catalog, moving) as conn:
        conn.execute(
            "insert into customers (tenant_id, id, name) select %s, gen_random_uuid(), "
            "'Customer ' || n from generate_series(1, 40000) n",
            (moving.id,),
        )
    clients = {"moving": api(app, moving, catalog), "other": api(app, tenant_b, catalog)}
    bodies = {"moving": sale(), "other": sale("B-STREAM")}
    statuses = {"moving": Counter(), "other": Counter()}
    stop = threading.Event()

    def stream(who):
        while not stop.is_set():
            res = clients[who].post_json("/api/sales", bodies[who], expect_errors=True)
            statuses[who][res.status_int] += 1
            if res.status_int == 503:
                assert res.headers["Retry-After"]
            time.sleep(0.005)

    before = {
        who: fingerprint(catalog, t.store_name, t.id)["sales"][0]
        for who, t in (("moving", moving), ("other", tenant_b))
    }
    threads = [threading.Thread(target=stream, args=(who,)) for who in statuses]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    result = move(moving.slug, "dedicated")
    assert directory_sees(app, moving.id, result.target)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert set(statuses["other"]) == {201}, statuses
    assert set(statuses["moving"]) <= {201, 503}, statuses
    assert statuses["moving"][503] > 0 and statuses["moving"][201] > 0, statuses
    after = fingerprint(catalog, result.target, moving.id)
    assert after["sales"][0] == before["moving"] + statuses["moving"][201]
    assert fingerprint(catalog, tenant_b.store_name, tenant_b.id)["sales"][0] == (
        before["other"] + statuses["other"][201]
    )
    with door.tenant_connection(catalog, door.TenantAddress(moving.id, result.target)) as conn:
        numbers = [row[0] for row in conn.execute("select number from sales order by number")]
    assert numbers == list(range(1, len(numbers) + 1))  # no gap, no repeat
    print(statuses, result.fence_seconds)
