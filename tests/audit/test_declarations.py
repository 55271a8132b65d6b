"""Each domain declares what the audit trail records about its tables, next to its model
(``__audit__``, salesapp.audit.declare); the recorder walks a flush and asks each row,
naming no table. These tests need no database: the rows sit in a session without a
connection, and the recorder is asked what the flush would write."""

from __future__ import annotations

import datetime as dt
import inspect as pyinspect
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import Text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, make_transient_to_detached
from sqlalchemy.orm import mapped_column as column

import salesapp.models  # noqa: F401  (every model mapped)
from salesapp.accounts.models import Role, User, UserRole
from salesapp.api.models import ApiToken
from salesapp.audit import recorder
from salesapp.audit.declare import Audit, always, changed, plain
from salesapp.db import Base
from salesapp.expenses.models import Expense
from salesapp.inventory.models import StockMovement
from salesapp.locations.models import Location
from salesapp.preferences.models import WorkspaceSettings
from salesapp.products.models import Product
from salesapp.sales.models import Refund, Sale

#: the audited tables and the domain whose models module declares each
AUDITED = {
    "sales": "sales",
    "refunds": "sales",
    "products": "products",
    "stock_movements": "inventory",
    "users": "accounts",
    "user_roles": "accounts",
    "expenses": "expenses",
    "api_tokens": "api",
    "locations": "locations",
    "workspace_settings": "preferences",
    "registers": "registers",
    "shifts": "registers",
    "cash_movements": "registers",
    "tax_rates": "taxes",
}
TENANT = 7
NOW = dt.datetime(2026, 1, 2, 9, 30, tzinfo=dt.UTC)
USER_ID, ROLE_ID, LOCATION_ID, OTHER_ID = (uuid.uuid4() for _ in range(4))


def _models_by_table() -> dict[str, type]:
    return {mapper.local_table.name: mapper.class_ for mapper in Base.registry.mappers}


@pytest.mark.parametrize("table", sorted(AUDITED))
def test_every_audited_table_declares_its_events_next_to_its_model(table):
    model = _models_by_table()[table]
    assert isinstance(model.__dict__.get("__audit__"), Audit), f"{model.__name__}: no __audit__"
    assert model.__module__ == f"salesapp.{AUDITED[table]}.models"


def test_only_the_audited_tables_declare_and_the_recorder_names_none():
    declared = {
        table
        for table, model in _models_by_table().items()
        if isinstance(getattr(model, "__audit__", None), Audit)
    }
    assert declared == set(AUDITED)
    source = pyinspect.getsource(recorder)
    for table in _models_by_table():
        assert f'"{table}"' not in source, f"the recorder names the table {table}"


def _persistent(session: Session, row):
    """``row`` as if loaded from the database: later changes to it are an update."""
    make_transient_to_detached(row)
    session.add(row)
    session.info.setdefault("held", []).append(row)  # the identity map holds rows weakly
    return row


def _events(session: Session) -> list[tuple]:
    """(action, target, detail as stored, acting username or None) the flush would write."""
    with session.no_autoflush:  # inside a real flush a lookup never flushes
        return [
            (
                found.action,
                target,
                {key: plain(value) for key, value in found.detail.items()},
                found.actor.username if found.actor is not None else None,
            )
            for target, found in recorder.pending_events(session)
        ]


@pytest.fixture
def session():
    session = Session()  # no connection: nothing here reaches a database
    yield session
    session.close()


@pytest.fixture
def ann(session):
    user = User(
        tenant_id=TENANT,
        id=USER_ID,
        username="ann",
        email="ann@example.org",
        full_name="Ann",
        password_hash="hash",
        is_active=True,
        must_change_password=False,
        last_login_at=None,
        locked_until=None,
        failed_logins=0,
    )
    return _persistent(session, user)


@pytest.fixture
def cashiers(session):
    return _persistent(session, Role(tenant_id=TENANT, id=ROLE_ID, name="Cashiers"))


def _movement(kind):
    return StockMovement(
        tenant_id=TENANT,
        product_id=OTHER_ID,
        location_id=LOCATION_ID,
        quantity=Decimal("-1.000"),
        kind=kind,
        reason="broken jar",
    )


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            Sale(tenant_id=TENANT, number=3, total=Decimal("4.50")),
            [("sale.complete", "sale 3", {"total": "4.50"}, None)],
        ),
        (
            Refund(tenant_id=TENANT, sale_id=OTHER_ID, method="cash", reason="stale"),
            [("sale.refund", f"sale id {OTHER_ID}", {"method": "cash", "reason": "stale"}, None)],
        ),
        (
            Product(tenant_id=TENANT, sku="TEA", unit_price=Decimal("4.00"), cost=Decimal("1")),
            [("product.create", "product TEA", {"unit_price": "4.00", "cost": "1"}, None)],
        ),
        *(
            (
                _movement(kind),
                [
                    (
                        action,
                        f"product id {OTHER_ID}",
                        {
                            "quantity": "-1.000",
                            "reason": "broken jar",
                            "location_id": str(LOCATION_ID),
                        },
                        None,
                    )
                ],
            )
            for kind, action in [
                ("receive", "stock.receive"),
                ("adjust", "stock.adjust"),
                ("transfer_out", "stock.transfer"),
            ]
        ),
        *((_movement(kind), []) for kind in ("transfer_in", "sale", "refund", "void")),
        (User(tenant_id=TENANT, username="bob"), [("user.create", "user bob", {}, None)]),
        (
            Expense(
                tenant_id=TENANT,
                category="rent",
                amount=Decimal("10.00"),
                spent_on=dt.date(2026, 1, 2),
            ),
            [
                (
                    "expense.create",
                    "expense rent",
                    {"amount": "10.00", "spent_on": "2026-01-02"},
                    None,
                )
            ],
        ),
        (
            ApiToken(tenant_id=TENANT, name="till", prefix="sa_abc"),
            [("token.create", "token till", {"prefix": "sa_abc"}, None)],
        ),
        (
            Location(tenant_id=TENANT, name="Harbour"),
            [("location.create", "location Harbour", {}, None)],
        ),
    ],
)
def test_new_rows_record_what_they_always_did(session, row, expected):
    session.add(row)
    assert _events(session) == expected


