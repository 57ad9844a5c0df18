"""Lists of time entries as every face shows them, read straight from the database.

:class:`timesheets.api.EntryOutput` declares what an entry looks like: its fields are the REST
schema and the MCP output model. Lists of entries are the hot path for agents and integrators,
and building model instances (six per row with their member, user, project, client and task)
and then running DRF's field machinery over them cost about 0.4 ms a row (``bench/``). Here a
list selects only the columns ``EntryOutput`` shows (``values()``), with each entry's tags read
in the same query on PostgreSQL (one more query elsewhere), and renders each value with **the
same DRF field** and the same redaction.

The columns come from ``EntryOutput``'s own field sources, so a field added there is read here;
the computed fields (amounts, ``invoiced``, tags) are the ones written out below.
``tests/timesheets/test_presenters.py`` checks the two equal for every shape of entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, tzinfo
from functools import cache
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connections
from django.db.models import OuterRef, QuerySet
from django.db.models.functions import JSONObject
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from billing.money import amount_for
from timesheets.models import TimeEntry
from timetracker.compiled import ID, Param, values_rows
from workspaces.models import Tag
from workspaces.principals import Principal
from workspaces.redaction import ENTRY_COST_FIELDS, redact

COMPUTED = ("tags", "billable_amount", "cost_amount", "invoiced")
TAGS = "entry_tags"  # the rows' column of tags


@cache
def _fields() -> list[tuple[str, str | None, serializers.Field]]:
    """EntryOutput's fields in order: (name, values() path or None when computed here, DRF field)."""
    from timesheets.api import EntryOutput  # timesheets.api renders its lists with this module

    fields: list[tuple[str, str | None, serializers.Field]] = []
    for name, field in EntryOutput().fields.items():
        if name == "redacted":
            continue  # set by redact()
        if name in COMPUTED:
            fields.append((name, None, field))
        elif isinstance(field, serializers.SerializerMethodField | serializers.BaseSerializer):
            raise TypeError(f"EntryOutput.{name} is computed: render it in timesheets/presenters.py")
        else:
            fields.append((name, str(field.source).replace(".", "__"), field))
    return fields


@cache
def _columns() -> tuple[str, ...]:
    return tuple(dict.fromkeys([path for _, path, _ in _fields() if path] + ["invoice_line_id"]))


def entry_values(queryset: QuerySet[TimeEntry]) -> QuerySet[Any]:
    """``queryset`` (filtered and ordered) as rows of exactly the columns a presentation needs.

    On PostgreSQL each row also carries its tags (``{id, name}`` in name order), read by a
    subquery in the same statement: a page is one round trip to the database, not two."""
    queryset = queryset.prefetch_related(None)
    if connections[queryset.db].vendor != "postgresql":
        return queryset.values(*_columns())  # present_entries() reads the tags apart
    return queryset.annotate(**{TAGS: _tags_subquery()}).values(*_columns(), TAGS)


def entry_row(*, workspace_id: int, entry_id: int) -> list[dict[str, Any]]:
    """One entry of the workspace as :func:`entry_values` reads it (no row: none such), its query
    compiled once (``timetracker.compiled``): what a face shows of an entry it has just written."""
    return values_rows(
        ("entry row",),
        lambda: entry_values(
            TimeEntry.objects.filter(workspace_id=Param("workspace_id", ID), pk=Param("entry_id", ID))
        ),
        {"workspace_id": workspace_id, "entry_id": entry_id},
    )


def present_entry(principal: Principal, entry_id: int) -> dict[str, Any]:
    """An entry of the principal's workspace that a service has just written, read back and
    presented as a page presents it (one compiled query on PostgreSQL): REST and MCP answers alike."""
    return present_entries(entry_row(workspace_id=principal.workspace.pk, entry_id=entry_id), principal)[0]


