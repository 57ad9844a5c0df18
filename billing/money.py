"""Money arithmetic: Decimal only, rounded half-up to the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import DecimalField

CENT = Decimal("0.01")
SECONDS_PER_HOUR = Decimal(3600)
# Seconds × hourly rate, summed in the database before dividing by 3600 (cost in reports).
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=2)
# Entries store their billable money as an exact integer, the rate in cents × the seconds
# (``TimeEntry.billable_cent_seconds``); a sum of it divided by this is money.
CENT_SECONDS_PER_HOUR = Decimal(360_000)


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_of_cent_seconds(total: int | str | Decimal | None) -> Decimal:
    """The money of a sum of entries' ``billable_cent_seconds`` (none → 0.00), rounded half-up once."""
    return round_money(Decimal(total or 0) / CENT_SECONDS_PER_HOUR)


def amount_for(seconds: int, rate: Decimal | None) -> Decimal:
    """The money for ``seconds`` of work at an hourly ``rate`` (no rate → 0.00)."""
    if rate is None:
        return CENT * 0
    return round_money(Decimal(seconds) * rate / SECONDS_PER_HOUR)
