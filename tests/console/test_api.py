"""The operator API (/operator/api on the main domain): every call, with operator
tokens of each scope; what it refuses (no, bad, revoked, expired, a disabled
operator's, a workspace's token; a read token's write; bad input; a conflict), and
that it exists on no other host. The calls run the operations' own functions, so the
tests check the catalog and the operations log, not just the answers."""

from __future__ import annotations

import datetime as dt
import io
import secrets
import zipfile

import pytest
import schemathesis
import webtest
from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR
from sqlalchemy import delete, select, update

from salesapp.console.api import DOCUMENT, PREFIX
from salesapp.operations import jobs, lifecycle, operator_tokens, operators
from salesapp.operations.job_models import Job
from salesapp.operations.models import Operation
from salesapp.operations.operator_models import OperatorToken
from salesapp.operations.tokens import issue_token
from tests.conftest import BASE_DOMAIN, host_of


class Api:
    """A webtest client on the console host sending one operator token."""

    def __init__(self, app, token: str | None, operator: str | None = None, host=BASE_DOMAIN):
        self.client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host})
        self.token, self.operator = token, operator

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, status=200, **kw):
        return self.client.get(PREFIX + path, headers=self._headers(), status=status, **kw)

    def post(self, path, body=None, status=200):
        return self.client.post_json(
            PREFIX + path, {} if body is None else body, headers=self._headers(), status=status
        )

    def delete(self, path, status=200):
        return self.client.delete(PREFIX + path, headers=self._headers(), status=status)


@pytest.fixture
def api(app, make_operator, catalog):
    """api(role="operator", scope="write") -> an Api with a new operator's new token."""

    def make(role="operator", scope="write"):
        made = make_operator(role)
        issued = operator_tokens.create_token(catalog, made.name, scope, label="tests")
        return Api(app, issued.plaintext, made.name)

    return make


@pytest.fixture
def writer(api):
    return api("operator", "write")


@pytest.fixture
def reader(api):
    return api("viewer", "read")


@pytest.fixture
def scratch(make_tenant):
    """A tenant of this test's own, to change."""
    return make_tenant("pooled")


def logged(catalog, action, slug):
    with catalog.session() as session:
        rows = session.scalars(
            select(Operation)
            .where(Operation.action == action, Operation.tenant_slug == slug)
            .order_by(Operation.id)
        ).all()
        return [(row.actor, row.outcome) for row in rows]


# -- the document --------------------------------------------------------------------


def test_the_document_is_valid_openapi_and_describes_every_route(app, reader):
    OPENAPI_30_VALIDATOR.validate(DOCUMENT)
    loaded = schemathesis.openapi.from_dict(DOCUMENT)
    operations = {
        (op.path, op.method.upper())
        for op in (result.ok() for result in loaded.get_all_operations())
    }
    introspector = app.registry.introspector
    patterns = {
        item["name"]: item["pattern"]
        for item in (entry["introspectable"] for entry in introspector.get_category("routes"))
    }
    served = set()
    for entry in introspector.get_category("views"):
        view = entry["introspectable"]
        pattern = patterns.get(view["route_name"])
        if pattern and pattern.startswith(PREFIX + "/"):
            methods = view["request_methods"]
            for method in (methods,) if isinstance(methods, str) else methods:
                served.add((pattern, method))
    assert {(p, m) for p, m in served if m != "HEAD"} == operations
    assert len(operations) == 15
    # served as written, with no token
    assert Api(app, None).get("/openapi.json").json == DOCUMENT


# -- who may call --------------------------------------------------------------------


