"""Production refuses to start without a catalog URL (issue 15, item 12).

With no catalog URL, development runs on an embedded PostgreSQL under var/. In
production that fallback would put tenants' data on a throwaway server nobody backs
up: pserve (``salesapp.main``) and every ``salesapp`` command refuse instead, naming the
setting to give, before anything starts.
"""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

import salesapp
from salesapp.cli import cli
from salesapp.operations import embedded
from salesapp.settings import parse_settings
from salesapp.startup import require_catalog_in_production

PRODUCTION = {
    "salesapp.production": "true",
    "salesapp.secret_key": "a-production-secret-of-some-length-0123456789",
    "salesapp.base_domains": "example.com",
}


class EmbeddedStarted(Exception):
    """What the embedded server's start raises here: it must never be reached."""


@pytest.fixture(autouse=True)
def no_embedded_server(monkeypatch):
    """No catalog URL from the environment, and a record of any embedded start (which
    is refused here, so that a failing run starts no server)."""
    monkeypatch.delenv("SALESAPP_CATALOG_URL", raising=False)
    monkeypatch.delenv("SALESAPP_CONFIG", raising=False)
    started = []

    def start(data_dir, *args, **kw):
        started.append(data_dir)
        raise EmbeddedStarted(f"the embedded server was started in {data_dir}")

    monkeypatch.setattr(embedded, "start", start)
    yield started
    assert not started, f"an embedded server was started: {started}"


@pytest.fixture
def production_ini(tmp_path):
    path = tmp_path / "production.ini"
    lines = ["[app:main]", "use = egg:salesapp", f"salesapp.var_dir = {tmp_path / 'var'}"]
    lines += [f"{key} = {value}" for key, value in PRODUCTION.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_names_the_setting(message: str) -> None:
    assert "salesapp.catalog_url" in message
    assert "SALESAPP_CATALOG_URL" in message
    assert "production" in message


@pytest.mark.parametrize(
    "command",
    [
        ["init"],
        ["check"],
        ["tenant", "create", "Acme", "acme", "admin@acme.example.org"],
        ["tenant", "list"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_every_command_refuses_production_without_a_catalog_url(production_ini, command):
    result = CliRunner().invoke(cli, ["-c", str(production_ini), *command])
    assert result.exit_code == 1, (result.output, result.exception)
    assert_names_the_setting(result.output)
    assert "Traceback" not in result.output
    assert not (production_ini.parent / "var").exists()


def test_the_app_refuses_production_without_a_catalog_url(tmp_path):
    with pytest.raises(SystemExit) as refused:
        salesapp.main({"here": str(tmp_path)}, **PRODUCTION)
    assert_names_the_setting(str(refused.value.code))
    assert not (tmp_path / "var").exists()


def test_production_with_a_catalog_url_and_development_without_one_are_let_through():
    production = parse_settings(PRODUCTION, environ={})
    url = "postgresql://salesapp_owner:pw@db.internal:5432/salesapp_catalog"
    with_catalog = dataclasses.replace(production, catalog_url=url)
    require_catalog_in_production(with_catalog)
    require_catalog_in_production(dataclasses.replace(production, production=False))
