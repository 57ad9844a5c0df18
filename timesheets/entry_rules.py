"""The rules every write of time obeys: the member lock that serializes one member's writes, the
window (whole seconds, at most 24 h), locked days, overlaps, and the project, task and tags an
entry may name. The writes themselves: ``services.py``, ``timesheet_services.py``,
``week_services.py``, ``review_services.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from timesheets.member_time import overlapping
from timesheets.models import MAX_ENTRY_SECONDS, EntrySource, TimeEntry
from timesheets.selectors import WeekLock, entry_lock_reason, local_date
from timetracker import compiled
from timetracker.compiled import ID, Param
from workspaces.errors import Conflict, Forbidden, Invalid, Locked, NotFound
from workspaces.models import Channel, Membership, OverlapPolicy, Project, ProjectStatus, Role, Tag, Task, Workspace
from workspaces.principals import Principal

SOURCE_FOR_CHANNEL = {Channel.WEB: EntrySource.WEB, Channel.API: EntrySource.API, Channel.MCP: EntrySource.MCP}


def lock_member_for_time(actor: Principal, member: Membership | None) -> Membership:
    """Lock the member row: every time write of one member is serialized through it.

    Only that row (``of=self``): locking the joined user and workspace rows too would block, and
    deadlock with, any transaction referencing them — the audit worker's batch inserts do.
    """
    member_id = time_member_id(actor, member)
    (found,) = compiled.together(_lock_read(actor, member_id))
    return _locked(found)


def lock_member_then(
    actor: Principal, member: Membership | None, *reads: Callable[[int], compiled.Read]
) -> tuple[Membership, list[list[Any]]]:
    """:func:`lock_member_for_time`, and each read ``read(member id)`` in the same round trip, in
    order: what each found.

    The database runs the reads once the lock is granted, so they see what the lock's previous
    holder committed, and the lock is held a round trip less for each: under one member's POST
    load the lock's holder waits for its process's GIL after each round trip (``bench/README``,
    sixteenth round). Nothing of a read is used unless the lock is, and may be, taken.
    """
    member_id = time_member_id(actor, member)
    found, *rows = compiled.together(_lock_read(actor, member_id), *(read(member_id) for read in reads))
    return _locked(found), rows


def time_member_id(actor: Principal, member: Membership | None) -> int:
    """Whose time a write is about: ``member``, or the actor's own membership."""
    return member.pk if member is not None else actor.membership.pk


def _lock_read(actor: Principal, member_id: int) -> compiled.Read:
    values = {"member_id": member_id, "workspace_id": actor.workspace.pk}
    return compiled.Read(compiled.ModelTemplate, ("lock_member_for_time",), _member_row_to_lock, values)


def _locked(found: list[Membership]) -> Membership:
    if not found:
        raise NotFound("Member not found.")
    locked = found[0]
    if not locked.is_active:
        raise Invalid("That member is deactivated.", fields={"member": ["That member is deactivated."]})
    return locked


def _member_row_to_lock() -> QuerySet[Membership]:
    return (
        Membership.objects.select_for_update(of=("self",))
        .select_related("workspace", "user")
        .filter(pk=Param("member_id", ID), workspace_id=Param("workspace_id", ID))
    )


def whole_seconds(value: datetime, name: str) -> datetime:
    if timezone.is_naive(value):
        raise Invalid(f"{name} needs a time zone offset.", fields={name: ["Give a time with an offset or 'Z'."]})
    return value.replace(microsecond=0)


def check_window(started_at: datetime, ended_at: datetime | None) -> tuple[datetime, datetime | None, int | None]:
    """Normalise to whole seconds and check 0 < duration ≤ 24 h."""
    started_at = whole_seconds(started_at, "started_at")
    if ended_at is None:
        return started_at, None, None
    ended_at = whole_seconds(ended_at, "ended_at")
    if ended_at <= started_at:
        raise Invalid("An entry must end after it starts.", fields={"ended_at": ["Must be after started_at."]})
    seconds = int((ended_at - started_at).total_seconds())
    if seconds > MAX_ENTRY_SECONDS:
        raise Invalid("An entry lasts at most 24 hours.", fields={"ended_at": ["At most 24 h after started_at."]})
    return started_at, ended_at, seconds


