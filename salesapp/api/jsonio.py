"""Reading API input: the JSON body (content type, size, syntax, shape, known fields)
and typed, bounded fields, with errors a client can act on.

Every refusal is an :class:`ApiError` carrying the status, a message and per-field
errors; the API's exception view renders it as ``{"message": ..., "errors": {...}}``.
Field values go through :class:`salesapp.forms.Form` (the web forms' rules and
messages), after a type check that the web forms do not need: in JSON a quantity could
arrive as a number, a list or null.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from decimal import Decimal

from ..forms import Form

#: the default of ``salesapp.max_body_bytes``: salesapp.limits refuses larger bodies
#: (413) before any view; read_json holds to the configured value too
MAX_BODY_BYTES = 1024 * 1024
JSON_TYPE = "application/json"
#: the widest limit and offset a list accepts
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_OFFSET = 1_000_000
#: how numbers are written in the API (in strings, so decimals stay exact)
DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
INTEGER = re.compile(r"-?[0-9]+")


class ApiError(Exception):
    """A refused API request: ``status``, a ``message`` and per-field ``errors``."""

    def __init__(self, status: int, message: str, errors: dict | None = None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})


def invalid(errors: dict[str, str], message: str | None = None, status: int = 400) -> ApiError:
    """An ApiError for field errors; the message names the fields."""
    if message is None:
        message = "Invalid input: " + "; ".join(f"{k} {v}" for k, v in errors.items())
    return ApiError(status, message[:2000], errors)


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(request) -> dict:
    """The request's JSON object, checked before any field is read: the content type
    (415), the size (413), the encoding and syntax (400), no name given twice in any
    object (400), and that it is an object (400). :class:`ApiForm` checks the names and
    values of its fields."""
    media_type = (request.content_type or "").lower()
    if media_type != JSON_TYPE:
        shown = media_type or "none"
        raise ApiError(
            415,
            f"Send the body as {JSON_TYPE} (Content-Type was {shown[:60]})",
            {"body": f"must be sent as {JSON_TYPE}"},
        )
    charset = request.headers.get("Content-Type", "").lower().partition("charset=")[2]
    charset = charset.split(";")[0].strip().strip('"')
    if charset and charset not in ("utf-8", "utf8"):
        raise ApiError(
            415,
            f"Send JSON in UTF-8 (charset was {charset[:30]})",
            {"body": "must be sent in UTF-8"},
        )
    limit = request.registry.salesapp_settings.max_body_bytes
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    raw = request.body_file.read(limit + 1)
    if len(raw) > limit:
        raise _too_large(limit)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "The body is not valid UTF-8", {"body": "is not UTF-8"}) from None
    try:
        data = json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_names,
        )
    except _DuplicateName as exc:
        raise _duplicate(text, exc.name) from None
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError (a ValueError) says where; the others are NaN, huge integers
        detail = str(exc)[:200]
        raise ApiError(400, f"The body is not valid JSON: {detail}", {"body": detail}) from None
    if not isinstance(data, dict):
        raise ApiError(
            400,
            f"The body must be a JSON object, not {_json_type(data)}",
            {"body": "must be an object"},
        )
    return data


class _DuplicateName(ValueError):
    """A JSON object in the body gives the name ``name`` twice."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def _unique_names(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object as a dict, refusing a name given twice: JSON leaves duplicates
    undefined and parsers differ (Python keeps the last, others the first), so a body a
    proxy, a log or a client library reads one way would be applied another."""
    data = dict(pairs)
    if len(data) < len(pairs):
        raise _DuplicateName(_first_repeat(pairs))
    return data


def _first_repeat(pairs) -> str | None:
    """The first name ``pairs`` gives a second time, or None."""
    seen = set()
    for name, _ in pairs:
        if name in seen:
            return name
        seen.add(name)
    return None


class _Pairs(list):
    """A JSON object as its (name, value) pairs, repeats kept."""


def _duplicate(text: str, name: str) -> ApiError:
    """400 naming the repeated name by its path in the body (``price``,
    ``lines[0].quantity``), found by parsing again keeping every pair: only a body being
    refused pays for it. A body also broken after the repeat gets the bare name."""
    try:
        path = _repeat_path(json.loads(text, object_pairs_hook=_Pairs)) or name[:60]
    except (ValueError, RecursionError):
        path = name[:60]
    if len(path) > 200:
        path = "..." + path[-200:]
    return ApiError(
        400,
        f"The body gives {path!r} more than once; send each field once",
        {path: "is given more than once; send it once"},
    )


def _repeat_path(document) -> str | None:
    """The path of the first repeated name met walking ``document`` from the top (an
    explicit stack: nesting may be as deep as the parser allows)."""
    stack = [(document, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Pairs):
            repeat = _first_repeat(node)
            if repeat is not None:
                return _child(path, repeat)
            children = [(value, _child(path, name)) for name, value in node]
        elif isinstance(node, list):
            children = [(value, f"{path}[{i}]") for i, value in enumerate(node)]
        else:
            continue
        stack.extend(reversed(children))
    return None


def _child(path: str, name: str) -> str:
    name = name[:60]
    return f"{path}.{name}" if path else name


def _too_large(limit: int):
    return ApiError(
        413,
        f"The body is larger than {limit} bytes; send less at once",
        {"body": f"is too large (at most {limit} bytes)"},
    )


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


class ApiForm(Form):
    """:class:`~salesapp.forms.Form` over a JSON object or a query string, with types.

    Text, numbers (as strings, so decimals stay exact) and ids must be JSON strings,
    flags JSON booleans; ``null`` counts as absent only for the names in ``nullable``.
    Text must be valid Unicode without NUL characters (PostgreSQL stores neither).
    With ``known`` (a JSON object's fields), every other name in ``data`` is an error
    too, so one answer lists every problem.
    """

    def __init__(self, data, *, known: Iterable[str] | None = None, nullable: Iterable[str] = ()):
        super().__init__(data)
        self.nullable = frozenset(nullable)
        self.known = None if known is None else frozenset(known)
        self.unknown = [] if known is None else sorted(set(data) - self.known)
        for name in self.unknown[:20]:
            self.error(name[:60], "is not a known field")

    def _string(self, name, expected) -> bool:
        """True if the field is absent, null where allowed, or a good string; else
        records the error and returns False."""
        if name not in self.data:
            return True
        value = self.data.get(name)
        if value is None and name in self.nullable:
            return True
        if not isinstance(value, str):
            self.error(name, f"must be {expected}, not {_json_type(value)}")
            return False
        if "\x00" in value:
            self.error(name, "must not contain NUL characters")
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.error(name, "must be valid Unicode text (no lone surrogates)")
            return False
        return True

    def _written(self, name, pattern, expected) -> bool:
        """False (and an error) for a number written any other way than ``pattern``:
        no exponents, spaces, commas, NaN or Infinity in the API."""
        value = self.data.get(name)
        if not value or not value.strip() or pattern.fullmatch(value):  # absent, blank: Form
            return True
        self.error(name, f"must be {expected}, got {value[:30]!r}")
        return False

    def text(self, name, *, required=False, max_length=200, default=""):
        if not self._string(name, "a string"):
            return default
        return super().text(name, required=required, max_length=max_length, default=default)

    def decimal(self, name, *, places=2, minimum=None, maximum=None, required=True, default=None):
        if not self._string(name, 'a number in a string, like "12.50"'):
            return default
        if not self._written(name, DECIMAL, 'a number written like "12.50"'):
            return default
        return super().decimal(
            name,
            places=places,
            minimum=minimum,
            maximum=maximum,
            required=required,
            default=default,
        )

    def integer(self, name, *, minimum=None, maximum=None, required=True, default=None):
        if not self._string(name, "a whole number"):
            return default
        if not self._written(name, INTEGER, "a whole number, like 20"):
            return default
        return super().integer(
            name, minimum=minimum, maximum=maximum, required=required, default=default
        )

    def choice(self, name, choices, *, required=True, default=None):
        if not self._string(name, "a string"):
            return default
        return super().choice(name, choices, required=required, default=default)

    def uuid(self, name, *, required=True):
        if not self._string(name, "an id (a UUID string)"):
            return None
        return super().uuid(name, required=required)

    def boolean(self, name, *, default=False) -> bool:
        """A JSON true or false; ``default`` when absent."""
        if name not in self.data or (self.data[name] is None and name in self.nullable):
            return default
        value = self.data[name]
        if not isinstance(value, bool):
            self.error(name, f"must be true or false, not {_json_type(value)}")
            return default
        return value

    def array(self, name, *, required=True, max_items: int) -> list:
        """A JSON array of at most ``max_items`` (the caller reads its items)."""
        value = self.data.get(name)
        if value is None:
            if required:
                self.error(name, "is required")
            return []
        if not isinstance(value, list):
            self.error(name, f"must be an array, not {_json_type(value)}")
            return []
        if len(value) > max_items:
            self.error(name, f"has {len(value)} items; at most {max_items}")
            return []
        return value

    def merge(self, prefix: str, other: ApiForm) -> None:
        """Take ``other``'s errors (an item of an array) under ``prefix``."""
        for name, message in other.errors.items():
            self.error(f"{prefix}.{name}", message)

    def check(self) -> None:
        """400 with every error found, if any."""
        if self.errors:
            error = invalid(self.errors)
            if self.unknown:
                error.message += f" (the known fields are {', '.join(sorted(self.known))})"
            raise error


def read_paging(form: ApiForm) -> tuple[int, int]:
    """``limit`` (1-100, default 20) and ``offset`` (0-1,000,000, default 0)."""
    limit = form.integer(
        "limit", minimum=1, maximum=MAX_LIMIT, required=False, default=DEFAULT_LIMIT
    )
    offset = form.integer("offset", minimum=0, maximum=MAX_OFFSET, required=False, default=0)
    return limit, offset
