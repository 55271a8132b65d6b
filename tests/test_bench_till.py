"""The till benchmark's client (scripts/bench.py --till): it must count an answer's bytes
as they came over the wire, keep cookies as a browser does, follow a redirect on the same
connection, and post from the cart form what the app completes a sale with (from the
whole page and from the cart fragment)."""

import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest

from tests.sales.test_pos_pages import open_shopfront, scan

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def serve_raw(answers: list[bytes]):
    """A server that accepts one connection and answers each request on it with the
    next of ``answers``, byte for byte; (port, the requests it read, thread)."""
    listener = socket.create_server(("127.0.0.1", 0))
    requests: list[bytes] = []

    def run():
        conn, _ = listener.accept()
        with conn, listener:
            for answer in answers:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(65536)
                head, _, body = request.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                while len(body) < length:
                    body += conn.recv(65536)
                requests.append(head + b"\r\n\r\n" + body)
                conn.sendall(answer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], requests, thread


REDIRECT = (
    b"HTTP/1.1 303 See Other\r\nLocation: http://s1.bench.test/pos\r\n"
    b"Set-Cookie: session=abc; Path=/; Secure; HttpOnly\r\nContent-Length: 0\r\n\r\n"
)
PAGE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
    b"Set-Cookie: other=; Max-Age=0; Path=/\r\nContent-Length: 11\r\n\r\n<p>cart</p>"
)


def test_a_followed_redirect_is_two_answers_counted_to_the_byte_on_one_connection(bench):
    port, requests, thread = serve_raw([REDIRECT, PAGE])
    shop = bench.Shop("s1", 1, "pooled", 0.0)
    cashier = bench.Cashier(shop, cookies={"other": "1"})
    client = bench.TillClient(port)
    step, last = client.post(
        cashier, "/pos/add", {"code": "123"}, bench.FRAGMENT_HEADER, lambda to: to == "/pos"
    )
    client.close()
    thread.join(5)
    assert (step.requests, step.first_status, last.status) == (2, 303, 200)
    assert step.first_bytes == len(REDIRECT)
    assert step.wire_bytes == len(REDIRECT) + len(PAGE)
    assert last.body == "<p>cart</p>"
    # the cookie the redirect set went with the GET; the one the page expired is gone
    assert cashier.cookies == {"session": "abc"}
    post, get = requests
    assert post.startswith(b"POST /pos/add HTTP/1.1\r\n")
    assert b"Host: s1.bench.test\r\n" in post
    assert b"X-Till-Fragment: cart\r\n" in post
    assert post.endswith(b"\r\n\r\ncode=123")
    assert get.startswith(b"GET /pos HTTP/1.1\r\n")
    assert b"Cookie: other=1; session=abc\r\n" in get


def test_a_redirect_elsewhere_and_an_error_status_are_errors(bench):
    error = b'HTTP/1.1 400 Bad Request\r\nContent-Length: 38\r\n\r\n<p role="alert">the cart is full</p>\r\n'
    port, _, thread = serve_raw([REDIRECT, error])
    cashier = bench.Cashier(bench.Shop("s1", 1, "pooled", 0.0))
    client = bench.TillClient(port)
    with pytest.raises(bench.TillError, match="led to /pos"):
        client.post(cashier, "/pos/complete", {}, {}, bench.RECEIPT_PATH.fullmatch)
    with pytest.raises(bench.TillError, match="answered 400: the cart is full"):
        client.post(cashier, "/pos/add", {}, {}, lambda to: True)
    client.close()
    thread.join(5)


def test_cookies_are_kept_replaced_and_expired_as_a_browser_does(bench):
    jar = {"a": "1", "b": "2", "c": "3"}
    bench.merge_cookies(
        jar,
        [
            "a=9; Path=/; Secure; HttpOnly; SameSite=Lax",
            "b=; Max-Age=0; Path=/; expires=Wed, 31-Dec-97 23:59:59 GMT",
            'c=""; Path=/',
            "d=4",
        ],
    )
    assert jar == {"a": "9", "d": "4"}


def test_percentiles_are_nearest_rank(bench):
    values = [float(v) for v in range(20, 0, -1)]
    assert bench.percentile(values, 50) == 10.0
    assert bench.percentile(values, 95) == 19.0
    assert bench.percentile(values, 100) == 20.0
    assert bench.percentile([7.0], 95) == 7.0


