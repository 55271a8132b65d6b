"""`salesapp signup process`: make the workspaces of the sign-ups whose e-mail link was
followed (salesapp.operations.signups). The web process only records sign-ups; this
command (or its --watch loop, kept running next to the web processes) makes them."""

from __future__ import annotations

import click


@click.group()
def signup():
    """Self-service sign-ups from the public site (salesapp.signup_enabled)."""


def _report(outcome) -> None:
    if outcome.status == "created":
        click.echo(f"Created {outcome.slug} for {outcome.email} in store {outcome.store_name}")
    else:
        click.echo(f"Could not create {outcome.slug} for {outcome.email}: {outcome.failure}")


@signup.command("process")
@click.option("--watch", is_flag=True, help="Keep running: make each workspace as it is verified.")
@click.option("--limit", type=click.IntRange(min=1), help="Make at most this many.")
@click.pass_obj
def process(obj, watch, limit):
    """Make a pooled trial workspace for each verified sign-up, as `tenant create` does.

    \b
    Examples:
      salesapp signup process
      salesapp signup process --watch
    """
    from ..operations import signups

    if watch:
        click.echo("Watching for verified sign-ups (Ctrl-C stops)")
        try:
            signups.watch(obj.catalog, _report)
        except KeyboardInterrupt:
            return
    outcomes = signups.process(obj.catalog, limit=limit)
    for outcome in outcomes:
        _report(outcome)
    if not outcomes:
        click.echo("No verified sign-up is waiting")
