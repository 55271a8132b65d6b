"""A Host that is not in canonical form is refused with 400, never mapped onto a tenant.

IDNA maps some names onto others: a soft hyphen vanishes, "ª" reads as "a", "ß" as
"ss", and "xn--<name>-" decodes to plain "<name>". A Host sent that way used to reach
the tenant it maps to, while a proxy's allow-list or a cache keyed on the raw header
saw another name. WSGI passes header bytes as latin-1, so each byte outside ASCII is one
character of HTTP_HOST, as below. ASCII case, a port and a trailing dot are folded the
same way for every use of the name (the directory's key is the folded name)."""

from __future__ import annotations

import secrets

import pytest

from salesapp.tenancy.hosts import host_problem, normalize_host
from tests.conftest import BASE_DOMAIN, TRUSTED_PROXY, host_of
from tests.functional.test_resolution import database_use

#: ways to write a name that IDNA (or a lax reader) maps onto ``slug``; each is refused
ALIASES = {
    "soft hyphen": lambda slug: f"{slug[:2]}\xad{slug[2:]}",
    "feminine ordinal": lambda slug: slug.replace("a", "\xaa", 1),
    "sharp s": lambda slug: slug.replace("ss", "\xdf", 1),
    "utf-8 bytes": lambda slug: slug.replace("a", "\xc3\xa0", 1),
    "percent": lambda slug: slug.replace("a", "%61", 1),
    "a-label of plain ascii": lambda slug: f"xn--{slug}-",
}


@pytest.fixture(scope="module")
def glass(make_tenant):
    """A tenant whose subdomain has an "a" and an "ss" to write otherwise."""
    return make_tenant("pooled", slug=f"glass{secrets.token_hex(3)}")


@pytest.mark.parametrize("alias", ALIASES.values(), ids=ALIASES.keys())
@pytest.mark.parametrize("path", ["/login", "/api/products", "/healthz", "/static/app.css"])
def test_a_host_that_maps_onto_a_tenant_is_refused_without_any_database(
    glass, client_for, alias, path
):
    host = f"{alias(glass.slug)}.{BASE_DOMAIN}"
    with database_use() as used:
        res = client_for(host).get(path, status=400)
    assert used == []
    assert glass.name not in res.text
    if path.startswith("/api"):
        assert set(res.json) == {"message", "errors"}
        assert "host" in res.json["errors"]
    assert "not a host name as written" in res.text
    assert "xn-- form" in res.text  # what to do


@pytest.mark.parametrize("suffix", ["\xa0", "\x85", "\t\xa0"])
def test_white_space_outside_ascii_around_the_host_is_refused(glass, client_for, suffix):
    client_for(host_of(glass) + suffix).get("/login", status=400)


def test_a_forwarded_host_from_the_proxy_is_held_to_the_same_form(glass, client_for):
    client = client_for("proxy.internal", REMOTE_ADDR=TRUSTED_PROXY)
    alias = f"{ALIASES['soft hyphen'](glass.slug)}.{BASE_DOMAIN}"
    res = client.get("/login", headers={"X-Forwarded-Host": alias}, status=400)
    assert glass.name not in res.text
    res = client.get("/login", headers={"X-Forwarded-Host": host_of(glass)})
    assert f"Sign in to {glass.name}" in res.text


@pytest.mark.parametrize(
    "variant",
    [str.upper, lambda h: h + ".", lambda h: h.title() + ":443", lambda h: f" {h}\t"],
    ids=["upper", "trailing-dot", "mixed-port", "ows"],
)
def test_ascii_case_port_and_trailing_dot_are_folded_to_the_same_key(glass, client_for, variant):
    host = variant(host_of(glass))
    assert normalize_host(host) == host_of(glass)  # the directory's key
    assert f"Sign in to {glass.name}" in client_for(host).get("/login").text


def test_an_internationalised_name_in_its_canonical_a_label_is_served(make_tenant, client_for):
    domain = f"xn--bcher-kva.{secrets.token_hex(3)}.example.org"
    tenant = make_tenant("pooled", domains=[domain])
    for host in (domain, domain.upper() + ":443"):
        assert f"Sign in to {tenant.name}" in client_for(host).get("/login").text


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("gl\xadass.example.test", "U+00AD"),
        ("\xaaa.example.test", "U+00AA"),
        ("stra\xdfe.example.test", "U+00DF"),
        ("a%2eb.example.test", "U+0025"),
        ("a b.example.test", "U+0020"),
        ("xn--acme-.example.test", "'xn--acme-'"),  # decodes to plain "acme"
        ("xn--zz.example.test", "'xn--zz'"),  # not punycode at all
    ],
)
def test_host_problem_names_what_is_wrong(raw, reason):
    assert reason in host_problem(raw)
    assert normalize_host(raw) is None


@pytest.mark.parametrize(
    "raw", ["acme.example.test", "ACME.Example.Test.:8080", "xn--bcher-kva.example.test", ""]
)
def test_canonical_hosts_have_no_problem(raw):
    assert host_problem(raw) is None
