"""The operator API under /operator/api on the main domain (issue 19): tenants, their
domains, moves and backups as jobs, for scripts; docs/operator-api.md says how to call
it, :data:`DOCUMENT` (served at /operator/api/openapi.json) what each call takes.

Each call authenticates with an operator API token (``Authorization: Bearer sop_...``,
salesapp.operations.operator_tokens) and nothing else: no cookie counts here, so a
browser's console session can never act through the API and CSRF cannot apply (the
views say ``require_csrf=False``). A ``read`` token may GET; every other method needs a
``write`` token (403). A workspace's ``sa_`` token is refused (401). Served only on the
main domain (the console host): on any other host these addresses do not exist (404).

Every call runs the same function in ``salesapp.operations`` as the ``salesapp``
command and the console, in the token's operator's name (``Catalog.acting_as``), so
the operations log names them. Long operations (a move, a backup) are queued as jobs
(salesapp.operations.jobs) and answered with 202 and the job's status URL. Errors are
JSON, ``{"error": "..."}``: 400 bad input, 401 no or a bad token, 403 a read token on
a write, 404, 405, 409 a conflict (a subdomain taken, a job already running).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import re
from pathlib import Path

from pyramid.exceptions import PredicateMismatch
from pyramid.httpexceptions import HTTPException
from pyramid.renderers import render_to_response
from pyramid.response import FileResponse, Response

from ..operations import jobs, lifecycle, operator_tokens, provisioning
from ..operations.catalog import Catalog
from ..operations.errors import NotFound, OperationError
from ..operations.operator_tokens import TOKEN_PREFIX, TokenRefusal
from ..operations.operators import is_console_host
from ..security import bearer_token
from ..tenancy.directory import StoreKind, TenantStatus
from .auth import console_catalog

log = logging.getLogger(__name__)

PREFIX = "/operator/api"
#: the API's paths, as Pyramid's path_info predicate takes them
API_PATHS = r"^/operator/api(/|$)"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TEXT = 500
MAX_DOMAINS = 20
SERVER_ERROR = (
    "Internal error: it was logged; check the operations log and the job list for what "
    "was done, then try again or report it with the time of the request"
)
#: the refusals that are conflicts with the deployment's state (409), by the words the
#: operations use (they raise OperationError for every expected refusal; these are the
#: ones a retry after someone else's change, not a corrected request, would settle)
CONFLICT = re.compile(
    r"is taken|already belongs to|is already |exists already|being created right now"
    r"|is being moved|already (queued|running)|has a .* job|a job .* (queued|running)",
    re.IGNORECASE,
)


class ApiError(Exception):
    """An answer other than success: ``status`` and a message a person can act on."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _default(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return value.name
    raise TypeError(f"not JSON: {type(value).__name__}")


def answer(data, status: int = 200, headers: dict | None = None) -> Response:
    """A JSON answer, never cached (tokens, passwords and tenants' details pass here)."""
    response = Response(
        body=json.dumps(data, default=_default).encode("utf-8"),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers or {})
    return response


def error(status: int, message: str, headers: dict | None = None) -> Response:
    return answer({"error": message}, status, headers)


def not_found_page(request) -> Response:
    """The site's own not-found page: what any other host answers at these addresses."""
    response = render_to_response("errors/not_found.jinja2", {}, request=request)
    response.status_int = 404
    return response


def refusal_status(exc: OperationError) -> int:
    """The status of an operation's refusal: 404 not found, 409 a conflict, else 400."""
    if isinstance(exc, NotFound):
        return 404
    return 409 if CONFLICT.search(str(exc)) else 400


# -- authentication ------------------------------------------------------------------


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, {"WWW-Authenticate": 'Bearer realm="operator API"'})


