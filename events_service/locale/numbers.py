"""Numbers as the reader writes them (Babel's CLDR: "7,200" in both of our languages,
"12.5%" / "12.5%"), so a figure never reads as a programmer's int."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal, format_percent

from events_service.locale.dates import format_locale


def format_number(value: float | int, locale: str) -> str:
    return format_decimal(value, locale=format_locale(locale))


def format_share(fraction: float, locale: str) -> str:
    """0.125 -> "12.5%"."""
    return format_percent(fraction, "#,##0.#%", locale=format_locale(locale))


def format_fixed(value: float, places: int, locale: str) -> str:
    """A measurement with a fixed number of decimals: 7.25 -> "7.25" (places=2)."""
    pattern = "#,##0." + "0" * places if places else "#,##0"
    return format_decimal(value, pattern, locale=format_locale(locale))


def format_signed(value: float, places: int, locale: str) -> str:
    """A difference with its sign always written, a true minus sign (U+2212) for a
    negative one: "+1.2", "\u22121.8", and "0.0" for what rounds to zero (never "-0.0")."""
    rounded = round(value, places) + 0.0
    if rounded == 0:
        return format_fixed(0, places, locale)
    decimals = "." + "0" * places if places else ""
    pattern = f"+#,##0{decimals};\u2212#,##0{decimals}"
    return format_decimal(rounded, pattern, locale=format_locale(locale))


def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """An amount in its currency as the reader writes it ("CN¥1,500,000.00" / "¥1,500,000.00")."""
    return format_currency(amount, currency, locale=format_locale(locale))
