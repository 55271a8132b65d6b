"""Sessions: a signed cookie per tenant.

Session cookies are signed with a key derived for the one tenant that minted them, so
a cookie from demo's host is worthless on acme's (and the session also names its
tenant, checked on every request: salesapp.security). Cookies are host-only, HttpOnly,
SameSite=Lax, and Secure when ``salesapp.secure_cookies`` (the default in production).
During a rotation of the secret key, cookies signed under a key of
``salesapp.previous_secret_keys`` are still accepted (and re-signed under the current
key when reissued); new ones are signed under the current key only.
"""

from __future__ import annotations

from pyramid.session import BaseCookieSessionFactory, JSONSerializer
from webob.cookies import SignedSerializer

from .tenancy.crypto import signing_secret

SESSION_COOKIE = "salesapp_session"
#: how long a session lives without a request: a rotated secret key's grace must last
#: as long for every session signed under it to end by itself
SESSION_SECONDS = 8 * 3600


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
            factory = self._factories[scope] = BaseCookieSessionFactory(
                SignedByAnyKey([signing_secret(key, f"session:{scope}") for key in self._keys]),
                cookie_name=SESSION_COOKIE,
                secure=self.settings.secure_cookies,
                httponly=True,
                samesite="Lax",
                timeout=SESSION_SECONDS,
                reissue_time=300,
            )
        return factory

    def __call__(self, request):
        tenant = request.tenant
        return self._factory(f"tenant:{tenant.id}" if tenant else "public")(request)
