"""The job queue: enqueue refuses what the command would refuse (nothing queued), a
worker runs real moves, backups and restores with their progress, in the operator's
name; two workers never take one job; a job whose worker was killed is marked failed
by the next worker; `salesapp worker --once` runs what is queued."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, func, select

from salesapp.operations import door, jobs, mobility
from salesapp.operations.door import As
from salesapp.operations.errors import OperationError
from salesapp.operations.job_models import Job
from salesapp.operations.models import Operation
from tests.conftest import run_cli, wait_for
from tests.jobs.conftest import wait_for_job
from tests.mobility.conftest import placement_of

REPO = Path(__file__).resolve().parents[2]


def job_count(catalog) -> int:
    with catalog.session() as session:
        return session.scalar(select(func.count()).select_from(Job))


def test_the_model_matches_the_migration(jobs_catalog):
    metadata = MetaData(naming_convention=Job.metadata.naming_convention)
    Job.__table__.to_metadata(metadata)
    with jobs_catalog.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = [
            diff
            for diff in compare_metadata(context, metadata)
            if "jobs" in repr(diff) and "remove_table" not in repr(diff)
        ]
    assert differences == []


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("reindex", {}, "unknown job kind 'reindex'"),
        ("move", {"slug": "nobody-here", "to": "dedicated"}, "no tenant with subdomain"),
        ("move", {"slug": "TENANT", "to": "sideways"}, "'to' must be pooled or dedicated"),
        ("move", {"slug": "TENANT"}, "the job needs 'to'"),
        ("move", {"slug": "TENANT", "to": "pooled"}, "already"),
        ("move", {"slug": "TENANT", "to": "pooled", "store": "nope"}, "no store named 'nope'"),
        ("backup", {"slug": "nobody-here"}, "no tenant with subdomain"),
        ("backup", {"slug": "TENANT", "output": "/etc/x"}, "not output"),
        ("restore", {"path": "/nonexistent/a.zip"}, "no archive at /nonexistent/a.zip"),
        ("migrate", {"store": "nope"}, "no store named 'nope'"),
        ("drain", {"store": "nope"}, "no store named 'nope'"),
        ("drain", {"store": "DEFAULT"}, "no other pooled store accepts tenants"),
    ],
)
def test_enqueue_refuses_at_once_and_queues_nothing(
    operator_catalog, new_tenant, kind, params, message
):
    tenant = _one_tenant(new_tenant)
    with operator_catalog.session() as session:
        default_store = operator_catalog.default_pooled_store(session).name
    params = {
        k: {"TENANT": tenant.slug, "DEFAULT": default_store}.get(v, v) for k, v in params.items()
    }
    before = job_count(operator_catalog)
    with pytest.raises(OperationError, match=message):
        jobs.enqueue(operator_catalog, kind, params)
    assert job_count(operator_catalog) == before


_tenants = {}


def _one_tenant(new_tenant):
    if "pooled" not in _tenants:
        _tenants["pooled"] = new_tenant("pooled")
    return _tenants["pooled"]


def test_one_move_backup_or_restore_of_a_tenant_at_a_time(operator_catalog, new_tenant):
    tenant = new_tenant("pooled")
    first = jobs.enqueue(operator_catalog, "backup", {"slug": tenant.slug})
    for kind, params in [
        ("move", {"slug": tenant.slug, "to": "dedicated"}),
        ("backup", {"slug": tenant.slug}),
    ]:
        before = job_count(operator_catalog)
        with pytest.raises(OperationError, match=f"already has a backup job queued \\(job {first}"):
            jobs.enqueue(operator_catalog, kind, params)
        assert job_count(operator_catalog) == before
    # another tenant is not held up
    other = new_tenant("pooled")
    assert jobs.enqueue(operator_catalog, "backup", {"slug": other.slug}) > first
    # and a migration may queue once, not twice
    jobs.enqueue(operator_catalog, "migrate", {})
    with pytest.raises(OperationError, match="a migration is already queued"):
        jobs.enqueue(operator_catalog, "migrate", {})


def test_a_queued_job_is_logged_and_named_after_its_operator(operator_catalog, new_tenant):
    tenant = new_tenant("pooled")
    job_id = jobs.enqueue(operator_catalog, "backup", {"slug": tenant.slug.upper()})
    found = jobs.job(operator_catalog, job_id)
    assert found["status"] == "queued"
    assert (found["kind"], found["actor"], found["tenant_slug"]) == ("backup", "ada", tenant.slug)
    assert found["params"] == {"slug": tenant.slug}
    assert [j["id"] for j in jobs.list_jobs(operator_catalog, tenant_slug=tenant.slug)] == [job_id]
    assert job_id in [j["id"] for j in jobs.list_jobs(operator_catalog, status="queued")]
    assert job_id not in [j["id"] for j in jobs.list_jobs(operator_catalog, status="running")]
    with operator_catalog.session() as session:
        logged = session.scalars(
            select(Operation).where(
                Operation.action == "job.queue", Operation.tenant_slug == tenant.slug
            )
        ).one()
    assert (logged.actor, logged.detail["job"], logged.outcome) == ("ada", job_id, "ok")


def test_a_worker_moves_a_tenant_with_its_progress_in_the_operators_name(
    jobs_catalog, operator_catalog, new_tenant, worker_thread
):
    tenant = new_tenant("pooled")
    # its writes in flight hold the move at the fence, where the progress can be seen
    with door.tenant_connection(jobs_catalog, tenant, As.APP) as writer:
        writer.execute("update users set full_name = 'Written in flight'")
        job_id = jobs.enqueue(operator_catalog, "move", {"slug": tenant.slug, "to": "dedicated"})
        worker = worker_thread()
        fenced = wait_for_job(jobs_catalog, job_id, statuses=("running",))
        assert wait_for(
            lambda: jobs.job(jobs_catalog, job_id)["progress_text"].startswith("fence"), 10
        )
        fenced = jobs.job(jobs_catalog, job_id)
        assert fenced["progress_total"] == len(jobs.MOVE_STEPS)
        assert fenced["progress_done"] == 0
        assert fenced["worker"] == jobs.worker_name()
        assert fenced["started_at"] is not None
    seen = set()
    deadline = time.monotonic() + 60
    while (found := jobs.job(jobs_catalog, job_id))["status"] == "running":
        seen.add(found["progress_text"].split(":")[0])
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert found["status"] == "succeeded", found
    assert found["error"] is None
    assert found["progress_percent"] == 100
    assert found["result"]["target_kind"] == "dedicated"
    assert found["result"]["rows"] > 0
    assert placement_of(jobs_catalog, tenant.slug)[1] == "dedicated"
    assert found["finished_at"] >= found["started_at"]
    assert {"copy", "verify"} & seen or "fence" in seen
    assert any(f"job {job_id} move {tenant.slug}: started" in line for line in worker.lines)
    assert any(f"job {job_id} move {tenant.slug}: succeeded" in line for line in worker.lines)
    with jobs_catalog.session() as session:
        moved = session.scalars(
            select(Operation).where(
                Operation.action == "tenant.move", Operation.tenant_slug == tenant.slug
            )
        ).one()
    assert (moved.actor, moved.outcome) == ("ada", "ok")


def test_a_backup_job_writes_a_file_a_restore_job_restores_as_a_new_subdomain(
    jobs_catalog, operator_catalog, new_tenant, worker_thread
):
    tenant = new_tenant("pooled")
    worker_thread()
    backup_id = jobs.enqueue(operator_catalog, "backup", {"slug": tenant.slug})
    backup = wait_for_job(jobs_catalog, backup_id)
    assert backup["status"] == "succeeded", backup
    path = Path(backup["result"]["path"])
    assert path.parent == jobs.backups_dir(jobs_catalog)
    assert backup["result"]["bytes"] == path.stat().st_size > 0
    assert backup["result"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert zipfile.is_zipfile(path)
    assert jobs.backup_file(jobs_catalog, backup_id) == path

    copy = f"{tenant.slug}-copy"
    restore_id = jobs.enqueue(operator_catalog, "restore", {"path": str(path), "slug": copy})
    restored = wait_for_job(jobs_catalog, restore_id)
    assert restored["status"] == "succeeded", restored
    assert restored["tenant_slug"] == copy
    assert restored["result"]["slug"] == copy
    assert restored["result"]["from"] == tenant.slug
    assert "credential_lines_encrypted" not in restored["result"]
    lines = jobs.credential_lines(jobs_catalog, restore_id)
    assert any("admin" in line for line in lines), lines
    assert placement_of(jobs_catalog, copy)[2] == "active"
    with jobs_catalog.session() as session:
        actors = session.execute(
            select(Operation.action, Operation.actor).where(
                Operation.action.in_(("tenant.backup", "tenant.restore")),
                Operation.tenant_slug.in_((tenant.slug, copy)),
            )
        ).all()
    assert sorted(actors) == [("tenant.backup", "ada"), ("tenant.restore", "ada")]
    # restoring it again under the same subdomain is refused when queued
    with pytest.raises(OperationError, match=f"subdomain '{copy}' exists"):
        jobs.enqueue(operator_catalog, "restore", {"path": str(path), "slug": copy})
    # a restore job is no backup: nothing to download
    with pytest.raises(OperationError, match="not a finished backup"):
        jobs.backup_file(jobs_catalog, restore_id)


def test_an_operation_error_fails_the_job_with_its_message(
    jobs_catalog, operator_catalog, new_tenant, worker_thread
):
    """The tenant goes away between queueing and running: the job fails with the
    command's own message, and no traceback."""
    from salesapp.operations.lifecycle import delete_tenant

    tenant = new_tenant("pooled")
    job_id = jobs.enqueue(operator_catalog, "backup", {"slug": tenant.slug})
    delete_tenant(jobs_catalog, tenant.slug)
    worker = worker_thread()
    failed = wait_for_job(jobs_catalog, job_id)
    assert failed["status"] == "failed"
    assert failed["error"].startswith(f"no tenant with subdomain '{tenant.slug}'")
    assert "Traceback" not in failed["error"]
    assert any(f"job {job_id} backup" in line and "failed" in line for line in worker.lines)