def test_step_figures_count_answers_requests_and_bytes(bench):
    steps = [
        bench.Step(ms=10.0, wire_bytes=1000, requests=2, first_status=303, first_ms=4.0,
                   first_bytes=600),
        bench.Step(ms=30.0, wire_bytes=3000, requests=1, first_status=200, first_ms=30.0,
                   first_bytes=3000),
        bench.Step(ms=20.0, wire_bytes=2000, requests=1, first_status=200, first_ms=20.0,
                   first_bytes=2000),
    ]  # fmt: skip
    figures = bench.step_figures(steps)
    assert figures["answered"] == {"303": 1, "200": 2}
    assert (figures["count"], figures["requests"]) == (3, 4)
    assert (figures["p50_ms"], figures["p95_ms"]) == (20.0, 30.0)
    assert (figures["bytes_median"], figures["bytes_max"]) == (2000, 3000)
    assert figures["first_p50_ms"] == 20.0


def till_report(bench, scan_bytes: int, scan_p95: float) -> dict:
    figures = {
        "count": 9, "requests": 9, "answered": {"200": 9}, "p50_ms": 12.0,
        "p95_ms": scan_p95 + 20, "first_p50_ms": 12.0, "first_p95_ms": scan_p95 + 20,
        "server_p50_ms": 8.0, "server_p95_ms": scan_p95,
        "bytes_median": scan_bytes - 100, "bytes_max": scan_bytes, "first_bytes_median": 1,
    }  # fmt: skip
    phase = {"fragment_header": True, "clients": 4, "seconds": 2.0, "other_cpu_pct": 3}
    phase.update(errors=0, scan=figures, complete=figures)
    till = {
        "when": "today", "command": "python scripts/bench.py --till", "tenants": 100,
        "clients": 4, "seconds": 2, "server_threads": 4, "rss_mb": 100.0,
        "sales_completed": 3, "sales_in_stores": 3,
        "machine": {"cpus": 2, "cpu": "x"}, "versions": {"postgresql": "16", "python": "3"},
        "phases": [{**phase, "fragment_header": False, "scan": {**figures, "bytes_max": 99999}},
                   phase],
    }  # fmt: skip
    till["targets"] = bench.till_targets(till)
    return till


def test_the_p95_is_read_on_the_paced_phase_when_there_is_one(bench):
    till = till_report(bench, 4000, 50.0)  # at full speed: over
    paced = {**till["phases"][1], "clients": 16, "pace_s": 0.5}
    paced["scan"] = {**paced["scan"], "server_p95_ms": 12.0, "bytes_max": 99999}
    till["phases"].append(paced)
    bytes_target, p95_target = bench.till_targets(till)
    assert (bytes_target["measured"], bytes_target["met"]) == ("3.9 KB", True)
    assert (p95_target["measured"], p95_target["met"]) == ("12.0 ms", True)
    assert "16 tills at a step every 0.5 s" in p95_target["what"]


def test_the_targets_are_read_on_the_fragment_phase(bench):
    met = bench.till_targets(till_report(bench, 5 * 1024 - 1, 29.9))
    assert [t["met"] for t in met] == [True, True]
    assert "with X-Till-Fragment" in met[0]["what"]
    missed = bench.till_targets(till_report(bench, 5 * 1024, 30.0))
    assert [t["met"] for t in missed] == [False, False]


def test_the_till_section_and_entry_keep_the_rest_of_the_files(bench, tmp_path):
    out, data = tmp_path / "benchmarks.md", tmp_path / "benchmarks.json"
    out.write_text("# Benchmarks\n\nWritten by hand.\n")
    data.write_text(json.dumps({"runs": ["kept"]}))
    args = types.SimpleNamespace(out=str(out), json=str(data))
    bench.write_till(args, till_report(bench, 4000, 20.0))
    bench.write_till(args, till_report(bench, 6000, 40.0))  # the section is replaced
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nWritten by hand.\n")
    assert text.count("## The till") == 1
    assert text.count(bench.TILL_END) == 1
    assert "| < 5 KB | 5.9 KB | NO |" in text
    saved = json.loads(data.read_text())
    assert saved["runs"] == ["kept"]
    assert saved["till"]["phases"][1]["scan"]["bytes_max"] == 6000


# -- what the app answers ---------------------------------------------------------------
@pytest.fixture
def shopfront(staff):
    return open_shopfront(staff, "pooled")


