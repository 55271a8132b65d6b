"""The placement policy: a new pooled tenant goes to the accepting pooled store with the
most room (fewest tenants, then the smallest database); a draining store takes none; a
store that does not answer is skipped. On a deployment of its own: its stores and marks
must not steer the session's tenants."""

from __future__ import annotations

import logging
import secrets

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, select, update

from salesapp.operations import bootstrap, placement, provisioning
from salesapp.operations.catalog import Catalog
from salesapp.operations.errors import OperationError
from salesapp.operations.models import Operation, Store, Tenant
from salesapp.operations.placement import Room
from salesapp.operations.storeadmin import add_store, list_stores
from salesapp.tenancy import urls


@pytest.fixture(scope="module")
def deployment(make_deployment):
    """(catalog, name of a second pooled store) on a deployment of this module's own."""
    settings = make_deployment()
    catalog = Catalog(settings)
    url = urls.with_database(bootstrap.owner_server_url(settings), settings.database_name("pool2"))
    add_store(catalog, "pool2", url, "pooled")
    yield catalog
    catalog.dispose()


@pytest.fixture
def catalog(deployment):
    """This module's catalog, both pooled stores accepting again after each test."""
    yield deployment
    with deployment.session() as session:
        session.execute(update(Store).values(accepting=True))
        session.execute(Store.__table__.delete().where(Store.name.like("ghost%")))


def create(catalog, store_name=None, slug=None, **kw):
    slug = slug or f"p{secrets.token_hex(4)}"
    return provisioning.create_tenant(
        catalog,
        provisioning.TenantRequest(
            name=f"Shop {slug}",
            slug=slug,
            admin_email=f"a@{slug}.example.org",
            store_name=store_name,
            **kw,
        ),
    )


def tenants_in(catalog) -> dict[str, int]:
    return {r["name"]: r["tenants"] for r in list_stores(catalog) if r["kind"] == "pooled"}


def tenant_exists(catalog, slug) -> bool:
    with catalog.session() as session:
        return session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None


def test_the_roomiest_key_is_fewest_tenants_then_smallest_database():
    rooms = [
        Room("big", 3, 100, True, id=1),
        Room("full", 5, 1, True, id=2),
        Room("small", 3, 50, True, id=3),
        Room("tied-default", 3, 50, True, is_default=True, id=4),
    ]
    ordered = [room.name for room in sorted(rooms, key=lambda r: r.key)]
    assert ordered == ["tied-default", "small", "big", "full"]


def test_a_new_pooled_tenant_goes_to_the_store_with_most_room(catalog):
    counts = tenants_in(catalog)
    emptier = min(counts, key=lambda name: (counts[name], name != "pool1"))
    fuller = ({"pool1", "pool2"} - {emptier}).pop()
    # give the fuller store one more than the emptier: the next tenant evens them out
    for _ in range(counts[emptier] - counts[fuller] + 1):
        create(catalog, store_name=fuller)
    assert placement.choose_pooled_store(catalog) == emptier
    made = create(catalog)
    assert made.store_name == emptier
    rows = {r["name"]: r for r in list_stores(catalog)}
    assert rows[emptier]["placement"] == "accepting"
    assert rows["pool1"]["default"]
    # as many tenants in each now: the smaller database has the most room
    assert tenants_in(catalog)[emptier] == tenants_in(catalog)[fuller]
    sizes = {name: rows[name]["size_bytes"] for name in ("pool1", "pool2")}
    smaller = min(sizes, key=lambda name: (sizes[name], name != "pool1"))
    assert placement.choose_pooled_store(catalog) == smaller
    assert [name for name, row in rows.items() if row["next"]] == [smaller]
    # the dry run names the same store, and says why
    plan = provisioning.plan(
        catalog, provisioning.TenantRequest(name="Dry", slug="dry-run", admin_email="a@b.org")
    )
    assert f"add its rows to pooled store {smaller} (the accepting one with the most room)" in plan


def test_a_draining_store_gets_no_new_tenants(catalog):
    create(catalog, store_name="pool1")  # pool2 is not the fuller one...
    placement.drain_store(catalog, "pool2", move=False)
    rows = {r["name"]: r for r in list_stores(catalog)}
    assert rows["pool2"]["placement"] == "draining"
    assert not rows["pool2"]["next"]
    assert rows["pool1"]["next"]
    before = tenants_in(catalog)
    for _ in range(2):  # ...yet every new tenant goes to pool1
        assert create(catalog).store_name == "pool1"
    assert tenants_in(catalog)["pool2"] == before["pool2"]
    # by name: refused before anything is made, the dry run too
    slug = f"p{secrets.token_hex(4)}"
    request = provisioning.TenantRequest(
        name="Shop", slug=slug, admin_email="a@b.org", store_name="pool2"
    )
    for attempt in (provisioning.create_tenant, provisioning.plan):
        with pytest.raises(OperationError) as refused:
            attempt(catalog, request)
        message = str(refused.value)
        assert "pooled store 'pool2' is draining and takes no new tenants" in message
        assert "`salesapp store accept pool2`" in message
        assert "\n" not in message
    assert not tenant_exists(catalog, slug)
    # dedicated creation is not the policy's business
    assert create(catalog, placement="dedicated").store_kind == "dedicated"
    # accepted again: it has the fewer tenants, so it is next
    assert placement.accept_store(catalog, "pool2") == {"name": "pool2", "changed": True}
    assert create(catalog).store_name == "pool2"


