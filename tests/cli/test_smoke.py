"""The console script starts and reads the test deployment."""


def test_help_lists_every_command(cli):
    out = cli("--help").output
    for command in ("init", "tenant", "store", "migrate", "check", "stats"):
        assert command in out


def test_missing_config_file_is_one_clear_line(cli, tmp_path):
    from click.testing import CliRunner

    from salesapp.cli import cli as salesapp_cli

    result = CliRunner().invoke(salesapp_cli, ["-c", str(tmp_path / "nope.ini"), "tenant", "list"])
    assert result.exit_code == 1
    assert "config file" in result.output and "not found" in result.output
    assert "Traceback" not in result.output


def test_the_ini_file_is_read(cli, settings, ini_file):
    from salesapp.cli import Context

    assert Context(str(ini_file)).raw_settings.role_prefix == settings.role_prefix
    assert Context(str(ini_file)).raw_settings.catalog_url == settings.catalog_url
