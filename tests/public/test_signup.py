"""Self-service sign-up on the public site (issue 19 item 5): the subdomain check, the
form's refusals, the pending sign-up and its e-mail, the link (once, within 24 hours),
the throttles, and the workspace made only after the link is followed."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select, update

from salesapp.operations import provisioning
from salesapp.operations import signups as processing
from salesapp.operations.models import Tenant
from salesapp.public import signups as signup_module
from salesapp.public.models import SignupStatus, signups
from salesapp.public.signups import token_hash
from tests.conftest import BASE_DOMAIN, sign_in, wait_for

from .conftest import PASSWORD, fill_in, link_in, new_client, unique


def row_of(catalog, email):
    with catalog.engine.connect() as conn:
        return conn.execute(select(signups).where(signups.c.email == email)).one()


def tenant_named(catalog, slug):
    with catalog.session() as session:
        return session.scalars(select(Tenant).where(Tenant.slug == slug)).first()


def mail_to(smtp, address, count=1):
    """The messages to ``address``, once ``count`` have arrived."""
    mine = lambda: [m for m in smtp.messages if address in m.recipients]  # noqa: E731
    assert wait_for(lambda: len(mine()) >= count), f"{len(mine())} mail(s) to {address}"
    return mine()


def sign_up(client, smtp, **kw):
    """Fill the form in; (subdomain, e-mail, the link's path)."""
    subdomain, email = (
        kw.pop("subdomain", unique()),
        kw.pop("email", f"{unique('o')}@x.example.test"),
    )
    fill_in(client, subdomain=subdomain, email=email, **kw)
    [message] = mail_to(smtp, email)
    return subdomain, email, link_in(message)


# -- the subdomain check ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("Fresh-Shop-9", "available"),
        ("www", "reserved"),
        ("-bad", "malformed"),
        ("a_b", "malformed"),
        ("", "malformed"),
    ],
)
def test_the_subdomain_check_answers(public, typed, status):
    answer = public.get("/signup/check", {"subdomain": typed}).json
    assert answer["status"] == status
    assert answer["subdomain"] == typed.lower()
    assert answer["message"]


def test_the_check_says_a_workspaces_subdomain_is_taken(public, tenant_a):
    answer = public.get("/signup/check", {"subdomain": tenant_a.slug.upper()}).json
    assert answer == {
        "subdomain": tenant_a.slug,
        "status": "taken",
        "message": f"{tenant_a.slug}.{BASE_DOMAIN} is taken; choose another.",
    }


@pytest.mark.parametrize("slug", ["www", "operator", "new"])
def test_a_reserved_name_is_refused_by_the_sign_up_and_by_tenant_create(public, catalog, slug):
    assert public.get("/signup/check", {"subdomain": slug}).json["status"] == "reserved"
    request = provisioning.TenantRequest(name="Shop", slug=slug, admin_email="a@b.example.org")
    with pytest.raises(provisioning.ProvisioningError, match=f"subdomain '{slug}' is reserved"):
        provisioning.create_tenant(catalog, request)


def test_the_form_runs_its_check_from_a_static_script(public):
    page = public.get("/signup")
    assert "/static/signup.js" in page.text
    assert page.html.find("form", id="signup-form")["data-check-url"].endswith("/signup/check")
    public.get("/static/signup.js", status=200)


# -- the form's refusals ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "kw", "says"),
    [
        ("subdomain", {"subdomain": "admin"}, "reserved"),
        ("subdomain", {"subdomain": "no_way"}, "letters, digits and hyphens"),
        ("email", {"email": "not an address"}, "e-mail address"),
        ("password", {"password": "short"}, "at least 10 characters"),
        ("password", {"password": "password123"}, ""),
        ("business_name", {"name": "   "}, "business's name"),
    ],
)
def test_the_form_refuses_with_a_message_and_keeps_nothing(
    catalog, public, smtp_server, field, kw, says
):
    email = kw.setdefault("email", f"{unique('o')}@x.example.test")
    page = fill_in(public, status=400, **kw)
    problem = page.html.find(id=f"{field}-error")
    assert problem is not None
    assert says in problem.text
    with catalog.engine.connect() as conn:
        assert conn.execute(select(signups).where(signups.c.email == email.lower())).first() is None
    assert smtp_server.messages == []


