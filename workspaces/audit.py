"""The one entry point for audit events.

Write services call :func:`record` inside their own transaction, so a rolled-back change
leaves no event and a committed change always has one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import models

from workspaces.models import AuditEvent, Channel, Outcome, Workspace

if TYPE_CHECKING:
    from workspaces.models import User
    from workspaces.principals import Principal


def record(
    *,
    action: str,
    actor: Principal | None = None,
    user: User | None = None,
    workspace: Workspace | None = None,
    channel: str | None = None,
    target: models.Model | None = None,
    outcome: str = Outcome.OK,
    detail: Mapping[str, Any] | None = None,
    event_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Write one AuditEvent now, in the caller's transaction.

    ``actor`` supplies the user, workspace, channel and request context; ``user``,
    ``workspace`` and ``channel`` are for events without a principal (login, workspace
    creation, system jobs).
    """
    event = AuditEvent(
        id=event_id or uuid.uuid4(),
        workspace=workspace or (actor.workspace if actor else None),
        actor=user or (actor.user if actor else None),
        connection=actor.connection if actor else None,
        channel=channel or (actor.channel if actor else Channel.SYSTEM),
        action=action,
        outcome=outcome,
        detail=dict(detail or {}),
    )
    if target is not None:
        event.target_type = target._meta.label_lower
        event.target_id = str(target.pk)
        event.target_repr = str(target)[:200]
    if actor is not None:
        event.ip = actor.ip
        event.user_agent = actor.user_agent[:300]
        event.request_id = actor.request_id[:64]
    event.save(force_insert=True)
    return event
