"""Passwords the system generates (96 random bits) are hashed at a low argon2 cost,
which key stretching cannot improve on; a password a person chose gets the configured
cost, and the first sign-in with a generated one rehashes it at the configured cost."""

from argon2 import extract_parameters

from salesapp.accounts.services import GENERATED_PASSWORD_HASHER
from tests.accounts.support import user_row
from tests.conftest import sign_in


def cost(row):
    params = extract_parameters(row.password_hash)
    return params.time_cost, params.memory_cost


def test_a_generated_admin_password_is_hashed_cheaply_until_the_first_sign_in(
    make_tenant, owner_engine, client_for, settings
):
    tenant = make_tenant("pooled")  # no admin_password: one is generated
    assert tenant.generated_password
    cheap = (GENERATED_PASSWORD_HASHER.time_cost, GENERATED_PASSWORD_HASHER.memory_cost)
    configured = (settings.argon2_time_cost, settings.argon2_memory_cost)
    assert cheap != configured
    assert cost(user_row(owner_engine, tenant, "admin")) == cheap

    sign_in(client_for(tenant), "admin", tenant.admin_password)
    assert cost(user_row(owner_engine, tenant, "admin")) == configured
    # and the rehashed password still signs in
    sign_in(client_for(tenant), "admin", tenant.admin_password)


def test_a_password_the_operator_chose_gets_the_configured_cost(
    make_tenant, owner_engine, settings
):
    tenant = make_tenant("pooled", admin_password="chosen by a person 42")
    assert not tenant.generated_password
    row = user_row(owner_engine, tenant, "admin")
    assert cost(row) == (settings.argon2_time_cost, settings.argon2_memory_cost)
