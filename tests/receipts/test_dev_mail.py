"""Development's own SMTP server and its /dev/mail page; the mail settings' checks."""

from __future__ import annotations

import dataclasses

import pytest
import webtest

from salesapp import close_app, make_app
from salesapp.mail import MailUnavailable, NoMailer, check_address
from salesapp.settings import MailSettings, SettingsError, parse_settings
from tests.conftest import form_with, host_of, sign_in
from tests.receipts.test_receipts import one


def test_the_dev_mail_page_is_not_there_unless_enabled(app, shop):
    shop.client.get("/dev/mail", status=404)
    webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost"}).get("/dev/mail", status=404)


@pytest.fixture
def dev_app(settings, tmp_path):
    """The app as development runs it: no mail host (its own SMTP server, keeping mail
    under var/mail), the /dev/mail page on."""
    app = make_app(
        dataclasses.replace(settings, var_dir=tmp_path, mail=MailSettings(), dev_mail=True)
    )
    yield app, tmp_path / "mail"
    close_app(app)


def test_development_keeps_mail_under_var_and_lists_it(dev_app, shop):
    app, folder = dev_app
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(shop.tenant)})
    sign_in(client, "admin", shop.tenant.admin_password)
    assert "No mail yet." in client.get("/dev/mail").text
    sale_id, number = shop.sell((shop.zero, "1"))
    form = form_with(client.get(f"/sales/{sale_id}"), "email")
    form["email"] = "dev@example.com"
    form.submit(status=303)
    kept = list(folder.glob("*.eml"))
    assert len(kept) == 1  # handed over before the response: the mailer waits for the 250
    listing = client.get("/dev/mail")
    row = listing.html.select_one('[data-testid="dev-mail"] tbody tr')
    assert "dev@example.com" in row.text
    assert f"Your receipt {number}" in row.text
    message = client.get(row.select_one("a")["href"])
    assert "Total USD: 50.00" in one(message, "mail-text")
    client.get("/dev/mail/../../etc/passwd.eml", status=404)
    client.get("/dev/mail/nothing.eml", status=404)


def test_production_without_a_mail_host_says_what_to_set():
    with pytest.raises(MailUnavailable, match="SALESAPP_MAIL_HOST"):
        NoMailer().bind().send(object())


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"mail.tls": "true", "mail.ssl": "true"}, "choose mail.ssl"),
        ({"mail.port": "smtp"}, "mail.port must be a whole number"),
        ({"mail.port": "70000"}, "between 1 and 65535"),
        ({"mail.default_sender": "shop"}, "must be an e-mail address"),
    ],
)
def test_bad_mail_settings_say_how_to_fix_them(raw, says):
    with pytest.raises(SettingsError, match=says):
        parse_settings(raw, environ={})


def test_mail_settings_are_read_with_the_environment_winning():
    settings = parse_settings(
        {"mail.host": "smtp.ini.example", "mail.tls": "yes", "salesapp.dev_mail": "true"},
        environ={"SALESAPP_MAIL_HOST": "smtp.env.example", "SALESAPP_MAIL_PASSWORD": "s3cret"},
    )
    assert settings.mail == MailSettings(
        host="smtp.env.example", port=25, password="s3cret", tls=True
    )
    assert settings.dev_mail is True
    assert parse_settings({"mail.ssl": "on"}, environ={}).mail.port == 465
    production = {"salesapp.production": "true", "salesapp.secret_key": "x" * 40}
    assert parse_settings({**production, "salesapp.dev_mail": "true"}, environ={}).dev_mail is False


@pytest.mark.parametrize(
    ("typed", "address"),
    [
        (" ann@example.com ", "ann@example.com"),
        ("o'neil+receipts@shop.co.ke", "o'neil+receipts@shop.co.ke"),
        ("ann@example", None),
        ("ann example.com", None),
        ("<ann@example.com>", None),
        ("ann@exa mple.com", None),
        ("a@b.com\r\nBcc: x@y.com", None),
        ("", None),
    ],
)
def test_addresses_typed(typed, address):
    assert check_address(typed) == address
