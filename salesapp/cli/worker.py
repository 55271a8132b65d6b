"""`salesapp worker`: run the background jobs the operator console and API queue
(moves, backups, restores, migrations, drains; salesapp.operations.jobs, docs/jobs.md)."""

from __future__ import annotations

import datetime as dt

import click


@click.command()
@click.option("--once", is_flag=True, help="Run what is queued now, then stop.")
@click.option(
    "--poll",
    type=click.FloatRange(0.5, 300),
    default=5.0,
    show_default=True,
    help="Seconds between looks at the queue when no notification comes.",
)
@click.option(
    "--parent-pid",
    type=int,
    hidden=True,
    help="Stop when this process, which started the worker, is gone (development's pserve).",
)
@click.pass_obj
def worker(obj, once, poll, parent_pid):
    """Run queued jobs one at a time, as their operators' `salesapp` commands would.

    Any number of workers may run, on any machines that reach the catalog: each job is
    taken by one. A job whose worker died (no heartbeat for a minute) is marked failed
    by the next worker; run it again. SIGTERM stops the worker: a job it was running is
    marked failed.

    \b
    Examples:
      salesapp -c production.ini worker
      salesapp worker --once
    """
    from ..operations import jobs

    def echo(line: str) -> None:
        click.echo(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {line}")

    if not once:
        echo(f"worker {jobs.worker_name()} waiting for jobs")
    ran = jobs.work(obj.catalog, once=once, poll=poll, parent_pid=parent_pid, echo=echo)
    if once:
        echo(f"ran {ran} job{'' if ran == 1 else 's'}; none is queued")
