"""What a sign-in hashes (issue 16): every stored password with the configured Argon2
parameters, an unknown login verified against one hash per process made with them (no
new hash per request), nothing hashed while an address must wait, and at most
``sign_in_hashing_slots`` hashes at once per process (503 with Retry-After beyond).

The response time of a sign-in used to tell unknown logins (a dummy hash made anew per
request: two Argon2 runs), existing ones (one run) and accounts whose generated password
was never used (a weak hash, eight times faster) apart. Speed is shown by the benchmark;
these tests check the causes.
"""

import contextlib

import pytest
from argon2 import PasswordHasher, extract_parameters

from salesapp.accounts.throttle import FREE_FAILURES
from tests.accounts.support import fill, form_for, user_row
from tests.accounts.test_users import create_user
from tests.conftest import sign_in


class CountingHasher(PasswordHasher):
    """The app's hasher, counting what it hashes and what it verifies against."""

    def __init__(self, like: PasswordHasher):
        super().__init__(like.time_cost, like.memory_cost, like.parallelism)
        self.hashed = 0
        self.verified = []

    def hash(self, password, *, salt=None):
        self.hashed += 1
        return super().hash(password, salt=salt)

    def verify(self, hash, password):
        self.verified.append(hash)
        return super().verify(hash, password)


@pytest.fixture
def counting(app, monkeypatch):
    hasher = CountingHasher(app.registry.password_hasher)
    monkeypatch.setattr(app.registry, "password_hasher", hasher)
    return hasher


def parameters(password_hash):
    params = extract_parameters(password_hash)
    return params.time_cost, params.memory_cost, params.parallelism


@pytest.fixture
def configured(settings):
    return parameters(
        PasswordHasher(settings.argon2_time_cost, settings.argon2_memory_cost).hash("x")
    )


def test_every_stored_password_has_the_configured_parameters(
    staff, make_user, owner_engine, client_for, configured
):
    # a generated password (the operator gave none), read before any sign-in (which
    # would rehash it with the configured parameters)
    fresh, _ = staff(roles=())
    assert fresh.generated_password
    assert parameters(user_row(owner_engine, fresh, "admin").password_hash) == configured

    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]

    made, _ = make_user(tenant, ("Cashiers",))  # an operator's tool
    create_user(admin, username="by.admin")  # an Admin's new user
    reset = user_row(owner_engine, tenant, made)
    page = admin.get(f"/users/{reset.id}/edit")
    fill(form_for(page, "/edit", testid="password-form"), password="temporary pass 4242").submit(
        status=303
    )
    for username in ("admin", made, "by.admin"):
        assert parameters(user_row(owner_engine, tenant, username).password_hash) == configured


def test_an_unknown_login_is_verified_against_a_configured_hash_made_before(
    make_tenant, client_for, counting, configured
):
    tenant = make_tenant("pooled")
    client = client_for(tenant, REMOTE_ADDR="198.51.100.80")
    for login in ("nobody", "nobody@example.org", "admin"):
        sign_in(client, login, "wrong-password", status=400)
    assert counting.hashed == 0  # no hash made per request
    unknown, also_unknown, known = counting.verified
    assert unknown == also_unknown  # one dummy hash for the process
    assert parameters(unknown) == parameters(known) == configured


def test_a_waiting_address_hashes_nothing(make_tenant, client_for, counting):
    tenant = make_tenant("pooled")
    client = client_for(tenant, REMOTE_ADDR="198.51.100.81")
    for _ in range(FREE_FAILURES):
        sign_in(client, "admin", "wrong-password", status=400)
    assert len(counting.verified) == FREE_FAILURES  # one Argon2 run per attempt
    for login in ("admin", "admin"):
        sign_in(client, login, "wrong-password", status=429)
    assert len(counting.verified) == FREE_FAILURES
    assert counting.hashed == 0


def test_with_every_hashing_slot_taken_sign_in_answers_503_at_once(
    app, make_tenant, client_for, owner_engine, settings
):
    tenant = make_tenant("pooled")
    client = client_for(tenant, REMOTE_ADDR="198.51.100.82")
    gate = app.registry.hashing_gate
    with contextlib.ExitStack() as taken:
        for _ in range(settings.sign_in_hashing_slots):
            taken.enter_context(gate.slot())
        res = sign_in(client, "admin", tenant.admin_password, status=503)
    assert "Sign-in is busy right now. Try again in a few seconds" in res.text
    assert int(res.headers["Retry-After"]) > 0
    assert user_row(owner_engine, tenant, "admin").last_login_at is None
    # nothing was counted: five wrong passwords still cost no wait, then it signs in
    for _ in range(FREE_FAILURES - 1):
        sign_in(client, "admin", "wrong-password", status=400)
    sign_in(client, "admin", tenant.admin_password)