def test_a_sales_void_is_recorded_and_its_other_status_changes_are_not(session):
    sale = _persistent(
        session, Sale(tenant_id=TENANT, id=OTHER_ID, number=5, status="completed", total=1)
    )
    sale.status = "refunded"
    assert _events(session) == []
    sale.status, sale.void_reason = "voided", "scanned twice"
    assert _events(session) == [("sale.void", "sale 5", {"reason": "scanned twice"}, None)]


def test_price_changes_and_other_product_changes_are_two_events(session):
    product = _persistent(
        session,
        Product(
            tenant_id=TENANT,
            id=OTHER_ID,
            sku="TEA",
            name="Tea",
            barcode=None,
            category="",
            unit_price=Decimal("4.00"),
            cost=Decimal("1.00"),
            tax_rate=Decimal("0"),
            is_active=True,
            reorder_level=Decimal("0"),
        ),
    )
    product.category = "drinks"  # not audited
    product.unit_price = Decimal("4.00")  # the same price: no change
    assert _events(session) == []
    product.unit_price, product.name = Decimal("4.50"), "Green tea"
    assert _events(session) == [
        ("product.price", "product TEA", {"unit_price": ["4.00", "4.50"]}, None),
        ("product.update", "product TEA", {"name": ["Tea", "Green tea"]}, None),
    ]


def test_sign_ins_and_lock_outs_are_by_the_user_and_a_rehash_is_no_new_password(session, ann):
    ann.last_login_at, ann.password_hash = NOW, "rehashed"  # argon2 parameters changed
    assert _events(session) == [("auth.sign_in", "user ann", {}, "ann")]


def test_user_changes_in_their_order(session, ann):
    ann.locked_until, ann.failed_logins = NOW, 5
    ann.email, ann.password_hash, ann.must_change_password = "a@example.org", "new", True
    assert _events(session) == [
        ("auth.locked", "user ann", {}, "ann"),
        ("user.update", "user ann", {"email": ["ann@example.org", "a@example.org"]}, None),
        ("user.password", "user ann", {"one_time": True}, None),
    ]


def test_a_role_granted_names_the_user_and_the_role(session, ann, cashiers):
    session.add(UserRole(tenant_id=TENANT, user_id=USER_ID, role_id=ROLE_ID))
    assert _events(session) == [("user.role.add", "user ann", {"role": "Cashiers"}, None)]


def test_a_role_removed_names_the_user_and_the_role(session, ann, cashiers):
    link = _persistent(session, UserRole(tenant_id=TENANT, user_id=USER_ID, role_id=ROLE_ID))
    session.delete(link)
    assert _events(session) == [("user.role.remove", "user ann", {"role": "Cashiers"}, None)]


def test_settings_locations_and_token_changes(session):
    settings = _persistent(
        session,
        WorkspaceSettings(
            tenant_id=TENANT, allow_negative_stock=False, currency="USD", receipt_footer=""
        ),
    )
    location = _persistent(
        session,
        Location(tenant_id=TENANT, id=LOCATION_ID, name="Shop", address="", is_default=True),
    )
    token = _persistent(
        session,
        ApiToken(tenant_id=TENANT, id=OTHER_ID, name="till", prefix="sa_abc", revoked_at=None),
    )
    settings.currency = "EUR"
    location.is_default = False
    token.revoked_at = NOW
    assert sorted(_events(session)) == [
        ("location.update", "location Shop", {"is_default": [True, False]}, None),
        ("settings.update", "workspace settings", {"currency": ["USD", "EUR"]}, None),
        ("token.revoke", "token till", {"prefix": "sa_abc"}, None),
    ]


class _Elsewhere(DeclarativeBase):
    """A model base of this test only: nothing here touches the app's tables."""


class Parcel(_Elsewhere):
    __tablename__ = "parcels"
    __audit__ = Audit(
        target=lambda parcel: f"parcel {parcel.label}",
        inserted=(always("parcel.send", lambda parcel: {"weight": parcel.weight}),),
        updated=(changed("parcel.relabel", "label"),),
        deleted=(always("parcel.cancel"),),
    )

    id: Mapped[int] = column(primary_key=True)
    label: Mapped[str] = column(Text)
    weight: Mapped[Decimal]


def test_a_new_declaration_is_picked_up_without_touching_the_recorder(session):
    session.add(Parcel(id=1, label="A", weight=Decimal("1.5")))
    parcel = _persistent(session, Parcel(id=2, label="B", weight=Decimal("2")))
    parcel.label = "C"
    gone = _persistent(session, Parcel(id=3, label="D", weight=Decimal("3")))
    session.delete(gone)
    assert _events(session) == [
        ("parcel.send", "parcel A", {"weight": "1.5"}, None),
        ("parcel.relabel", "parcel C", {"label": ["B", "C"]}, None),
        ("parcel.cancel", "parcel D", {}, None),
    ]
