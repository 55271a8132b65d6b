"""The console's job pages: the list with its filters, a job's page (updating itself
while the job runs), its JSON, and a backup's download (operators only: it is a
tenant's data; viewers see the rest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesapp.console.auth import VIEWER_REFUSAL
from salesapp.operations import jobs


@pytest.fixture
def backed_up(jobs_catalog, new_tenant):
    """A succeeded backup job (run by a worker) of a new tenant: (job id, tenant)."""
    tenant = new_tenant("pooled")
    job_id = jobs.enqueue(jobs_catalog.acting_as("ada"), "backup", {"slug": tenant.slug})
    assert jobs.work(jobs_catalog, once=True) == 1
    assert jobs.job(jobs_catalog, job_id)["status"] == "succeeded"
    return job_id, tenant


def test_signed_out_is_sent_to_sign_in(console_anonymous, backed_up):
    client = console_anonymous()
    for path in (
        "/operator/jobs",
        f"/operator/jobs/{backed_up[0]}",
        f"/operator/jobs/{backed_up[0]}.json",
    ):
        assert "/operator/login" in client.get(path, status=303).location


def test_a_viewer_sees_jobs_and_their_status_but_cannot_download(console_client, backed_up):
    job_id, tenant = backed_up
    viewer = console_client("viewer")
    listing = viewer.get("/operator/jobs")
    row = listing.html.find("tr", attrs={"data-id": str(job_id)})
    assert row["data-status"] == "succeeded"
    assert tenant.slug in row.text
    assert "ada" in row.text

    page = viewer.get(f"/operator/jobs/{job_id}")
    assert page.html.find(id="job-status").text == "succeeded"
    assert page.html.find(attrs={"data-actor": True}).text == "ada"
    assert "console-jobs.js" not in page.text  # finished: nothing to follow
    assert page.html.find(id="download") is None

    status = viewer.get(f"/operator/jobs/{job_id}.json")
    assert status.headers["Cache-Control"] == "no-store"
    assert status.json["status"] == "succeeded"
    assert status.json["kind"] == "backup"
    assert status.json["finished"] is True
    assert status.json["result"]["bytes"] > 0

    refused = viewer.get(f"/operator/jobs/{job_id}/download", status=403)
    assert VIEWER_REFUSAL in refused.text


def test_an_operator_downloads_a_backup(console_client, backed_up, jobs_catalog):
    job_id, tenant = backed_up
    operator = console_client("operator")
    page = operator.get(f"/operator/jobs/{job_id}")
    assert page.html.find(id="download")["href"].endswith(f"/operator/jobs/{job_id}/download")
    download = operator.get(f"/operator/jobs/{job_id}/download")
    path = Path(jobs.job(jobs_catalog, job_id)["result"]["path"])
    assert download.content_type == "application/zip"
    assert download.headers["Content-Disposition"] == f'attachment; filename="{path.name}"'
    assert download.body == path.read_bytes()
    # a job that is no backup has nothing to download
    restore = jobs.enqueue(jobs_catalog, "restore", {"path": str(path), "slug": f"{tenant.slug}-r"})
    assert (
        "not a finished backup"
        in operator.get(f"/operator/jobs/{restore}/download", status=404).text
    )


def test_a_queued_job_s_page_follows_it(console_client, jobs_catalog, new_tenant):
    tenant = new_tenant("pooled")
    job_id = jobs.enqueue(jobs_catalog.acting_as("ada"), "backup", {"slug": tenant.slug})
    viewer = console_client("viewer")
    page = viewer.get(f"/operator/jobs/{job_id}")
    assert page.html.find(id="job-status").text == "queued"
    script = page.html.find("script")
    assert script["src"].endswith("/static/console-jobs.js")
    assert not script.text.strip()
    assert page.html.find("noscript").find("meta")["http-equiv"] == "refresh"
    assert page.html.find(id="job")["data-status-url"].endswith(f"/operator/jobs/{job_id}.json")
    assert viewer.get(f"/operator/jobs/{job_id}.json").json["status"] == "queued"
    # the list filters by status and tenant
    queued = viewer.get("/operator/jobs", params={"status": "queued", "tenant": tenant.slug})
    assert [tr["data-id"] for tr in queued.html.select("tr[data-id]")] == [str(job_id)]
    done = viewer.get("/operator/jobs", params={"status": "succeeded", "tenant": tenant.slug})
    assert done.html.select("tr[data-id]") == []
    assert "is none of" in viewer.get("/operator/jobs", params={"status": "nah"}, status=400).text
    jobs.work(jobs_catalog, once=True)
    assert viewer.get(f"/operator/jobs/{job_id}.json").json["status"] == "succeeded"


def test_an_unknown_job_is_404(console_client):
    viewer = console_client("viewer")
    assert "no job 999999" in viewer.get("/operator/jobs/999999", status=404).text
    viewer.get("/operator/jobs/999999.json", status=404)
    viewer.get("/operator/jobs/abc", status=404)
