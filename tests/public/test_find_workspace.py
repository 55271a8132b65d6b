"""The find-your-workspace form (issue 19 item 8): its page's Content-Security-Policy
lets the form lead to a workspace's host (browsers hold the redirect of /find to
``form-action`` as well), and no other page gets that allowance."""

from __future__ import annotations

from salesapp.headers import CONTENT_SECURITY_POLICY, workspace_redirect_policy
from tests.conftest import BASE_DOMAIN


def directives(res) -> dict[str, str]:
    csp = res.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in csp.split(";"))


def test_the_find_page_may_send_its_form_to_a_workspace_host(client_for, settings):
    res = client_for(BASE_DOMAIN).get("/")
    assert directives(res)["form-action"] == "'self' *.example.test:* *.localhost:*"
    assert res.headers["Content-Security-Policy"] == workspace_redirect_policy(
        settings.base_domains
    )
    # everything else as strict as on every page
    assert directives(res)["script-src"] == "'self'"
    # the page re-shown with its error keeps it
    res = client_for(BASE_DOMAIN).get("/find", {"workspace": "-no-"}, status=400)
    assert "*.example.test:*" in directives(res)["form-action"]


def test_no_other_page_gets_the_allowance(client_for, tenant_a):
    res = client_for(tenant_a).get("/login")
    assert res.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert directives(res)["form-action"] == "'self'"


def test_find_redirects_to_the_workspaces_sign_in(client_for, tenant_a):
    res = client_for(BASE_DOMAIN).get("/find", {"workspace": tenant_a.slug.upper()}, status=302)
    assert res.location == f"http://{tenant_a.slug}.{BASE_DOMAIN}/login"
