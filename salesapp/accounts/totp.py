"""Time-based one-time passwords (RFC 6238, over RFC 4226's HOTP) with the standard
library: HMAC-SHA1, 30-second steps, 6 digits, what every authenticator app uses; and
the QR code of the set-up link, drawn by the app (segno) so the secret never leaves it
for a QR service."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote, urlencode

import segno
from markupsafe import Markup

STEP_SECONDS = 30
DIGITS = 6
#: steps either side of now that still count: a phone's clock a little off, a code typed
#: as it turned over
DRIFT = 1


def new_secret() -> str:
    """A random 160-bit secret (RFC 4226's recommended length), base32 without padding."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    text = secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def hotp(secret: str, counter: int) -> str:
    """RFC 4226's code for ``counter``."""
    digest = hmac.new(_key(secret), counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def code_at(secret: str, now: float | None = None) -> str:
    """The code an authenticator app shows at ``now`` (a Unix time)."""
    return hotp(secret, current_step(now))


def matching_step(secret: str, code: str, *, after: int | None = None, now=None) -> int | None:
    """The time step within ±DRIFT of now whose code is ``code``, else None.

    A step at or before ``after`` (the last step taken) never matches: a code seen once,
    over a shoulder or in a log, cannot be used again, nor can an older one.
    """
    code = (code or "").replace(" ", "")
    # ASCII digits only: "²²²²²²" is isdigit() too, and compare_digest refuses non-ASCII
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    step = current_step(now)
    for candidate in range(step - DRIFT, step + DRIFT + 1):
        if after is not None and candidate <= after:
            continue
        if hmac.compare_digest(hotp(secret, candidate), code):
            return candidate
    return None


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI authenticator apps take (the de-facto Key URI Format)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def qr_svg(uri: str) -> Markup:
    """The QR code of ``uri`` as inline SVG markup, for the page itself: the
    Content-Security-Policy allows it (an <img> of a data: URI it would not), and it is
    black on white with a quiet zone so phone cameras read it in any theme. 5 pixels a
    module (about 250 pixels wide, which fits a phone's screen), with a viewBox so that
    it scales down rather than overflow a narrower box."""
    code = segno.make(uri, error="m")
    side = code.symbol_size(scale=5, border=4)[0]
    svg = code.svg_inline(
        scale=1,
        border=4,
        dark="#000",
        light="#fff",
        omitsize=True,
        svgclass="qr",
        title="QR code of the set-up link: scan it with your authenticator app",
    )
    return Markup(svg.replace("<svg ", f'<svg width="{side}" height="{side}" ', 1))
