"""Sessions: a signed cookie per tenant.

Session cookies are signed with a key derived for the one tenant that minted them, so
a cookie from demo's host is worthless on acme's (and the session also names its
tenant, checked on every request: salesapp.security). Cookies are host-only, HttpOnly,
SameSite=Lax, and Secure when ``salesapp.secure_cookies`` (the default in production).
During a rotation of the secret key, cookies signed under a key of
``salesapp.previous_secret_keys`` are still accepted (and re-signed under the current
key when reissued); new ones are signed under the current key only.

A cookie holds about 4 KB: browsers drop a larger one, and Pyramid refuses to write it
(a ValueError after the view, once a 500). So the session stays under COOKIE_BYTES:

- flash messages are notices shown on the next page. Posts whose answers are never
  followed (a script, a tab left open) pile them up; each queue keeps the newest
  MAX_FLASH_MESSAGES within FLASH_QUEUE_BYTES, the oldest dropped and a message too
  long for the queue shortened, so notices alone can never fill the cookie;
- any other write that would take the cookie past COOKIE_BYTES is undone and refused
  with 400 (SessionTooLarge) while the view runs, so pyramid_tm rolls the request back:
  nothing of it is saved, and the browser keeps the session it had. What the app
  keeps in the session is small and bounded, so this is the guard for a future bug.
"""

from __future__ import annotations

import contextlib
import functools
import json

from pyramid.session import BaseCookieSessionFactory, JSONSerializer
from pyramid.view import exception_view_config
from webob.cookies import SignedSerializer

from .http_helpers import refusal
from .tenancy.crypto import signing_secret

SESSION_COOKIE = "salesapp_session"
#: how long a session lives without a request: a rotated secret key's grace must last
#: as long for every session signed under it to end by itself
SESSION_SECONDS = 8 * 3600
#: the most a session cookie's value may take: browsers keep 4096 bytes of a cookie's
#: name, value and attributes (Pyramid itself refuses values over 4064)
COOKIE_BYTES = 4000
#: flash messages kept per queue (the newest), and the most their JSON may take: two
#: full queues and the rest of a session stay well under COOKIE_BYTES once signed
MAX_FLASH_MESSAGES = 5
FLASH_QUEUE_BYTES = 1000
FLASH_PREFIX = "_f_"  # Pyramid's key of a flash queue in the session
ELLIPSIS = "…"


class SessionTooLarge(ValueError):
    """A change to the session would make its cookie larger than browsers keep."""

    def __init__(self, size: int):
        self.size = size
        super().__init__(
            f"This request would make your session too large to keep in your browser "
            f"({size:,} bytes; at most {COOKIE_BYTES:,}). Nothing was saved. Finish or "
            "clear what you have open (such as the cart), then send it again; signing "
            "out and in again starts an empty session."
        )


@exception_view_config(SessionTooLarge)
def session_too_large(exc, request):
    """400 saying why; pyramid_tm rolls back an error answer, the session is as it was."""
    return refusal(request, 400, str(exc), {"session": "would be too large"})


def _json_bytes(value) -> int:
    return len(json.dumps(value))  # as JSONSerializer writes it (ASCII, escaped)


def _fitted(message: str) -> str:
    """``message`` short enough for a flash queue of its own (ending with an ellipsis
    when shortened)."""
    if _json_bytes([message]) <= FLASH_QUEUE_BYTES:
        return message
    while _json_bytes([message + ELLIPSIS]) > FLASH_QUEUE_BYTES:
        message = message[: len(message) * 3 // 4]
    return message + ELLIPSIS


def _bounded(change):
    """A session method that changes it, made to undo the change and raise
    SessionTooLarge when the cookie would then be over COOKIE_BYTES."""

    @functools.wraps(change)
    def bounded_change(session, *args, **kw):
        before = dict.copy(session)
        result = change(session, *args, **kw)
        size = session.cookie_size()
        if size > COOKIE_BYTES:
            dict.clear(session)
            dict.update(session, before)
            raise SessionTooLarge(size)
        return result

    return bounded_change


def bounded_session_class(base, serializer):
    """``base`` (a BaseCookieSessionFactory's session class) whose cookie stays under
    COOKIE_BYTES: flash queues trimmed, other growth refused (see the module)."""

    class BoundedCookieSession(base):
        __setitem__ = _bounded(base.__setitem__)
        update = _bounded(base.update)
        setdefault = _bounded(base.setdefault)

        def cookie_size(self) -> int:
            """The length of the cookie value this session would be written as."""
            return len(serializer.dumps((self.accessed, self.created, dict.copy(self))))

        def flash(self, msg, queue="", allow_duplicate=True):
            """Pyramid's flash, keeping the newest MAX_FLASH_MESSAGES of the queue within
            FLASH_QUEUE_BYTES (the oldest go first)."""
            messages = list(self.get(FLASH_PREFIX + queue, ()))
            if not allow_duplicate and msg in messages:
                return
            newest = _fitted(str(msg))
            messages = [*messages, newest][-MAX_FLASH_MESSAGES:]
            while _json_bytes(messages) > FLASH_QUEUE_BYTES:
                messages.pop(0)
            try:
                self[FLASH_PREFIX + queue] = messages
            except SessionTooLarge:
                # the rest of the session is large: a notice is not worth refusing
                # the work it reports, so only the newest is kept, or none
                with contextlib.suppress(SessionTooLarge):
                    self[FLASH_PREFIX + queue] = [newest]

    return BoundedCookieSession


class SignedByAnyKey:
    """A cookie serializer that signs under the first key and accepts any of them."""

    def __init__(self, secrets: list[str]):
        # as pyramid's SignedCookieSessionFactory signs: cookies of before stay valid
        self._signers = [
            SignedSerializer(secret, "pyramid.session.", "sha512", serializer=JSONSerializer())
            for secret in secrets
        ]

    def dumps(self, appstruct) -> bytes:
        return self._signers[0].dumps(appstruct)

    def loads(self, bstruct: bytes):
        for signer in self._signers:
            try:
                return signer.loads(bstruct)
            except ValueError:
                continue
        raise ValueError("the cookie is signed under none of the keys")  # a new session


class TenantSessionFactory:
    """One signed-cookie session factory per tenant (and one for the public site)."""

    def __init__(self, settings):
        self.settings = settings
        self._factories = {}
        self._keys = (settings.secret_key, *settings.previous_secret_keys)

    def _factory(self, scope: str):
        factory = self._factories.get(scope)
        if factory is None:
            serializer = SignedByAnyKey(
                [signing_secret(key, f"session:{scope}") for key in self._keys]
            )
            base = BaseCookieSessionFactory(
                serializer,
                cookie_name=SESSION_COOKIE,
                secure=self.settings.secure_cookies,
                httponly=True,
                samesite="Lax",
                timeout=SESSION_SECONDS,
                reissue_time=300,
            )
            factory = self._factories[scope] = bounded_session_class(base, serializer)
        return factory

    def __call__(self, request):
        tenant = request.tenant
        return self._factory(f"tenant:{tenant.id}" if tenant else "public")(request)
