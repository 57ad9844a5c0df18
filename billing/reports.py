"""Report selectors. Each aggregates in the database in a fixed number of queries, cuts days,
weeks and months in the workspace's time zone, leaves agent drafts out of every total (they
are reported apart as ``pending_review``), and redacts sensitive figures for callers who may
not see them: the field is ``None`` and its name is listed in ``redacted``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate, TruncMonth

from billing.money import MONEY, SECONDS_PER_HOUR, money_of_cent_seconds, round_money
from timesheets.models import EntryState, TimeEntry
from timesheets.selectors import (
    EntryScope,
    entry_scope,
    time_entry_filter,
    week_start_for,
)
from timetracker.compiled import ID, Param, values_rows
from workspaces import policies
from workspaces.errors import Invalid
from workspaces.models import Client, Membership, Project, Tag, Task, Workspace
from workspaces.policies import Perm
from workspaces.principals import Principal

GROUPS = {
    "member": ("member_id", "member__user__username"),
    "project": ("project_id", "project__name"),
    "client": ("project__client_id", "project__client__name"),
    "task": ("task_id", "task__name"),
    "tag": ("tags__id", "tags__name"),
}
# Where hours_summary reads a group's label: the model its key points at, and the field.
LABELS: dict[str, tuple[type[Model], str]] = {
    "member": (Membership, "user__username"),
    "project": (Project, "name"),
    "client": (Client, "name"),
    "task": (Task, "name"),
    "tag": (Tag, "name"),
}
TIME_GROUPS = ("day", "week", "month")


def _hours(seconds: int) -> Decimal:
    return (Decimal(seconds) / SECONDS_PER_HOUR).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _check_period(date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise Invalid("The period ends before it starts.", fields={"date_to": ["Must be on or after date_from."]})
    if (date_to - date_from).days > 366 * 3:
        raise Invalid("A report covers at most three years.", fields={"date_to": ["Shorten the period."]})


# --- hours summary ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HoursRow:
    key: Any  # an id, a date (day, week start, month start), or None ("no client", "no tag"…)
    label: str
    seconds: int
    billable_seconds: int
    non_billable_seconds: int

    @property
    def hours(self) -> Decimal:
        return _hours(self.seconds)


@dataclass(frozen=True)
class HoursSummary:
    group_by: str
    date_from: date
    date_to: date
    rows: list[HoursRow]
    total_seconds: int
    billable_seconds: int
    non_billable_seconds: int
    pending_review_seconds: int


def _finished(entries: QuerySet[TimeEntry]) -> QuerySet[TimeEntry]:
    return entries.filter(ended_at__isnull=False).order_by()


def _hours_sums() -> dict[str, Any]:
    """Active time, its billable part and drafts, summed in one pass (no second scan for totals)."""
    active = Q(state=EntryState.ACTIVE)
    return {
        "seconds": Coalesce(Sum("duration_seconds", filter=active), 0),
        "billable_seconds": Coalesce(Sum("duration_seconds", filter=active & Q(billable=True)), 0),
        "pending": Coalesce(Sum("duration_seconds", filter=Q(state=EntryState.DRAFT)), 0),
    }


def _hours_query(scope: EntryScope, group_by: str, workspace: Workspace) -> QuerySet[Any]:
    """hours_summary's one grouped query, with the scope's values as parameters."""
    base = _finished(scope.queryset(params=True))
    if group_by in GROUPS:
        model, field = LABELS[group_by]
        return (
            base.annotate(group_key=F(GROUPS[group_by][0]))
            .values("group_key")
            .annotate(**_hours_sums())
            # The label is read once per group, not joined onto every entry and grouped on.
            .annotate(label=Subquery(model._default_manager.filter(pk=OuterRef("group_key")).order_by().values(field)))
            .order_by(F("label").asc(nulls_last=True), "group_key")  # "(no client)" and the like last
        )
    trunc = TruncMonth if group_by == "month" else TruncDate
    return (
        base.annotate(group_key=trunc("started_at", tzinfo=workspace.tzinfo))
        .values("group_key")
        .annotate(**_hours_sums())
    )


def _hours_totals(scope: EntryScope) -> QuerySet[Any]:
    """The scope's finished entries summed as a whole (grouped by the workspace: one row or none)."""
    return _finished(scope.queryset(params=True)).values("workspace_id").annotate(**_hours_sums())


