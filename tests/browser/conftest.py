"""Browser tests: the app served by waitress on 127.0.0.1, driven by Playwright in
Debian's Chromium (/usr/bin/chromium; no browser download). Tenant hosts are
<slug>.localhost:<port>, which Chromium resolves to this machine.

Run with `pytest -m browser` (the default run leaves them out: they need chromium,
which .ci/run installs)."""

import dataclasses
import os
import shutil
import threading
from pathlib import Path

import pytest

from salesapp import close_app, make_app

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = os.environ.get("SALESAPP_CHROMIUM", "/usr/bin/chromium")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_server(settings, tenant_a):
    from waitress.server import create_server

    app = make_app(settings)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield port
    server.close()
    close_app(app)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (or set SALESAPP_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"), full_page=True)
    context.close()


@pytest.fixture
def url_for(live_server):
    def url(tenant, path="/"):
        return f"http://{tenant.slug}.localhost:{live_server}{path}"

    return url


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def console_server(settings, smtp_session_server):
    """The app served with ``localhost`` as the main domain: the console at
    http://localhost:PORT/operator, tenants at <slug>.localhost:PORT."""
    from waitress.server import create_server

    console_settings = dataclasses.replace(
        settings,
        base_domains=("localhost", *[d for d in settings.base_domains if d != "localhost"]),
        mail=smtp_session_server.mail_settings(),
    )
    app = make_app(console_settings)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield port, console_settings
    server.close()
    close_app(app)
