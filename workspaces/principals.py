"""The acting principal: who is calling, in which workspace, through what, with which scopes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from workspaces.models import Channel, Connection, Membership, Role, Workspace

if TYPE_CHECKING:
    from workspaces.models import User

ALL_SCOPES: frozenset[str] = frozenset({"read", "write", "admin"})


@dataclass(frozen=True)
class Principal:
    """A user acting in one workspace. Browser sessions hold every scope; connections fewer."""

    user: User
    membership: Membership
    channel: str = Channel.WEB
    scopes: frozenset[str] = ALL_SCOPES
    # The Connection (OAuth grant or API key) a non-browser call came through, if any.
    connection: Connection | None = None
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""

    @property
    def workspace(self) -> Workspace:
        return self.membership.workspace

    @property
    def role(self) -> Role:
        return Role(self.membership.role)