def test_a_taken_subdomain_is_refused(public, tenant_a, smtp_server):
    page = fill_in(public, subdomain=tenant_a.slug, status=400)
    assert "is taken" in page.html.find(id="subdomain-error").text


def test_the_form_needs_the_csrf_token(public):
    public.post(
        "/signup",
        {"business_name": "X", "subdomain": unique(), "email": "a@b.example", "password": PASSWORD},
        status=400,
    )


# -- a sign-up and its link ------------------------------------------------------------
def test_a_sign_up_is_kept_pending_and_its_link_emailed(catalog, public, smtp_server):
    subdomain, email = unique(), f"{unique('Owner')}@Shop.Example.test"
    sent = fill_in(public, name="  Corner   Shop ", subdomain=subdomain.upper(), email=email)
    assert sent.location.endswith("/signup/sent")
    assert email.lower() in sent.follow().text
    [message] = mail_to(smtp_server, email.lower())
    assert subdomain in message["Subject"]
    link = link_in(message)
    row = row_of(catalog, email.lower())
    assert (row.business_name, row.slug, row.status) == ("Corner Shop", subdomain, "pending")
    assert row.token_hash == token_hash(link.rsplit("/", 1)[1])  # only the token's hash is kept
    assert row.password_hash.startswith("$argon2")
    assert PASSWORD not in row.password_hash
    assert row.expires_at - row.created_at == signup_module.LINK_LIFETIME
    # no workspace, not even one being made, before the link is followed
    assert tenant_named(catalog, subdomain) is None
    # and a pending sign-up does not hold the name
    assert public.get("/signup/check", {"subdomain": subdomain}).json["status"] == "available"


def test_the_link_asks_to_confirm_and_then_the_workspace_is_made(
    catalog, signup_app, public, smtp_server, mailer
):
    subdomain, email, link = sign_up(public, smtp_server, name="Mama Njeri's")
    # following the link (a GET, as a mail scanner would) changes nothing
    confirm = public.get(link)
    assert "Confirm and create my workspace" in confirm.text
    assert row_of(catalog, email).status == "pending"
    status = confirm.forms[0].submit(status=303).follow()
    assert row_of(catalog, email).status == "verified"
    assert "We are creating" in status.text
    assert status.html.find("meta", attrs={"http-equiv": "refresh"}) is not None
    assert tenant_named(catalog, subdomain) is None  # made by `salesapp signup process`
    assert public.get("/signup/check", {"subdomain": subdomain}).json["status"] == "taken"

    outcome = processing.process_one(catalog, mailer=mailer)
    assert (outcome.slug, outcome.status) == (subdomain, SignupStatus.CREATED)
    tenant = tenant_named(catalog, subdomain)
    assert tenant.status == "active"
    assert tenant.name == "Mama Njeri's"
    assert tenant.trial_ends_at is not None
    # the trial the deployment's settings give (read by `salesapp signup process`)
    assert catalog.settings.trial_days == 14
    assert (tenant.trial_ends_at - tenant.created_at).total_seconds() == pytest.approx(
        14 * 86400, abs=60
    )
    assert row_of(catalog, email).tenant_id == tenant.id
    assert row_of(catalog, email).password_hash == ""  # kept only as the Admin's now
    [_, ready] = mail_to(smtp_server, email, 2)
    assert f"http://{subdomain}.{BASE_DOMAIN}" in ready.text()

    ready_page = public.get(status.request.path)
    assert "Your workspace is ready" in ready_page.text
    assert ready_page.html.find(attrs={"data-testid": "sign-in-link"})["href"] == (
        f"http://{subdomain}.{BASE_DOMAIN}/login"
    )
    # the signer is its Admin, with the password they chose, signing in with their e-mail
    staff = new_client(signup_app, f"{subdomain}.{BASE_DOMAIN}")
    sign_in(staff, email, PASSWORD)
    assert staff.get("/users").status_int == 200