def authenticate(request, write: bool) -> Catalog:
    """The catalog acting as the operator whose token the request carries, after the
    token's checks; ApiError 401 or 403 otherwise. Only the Authorization header is
    read: a cookie never authenticates here."""
    token = bearer_token(request)
    if token is None:
        raise _unauthorized(
            "Authenticate with an operator API token: send Authorization: Bearer sop_... "
            "(make one under API tokens in the operator console, or with "
            "`salesapp operator token create NAME --scope read|write`)"
        )
    if not token.startswith(TOKEN_PREFIX):
        raise _unauthorized(
            "This is not an operator API token (a workspace's sa_ token works only in its "
            "workspace's /api): send an operator token, sop_..."
        )
    catalog = console_catalog(request.registry)
    holder = operator_tokens.holder_of(catalog, token)
    if isinstance(holder, TokenRefusal):
        raise _unauthorized(
            f"{holder.reason}: make a new one under API tokens in the operator console"
        )
    if write and not holder.can_write:
        raise ApiError(
            403,
            f"This token's scope is {holder.scope} (GET only): {request.method[:10]} needs a "
            "token with scope write, which only an operator (not a viewer) can make",
            {"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="write"'},
        )
    return catalog.acting_as(holder.operator)


def api_view(view, write: bool | None = None):
    """Wrap ``view(request, catalog)``: the main domain only, the token's checks, and
    every expected refusal as JSON. ``write`` defaults to the method's (not a GET)."""

    def wrapped(context, request):
        if not is_console_host(request.registry.salesapp_settings, request.site.host):
            return not_found_page(request)
        needs_write = request.method not in READ_METHODS if write is None else write
        try:
            return view(request, authenticate(request, needs_write))
        except ApiError as exc:
            return error(exc.status, exc.message, exc.headers)
        except OperationError as exc:
            return error(refusal_status(exc), str(exc))

    return wrapped


# -- input ---------------------------------------------------------------------------


def json_object(request) -> dict:
    """The request's JSON object body (an empty body is an empty object)."""
    if not request.body:
        return {}
    media = (request.content_type or "").lower()
    if media != "application/json":
        raise ApiError(
            415, f"Send JSON: Content-Type: application/json ({media[:60] or 'none'} given)"
        )
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (ValueError, RecursionError):
        raise ApiError(400, "The body is not valid JSON (UTF-8)") from None
    if not isinstance(data, dict):
        raise ApiError(400, 'The body must be a JSON object, e.g. {"reason": "..."}')
    return data


def _type_name(value) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "null" if value is None else f"a JSON {type(value).__name__}"
    )


