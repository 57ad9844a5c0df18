"""CSV import of time entries: Toggl Track and Clockify detailed exports, and our own export.

Every row goes through ``time_entry_create``, so the import obeys the same rules as any other
face (locks, overlap, who may log for whom) and each entry is audited. A dry run runs exactly
that inside a transaction that is rolled back, so it reports what *would* happen, row by row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.db import transaction
from django.db.models import Q

from timesheets.models import EntrySource
from timesheets.services import time_entry_create
from workspaces import policies
from workspaces.errors import DomainError, Invalid
from workspaces.models import Membership, Project, ProjectStatus, Tag, Task
from workspaces.policies import Perm
from workspaces.principals import Principal

MAX_ROWS = 50_000

# Our column names for each format's header.
FORMATS: dict[str, dict[str, str]] = {
    "toggl": {
        "email": "Email", "user": "User", "client": "Client", "project": "Project", "task": "Task",
        "description": "Description", "billable": "Billable", "start_date": "Start date",
        "start_time": "Start time", "end_date": "End date", "end_time": "End time", "tags": "Tags",
    },
    "clockify": {
        "email": "Email", "user": "User", "client": "Client", "project": "Project", "task": "Task",
        "description": "Description", "billable": "Billable", "start_date": "Start Date",
        "start_time": "Start Time", "end_date": "End Date", "end_time": "End Time", "tags": "Tags",
    },
    "timetracker": {
        "user": "member", "client": "client", "project": "project", "task": "task", "description": "description",
        "billable": "billable", "start": "start", "end": "end", "tags": "tags",
    },
}  # fmt: skip


@dataclass
class ImportReport:
    format: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)
    unknown_members: set[str] = field(default_factory=set)
    unknown_projects: set[str] = field(default_factory=set)
    unknown_tasks: set[str] = field(default_factory=set)
    unknown_tags: set[str] = field(default_factory=set)
    written: bool = False


def detect_format(header: Iterable[str]) -> str:
    names = set(header)
    if {"Project", "Start date", "Start time", "End time"} <= names:
        return "toggl"
    if {"Project", "Start Date", "Start Time", "End Time"} <= names:
        return "clockify"
    if {"project", "start", "end"} <= names:
        return "timetracker"
    raise Invalid(
        "Unknown CSV layout: expected a Toggl Track or Clockify detailed export, or a timetracker export.",
        fields={"file": ["Unrecognised header."]},
    )


def _parse_date(value: str) -> date:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unreadable date {value!r}")


def _parse_time(value: str) -> time:
    for fmt in ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p"):
        try:
            return datetime.strptime(value.strip().upper(), fmt).time()
        except ValueError:
            continue
    raise ValueError(f"unreadable time {value!r}")


def _yes(value: str) -> bool:
    return value.strip().lower() in {"yes", "true", "1", "y"}


def _moments(row: dict[str, str], columns: dict[str, str], principal: Principal) -> tuple[datetime, datetime]:
    tz = principal.workspace.tzinfo
    if "start" in columns:
        start = datetime.fromisoformat(row[columns["start"]].strip())
        end = datetime.fromisoformat(row[columns["end"]].strip())
        return (start if start.tzinfo else start.replace(tzinfo=tz)), (end if end.tzinfo else end.replace(tzinfo=tz))
    start_day = _parse_date(row[columns["start_date"]])
    end_day = _parse_date(row.get(columns["end_date"]) or row[columns["start_date"]])
    start = datetime.combine(start_day, _parse_time(row[columns["start_time"]]), tzinfo=tz)
    end = datetime.combine(end_day, _parse_time(row[columns["end_time"]]), tzinfo=tz)
    return start, end


def time_entries_import(
    *, actor: Principal, content: bytes | str, format: str = "auto", dry_run: bool = True, skip_invalid: bool = False
) -> ImportReport:
    """Import a CSV of time entries (times are read in the workspace's time zone unless they carry
    an offset). Nothing is written on a dry run, nor when any row is bad unless ``skip_invalid``."""
    policies.ensure(actor, Perm.TIME_LOG_OWN)
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    fmt = detect_format(reader.fieldnames or []) if format == "auto" else format
    if fmt not in FORMATS:
        raise Invalid(f"Unknown format {format!r}.", fields={"format": ["toggl, clockify, timetracker or auto"]})
    columns = FORMATS[fmt]
    report = ImportReport(format=fmt, dry_run=dry_run)
    workspace = actor.workspace
    # Everything a row can refer to, read once.
    members = {}
    for m in Membership.objects.filter(workspace=workspace, is_active=True).select_related("user"):
        members[m.user.get_username().lower()] = m
        if m.user.email:
            members[m.user.email.lower()] = m
    projects = {
        (p.name.lower(), (p.client.name.lower() if p.client else "")): p
        for p in Project.objects.filter(workspace=workspace, status=ProjectStatus.ACTIVE).select_related("client")
    }
    tasks = {
        (t.project_id, t.name.lower()): t for t in Task.objects.filter(project__workspace=workspace, is_archived=False)
    }
    tags = {t.name.lower(): t for t in Tag.objects.filter(Q(workspace=workspace), is_archived=False)}

    with transaction.atomic():
        for line, row in enumerate(reader, start=2):
            report.rows += 1
            if report.rows > MAX_ROWS:
                raise Invalid(f"A file holds at most {MAX_ROWS} rows; split it.", fields={"file": ["Too many rows."]})
            try:
                entry_kwargs = _row_to_entry(row, columns, actor, members, projects, tasks, tags, report)
            except (ValueError, KeyError, TypeError) as exc:
                report.errors.append((line, str(exc)))
                continue
            try:
                with transaction.atomic():
                    time_entry_create(actor=actor, source=EntrySource.IMPORT, **entry_kwargs)
                report.created += 1
            except DomainError as exc:
                report.errors.append((line, exc.message))
        report.written = not dry_run and (skip_invalid or not report.errors)
        if not report.written:
            transaction.set_rollback(True)
            if not dry_run:
                report.created = 0
    return report


def _row_to_entry(
    row: dict[str, str],
    columns: dict[str, str],
    actor: Principal,
    members: dict[str, Membership],
    projects: dict[tuple[str, str], Project],
    tasks: dict[tuple[int, str], Task],
    tags: dict[str, Tag],
    report: ImportReport,
) -> dict[str, Any]:
    who = (row.get(columns.get("email", ""), "") or row.get(columns["user"], "") or "").strip().lower()
    member = members.get(who) if who else actor.membership
    if member is None:
        report.unknown_members.add(who)
        raise ValueError(f"unknown member {who!r}")
    project_name = (row.get(columns["project"]) or "").strip()
    client_name = (row.get(columns["client"]) or "").strip().lower()
    project = projects.get((project_name.lower(), client_name))
    if project is None:
        report.unknown_projects.add(f"{project_name} ({client_name})" if client_name else project_name)
        raise ValueError(f"unknown project {project_name!r}")
    task = None
    task_name = (row.get(columns["task"]) or "").strip()
    if task_name:
        task = tasks.get((project.pk, task_name.lower()))
        if task is None:
            report.unknown_tasks.add(f"{project_name} / {task_name}")
            raise ValueError(f"unknown task {task_name!r} in {project_name!r}")
    entry_tags = []
    for name in [t.strip() for t in (row.get(columns["tags"]) or "").split(",") if t.strip()]:
        tag = tags.get(name.lower())
        if tag is None:
            report.unknown_tags.add(name)
            raise ValueError(f"unknown tag {name!r}")
        entry_tags.append(tag)
    started_at, ended_at = _moments(row, columns, actor)
    return {
        "member": member,
        "project": project,
        "task": task,
        "description": row.get(columns["description"], "") or "",
        "billable": _yes(row.get(columns["billable"], "") or "no"),
        "started_at": started_at,
        "ended_at": ended_at,
        "tags": entry_tags,
    }
