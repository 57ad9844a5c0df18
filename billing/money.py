"""Money arithmetic: Decimal only, rounded half-up to the currency's minor unit."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
SECONDS_PER_HOUR = Decimal(3600)


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def amount_for(seconds: int, rate: Decimal | None) -> Decimal:
    """The money for ``seconds`` of work at an hourly ``rate`` (no rate → 0.00)."""
    if rate is None:
        return CENT * 0
    return round_money(Decimal(seconds) * rate / SECONDS_PER_HOUR)
