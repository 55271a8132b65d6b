"""Host names: normalisation and what a host names (a tenant subdomain, a custom domain,
the public site, or nothing we serve)."""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass

#: a tenant's subdomain label: what a workspace's name may be (one DNS label)
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
#: subdomains no workspace may have: those of the platform's own services, and words the
#: operator console's paths use (/operator/tenants/new). `salesapp tenant create`, the
#: console, the operator API and the public sign-up all refuse them.
RESERVED_SLUGS = frozenset(
    "www admin api app static assets media mail smtp imap pop ftp ns ns1 ns2 dns mx help "
    "support status docs blog public login auth account accounts billing dashboard cdn test "
    "dev staging root postgres localhost operator operators new".split()
)

_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PORT_RE = re.compile(r"^[0-9]{0,5}$")  # "host:" is allowed an empty port
#: a last label that browsers read as (part of) an IPv4 address: 2130706433, 0x7f
_NUMBER_RE = re.compile(r"^([0-9]+|0x[0-9a-f]*)$")


#: the start of an absolute-form request target (``http://host/path``): its authority
_ABSOLUTE_TARGET_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")
#: what HTTP calls optional white space around a header's value
_OWS = " \t"


def host_problem(raw: str | None) -> str | None:
    """Why the Host a client sent is not in canonical form, or None when it is.

    A Host must reach us as the name it is: printable ASCII only, no percent-encoding,
    and every ``xn--`` label an A-label that round-trips (it decodes to a U-label that
    encodes to exactly the same A-label). Anything else is a name some layer would map
    onto another one (IDNA drops a soft hyphen, reads "ª" as "a" and "ß" as "ss";
    ``xn--acme-`` decodes to plain "acme"), so that a proxy's allow-list or a cache
    keyed on the raw header would disagree with the tenant the app serves. ASCII case,
    a port and one trailing dot are not problems: they are folded (``normalize_host``),
    the same way for every use of the name. WSGI passes header bytes as latin-1, so a
    byte outside ASCII is one character here.
    """
    if not raw:
        return None
    host = raw.strip(_OWS)
    odd = next((c for c in host if not "!" <= c <= "~" or c == "%"), None)
    if odd is not None:
        return (
            f"it holds {odd!r} (U+{ord(odd):04X}), which is not a letter, digit, hyphen "
            "or dot of a host name"
        )
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    for label in name.lower().split("."):
        if label.startswith("xn--") and not _round_trips(label):
            return f"its label {label!r} is not an internationalised name in canonical form"
    return None


def _round_trips(a_label: str) -> bool:
    """``a_label`` (lower case, ``xn--...``) decodes to a U-label that IDNA encodes back
    to exactly ``a_label``."""
    try:
        u_label = a_label[4:].encode("ascii").decode("punycode")
        return u_label.encode("idna").decode("ascii") == a_label
    except (UnicodeError, ValueError):
        return False


def normalize_host(raw: str | None, *, idna: bool = False) -> str | None:
    """Lower-case, port and trailing dot removed; None if not a host name we could serve.

    Pure string work, no database: a malformed Host header is answered before any
    look-up. A host not in canonical form (``host_problem``) returns None, so no Host a
    client sends is ever mapped onto another name. ``idna=True`` is for names a person
    types (an operator's custom domain): an internationalised name is IDNA-encoded to
    its ``xn--`` form first. A port that is not a port, or a label that DNS would not
    take, returns None. IP literals (v4, v6 in brackets, and numbers that browsers read
    as IPv4) return None too: no tenant is ever served by address.
    """
    if not raw or (not idna and host_problem(raw)):
        return None
    host = raw.strip() if idna else raw.strip(_OWS)
    if not host or len(host) > 300:
        return None
    if host.startswith("["):  # [v6] or [v6]:port
        return None
    if host.count(":") > 1:  # a bare IPv6 literal, or host:port:junk
        return None
    if ":" in host:
        host, port = host.rsplit(":", 1)
        if not _PORT_RE.match(port) or (port and int(port) > 65535):
            return None
    host = host.rstrip(".")
    if not host:
        return None
    if idna:
        try:
            host = host.encode("idna").decode("ascii")
        except (UnicodeError, ValueError):
            return None
        if host_problem(host):
            return None
    return _checked_name(host.lower())


def _checked_name(host: str) -> str | None:
    """``host`` if DNS would take it and it is no IP address, else None."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        return None
    if _NUMBER_RE.match(labels[-1]):
        return None
    return host


def absolute_target_host(request_uri: str | None) -> str | None:
    """The host (with any port) an absolute-form request target names
    (``GET http://b.example/path HTTP/1.1``), else None (the usual ``/path`` form).

    waitress serves such a request by its Host header and passes the target as it came
    in ``REQUEST_URI``; the tenant tween refuses the two naming different hosts.
    """
    match = _ABSOLUTE_TARGET_RE.match(request_uri or "")
    return match.group(1) if match else None


class HostKind(enum.StrEnum):
    """What a normalised host names."""

    PUBLIC = "public"  # the base domain (or www.): the public site
    SUBDOMAIN = "subdomain"  # one label under a base domain: a tenant's subdomain
    CUSTOM = "custom"  # anything else: perhaps a tenant's custom domain


@dataclass(frozen=True)
class HostMatch:
    """What a normalised host names (``label``: the subdomain's, for SUBDOMAIN)."""

    kind: HostKind
    host: str
    label: str | None = None


def classify(host: str | None, base_domains: tuple[str, ...]) -> HostMatch | None:
    """Classify a normalised host against the configured base domains.

    ``tenant.example.com`` under base ``example.com`` is a subdomain; the bare base is
    the public site (``www.`` too); anything else may be a custom domain.
    """
    if host is None:
        return None
    for base in base_domains:
        if host == base or host == f"www.{base}":
            return HostMatch(HostKind.PUBLIC, host)
        suffix = "." + base
        if host.endswith(suffix):
            label = host[: -len(suffix)]
            if "." in label:  # a.b.example.com: not a workspace
                return None
            return HostMatch(HostKind.SUBDOMAIN, host, label)
    return HostMatch(HostKind.CUSTOM, host)