def test_a_used_link_is_refused_clearly(catalog, public, smtp_server, mailer):
    _, email, link = sign_up(public, smtp_server)
    public.get(link).forms[0].submit(status=303)
    again = public.get(link, status=409)
    assert "already been used" in again.text
    assert "See where this sign-up is" in again.text
    # a second confirmation (a form kept open in another tab) changes nothing
    assert "already been used" in public.post(link, {"csrf_token": _csrf(public)}, status=409)
    assert row_of(catalog, email).status == "verified"
    processing.process_one(catalog, mailer=mailer)
    assert row_of(catalog, email).status == "created"


def _csrf(client) -> str:
    return client.get("/signup").forms["signup-form"]["csrf_token"].value


def test_an_expired_link_is_refused_clearly(catalog, public, smtp_server):
    subdomain, email, link = sign_up(public, smtp_server)
    with catalog.engine.begin() as conn:
        conn.execute(
            update(signups).where(signups.c.email == email).values(expires_at=signups.c.created_at)
        )
    page = public.get(link, status=410)
    assert "expired" in page.text
    assert "Sign up again" in page.text
    assert "expired" in public.post(link, {"csrf_token": _csrf(public)}, status=409)
    assert row_of(catalog, email).status == "pending"
    assert tenant_named(catalog, subdomain) is None


def test_an_unknown_link_is_refused(public):
    page = public.get("/signup/verify/not-a-token", status=404)
    assert "not one we sent" in page.text
    public.get("/signup/status/not-a-token", status=404)


def test_a_subdomain_taken_before_the_link_is_followed_fails_clearly(catalog, public, smtp_server):
    subdomain, email, link = sign_up(public, smtp_server)
    _create(catalog, subdomain)  # `tenant create` got there first
    page = public.get(link).forms[0].submit(status=303).follow()
    assert "could not create" in page.text
    assert "taken" in page.text
    row = row_of(catalog, email)
    assert row.status == "failed"


def _create(catalog, slug):
    provisioning.create_tenant(
        catalog,
        provisioning.TenantRequest(name="Quick", slug=slug, admin_email="q@quick.example.test"),
    )


def test_a_subdomain_taken_while_it_is_made_fails_and_leaves_nothing(
    catalog, public, smtp_server, mailer
):
    subdomain, email, link = sign_up(public, smtp_server)
    public.get(link).forms[0].submit(status=303)
    # `tenant create` of the same subdomain got there first (after the link was followed)
    with catalog.engine.begin() as conn:  # release the hold the verified sign-up has
        conn.execute(update(signups).where(signups.c.email == email).values(status="pending"))
    _create(catalog, subdomain)
    with catalog.engine.begin() as conn:
        conn.execute(update(signups).where(signups.c.email == email).values(status="verified"))
    outcome = processing.process_one(catalog, mailer=mailer)
    assert outcome.status == SignupStatus.FAILED
    assert "taken" in outcome.failure
    row = row_of(catalog, email)
    assert (row.status, row.tenant_id, row.password_hash) == ("failed", None, "")
    assert tenant_named(catalog, subdomain).name == "Quick"  # the other one, untouched