def test_no_token_is_401_saying_how_to_get_one(app):
    answer = Api(app, None).get("/tenants", status=401)
    assert answer.content_type == "application/json"
    assert "Authorization: Bearer sop_" in answer.json["error"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_made_up_token_is_401(app):
    answer = Api(app, "sop_" + secrets.token_urlsafe(32)).get("/tenants", status=401)
    assert "not a valid operator API token" in answer.json["error"]


def test_a_workspace_token_is_refused(app, catalog, tenant_a):
    workspace_token = issue_token(catalog, tenant_a.slug, "admin", "api test").plaintext
    answer = Api(app, workspace_token).get("/tenants", status=401)
    assert "not an operator API token" in answer.json["error"]


def test_a_console_session_cookie_does_not_authenticate(app, console_client):
    client = console_client("operator")
    assert client.get("/operator/tokens").status_int == 200  # signed in, on the console
    answer = client.get(PREFIX + "/tenants", status=401)
    assert "Authorization: Bearer" in answer.json["error"]
    # nor can a form post without a token change anything
    client.post_json(PREFIX + "/tenants/x/suspend", {"reason": "r"}, status=401)


def test_a_read_token_reads_but_cannot_write(reader, scratch, catalog):
    assert reader.get(f"/tenants/{scratch.slug}").json["slug"] == scratch.slug
    answer = reader.post(f"/tenants/{scratch.slug}/suspend", {"reason": "no"}, status=403)
    assert "scope is read" in answer.json["error"]
    assert "write" in answer.json["error"]
    assert "insufficient_scope" in answer.headers["WWW-Authenticate"]
    reader.delete(f"/tenants/{scratch.slug}?confirm={scratch.slug}", status=403)
    assert lifecycle.show_tenant(catalog, scratch.slug)["status"] == "active"


def test_revoked_expired_and_disabled_tokens_stop_at_once(api, catalog):
    revoked, expired, disabled = api(), api(), api()
    for client in (revoked, expired, disabled):
        client.get("/tenants?status=suspended")
    token_id = operator_tokens.holder_of(catalog, revoked.token).token_id
    operator_tokens.revoke_token(catalog, token_id)
    assert "revoked" in revoked.get("/tenants", status=401).json["error"]
    with catalog.session() as session:
        session.execute(
            update(OperatorToken)
            .where(
                OperatorToken.operator_id.in_(
                    select(operators.Operator.id).where(operators.Operator.name == expired.operator)
                )
            )
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert "expired" in expired.get("/tenants", status=401).json["error"]
    operators.disable_operator(catalog, disabled.operator, "left")
    assert "disabled" in disabled.get("/tenants", status=401).json["error"]
    operators.enable_operator(catalog, disabled.operator)  # the disabling revoked it
    assert "revoked" in disabled.get("/tenants", status=401).json["error"]


def test_the_use_is_recorded(writer, catalog):
    writer.get("/tenants?status=suspended")
    (row,) = operator_tokens.list_tokens(catalog, writer.operator)
    assert row["last_used_at"] is not None


def test_the_api_exists_on_the_main_domain_only(app, writer, tenant_a):
    for host in (host_of(tenant_a), "localhost", f"www.{BASE_DOMAIN}"):
        other = Api(app, writer.token, host=host)
        answer = other.get("/tenants", status=404)
        assert "text/html" in answer.content_type, host
        other.get("/openapi.json", status=404)
        other.post(f"/tenants/{tenant_a.slug}/suspend", {"reason": "x"}, status=404)
    assert lifecycle.show_tenant(writer_catalog(app), tenant_a.slug)["status"] == "active"


def writer_catalog(app):
    from salesapp.console.auth import console_catalog

    return console_catalog(app.registry)


def test_unknown_paths_and_methods_are_json(writer):
    assert writer.get("/nothing", status=404).json["error"].startswith("Not found")
    answer = writer.client.put_json(PREFIX + "/tenants", {}, headers=writer._headers(), status=405)
    assert answer.headers["Allow"] == "GET, POST"
    assert "PUT" in answer.json["error"]


# -- tenants -------------------------------------------------------------------------


def test_list_and_filter(writer, reader, scratch, make_tenant, catalog):
    suspended = make_tenant("pooled")
    lifecycle.set_status(catalog, suspended.slug, "suspended", "test")
    slugs = {row["slug"] for row in reader.get("/tenants").json["tenants"]}
    assert {scratch.slug, suspended.slug} <= slugs
    only = {row["slug"] for row in reader.get("/tenants?status=suspended").json["tenants"]}
    assert suspended.slug in only
    assert scratch.slug not in only
    store = reader.get(f"/tenants/{scratch.slug}").json["store"]
    in_store = {row["slug"] for row in reader.get(f"/tenants?store={store}").json["tenants"]}
    assert scratch.slug in in_store
    assert "no store named 'nope'" in reader.get("/tenants?store=nope", status=400).json["error"]
    assert "status: one of" in reader.get("/tenants?status=gone", status=400).json["error"]


def test_show_an_unknown_tenant_is_404(reader):
    answer = reader.get("/tenants/no-such-tenant", status=404)
    assert "no tenant with subdomain 'no-such-tenant'" in answer.json["error"]


def test_create_pooled_shows_the_password_once_and_logs_the_operator(writer, catalog):
    slug = f"api{secrets.token_hex(4)}"
    answer = writer.post(
        "/tenants",
        {
            "name": "API Shop",
            "subdomain": slug,
            "admin_email": f"a@{slug}.example.org",
            "trial_days": 14,
            "domains": [f"shop.{slug}.example.org"],
        },
        status=201,
    )
    assert answer.headers["Location"] == f"http://{BASE_DOMAIN}{PREFIX}/tenants/{slug}"
    body = answer.json
    assert body["tenant"]["slug"] == slug
    assert body["tenant"]["kind"] == "pooled"
    assert body["tenant"]["domains"] == [f"shop.{slug}.example.org"]
    assert body["tenant"]["trial_ends_at"] is not None
    assert body["admin"]["username"] == "admin"
    assert len(body["admin"]["password"]) >= 12
    assert answer.headers["Cache-Control"] == "no-store"
    assert logged(catalog, "tenant.create", slug)[-1] == (writer.operator, "ok")
    # taken now: a conflict
    again = writer.post(
        "/tenants", {"name": "B", "subdomain": slug, "admin_email": "b@b.example.org"}, status=409
    )
    assert "is taken" in again.json["error"]


def test_create_dedicated(writer, catalog):
    slug = f"apid{secrets.token_hex(3)}"
    body = writer.post(
        "/tenants",
        {
            "name": "Own DB",
            "subdomain": slug,
            "admin_email": "o@own.example.org",
            "placement": "dedicated",
            "admin_password": "Correct-Horse-Battery-9",
        },
        status=201,
    ).json
    assert body["tenant"]["kind"] == "dedicated"
    assert "password" not in body["admin"]
    writer.delete(f"/tenants/{slug}?confirm={slug}")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "name: is required"),
        ({"name": "A", "subdomain": "x" * 64, "admin_email": "a@b.org"}, "subdomain: at most 63"),
        ({"name": 5, "subdomain": "abc", "admin_email": "a@b.org"}, "name: must be a string"),
        ({"name": "A", "subdomain": "Bad_Slug", "admin_email": "a@b.org"}, "is not a DNS label"),
        ({"name": "A", "subdomain": "www", "admin_email": "a@b.org"}, "is reserved"),
        ({"name": "A", "subdomain": "abc", "admin_email": "nope"}, "is not a valid address"),
        (
            {"name": "A", "subdomain": "abc", "admin_email": "a@b.org", "max_users": 0},
            "max_users: from 1 to 100000 (0 given)",
        ),
        (
            {"name": "A", "subdomain": "abc", "admin_email": "a@b.org", "placement": "cloud"},
            "placement: one of pooled, dedicated",
        ),
        (
            {"name": "A", "subdomain": "abc", "admin_email": "a@b.org", "colour": "red"},
            "unknown field 'colour'",
        ),
        (
            {"name": "A", "subdomain": "abc", "admin_email": "a@b.org", "demo_data": "yes"},
            "demo_data: must be true or false",
        ),
    ],
)
def test_create_refuses_bad_input_saying_what(writer, body, message):
    answer = writer.post("/tenants", body, status=400)
    assert message in answer.json["error"]


