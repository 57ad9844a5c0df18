"""Redaction of sensitive fields (DESIGN §5), the same for REST, MCP and the web.

A field the caller may not see stays in the output with the value ``None`` and is named in the
``redacted`` list, so a client (or an agent) knows what it was not shown.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from workspaces.policies import can_view_sensitive
from workspaces.principals import Principal

# Sensitive fields per kind of object: contact data and cost (DESIGN §5).
CLIENT_CONTACT_FIELDS = ("contact_email", "contact_phone", "vat_id", "address")
MEMBER_COST_FIELDS = ("cost_rate",)
MEMBER_CONTACT_FIELDS = ("email",)
ENTRY_COST_FIELDS = ("cost_rate", "cost_amount")


def redact(data: MutableMapping[str, Any], fields: Iterable[str], *, principal: Principal) -> MutableMapping[str, Any]:
    """Blank ``fields`` in ``data`` unless the principal may see sensitive data; sets ``redacted``."""
    if can_view_sensitive(principal):
        data["redacted"] = []
        return data
    hidden = [name for name in fields if name in data]
    for name in hidden:
        data[name] = None
    data["redacted"] = hidden
    return data


class RedactedSerializerMixin:
    """For an output serializer: ``sensitive_fields`` are redacted for ``context['principal']``.

    Declare ``redacted = serializers.ListField(child=serializers.CharField(), read_only=True)``
    on the serializer so the schema shows it.
    """

    sensitive_fields: tuple[str, ...] = ()

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)  # type: ignore[misc]
        principal = self.context.get("principal")  # type: ignore[attr-defined]
        assert isinstance(principal, Principal), "pass context={'principal': ...} to a redacting serializer"
        return redact(data, self.sensitive_fields, principal=principal)