def hours_summary(
    *, actor: Principal, date_from: date, date_to: date, group_by: str = "project", **filters: Any
) -> HoursSummary:
    """Finished, active time in ``date_from``..``date_to`` (inclusive, workspace dates) grouped by
    member, project, client, task, tag, day, week (the workspace's week) or month, with the
    billable split. Filters as for time entries. One query (two by tag: an entry counts under
    each of its tags, so the totals are summed apart)."""
    if group_by not in GROUPS and group_by not in TIME_GROUPS:
        raise Invalid(
            f"Cannot group by {group_by!r}.",
            fields={"group_by": [f"One of {', '.join([*GROUPS, *TIME_GROUPS])}."]},
        )
    _check_period(date_from, date_to)
    workspace = actor.workspace
    scope = entry_scope(actor=actor, date_from=date_from, date_to=date_to, **filters)
    # Compiled once per shape: which filters are set, the grouping, the time zone days are cut in.
    key = ("hours_summary", group_by, scope.shape, workspace.timezone if group_by in TIME_GROUPS else None)
    found = values_rows(key, lambda: _hours_query(scope, group_by, workspace), scope.values())
    pending = 0
    rows: list[HoursRow] = []
    if group_by in GROUPS:
        for r in found:
            pending += r["pending"]
            if r["seconds"]:  # a group of drafts only (finished entries last at least a second)
                rows.append(
                    HoursRow(
                        key=r["group_key"],
                        label=r["label"] or f"(no {group_by})",
                        seconds=r["seconds"],
                        billable_seconds=r["billable_seconds"],
                        non_billable_seconds=r["seconds"] - r["billable_seconds"],
                    )
                )
    else:
        buckets: dict[date, list[int]] = defaultdict(lambda: [0, 0])
        for r in found:
            pending += r["pending"]
            if not r["seconds"]:
                continue
            bucket = r["group_key"]
            if isinstance(bucket, datetime):  # TruncMonth of a datetime is a local midnight
                bucket = bucket.date()
            if group_by == "week":
                bucket = week_start_for(workspace, bucket)
            buckets[bucket][0] += r["seconds"]
            buckets[bucket][1] += r["billable_seconds"]
        rows = [
            HoursRow(key=k, label=k.isoformat(), seconds=s, billable_seconds=b, non_billable_seconds=s - b)
            for k, (s, b) in sorted(buckets.items())
        ]
    if group_by == "tag":
        # One row: the scope's entries summed as a whole (an entry with two tags counts once).
        found = values_rows(("hours_summary totals", scope.shape), lambda: _hours_totals(scope), scope.values())
        totals = found[0] if found else {"seconds": 0, "billable_seconds": 0, "pending": 0}
        seconds, billable, pending = totals["seconds"], totals["billable_seconds"], totals["pending"]
    else:
        seconds = sum(r.seconds for r in rows)
        billable = sum(r.billable_seconds for r in rows)
    return HoursSummary(
        group_by=group_by,
        date_from=date_from,
        date_to=date_to,
        rows=rows,
        total_seconds=seconds,
        billable_seconds=billable,
        non_billable_seconds=seconds - billable,
        pending_review_seconds=pending,
    )


# --- utilization ------------------------------------------------------------------------------


def working_days(date_from: date, date_to: date) -> int:
    """Monday to Friday in the period, inclusive."""
    days = (date_to - date_from).days + 1
    full_weeks, rest = divmod(days, 7)
    extra = sum(1 for i in range(rest) if (date_from + timedelta(days=i)).weekday() < 5)
    return full_weeks * 5 + extra


@dataclass(frozen=True)
class UtilizationRow:
    member_id: int
    username: str
    billable_seconds: int
    non_billable_seconds: int
    capacity_hours: Decimal
    utilization_percent: Decimal | None  # billable ÷ capacity; None without capacity
    pending_review_seconds: int


def _time_by_member(scope: EntryScope) -> QuerySet[Any]:
    # The period's entries are read by (workspace, started_at) and summed per member, as the hours
    # summary does; joined to each member instead, the database fetched them member by member
    # through the member index (bench/ at 1M entries: a month 14 → 11 ms, 13 months 165 → 91 ms).
    active = Q(state=EntryState.ACTIVE)
    return (
        _finished(scope.queryset(params=True))
        .values("member_id")
        .annotate(
            billable_seconds=Sum("duration_seconds", filter=active & Q(billable=True)),
            non_billable_seconds=Sum("duration_seconds", filter=active & Q(billable=False)),
            pending_seconds=Sum("duration_seconds", filter=Q(state=EntryState.DRAFT)),
        )
    )


def _members(own_only: bool) -> QuerySet[Any]:
    """The workspace's active members (or the caller alone), with an :class:`EntryScope`'s values."""
    members = Membership.objects.filter(workspace_id=Param("workspace_id", ID), is_active=True)
    if own_only:
        members = members.filter(pk=Param("member_id", ID))
    return members.values("pk", "user__username", "weekly_capacity_hours").order_by("user__username")