def test_a_body_that_is_not_a_json_object(writer):
    client, headers = writer.client, writer._headers()
    answer = client.post(
        PREFIX + "/tenants",
        "[1]",
        headers={**headers, "Content-Type": "application/json"},
        status=400,
    )
    assert "must be a JSON object" in answer.json["error"]
    answer = client.post(
        PREFIX + "/tenants",
        "{",
        headers={**headers, "Content-Type": "application/json"},
        status=400,
    )
    assert "not valid JSON" in answer.json["error"]
    answer = client.post(PREFIX + "/tenants", "name=x", headers=headers, status=415)
    assert "application/json" in answer.json["error"]


def test_suspend_and_resume(writer, scratch, catalog):
    path = f"/tenants/{scratch.slug}"
    assert "reason: is required" in writer.post(path + "/suspend", {}, status=400).json["error"]
    body = writer.post(path + "/suspend", {"reason": "unpaid"}).json
    assert body["status"] == "suspended"
    assert body["status_reason"] == "unpaid"
    assert (
        "already suspended"
        in writer.post(path + "/suspend", {"reason": "again"}, status=409).json["error"]
    )
    assert writer.post(path + "/resume").json["status"] == "active"
    assert logged(catalog, "tenant.suspend", scratch.slug) == [(writer.operator, "ok")]
    assert logged(catalog, "tenant.resume", scratch.slug) == [(writer.operator, "ok")]


