"""The ``salesapp`` console script: operators' and DBAs' commands (click).

Commands parse, confirm and print; the work is done by functions in
``salesapp.tenancy`` (and ``salesapp.operations.workspace``) that the tests call directly.
Expected failures print one line saying what was wrong and what to do, and exit 1.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import click
import psycopg
from plaster import get_settings
from plaster.exceptions import PlasterError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import OperationalError as SAOperationalError

from ..settings import SettingsError, parse_settings
from ..startup import require_catalog_in_production
from ..tenancy.errors import is_fence_error


class Context:
    """What every command shares: the settings from the ini file and the catalog."""

    def __init__(self, config_path: str):
        self.config_path = config_path
        self._settings = None
        self._catalog = None

    @property
    def raw_settings(self):
        path = os.path.abspath(self.config_path)
        if not os.path.exists(path):
            raise click.ClickException(
                f"config file {self.config_path} not found; pass -c INI or set SALESAPP_CONFIG"
            )
        try:
            raw = get_settings(path, "app:main")
        except PlasterError as exc:
            raise click.ClickException(f"cannot read {self.config_path}: {exc}") from None
        settings = parse_settings({"here": os.path.dirname(path), **raw})
        # before anything starts: production never falls back to the embedded server
        require_catalog_in_production(settings)
        return settings

    @property
    def settings(self):
        """Validated settings; with no catalog URL, the embedded server is started."""
        if self._settings is None:
            settings = self.raw_settings
            if settings.embedded:
                from ..operations import bootstrap, embedded

                admin_url = embedded.start(settings.var_dir / "pgdata")
                settings = bootstrap.with_catalog_url(
                    dataclasses.replace(settings, server_admin_url=admin_url)
                )
            self._settings = settings
        return self._settings

    @property
    def catalog(self):
        if self._catalog is None:
            from ..operations.catalog import Catalog

            self._catalog = Catalog(self.settings)
        return self._catalog

    def close(self):
        if self._catalog is not None:
            self._catalog.dispose()


class SalesappGroup(click.Group):
    """Turns expected errors into a one-line message and exit status 1."""

    def invoke(self, ctx):
        from ..operations.errors import OperationError

        try:
            return super().invoke(ctx)
        except (OperationError, SettingsError) as exc:
            raise click.ClickException(str(exc)) from None
        except (DBAPIError, psycopg.OperationalError) as exc:
            if is_fence_error(exc):
                raise click.ClickException(
                    "that tenant is being moved and its writes are paused; try again in a moment"
                ) from None
            if not isinstance(exc, SAOperationalError | psycopg.OperationalError):
                raise
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise click.ClickException(
                f"a database did not answer: {first}; check that it runs, or run `salesapp check`"
            ) from None


def emit_json(data) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def print_table(rows: list[dict], columns: list[tuple[str, str]]) -> None:
    """Rows as aligned columns; ``columns`` is [(key, heading)]."""
    cells = [[heading for _, heading in columns]] + [
        ["" if row.get(key) is None else str(row.get(key)) for key, _ in columns] for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def progress(length: int, label: str):
    """A progress bar on a terminal (``set_length`` once the work is counted); on a
    pipe, nothing: the results speak."""
    if sys.stderr.isatty():
        bar = click.progressbar(length=max(length, 1), label=label, file=sys.stderr)
        bar.set_length = lambda n: setattr(bar, "length", max(n, 1))
        return bar
    return _NoProgress()


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass

    def set_length(self, n):
        pass


@click.group(cls=SalesappGroup)
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

    \b
    Example:
      salesapp -c production.ini tenant list
    """
    ctx.obj = Context(config_path)
    ctx.call_on_close(ctx.obj.close)


@cli.command("init")
@click.pass_obj
def init(obj):
    """Create or upgrade the catalog, roles, default pooled store and template. Idempotent.

    \b
    Example:
      salesapp -c production.ini init
    """
    from ..operations import bootstrap

    settings = obj.raw_settings
    if settings.embedded:
        settings = dataclasses.replace(settings, server_admin_url=obj.settings.server_admin_url)
    try:
        settings = bootstrap.init_deployment(settings)
    except (ValueError, SAOperationalError) as exc:
        raise click.ClickException(f"init failed: {str(exc).splitlines()[0]}") from None
    from ..operations.catalog import Catalog

    catalog = Catalog(settings)
    try:
        catalog.record("init", "ok")
    finally:
        catalog.dispose()
    click.echo("catalog, default pooled store and template database are at head")


from . import deploy, doctor, operator, rotate, signup, store, tenant, tenant_data, worker  # noqa: E402, F401  (commands register on import)

cli.add_command(tenant.tenant)
cli.add_command(store.store)
cli.add_command(deploy.migrate)
cli.add_command(deploy.check)
cli.add_command(deploy.stats)
cli.add_command(doctor.doctor)
cli.add_command(rotate.rotate)
cli.add_command(operator.operator)
cli.add_command(signup.signup)
cli.add_command(worker.worker)


def main(argv=None):
    return cli.main(args=argv, prog_name="salesapp")


if __name__ == "__main__":
    sys.exit(main())
