"""A workspace's days and amounts (salesapp.localization): local days as UTC ranges
across DST changes, ISO times with the zone's offset, and each currency's own
decimals (ISO 4217)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from salesapp.forms import Form, FormError
from salesapp.localization import (
    Local,
    check_currency,
    check_locale,
    check_zone,
    currency_decimals,
    zone_names,
)

HOUR = dt.timedelta(hours=1)
NEW_YORK = Local("America/New_York", "en_US", "USD")
NAIROBI = Local("Africa/Nairobi", "en_KE", "KES")


def hours(local: Local, day: dt.date) -> float:
    start, end = local.day_range(day)
    return (end - start) / HOUR


@pytest.mark.parametrize(
    ("day", "length"),
    [
        (dt.date(2026, 3, 7), 24),
        (dt.date(2026, 3, 8), 23),  # clocks go forward at 02:00
        (dt.date(2026, 3, 9), 24),
        (dt.date(2026, 11, 1), 25),  # clocks go back at 02:00
        (dt.date(2026, 11, 2), 24),
    ],
)
def test_a_new_york_day_across_dst(day, length):
    assert hours(NEW_YORK, day) == length


def test_the_dst_days_begin_at_local_midnight():
    start, end = NEW_YORK.day_range(dt.date(2026, 3, 8))
    assert start == dt.datetime(2026, 3, 8, 5, tzinfo=dt.UTC)  # EST, UTC-5
    assert end == dt.datetime(2026, 3, 9, 4, tzinfo=dt.UTC)  # EDT, UTC-4
    start, end = NEW_YORK.day_range(dt.date(2026, 11, 1))
    assert (start, end) == (
        dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 2, 5, tzinfo=dt.UTC),
    )


def test_a_nairobi_day_is_always_24_hours():
    day = dt.date(2026, 1, 1)
    while day.year == 2026:
        assert hours(NAIROBI, day) == 24, day
        day += dt.timedelta(days=1)
    start, _ = NAIROBI.day_range(dt.date(2026, 12, 1))
    assert start == dt.datetime(2026, 11, 30, 21, tzinfo=dt.UTC)


def test_a_range_of_days_covers_them_all():
    start, end = NEW_YORK.day_range(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert (end - start) / HOUR == 31 * 24 - 1
    start, end = NAIROBI.day_range(dt.date(2026, 12, 1), dt.date(2026, 12, 7))
    assert (end - start) == dt.timedelta(days=7)


def test_the_local_day_of_an_instant_around_midnight():
    late = dt.datetime(2026, 11, 30, 21, 30, tzinfo=dt.UTC)  # 00:30 on 1 December in Nairobi
    assert NAIROBI.day_of(late) == dt.date(2026, 12, 1)
    assert NEW_YORK.day_of(late) == dt.date(2026, 11, 30)
    early = dt.datetime(2026, 12, 1, 3, 30, tzinfo=dt.UTC)  # 22:30 on 30 November in New York
    assert NEW_YORK.day_of(early) == dt.date(2026, 11, 30)
    start, end = NEW_YORK.day_range(dt.date(2026, 11, 30))
    assert start <= early < end


@pytest.mark.parametrize(
    ("local", "instant", "written"),
    [
        (NAIROBI, dt.datetime(2026, 12, 1, 7, 7, tzinfo=dt.UTC), "2026-12-01T10:07:00+03:00"),
        (NEW_YORK, dt.datetime(2026, 1, 15, 17, 0, tzinfo=dt.UTC), "2026-01-15T12:00:00-05:00"),
        (NEW_YORK, dt.datetime(2026, 7, 15, 16, 0, tzinfo=dt.UTC), "2026-07-15T12:00:00-04:00"),
        (
            Local(),
            dt.datetime(2026, 7, 15, 16, 0, 5, 123, tzinfo=dt.UTC),
            "2026-07-15T16:00:05+00:00",
        ),
        (
            Local("Asia/Kolkata"),
            dt.datetime(2026, 7, 15, 0, 0, tzinfo=dt.UTC),
            "2026-07-15T05:30:00+05:30",
        ),
        # a naive instant is taken as UTC
        (NAIROBI, dt.datetime(2026, 12, 1, 21, 30), "2026-12-02T00:30:00+03:00"),
    ],
)
def test_iso_with_the_zones_offset(local, instant, written):
    assert local.iso(instant) == written
    assert dt.datetime.fromisoformat(written) == instant.replace(
        microsecond=0, tzinfo=instant.tzinfo or dt.UTC
    )


def test_iso_of_a_date_and_of_nothing():
    assert NAIROBI.iso(dt.date(2026, 12, 1)) == "2026-12-01"
    assert NAIROBI.iso(None) == ""


def test_the_nairobi_sale_at_ten_oh_seven():
    """The issue's case: a Nairobi sale at 10:07 no longer prints 07:07."""
    sold = dt.datetime(2026, 12, 1, 7, 7, tzinfo=dt.UTC)
    assert NAIROBI.clock(sold) == "10:07"
    assert "10:07" in NAIROBI.when(sold)
    assert Local("Africa/Nairobi", "de_DE").when(sold) == "01.12.26, 10:07"


