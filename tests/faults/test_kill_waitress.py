"""waitress killed with SIGKILL amid a stream of sales: afterwards every sale is whole
(its lines, payments and stock movements all there) or does not exist, and stock on
hand agrees with the sales. One transaction per request is what makes it so."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import psycopg

from salesapp.operations.pgbouncer import free_port
from salesapp.operations.tablecopy import set_tenant
from salesapp.operations.tokens import issue_token
from salesapp.tenancy import urls
from tests.conftest import REPO, host_of, wait_for, write_ini
from tests.mobility.conftest import store_url
from tests.mobility.test_moves import SKU, sale, stock_product

BIN = Path(sys.executable).parent
STOCK = Decimal("100000")
CLIENTS = 4


def serve(settings, tmp_path):
    """`pserve` on a free port (waitress, 4 threads), as a deployment runs it."""
    port = free_port()
    ini = write_ini(settings, tmp_path / "app.ini")
    extra = [
        "" if settings.prepared_statements else "salesapp.prepared_statements = false",
        "[server:main]",
        "use = egg:waitress#main",
        f"listen = 127.0.0.1:{port}",
        "threads = 4",
    ]
    ini.write_text(ini.read_text() + "\n".join(extra) + "\n")
    log = (tmp_path / "pserve.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "pserve"), str(ini)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},  # this checkout's code
    )
    return proc, port


def request(port, host, method, path, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Host": host, "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def test_kill_9_of_waitress_amid_sales_leaves_whole_sales_only(
    settings, catalog, make_tenant, server_admin_url, tmp_path
):
    tenant = make_tenant("pooled")
    stock_product(catalog, tenant.slug, quantity=str(STOCK))
    token = issue_token(catalog, tenant.slug, "admin", "kill test").plaintext
    host = host_of(tenant)
    proc, port = serve(settings, tmp_path)
    acknowledged, failures = [], []
    try:

        def up():
            try:
                return request(port, host, "GET", "/healthz")[0] == 200
            except OSError:
                return False

        assert wait_for(up, timeout=30), (tmp_path / "pserve.log").read_text()

        def sell():
            while True:
                try:
                    status, body = request(port, host, "POST", "/api/sales", sale(), token)
                except (OSError, http.client.HTTPException):
                    return  # the server is gone
                if status != 201:
                    failures.append((status, body))
                    return
                acknowledged.append(json.loads(body)["id"])

        clients = [threading.Thread(target=sell) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        assert wait_for(lambda: len(acknowledged) >= 30 or failures, timeout=60)
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: requests are in flight
        assert proc.wait(10) == -signal.SIGKILL
        for client in clients:
            client.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not failures, failures

    # the killed process's database sessions end (a COMMIT sent before the kill still
    # completes; whatever was not committed is rolled back)
    store = store_url(catalog, tenant.store_name)
    database = urls.database_of(store)
    with psycopg.connect(urls.libpq_url(server_admin_url), autocommit=True) as admin:

        def settled():
            return not admin.execute(
                "select count(*) from pg_stat_activity where usename = %s and datname = %s "
                "and state in ('active', 'idle in transaction')",
                (settings.app_role, database),
            ).fetchone()[0]

        assert wait_for(settled, timeout=30)

    with psycopg.connect(urls.libpq_url(store)) as conn:
        set_tenant(conn, tenant.id)
        sales = conn.execute(
            """
            select s.id::text, s.number, s.paid_total,
                   (select count(*) from sale_lines l where l.sale_id = s.id),
                   (select coalesce(sum(l.quantity), 0) from sale_lines l where l.sale_id = s.id),
                   (select count(*) from payments p where p.sale_id = s.id),
                   (select coalesce(sum(p.amount), 0) from payments p where p.sale_id = s.id),
                   (select count(*) from stock_movements m
                     where m.reference = s.id and m.kind = 'sale'),
                   (select coalesce(-sum(m.quantity), 0) from stock_movements m
                     where m.reference = s.id and m.kind = 'sale')
              from sales s order by s.number
            """
        ).fetchall()
        orphans = conn.execute(
            "select count(*) from stock_movements m where m.kind = 'sale' "
            "and not exists (select 1 from sales s where s.id = m.reference)"
        ).fetchone()[0]
        on_hand = conn.execute(
            "select sum(m.quantity) from stock_movements m join products p "
            "on p.tenant_id = m.tenant_id and p.id = m.product_id where p.sku = %s",
            (SKU,),
        ).fetchone()[0]
        counter = conn.execute("select last_number from invoice_counters").fetchone()[0]

    ids = {row[0] for row in sales}
    assert set(acknowledged) <= ids  # every sale the clients were told of exists
    assert len(sales) >= len(acknowledged) >= 30
    for sale_id, number, paid, lines, quantity, payments, amount, moves, moved in sales:
        whole = (lines, payments, moves) == (1, 1, 1) and quantity == moved and amount == paid
        assert whole, (sale_id, number, lines, payments, moves, quantity, moved, amount, paid)
    assert orphans == 0
    assert on_hand == STOCK - sum(row[4] for row in sales)
    assert [row[1] for row in sales] == list(range(1, len(sales) + 1)) and counter == len(sales)
    print(f"{len(acknowledged)} sales acknowledged, {len(sales)} stored")
