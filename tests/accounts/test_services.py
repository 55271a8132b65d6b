"""AccountService rules called directly (what the pages cannot reach on their own)."""

import pytest

from salesapp.accounts.services import AccountError
from tests.accounts.support import accounts_service, user_row, users_snapshot


def test_the_last_active_admin_cannot_be_deactivated_or_lose_admin(
    catalog, make_tenant, owner_engine
):
    tenant = make_tenant("pooled")
    before = users_snapshot(owner_engine, tenant)
    for changes in (
        {"active": False, "roles": ("Admin",)},
        {"active": True, "roles": ("Managers",)},
    ):
        with pytest.raises(AccountError, match="admin is the last active Admin") as refused:
            with accounts_service(catalog, tenant) as accounts:
                admin = accounts.find_by_login("admin")
                accounts.update_user(admin, full_name="A", email=None, **changes)
        assert refused.value.field == ("active" if not changes["active"] else "roles")
    assert users_snapshot(owner_engine, tenant) == before


def test_an_inactive_admin_does_not_count_as_another_admin(catalog, make_tenant, owner_engine):
    tenant = make_tenant("pooled")
    with accounts_service(catalog, tenant) as accounts:
        accounts.create_user(
            username="sleeper", password="sleeper-password", roles=("Admin",), full_name="S"
        )
        accounts.find_by_login("sleeper").is_active = False
    with (
        pytest.raises(AccountError, match="last active Admin"),
        accounts_service(catalog, tenant) as accounts,
    ):
        admin = accounts.find_by_login("admin")
        accounts.update_user(admin, full_name="A", email=None, roles=("Managers",), active=True)
    assert user_row(owner_engine, tenant, "admin").role_list == ["Admin"]


def test_with_another_active_admin_the_first_may_step_down(catalog, make_tenant, owner_engine):
    tenant = make_tenant("pooled")
    with accounts_service(catalog, tenant) as accounts:
        accounts.create_user(
            username="second", password="second-password", roles=("Admin",), full_name="S"
        )
    with accounts_service(catalog, tenant) as accounts:
        admin = accounts.find_by_login("admin")
        accounts.update_user(admin, full_name="A", email=None, roles=("Managers",), active=True)
    assert user_row(owner_engine, tenant, "admin").role_list == ["Managers"]


def test_add_user_checks_the_limit_before_writing(catalog, make_tenant, owner_engine):
    tenant = make_tenant("pooled")
    before = users_snapshot(owner_engine, tenant)
    with pytest.raises(AccountError, match="This workspace allows 1 active users"):
        with accounts_service(catalog, tenant, max_users=1) as accounts:
            accounts.add_user(
                username="extra",
                full_name="Extra",
                email=None,
                roles=("Cashiers",),
                password="extra-password",
            )
    assert users_snapshot(owner_engine, tenant) == before


def test_create_user_with_an_unknown_role_writes_nothing(catalog, make_tenant, owner_engine):
    tenant = make_tenant("pooled")
    before = users_snapshot(owner_engine, tenant)
    with accounts_service(catalog, tenant) as accounts:
        with pytest.raises(AccountError, match="unknown role 'Owner'"):
            accounts.create_user(username="x", password="x-password-1", roles=("Owner",))
    # the block committed: the refusal came before any row was added
    assert users_snapshot(owner_engine, tenant) == before
