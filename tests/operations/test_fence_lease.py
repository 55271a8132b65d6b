"""A move is a lease (issue 15, item 5, and item 13's Retry-After): a mover killed before
the flip stops pausing the tenant's writes within seconds, with nobody rerunning it; a
second mover of the tenant is refused while the first lives and takes over at once when
it is gone; while a tenant moves, Retry-After is the pause its mover expects."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select, text

from salesapp.operations import door, mobility
from salesapp.operations.door import As
from salesapp.operations.mobility import MoveError, MoveRequest
from salesapp.operations.models import MovePhase, Operation, Placement, TenantMove
from salesapp.tenancy.directory import MOVE_LEASE_SECONDS
from tests.conftest import REPO, wait_for
from tests.mobility.conftest import fingerprint, placement_of
from tests.mobility.test_moves import api, directory_sees, sale, stock_product


def test_the_expected_pause_grows_with_the_rows_and_is_at_least_a_second():
    assert mobility.expected_pause(0) == 1
    assert mobility.expected_pause(mobility.COPY_ROWS_PER_SECOND * 3 + 1) == 4


def set_move(catalog, tenant, *, beat_age: float, pause: float | None):
    """The catalog as a mover of ``tenant`` (fenced) that beat ``beat_age`` s ago leaves
    it; the placement is touched, so app processes reload the tenant."""
    with catalog.session() as session:
        placement = session.get(Placement, tenant.id)
        move = session.get(TenantMove, tenant.id) or TenantMove(
            tenant_id=tenant.id, source_store_id=placement.store_id, phase=MovePhase.FENCED
        )
        move.heartbeat_at = func.now() - text(f"interval '{beat_age} seconds'")
        move.expected_pause_seconds = pause
        session.add(move)
        placement.state, placement.updated_at = "moving", func.now()


def clear_move(catalog, tenant):
    with catalog.session() as session:
        session.execute(TenantMove.__table__.delete().where(TenantMove.tenant_id == tenant.id))
        placement = session.get(Placement, tenant.id)
        placement.state, placement.updated_at = "active", func.now()


def test_retry_after_is_the_expected_pause_and_a_silent_mover_is_void(app, catalog, make_tenant):
    tenant = make_tenant("pooled")
    stock_product(catalog, tenant.slug)
    client = api(app, tenant, catalog)
    try:
        set_move(catalog, tenant, beat_age=0, pause=2.4)
        assert directory_sees(app, tenant.id, tenant.store_name, state="moving")
        res = client.post_json("/api/sales", sale(), status=503)
        assert res.headers["Retry-After"] == "3"  # 2.4 s expected, in whole seconds
        assert "being moved" in res.json["message"]
        client.get("/api/products", status=200)  # reads go on

        # the mover stopped beating longer ago than the lease: its move is void
        set_move(catalog, tenant, beat_age=MOVE_LEASE_SECONDS + 5, pause=2.4)
        assert wait_for(
            lambda: app.registry.directory.by_id(tenant.id).move_beat_age > MOVE_LEASE_SECONDS
        )
        client.post_json("/api/sales", sale(), status=201)
    finally:
        clear_move(catalog, tenant)


def test_a_stale_heartbeat_in_the_cache_is_read_again_before_a_write_goes_on(
    app, catalog, make_tenant
):
    """The app's copy of the heartbeat ages (beats do not notify); a live mover's move
    stands all the same: the tenant is read again, not waved through."""
    tenant = make_tenant("pooled")
    stock_product(catalog, tenant.slug)
    client = api(app, tenant, catalog)
    try:
        set_move(catalog, tenant, beat_age=MOVE_LEASE_SECONDS + 5, pause=1)
        assert wait_for(lambda: app.registry.directory.by_id(tenant.id).placement_state == "moving")
        # the mover beats again; the app's cached snapshot still holds the old beat
        with catalog.session() as session:
            session.get(TenantMove, tenant.id).heartbeat_at = func.now()
        res = client.post_json("/api/sales", sale(), status=503)
        assert res.headers["Retry-After"] == "1"
    finally:
        clear_move(catalog, tenant)


def salesapp_command(ini_file, *args):
    return [os.path.join(os.path.dirname(sys.executable), "salesapp"), "-c", str(ini_file), *args]


def test_a_mover_killed_before_the_flip_pauses_writes_only_seconds(
    app, catalog, make_tenant, ini_file
):
    """kill -9 of `salesapp tenant move` right after it fenced the tenant: nobody runs
    anything, and the tenant's writes go on within the lease (they were refused with 503
    until someone reran the move)."""
    tenant = make_tenant("pooled")
    stock_product(catalog, tenant.slug)
    client = api(app, tenant, catalog)
    command = salesapp_command(ini_file, "tenant", "move", tenant.slug, "--to", "dedicated")
    env = {**os.environ, mobility.CRASH_ENV: "move:fence"}
    killed = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
    assert killed.returncode == -9, killed.stderr
    killed_at = time.monotonic()
    assert placement_of(catalog, tenant.slug)[2] == "moving"
    assert not mobility.mover_alive(catalog, tenant.id)  # its lock went with it, at once
    assert directory_sees(app, tenant.id, tenant.store_name, state="moving")

    statuses = []
    while time.monotonic() - killed_at < MOVE_LEASE_SECONDS + 10:
        res = client.post_json("/api/sales", sale(), expect_errors=True)
        statuses.append((res.status_int, res.headers.get("Retry-After")))
        if res.status_int == 201:
            break
        time.sleep(0.5)
    resumed_after = time.monotonic() - killed_at
    assert statuses[-1][0] == 201, statuses
    assert resumed_after < MOVE_LEASE_SECONDS + 3, (resumed_after, statuses)
    assert statuses[0] == (503, "1"), statuses  # paused at first: about a second a try
    assert set(statuses[:-1]) == {(503, "1")}, statuses
    sold = len([s for s in statuses if s[0] == 201])

    # the killed move is visible as started and never ended; resume_move undoes it
    with catalog.session() as session:
        logged = session.execute(
            select(Operation.outcome, Operation.finished_at).where(
                Operation.tenant_slug == tenant.slug, Operation.action == "tenant.move"
            )
        ).all()
    assert [tuple(row) for row in logged] == [("started", None)]
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    result = mobility.resume_move(catalog, tenant.slug)
    assert result.undone
    assert placement_of(catalog, tenant.slug) == (tenant.store_name, "pooled", "active")
    after = fingerprint(catalog, tenant.store_name, tenant.id)
    assert after == before and after["sales"][0] == sold  # the sale made meanwhile is kept


def test_one_mover_at_a_time(catalog, make_tenant):
    """While a mover lives (here: waiting for a write in flight), a second `tenant move`
    and resume_move are refused and the first is not disturbed; when it ends, nothing is
    left pending."""
    tenant = make_tenant("pooled")
    outcome = {}

    def first():
        try:
            outcome["result"] = mobility.move_tenant(
                catalog, MoveRequest(tenant.slug, "dedicated", wait_seconds=30)
            )
        except Exception as exc:  # pragma: no cover (the assertion below says it)
            outcome["error"] = exc

    mover = threading.Thread(target=first)
    with door.tenant_connection(catalog, tenant, As.APP) as writer:
        writer.execute("update users set full_name = 'in flight'")
        mover.start()
        assert wait_for(lambda: mobility.mover_alive(catalog, tenant.id), timeout=10)
        time.sleep(1.5)  # it beats while it waits
        assert mobility.mover_alive(catalog, tenant.id)
        with pytest.raises(MoveError, match="being moved by another process"):
            mobility.move_tenant(catalog, MoveRequest(tenant.slug, "dedicated"))
        with pytest.raises(MoveError, match="being moved by another process"):
            mobility.resume_move(catalog, tenant.slug)
        assert (
            "being moved now"
            in mobility.plan_move(catalog, MoveRequest(tenant.slug, "dedicated"))[0]
        )
    mover.join(30)
    assert "error" not in outcome, outcome
    assert placement_of(catalog, tenant.slug)[0] == outcome["result"].target
    assert not mobility.mover_alive(catalog, tenant.id)
    assert mobility.resume_move(catalog, tenant.slug) is None


def test_a_rerun_takes_over_at_once_from_a_mover_that_died(catalog, make_tenant):
    """The heartbeat of a mover that died a moment ago is fresh, but its lock is gone:
    the next run does not wait for the lease to lapse."""
    tenant = make_tenant("pooled")
    with pytest.raises(mobility.SimulatedCrash):
        mobility.move_tenant(catalog, MoveRequest(tenant.slug, "dedicated"), fail_at="copy")
    with catalog.session() as session:
        beat_age = session.scalar(
            select(func.extract("epoch", func.clock_timestamp() - TenantMove.heartbeat_at)).where(
                TenantMove.tenant_id == tenant.id
            )
        )
    assert beat_age < MOVE_LEASE_SECONDS
    assert not mobility.mover_alive(catalog, tenant.id)
    result = mobility.move_tenant(catalog, MoveRequest(tenant.slug, "dedicated"))
    assert placement_of(catalog, tenant.slug)[0] == result.target
