"""Secrets at rest: store URLs in the catalog are encrypted with a key derived from
``salesapp.secret_key``; URLs are masked wherever they are printed or logged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import make_url


def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so one leaked derived key does not expose another."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"salesapp", info=purpose.encode()
    ).derive(secret.encode())


class SecretBox:
    """Encrypts and decrypts short secrets (store connection URLs) for the catalog."""

    def __init__(self, secret_key: str):
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(secret_key, "store-urls")))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError(
                "cannot decrypt a store URL from the catalog: salesapp.secret_key differs "
                "from the key it was encrypted with; restore the original SALESAPP_SECRET_KEY"
            ) from None


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