def ensure_unlocked(
    workspace: Workspace,
    member: Membership,
    started_at: datetime,
    entry: TimeEntry | None = None,
    known: WeekLock | None = None,
) -> None:
    """Refuse time on an invoice, before the lock date or in a submitted or approved week (``known``:
    a week's lock already read under the member's lock, see :func:`entry_lock_reason`)."""
    if entry is not None and entry.invoice_line_id is not None:
        raise Locked("This entry is on an invoice; void the invoice to change it.")
    reason = entry_lock_reason(workspace=workspace, member=member, day=local_date(workspace, started_at), known=known)
    if reason is not None:
        raise Locked(reason)


def ensure_no_overlap(
    workspace: Workspace,
    member: Membership,
    started_at: datetime,
    ended_at: datetime | None,
    exclude_id: int | None = None,
) -> None:
    """Under the ``forbid`` policy, refuse time that overlaps the member's other active time.

    Intervals are half-open, so back-to-back entries (one ends when the next starts) never overlap.
    """
    if workspace.overlap_policy != OverlapPolicy.FORBID:
        return
    clash = overlapping(workspace, member.pk, started_at, ended_at, exclude_id).order_by("started_at").first()
    if clash is not None:
        until = f"{clash.ended_at:%H:%M}" if clash.ended_at else "now (running)"
        raise Conflict(
            f"This overlaps another entry ({clash.started_at:%Y-%m-%d %H:%M}–{until} UTC); "
            "this workspace does not allow overlapping time.",
            fields={"started_at": ["Overlaps another entry."]},
        )


def check_project(actor: Principal, member: Membership, project: Project, *, on_team: bool | None = None) -> None:
    """The project must be an active project of this workspace; members log on their projects only
    (``on_team``: whether the member is on the project's team, when already read)."""
    if project.workspace_id != actor.workspace.pk:
        raise Invalid("Project not found.", fields={"project": ["Project not found."]})
    if project.status != ProjectStatus.ACTIVE:
        raise Invalid("That project is archived.", fields={"project": ["Archived projects take no new time."]})
    if on_team is None and member.role == Role.MEMBER:
        on_team = project.team.filter(pk=member.pk).exists()
    if member.role == Role.MEMBER and not on_team:
        raise Forbidden(f"{member.user.get_username()} is not on the team of {project.name}.")


def check_task(project: Project, task: Task | None) -> None:
    if task is None:
        return
    if task.project_id != project.pk:
        raise Invalid("That task is not part of the project.", fields={"task": ["Not a task of this project."]})
    if task.is_archived:
        raise Invalid("That task is archived.", fields={"task": ["Archived tasks take no new time."]})


def check_tags(actor: Principal, tags: Iterable[Tag]) -> list[Tag]:
    tag_list = list(tags)
    if any(tag.workspace_id != actor.workspace.pk or tag.is_archived for tag in tag_list):
        raise Invalid(
            "Unknown or archived tag.", fields={"tags": ["Every tag must be an active tag of this workspace."]}
        )
    return tag_list


def ensure_entry_still_valid(actor: Principal, member: Membership, entry: TimeEntry) -> None:
    """The checks a create makes, run again on an existing entry (a draft being accepted):
    its project and task still take time, its day is not locked, it overlaps nothing forbidden."""
    check_project(actor, member, entry.project)
    check_task(entry.project, entry.task)
    ensure_unlocked(member.workspace, member, entry.started_at, entry)
    ensure_no_overlap(member.workspace, member, entry.started_at, entry.ended_at, exclude_id=entry.pk)


def entry_source(actor: Principal, source: str | None) -> str:
    return source or SOURCE_FOR_CHANNEL.get(Channel(actor.channel), EntrySource.API)
