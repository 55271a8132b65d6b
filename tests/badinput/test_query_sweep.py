"""Every GET route of the app, as a stranger and as each role, given query parameters
from the corners of Unicode and of number parsing: never a server error.

The routes come from Pyramid's introspector, so a page added later is swept without
editing this test. The parameter names are the ones each view reads (recorded while it
answers a plain request), and a fixed set of common names sent all at once besides.
Text no person types (NUL, other control characters, lone surrogates, bytes that are
not UTF-8) is refused with 400 by the input guard (salesapp.inputs) before any view.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from urllib.parse import quote

import pytest
import webtest
from webob.multidict import GetDict, MultiDict, NestedMultiDict

from salesapp.operations.tokens import issue_token
from salesapp.reports.definitions import REPORTS
from tests.badinput.conftest import FilledWorkspace
from tests.conftest import BASE_DOMAIN, host_of, sign_in

#: values every parser must survive: digits and spaces of other scripts, characters
#: that format text, numbers past any column and float's specials
ODD_VALUES = {
    "superscript two": "²",
    "circled one": "①",
    "Arabic-Indic and fullwidth digits": "\u0663\uff11",  # int() takes both
    "a fullwidth date": "\uff12\uff10\uff12\uff14-\uff10\uff11-\uff10\uff11",
    "zero width space": "1\u200b",
    "soft hyphen, right-to-left override, ideographic space": "\u00ad\u202e\u3000",
    "10 000 characters": "7" * 10_000,
    "negative": "-1",
    "huge": str(10**30),
    "past a double": "1e309",
    "NaN": "NaN",
    "Infinity": "Infinity",
}
#: values the input guard refuses (400) wherever they are: percent-encoded as sent
REFUSED_VALUES = {
    "NUL": "%00",
    "a control character": "%01",
    "a lone surrogate": "%ED%A0%80",
    "bytes that are not UTF-8": "%FF",
}
#: names sent all at once to every route by a stranger and an Admin (the names a view
#: reads are sent one by one, by every role that reaches it)
COMMON_NAMES = (
    "q",
    "page",
    "number",
    "from",
    "to",
    "date",
    "location",
    "location_id",
    "product",
    "product_id",
    "customer",
    "customer_q",
    "category",
    "active",
    "action",
    "username",
    "workspace",
    "sort",
    "status",
    "limit",
    "offset",
    "id",
    "per_page",
)
#: GET routes that end a signed-in session (swept as a stranger only)
SIGNS_OUT = {"accounts.logout", "accounts.login_code"}
PLACEHOLDER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
ROLES = ("Admin", "Managers", "Cashiers")


def get_routes(registry):
    """(route name, pattern, site) of every route with a view that answers GET."""
    introspector = registry.introspector
    found = set()
    for item in introspector.get_category("views"):
        view = item["introspectable"]
        methods = view["request_methods"]
        if not view["route_name"] or (methods is not None and "GET" not in methods):
            continue
        route = introspector.get("routes", view["route_name"])
        texts = {predicate.text() for predicate in route["object"].predicates}
        site = "public" if "site = public" in texts else "tenant"
        found.add((view["route_name"], route["pattern"], site))
    return sorted(found)


def paths(ws: FilledWorkspace, name: str, pattern: str) -> list[str]:
    """The route's pattern with its placeholders filled with the workspace's rows
    (each report by name), so the views run past their look-ups."""
    if pattern.startswith("static/"):
        return ["/static/app.css"]
    if "{name}" in pattern:
        return [pattern.replace("{name}", report) for report in REPORTS]
    ids = {
        "products": ws.product_id,
        "customers": ws.customer_id,
        "sales": ws.sale_id,
        "expenses": ws.expense_id,
        "locations": ws.other_location_id,
        "api.product": ws.product_id,
        "api.sale": ws.sale_id,
    }
    key = name if name in ids else name.split(".")[0]
    return [PLACEHOLDER.sub(str(ids.get(key, "00000000-0000-0000-0000-000000000001")), pattern)]


def query(pairs) -> str:
    """A query string of (name, value); values already percent-encoded are kept."""
    return "&".join(
        f"{name}={value if value.startswith('%') else quote(value, safe='')}"
        for name, value in pairs
    )


class Sweeper:
    """Sends the requests and collects every answer that is a server error."""

    def __init__(self, ws: FilledWorkspace, catalog, make_user):
        self.ws = ws
        self.tenant_host = host_of(ws.tenant)
        self.clients = {"stranger": self._client(self.tenant_host)}
        self.headers = {"stranger": {}}
        for role in ROLES:
            if role == "Admin":
                username, password = "admin", ws.tenant.admin_password
            else:
                username, password = make_user(ws.tenant, (role,))
            client = self._client(self.tenant_host)
            sign_in(client, username, password)
            self.clients[role] = client
            token = issue_token(catalog, ws.tenant.slug, username, "sweep").plaintext
            self.headers[role] = {"Authorization": f"Bearer {token}"}
        self.public = self._client(BASE_DOMAIN)
        self.failures: list = []
        self.sent = 0

    def _client(self, host):
        return webtest.TestApp(self.ws.app, extra_environ={"HTTP_HOST": host})

    def get(self, who: str, site: str, path: str, pairs=()):
        client = self.public if site == "public" else self.clients[who]
        url = f"{path}?{query(pairs)}" if pairs else path
        self.sent += 1
        res = client.get(url, headers=self.headers[who], expect_errors=True)
        if res.status_int >= 500 or "Traceback" in res.text:
            self.failures.append((who, url[:120], res.status_int, res.text[-300:]))
        return res


@contextmanager
def reads_recorded():
    """Within the block, the names any view looks up in a query string (or a form)
    are recorded in the set it yields."""
    names: set[str] = set()
    originals = {attr: getattr(MultiDict, attr) for attr in ("get", "__getitem__", "getall")}

    def recording(original):
        def lookup(self, key, *args, **kw):
            if isinstance(self, GetDict | NestedMultiDict):  # not headers, not cookies
                names.add(key)
            return original(self, key, *args, **kw)

        return lookup

    with pytest.MonkeyPatch.context() as patch:
        for attr, original in originals.items():
            patch.setattr(MultiDict, attr, recording(original))
        yield names


@pytest.fixture(scope="module")
def sweeper(app, catalog, make_tenant, make_user):
    ws = FilledWorkspace(app, catalog, make_tenant("pooled", multi_location=True))
    return Sweeper(ws, catalog, make_user)


@pytest.fixture(scope="module")
def targets(app, sweeper):
    """(who, site, path, names it reads) for each role and GET route it reaches."""
    found = []
    for name, pattern, site in get_routes(app.registry):
        for path in paths(sweeper.ws, name, pattern):
            for who in ("stranger", *ROLES):
                if who != "stranger" and (site == "public" or name in SIGNS_OUT):
                    continue
                with reads_recorded() as names:
                    sweeper.get(who, site, path)
                found.append((who, site, path, sorted(names)))
    return found


def test_the_sweep_finds_the_pages_and_their_parameters(targets):
    read = {(path, name) for _who, _site, path, names in targets for name in names}
    assert {("/sales", "number"), ("/products", "page"), ("/audit", "from")} <= read
    assert {("/login", "stranger"), ("/find", "stranger")} <= {
        (path, who) for who, _site, path, _names in targets
    }
    assert len({path for _who, _site, path, _names in targets}) > 40


@pytest.mark.parametrize("label", list(ODD_VALUES))
def test_no_query_value_makes_a_server_error(sweeper, targets, label):
    value = ODD_VALUES[label]
    for who, site, path, names in targets:
        if who in ("stranger", "Admin"):
            sweeper.get(who, site, path, [(name, value) for name in COMMON_NAMES])
        for name in names:
            sweeper.get(who, site, path, [(name, value)])
    assert sweeper.failures == []


@pytest.mark.parametrize("label", list(REFUSED_VALUES))
def test_text_no_one_types_is_refused_before_any_view(sweeper, targets, label):
    value = REFUSED_VALUES[label]
    for who, site, path, names in targets:
        # the value in a name the view reads, in one it does not, and in a name
        for pairs in ([(name, value)] for name in {*names, "q"}):
            res = sweeper.get(who, site, path, pairs)
            assert res.status_int == 400, (who, path, pairs, res.status_int)
            shown = pairs[0][0] if label in ("NUL", "a control character") else "url"
            assert shown in res.text, res.text
            assert "Nothing was saved" in res.text
        res = sweeper.get(who, site, path, [(f"x{value}", "1")])
        assert res.status_int == 400, (who, path, "name", res.status_int)
    assert sweeper.failures == []


def test_each_signed_in_client_is_still_signed_in(sweeper, targets):
    """The sweep ran as the roles it says: no request above signed a client out."""
    for role in ROLES:
        assert sweeper.clients[role].get("/", status=200)
