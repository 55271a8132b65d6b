"""The background jobs in the console (``/operator/jobs``): every move, backup, restore,
migration and drain queued from the console or the API, its progress while a worker
runs it (the page polls ``/operator/jobs/{id}.json`` every second through
static/console-jobs.js; without scripts it refreshes itself), and its outcome. A
finished backup is downloaded from its page, by operators only: it is a tenant's data.
Viewers see everything else.
"""

from __future__ import annotations

from pyramid.response import FileResponse

from ..operations import jobs
from ..operations.errors import NotFound
from ..operations.job_models import JobStatus
from .auth import ConsoleRefusal, require
from .oplog import when_utc

#: jobs on the list
LIST_SIZE = 100


def jobs_view(request):
    """The latest jobs, newest first, of one status and one tenant if asked."""
    require(request)
    status = request.GET.get("status", "").strip()
    tenant = request.GET.get("tenant", "").strip().lower()
    error = None
    if status and status not in {s.value for s in JobStatus}:
        request.response.status_int = 400
        error = f"status {status!r} is none of " + ", ".join(s.value for s in JobStatus)
        found = []
    else:
        found = jobs.list_jobs(
            request.catalog, status=status or None, tenant_slug=tenant or None, limit=LIST_SIZE
        )
    return {
        "jobs": found,
        "status": status,
        "tenant": tenant,
        "statuses": [s.value for s in JobStatus],
        "error": error,
        "when": when_utc,
    }


def _job(request) -> dict:
    try:
        return jobs.job(request.catalog, int(request.matchdict["id"]))
    except NotFound as exc:
        raise ConsoleRefusal(404, str(exc)) from None


def job_view(request):
    """One job: what, who, when, where it stands; its result or error."""
    operator = require(request)
    job = _job(request)
    credentials = []
    if job["kind"] == "restore" and job["status"] == JobStatus.SUCCEEDED and operator.can_change:
        credentials = jobs.credential_lines(request.catalog, job["id"])
    return {
        "job": job,
        "when": when_utc,
        "credentials": credentials,
        "can_download": job["kind"] == "backup"
        and job["status"] == JobStatus.SUCCEEDED
        and operator.can_change,
    }


def job_status_view(request):
    """The job as JSON, for the page's script (and anyone polling by hand)."""
    require(request)
    job = _job(request)
    body = {key: _plain(value) for key, value in job.items()}
    body["url"] = request.route_url("console.job", id=job["id"])
    request.response.cache_control = "no-store"
    return body


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def download_view(request):
    """A succeeded backup's archive, as an attachment; operators only."""
    require(request, write=True)
    job_id = int(request.matchdict["id"])
    try:
        path = jobs.backup_file(request.catalog, job_id)
    except NotFound as exc:
        raise ConsoleRefusal(404, str(exc)) from None
    response = FileResponse(str(path), request=request, content_type="application/zip")
    response.content_disposition = f'attachment; filename="{path.name}"'
    response.cache_control = "no-store"
    return response


def includeme(config):
    # the .json route before the page's, and ids only digits: "7.json" is no page's id
    config.add_route("console.jobs", "/operator/jobs", site="public")
    config.add_route("console.job.status", r"/operator/jobs/{id:\d+}.json", site="public")
    config.add_route("console.job.download", r"/operator/jobs/{id:\d+}/download", site="public")
    config.add_route("console.job", r"/operator/jobs/{id:\d+}", site="public")
    config.add_view(
        jobs_view, route_name="console.jobs", renderer="console/jobs.jinja2", request_method="GET"
    )
    config.add_view(
        job_view, route_name="console.job", renderer="console/job.jinja2", request_method="GET"
    )
    config.add_view(
        job_status_view, route_name="console.job.status", renderer="json", request_method="GET"
    )
    config.add_view(download_view, route_name="console.job.download", request_method="GET")