@pytest.mark.parametrize(("code", "places"), [("JPY", 0), ("KES", 2), ("BHD", 3), ("EUR", 2)])
def test_currency_decimals(code, places):
    local = Local(currency=code)
    assert currency_decimals(code) == local.decimals == places
    assert local.quantum == Decimal(1).scaleb(-places)
    assert local.round_money(Decimal("1.23456")) == Decimal("1.23456").quantize(local.quantum)


def test_amounts_are_shown_with_the_currencys_decimals():
    assert Local(currency="JPY").money(Decimal("1234")) == "1,234"
    assert Local(currency="KES", locale_id="en_KE").money(Decimal("1234.5")) == "1,234.50"
    assert Local(currency="BHD").money(Decimal("1.5")) == "1.500"
    assert Local(currency="EUR", locale_id="de_DE").money(Decimal("1234.5")) == "1.234,50"
    assert Local(currency="JPY").entry_money(Decimal("100")) == "100"
    assert Local(currency="EUR", locale_id="de_DE").entry_money(Decimal("12.5")) == "12,50"
    assert "1,234.50" in Local(currency="KES", locale_id="en_KE").cash(Decimal("1234.5"))


def test_a_price_of_100_point_5_yen_is_refused():
    form = Form({"price": "100.5"}, local=Local(currency="JPY", locale_id="ja_JP"))
    assert form.money("price") is None
    with pytest.raises(FormError) as refused:
        form.check()
    assert "JPY amounts have no decimal places" in refused.value.errors["price"]
    form = Form({"price": "100"}, local=Local(currency="JPY", locale_id="ja_JP"))
    assert form.money("price") == Decimal("100")
    form = Form({"price": "1.125"}, local=Local(currency="BHD"))
    assert form.money("price") == Decimal("1.125")


@pytest.mark.parametrize("name", ["Africa/Nairobi", "Europe/Berlin", "America/New_York", "UTC"])
def test_zones_are_checked_by_iana_name(name):
    assert check_zone(name) == ZoneInfo(name)
    assert name in zone_names()


@pytest.mark.parametrize(
    "name", ["", "Nairobi", "Africa/Atlantis", "../etc/passwd", " UTC", "EAT+3"]
)
def test_a_wrong_zone_says_what_to_type(name):
    with pytest.raises(ValueError, match="IANA name such as Africa/Nairobi"):
        check_zone(name)


def test_locales_and_currencies_are_checked():
    assert str(check_locale("sw_KE")) == "sw_KE"
    with pytest.raises(ValueError, match="must be one of en_US"):
        check_locale("xx_XX")
    assert check_currency(" kes ") == "KES"
    for wrong in ("KSH", "US", "DOLLAR", ""):
        with pytest.raises(ValueError, match="ISO 4217"):
            check_currency(wrong)
