"""The operator API's refusals made before any of its views runs (a body too large,
bytes that are not UTF-8 in the path) answer in the API's own JSON shape, as the staff
API's do in theirs."""

from __future__ import annotations

import webtest

from tests.conftest import BASE_DOMAIN


def test_a_body_too_large_is_refused_in_json(app, settings):
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": BASE_DOMAIN})
    body = b'{"name": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    answer = client.post("/operator/api/tenants", body, content_type="application/json", status=413)
    assert answer.content_type == "application/json"
    assert "too large" in answer.json["error"]
    assert answer.headers["Cache-Control"] == "no-store"


def test_a_path_that_is_not_utf8_is_refused_in_json(app):
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": BASE_DOMAIN})
    answer = client.get("/operator/api/tenants/%ff", status=400)
    assert answer.content_type == "application/json"
    assert answer.json["error"]


def test_elsewhere_on_the_main_domain_the_refusal_stays_plain_text(app, settings):
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": BASE_DOMAIN})
    body = b"x" * (settings.max_body_bytes + 10)
    answer = client.post("/operator/login", body, content_type="text/plain", status=413)
    assert answer.content_type == "text/plain"
