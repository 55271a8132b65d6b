"""Migration t0009 on a store holding refunds made by the old per-refund rounding:
impossible rows are restated by cumulative quantity (the old amounts kept in the audit
trail), every line's refunded amount is backfilled, and the bounds are validated CHECK
constraints with row-level security still forced."""

import secrets
import uuid
from decimal import Decimal as D

import psycopg
import pytest

from salesapp.operations import bootstrap, migrations
from salesapp.tenancy import urls
from salesapp.tenancy.binding import bind

BOUNDED = ("sales", "sale_lines", "refunds", "refund_lines")


@pytest.fixture
def store_at_t0008(settings):
    """A new store database at the revision before t0009; dropped afterwards."""
    server = bootstrap.owner_server_url(settings)
    name = settings.database_name("t0008_" + secrets.token_hex(3))
    with bootstrap.admin_connection(server, settings=settings) as conn:
        bootstrap.create_database(conn, name, settings.owner_role, settings.app_role)
    url = urls.with_database(server, name)
    migrations.upgrade("tenant", url, settings.app_role, revision="t0008", settings=settings)
    yield url
    with bootstrap.admin_connection(server, settings=settings) as conn:
        bootstrap.drop_database(conn, name)


class Legacy:
    """Writes a tenant's rows as the old code did (as the owner, bound to the tenant)."""

    def __init__(self, conn, tenant_id):
        self.conn, self.tid = conn, tenant_id
        bind(conn, tenant_id)
        self.user, self.location, self.product = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        conn.execute(
            "insert into users (tenant_id, id, username, password_hash) values (%s, %s, 'u', 'x')",
            (tenant_id, self.user),
        )
        conn.execute(
            "insert into locations (tenant_id, id, name) values (%s, %s, 'Shop')",
            (tenant_id, self.location),
        )
        conn.execute(
            "insert into products (tenant_id, id, sku, name, unit_price) "
            "values (%s, %s, 'A', 'A', 1.00)",
            (tenant_id, self.product),
        )
        self.numbers = 0

    def sale(self, quantity, total, refunds) -> tuple[uuid.UUID, list[uuid.UUID]]:
        """A sale of one line and its refunds [(quantity, amount)], in order; returns
        (sale line id, refund ids)."""
        self.numbers += 1
        sale_id, line_id = uuid.uuid4(), uuid.uuid4()
        refunded_q = sum((D(q) for q, _ in refunds), D(0))
        refunded = sum((D(a) for _, a in refunds), D(0))
        status = "refunded" if refunded_q == D(quantity) else "partly_refunded"
        self.conn.execute(
            "insert into sales (tenant_id, id, number, location_id, user_id, status, subtotal, "
            "discount_total, tax_total, total, paid_total, change_due, refunded_total) "
            "values (%s, %s, %s, %s, %s, %s, %s, 0, 0, %s, %s, 0, %s)",
            (
                self.tid,
                sale_id,
                self.numbers,
                self.location,
                self.user,
                status,
                total,
                total,
                total,
                refunded,
            ),
        )
        self.conn.execute(
            "insert into sale_lines (tenant_id, id, sale_id, position, product_id, description, "
            "sku, quantity, unit_price, unit_cost, discount, tax_rate, tax_amount, line_total, "
            "refunded_quantity) values (%s, %s, %s, 0, %s, 'A', 'A', %s, %s, 0, 0, 0, 0, %s, %s)",
            (self.tid, line_id, sale_id, self.product, quantity, total, total, refunded_q),
        )
        refund_ids = []
        for quantity_back, amount in refunds:
            refund_id = _uuid7_like(len(refund_ids))
            refund_ids.append(refund_id)
            self.conn.execute(
                "insert into refunds (tenant_id, id, sale_id, user_id, amount, method) "
                "values (%s, %s, %s, %s, %s, 'cash')",
                (self.tid, refund_id, sale_id, self.user, amount),
            )
            self.conn.execute(
                "insert into refund_lines (tenant_id, id, refund_id, sale_line_id, quantity, "
                "amount) values (%s, %s, %s, %s, %s, %s)",
                (self.tid, refund_id, refund_id, line_id, quantity_back, amount),
            )
        return line_id, refund_ids


def _uuid7_like(n: int) -> uuid.UUID:
    """Ids that sort in the order written, as the app's UUIDv7 ids do."""
    return uuid.UUID(f"{n:08x}-0000-7000-8000-{secrets.token_hex(6)}")


def read(conn, tenant_id, sql, *args):
    bind(conn, tenant_id)
    return conn.execute(sql, args).fetchall()


def test_old_refunds_are_restated_backfilled_and_bounded(settings, store_at_t0008):
    half_cents = [("0.005", "0.01")] * 101  # the pen test's refunds: 1.01 of a 1.00 line
    with psycopg.connect(urls.libpq_url(store_at_t0008)) as conn:
        paid_all = Legacy(conn, 7)
        whole_line, _ = paid_all.sale("1", "1.00", [*half_cents, ("0.495", "-0.01")])
        clean_line, clean_refunds = paid_all.sale("3", "3.00", [("1", "1.00")])
        stopped = Legacy(conn, 8)
        over_line, _ = stopped.sale("1", "1.00", half_cents)

    migrations.upgrade("tenant", store_at_t0008, settings.app_role, settings=settings)

    with psycopg.connect(urls.libpq_url(store_at_t0008)) as conn:
        line = "select refunded_amount, line_total from sale_lines where id = %s"
        amounts = "select amount from refund_lines where sale_line_id = %s order by id"
        restated = "select detail from audit_events where action = 'refund.restated'"
        # all of the line refunded: exactly its total, every refund at least 0
        assert read(conn, 7, line, whole_line) == [(D("1.00"), D("1.00"))]
        whole = [a for (a,) in read(conn, 7, amounts, whole_line)]
        assert min(whole) >= 0
        assert sum(whole) == D("1.00")
        assert read(conn, 7, "select sum(refunded_total), sum(total) from sales")[0] == (
            D("2.00"),  # 1.00 of the first sale, 1.00 of the clean one
            D("4.00"),
        )
        assert [r for (r,) in read(conn, 7, "select amount from refunds")] == [
            a for (a,) in read(conn, 7, "select amount from refund_lines")
        ]
        # a clean line is only backfilled, and nothing of it is restated
        assert read(conn, 7, line, clean_line) == [(D("1.00"), D("3.00"))]
        logged = read(conn, 7, restated)
        assert logged
        assert all(d["refund_id"] != str(clean_refunds[0]) for (d,) in logged)
        assert {d["recorded"] for (d,) in logged} <= {"0.01", "-0.01"}
        # the refunds stopped early: what 0.505 of the line is worth, not 1.01
        assert read(conn, 8, line, over_line) == [(D("0.51"), D("1.00"))]
        assert read(conn, 8, "select refunded_total from sales") == [(D("0.51"),)]
        assert len(read(conn, 8, restated)) > 0

        checks = conn.execute(
            "select conrelid::regclass::text, conname, convalidated from pg_constraint "
            "where contype = 'c' and conrelid::regclass::text = any(%s)",
            (list(BOUNDED),),
        ).fetchall()
        assert {table for table, _, _ in checks} == set(BOUNDED)
        assert all(valid for _, _, valid in checks)
        forced = conn.execute(
            "select relname, relforcerowsecurity from pg_class where relname = any(%s)",
            ([*BOUNDED, "audit_events"],),
        ).fetchall()
        assert len(forced) == 5
        assert all(flag for _, flag in forced)
