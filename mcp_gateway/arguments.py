"""How the tools read what a model writes: durations, days, times of day, and cursors.

Models write ``1h30m`` and ``yesterday``; these parsers accept that and refuse anything
ambiguous with an ``invalid`` error naming the argument and the accepted forms.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from timetracker.compiled import Param, values_rows
from workspaces.errors import Invalid
from workspaces.models import Workspace

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})$")


def today_in(workspace: Workspace) -> date:
    return timezone.localtime(timezone.now(), workspace.tzinfo).date()


def day(value: str, *, workspace: Workspace, name: str = "date") -> date:
    """An ISO date, ``today``, ``yesterday``, or a weekday name (the latest such day up to today),
    all in the workspace's time zone."""
    text = value.strip().lower()
    today = today_in(workspace)
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    if text in WEEKDAYS:
        return today - timedelta(days=(today.weekday() - WEEKDAYS.index(text)) % 7)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(
            f"Cannot read {value!r} as a date.",
            fields={name: ["Use YYYY-MM-DD, 'today', 'yesterday' or a weekday name such as 'monday'."]},
        ) from None


def optional_day(value: str | None, *, workspace: Workspace, name: str) -> date | None:
    return None if value is None else day(value, workspace=workspace, name=name)


def moment(value: str, *, workspace: Workspace, on: date, name: str) -> datetime:
    """An RFC 3339 time with offset, or ``HH:MM`` on the day ``on`` in the workspace's time zone."""
    text = value.strip()
    clock = _CLOCK.match(text)
    if clock and int(clock["h"]) < 24 and int(clock["m"]) < 60:
        return datetime.combine(on, time(int(clock["h"]), int(clock["m"])), tzinfo=workspace.tzinfo)
    parsed = parse_datetime(text) if "T" in text or " " in text else None
    if parsed is None or timezone.is_naive(parsed):
        raise Invalid(
            f"Cannot read {value!r} as a time.",
            fields={name: ["Use HH:MM (workspace time, on `date`) or RFC 3339 with an offset."]},
        )
    return parsed


def period(date_from: str | None, date_to: str | None, *, workspace: Workspace) -> tuple[date, date]:
    """A reporting period; by default the current month up to today."""
    today = today_in(workspace)
    start = optional_day(date_from, workspace=workspace, name="date_from") or today.replace(day=1)
    end = optional_day(date_to, workspace=workspace, name="date_to") or max(today, start)
    return start, end


# --- cursors ---------------------------------------------------------------------------------------


def keyset_page(
    queryset: QuerySet[Any], *, order: Sequence[str], cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """One page of ``queryset`` in ``order`` (the last field unique, e.g. ``-id``) after ``cursor``.

    The cursor carries the last row's ordering values, so a page is one indexed query however
    deep it is, and rows added meanwhile never shift it.
    """
    if not 1 <= limit <= 200:
        raise Invalid("limit is 1 to 200.", fields={"limit": ["Use 1 to 200."]})
    qs = queryset.order_by(*order)
    if cursor:
        qs = qs.filter(_after(order, _decode(cursor, len(order))))
    rows = list(qs[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, _encode([_value(rows[-1], field.lstrip("-")) for field in order])


def compiled_keyset_page(
    key: Hashable,
    build: Callable[[], QuerySet[Any]],
    values: Mapping[str, Any],
    *,
    order: Sequence[str],
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """:func:`keyset_page` of the ``values()`` queryset ``build()`` returns with :class:`Param`
    placeholders for ``values``, compiled once per ``key``, order, limit and whether a cursor is
    given (``timetracker.compiled``); the cursor's values are bound as ``after_0``, ``after_1``…"""
    if not 1 <= limit <= 200:
        raise Invalid("limit is 1 to 200.", fields={"limit": ["Use 1 to 200."]})
    after = _decode(cursor, len(order)) if cursor else []

    def page() -> QuerySet[Any]:
        qs = build().order_by(*order)
        if after:
            fields = [qs.model._meta.get_field(name.lstrip("-")) for name in order]
            qs = qs.filter(_after(order, [Param(f"after_{i}", field) for i, field in enumerate(fields)]))
        return qs[: limit + 1]

    bound = {**values, **{f"after_{i}": value for i, value in enumerate(after)}}
    rows = values_rows((key, tuple(order), bool(after), limit), page, bound)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, _encode([rows[-1][field.lstrip("-")] for field in order])


def _value(row: Model | dict[str, Any], path: str) -> Any:
    if isinstance(row, dict):  # a values() row
        return row[path]
    value: Any = row
    for part in path.split("__"):
        value = getattr(value, part)
    return value


def _after(order: Sequence[str], values: list[Any]) -> Q:
    """Rows strictly after ``values`` in ``order``: the lexicographic keyset condition."""
    condition = Q()
    for index, field in enumerate(order):
        name = field.lstrip("-")
        step = Q(**{f"{name}__{'lt' if field.startswith('-') else 'gt'}": values[index]})
        for earlier, value in zip(order[:index], values[:index], strict=True):
            step &= Q(**{earlier.lstrip("-"): value})
        condition |= step
    return condition


def _encode(values: list[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime | date) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != size or not all(isinstance(v, str | int) for v in values):
        raise Invalid("This cursor is not valid.", fields={"cursor": ["Pass next_cursor from the previous page."]})
    return values
