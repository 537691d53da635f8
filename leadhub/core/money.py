"""Money as exact decimals on every engine: amounts are kept as integers of 1/10,000 of the currency unit
(SQLite has no decimal type; integers compare and sum exactly on both engines), and shown with the
currency's own number of minor-unit digits (ISO 4217)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

import pycountry
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

SCALE = 10_000
MAX_UNITS = Decimal(10) ** 14
# ISO 4217 minor units that are not 2 (pycountry does not carry them).
_MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX"), 0),
    **dict.fromkeys(("UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


class MoneyError(ValueError):
    """``rule`` and ``message`` name what is wrong, as ``core.validation.ValidationFailure`` does."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def normalize_currency(code: str) -> str:
    """An ISO 4217 alphabetic code, upper-cased."""
    text = code.strip().upper() if isinstance(code, str) else ""
    if len(text) != 3 or not text.isalpha() or pycountry.currencies.get(alpha_3=text) is None:
        raise MoneyError("currency", "is not an ISO 4217 currency code (e.g. USD)")
    return text


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def to_decimal(value: Any) -> Decimal:
    """A decimal from a JSON string or integer; a JSON number with a fraction is read as it was written
    (its shortest repr), never through binary arithmetic."""
    if isinstance(value, bool) or value is None:
        raise MoneyError("decimal", 'must be a decimal number, e.g. "1250.50"')
    try:
        amount = Decimal(value) if isinstance(value, int | str) else Decimal(repr(float(value)))
    except (InvalidOperation, ValueError, TypeError):
        raise MoneyError("decimal", 'must be a decimal number, e.g. "1250.50"') from None
    if not amount.is_finite():
        raise MoneyError("decimal", "must be a finite decimal number")
    return amount


def to_scaled(value: Any, currency: str) -> int:
    """The stored integer (units * 10,000) of an amount; at most the currency's minor-unit digits."""
    amount = to_decimal(value)
    if amount < 0:
        raise MoneyError("minimum", "must not be negative")
    if amount >= MAX_UNITS:
        raise MoneyError("maximum", "must be less than 100000000000000")
    digits = minor_units(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-digits)):
        raise MoneyError("decimal_places", f"{currency} amounts have at most {digits} decimal places")
    return int(amount * SCALE)


def from_scaled(scaled: int, currency: str) -> Decimal:
    """The amount of a stored integer, with the currency's minor-unit digits (half-up rounding)."""
    return (Decimal(scaled) / SCALE).quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def text(scaled: int | None, currency: str) -> str | None:
    """The JSON form: a decimal string such as ``"75000.00"``."""
    return None if scaled is None else str(from_scaled(scaled, currency))


def _currency_field(value: str) -> str:
    try:
        return normalize_currency(value)
    except MoneyError as exc:
        raise PydanticCustomError(exc.rule, exc.message) from None


Currency = Annotated[str, AfterValidator(_currency_field)]
