"""An absolute-form request target (``GET http://b.example/login HTTP/1.1``) through a
real waitress. waitress serves it by the Host header: PATH_INFO is the target's path
alone, HTTP_HOST the Host header, and only REQUEST_URI keeps the target as sent. A proxy
or cache in front may go by the target (RFC 9112 says a server must), so a target naming
another host than the Host header is refused with 400 rather than served as the Host's
tenant."""

from __future__ import annotations

import json

import pytest

from tests.conftest import host_of
from tests.realserver import exchange, pserve, request_bytes


@pytest.fixture(scope="module")
def port(settings, tmp_path_factory):
    with pserve(settings, tmp_path_factory.mktemp("absolute"), {"threads": "2"}) as port:
        yield port


def answer(port, target, host):
    raw = exchange(port, request_bytes("GET", target, host), timeout=30)
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode("utf-8", "replace")


def test_a_target_naming_another_tenant_than_the_host_is_refused(port, tenant_a, tenant_b):
    status, body = answer(port, f"http://{host_of(tenant_b)}/login", host_of(tenant_a))
    assert status == 400
    assert "names the host" in body
    assert host_of(tenant_b) in body
    assert tenant_a.name not in body
    assert tenant_b.name not in body


def test_the_api_refuses_it_as_json(port, tenant_a, tenant_b):
    status, body = answer(port, f"http://{host_of(tenant_b)}/api/products", host_of(tenant_a))
    assert status == 400
    assert json.loads(body)["message"].startswith("Bad request: the request's target names")


def test_a_target_naming_the_same_host_is_served(port, tenant_a):
    target = f"http://{host_of(tenant_a).upper()}:80/login"
    status, body = answer(port, target, host_of(tenant_a))
    assert status == 200
    assert f"Sign in to {tenant_a.name}" in body


def test_a_target_with_a_host_not_in_canonical_form_is_refused(port, tenant_a):
    # "xn--<slug>-" decodes to the slug itself: an A-label that does not round-trip
    # (bytes outside ASCII in a target waitress refuses itself: "Bad URI")
    alias = f"xn--{tenant_a.slug}-.{host_of(tenant_a).split('.', 1)[1]}"
    status, body = answer(port, f"http://{alias}/login", alias)
    assert status == 400
    assert "not a host name as written" in body
    status, body = answer(port, f"http://{alias}/login", host_of(tenant_a))
    assert status == 400
    assert "not a host name as written" in body


def test_a_path_alone_is_served_by_the_host(port, tenant_a):
    status, body = answer(port, "/login", host_of(tenant_a))
    assert status == 200
    assert f"Sign in to {tenant_a.name}" in body