def test_a_failed_seed_leaves_no_workspace_and_the_sign_up_retryable(
    catalog, public, smtp_server, mailer
):
    subdomain, email, link = sign_up(public, smtp_server)
    public.get(link).forms[0].submit(status=303)

    def broken(session, tenant_id, **kw):
        raise ValueError("the store fell over")

    with pytest.raises(provisioning.ProvisioningError, match="the store fell over"):
        processing.process_one(catalog, mailer=mailer, seed=broken)
    assert tenant_named(catalog, subdomain) is None
    assert row_of(catalog, email).status == "verified"  # the next run makes it
    assert processing.process_one(catalog, mailer=mailer).status == SignupStatus.CREATED
    assert tenant_named(catalog, subdomain).status == "active"


def test_the_console_command_makes_verified_sign_ups(catalog, public, smtp_server, cli):
    subdomain, email, link = sign_up(public, smtp_server)
    public.get(link).forms[0].submit(status=303)
    out = cli("signup", "process").output
    assert f"Created {subdomain} for {email}" in out
    assert tenant_named(catalog, subdomain).status == "active"
    assert "No verified sign-up is waiting" in cli("signup", "process").output


# -- throttles -------------------------------------------------------------------------
def test_an_address_has_at_most_three_pending_sign_ups(catalog, signup_app, smtp_server):
    email = f"{unique('o')}@x.example.test"
    for _ in range(signup_module.MAX_PENDING_PER_EMAIL):
        fill_in(new_client(signup_app), email=email)
    page = fill_in(new_client(signup_app), email=email, status=429)
    assert "already has 3 sign-ups waiting" in page.text
    mail_to(smtp_server, email, 3)
    assert len([m for m in smtp_server.messages if email in m.recipients]) == 3


def test_a_client_address_is_throttled(signup_app, smtp_server):
    client = new_client(signup_app)
    for _ in range(signup_module.MAX_PER_CLIENT_PER_HOUR):
        fill_in(client)
    page = fill_in(client, status=429)
    assert "from your network address" in page.text


def test_the_deployment_takes_at_most_so_many_an_hour(
    catalog, signup_app, smtp_server, monkeypatch
):
    with catalog.engine.connect() as conn:
        recent = conn.scalar(
            select(func.count()).where(signups.c.created_at > func.now() - dt.timedelta(hours=1))
        )
    monkeypatch.setattr(signup_module, "MAX_PER_HOUR", recent)
    email = f"{unique('o')}@x.example.test"
    page = fill_in(new_client(signup_app), email=email, status=429)
    assert "too many sign-ups right now" in page.text
    assert not [m for m in smtp_server.messages if email in m.recipients]


# -- off -------------------------------------------------------------------------------
def test_sign_up_off_is_a_404(client_for, settings):
    assert settings.signup_enabled is False
    client = client_for(BASE_DOMAIN)
    for path in ("/signup", "/signup/check", "/signup/verify/x", "/signup/status/x"):
        client.get(path, status=404)
    assert "Create a workspace" not in client.get("/").text


def test_the_home_page_links_to_sign_up_when_on(public):
    assert (
        public.get("/").html.find(attrs={"data-testid": "signup-link"})["href"].endswith("/signup")
    )


def test_sign_up_pages_are_only_on_the_public_site(signup_app, tenant_a):
    new_client(signup_app, f"{tenant_a.slug}.{BASE_DOMAIN}").get("/signup", status=404)


def test_settings_default(settings):
    assert dataclasses.asdict(settings)["trial_days"] == 14


def test_unused_sign_ups_are_forgotten_a_week_after_their_link_expired(
    catalog, public, smtp_server
):
    _, kept, _ = sign_up(public, smtp_server)
    _, old, _ = sign_up(public, smtp_server)
    with catalog.engine.begin() as conn:
        conn.execute(
            update(signups)
            .where(signups.c.email == old)
            .values(expires_at=func.now() - processing.PURGE_AFTER - dt.timedelta(minutes=1))
        )
    assert processing.purge(catalog) >= 1
    with catalog.engine.connect() as conn:
        left = set(conn.scalars(select(signups.c.email).where(signups.c.email.in_([kept, old]))))
    assert left == {kept}