def utilization(*, actor: Principal, date_from: date, date_to: date) -> list[UtilizationRow]:
    """Per active member: billable and non-billable time, capacity (weekly capacity ÷ 5 × working
    days) and utilization %. Members see themselves only. Two queries: the period's time summed
    per member, and the members; each compiled once per shape (timetracker.compiled)."""
    _check_period(date_from, date_to)
    scope = entry_scope(actor=actor, date_from=date_from, date_to=date_to)  # members: their own
    values = scope.values()
    time_by_member = {
        r["member_id"]: r for r in values_rows(("utilization", scope.shape), lambda: _time_by_member(scope), values)
    }
    own_only = scope.member_id is not None
    members = values_rows(("utilization members", own_only), lambda: _members(own_only), values)
    no_time: dict[str, Any] = {}
    days = working_days(date_from, date_to)
    result = []
    for m in members:
        r = time_by_member.get(m["pk"], no_time)
        billable = r.get("billable_seconds") or 0
        capacity = (m["weekly_capacity_hours"] / 5 * days).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        percent = (
            (Decimal(billable) / SECONDS_PER_HOUR * 100 / capacity).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            if capacity > 0
            else None
        )
        result.append(
            UtilizationRow(
                member_id=m["pk"],
                username=m["user__username"],
                billable_seconds=billable,
                non_billable_seconds=r.get("non_billable_seconds") or 0,
                capacity_hours=capacity,
                utilization_percent=percent,
                pending_review_seconds=r.get("pending_seconds") or 0,
            )
        )
    return result


# --- profitability ----------------------------------------------------------------------------

SENSITIVE_PROFIT_FIELDS = ("cost", "margin", "margin_percent")


@dataclass(frozen=True)
class ProfitRow:
    key: Any
    label: str
    seconds: int
    revenue: Decimal
    cost: Decimal | None
    margin: Decimal | None
    margin_percent: Decimal | None


@dataclass(frozen=True)
class Profitability:
    group_by: str
    rows: list[ProfitRow]
    revenue: Decimal
    cost: Decimal | None
    margin: Decimal | None
    margin_percent: Decimal | None
    redacted: list[str] = field(default_factory=list)


def _margin_percent(margin: Decimal, revenue: Decimal) -> Decimal | None:
    return (margin * 100 / revenue).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if revenue else None


def profitability(*, actor: Principal, date_from: date, date_to: date, group_by: str = "project") -> Profitability:
    """Revenue (billable time at its snapshotted rate), cost (all time at its cost rate), margin and
    margin % per project or client. Cost and margins are sensitive: without the right to see them
    they are ``None`` and named in ``redacted``. Managers and up. One query."""
    if group_by not in ("project", "client"):
        raise Invalid("Profitability groups by project or client.", fields={"group_by": ["project or client"]})
    _check_period(date_from, date_to)
    policies.ensure(actor, Perm.TIME_VIEW_ALL)
    sensitive = policies.can_view_sensitive(actor)
    key, label = GROUPS[group_by]
    cost_expr = ExpressionWrapper(
        F("duration_seconds") * Coalesce(F("cost_rate"), Value(Decimal("0"))), output_field=MONEY
    )
    zero = Value(Decimal("0"), output_field=MONEY)
    rows_qs = (
        time_entry_filter(actor=actor, date_from=date_from, date_to=date_to, state=EntryState.ACTIVE)
        .filter(ended_at__isnull=False)
        .order_by()
        .values(key, label)
        .annotate(
            seconds=Coalesce(Sum("duration_seconds"), 0, output_field=IntegerField()),
            revenue=Coalesce(Sum("billable_cent_seconds", filter=Q(billable=True)), 0),
            cost=Coalesce(Sum(cost_expr), zero),
            entries=Count("id"),
        )
        .order_by(label, key)
    )
    rows = []
    total_revenue = total_cost = Decimal("0.00")
    for r in rows_qs:
        revenue = money_of_cent_seconds(r["revenue"])
        cost = round_money(r["cost"] / SECONDS_PER_HOUR)
        total_revenue += revenue
        total_cost += cost
        margin = revenue - cost
        rows.append(
            ProfitRow(
                key=r[key],
                label=r[label] or f"(no {group_by})",
                seconds=r["seconds"],
                revenue=revenue,
                cost=cost if sensitive else None,
                margin=margin if sensitive else None,
                margin_percent=_margin_percent(margin, revenue) if sensitive else None,
            )
        )
    total_margin = total_revenue - total_cost
    return Profitability(
        group_by=group_by,
        rows=rows,
        revenue=total_revenue,
        cost=total_cost if sensitive else None,
        margin=total_margin if sensitive else None,
        margin_percent=_margin_percent(total_margin, total_revenue) if sensitive else None,
        redacted=[] if sensitive else list(SENSITIVE_PROFIT_FIELDS),
    )
