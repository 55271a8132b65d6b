"""Body size limits (salesapp.limits): an oversized form, JSON body or upload gets a
413 that says the limit and what to do, before anything reads the body; a chunked body
of unknown length is read no further than the limit and one byte."""

from __future__ import annotations

import configparser
import dataclasses
import io
import json
from wsgiref.util import is_hop_by_hop

import pytest
import webob
import webtest

from salesapp import close_app, make_app
from salesapp.operations.tokens import issue_token
from tests.conftest import REPO, host_of, sign_in
from tests.products.helpers import csrf_token

MAX_BODY = 2000
MAX_UPLOAD = 8000


class CountingInput(io.RawIOBase):
    """A wsgi.input that counts the bytes taken from it."""

    def __init__(self, data: bytes):
        self.stream = io.BytesIO(data)
        self.taken = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.taken += len(data)
        return len(data)


@pytest.fixture(scope="module")
def small_app(settings):
    """The app with small limits (the defaults are 1 MB and 10 MB)."""
    app = make_app(
        dataclasses.replace(
            settings, listen=False, max_body_bytes=MAX_BODY, max_upload_bytes=MAX_UPLOAD
        )
    )
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def tenant(make_tenant):
    return make_tenant("pooled")


def send(app, host, path, body: bytes, content_type, *, chunked=False, headers=None):
    """POST ``body`` as it is; with ``chunked`` no Content-Length, as a server passes a
    chunked body on. Returns (response, bytes the app read)."""
    request = webob.Request.blank(path, method="POST", environ={"HTTP_HOST": host})
    stream = CountingInput(body)
    request.environ["wsgi.input"] = stream
    request.environ["CONTENT_TYPE"] = content_type
    if chunked:
        request.environ.pop("CONTENT_LENGTH", None)
        request.environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        request.environ["wsgi.input_terminated"] = True
    else:
        request.environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        request.headers[name] = value
    response = request.get_response(app)
    # a WSGI server refuses the whole answer (waitress: a 500) for a hop-by-hop header
    assert not [name for name in response.headers if is_hop_by_hop(name)], response.headers
    return response, stream.taken


def test_a_form_over_the_limit_is_refused_unread(small_app, tenant):
    body = b"username=admin&password=" + b"x" * MAX_BODY
    res, taken = send(
        small_app, host_of(tenant), "/login", body, "application/x-www-form-urlencoded"
    )
    assert res.status_int == 413
    assert res.content_type == "text/plain"
    assert f"at most {MAX_BODY:,} bytes" in res.text
    assert f"{len(body):,} bytes" in res.text
    assert "Shorten what you typed" in res.text
    assert taken == 0


def test_a_form_at_the_limit_is_read(small_app, tenant):
    body = b"username=admin&password=" + b"x" * (MAX_BODY - 24)
    assert len(body) == MAX_BODY
    res, taken = send(
        small_app, host_of(tenant), "/login", body, "application/x-www-form-urlencoded"
    )
    assert res.status_int != 413  # CSRF or the sign-in answers it
    assert taken == MAX_BODY


def test_an_api_body_over_the_limit_is_json_413_unread(small_app, tenant, catalog):
    token = issue_token(catalog, tenant.slug, "admin", "limits").plaintext
    body = json.dumps({"name": "x" * MAX_BODY}).encode()
    res, taken = send(
        small_app,
        host_of(tenant),
        "/api/customers",
        body,
        "application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert res.status_int == 413
    assert res.content_type == "application/json"
    assert set(res.json) == {"message", "errors"}
    assert f"at most {MAX_BODY:,} bytes" in res.json["message"]
    assert "Send less at once" in res.json["message"]
    assert "too large" in res.json["errors"]["body"]
    assert taken == 0


def test_the_limit_holds_on_unknown_hosts_too(small_app):
    res, taken = send(
        small_app, "nobody.example.test", "/api/products", b"{" * (MAX_BODY + 1), "text/plain"
    )
    assert res.status_int == 413 and taken == 0


@pytest.mark.parametrize("path", ["/login", "/api/customers"])
def test_a_chunked_body_over_the_limit_is_read_only_to_the_limit(small_app, tenant, path):
    body = b"x" * (MAX_BODY * 50)
    res, taken = send(
        small_app, host_of(tenant), path, body, "application/x-www-form-urlencoded", chunked=True
    )
    assert res.status_int == 413
    assert "more than 2,000 bytes" in res.text
    assert taken <= MAX_BODY + 1 + io.DEFAULT_BUFFER_SIZE  # one buffered read at most


def test_a_chunked_body_under_the_limit_reaches_the_view(small_app, tenant, catalog):
    token = issue_token(catalog, tenant.slug, "admin", "chunked").plaintext
    body = json.dumps({"name": "Chunked customer"}).encode()
    res, _ = send(
        small_app,
        host_of(tenant),
        "/api/customers",
        body,
        "application/json",
        chunked=True,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert res.status_int == 201, res.text
    assert res.json["name"] == "Chunked customer"


@pytest.fixture(scope="module")
def importer(small_app, tenant):
    client = webtest.TestApp(small_app, extra_environ={"HTTP_HOST": host_of(tenant)})
    sign_in(client, "admin", tenant.admin_password)
    return client


def upload(client, data: bytes, status):
    return client.post(
        "/products/import",
        {"csrf_token": csrf_token(client)},
        upload_files=[("file", "products.csv", data)],
        status=status,
    )


def test_an_upload_over_the_upload_limit_is_refused(importer):
    data = b"sku,name,unit_price\n" + b"A,Apple,1.00\n" * (MAX_UPLOAD // 13)
    res = upload(importer, data, 413)
    assert f"at most {MAX_UPLOAD:,} bytes" in res.text
    assert "Split the file into smaller files" in res.text


def test_an_upload_between_the_limits_is_imported(importer):
    """A multipart upload gets the upload limit, not the form limit."""
    lines = [f"P{i:04d},Product {i},1.00" for i in range(MAX_BODY // 20 + 10)]
    data = ("sku,name,unit_price\n" + "\n".join(lines) + "\n").encode()
    assert MAX_BODY < len(data) < MAX_UPLOAD - 1000
    res = upload(importer, data, 303)
    assert f"Imported {len(lines)} products" in res.follow().text


@pytest.mark.parametrize("ini", ["development.ini", "production.ini"])
def test_the_servers_limit_sits_above_the_apps(ini):
    """waitress buffers at most its max_request_body_size; the app's limits (stated in
    the same file) must fit under it, or the app's 413 with its advice never shows."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / ini)
    server = int(parser["server:main"]["max_request_body_size"])
    app = parser["app:main"]
    body, uploads = int(app["salesapp.max_body_bytes"]), int(app["salesapp.max_upload_bytes"])
    assert body <= uploads < server <= 4 * uploads
