"""Helpers for the accounts, locations and preferences tests: look at a tenant's rows
as the owner (under the tenant's setting: RLS is forced even for the owner), and fill
the app's forms the way a browser would."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import text

from salesapp.accounts.services import AccountService, make_password_hasher
from salesapp.operations import door
from salesapp.tenancy.binding import bind


def sql(owner_engine, tenant, statement: str, **params) -> list:
    """Run ``statement`` on the tenant's store as the owner, in the tenant's scope, and
    commit; the rows it returns (if any)."""
    with owner_engine(tenant.store_name).begin() as conn:
        bind(conn, tenant.id)
        result = conn.execute(text(statement), {"tid": tenant.id, **params})
        return result.all() if result.returns_rows else []


def user_row(owner_engine, tenant, username: str):
    """A user's row (with its roles as a sorted list), or None."""
    rows = sql(
        owner_engine,
        tenant,
        "select u.*, coalesce(array(select r.name from user_roles ur join roles r"
        " on r.tenant_id = ur.tenant_id and r.id = ur.role_id where ur.user_id = u.id"
        " order by r.name), '{}') as role_list from users u where u.username = :username",
        username=username,
    )
    return rows[0] if rows else None


def user_row_for_role(owner_engine, tenant, role: str) -> str:
    """The username of the one user with ``role``."""
    (row,) = sql(
        owner_engine,
        tenant,
        "select u.username from users u join user_roles ur on ur.user_id = u.id"
        " join roles r on r.id = ur.role_id where r.name = :role",
        role=role,
    )
    return row.username


def users_snapshot(owner_engine, tenant) -> list:
    """Everything about every user of the tenant (to prove nothing changed)."""
    return sql(
        owner_engine,
        tenant,
        "select u.*, array(select role_id from user_roles ur where ur.user_id = u.id"
        " order by role_id) as role_ids from users u order by u.username",
    )


@contextmanager
def accounts_service(catalog, tenant, max_users=None):
    """An AccountService on the tenant's store (as the owner, through the door), in a
    transaction committed at the end of the block."""
    with door.tenant_session(catalog, tenant) as db:
        yield AccountService(
            db, tenant.id, make_password_hasher(catalog.settings), max_users=max_users
        )


def form_for(page, action_suffix: str, testid: str | None = None):
    """The form of ``page`` posting to a URL ending in ``action_suffix`` (and, when given,
    with data-testid ``testid``)."""
    found = [
        form
        for form in page.forms.values()
        if (form.action or "").endswith(action_suffix)
        and (testid is None or form.html.form.get("data-testid") == testid)
    ]
    assert len(found) == 1, [f.action for f in page.forms.values()]
    return found[0]


def fill(form, **values):
    """Set text fields; a list value checks exactly those checkboxes of a group; a bool
    checks or clears a single checkbox."""
    for name, value in values.items():
        if isinstance(value, list | tuple):
            for box in form.fields[name]:
                box.checked = box._value in value
        else:
            form[name] = value
    return form


def csrf_token(client) -> str:
    """The signed-in client's CSRF token (from the sign-out form on the home page)."""
    return client.get("/").forms[0]["csrf_token"].value