def test_no_accepting_store_refuses_a_pooled_creation_cleanly(catalog):
    with catalog.session() as session:
        session.execute(update(Store).values(accepting=False))
    slug = f"p{secrets.token_hex(4)}"
    with pytest.raises(OperationError, match="no pooled store accepts new tenants") as refused:
        create(catalog, slug=slug)
    assert "`salesapp store accept NAME`" in str(refused.value)
    assert not tenant_exists(catalog, slug)


def test_a_store_that_does_not_answer_is_skipped_with_a_warning(catalog, caplog):
    """A pooled store with no tenants at all, so the most room, but nobody home."""
    dead = urls.with_database(
        "postgresql://nobody:pw@127.0.0.1:1/x", catalog.settings.database_name("ghost")
    )
    with catalog.session() as session:
        session.add(Store(name="ghost1", kind="pooled", url_encrypted=catalog.box.encrypt(dead)))
    with caplog.at_level(logging.WARNING, logger="salesapp.operations.placement"):
        chosen = placement.choose_pooled_store(catalog)
    assert chosen in ("pool1", "pool2")
    assert "store ghost1 is skipped: it does not answer" in caplog.text
    assert create(catalog).store_name != "ghost1"
    rows = {r["name"]: r for r in list_stores(catalog)}
    assert rows["ghost1"]["reachable"] is False
    assert not rows["ghost1"]["next"]


def test_marks_are_refused_for_other_kinds_and_logged(catalog):
    made = create(catalog, placement="dedicated")
    for action in (placement.accept_store, placement.drain_store):
        with pytest.raises(OperationError, match="only pooled stores accept or drain"):
            action(catalog, made.store_name)
    with pytest.raises(OperationError, match="no store named 'nosuch'"):
        placement.accept_store(catalog, "nosuch")
    placement.drain_store(catalog, "pool1", move=False)
    placement.accept_store(catalog, "pool1")
    with catalog.session() as session:
        logged = session.execute(
            select(Operation.action, Operation.outcome, Operation.store_name, Operation.detail)
            .where(Operation.action.in_(("store.accept", "store.drain")))
            .order_by(Operation.id.desc())
            .limit(2)
        ).all()
    assert [(a, o, s) for a, o, s, _ in logged] == [
        ("store.accept", "ok", "pool1"),
        ("store.drain", "ok", "pool1"),
    ]
    assert logged[0].detail["changed"] is True
    assert logged[1].detail["marked"] is True


def test_the_accepting_column_matches_its_migration(catalog):
    """c0008 made ``stores.accepting`` as the model declares it (type, default, null)."""
    metadata = MetaData(naming_convention=Store.metadata.naming_convention)
    Store.__table__.to_metadata(metadata)
    with catalog.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = [
            diff for diff in compare_metadata(context, metadata) if "accepting" in repr(diff)
        ]
    assert differences == []


def test_one_drain_of_a_store_at_a_time(catalog):
    with catalog.session() as session:
        store_id = catalog.store_named(session, "pool1").id
    with psycopg.connect(urls.libpq_url(catalog.settings.catalog_url)) as other:
        other.execute("select pg_advisory_xact_lock(%s, %s)", (placement.DRAIN_LOCK, store_id))
        with pytest.raises(OperationError, match="is being drained by another command now"):
            placement.drain_store(catalog, "pool1", move=False)
    assert {r["name"]: r["placement"] for r in list_stores(catalog)}["pool1"] == "accepting"
    placement.drain_store(catalog, "pool1", move=False)  # the other drain is gone


def test_a_move_to_pooled_without_a_store_follows_the_policy(catalog):
    """`tenant move --to pooled` with no --store: the accepting pooled store with the most
    room, the tenant's own aside; when no other accepts, refused and nothing moved."""
    from salesapp.operations.mobility import MoveRequest, move_tenant

    made = create(catalog, placement="dedicated")
    target = placement.choose_pooled_store(catalog)
    moved = move_tenant(catalog, MoveRequest(made.slug, "pooled"))
    assert moved.target == target
    other = ({"pool1", "pool2"} - {target}).pop()
    placement.drain_store(catalog, other, move=False)
    with pytest.raises(OperationError) as refused:  # its own store is the only one open
        move_tenant(catalog, MoveRequest(made.slug, "pooled"))
    assert f"already in pooled store '{target}' and no other pooled store accepts" in str(
        refused.value
    )
    with catalog.session() as session:
        _placement, store = catalog.placement(session, catalog.tenant(session, made.slug))
        assert store.name == target
