"""The ``salesapp`` console script: operators' and DBAs' commands (click).

Commands parse, confirm and print; the work is done by functions in
``salesapp.tenancy`` that the tests call directly.
"""

from __future__ import annotations

import dataclasses
import os
import sys

import click
from plaster import get_settings
from plaster.exceptions import PlasterError


class Context:
    def __init__(self, config_path: str):
        self.config_path = config_path
        self._settings = None

    @property
    def settings(self):
        if self._settings is None:
            from ..settings import parse_settings

            path = os.path.abspath(self.config_path)
            if not os.path.exists(path):
                raise click.ClickException(
                    f"config file {self.config_path} not found; pass -c INI or set SALESAPP_CONFIG"
                )
            try:
                raw = get_settings(path, "main")
            except PlasterError as exc:
                raise click.ClickException(f"cannot read {self.config_path}: {exc}") from None
            self._settings = parse_settings({"here": os.path.dirname(path), **raw})
        return self._settings


@click.group()
@click.option(
    "-c",
    "--config",
    "config_path",
    default=lambda: os.environ.get("SALESAPP_CONFIG", "development.ini"),
    show_default="$SALESAPP_CONFIG or development.ini",
    help="The ini file, the same one pserve reads.",
)
@click.pass_context
def cli(ctx, config_path):
    """Operate salesapp: tenants, stores, migrations and checks.

    Example: salesapp -c production.ini init
    """
    ctx.obj = Context(config_path)


@cli.command("init")
@click.pass_obj
def init(obj):
    """Create or upgrade the catalog, roles, default pooled store and template. Idempotent.

    Example: salesapp -c production.ini init
    """
    from ..tenancy import bootstrap, embedded

    settings = obj.settings
    if settings.embedded:
        admin_url = embedded.start(settings.var_dir / "pgdata")
        settings = dataclasses.replace(settings, server_admin_url=admin_url)
    try:
        settings = bootstrap.init_deployment(settings)
    except Exception as exc:
        raise click.ClickException(f"init failed: {exc}") from None
    click.echo("catalog, default pooled store and template database are at head")


def main(argv=None):
    return cli.main(args=argv, prog_name="salesapp")


if __name__ == "__main__":
    sys.exit(main())
