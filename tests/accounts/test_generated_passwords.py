"""Passwords the system generates (96 random bits) are hashed with the configured
argon2 parameters like any other (issue 16): a cheaper hash made a never-used account's
sign-in answer eight times faster, telling that it exists. They still sign in."""

from argon2 import extract_parameters

from tests.accounts.support import user_row
from tests.conftest import sign_in


def cost(row):
    params = extract_parameters(row.password_hash)
    return params.time_cost, params.memory_cost


def test_a_generated_admin_password_gets_the_configured_cost(
    make_tenant, owner_engine, client_for, settings
):
    tenant = make_tenant("pooled")  # no admin_password: one is generated
    assert tenant.generated_password
    configured = (settings.argon2_time_cost, settings.argon2_memory_cost)
    assert cost(user_row(owner_engine, tenant, "admin")) == configured
    sign_in(client_for(tenant), "admin", tenant.admin_password)
    assert cost(user_row(owner_engine, tenant, "admin")) == configured


def test_a_password_the_operator_chose_gets_the_configured_cost(
    make_tenant, owner_engine, settings
):
    tenant = make_tenant("pooled", admin_password="chosen by a person 42")
    assert not tenant.generated_password
    row = user_row(owner_engine, tenant, "admin")
    assert cost(row) == (settings.argon2_time_cost, settings.argon2_memory_cost)
