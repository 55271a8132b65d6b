"""`salesapp doctor`: list every inconsistent state of the deployment; repair on --yes.

Registered in salesapp/cli/__init__.py with this line (and ``doctor`` in the
``from . import ...`` line above it):

    cli.add_command(doctor.doctor)
"""

from __future__ import annotations

import sys

import click

from . import emit_json


def _show(problems) -> None:
    for problem in problems:
        click.echo(f"[{problem.kind}] {problem.description}")
        how = "repair" if problem.automatic else "needs a person"
        click.echo(f"      {how}: {problem.repair}")


@click.command()
@click.option("--yes", is_flag=True, help="Repair what was found (nothing is asked).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def doctor(obj, yes, as_json):
    """Find every inconsistent state: creations and moves whose process died, fences
    with no mover, copies of tenants kept outside their store, databases of the
    deployment no store names, two stores naming one database, store identities not
    recorded, an app role with more than DML, schema revisions the catalog records
    wrongly. Exit 1 if any is left.

    With --yes, repair each and say what was done. A repair never empties or drops
    anything before proving, by the database's identity, that no tenant lives there
    now; what it cannot prove it leaves alone and says why.

    \b
    Examples:
      salesapp doctor
      salesapp doctor --yes
    """
    from ..operations import doctor as doctoring

    catalog = obj.catalog
    problems = doctoring.find_problems(catalog)
    repaired: list[str] = []
    remaining = problems
    if yes and problems:
        repaired = doctoring.repair(catalog, problems)
        remaining = doctoring.find_problems(catalog)
    command = f"salesapp -c {obj.config_path} doctor --yes"
    if as_json:
        emit_json(
            {
                "problems": [p.as_dict() for p in problems],
                "repaired": repaired,
                "remaining": [p.as_dict() for p in remaining],
                "repair_command": command if remaining else None,
            }
        )
    elif not problems:
        click.echo("No problems found.")
    elif not yes:
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found:")
        _show(problems)
        click.echo(f"To repair: {command}")
    else:
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found; repairing:")
        for line in repaired:
            click.echo(f"  {line}")
        if remaining:
            click.echo(f"{len(remaining)} left:")
            _show(remaining)
        else:
            click.echo("All repaired; `salesapp check` finds none of them.")
    if remaining:
        sys.exit(1)
