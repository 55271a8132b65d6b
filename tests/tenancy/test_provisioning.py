"""Tenant creation: validation before anything is touched, and atomicity."""

import psycopg
import pytest
from sqlalchemy import select, text

from salesapp.operations import bootstrap, door, migrations, provisioning
from salesapp.operations.models import Domain, Operation, Placement, Store, Tenant
from salesapp.tenancy import urls


def request_for(slug, **kw):
    return provisioning.TenantRequest(
        name=kw.pop("name", "Shop"), slug=slug, admin_email=kw.pop("admin_email", "a@b.org"), **kw
    )


def test_pooled_tenant_is_rows_in_the_default_pooled_store(catalog, make_tenant):
    tenant = make_tenant("pooled")
    assert tenant.store_kind == "pooled" and tenant.store_name == "pool1"
    assert tenant.generated_password and len(tenant.admin_password) >= 16
    with catalog.session() as session:
        row = session.scalars(select(Tenant).where(Tenant.slug == tenant.slug)).one()
        assert row.status == "active" and row.max_users == 50
        assert session.get(Placement, row.id).state == "active"


def test_dedicated_tenant_gets_its_own_database_cloned_from_the_template(
    catalog, make_tenant, admin_conn
):
    tenant = make_tenant("dedicated", admin_username="Boss", admin_password="s3cret-pass-word")
    assert tenant.store_kind == "dedicated" and tenant.admin_username == "boss"
    name = provisioning.dedicated_database_name(catalog, tenant.slug)
    assert admin_conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
    with catalog.session() as session:
        store = catalog.store_by_name(session, tenant.store_name)
        assert store.kind == "dedicated" and urls.database_of(catalog.store_url(store)) == name
        # encrypted at rest: the stored text is not the URL
        assert name not in store.url_encrypted and "postgresql" not in store.url_encrypted
    with door.tenant_session(catalog, tenant) as db:
        assert db.scalar(text("select username from users")) == "boss"
        assert db.scalar(text("select count(*) from roles")) == 3
        assert db.scalar(text("select name from locations where is_default")) == "Main"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"slug": "-bad"}, "is not a DNS label"),
        ({"slug": "www"}, "is reserved"),
        ({"slug": "a" * 64}, "is not a DNS label"),
        ({"slug": "ok-shop", "admin_email": "nope"}, "is not a valid address"),
        ({"slug": "ok-shop", "name": "  "}, "name must be 1-200 characters"),
        ({"slug": "ok-shop", "max_users": 0}, "at least 1"),
        ({"slug": "ok-shop", "placement": "elsewhere"}, "pooled or dedicated"),
        ({"slug": "ok-shop", "store_name": "nope"}, "no pooled store named"),
        ({"slug": "ok-shop", "domains": ["shop.example.test"]}, "under a base domain"),
        ({"slug": "ok-shop", "domains": ["not a host"]}, "not a valid host name"),
        (
            {"slug": "ok-shop", "database_url": "mysql://x@y/z", "placement": "dedicated"},
            "only PostgreSQL",
        ),
    ],
)
def test_invalid_requests_are_refused_before_anything_is_written(catalog, kw, message):
    slug = kw.pop("slug")
    with catalog.session() as session:
        before = session.scalar(select(Tenant.id).order_by(Tenant.id.desc()).limit(1))
    with pytest.raises(provisioning.ProvisioningError, match=message):
        provisioning.create_tenant(catalog, request_for(slug, **kw))
    with catalog.session() as session:
        assert session.scalar(select(Tenant.id).order_by(Tenant.id.desc()).limit(1)) == before


def test_taken_subdomain_and_domain_are_refused(catalog, make_tenant):
    tenant = make_tenant("pooled", domains=["taken.example.org"])
    with pytest.raises(provisioning.ProvisioningError, match="is taken"):
        provisioning.create_tenant(catalog, request_for(tenant.slug.upper()))
    with pytest.raises(provisioning.ProvisioningError, match="already belongs"):
        provisioning.create_tenant(
            catalog, request_for("other-slug-x", domains=["TAKEN.example.org."])
        )


def _nothing_left(catalog, admin_conn, slug, server_admin_url):
    with catalog.session() as session:
        assert session.scalar(select(Tenant).where(Tenant.slug == slug)) is None
        assert session.scalar(select(Domain).where(Domain.host == f"{slug}.example.org")) is None
        assert session.scalar(select(Store).where(Store.name == f"dedicated-{slug}")) is None
        failed = session.scalars(
            select(Operation).where(Operation.tenant_slug == slug).order_by(Operation.id)
        ).all()
        assert [op.outcome for op in failed] == ["failed"]
    name = provisioning.dedicated_database_name(catalog, slug)
    assert (
        admin_conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        is None
    )
    # no orphan rows in the pooled store: looked at as the superuser, who sees all rows
    with catalog.session() as session:
        known = set(session.scalars(select(Tenant.id)))
    pool_db = catalog.settings.database_name("pool1")
    with psycopg.connect(urls.libpq_url(urls.with_database(server_admin_url, pool_db))) as conn:
        for table in ("users", "roles", "user_roles", "locations"):
            ids = {row[0] for row in conn.execute(f"select distinct tenant_id from {table}")}
            assert ids and ids <= known, table


@pytest.mark.parametrize("placement", ["pooled", "dedicated"])
@pytest.mark.parametrize("step", ["catalog", "database", "seed", "activate"])
def test_failure_at_any_step_leaves_nothing(catalog, admin_conn, server_admin_url, placement, step):
    slug = f"fail-{placement[:3]}-{step}"
    with pytest.raises(RuntimeError, match=f"injected failure at {step}"):
        provisioning.create_tenant(
            catalog,
            request_for(slug, placement=placement, domains=[f"{slug}.example.org"]),
            fail_at=step,
        )
    _nothing_left(catalog, admin_conn, slug, server_admin_url)


def test_dedicated_at_an_explicit_url_creates_and_migrates(
    catalog, settings, make_tenant, admin_conn
):
    server = bootstrap.owner_server_url(settings)
    url = urls.with_database(server, settings.database_name("explicit_x"))
    tenant = make_tenant("dedicated", database_url=url)
    assert admin_conn.execute(
        "select 1 from pg_database where datname = %s", (settings.database_name("explicit_x"),)
    ).fetchone()
    with catalog.session() as session:
        store = catalog.store_by_name(session, tenant.store_name)
        assert store.schema_revision == migrations.head_revision("tenant")


def test_dedicated_at_a_non_empty_database_is_refused(catalog, settings):
    server = bootstrap.owner_server_url(settings)
    url = urls.with_database(server, settings.database_name("pool1"))
    with pytest.raises(provisioning.ProvisioningError, match="is not empty"):
        provisioning.create_tenant(
            catalog, request_for("nonempty-x", placement="dedicated", database_url=url)
        )
    with catalog.session() as session:
        assert session.scalar(select(Tenant).where(Tenant.slug == "nonempty-x")) is None


def test_unreachable_database_url_is_refused_cleanly(catalog):
    url = "postgresql://nobody@127.0.0.1:1/nowhere"
    with pytest.raises(provisioning.ProvisioningError, match="cannot reach"):
        provisioning.create_tenant(
            catalog, request_for("unreach-x", placement="dedicated", database_url=url)
        )
    with catalog.session() as session:
        assert session.scalar(select(Tenant).where(Tenant.slug == "unreach-x")) is None
