"""Secrets at rest: store URLs in the catalog are encrypted with a key derived from
``salesapp.secret_key``; URLs are masked wherever they are printed or logged.

During a rotation of the secret key (`salesapp rotate secret-key`) the keys it replaced
(``salesapp.previous_secret_keys``) still decrypt, and still verify session cookies
(salesapp.security); only the current key ever encrypts or signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import make_url


def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so one leaked derived key does not expose another."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"salesapp", info=purpose.encode()
    ).derive(secret.encode())


def fernet(secret: str, purpose: str) -> Fernet:
    """Fernet encryption under the key derived from ``secret`` for ``purpose``."""
    return Fernet(base64.urlsafe_b64encode(derive_key(secret, purpose)))


def key_ring(secret_key: str, previous_keys: Sequence[str], purpose: str) -> MultiFernet:
    """Encrypts under ``secret_key``'s key for ``purpose``; decrypts under it or any of
    ``previous_keys``' (a rotation's grace)."""
    return MultiFernet([fernet(key, purpose) for key in (secret_key, *previous_keys)])


class SecretBox:
    """Encrypts and decrypts short secrets (by default store connection URLs, for the
    catalog): under the current key, and during a rotation's grace under the previous
    ones too."""

    def __init__(
        self, secret_key: str, previous_keys: Sequence[str] = (), purpose: str = "store-urls"
    ):
        self._current = fernet(secret_key, purpose)
        self._ring = key_ring(secret_key, previous_keys, purpose)
        self._purpose = purpose

    def encrypt(self, plaintext: str) -> str:
        return self._current.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._ring.decrypt(token.encode()).decode()
        except InvalidToken:
            what = "a store URL from the catalog" if self._purpose == "store-urls" else "a secret"
            raise ValueError(
                f"cannot decrypt {what}: neither salesapp.secret_key nor "
                "salesapp.previous_secret_keys is the key it was encrypted with; set "
                "SALESAPP_SECRET_KEY back to it (or, during a rotation, add it to "
                "SALESAPP_PREVIOUS_SECRET_KEYS)"
            ) from None

    def reencrypt(self, token: str) -> str | None:
        """``token`` encrypted under the current key, or None if it already is (a
        rotation's rerun changes nothing twice); ValueError if no key decrypts it."""
        try:
            self._current.decrypt(token.encode())
            return None
        except InvalidToken:
            return self.encrypt(self.decrypt(token))


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***, safe to print and log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show nothing of it
        return "<unparseable database URL>"


_URL_PASSWORD_RE = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)@", re.I)
_CONNINFO_PASSWORD_RE = re.compile(r"(?P<head>password\s*=\s*)(?P<pw>'[^']*'|\S+)", re.I)


def mask_secrets(text: str) -> str:
    """``text`` with every URL password and ``password=`` value replaced by ***."""
    text = _URL_PASSWORD_RE.sub(lambda m: f"{m['head']}***@" if m["pw"] else m[0], text)
    return _CONNINFO_PASSWORD_RE.sub(lambda m: f"{m['head']}***", text)


def signing_secret(secret_key: str, purpose: str) -> str:
    """A hex secret for signing cookies for one purpose (e.g. one tenant's sessions)."""
    return hmac.new(derive_key(secret_key, "signing"), purpose.encode(), hashlib.sha256).hexdigest()