def test_two_workers_never_take_the_same_job(jobs_catalog, operator_catalog, new_tenant):
    """Claims racing from many threads: each queued job is claimed exactly once."""
    tenants = [new_tenant("pooled") for _ in range(4)]
    ids = {jobs.enqueue(operator_catalog, "backup", {"slug": t.slug}) for t in tenants}
    claimed: list[int] = []
    barrier = threading.Barrier(8)

    def claim():
        worker = jobs._Worker(jobs_catalog, f"test:{threading.get_ident()}", print)
        barrier.wait()
        while (row := worker.claim()) is not None:
            claimed.append(row.id)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(claimed) == sorted(ids)
    with jobs_catalog.session() as session:
        rows = session.execute(select(Job.status, Job.worker).where(Job.id.in_(ids))).all()
    assert {status for status, _ in rows} == {"running"}
    assert len({worker for _, worker in rows}) >= 1


#: `salesapp` as development starts it (salesapp.startup.start_job_worker)
SALESAPP = [sys.executable, "-c", "import sys; from salesapp.cli import main; sys.exit(main())"]


def worker_process(ini, *args, env=None):
    return subprocess.Popen(
        [*SALESAPP, "-c", str(ini), "worker", "--poll", "1", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_a_killed_worker_s_job_is_failed_by_the_next_worker(
    jobs_catalog, operator_catalog, new_tenant, jobs_ini
):
    tenant = new_tenant("pooled")
    with door.tenant_connection(jobs_catalog, tenant, As.APP) as writer:
        writer.execute("update users set full_name = 'Held'")
        job_id = jobs.enqueue(operator_catalog, "move", {"slug": tenant.slug, "to": "dedicated"})
        process = worker_process(jobs_ini)
        try:
            running = wait_for_job(jobs_catalog, job_id, statuses=("running",), timeout=60)
            assert running["worker"].endswith(f":{process.pid}")
            assert wait_for(
                lambda: jobs.job(jobs_catalog, job_id)["progress_text"].startswith("fence"), 20
            )
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
        writer.rollback()
    assert jobs.job(jobs_catalog, job_id)["status"] == "running"  # nobody said otherwise
    time.sleep(2.5)
    assert jobs.work(jobs_catalog, once=True, stale_after=2) == 0
    failed = jobs.job(jobs_catalog, job_id)
    assert failed["status"] == "failed"
    assert failed["error"] == (
        f"the worker stopped while running it ({running['worker']}); run it again"
    )
    # run it again: the move the killed worker left is undone first, then made
    assert wait_for(lambda: not mobility.mover_alive(jobs_catalog, tenant.id), 30)
    again = jobs.enqueue(operator_catalog, "move", {"slug": tenant.slug, "to": "dedicated"})
    jobs.work(jobs_catalog, once=True)
    assert jobs.job(jobs_catalog, again)["status"] == "succeeded"
    assert placement_of(jobs_catalog, tenant.slug)[1] == "dedicated"


def test_sigterm_fails_the_running_job_and_stops_the_worker(
    jobs_catalog, operator_catalog, new_tenant, jobs_ini
):
    tenant = new_tenant("pooled")
    with door.tenant_connection(jobs_catalog, tenant, As.APP) as writer:
        writer.execute("update users set full_name = 'Held'")
        job_id = jobs.enqueue(operator_catalog, "move", {"slug": tenant.slug, "to": "dedicated"})
        process = worker_process(jobs_ini)
        try:
            wait_for_job(jobs_catalog, job_id, statuses=("running",), timeout=60)
            assert wait_for(
                lambda: jobs.job(jobs_catalog, job_id)["progress_text"].startswith("fence"), 20
            )
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        writer.rollback()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    stopped = jobs.job(jobs_catalog, job_id)
    assert stopped["status"] == "failed"
    # stopped where it waited: the worker's word, or the move's own as it called itself off
    assert stopped["error"].endswith(("run it again", "writes go on")), stopped["error"]
    assert f"job {job_id} move {tenant.slug}: failed" in out
    assert wait_for(lambda: not mobility.mover_alive(jobs_catalog, tenant.id), 30)
    assert placement_of(jobs_catalog, tenant.slug)[1] == "pooled"


def test_a_worker_stops_when_its_parent_is_gone(jobs_ini, tmp_path):
    """Development's worker (started by pserve with --parent-pid) ends with its parent
    even when the parent is killed and has no chance to stop it."""
    pid_file = tmp_path / "worker.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import sys; from salesapp.cli "
            f"import main; sys.exit(main())', '-c', {str(jobs_ini)!r}, 'worker', "
            "'--parent-pid', str(os.getpid())])\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
            "time.sleep(600)\n",
        ],
        cwd=REPO,
    )
    try:
        assert wait_for(lambda: pid_file.exists() and pid_file.read_text(), 20)
        child = int(pid_file.read_text())
        time.sleep(1.5)  # it runs
        os.kill(child, 0)
        parent.kill()
        parent.wait(10)
        assert wait_for(lambda: not _alive(child), 15), "the worker outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        if pid_file.exists() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not reaped: its parent is gone, init reaps it) counts as gone
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1].split()[0] != "Z"


def test_salesapp_worker_once_runs_what_is_queued(
    jobs_catalog, operator_catalog, new_tenant, jobs_ini
):
    tenant = new_tenant("pooled")
    job_id = jobs.enqueue(operator_catalog, "backup", {"slug": tenant.slug})
    result = run_cli(jobs_ini, "worker", "--once")
    assert f"job {job_id} backup {tenant.slug}: started (queued by ada)" in result.output
    assert f"job {job_id} backup {tenant.slug}: succeeded" in result.output
    assert "ran 1 job; none is queued" in result.output
    assert jobs.job(jobs_catalog, job_id)["status"] == "succeeded"
    again = run_cli(jobs_ini, "worker", "--once")
    assert "ran 0 jobs" in again.output
