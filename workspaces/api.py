"""REST face of the workspaces app (the full API arrives with its own issue): ``/api/v1/me``."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.api_audit import AuditedAPIView
from workspaces.api_base import WorkspaceAPIView
from workspaces.authentication import BearerAuthentication
from workspaces.models import AgentBillablePolicy, AgentNonBillablePolicy, OverlapPolicy
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.services import workspace_update


class MeOutput(serializers.Serializer):
    username = serializers.CharField()
    workspace = serializers.CharField(allow_null=True)
    role = serializers.CharField(allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())
    connection_id = serializers.IntegerField(allow_null=True)
    allow_sensitive = serializers.BooleanField()


class MeView(AuditedAPIView):
    """Who is calling: the user and, for a connection, its workspace, role and scopes."""

    authentication_classes = [BearerAuthentication]
    permission_classes = [IsAuthenticated]
    audit_name = "me"

    @extend_schema(responses=MeOutput)
    def get(self, request: Request) -> Response:
        principal = request.auth
        assert isinstance(principal, Principal)  # BearerAuthentication sets it
        connection = principal.connection
        data = {
            "username": principal.user.get_username(),
            "workspace": principal.workspace.slug,
            "role": principal.membership.role,
            "scopes": sorted(principal.scopes),
            "connection_id": connection.pk if connection else None,
            "allow_sensitive": bool(connection and connection.allow_sensitive),
        }
        return Response(MeOutput(data).data)


def _json_types(field: serializers.Field) -> tuple[type, ...] | None:
    """The JSON types a field's schema promises, for fields DRF would otherwise coerce."""
    if isinstance(field, serializers.BooleanField):
        return (bool,)
    if isinstance(field, serializers.ChoiceField | serializers.CharField | serializers.DateField):
        return (str,)
    if isinstance(field, serializers.DateTimeField):
        return (str,)
    if isinstance(field, serializers.IntegerField):
        return (int,)
    if isinstance(field, serializers.DecimalField):
        return (str,)  # money and rates travel as strings ("120.00"), exact, as the schema says
    if isinstance(field, serializers.FloatField):
        return (int, float)
    if isinstance(field, serializers.ListField | serializers.MultipleChoiceField):
        return (list,)
    if isinstance(field, serializers.DictField):
        return (dict,)
    return None


class StrictSerializer(serializers.Serializer):
    """Input as the schema says: unknown fields are refused, naming them (no silent mass
    assignment), and a JSON value of the wrong type is refused rather than coerced (DRF would
    accept ``1`` for a text field or ``"true"`` for a boolean)."""

    def get_fields(self) -> dict[str, AnyField]:
        """The declared fields, each this serializer's own: as DRF's deep copy, but a field
        with nothing nested in it and no mutable default is copied one level (``copier``)."""
        plan = _copy_plans.get(type(self))
        if plan is None:  # once a class; a race computes the same plan twice
            plan = _copy_plans[type(self)] = [
                (name, field, copier(field)) for name, field in self._declared_fields.items()
            ]
        return {name: copied(field) for name, field, copied in plan}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            wrong: dict[str, list[str]] = {}
            for name, field in self.fields.items():
                if name not in data or field.read_only:
                    continue
                value, types = data[name], _json_types(field)
                if value is None or types is None:
                    continue
                if isinstance(value, bool) and bool not in types:
                    wrong[name] = [f"Expected {_type_word(types)}, got a boolean."]
                elif not isinstance(value, types):
                    wrong[name] = [f"Expected {_type_word(types)}, got {type(value).__name__}."]
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(getattr(self, "initial_data", {})) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown or read-only field."] for name in unknown})
        return attrs


AnyField = serializers.Field[Any, Any, Any, Any]
_copy_plans: dict[type[StrictSerializer], list[tuple[str, AnyField, Callable[[AnyField], AnyField]]]] = {}


def copier(field: AnyField) -> Callable[[AnyField], AnyField]:
    """How a serializer copies the declared ``field`` to bind it as its own.

    DRF deep-copies every declared field for every serializer it builds, and a field's deep copy
    runs its ``__init__`` again: 7.5 % of the instructions of a time entry's POST (callgrind,
    ``bench/README``).
    Binding sets only the copy's own attributes (name, parent, label, source), and validation
    never changes a field's settings (messages, validators, choices), so a one-level copy may
    share them with the declaration. Not so a field holding another field (a list's ``child``, a
    ``many`` relation's ``child_relation``, a nested serializer), which binds it to itself, nor
    one whose default or initial value is a list, dict or set a request could change: those are
    deep-copied, as DRF does.
    """
    nested = isinstance(field, serializers.BaseSerializer) or any(
        isinstance(value, serializers.Field) for value in vars(field).values()
    )
    mutable = any(isinstance(getattr(field, name, None), list | dict | set) for name in ("default", "initial"))
    return copy.deepcopy if nested or mutable else _one_level


def _one_level(field: AnyField) -> AnyField:
    """``copy.copy(field)`` without its generic protocol: a field keeps its state in ``__dict__``,
    and ``Field.__new__`` only records the arguments that ``__dict__`` already holds."""
    copied = object.__new__(type(field))
    copied.__dict__.update(field.__dict__)
    return copied


def _type_word(types: tuple[type, ...]) -> str:
    words = {
        bool: "true or false",
        str: "a string",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "an object",
    }
    return " or ".join(dict.fromkeys(words[t] for t in types))


class WorkspaceOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    currency = serializers.CharField()
    week_start = serializers.IntegerField()
    lock_date = serializers.DateField(allow_null=True)
    overlap_policy = serializers.CharField()
    agent_nonbillable_policy = serializers.CharField()
    agent_billable_policy = serializers.CharField()
    api_enabled = serializers.BooleanField()
    mcp_enabled = serializers.BooleanField()
    audit_retention_days = serializers.IntegerField()


class WorkspaceUpdateInput(StrictSerializer):
    name = serializers.CharField(required=False, max_length=200)
    timezone = serializers.CharField(required=False, max_length=64)
    currency = serializers.CharField(required=False, max_length=3)
    week_start = serializers.IntegerField(required=False, min_value=0, max_value=6)
    overlap_policy = serializers.ChoiceField(choices=OverlapPolicy.choices, required=False)
    agent_nonbillable_policy = serializers.ChoiceField(choices=AgentNonBillablePolicy.choices, required=False)
    agent_billable_policy = serializers.ChoiceField(choices=AgentBillablePolicy.choices, required=False)
    api_enabled = serializers.BooleanField(required=False)
    mcp_enabled = serializers.BooleanField(required=False)
    audit_retention_days = serializers.IntegerField(required=False, min_value=30, max_value=3650)


class WorkspaceDetailView(WorkspaceAPIView):
    """One workspace: read by any member; settings changed by admins with the admin scope."""

    perms = {"GET": Perm.WORKSPACE_VIEW, "PATCH": Perm.WORKSPACE_MANAGE}
    audit_name = "workspace"

    @extend_schema(responses=WorkspaceOutput)
    def get(self, request: Request, workspace_slug: str) -> Response:
        return self.single(WorkspaceOutput(self.principal.workspace).data)

    @extend_schema(request=WorkspaceUpdateInput, responses=WorkspaceOutput)
    def patch(self, request: Request, workspace_slug: str) -> Response:
        data = WorkspaceUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        self.check_if_match(WorkspaceOutput(self.principal.workspace).data)
        workspace = workspace_update(actor=self.principal, data=data.validated_data)
        return self.single(WorkspaceOutput(workspace).data)
