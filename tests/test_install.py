"""An install without the embedded extra (pgserver) and with no catalog URL: the console
script and the app say in one line what to install or configure, with no traceback.
(scripts/ci_wheel.sh does the same from a built wheel in a fresh venv.)"""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from salesapp.operations import migrations
from salesapp.settings import ENVIRONMENT

HINT = "pip install 'salesapp[embedded]'"


@pytest.fixture
def without_pgserver(monkeypatch, tmp_path):
    """pgserver cannot be imported, no catalog URL is configured; returns an ini file."""
    monkeypatch.setitem(sys.modules, "pgserver", None)  # import pgserver: ModuleNotFoundError
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    ini = tmp_path / "app.ini"
    ini.write_text("[app:main]\nuse = egg:salesapp\nsalesapp.var_dir = %(here)s/var\n")
    return ini


@pytest.mark.parametrize("command", [["check"], ["init"], ["tenant", "list"]])
def test_the_console_script_says_what_to_install(without_pgserver, command):
    from salesapp.cli import cli

    result = CliRunner().invoke(cli, ["-c", str(without_pgserver), *command])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert HINT in lines[0] and "SALESAPP_CATALOG_URL" in lines[0]
    assert "Traceback" not in result.output


def test_the_app_says_what_to_install(without_pgserver):
    from salesapp import main

    with pytest.raises(SystemExit) as raised:
        main({"here": str(without_pgserver.parent)}, **{"salesapp.var_dir": "var"})
    message = str(raised.value.code)
    assert message.startswith("salesapp: ") and "\n" not in message
    assert HINT in message and "SALESAPP_CATALOG_URL" in message


def test_the_checkout_migration_scripts_are_found():
    """In a source tree (editable install) the scripts are the top-level alembic/; an
    installed wheel has them as salesapp/_alembic (scripts/ci_wheel.sh checks that)."""
    found = migrations._scripts_dir()
    for kind in migrations.KINDS:
        assert (found / kind / "env.py").is_file()
        assert any((found / kind / "versions").glob("0001_*.py"))