class Fields:
    """The fields of a JSON object body, each read once with its type and bounds; an
    unknown field is refused by :meth:`done` (a typo must not be silently ignored)."""

    def __init__(self, data: dict):
        self.data, self.read = data, set()

    def _get(self, name, required):
        self.read.add(name)
        value = self.data.get(name)
        if value is None and required:
            raise ApiError(400, f"{name}: is required")
        return value

    def text(self, name, *, required=False, max_length=MAX_TEXT, default=None) -> str | None:
        value = self._get(name, required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise ApiError(400, f"{name}: must be a string ({_type_name(value)} given)")
        value = value.strip()
        if required and not value:
            raise ApiError(400, f"{name}: is required (it is blank)")
        if len(value) > max_length:
            raise ApiError(400, f"{name}: at most {max_length} characters ({len(value)} given)")
        if "\x00" in value:
            raise ApiError(400, f"{name}: must not contain NUL characters")
        return value

    def choice(self, name, choices, *, default=None) -> str | None:
        value = self.text(name, max_length=40)
        if value is None:
            return default
        if value not in choices:
            raise ApiError(400, f"{name}: one of {', '.join(choices)} ({value!r} given)")
        return value

    def integer(self, name, low, high, *, default=None) -> int | None:
        value = self._get(name, False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError(400, f"{name}: must be a whole number ({_type_name(value)} given)")
        if not low <= value <= high:
            raise ApiError(400, f"{name}: from {low} to {high} ({value} given)")
        return value

    def boolean(self, name, *, default=False) -> bool:
        value = self._get(name, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ApiError(400, f"{name}: must be true or false ({_type_name(value)} given)")
        return value

    def texts(self, name, *, max_items=MAX_DOMAINS, max_length=253) -> list[str]:
        value = self._get(name, False)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ApiError(400, f"{name}: must be a list of strings ({_type_name(value)} given)")
        if len(value) > max_items:
            raise ApiError(400, f"{name}: at most {max_items} ({len(value)} given)")
        out = []
        for item in value:
            if not isinstance(item, str) or not item.strip() or len(item) > max_length:
                raise ApiError(
                    400,
                    f"{name}: each must be a non-empty string of at most {max_length} characters",
                )
            out.append(item.strip())
        return out

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            known = ", ".join(sorted(self.read))
            raise ApiError(400, f"unknown field {str(unknown[0])[:60]!r}: the fields are {known}")


def query_text(request, name, max_length=200) -> str | None:
    value = request.GET.get(name)
    if value is None or value == "":
        return None
    if len(value) > max_length or "\x00" in value:
        raise ApiError(400, f"{name}: at most {max_length} characters, no NUL")
    return value


# -- tenants -------------------------------------------------------------------------


def tenant_url(request, slug: str) -> str:
    return request.route_url("console.api.tenant", slug=slug)


def list_tenants(request, catalog: Catalog):
    status = query_text(request, "status", 40)
    statuses = tuple(s.value for s in TenantStatus)
    if status is not None and status not in statuses:
        raise ApiError(400, f"status: one of {', '.join(statuses)} ({status[:40]!r} given)")
    store = query_text(request, "store")
    try:
        rows = lifecycle.list_tenants(catalog, store_name=store)
    except NotFound as exc:  # a filter naming no store is a bad filter, not a missing page
        raise ApiError(400, f"store: {exc}") from None
    if status is not None:
        rows = [row for row in rows if row["status"] == status]
    return answer({"tenants": rows})


def show_tenant(request, catalog: Catalog):
    return answer(lifecycle.show_tenant(catalog, request.matchdict["slug"]))


def create_tenant(request, catalog: Catalog):
    """The same creation as `salesapp tenant create` (provisioning.create_tenant)."""
    fields = Fields(json_object(request))
    placement = fields.choice(
        "placement", (StoreKind.POOLED.value, StoreKind.DEDICATED.value), default="pooled"
    )
    wanted = provisioning.TenantRequest(
        name=fields.text("name", required=True, max_length=200),
        slug=fields.text("subdomain", required=True, max_length=63),
        admin_email=fields.text("admin_email", required=True, max_length=254),
        placement=StoreKind(placement),
        store_name=fields.text("store", max_length=200),
        admin_username=fields.text("admin_username", max_length=63, default="admin"),
        admin_password=fields.text("admin_password", max_length=200),
        max_users=fields.integer("max_users", 1, 100_000, default=50),
        multi_location=fields.boolean("multi_location"),
        trial_days=fields.integer("trial_days", 1, 3650),
        domains=fields.texts("domains"),
        demo_data=fields.boolean("demo_data"),
    )
    fields.done()
    created = provisioning.create_tenant(catalog, wanted)
    admin = {"username": created.admin_username}
    if created.generated_password:  # shown once, as the command prints it
        admin["password"] = created.admin_password
    body = {
        "tenant": lifecycle.show_tenant(catalog, created.slug),
        "admin": admin,
        "one_time_passwords": [
            {"username": username, "password": password}
            for username, password in created.one_time_passwords
        ],
    }
    return answer(body, 201, {"Location": tenant_url(request, created.slug)})


def _set_status(request, catalog: Catalog, status: TenantStatus, reason_required: bool):
    fields = Fields(json_object(request))
    reason = fields.text("reason", required=reason_required)
    fields.done()
    return answer(lifecycle.set_status(catalog, request.matchdict["slug"], status, reason))


def suspend_tenant(request, catalog: Catalog):
    return _set_status(request, catalog, TenantStatus.SUSPENDED, True)


def resume_tenant(request, catalog: Catalog):
    return _set_status(request, catalog, TenantStatus.ACTIVE, False)


def _flag(request, name: str) -> bool:
    value = (query_text(request, name, 10) or "false").lower()
    if value not in ("true", "false"):
        raise ApiError(400, f"{name}: true or false ({value!r} given)")
    return value == "true"


def delete_tenant(request, catalog: Catalog):
    slug = request.matchdict["slug"]
    confirm = query_text(request, "confirm", 100)
    if confirm is None or confirm.strip().lower() != slug.strip().lower():
        raise ApiError(
            400,
            f"confirm: give the subdomain again to confirm the deletion (?confirm={slug[:63]}); "
            "nothing was deleted",
        )
    keep = _flag(request, "keep_database")
    result = lifecycle.delete_tenant(catalog, slug, keep_database=keep)
    return answer(result)


# -- domains -------------------------------------------------------------------------


def _domains(info: dict) -> dict:
    return {
        "slug": info["slug"],
        "domains": [
            {"host": host, "primary": host == info["primary_domain"]} for host in info["domains"]
        ],
    }


def list_domains(request, catalog: Catalog):
    return answer(_domains(lifecycle.show_tenant(catalog, request.matchdict["slug"])))


def add_domain(request, catalog: Catalog):
    fields = Fields(json_object(request))
    host = fields.text("host", required=True, max_length=253)
    primary = fields.boolean("primary")
    fields.done()
    info = lifecycle.add_domain(catalog, request.matchdict["slug"], host, primary)
    return answer(_domains(info), 201)


def remove_domain(request, catalog: Catalog):
    slug, host = request.matchdict["slug"], request.matchdict["host"]
    return answer(_domains(lifecycle.remove_domain(catalog, slug, host)))


def make_primary(request, catalog: Catalog):
    slug, host = request.matchdict["slug"], request.matchdict["host"]
    return answer(_domains(lifecycle.make_primary(catalog, slug, host)))


# -- jobs ----------------------------------------------------------------------------


def job_body(request, job: dict) -> dict:
    body = dict(job)
    body["status_url"] = request.route_url("console.api.job", id=job["id"])
    body["download_url"] = (
        request.route_url("console.api.job.download", id=job["id"])
        if job["kind"] == "backup" and job["status"] == "succeeded"
        else None
    )
    return body


def _queued(request, catalog: Catalog, job_id: int) -> Response:
    body = job_body(request, jobs.job(catalog, job_id))
    return answer(body, 202, {"Location": body["status_url"]})


def move_tenant(request, catalog: Catalog):
    fields = Fields(json_object(request))
    to = fields.choice("to", (StoreKind.POOLED.value, StoreKind.DEDICATED.value))
    if to is None:
        raise ApiError(400, "to: is required (pooled or dedicated)")
    store = fields.text("store", max_length=200)
    keep_source = fields.boolean("keep_source")
    fields.done()
    params = {"slug": request.matchdict["slug"], "to": to, "keep_source": keep_source}
    if store:
        params["store"] = store
    return _queued(request, catalog, jobs.enqueue(catalog, "move", params))


def backup_tenant(request, catalog: Catalog):
    Fields(json_object(request)).done()
    job_id = jobs.enqueue(catalog, "backup", {"slug": request.matchdict["slug"]})
    return _queued(request, catalog, job_id)


def _job_id(request) -> int:
    raw = request.matchdict["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ApiError(404, f"no job with id {raw[:20]!r}")
    return int(raw)


def show_job(request, catalog: Catalog):
    return answer(job_body(request, jobs.job(catalog, _job_id(request))))


def download_backup(request, catalog: Catalog):
    job = jobs.job(catalog, _job_id(request))
    if job["kind"] == "backup" and not job["finished"]:
        raise ApiError(
            409,
            f"job {job['id']} is {job['status']}: its backup can be downloaded once it "
            f"succeeded (see {request.route_url('console.api.job', id=job['id'])})",
        )
    path = jobs.backup_file(catalog, job["id"])  # NotFound: no succeeded backup, or gone
    response = FileResponse(str(path), request=request, content_type="application/zip")
    response.content_disposition = f'attachment; filename="{path.name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def openapi(request):
    if not is_console_host(request.registry.salesapp_settings, request.site.host):
        return not_found_page(request)
    return answer(document())


# -- errors under /operator/api --------------------------------------------------------


def api_not_found(exc, request):
    """404 (or 405 for a known path and another method) as JSON on the main domain;
    the site's own not-found page on any other host, where the API does not exist."""
    if not is_console_host(request.registry.salesapp_settings, request.site.host):
        return not_found_page(request)
    route = request.matched_route
    if isinstance(exc, PredicateMismatch) and route is not None:
        allowed = methods_of(route.pattern)
        if allowed and request.method not in allowed:
            return error(
                405,
                f"{request.method[:20]} is not allowed on {route.pattern}; use "
                + ", ".join(allowed),
                {"Allow": ", ".join(allowed)},
            )
    return error(404, "Not found: there is nothing at this address of the operator API")


def api_http_error(exc, request):
    """Any other HTTP error raised under /operator/api (400, 405, ...), as JSON."""
    kept = {name: exc.headers[name] for name in ("Allow", "Retry-After") if name in exc.headers}
    return error(exc.code, exc.explanation or exc.title, kept)


def api_server_error(exc, request):
    """A bug or a database that failed: logged with its traceback, answered without."""
    log.exception("unexpected error answering %s %s", request.method, request.path_info)
    return error(500, SERVER_ERROR)


# -- the OpenAPI document ------------------------------------------------------------

ERROR = {"$ref": "#/components/responses/Error"}
SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 63},
    "description": "The tenant's subdomain",
}
HOST = {
    "name": "host",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 253},
    "description": "A custom domain of the tenant",
}
JOB_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
    "description": "The job's id",
}