def test_the_cart_form_the_bench_reads_is_the_browsers_and_completes_the_sale(bench, shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "4006381333931")
    scan(till, "B")
    page = till.get("/pos")
    browser = dict(page.forms["cart-form"].submit_fields())
    fields = bench.cart_form_fields(page.text)
    assert fields == browser
    assert {"csrf_token", "sale_key", "qty_0", "qty_1", "pay_cash"} <= set(fields)
    total = bench.cart_total(page.text)
    assert total == page.html.select_one('[data-testid="total"]').text == "12.90"
    done = till.post("/pos/complete", {**fields, "pay_cash": total}, status=303)
    assert bench.RECEIPT_PATH.fullmatch(bench.urllib.parse.urlsplit(done.location).path)
    receipt = done.follow().html
    assert receipt.select_one("dd.grand").text == "12.90"
    assert receipt.select_one('[data-testid="receipt-change"]').text == "0.00"


def test_the_cart_fragment_carries_what_complete_sale_posts(bench, shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    token = till.get("/pos").forms["scan-form"]["csrf_token"].value
    for code in ("4006381333931", "B"):
        answer = till.post(
            "/pos/add", {"csrf_token": token, "code": code}, headers=bench.FRAGMENT_HEADER
        )
    assert answer.status_int == 200
    fields = bench.cart_form_fields(answer.text)
    assert fields["csrf_token"] == token
    assert fields["sale_key"]
    assert {"qty_0", "qty_1", "pay_cash"} <= set(fields)
    assert "qty_2" not in fields
    total = bench.cart_total(answer.text)
    assert total == "12.90"
    done = till.post("/pos/complete", {**fields, "pay_cash": total}, status=303)
    assert bench.RECEIPT_PATH.fullmatch(bench.urllib.parse.urlsplit(done.location).path)


# -- the CPU figures and the profile (issue 20) -----------------------------------------
def test_a_server_trees_cpu_counts_its_workers(bench):
    """CPU per request sums a server and its worker processes (gunicorn's workers burn
    the CPU, not its master)."""
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    spawn = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {burn!r}]); input()"
    parent = subprocess.Popen([sys.executable, "-c", spawn], stdin=subprocess.PIPE)
    try:
        profile = bench.bench_profile
        deadline = time.monotonic() + 10
        while profile.tree_cpu_seconds(parent.pid) < 0.3:  # the worker's, reaped
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert profile.cpu_seconds(parent.pid) < 0.25  # the parent's own is not it
    finally:
        parent.communicate(b"\n", timeout=10)


def test_the_profile_sums_own_and_total_time_across_workers(bench):
    raw = (
        'process 11:"gunicorn: worker";run (waitress/task.py);view (salesapp/api/views.py);'
        "execute (sqlalchemy/engine/base.py) 6\n"
        'process 12:"gunicorn: worker";run (waitress/task.py);view (salesapp/api/views.py) 3\n'
        "run (waitress/task.py);dumps (json/__init__.py) 4\n"
        "garbage line\n"
    )
    stacks = bench.bench_profile.parse_collapsed(raw)
    assert [count for _, count in stacks] == [6, 3, 4]
    summary = bench.bench_profile.summarize(stacks)
    assert summary["samples"] == 13
    assert summary["own"][0] == ["execute (sqlalchemy/engine/base.py)", 46.2]
    assert summary["packages"] == [["sqlalchemy", 46.2], ["json", 30.8], ["salesapp", 23.1]]
    # the server's frame is on every sample: it says nothing, and is left out
    assert summary["total"][0] == ["view (salesapp/api/views.py)", 69.2]
    assert "run (waitress/task.py)" not in dict(summary["total"])
    assert summary["app"] == [["view (salesapp/api/views.py)", 69.2]]


def test_the_run_table_shows_cpu_per_request_and_reads_runs_without_it(bench):
    run = {
        "label": "tenancy on, 100 pooled", "workload": "READ", "rps": 400.0, "p50_ms": 9.0,
        "p99_ms": 30.0, "errors": {}, "rss_mb": 100.0, "db_connections": {"x": 6},
    }  # fmt: skip
    measured = [
        {**run, "app_cpu_ms": ms, "db_cpu_ms": 1.0, "pgbouncer_cpu_ms": None}
        for ms in (2.0, 2.4, 3.0)
    ]
    table = "\n".join(bench.cpu_table([run, *measured]))
    assert "| tenancy on, 100 pooled | READ | 2.40 | 1.00 | 3 |" in table  # the median
    assert bench.cpu_table([run]) == []  # a run of before the figures: no table
    assert bench.db_cpu_cell(run) == "-"
    bounced = {**run, "db_cpu_ms": 0.8, "pgbouncer_cpu_ms": 0.3}
    assert bench.db_cpu_cell(bounced) == "0.80 (+ PgBouncer 0.30)"
