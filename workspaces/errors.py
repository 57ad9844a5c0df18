"""Domain errors with stable codes. Every face (REST, MCP, web) maps these, never invents its own."""

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, *, fields: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, list[str]] = {name: list(msgs) for name, msgs in (fields or {}).items()}

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class NotFound(DomainError):
    """The same answer for a missing object and for another workspace's object."""

    code = "not_found"


class Invalid(DomainError):
    code = "invalid"


class Locked(DomainError):
    code = "locked"


class Conflict(DomainError):
    code = "conflict"


class Forbidden(DomainError):
    code = "forbidden"


class ForbiddenByPolicy(DomainError):
    code = "forbidden_by_policy"


class InsufficientScope(DomainError):
    code = "insufficient_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"This action needs the '{scope}' scope, which this connection was not granted.")
        self.scope = scope