def _text(max_length: int, **extra) -> dict:
    return {"type": "string", "maxLength": max_length, "pattern": r"^[^\u0000]*$", **extra}


def _required_text(max_length: int, **extra) -> dict:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        "pattern": r"^[^\u0000]*[^\u0000\s][^\u0000]*$",
        **extra,
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: str, status: str = "200", description: str = "OK", headers=None) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": _ref(schema)}},
    }
    if headers:
        response["headers"] = headers
    return {status: response}


def _errors(*statuses: int) -> dict:
    return {str(status): ERROR for status in sorted({401, *statuses})}


def _body(schema: str, required: bool = True) -> dict:
    return {
        "required": required,
        "content": {"application/json": {"schema": _ref(schema)}},
    }


def _operation(op_id, summary, responses, *, parameters=(), body=None, write=False) -> dict:
    scope = "write" if write else "read"
    operation = {
        "operationId": op_id,
        "summary": summary,
        "description": f"Needs a token of scope {scope}"
        + (" (403 with a read token)." if write else " or write."),
        "x-token-scope": scope,
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = list(parameters)
    if body:
        operation["requestBody"] = body
    return operation


LOCATION = {"Location": {"schema": {"type": "string"}, "description": "The new thing's URL"}}
JOB_LOCATION = {"Location": {"schema": {"type": "string"}, "description": "The job's status URL"}}
NULLABLE_TEXT = {"type": "string", "nullable": True}
TIME = {"type": "string", "nullable": True, "description": "ISO 8601, UTC"}

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {
        "title": "salesapp operator API",
        "version": "1.0.0",
        "description": (
            "The deployment's tenants, their domains, moves and backups, on the main "
            "domain only. Authenticate with an operator API token (Authorization: Bearer "
            "sop_...), made under API tokens in the operator console or with `salesapp "
            "operator token create`; cookies are not accepted. Scope read: GET only; "
            "write: every call. A workspace's sa_ token is refused (401). Moves and "
            "backups are jobs: 202 with the job and its status URL (Location). Errors "
            'are JSON: {"error": "..."}.'
        ),
    },
    "security": [{"bearer": []}],
    "paths": {
        f"{PREFIX}/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document (no token needed)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        f"{PREFIX}/tenants": {
            "get": _operation(
                "listTenants",
                "List tenants, filtered by status or store",
                {**_ok("TenantList"), **_errors(400)},
                parameters=[
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": [s.value for s in TenantStatus]},
                        "description": "Only tenants with this status",
                    },
                    {
                        "name": "store",
                        "in": "query",
                        "required": False,
                        "schema": _text(200),
                        "description": "Only the tenants of this store (400 if none has the name)",
                    },
                ],
            ),
            "post": _operation(
                "createTenant",
                "Create a tenant, pooled or dedicated (as `salesapp tenant create`)",
                {
                    **_ok("CreatedTenant", "201", "Created", LOCATION),
                    **_errors(400, 403, 404, 409, 415),
                },
                body=_body("TenantCreate"),
                write=True,
            ),
        },
        f"{PREFIX}/tenants/{{slug}}": {
            "get": _operation(
                "getTenant", "One tenant", {**_ok("Tenant"), **_errors(404)}, parameters=[SLUG]
            ),
            "delete": _operation(
                "deleteTenant",
                "Delete a tenant and all its data (as `salesapp tenant delete`)",
                {**_ok("Deleted"), **_errors(400, 403, 404, 409)},
                parameters=[
                    SLUG,
                    {
                        "name": "confirm",
                        "in": "query",
                        "required": True,
                        "schema": _required_text(100),
                        "description": "The subdomain again: nothing is deleted unless it matches",
                    },
                    {
                        "name": "keep_database",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["true", "false"]},
                        "description": "Keep a dedicated tenant's database (named in the answer)",
                    },
                ],
                write=True,
            ),
        },
        f"{PREFIX}/tenants/{{slug}}/suspend": {
            "post": _operation(
                "suspendTenant",
                "Suspend a tenant: its staff are stopped at once, its data kept",
                {**_ok("Tenant"), **_errors(400, 403, 404, 409, 415)},
                parameters=[SLUG],
                body=_body("Suspend"),
                write=True,
            )
        },
        f"{PREFIX}/tenants/{{slug}}/resume": {
            "post": _operation(
                "resumeTenant",
                "Let a suspended tenant's staff back in",
                {**_ok("Tenant"), **_errors(400, 403, 404, 409, 415)},
                parameters=[SLUG],
                body=_body("Resume", required=False),
                write=True,
            )
        },
        f"{PREFIX}/tenants/{{slug}}/domains": {
            "get": _operation(
                "listDomains",
                "A tenant's custom domains",
                {**_ok("Domains"), **_errors(404)},
                parameters=[SLUG],
            ),
            "post": _operation(
                "addDomain",
                "Serve the tenant at a custom domain too (the first becomes primary)",
                {**_ok("Domains", "201", "Added"), **_errors(400, 403, 404, 409, 415)},
                parameters=[SLUG],
                body=_body("DomainAdd"),
                write=True,
            ),
        },
        f"{PREFIX}/tenants/{{slug}}/domains/{{host}}": {
            "delete": _operation(
                "removeDomain",
                "Stop serving the tenant at a custom domain",
                {**_ok("Domains"), **_errors(403, 404)},
                parameters=[SLUG, HOST],
                write=True,
            )
        },
        f"{PREFIX}/tenants/{{slug}}/domains/{{host}}/primary": {
            "post": _operation(
                "makePrimaryDomain",
                "Make a custom domain the tenant's primary one",
                {**_ok("Domains"), **_errors(403, 404)},
                parameters=[SLUG, HOST],
                write=True,
            )
        },
        f"{PREFIX}/tenants/{{slug}}/moves": {
            "post": _operation(
                "moveTenant",
                "Queue a move to another store (a job; as `salesapp tenant move`)",
                {
                    **_ok("Job", "202", "Queued", JOB_LOCATION),
                    **_errors(400, 403, 404, 409, 415),
                },
                parameters=[SLUG],
                body=_body("Move"),
                write=True,
            )
        },
        f"{PREFIX}/tenants/{{slug}}/backups": {
            "post": _operation(
                "backupTenant",
                "Queue a backup (a job; download it once it succeeded)",
                {
                    **_ok("Job", "202", "Queued", JOB_LOCATION),
                    **_errors(400, 403, 404, 409, 415),
                },
                parameters=[SLUG],
                body=_body("Empty", required=False),
                write=True,
            )
        },
        f"{PREFIX}/jobs/{{id}}": {
            "get": _operation(
                "getJob",
                "A job: its status, progress and outcome",
                {**_ok("Job"), **_errors(404)},
                parameters=[JOB_ID],
            )
        },
        f"{PREFIX}/jobs/{{id}}/download": {
            "get": _operation(
                "downloadBackup",
                "The archive a succeeded backup job made",
                {
                    "200": {
                        "description": "The backup archive",
                        "content": {
                            "application/zip": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    **_errors(404, 409),
                },
                parameters=[JOB_ID],
            )
        },
    },
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An operator API token, sop_...",
            }
        },
        "responses": {
            "Error": {
                "description": "What was wrong and what to do",
                "content": {"application/json": {"schema": _ref("Error")}},
            }
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            },
            "Empty": {"type": "object", "additionalProperties": False},
            "Tenant": {
                "type": "object",
                "required": ["slug", "name", "status", "domains", "url"],
                "properties": {
                    "slug": {"type": "string"},
                    "name": {"type": "string"},
                    "status": {"type": "string", "enum": [s.value for s in TenantStatus]},
                    "status_reason": NULLABLE_TEXT,
                    "state": {"type": "string", "description": "The status in a few words"},
                    "store": NULLABLE_TEXT,
                    "kind": NULLABLE_TEXT,
                    "placement_state": NULLABLE_TEXT,
                    "users": {"type": "integer", "nullable": True},
                    "max_users": {"type": "integer"},
                    "multi_location": {"type": "boolean"},
                    "admin_email": {"type": "string"},
                    "trial_ends_at": TIME,
                    "trial_ended": {"type": "boolean"},
                    "moving": {"type": "object", "nullable": True},
                    "creation": {"type": "object", "nullable": True},
                    "copies": {"type": "array", "items": {"type": "object"}},
                    "domains": {"type": "array", "items": {"type": "string"}},
                    "primary_domain": NULLABLE_TEXT,
                    "url": {"type": "string"},
                    "created_at": {"type": "string"},
                },
            },
            "TenantList": {
                "type": "object",
                "required": ["tenants"],
                "properties": {"tenants": {"type": "array", "items": _ref("Tenant")}},
            },
            "TenantCreate": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "subdomain", "admin_email"],
                "properties": {
                    "name": _required_text(200, description="The business's name"),
                    "subdomain": _required_text(63, description="A DNS label, not reserved"),
                    "admin_email": _required_text(254),
                    "placement": {"type": "string", "enum": ["pooled", "dedicated"]},
                    "store": {
                        **_text(200),
                        "nullable": True,
                        "description": "A pooled store (pooled) or a dedicated-server store",
                    },
                    "admin_username": {**_text(63), "nullable": True},
                    "admin_password": {
                        **_text(200),
                        "nullable": True,
                        "description": "Else generated and shown once in the answer",
                    },
                    "max_users": {"type": "integer", "minimum": 1, "maximum": 100000},
                    "multi_location": {"type": "boolean"},
                    "trial_days": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 3650,
                        "nullable": True,
                    },
                    "domains": {
                        "type": "array",
                        "maxItems": MAX_DOMAINS,
                        "items": _required_text(253),
                    },
                    "demo_data": {"type": "boolean"},
                },
            },
            "CreatedTenant": {
                "type": "object",
                "required": ["tenant", "admin"],
                "properties": {
                    "tenant": _ref("Tenant"),
                    "admin": {
                        "type": "object",
                        "properties": {
                            "username": {"type": "string"},
                            "password": {
                                "type": "string",
                                "description": "Only when generated: shown once",
                            },
                        },
                    },
                    "one_time_passwords": {"type": "array", "items": {"type": "object"}},
                },
            },
            "Deleted": {"type": "object", "properties": {"slug": {"type": "string"}}},
            "Suspend": {
                "type": "object",
                "additionalProperties": False,
                "required": ["reason"],
                "properties": {"reason": _required_text(MAX_TEXT)},
            },
            "Resume": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"reason": {**_text(MAX_TEXT), "nullable": True}},
            },
            "Domains": {
                "type": "object",
                "properties": {
                    "slug": {"type": "string"},
                    "domains": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "host": {"type": "string"},
                                "primary": {"type": "boolean"},
                            },
                        },
                    },
                },
            },
            "DomainAdd": {
                "type": "object",
                "additionalProperties": False,
                "required": ["host"],
                "properties": {
                    "host": _required_text(253, description="e.g. shop.example.com"),
                    "primary": {"type": "boolean"},
                },
            },
            "Move": {
                "type": "object",
                "additionalProperties": False,
                "required": ["to"],
                "properties": {
                    "to": {"type": "string", "enum": ["pooled", "dedicated"]},
                    "store": {
                        **_text(200),
                        "nullable": True,
                        "description": "The target store (default: chosen as `tenant move`)",
                    },
                    "keep_source": {
                        "type": "boolean",
                        "description": "Keep the copy in the source store (deleted by default)",
                    },
                },
            },
            "Job": {
                "type": "object",
                "required": ["id", "kind", "status", "status_url"],
                "properties": {
                    "id": {"type": "integer"},
                    "kind": {"type": "string"},
                    "status": {
                        "type": "string",
                        "enum": ["queued", "running", "succeeded", "failed"],
                    },
                    "params": {"type": "object"},
                    "result": {"type": "object", "nullable": True},
                    "error": NULLABLE_TEXT,
                    "actor": {"type": "string"},
                    "tenant_slug": NULLABLE_TEXT,
                    "store_name": NULLABLE_TEXT,
                    "status_url": {"type": "string"},
                    "download_url": {**NULLABLE_TEXT, "description": "A succeeded backup's"},
                },
            },
        },
    },
}


