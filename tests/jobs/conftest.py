"""Fixtures of the job tests: a deployment of their own (so that a worker here never
runs another test's jobs, nor another test's worker these), its tenants, an ini file
for `salesapp worker`, and a worker running in a thread."""

from __future__ import annotations

import secrets
import threading

import pytest

from salesapp.operations import bootstrap, jobs, provisioning
from salesapp.operations.catalog import Catalog
from salesapp.operations.job_models import Job
from tests.conftest import new_deployment_settings, write_ini


@pytest.fixture(scope="session")
def jobs_settings(server_admin_url):
    settings = bootstrap.init_deployment(new_deployment_settings(server_admin_url))
    yield settings
    bootstrap.drop_deployment(server_admin_url, settings.role_prefix)


@pytest.fixture(scope="session")
def jobs_catalog(jobs_settings, tmp_path_factory):
    import dataclasses

    var = tmp_path_factory.mktemp("jobs-var")
    catalog = Catalog(dataclasses.replace(jobs_settings, var_dir=var))
    yield catalog
    catalog.dispose()


@pytest.fixture(scope="session")
def jobs_ini(jobs_catalog, tmp_path_factory):
    path = write_ini(jobs_catalog.settings, tmp_path_factory.mktemp("jobs-ini") / "jobs.ini")
    with path.open("a") as ini:
        ini.write(f"salesapp.var_dir = {jobs_catalog.settings.var_dir}\n")
    return path


@pytest.fixture(scope="session")
def new_tenant(jobs_catalog):
    """new_tenant(placement="pooled", **options) -> provisioning's result, in the jobs'
    own deployment."""

    def make(placement="pooled", **kw):
        slug = kw.pop("slug", None) or f"j{secrets.token_hex(4)}"
        request = provisioning.TenantRequest(
            name=f"Tenant {slug}",
            slug=slug,
            admin_email=f"admin@{slug}.example.org",
            placement=placement,
            **kw,
        )
        return provisioning.create_tenant(jobs_catalog, request)

    return make


@pytest.fixture
def operator_catalog(jobs_catalog):
    """The catalog acting as the operator ``ada``, as the console's is."""
    return jobs_catalog.acting_as("ada")


@pytest.fixture(autouse=True)
def empty_queue(jobs_catalog):
    """Each test starts with no job queued or running (a refused or left job of an
    earlier test would be run by this one's worker, or conflict with its jobs)."""
    from sqlalchemy import update

    with jobs_catalog.session() as session:
        session.execute(
            update(Job)
            .where(Job.status.in_(("queued", "running")))
            .values(status="failed", error="left by an earlier test")
        )


@pytest.fixture
def worker_thread(jobs_catalog):
    """worker_thread(**options) starts jobs.work in a thread, stopped at the test's end;
    the lines it says are in the thread's .lines."""
    started = []

    def start(**options):
        stop = threading.Event()
        lines: list[str] = []
        thread = threading.Thread(
            target=jobs.work,
            args=(jobs_catalog,),
            kwargs={"stop": stop, "poll": 1.0, "echo": lines.append, **options},
            daemon=True,
        )
        thread.lines, thread.stop = lines, stop
        thread.start()
        started.append(thread)
        return thread

    yield start
    for thread in started:
        thread.stop.set()
        thread.join(timeout=60)


def wait_for_job(catalog, job_id, statuses=("succeeded", "failed"), timeout=60.0) -> dict:
    """The job once its status is one of ``statuses`` (AssertionError after timeout)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        found = jobs.job(catalog, job_id)
        if found["status"] in statuses:
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.1)


# -- the console's job pages, on the jobs' own deployment -----------------------------
# The console's fixtures (tests/console/conftest.py) sign operators in through `app`
# and make them in `catalog`: here both are the jobs' deployment's.
from tests.console.conftest import (  # noqa: E402, F401  (fixtures)
    console_anonymous,
    console_client,
    console_host,
    make_operator,
)


@pytest.fixture(scope="session")
def catalog(jobs_catalog):
    return jobs_catalog


@pytest.fixture(scope="session")
def app(jobs_catalog, smtp_session_server):
    import dataclasses

    from salesapp import close_app, make_app

    settings = dataclasses.replace(jobs_catalog.settings, mail=smtp_session_server.mail_settings())
    app = make_app(settings)
    yield app
    close_app(app)
