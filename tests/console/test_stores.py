"""The console's store pages and check: every store measured live (a store that is down
is a row saying why, fast), the schema against head, the promotion advice with its
figures, the actions (accept, drain and migrate as jobs) for operators only with their
CSRF token, and `salesapp check` with its probe on demand."""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import delete, select, update

from alembic import command
from salesapp.formatting import size
from salesapp.operations import bootstrap, jobs, migrations, storeinfo
from salesapp.operations.models import Operation, Store
from salesapp.operations.stats import tenant_stats
from salesapp.operations.storeadmin import add_store
from salesapp.tenancy import urls
from salesapp.tenancy.directory import StoreKind


def store_row(catalog, name) -> Store:
    with catalog.session() as session:
        return session.scalars(select(Store).where(Store.name == name)).one()


def set_accepting(catalog, name, accepting: bool) -> None:
    with catalog.session() as session:
        session.execute(update(Store).where(Store.name == name).values(accepting=accepting))


def forget_store(catalog, name) -> None:
    with catalog.session() as session:
        session.execute(delete(Store).where(Store.name == name))


@pytest.fixture
def silent_server():
    """The address of a server that takes the TCP connection and never answers (a host
    that hangs): only a timeout ends a connection to it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def add_dead_store(catalog, address: str) -> str:
    """A pooled store (draining: nothing is ever placed there) at ``address``, where no
    PostgreSQL answers."""
    name = f"dead-{secrets.token_hex(3)}"
    with catalog.session() as session:
        session.add(
            Store(
                name=name,
                kind=StoreKind.POOLED,
                url_encrypted=catalog.box.encrypt(f"postgresql://nobody:pw@{address}/nope"),
                accepting=False,
            )
        )
    return name


@pytest.fixture
def refused_store(catalog):
    """A store on a closed port (its server is down); forgotten at the end."""
    name = add_dead_store(catalog, "127.0.0.1:1")
    yield name
    forget_store(catalog, name)


@pytest.fixture
def hung_store(catalog, silent_server):
    """A store on a server that hangs; forgotten at the end."""
    name = add_dead_store(catalog, f"127.0.0.1:{silent_server}")
    yield name
    forget_store(catalog, name)


@pytest.fixture
def behind_store(catalog, settings):
    """A pooled store (draining) one revision behind head; forgotten at the end (its
    database goes with the session's deployment)."""
    name = f"behind-{secrets.token_hex(3)}"
    database = settings.database_name(name.replace("-", "_"))
    url = urls.with_database(bootstrap.owner_server_url(settings), database)
    add_store(catalog, name, url, StoreKind.POOLED, accepting=False)
    head = migrations.head_revision("tenant")
    previous = (
        ScriptDirectory.from_config(migrations.alembic_config("tenant"))
        .get_revision(head)
        .down_revision
    )
    command.downgrade(
        migrations.alembic_config("tenant", url, settings.app_role, settings=settings), previous
    )
    yield name, previous
    forget_store(catalog, name)


# -- the service -------------------------------------------------------------------------


def test_a_store_that_is_down_is_a_row_saying_why_within_the_timeout(
    catalog, refused_store, hung_store
):
    started = time.monotonic()
    infos = {info.name: info for info in storeinfo.store_infos(catalog)}
    elapsed = time.monotonic() - started
    # measured side by side: the hung store's timeout, not one per store
    assert elapsed < storeinfo.CONNECT_TIMEOUT + 2.5, elapsed
    down, hung = infos[refused_store], infos[hung_store]
    for info in (down, hung):
        assert not info.reachable
        assert info.health.startswith("unreachable: ")
        assert info.revision_status is None
        assert info.size_bytes is None
        assert info.placement == "draining"
    assert "127.0.0.1" in down.error
    assert "refused" in down.error
    assert "timeout" in hung.error
    healthy = next(i for i in infos.values() if i.default)
    assert healthy.reachable
    assert healthy.round_trip_ms > 0
    assert healthy.server_version
    assert healthy.server_version[0].isdigit()
    assert healthy.revision_status == "at head"
    assert healthy.revision == healthy.head
    assert healthy.size_bytes > 0
    assert healthy.placement == "accepting"


def test_a_store_behind_head_says_so(catalog, behind_store, tenant_a):
    name, previous = behind_store
    info = storeinfo.store_info(catalog, name)
    assert info.reachable
    assert info.revision == previous
    assert info.revision_status == "behind"
    assert info.head == migrations.head_revision("tenant")
    assert info.migration_status == "ok"  # what the catalog last recorded
    assert info.tenants == 0
    pool = storeinfo.store_info(catalog, tenant_a.store_name)
    assert pool.tenants >= 1
    assert pool.connection_count >= 0
    # no password is ever shown: masked, or none where the server trusts its clients
    assert urls.parse(pool.url).password in (None, "", "***")
    for secret in (catalog.settings.owner_password, catalog.settings.app_password):
        assert not secret or secret not in pool.url
    assert storeinfo.revision_status(None, "h", {"h"}) == "not migrated"
    assert storeinfo.revision_status("zz", "h", {"h"}) == "unknown revision"


# -- the pages ---------------------------------------------------------------------------


def test_the_stores_page_shows_each_store_and_the_advice_on_demand(
    console_client, refused_store, tenant_a
):
    client = console_client("viewer")
    page = client.get("/operator/stores")
    pool = page.html.select_one(f"tr[data-store={tenant_a.store_name}]")
    assert pool.select_one("[data-health=ok]")
    assert pool.select_one("[data-revision='at head']")
    assert pool.select_one("[data-placement=accepting]")
    down = page.html.select_one(f"tr[data-store={refused_store}]")
    assert down.select_one("[data-health=unreachable]")
    assert "refused" in down.select_one("[data-testid=unreachable-reason]").get_text()
    assert not page.html.select("[data-testid=advice-summary]")  # counted only when asked
    advised = client.get("/operator/stores", params={"advice": "1"})
    summary = advised.html.select_one("[data-testid=advice-summary]").get_text(" ", strip=True)
    assert "counted; none is past a threshold" in summary
    # the unreachable stores' tenants (none) do not stop the others being counted
    assert "1,000,000 rows" in advised.text


def test_a_store_page_shows_its_tenants_figures_and_advice(catalog, console_client, tenant_a):
    client = console_client("viewer")
    page = client.get(f"/operator/stores/{tenant_a.store_name}")
    row = page.html.select_one(f"tr[data-tenant={tenant_a.slug}]")
    counted = {r["slug"]: r for r in tenant_stats(catalog, store=tenant_a.store_name)}
    mine = counted[tenant_a.slug]
    assert row.select_one("[data-verdict]")["data-verdict"] == "stay pooled"
    reasons = {li["data-measure"]: li.get_text(" ", strip=True) for li in row.select("li")}
    assert reasons["rows"] == f"{mine['total_rows']:,} rows (threshold 1,000,000)"
    assert reasons["size_mb"] == f"{size(mine['approx_bytes'])} (threshold 1.0 GB)"
    assert "new rows a day" in reasons["new_rows_per_day"]
    assert f"of the rows of store {tenant_a.store_name}" in reasons["share_of_store"]
    assert page.html.select_one("#migration [data-revision='at head']")
    # a viewer is shown no actions
    assert not page.html.select("form#drain-form, form#migrate-form, form#accept-form")
    assert client.get("/operator/stores/no-such-store", status=404)


def test_a_viewer_cannot_accept_drain_or_migrate(catalog, console_client, behind_store):
    name, _ = behind_store
    client = console_client("viewer")
    for action in ("accept", "drain", "migrate"):
        page = client.post(
            f"/operator/stores/{name}/{action}", {"csrf_token": _token(client)}, status=403
        )
        assert "Viewers can look but not change" in page.text
    assert store_row(catalog, name).accepting is False
    assert not jobs.list_jobs(catalog, status="queued")


def _token(client) -> str:
    """The client's CSRF token, from the sign-out form every console page carries."""
    return client.get("/operator/stores").html.select_one("#sign-out input[name=csrf_token]")[
        "value"
    ]


def test_changes_need_the_csrf_token(catalog, console_client, behind_store):
    name, _ = behind_store
    client = console_client()
    for action in ("accept", "drain", "migrate"):
        client.post(f"/operator/stores/{name}/{action}", {}, status=400)
        client.post(f"/operator/stores/{name}/{action}", {"csrf_token": "forged"}, status=400)
    assert store_row(catalog, name).accepting is False
    assert not jobs.list_jobs(catalog, status="queued")


def test_an_operator_accepts_a_store_and_migrates_it_as_a_job(
    catalog, console_client, behind_store
):
    name, _previous = behind_store
    client = console_client()
    page = client.get(f"/operator/stores/{name}")
    assert page.html.select_one("#migration [data-revision=behind]")
    try:
        done = page.forms["accept-form"].submit(status=303).follow()
        assert f"Store {name} accepts new tenants." in done.text
        assert store_row(catalog, name).accepting is True
    finally:
        set_accepting(catalog, name, False)  # no other test's tenant may land there
    with catalog.session() as session:
        logged = session.scalars(
            select(Operation).where(
                Operation.action == "store.accept", Operation.store_name == name
            )
        ).one()
    assert logged.actor == client.operator.name
    assert logged.outcome == "ok"

    queued = page.forms["migrate-form"].submit(status=303)
    job_id = int(queued.location.rstrip("/").split("/")[-1])
    assert queued.location.endswith(f"/operator/jobs/{job_id}")
    job = jobs.job(catalog, job_id)
    assert job["kind"] == "migrate"
    assert job["params"] == {"store": name}
    assert job["actor"] == client.operator.name
    jobs.work(catalog, once=True)
    assert jobs.job(catalog, job_id)["status"] == "succeeded"
    assert storeinfo.store_info(catalog, name).revision_status == "at head"


def test_a_drain_is_queued_and_its_refusal_shown(catalog, console_client, behind_store):
    name, _ = behind_store
    client = console_client()
    page = client.get(f"/operator/stores/{name}")
    queued = page.forms["drain-form"].submit(status=303)
    job_id = int(queued.location.rstrip("/").split("/")[-1])
    assert jobs.job(catalog, job_id)["kind"] == "drain"
    # a second drain of the store while the first is queued is refused, on the store page
    again = page.forms["drain-form"].submit(status=303).follow()
    assert again.html.select_one("p.error")
    jobs.work(catalog, once=True)
    assert jobs.job(catalog, job_id)["status"] == "succeeded"
    assert store_row(catalog, name).accepting is False


def test_the_check_page_shows_every_finding_and_probes_on_demand(
    console_client, refused_store, tenant_a
):
    client = console_client("viewer")
    page = client.get("/operator/check")
    rows = {tr["data-check"]: tr["data-ok"] for tr in page.html.select("tr[data-check]")}
    assert rows["catalog reachable"] == "pass"
    assert rows[f"store {refused_store} reachable"] == "fail"
    failing = page.html.select_one(f"tr[data-check='store {refused_store} reachable']")
    cells = [td.get_text(" ", strip=True) for td in failing.select("td")]
    assert "refused" in cells[2]
    assert "check the server runs" in cells[3]
    assert "failed" in page.html.select_one("[data-testid=check-summary]").get_text()
    assert not any(name.startswith("isolation probe") for name in rows)
    probed = page.forms["probe-form"].submit()
    probes = {
        tr["data-check"]: tr["data-ok"]
        for tr in probed.html.select("tr[data-check]")
        if tr["data-check"].endswith("isolation probe")
    }
    assert probes[f"store {tenant_a.store_name} isolation probe"] == "pass"
    assert probes[f"store {refused_store} isolation probe"] == "fail"
