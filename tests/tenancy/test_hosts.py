"""Host normalisation and classification."""

import pytest

from salesapp.tenancy.hosts import HostMatch, classify, normalize_host

BASES = ("example.test", "localhost")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("demo.example.test", "demo.example.test"),
        ("Demo.EXAMPLE.test", "demo.example.test"),
        ("demo.example.test:8080", "demo.example.test"),
        ("demo.example.test.", "demo.example.test"),
        ("demo.example.test.:443", "demo.example.test"),
        ("  demo.example.test  ", "demo.example.test"),
        ("xn--bcher-kva.example.test", "xn--bcher-kva.example.test"),
        ("shop.customer.org", "shop.customer.org"),
    ],
)
def test_normalize_host_accepts_and_normalises(raw, expected):
    assert normalize_host(raw) == expected


def test_a_name_typed_by_a_person_may_be_idna_mapped_a_host_header_may_not():
    assert normalize_host("Bücher.example.test", idna=True) == "xn--bcher-kva.example.test"
    assert normalize_host("bücher.example.test") is None
    assert normalize_host("gl\xadass.example.test", idna=True) == "glass.example.test"
    assert normalize_host("gl\xadass.example.test") is None


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        ".",
        "127.0.0.1",
        "127.0.0.1:6543",
        "[::1]",
        "[::1]:6543",
        "::1",
        "10.1.2.3.",
        "demo..example.test",
        "-demo.example.test",
        "demo-.example.test",
        "de_mo.example.test",
        "demo.example.test/evil",
        "demo example.test",
        "a" * 64 + ".example.test",
        "x" * 400,
        "demo.example.test\xa0",
        "de\xadmo.example.test",
    ],
)
def test_normalize_host_refuses_ip_literals_and_garbage(raw):
    assert normalize_host(raw) is None


def test_classify_subdomain_public_and_custom():
    assert classify("demo.example.test", BASES) == HostMatch(
        "subdomain", "demo.example.test", "demo"
    )
    assert classify("demo.localhost", BASES) == HostMatch("subdomain", "demo.localhost", "demo")
    assert classify("example.test", BASES) == HostMatch("public", "example.test")
    assert classify("www.example.test", BASES) == HostMatch("public", "www.example.test")
    assert classify("shop.customer.org", BASES) == HostMatch("custom", "shop.customer.org")


def test_classify_refuses_nested_subdomains_and_none():
    assert classify("a.demo.example.test", BASES) is None
    assert classify(None, BASES) is None


def test_base_that_is_a_suffix_of_a_label_is_not_a_match():
    # "evilexample.test" ends with "example.test" but is not under it
    assert classify("evilexample.test", BASES) == HostMatch("custom", "evilexample.test")
