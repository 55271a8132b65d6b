"""The console's tenant pages through the web: the list and its filters, every action
(each the function `salesapp tenant ...` runs, logged in the operator's name), a
viewer's refusal, CSRF, and bad input answered on the page with nothing half-made."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from salesapp.operations import jobs, lifecycle
from salesapp.operations.errors import NotFound
from salesapp.operations.job_models import Job
from salesapp.operations.models import Operation, Tenant
from tests.conftest import host_of, sign_in


def text_of(page, selector) -> str:
    found = page.html.select_one(selector)
    assert found is not None, f"no {selector} on {page.request.path}"
    return found.get_text(" ", strip=True)


def logged(catalog, action, slug):
    """(actor, outcome) of each operations log row of ``action`` on tenant ``slug``."""
    with catalog.session() as session:
        rows = session.execute(
            select(Operation.actor, Operation.outcome)
            .where(Operation.action == action, Operation.tenant_slug == slug)
            .order_by(Operation.id)
        ).all()
    return [tuple(row) for row in rows]


def tenant_form(client, slug, form_id):
    return client.get(f"/operator/tenants/{slug}").forms[form_id]


def test_the_list_searches_and_filters(console_client, make_tenant, catalog):
    client = console_client("viewer")
    slug = f"srch{secrets.token_hex(3)}"
    make_tenant(
        slug=slug, name="Corner Bakery", trial_days=5, domains=[f"bread.{slug}.example.org"]
    )
    other = make_tenant()
    lifecycle.set_status(catalog, other.slug, "suspended", "unpaid")

    def slugs(query):
        page = client.get("/operator/tenants", query)
        return {row["data-slug"] for row in page.html.select("tr[data-slug]")}

    assert slugs({"q": "corner bak"}) == {slug}
    assert slugs({"q": f"bread.{slug}"}) == {slug}  # by domain
    assert slugs({"q": slug.upper()}) == {slug}
    assert other.slug in slugs({"status": "suspended"})
    assert slug not in slugs({"status": "suspended"})
    assert slug in slugs({"trial_within": "7"})
    assert slug not in slugs({"trial_within": "3"})
    assert other.slug not in slugs({"trial_within": "3650"})  # no trial
    assert slug in slugs({"kind": "pooled", "store": "pool1", "size": "small"})
    assert slug not in slugs({"kind": "dedicated"})
    assert slug not in slugs({"size": "large"})
    row = client.get("/operator/tenants", {"q": slug}).html.select_one(f"tr[data-slug={slug}]")
    cells = {td["data-label"]: td.get_text(" ", strip=True) for td in row.select("td")}
    assert cells["Domains"] == f"bread.{slug}.example.org"
    assert cells["Store"] == "pool1 (pooled)"
    assert cells["Trial / paid"].startswith("trial to ")
    assert cells["Users"] == "1/50"
    assert int(cells["Rows, size"].split(",")[0]) > 0
    assert cells["Sales, 30 days"] == "0"
    # a bad filter is said, not a traceback
    page = client.get("/operator/tenants", {"trial_within": "soon"}, status=400)
    assert "not a whole number" in text_of(page, ".error")
    page = client.get("/operator/tenants", {"store": "nope"}, status=400)
    assert "no store named 'nope'" in text_of(page, ".error")


def test_a_viewer_sees_a_tenant_without_its_actions(console_client, tenant_a):
    client = console_client("viewer")
    page = client.get(f"/operator/tenants/{tenant_a.slug}")
    assert text_of(page, "[data-testid=store]").startswith("pool1 (pooled")
    assert page.html.select("main form") == []  # only the layout's sign-out
    assert "New tenant" not in client.get("/operator/tenants").text
    client.get("/operator/tenants/new", status=403)
    token = page.forms["sign-out"]["csrf_token"].value
    for action in ("suspend", "resume", "extend-trial", "domain-add", "backup", "delete"):
        refused = client.post(
            f"/operator/tenants/{tenant_a.slug}/{action}",
            {"csrf_token": token, "reason": "x", "days": "3", "confirm": tenant_a.slug},
            status=403,
        )
        assert "Viewers can look but not change" in refused.text
    assert (
        lifecycle.show_tenant(client.app.registry.console_catalog, tenant_a.slug)["status"]
        == "active"
    )


def test_an_unknown_tenant_is_a_404(console_client):
    page = console_client("viewer").get("/operator/tenants/no-such-shop", status=404)
    assert "no tenant with subdomain 'no-such-shop'" in text_of(page, "[data-testid=refusal]")


def test_create_a_pooled_tenant_with_every_option(console_client, catalog):
    client = console_client()
    slug = f"new{secrets.token_hex(3)}"
    form = client.get("/operator/tenants/new").forms["create"]
    form["name"], form["subdomain"], form["admin_email"] = "New Shop", slug, f"boss@{slug}.org"
    form["max_users"], form["trial_days"] = "7", "10"
    form["admin_username"] = "boss"
    form["domains"] = f"shop.{slug}.example.org\nwww.{slug}.example.org"
    form["multi_location"] = True
    # check only: the plan, nothing made
    plan = form.submit("dry_run", status=200)
    assert "Check only: nothing was changed" in text_of(plan, "[data-testid=plan]")
    with pytest.raises(NotFound):
        lifecycle.show_tenant(catalog, slug)
    created = plan.forms["create"].submit(status=200)
    assert created.headers["Cache-Control"] == "no-store"
    password = text_of(created, "[data-testid=password]")
    info = lifecycle.show_tenant(catalog, slug)
    assert (info["max_users"], info["multi_location"], info["kind"]) == (7, True, "pooled")
    assert info["domains"] == [f"shop.{slug}.example.org", f"www.{slug}.example.org"]
    assert info["trial_ends_at"] is not None
    assert logged(catalog, "tenant.create", slug)[-1] == (client.operator.name, "ok")
    # the generated password signs the Admin in
    staff = client.__class__(client.app, extra_environ={"HTTP_HOST": f"{slug}.example.test"})
    sign_in(staff, "boss", password)


def test_create_dedicated_and_delete_it(console_client, catalog):
    client = console_client()
    slug = f"ded{secrets.token_hex(3)}"
    form = client.get("/operator/tenants/new").forms["create"]
    form["name"], form["subdomain"], form["admin_email"] = "Own DB", slug, f"a@{slug}.org"
    form["placement"] = "dedicated"
    form["admin_password"] = "A-chosen-password-for-it"
    created = form.submit(status=200)
    assert "the one you gave" in created.text
    assert lifecycle.show_tenant(catalog, slug)["kind"] == "dedicated"
    delete = tenant_form(client, slug, "delete")
    delete["confirm"] = slug
    gone = delete.submit(status=303).follow()
    assert f"Deleted {slug}" in gone.text
    with pytest.raises(NotFound):
        lifecycle.show_tenant(catalog, slug)
    assert logged(catalog, "tenant.delete", slug)[-1] == (client.operator.name, "ok")


def test_create_refuses_bad_input_and_makes_nothing(console_client, catalog, tenant_a):
    client = console_client()
    form = client.get("/operator/tenants/new").forms["create"]
    form["name"], form["subdomain"], form["admin_email"] = "Taken", tenant_a.slug, "x@y.org"
    refused = form.submit(status=400)
    assert "is taken" in text_of(refused, "[data-testid=create-error]")
    assert refused.forms["create"]["name"].value == "Taken"  # the form is kept
    slug = f"bad{secrets.token_hex(3)}"
    for field, value, words in (
        ("max_users", "lots", "Max users"),
        ("domains", "not a domain!", "domain"),
        ("database_url", "postgresql://u:p@h/db", "dedicated placement"),
    ):
        form = client.get("/operator/tenants/new").forms["create"]
        form["name"], form["subdomain"], form["admin_email"] = "Bad", slug, "x@y.org"
        form[field] = value
        refused = form.submit(status=400)
        assert words in text_of(refused, "[data-testid=create-error]"), field
    with catalog.session() as session:
        assert session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is None


def test_suspend_stops_its_staff_at_once_and_resume_lets_them_back(
    console_client, staff, catalog, client_for
):
    client = console_client()
    tenant, clients = staff(roles=("Managers",))
    clients["Managers"].get("/products", status=200)
    form = tenant_form(client, tenant.slug, "suspend")
    form["reason"] = ""
    refused = form.submit(status=400)
    assert "Say why" in text_of(refused, "[data-testid=error-suspend]")
    form = refused.forms["suspend"]
    form["reason"] = "unpaid invoice"
    page = form.submit(status=303).follow()
    assert "Suspended" in text_of(page, ".notice")
    assert text_of(page, "[data-testid=status]") == "suspended (unpaid invoice)"
    suspended = clients["Managers"].get("/products", expect_errors=True)
    assert suspended.status_int == 403
    assert "suspended" in suspended.text.lower()
    assert logged(catalog, "tenant.suspend", tenant.slug) == [(client.operator.name, "ok")]
    page.forms["resume"].submit(status=303)
    clients["Managers"].get("/products", status=200)
    assert logged(catalog, "tenant.resume", tenant.slug) == [(client.operator.name, "ok")]


def test_extend_the_trial(console_client, make_tenant, catalog):
    client = console_client()
    tenant = make_tenant(trial_days=3)
    before = lifecycle.show_tenant(catalog, tenant.slug)["trial_ends_at"]
    form = tenant_form(client, tenant.slug, "extend-trial")
    form["days"] = "0"
    refused = form.submit(status=400)
    assert "outside 1 to 3650" in text_of(refused, "[data-testid=error-extend-trial]")
    assert lifecycle.show_tenant(catalog, tenant.slug)["trial_ends_at"] == before
    form = refused.forms["extend-trial"]
    form["days"] = "30"
    assert "now ends" in form.submit(status=303).follow().text
    assert lifecycle.show_tenant(catalog, tenant.slug)["trial_ends_at"] > before
    assert logged(catalog, "tenant.extend-trial", tenant.slug) == [(client.operator.name, "ok")]


def test_domains_add_make_primary_remove(console_client, make_tenant, catalog, tenant_a):
    client = console_client()
    tenant = make_tenant()
    first, second = f"a.{tenant.slug}.example.org", f"b.{tenant.slug}.example.org"
    for host in (first, second):
        form = tenant_form(client, tenant.slug, "domain-add")
        form["host"] = host
        form.submit(status=303)
    assert lifecycle.show_tenant(catalog, tenant.slug)["primary_domain"] == first
    page = client.get(f"/operator/tenants/{tenant.slug}")
    primary = next(
        f
        for f in page.forms.values()
        if f.action.endswith("/domain-primary") and f["host"].value == second
    )
    primary.submit(status=303)
    assert lifecycle.show_tenant(catalog, tenant.slug)["primary_domain"] == second
    # a bad domain, or one another tenant has, is said beside the form
    for host, words in (("no spaces allowed.org x", "domain"), (host_of(tenant_a), "domain")):
        form = tenant_form(client, tenant.slug, "domain-add")
        form["host"] = host
        refused = form.submit(status=400)
        assert words in text_of(refused, "[data-testid=error-domain-add]")
        assert refused.forms["domain-add"]["host"].value == host
    page = client.get(f"/operator/tenants/{tenant.slug}")
    remove = next(
        f
        for f in page.forms.values()
        if f.action.endswith("/domain-remove") and f["host"].value == first
    )
    remove.submit(status=303)
    assert lifecycle.show_tenant(catalog, tenant.slug)["domains"] == [second]
    actions = ("tenant.domain.add", "tenant.domain.primary", "tenant.domain.remove")
    for action in actions:
        assert logged(catalog, action, tenant.slug)[-1] == (client.operator.name, "ok")


def test_reset_the_admins_password_shows_it_once(console_client, make_tenant, client_for):
    client = console_client()
    tenant = make_tenant()
    page = tenant_form(client, tenant.slug, "reset-password").submit(status=200)
    assert page.headers["Cache-Control"] == "no-store"
    password = text_of(page, "[data-testid=password]")
    staff = client_for(tenant)
    answer = sign_in(staff, "admin", password)
    assert answer.location.endswith("/account/password") or "password" in answer.location
    form = tenant_form(client, tenant.slug, "reset-password")
    form["user"] = "nobody-at-all"
    refused = form.submit(status=400)
    assert "nobody-at-all" in text_of(refused, "[data-testid=error-reset-password]")


def test_move_and_backup_are_queued_as_jobs(console_client, make_tenant, catalog):
    client = console_client()
    tenant = make_tenant()
    form = tenant_form(client, tenant.slug, "move")
    form["to"] = "pooled"
    form["store"] = "no-such-store"
    refused = form.submit(status=400)
    assert "no-such-store" in text_of(refused, "[data-testid=error-move]")
    assert jobs.list_jobs(catalog, tenant_slug=tenant.slug) == []
    form = tenant_form(client, tenant.slug, "move")
    form["to"] = "dedicated"
    queued = form.submit(status=303)
    (job,) = jobs.list_jobs(catalog, tenant_slug=tenant.slug)
    assert queued.location.endswith(f"/operator/jobs/{job['id']}")
    assert (job["kind"], job["actor"], job["params"]["to"]) == (
        "move",
        client.operator.name,
        "dedicated",
    )
    # one job of a tenant at a time: the backup is refused on the page
    refused = tenant_form(client, tenant.slug, "backup").submit(status=400)
    assert text_of(refused, "[data-testid=error-backup]")
    with catalog.session() as session:
        session.query(Job).filter(Job.id == job["id"]).delete()
    queued = tenant_form(client, tenant.slug, "backup").submit(status=303)
    (job,) = jobs.list_jobs(catalog, tenant_slug=tenant.slug)
    assert job["kind"] == "backup"
    assert queued.location.endswith(f"/operator/jobs/{job['id']}")


def test_restore_refuses_a_file_that_is_no_backup(console_client, settings):
    client = console_client()
    form = client.get("/operator/tenants/new").forms["restore"]
    form["archive"] = ("notes.zip", b"not a zip at all")
    refused = form.submit(status=400)
    assert text_of(refused, "[data-testid=restore-error]")
    uploads = settings.var_dir / "uploads"
    assert not uploads.exists() or not any(uploads.glob("restore-*.zip"))


def test_delete_needs_the_subdomain_typed(console_client, make_tenant, catalog):
    client = console_client()
    tenant = make_tenant()
    form = tenant_form(client, tenant.slug, "delete")
    form["confirm"] = tenant.slug + "x"
    refused = form.submit(status=400)
    assert "nothing was deleted" in text_of(refused, "[data-testid=error-delete]")
    assert lifecycle.show_tenant(catalog, tenant.slug)["status"] == "active"


def test_actions_need_the_csrf_token(console_client, make_tenant, catalog):
    client = console_client()
    tenant = make_tenant()
    for token in (None, "forged"):
        data = {"reason": "csrf", "confirm": tenant.slug}
        if token:
            data["csrf_token"] = token
        for action in ("suspend", "delete"):
            refused = client.post(f"/operator/tenants/{tenant.slug}/{action}", data, status=400)
            assert "security token" in refused.text
    assert lifecycle.show_tenant(catalog, tenant.slug)["status"] == "active"
    assert logged(catalog, "tenant.suspend", tenant.slug) == []
