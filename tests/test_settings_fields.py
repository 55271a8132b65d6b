"""The typed settings that used to be read as raw strings: the move grace, the thresholds
for dedicated candidates and the demo port. Their defaults, valid values, and errors
that say what was wrong and what to give instead."""

from __future__ import annotations

import pytest

from salesapp.settings import SettingsError, parse_settings


def parse(**values):
    return parse_settings({f"salesapp.{key}": value for key, value in values.items()}, environ={})


def test_defaults():
    settings = parse()
    assert settings.move_grace_seconds == 2.0
    assert settings.dedicated_threshold_rows == 1_000_000
    assert settings.dedicated_threshold_mb == 1024.0
    assert settings.demo_port == 6543


def test_blank_values_take_the_defaults():
    settings = parse(
        move_grace_seconds="",
        dedicated_threshold_rows="",
        dedicated_threshold_mb=" ",
        demo_port="",
    )
    assert (settings.move_grace_seconds, settings.demo_port) == (2.0, 6543)
    assert (settings.dedicated_threshold_rows, settings.dedicated_threshold_mb) == (1_000_000, 1024)


def test_ini_values_are_parsed_to_their_types():
    settings = parse(
        move_grace_seconds="0.5",
        dedicated_threshold_rows=" 250000 ",
        dedicated_threshold_mb="512.5",
        demo_port="8080",
    )
    assert settings.move_grace_seconds == 0.5
    assert settings.dedicated_threshold_rows == 250_000
    assert settings.dedicated_threshold_mb == 512.5
    assert settings.demo_port == 8080
    assert isinstance(settings.dedicated_threshold_rows, int)
    assert isinstance(settings.demo_port, int)


def test_zero_is_allowed_where_it_means_something():
    settings = parse(
        move_grace_seconds="0", dedicated_threshold_rows="0", dedicated_threshold_mb="0"
    )
    assert settings.move_grace_seconds == 0  # remove the source at once
    assert settings.dedicated_threshold_rows == 0  # every pooled tenant is a candidate
    assert settings.dedicated_threshold_mb == 0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("move_grace_seconds", "two", r"salesapp\.move_grace_seconds must be a number, got 'two'"),
        ("move_grace_seconds", "nan", r"must be a number, got 'nan'"),
        ("move_grace_seconds", "-1", r"move_grace_seconds must be at least 0, got '-1'"),
        ("dedicated_threshold_rows", "1e6", r"dedicated_threshold_rows must be a whole number"),
        ("dedicated_threshold_rows", "-5", r"dedicated_threshold_rows must be at least 0"),
        ("dedicated_threshold_mb", "1GB", r"dedicated_threshold_mb must be a number, got '1GB'"),
        ("dedicated_threshold_mb", "inf", r"dedicated_threshold_mb must be a number"),
        ("dedicated_threshold_mb", "-0.5", r"dedicated_threshold_mb must be at least 0"),
        ("demo_port", "http", r"salesapp\.demo_port must be a whole number, got 'http'"),
        ("demo_port", "0", r"demo_port must be between 1 and 65535, got '0'"),
        ("demo_port", "70000", r"demo_port must be between 1 and 65535, got '70000'"),
        ("cache_ttl", "soon", r"salesapp\.cache_ttl must be a number, got 'soon'"),
        ("catalog_grace", "-1", r"salesapp\.catalog_grace must be at least 0"),
    ],
)
def test_bad_values_say_what_was_wrong(key, value, message):
    with pytest.raises(SettingsError, match=message):
        parse(**{key: value})


@pytest.mark.parametrize(
    ("key", "value", "advice"),
    [
        ("move_grace_seconds", "x", "seconds a move waits before removing the source"),
        ("dedicated_threshold_rows", "x", "row count past which a pooled tenant"),
        ("dedicated_threshold_mb", "x", "megabytes past which a pooled tenant"),
        ("demo_port", "x", "the port pserve listens on"),
    ],
)
def test_bad_values_say_what_to_give_instead(key, value, advice):
    with pytest.raises(SettingsError) as raised:
        parse(**{key: value})
    assert advice in str(raised.value)