def test_delete_needs_the_subdomain_to_confirm(writer, scratch, catalog):
    path = f"/tenants/{scratch.slug}"
    assert "confirm:" in writer.delete(path, status=400).json["error"]
    writer.delete(path + "?confirm=other", status=400)
    assert lifecycle.show_tenant(catalog, scratch.slug)["status"] == "active"
    body = writer.delete(path + f"?confirm={scratch.slug}").json
    assert body["slug"] == scratch.slug
    assert body["rows_deleted"] is not None
    writer.get(path, status=404)
    writer.delete(path + f"?confirm={scratch.slug}", status=404)
    assert logged(catalog, "tenant.delete", scratch.slug)[-2] == (writer.operator, "ok")


# -- domains -------------------------------------------------------------------------


def test_domains(writer, reader, scratch):
    path = f"/tenants/{scratch.slug}/domains"
    one, two = f"one.{scratch.slug}.example.org", f"two.{scratch.slug}.example.org"
    assert reader.get(path).json == {"slug": scratch.slug, "domains": []}
    assert writer.post(path, {"host": one}, status=201).json["domains"] == [
        {"host": one, "primary": True}
    ]
    writer.post(path, {"host": two}, status=201)
    assert (
        "already belongs to this tenant"
        in writer.post(path, {"host": one}, status=409).json["error"]
    )
    assert (
        "under a base domain"
        in writer.post(path, {"host": f"x.{BASE_DOMAIN}"}, status=400).json["error"]
    )
    assert writer.post(f"{path}/{two}/primary").json["domains"] == [
        {"host": two, "primary": True},
        {"host": one, "primary": False},
    ]
    assert writer.delete(f"{path}/{two}").json["domains"] == [{"host": one, "primary": True}]
    assert "has no domain" in writer.delete(f"{path}/{two}", status=404).json["error"]
    reader.post(f"{path}/{one}/primary", status=403)


# -- jobs ----------------------------------------------------------------------------


@pytest.fixture
def forget_jobs(catalog):
    """Jobs this test queued and did not run are removed at its end (a worker of a
    later test must not run them)."""
    made = []
    yield made
    with catalog.session() as session:
        session.execute(delete(Job).where(Job.id.in_(made), Job.status == "queued"))


def test_a_move_is_queued_with_a_status_url(writer, reader, scratch, catalog, forget_jobs):
    path = f"/tenants/{scratch.slug}/moves"
    assert "to: is required" in writer.post(path, {}, status=400).json["error"]
    answer = writer.post(path, {"to": "dedicated"}, status=202)
    job = answer.json
    forget_jobs.append(job["id"])
    assert answer.headers["Location"] == job["status_url"]
    assert job["status_url"] == f"http://{BASE_DOMAIN}{PREFIX}/jobs/{job['id']}"
    assert (job["kind"], job["status"], job["actor"]) == ("move", "queued", writer.operator)
    assert job["params"]["to"] == "dedicated"
    assert job["download_url"] is None
    status = reader.get(f"/jobs/{job['id']}").json
    assert status["id"] == job["id"]
    assert status["status"] == "queued"
    # one job of a tenant at a time
    busy = writer.post(f"/tenants/{scratch.slug}/backups", status=409).json["error"]
    assert f"already has a move job queued (job {job['id']})" in busy
    reader.get(f"/jobs/{job['id']}/download", status=404)
    writer.post("/tenants/no-such-tenant/moves", {"to": "pooled"}, status=404)


def test_a_backup_job_runs_and_is_downloaded(writer, reader, scratch, catalog, forget_jobs):
    answer = writer.post(f"/tenants/{scratch.slug}/backups", status=202)
    job_id = answer.json["id"]
    forget_jobs.append(job_id)
    assert (
        reader.get(f"/jobs/{job_id}/download", status=409)
        .json["error"]
        .startswith(f"job {job_id} is queued")
    )
    jobs.work(catalog, once=True)
    status = reader.get(f"/jobs/{job_id}").json
    assert status["status"] == "succeeded", status
    assert status["download_url"] == f"http://{BASE_DOMAIN}{PREFIX}/jobs/{job_id}/download"
    download = reader.get(f"/jobs/{job_id}/download")
    assert download.content_type == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(download.body)).namelist()


def test_unknown_jobs_are_404(reader):
    assert "no job 999999999" in reader.get("/jobs/999999999", status=404).json["error"]
    reader.get("/jobs/abc", status=404)
