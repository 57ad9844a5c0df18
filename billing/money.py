"""Money arithmetic: Decimal only, rounded half-up to the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import DecimalField, ExpressionWrapper, F
from django.db.models.expressions import CombinedExpression

CENT = Decimal("0.01")
SECONDS_PER_HOUR = Decimal(3600)
# Seconds × hourly rate, summed in the database before dividing by 3600 (reports, budgets).
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=2)


def rate_seconds() -> ExpressionWrapper[CombinedExpression]:
    """An entry's ``duration_seconds × billable_rate`` in SQL, as money (divide the sum by 3600)."""
    return ExpressionWrapper(F("duration_seconds") * F("billable_rate"), output_field=MONEY)


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def amount_for(seconds: int, rate: Decimal | None) -> Decimal:
    """The money for ``seconds`` of work at an hourly ``rate`` (no rate → 0.00)."""
    if rate is None:
        return CENT * 0
    return round_money(Decimal(seconds) * rate / SECONDS_PER_HOUR)
