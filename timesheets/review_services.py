"""Writes of the review queue: a person accepts an agent's draft (→ active) or discards it.

Who reviews: the entry's own member, or managers and up for anyone's — exactly the people who
may log that member's time (``Perm.TIME_LOG_OWN`` / ``Perm.TIME_LOG_ANY``), because accepting a
draft is confirming the time as if one had logged it oneself. (``TIMESHEET_DECIDE`` is about
deciding whole weeks, and would shut members out of reviewing their own agent's proposals.)
Review is a human act: never over MCP, and never through the connection that proposed the draft.

Bulk calls are all-or-nothing: every draft is accepted (or discarded), or none is and the error
names the first draft that failed. A reviewer who selected a set sees one clear outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils import timezone

from timesheets.agent_policy import is_agent
from timesheets.entry_rules import ensure_entry_still_valid, lock_member_for_time
from timesheets.models import EntryState, TimeEntry
from timesheets.selectors import review_queue_list
from workspaces import audit, policies
from workspaces.errors import Conflict, DomainError, ForbiddenByPolicy, InsufficientScope, Invalid, NotFound
from workspaces.models import Membership
from workspaces.principals import Principal

MAX_BULK = 200


def _ensure_reviewer(actor: Principal, entry: TimeEntry, member: Membership) -> None:
    if is_agent(actor):
        raise ForbiddenByPolicy("Agents cannot review drafts; a person accepts or discards them.")
    if actor.connection is not None and actor.connection.pk == entry.connection_id:
        raise ForbiddenByPolicy("A draft cannot be reviewed through the connection that proposed it.")
    policies.ensure_time_write(actor, member)


def _locked_draft(actor: Principal, entry: TimeEntry) -> tuple[TimeEntry, Membership]:
    """Lock the member row, then the entry; check the caller may review it and it is still a draft."""
    if entry.workspace_id != actor.workspace.pk:
        raise NotFound("Draft not found.")
    member = lock_member_for_time(actor, entry.member)
    locked = (
        TimeEntry.objects.select_for_update(of=("self",))
        .select_related("project", "task")
        .filter(pk=entry.pk, workspace=actor.workspace)
        .first()
    )
    if locked is None:
        raise NotFound("Draft not found.")
    _ensure_reviewer(actor, locked, member)
    if locked.state != EntryState.DRAFT:
        raise Conflict("This entry is not a draft (it was accepted already).")
    return locked, member


def _accept(actor: Principal, entry: TimeEntry, *, bulk: bool = False) -> TimeEntry:
    entry, member = _locked_draft(actor, entry)
    if entry.ended_at is None:
        raise Conflict("This draft is a running timer; accept it once it is stopped (or discard it).")
    ensure_entry_still_valid(actor, member, entry)
    reason = entry.draft_reason
    entry.state, entry.draft_reason = EntryState.ACTIVE, ""
    entry.updated_at = timezone.now()
    entry.save_locked(update_fields=["state", "draft_reason", "updated_at"])
    audit.record(
        action="time_entry.draft_accept",
        actor=actor,
        target=entry,
        detail={
            "member_id": member.pk,
            "seconds": entry.duration_seconds,
            "billable": entry.billable,
            "connection_id": entry.connection_id,
            "draft_reason": reason,
            "bulk": bulk,
        },
    )
    return entry


def _discard(actor: Principal, entry: TimeEntry, *, bulk: bool = False) -> int:
    # No lock check: a draft never counted as time, so removing it changes no locked week.
    entry, member = _locked_draft(actor, entry)
    entry_id = entry.pk
    audit.record(
        action="time_entry.draft_discard",
        actor=actor,
        target=entry,
        detail={
            "member_id": member.pk,
            "started_at": entry.started_at.isoformat(),
            "seconds": entry.duration_seconds,
            "billable": entry.billable,
            "connection_id": entry.connection_id,
            "bulk": bulk,
        },
    )
    entry.delete()
    return entry_id


@transaction.atomic
def draft_accept(*, actor: Principal, entry: TimeEntry) -> TimeEntry:
    """Accept an agent's draft: it becomes active time, checked as a new entry would be now
    (project and task still open, its day not locked, no forbidden overlap)."""
    return _accept(actor, entry)


@transaction.atomic
def draft_discard(*, actor: Principal, entry: TimeEntry) -> None:
    """Throw an agent's draft away (also a running draft timer, or one in a week since submitted)."""
    _discard(actor, entry)


def _drafts_for_bulk(actor: Principal, entry_ids: Iterable[int]) -> list[TimeEntry]:
    """The drafts named, ordered so member rows are locked in a stable order (no deadlocks)."""
    ids = list(dict.fromkeys(entry_ids))
    if not ids:
        raise Invalid("Name at least one draft.", fields={"ids": ["Give one or more draft ids."]})
    if len(ids) > MAX_BULK:
        raise Invalid(f"At most {MAX_BULK} drafts at once.", fields={"ids": [f"At most {MAX_BULK} ids."]})
    # Another workspace's draft, an active entry or a missing id: all "not found", alike.
    found = {entry.pk: entry for entry in review_queue_list(actor=actor).filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        listed = ", ".join(str(pk) for pk in missing)
        raise NotFound(f"Draft(s) not found: {listed}.", fields={"ids": [f"Not found: {listed}."]})
    return sorted(found.values(), key=lambda e: (e.member_id, e.started_at, e.pk))


def _naming(exc: DomainError, entry_id: int) -> DomainError:
    """The same error, saying which draft of the batch it was about."""
    if isinstance(exc, InsufficientScope):
        return exc
    return type(exc)(f"Draft {entry_id}: {exc.message}", fields={"ids": [f"{entry_id}: {exc.message}"]})


@transaction.atomic
def drafts_accept_bulk(*, actor: Principal, entry_ids: Sequence[int]) -> list[TimeEntry]:
    """Accept several drafts, all or none (see :func:`draft_accept`)."""
    accepted = []
    for entry in _drafts_for_bulk(actor, entry_ids):
        try:
            accepted.append(_accept(actor, entry, bulk=True))
        except DomainError as exc:
            raise _naming(exc, entry.pk) from exc
    return accepted


@transaction.atomic
def drafts_discard_bulk(*, actor: Principal, entry_ids: Sequence[int]) -> list[int]:
    """Discard several drafts, all or none (see :func:`draft_discard`); returns their ids."""
    discarded = []
    for entry in _drafts_for_bulk(actor, entry_ids):
        try:
            discarded.append(_discard(actor, entry, bulk=True))
        except DomainError as exc:
            raise _naming(exc, entry.pk) from exc
    return discarded
