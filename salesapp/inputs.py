"""The input guard: text no person types is refused with 400 before any view or
database sees it (issue 16).

Every query parameter and every field of a form or of a JSON body, names and values
alike, is checked for:

- NUL: PostgreSQL's text cannot hold it, so it reached the database as an error (a 500
  with a traceback, even from the sign-in form of a stranger);
- the other C0 control characters, U+0001 to U+001F except tab, line feed and carriage
  return (which a textarea sends): no keyboard types them, and a name, a note or a
  search holding one is an attack or a bug, never data to keep;
- lone surrogates (U+D800 to U+DFFF on their own, which JSON's ``\\ud800`` escapes can
  produce): they are not Unicode text and cannot be encoded to be stored;
- bytes that are not UTF-8 once percent-decoded, in the query string or a urlencoded
  form (a lone surrogate sent as ``%ED%A0%80`` is one of these).

The refusal names each field and what was wrong with it, as JSON
(``{"message", "errors"}``) under /api and as text elsewhere (``refusal``). Other
Unicode (digits of other scripts, format characters such as U+200B, U+00AD or U+202E,
other spaces) is text people do type or paste: it passes here, and each field's parser
decides (numbers, dates and ids are read with ASCII digits only: ``salesapp.forms``).

The path is not checked here: an id in a path that is not an id is a 404 (the routes'
views look it up and find nothing), and a path that is not UTF-8 is the tenant
tween's 400.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

from pyramid.tweens import INGRESS, MAIN

from .http_helpers import is_api, refusal

#: NUL and the C0 control characters a textarea does not send (tab, LF and CR it does)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: what a decoder puts where bytes were not UTF-8 (webob's form parsing does)
_REPLACEMENT = "\ufffd"
FORM_TYPES = ("", "application/x-www-form-urlencoded", "multipart/form-data")
URLENCODED = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
#: at most this many fields are named in one refusal (a body may hold thousands)
MAX_NAMED = 10


def text_problem(text: str) -> str | None:
    """What makes ``text`` unacceptable as input, said as the end of a sentence about
    its field ("must not contain NUL characters"), or None when it is acceptable."""
    if "\x00" in text:
        return "must not contain NUL characters"
    control = _CONTROL.search(text)
    if control:
        return f"must not contain control characters (U+{ord(control.group()):04X})"
    if _SURROGATE.search(text):
        return "must be valid Unicode text (it holds a lone surrogate)"
    return None


def _shown(name: str) -> str:
    """A field's name as a message can show it (its own bad characters escaped)."""
    return name.encode("unicode_escape").decode("ascii")[:60] if text_problem(name) else name


def _check_pairs(pairs, errors: dict[str, str]) -> None:
    """Add to ``errors`` each name, or the value of each name, that is unacceptable;
    values that are not text (an uploaded file) are the upload's parser's."""
    for name, value in pairs:
        if len(errors) >= MAX_NAMED:
            return
        problem = text_problem(name)
        if problem:
            errors.setdefault(_shown(name), f"(the name of a field) {problem}")
        elif isinstance(value, str):
            problem = text_problem(value)
            if problem:
                errors.setdefault(name, problem)


def _json_pairs(value, path: str = ""):
    """(field path, text) for every key and string inside a JSON value, depth first,
    named as the API names fields: "lines[0].sku" is the sku of a sale's first line."""
    if isinstance(value, dict):
        for key, item in value.items():
            named = f"{path}.{key}" if path else str(key)
            yield named, key
            yield from _json_pairs(item, named)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_pairs(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path or "body", value


def _json_problems(request, errors: dict[str, str]) -> None:
    """Control characters and lone surrogates in a JSON body. JSON holds them only as
    ``\\u`` escapes (a raw control character or bytes that are not UTF-8 make the body
    invalid, which the API's parser refuses with its own message), so only a body with
    an escape is parsed here."""
    body = request.body
    if b"\\u" not in body:
        return
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return  # not JSON at all: salesapp.api.jsonio says what is wrong with it
    for path, text in _json_pairs(data):
        if len(errors) >= MAX_NAMED:
            return
        problem = text_problem(text)
        if problem:
            errors.setdefault(_shown(path), problem)


def _has_replacement(fields) -> bool:
    """Whether a decoded form holds U+FFFD, in a name or a text value."""
    return any(
        _REPLACEMENT in name or (isinstance(value, str) and _REPLACEMENT in value)
        for name, value in fields.items()
    )


def _urlencoded_is_utf8(request) -> bool:
    """Whether a urlencoded body is UTF-8 once percent-decoded (webob's parser puts
    U+FFFD where it is not, so it is asked only when one appears)."""
    try:
        parse_qsl(request.body.decode("latin-1"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def _body_problems(request, errors: dict[str, str]) -> None:
    """Problems of a form's or a JSON body's fields, added to ``errors``."""
    media_type = (request.content_type or "").lower()
    if media_type == JSON_TYPE:
        _json_problems(request, errors)
        return
    if media_type not in FORM_TYPES or request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    if is_api(request):
        return  # the API reads JSON only: a form body is its 415, not parsed here
    try:
        fields = request.POST
    except ValueError:  # e.g. a multipart body without a boundary (webob/cgi refuse it)
        errors.setdefault("body", "is not a readable form (a multipart body needs its boundary)")
        return
    _check_pairs(fields.items(), errors)
    if media_type == URLENCODED and _has_replacement(fields) and not _urlencoded_is_utf8(request):
        errors.setdefault("body", "is not valid UTF-8 once percent-decoded")


def input_problems(request) -> dict[str, str]:
    """field -> what is wrong with it, for every unacceptable name or value of the query
    string and the body (at most MAX_NAMED of them); empty when all is acceptable."""
    errors: dict[str, str] = {}
    try:
        query = request.GET
    except UnicodeDecodeError:
        return {"url": "is not valid UTF-8 once percent-decoded"}
    _check_pairs(query.items(), errors)
    if request.is_body_readable:
        _body_problems(request, errors)
    return errors


def refused(request, errors: dict[str, str]):
    """400 naming every bad field: what was wrong and what to do."""
    listed = "; ".join(f"{name} {problem}" for name, problem in errors.items())
    message = (
        f"Bad request: {listed}. Nothing was saved. These characters cannot be typed on "
        "a keyboard: type the text again instead of pasting it, or check the link you "
        "followed."
    )
    return refusal(request, 400, message, errors)


def input_guard_tween_factory(handler, registry):
    """Under the body limits (the body it reads is bounded by then) and over the tenant
    tween and pyramid_tm: a refused request never resolves a tenant's store, begins a
    transaction or reaches a view."""

    def input_guard_tween(request):
        errors = input_problems(request)
        if errors:
            return refused(request, errors)
        return handler(request)

    return input_guard_tween


def includeme(config):
    config.add_tween(
        "salesapp.inputs.input_guard_tween_factory",
        under=("salesapp.limits.body_limit_tween_factory", INGRESS),
        over=("salesapp.tenancy.tween.tenant_tween_factory", "pyramid_tm.tm_tween_factory", MAIN),
    )
