"""Allow-listed updates and validation shared by every service that changes a model."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from workspaces.errors import Invalid


def reject_unknown_fields(data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise Invalid(
            "Unknown or read-only field(s): " + ", ".join(unknown) + ".",
            fields={name: ["This field cannot be set here."] for name in unknown},
        )


def validate_instance(instance: models.Model, *, exclude: Iterable[str] = ()) -> None:
    """Run the model's field, unique and constraint validation; raise Invalid with per-field messages."""
    try:
        instance.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        raise Invalid(_summary(fields), fields=fields) from exc


def _summary(fields: Mapping[str, list[str]]) -> str:
    """One readable sentence naming each bad field, e.g. ``color: Use #RRGGBB.``"""
    parts = [msgs[0] if name == "__all__" else f"{name}: {msgs[0]}" for name, msgs in fields.items() if msgs]
    return " ".join(parts) or "Invalid input."


def apply_updates(instance: models.Model, data: Mapping[str, Any], *, allowed: Iterable[str]) -> list[str]:
    """Set the allowed fields from ``data`` (unknown names → Invalid); return the names that changed."""
    reject_unknown_fields(data, allowed)
    changed = []
    for name, value in data.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed
