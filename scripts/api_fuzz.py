"""Fuzz the JSON APIs with schemathesis: no input may ever get a server error.

Provisions a throwaway deployment and tenant on the test database server (the
embedded PostgreSQL under var/pgtest, or SALESAPP_TEST_DATABASE_URL as the tests use),
gives it a stocked product and a customer, makes an Admin API token, serves the app
with waitress on 127.0.0.1 (a free port, in a thread), and runs schemathesis against
the served /api/openapi.json with the token: generated valid and invalid requests to
every operation, checked with "not a server error". Then the same for the operator
API (/operator/api on the main domain) with an operator's write token: its tenant
paths are narrowed to throwaway tenants made for the run (the document's ``slug``
parameters become an enum of them, and of one that does not exist), so the fuzzing of
suspend, delete, domains, moves and backups changes those only, never the staff API's
tenant; moves and backups are queued as jobs that no worker runs. Afterwards
everything is dropped.

Exits non-zero if schemathesis found a failure, or if the app logged an unexpected
error (the API's catch-all 500 view, or waitress). Bounded: --max-examples per
operation (default 40; --operator-max-examples, default 8, for the operator API, whose
tenant creations make databases) keeps the run to a few minutes on two cores.

    .venv/bin/python scripts/api_fuzz.py [--max-examples N] [--seed N] [--only staff|operator]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from salesapp import close_app, make_app  # noqa: E402
from salesapp.operations import (  # noqa: E402
    bootstrap,
    door,
    embedded,
    operator_tokens,
    operators,
    provisioning,
)
from salesapp.operations.catalog import Catalog  # noqa: E402
from salesapp.operations.tokens import issue_token  # noqa: E402
from salesapp.tenancy import urls  # noqa: E402
from tests.conftest import BASE_DOMAIN, new_deployment_settings  # noqa: E402

log = logging.getLogger("api_fuzz")


class ErrorCounter(logging.Handler):
    """Counts what the app logs at ERROR: the API's 500 view and waitress's own."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(f"{record.name}: {record.getMessage()}")


def server_admin_url() -> str:
    url = os.environ.get("SALESAPP_TEST_DATABASE_URL")
    return urls.plain(url) if url else embedded.start(REPO / "var" / "pgtest")


def stock_the_shop(catalog: Catalog, slug: str) -> None:
    """A product with stock and a customer, so sales can succeed as well as fail."""
    from salesapp.customers.services import CustomerService
    from salesapp.inventory.services import InventoryService
    from salesapp.products.services import ProductService

    tenant = door.address(catalog, slug)
    with door.tenant_session(catalog, tenant) as db:
        product = ProductService(db, tenant.id).create(
            sku="FUZZ-1", name="Fuzz tea", unit_price=Decimal("2.50"), tax_rate=Decimal("16")
        )
        inventory = InventoryService(db, tenant.id)
        inventory.receive(product.id, inventory.default_location().id, Decimal("100000"))
        CustomerService(db, tenant.id).create(name="Fuzz customer")


def serve(app):
    """waitress on 127.0.0.1, a free port, in a daemon thread; returns the server."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, name="waitress", daemon=True).start()
    return server


def fetch_document(port: int, host: str, path: Path, address: str = "/api/openapi.json") -> None:
    """The served document, saved for schemathesis (the Host header picks the tenant)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{address}", headers={"Host": host})
    for _ in range(50):  # the server thread may still be starting
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                path.write_bytes(response.read())
                return
        except ConnectionError:
            time.sleep(0.1)
    raise SystemExit("the app did not answer on 127.0.0.1")


def throwaway_tenants(catalog: Catalog) -> list[str]:
    """Tenants for the operator API's fuzzing to change (suspend, delete, domains, jobs)."""
    slugs = []
    for number in (1, 2, 3):
        slug = f"scratch{number}"
        provisioning.create_tenant(
            catalog,
            provisioning.TenantRequest(
                name=f"Scratch {number}",
                slug=slug,
                admin_email=f"admin@{slug}.example.org",
                placement="pooled",
            ),
        )
        slugs.append(slug)
    return slugs


def narrow_to(document: Path, slugs: list[str]) -> None:
    """Every ``slug`` parameter of the saved document is one of ``slugs`` (or a tenant
    that does not exist): what the fuzzer changes is the throwaway tenants only."""
    data = json.loads(document.read_text())
    for operations in data["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "slug":
                    parameter["schema"] = {"type": "string", "enum": [*slugs, "no-such-tenant"]}
    document.write_text(json.dumps(data))


def operator_token(catalog: Catalog) -> str:
    """A write token of a new operator, "fuzzer"."""
    operators.create_operator(catalog, "fuzzer", "operator", "schemathesis")
    return operator_tokens.create_token(catalog, "fuzzer", "write", label="schemathesis").plaintext


def run_schemathesis(
    document: Path, port: int, host: str, token: str, args, max_examples: int
) -> int:
    command = [
        sys.executable,
        "-c",
        "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
        "run",
        str(document),
        "--url",
        f"http://127.0.0.1:{port}",
        "--header",
        f"Host: {host}",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        args.checks,
        "--phases",
        args.phases,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--no-color",
    ]
    return subprocess.run(command, cwd=tempfile.gettempdir()).returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=40)
    parser.add_argument("--operator-max-examples", type=int, default=8)
    parser.add_argument(
        "--only", choices=("staff", "operator"), help="Fuzz one API (default: both)"
    )
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--checks", default="not_a_server_error", help="schemathesis checks (default: 5xx only)"
    )
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")

    started = time.monotonic()
    admin_url = server_admin_url()
    base = dataclasses.replace(new_deployment_settings(admin_url), listen=False)
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    app = server = catalog = None
    statuses = {}
    try:
        settings = bootstrap.init_deployment(base)
        catalog = Catalog(settings)
        tenant = provisioning.create_tenant(
            catalog,
            provisioning.TenantRequest(
                name="API fuzzing",
                slug="fuzz",
                admin_email="admin@fuzz.example.org",
                placement="pooled",
            ),
        )
        stock_the_shop(catalog, tenant.slug)
        token = issue_token(catalog, tenant.slug, "admin", "schemathesis").plaintext
        host = f"{tenant.slug}.{BASE_DOMAIN}"
        scratch_slugs = throwaway_tenants(catalog)
        operator_secret = operator_token(catalog)
        app = make_app(settings)
        server = serve(app)
        port = server.effective_port
        with tempfile.TemporaryDirectory() as scratch:
            if args.only != "operator":
                document = Path(scratch) / "openapi.json"
                fetch_document(port, host, document)
                print(f"== schemathesis: the staff API, Host: {host}", flush=True)
                statuses["staff API"] = run_schemathesis(
                    document, port, host, token, args, args.max_examples
                )
            if args.only != "staff":
                document = Path(scratch) / "operator-openapi.json"
                fetch_document(port, BASE_DOMAIN, document, "/operator/api/openapi.json")
                narrow_to(document, scratch_slugs)
                print(f"== schemathesis: the operator API, Host: {BASE_DOMAIN}", flush=True)
                statuses["operator API"] = run_schemathesis(
                    document, port, BASE_DOMAIN, operator_secret, args, args.operator_max_examples
                )
    finally:
        if server is not None:
            server.close()
        if app is not None:
            close_app(app)
        if catalog is not None:
            catalog.dispose()
        bootstrap.drop_deployment(admin_url, base.role_prefix)
    elapsed = time.monotonic() - started
    status = max(statuses.values(), default=1)
    for name, code in statuses.items():
        print(f"== {name}: {'no server error' if code == 0 else f'FAILED (exit {code})'}")
    if errors.messages:
        print(f"The app logged {len(errors.messages)} unexpected error(s):")
        for message in errors.messages[:20]:
            print(f"  {message}")
        status = status or 1
    verdict = "no server error" if status == 0 else f"FAILED (exit {status})"
    print(f"== API fuzzing: {verdict} in {elapsed:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
