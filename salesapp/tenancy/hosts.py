"""Host names: normalisation and what a host names (a tenant subdomain, a custom domain,
the public site, or nothing we serve)."""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass

#: a tenant's subdomain label: what a workspace's name may be (one DNS label)
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PORT_RE = re.compile(r"^[0-9]{0,5}$")  # "host:" is allowed an empty port
#: a last label that browsers read as (part of) an IPv4 address: 2130706433, 0x7f
_NUMBER_RE = re.compile(r"^([0-9]+|0x[0-9a-f]*)$")


def normalize_host(raw: str | None) -> str | None:
    """Lower-case, port and trailing dot removed; None if not a host name we could serve.

    Pure string work, no database: a malformed Host header is answered before any
    look-up. An internationalised name is IDNA-encoded (its ``xn--`` form); a port that
    is not a port, or a label that DNS would not take, returns None. IP literals (v4,
    v6 in brackets, and numbers that browsers read as IPv4) return None too: no tenant
    is ever served by address.
    """
    if not raw:
        return None
    host = raw.strip()
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
    try:
        host = host.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return None
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