def present_created(principal: Principal, entry: TimeEntry, tags: Sequence[Tag]) -> dict[str, Any]:
    """An entry a service has just created with ``tags``, presented as :func:`present_entry` would
    read it back, from the instance the service returned: no query, when the instance holds the
    rows it names (its member and user, project and client, task), as the entry services' do
    with what the faces pass them. Otherwise, or with tags (their order is the database's
    collation), it is read back."""
    row = None if tags else _row_of(entry)
    if row is None:
        return present_entry(principal, entry.pk)
    row[TAGS] = []
    return present_entries([row], principal)[0]


def _row_of(entry: TimeEntry) -> dict[str, Any] | None:
    """The row :func:`entry_values` reads for ``entry``, from the instance and the related rows
    cached on it; ``None`` if one of those is not."""
    row: dict[str, Any] = {}
    for path in _columns():
        *hops, last = path.split("__")
        obj: Any = entry
        for hop in hops:
            field = obj._meta.get_field(hop)
            if not field.is_cached(obj):
                return None
            obj = field.get_cached_value(obj)
            if obj is None:
                break
        row[path] = None if obj is None else getattr(obj, obj._meta.get_field(last).attname)
    return row


@cache
def _tags_subquery() -> ArraySubquery:
    """The row's tags as a PostgreSQL array of ``{id, name}``; built once (it refers only to the
    outer row), resolved into each query that uses it."""
    tags = (
        Tag.objects.filter(time_entries=OuterRef("pk"), workspace=OuterRef("workspace_id"))
        .order_by("name", "pk")
        .values(tag=JSONObject(id="pk", name="name"))
    )
    return ArraySubquery(tags)


def present_entries(rows: Iterable[dict[str, Any]], principal: Principal) -> list[dict[str, Any]]:
    """Rows of :func:`entry_values` as ``EntryOutput(many=True).data`` renders them (no query on
    PostgreSQL; elsewhere one, for the tags)."""
    rows = list(rows)
    if rows and TAGS not in rows[0]:
        found = _tags_of([row["id"] for row in rows], principal)
        for row in rows:
            row[TAGS] = found.get(row["id"], [])
    fields = [(name, path, _renderer(field)) for name, path, field in _fields()]
    out = []
    for row in rows:
        seconds = row["duration_seconds"]
        computed = {
            "tags": row[TAGS],
            "billable_amount": _amount(seconds, row["billable_rate"]) if row["billable"] else None,
            "cost_amount": _amount(seconds, row["cost_rate"]),
            "invoiced": row["invoice_line_id"] is not None,
        }
        data: dict[str, Any] = {}
        for name, path, render in fields:
            if path is None:
                data[name] = computed[name]
            else:
                value = row[path]
                data[name] = None if value is None else render(value)
        redact(data, ENTRY_COST_FIELDS, principal=principal)
        out.append(data)
    return out


def _renderer(field: serializers.Field) -> Callable[[Any], Any]:
    """``field.to_representation``; for an ISO 8601 ``DateTimeField``, the same text without
    DRF's per-value lookup of the current time zone (an ``asgiref`` Local: a fifth of a list's
    Python time). The zone is read once, here, per list."""
    if not isinstance(field, serializers.DateTimeField):
        return field.to_representation
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if output_format is None or output_format.lower() != ISO_8601 or not isinstance(zone, tzinfo):
        return field.to_representation

    def render(value: Any) -> Any:
        if not isinstance(value, datetime) or value.tzinfo is None:
            return field.to_representation(value)  # DRF's rules for what a database does not return
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return render


def _amount(seconds: int | None, rate: Any) -> str | None:
    if seconds is None or rate is None:
        return None
    return str(amount_for(seconds, rate))


def _tags_of(entry_ids: list[int], principal: Principal) -> dict[int, list[dict[str, Any]]]:
    """Each entry's tags as ``{id, name}``, in the tags' own order (by name), from one query."""
    if not entry_ids:
        return {}
    through = TimeEntry.tags.through.objects.filter(timeentry_id__in=entry_ids, tag__workspace=principal.workspace)
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry_id, tag_id, name in through.order_by("tag__name", "tag_id").values_list(
        "timeentry_id", "tag_id", "tag__name"
    ):
        found[entry_id].append({"id": tag_id, "name": name})
    return found
