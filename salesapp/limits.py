"""Request body size limits: 413 before a view reads an oversized body (issue 8).

Two limits, from the settings: ``max_body_bytes`` for forms and the API's JSON, and
``max_upload_bytes`` for multipart uploads (the CSV import). A body whose
Content-Length is over its limit is refused without reading a byte of it; a body of
unknown length (chunked, where the server passes it on undecoded) is read up to the
limit and one byte more, refused if that byte exists, and otherwise handed on as a
body of known length. The WSGI server's own limit (waitress's
``max_request_body_size`` in the ini files) sits above both and bounds what the server
buffers before the app sees the request.
"""

from __future__ import annotations

from pyramid.response import Response
from pyramid.tweens import MAIN

from .http_helpers import is_api, refusal

MULTIPART = "multipart/form-data"


def _size(n: int) -> str:
    """A byte count as people read it: 1 MB, 10 MB, 512 KB, 100 bytes."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def too_large(request, limit: int, size: int | None, upload: bool) -> Response:
    """413 saying the limit and what to do, as JSON under /api and as text elsewhere."""
    given = f"{size:,} bytes" if size is not None else f"more than {limit:,} bytes"
    if upload:
        advice = "Split the file into smaller files and upload them one by one."
    elif is_api(request):
        advice = "Send less at once (fewer items per request)."
    else:
        advice = "Shorten what you typed and send the form again."
    message = (
        f"The request body is too large: {given}; at most {limit:,} bytes "
        f"({_size(limit)}) is accepted. {advice}"
    )
    response = refusal(request, 413, message, {"body": f"is too large (at most {limit} bytes)"})
    # No "Connection: close": hop-by-hop headers are the server's (PEP 3333; waitress
    # turns one into a 500). The server deals with what is left unread of the body
    # (waitress has read it all before calling the app, up to max_request_body_size).
    return response


def body_limit_tween_factory(handler, registry):
    """Outermost of the app's own tweens: an oversized body is refused before host
    resolution, a transaction, a session or a view (CSRF checks read the form) exist."""
    settings = registry.salesapp_settings
    max_body, max_upload = settings.max_body_bytes, settings.max_upload_bytes

    def body_limit_tween(request):
        upload = (request.content_type or "").lower() == MULTIPART
        limit = max_upload if upload else max_body
        length = request.content_length
        if length is not None:
            if length > limit:
                return too_large(request, limit, length, upload)
        elif request.is_body_readable:
            # no Content-Length (chunked): read no more than the limit allows
            body = request.body_file_raw.read(limit + 1)
            if len(body) > limit:
                return too_large(request, limit, None, upload)
            request.body = body  # now of known length, for whatever reads it next
        return handler(request)

    return body_limit_tween


def includeme(config):
    # over the tenant tween (or pyramid_tm when tenancy is off): the first of ours
    config.add_tween(
        "salesapp.limits.body_limit_tween_factory",
        over=("salesapp.tenancy.tween.tenant_tween_factory", "pyramid_tm.tm_tween_factory", MAIN),
    )