def document() -> dict:
    """The document (a copy: callers may change theirs, never the original)."""
    return copy.deepcopy(DOCUMENT)


def methods_of(pattern: str) -> list[str]:
    """The HTTP methods the document gives a route pattern, upper case."""
    return sorted(method.upper() for method in DOCUMENT["paths"].get(pattern, {}))


# -- routes --------------------------------------------------------------------------

#: (route name, pattern, {method: view}): the API, as the document describes it
ROUTES = (
    ("console.api.tenants", "/tenants", {"GET": list_tenants, "POST": create_tenant}),
    ("console.api.tenant", "/tenants/{slug}", {"GET": show_tenant, "DELETE": delete_tenant}),
    ("console.api.tenant.suspend", "/tenants/{slug}/suspend", {"POST": suspend_tenant}),
    ("console.api.tenant.resume", "/tenants/{slug}/resume", {"POST": resume_tenant}),
    (
        "console.api.domains",
        "/tenants/{slug}/domains",
        {"GET": list_domains, "POST": add_domain},
    ),
    ("console.api.domain", "/tenants/{slug}/domains/{host}", {"DELETE": remove_domain}),
    (
        "console.api.domain.primary",
        "/tenants/{slug}/domains/{host}/primary",
        {"POST": make_primary},
    ),
    ("console.api.moves", "/tenants/{slug}/moves", {"POST": move_tenant}),
    ("console.api.backups", "/tenants/{slug}/backups", {"POST": backup_tenant}),
    ("console.api.job", "/jobs/{id}", {"GET": show_job}),
    ("console.api.job.download", "/jobs/{id}/download", {"GET": download_backup}),
)


def includeme(config):
    config.add_route("console.api.openapi", f"{PREFIX}/openapi.json", site="public")
    config.add_view(openapi, route_name="console.api.openapi", request_method="GET")
    for name, pattern, views in ROUTES:
        config.add_route(name, PREFIX + pattern, site="public")
        for method, view in views.items():
            config.add_view(
                api_view(view),
                route_name=name,
                request_method=method,
                require_csrf=False,  # no cookie authenticates here: nothing to forge
            )
    config.add_notfound_view(api_not_found, path_info=API_PATHS)
    config.add_exception_view(api_http_error, context=HTTPException, path_info=API_PATHS)
    config.add_exception_view(api_server_error, context=Exception, path_info=API_PATHS)
