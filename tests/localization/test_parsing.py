"""Numbers read as each supported locale writes them (salesapp.localization): grouping
only where the locale puts it, its own decimal sign, nothing ambiguous guessed, the
ASCII digits 0-9 only, a leading minus sign."""

from decimal import Decimal

import pytest

from salesapp.forms import Form, FormError
from salesapp.localization import LOCALE_IDS, PLAIN, Local

#: per locale: (a grouped thousand as typed, a decimal as typed, what is ambiguous there)
WRITTEN = {
    "en_US": ("1,234", "1234.5", "1,23"),
    "en_GB": ("1,234", "1234.5", "1,23"),
    "en_KE": ("1,234", "1234.5", "1,23"),
    "en_NG": ("1,234", "1234.5", "12,3"),
    "en_ZA": ("1 234", "1234,5", "1 23"),
    "en_IN": ("12,34,567", "1234.5", "1,2"),
    "sw_KE": ("1,234", "1234.5", "1,23"),
    "de_DE": ("1.234", "1234,5", "1.23"),
    "fr_FR": ("1 234", "1234,5", "1 23"),
    "es_ES": ("1.234", "1234,5", "1.23"),
    "it_IT": ("1.234", "1234,5", "1.23"),
    "nl_NL": ("1.234", "1234,5", "1.23"),
    "pt_BR": ("1.234", "1234,5", "1.23"),
    "ja_JP": ("1,234", "1234.5", "1,23"),
}
GROUPED_VALUE = {"en_IN": Decimal("1234567")}
#: what a refusal of a misplaced group or decimal sign says
REFUSED = "ambiguous or badly grouped|does not use in numbers"


def test_every_supported_locale_is_tested():
    assert set(WRITTEN) == set(LOCALE_IDS)


@pytest.mark.parametrize("locale_id", LOCALE_IDS)
def test_a_grouped_thousand(locale_id):
    grouped, _, _ = WRITTEN[locale_id]
    local = Local(locale_id=locale_id)
    assert local.parse_number(grouped) == GROUPED_VALUE.get(locale_id, Decimal("1234"))


@pytest.mark.parametrize("locale_id", LOCALE_IDS)
def test_a_decimal_and_what_the_locale_shows_parses_back(locale_id):
    _, decimal, _ = WRITTEN[locale_id]
    local = Local(locale_id=locale_id)
    assert local.parse_number(decimal) == Decimal("1234.5")
    # what a page shows, grouped or in an input, reads back as the same number
    for shown in (local.number(Decimal("1234567.25")), local.entry(Decimal("1234567.25"))):
        assert local.parse_number(shown) == Decimal("1234567.25"), shown
    assert local.parse_number(local.money(Decimal("9876.5"))) == Decimal("9876.50")


@pytest.mark.parametrize("locale_id", LOCALE_IDS)
def test_an_ambiguous_input_is_refused_with_a_message(locale_id):
    _, _, ambiguous = WRITTEN[locale_id]
    local = Local(locale_id=locale_id)
    with pytest.raises(ValueError, match=REFUSED) as refused:
        local.parse_number(ambiguous)
    message = str(refused.value)
    assert repr(ambiguous) in message  # what was typed
    assert local.number(Decimal("1234.5")) in message  # and how to write it


@pytest.mark.parametrize("locale_id", LOCALE_IDS)
def test_the_other_decimal_sign_is_refused_not_guessed(locale_id):
    local = Local(locale_id=locale_id)
    _, decimal, _ = WRITTEN[locale_id]
    other = decimal.replace(".", "#").replace(",", ".").replace("#", ",")  # 1234.5 <-> 1234,5
    with pytest.raises(ValueError, match=REFUSED):
        local.parse_number(other)


@pytest.mark.parametrize("locale_id", LOCALE_IDS)
@pytest.mark.parametrize(
    "digits",
    [
        "\u0661\u0662\u0663",
        "\uff11\uff12\uff13",
        "\u06f1\u06f2\u06f3",
        "\u0967\u0968\u0969",
        "\u00b2",
        "\u00bd",
    ],
    ids=["arabic-indic", "fullwidth", "persian", "devanagari", "superscript", "fraction"],
)
def test_only_ascii_digits(locale_id, digits):
    with pytest.raises(ValueError, match="digits 0-9"):
        Local(locale_id=locale_id).parse_number(digits)


@pytest.mark.parametrize("locale_id", LOCALE_IDS)
def test_a_negative_number(locale_id):
    grouped, decimal, _ = WRITTEN[locale_id]
    local = Local(locale_id=locale_id)
    assert local.parse_number(f"-{decimal}") == Decimal("-1234.5")
    assert local.parse_number(f"- {grouped}") == -GROUPED_VALUE.get(locale_id, Decimal("1234"))
    assert local.parse_number(f"+{decimal}") == Decimal("1234.5")


@pytest.mark.parametrize("locale_id", LOCALE_IDS)
@pytest.mark.parametrize("text", ["", "   ", "abc", "12abc", "1e3", "--1", "NaN", "inf"])
def test_what_is_not_a_number_is_refused(locale_id, text):
    with pytest.raises(ValueError, match="must be a number"):
        Local(locale_id=locale_id).parse_number(text)


def test_one_comma_two_readings():
    """The issue's case: 1,234 is a thousand and more in English, a little over one in
    German; and the English one is never stored as 1.234 again."""
    assert Local(locale_id="en_US").parse_number("1,234") == Decimal("1234")
    assert Local(locale_id="de_DE").parse_number("1,234") == Decimal("1.234")


def test_french_group_spaces_of_every_kind():
    local = Local(locale_id="fr_FR")
    for space in (" ", "\u00a0", "\u202f", "\u2009"):
        assert local.parse_number(f"1{space}234{space}567,5") == Decimal("1234567.5")


def test_a_form_reads_in_its_locale_and_names_the_field():
    form = Form({"quantity": "1.234,5", "price": "1,23"}, local=Local(locale_id="de_DE"))
    assert form.decimal("quantity", places=3) == Decimal("1234.500")
    assert form.decimal("price") == Decimal("1.23")
    form.check()
    form = Form({"quantity": "1,23"}, local=Local(locale_id="en_US"))
    assert form.decimal("quantity", places=3) is None
    with pytest.raises(FormError) as refused:
        form.check()
    assert "ambiguous" in refused.value.errors["quantity"]


def test_without_a_locale_a_form_reads_plain_decimals_as_the_api_does():
    form = Form({"a": "1234.5", "b": "1,234"})
    assert form.decimal("a") == Decimal("1234.50")
    assert form.decimal("b") is None
    assert "must be a number" in form.errors["b"]
    assert PLAIN.parse_number("1234.5") == Decimal("1234.5")
