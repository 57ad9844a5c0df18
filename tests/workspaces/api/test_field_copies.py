"""Each input serializer binds its own copies of its declared fields (``copier``): one level
deep where nothing in the field is nested or a mutable value, DRF's deep copy otherwise."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from django.db.models import QuerySet
from django.urls import get_resolver
from django.utils.functional import Promise
from rest_framework import serializers
from rest_framework.utils.formatting import lazy_format

from tests.conftest import principal_for
from timesheets.api import EntryUpdateInput
from workspaces.api import StrictSerializer, copier


def input_serializers() -> list[type[StrictSerializer]]:
    get_resolver().url_patterns  # noqa: B018 - imports every view module, and so every serializer

    def below(cls: type[StrictSerializer]) -> Iterator[type[StrictSerializer]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from below(sub)

    found = sorted(set(below(StrictSerializer)), key=lambda cls: cls.__qualname__)
    assert len(found) > 20  # the REST faces' inputs, not a partial import
    return found


SERIALIZERS = input_serializers()


def settings_of(field: serializers.Field[Any, Any, Any, Any]) -> dict[str, Any]:
    """What configures a field, comparable across copies (a queryset by its SQL); not where it
    is bound."""

    def comparable(value: Any) -> Any:
        if isinstance(value, QuerySet):
            return (value.model, value.query.is_empty() or str(value.query))
        if isinstance(value, serializers.Field):
            return (type(value), settings_of(value))
        if isinstance(value, list | tuple):
            return [comparable(item) for item in value]
        if isinstance(value, dict):
            return {key: comparable(item) for key, item in value.items()}
        if isinstance(value, Promise | lazy_format):
            return str(value)
        if type(value).__module__.startswith(("django.core.validators", "rest_framework.validators")):
            return (type(value), comparable(vars(value)))  # not every validator has __eq__
        return value

    return {
        name: comparable(value) for name, value in vars(field).items() if name not in ("_creation_counter", "parent")
    }


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=lambda cls: cls.__qualname__)
def test_each_field_is_configured_as_drfs_deep_copy_and_is_the_serializers_own(serializer):
    first, second = serializer(), serializer()
    for name, declared in serializer._declared_fields.items():
        assert settings_of(copier(declared)(declared)) == settings_of(copy.deepcopy(declared)), name
        assert first.fields[name] is not declared, name
        assert first.fields[name] is not second.fields[name], name
        assert (first.fields[name].field_name, first.fields[name].parent) == (name, first)
        assert (declared.field_name, declared.parent) == (None, None), f"{name}: binding changed the declaration"


@pytest.mark.django_db
def test_a_nested_field_is_bound_to_its_own_serializer_and_sees_its_context(member):
    principal = principal_for(member)
    data = EntryUpdateInput(context={"principal": principal})
    tags = data.fields["tags"]
    assert isinstance(tags, serializers.ManyRelatedField)
    declared = EntryUpdateInput._declared_fields["tags"]
    assert isinstance(declared, serializers.ManyRelatedField)
    assert tags.child_relation is not declared.child_relation
    assert tags.child_relation.parent is tags
    assert tags.child_relation.context["principal"] is principal


class WithMutableDefault(StrictSerializer):
    options = serializers.JSONField(required=False, default={})
    note = serializers.CharField(required=False, default="none")


def test_a_mutable_default_is_each_serializers_own():
    first, second = WithMutableDefault(data={}), WithMutableDefault(data={})
    assert first.is_valid()
    assert second.is_valid()
    first.validated_data["options"]["changed"] = True
    assert second.validated_data["options"] == {}
    assert WithMutableDefault._declared_fields["options"].default == {}
    assert first.fields["note"].default == "none"
    assert vars(first.fields["note"])["_kwargs"] is vars(WithMutableDefault._declared_fields["note"])["_kwargs"]


class Inner(serializers.Serializer[Any]):
    hours = serializers.IntegerField()


class WithNested(StrictSerializer):
    inner = Inner(required=False)


def test_a_nested_serializer_is_each_serializers_own_even_once_its_declaration_was_read():
    declared = WithNested._declared_fields["inner"]
    assert isinstance(declared, Inner)
    assert declared.fields["hours"].parent is declared  # as a schema generator may read it
    data = WithNested(data={"inner": {"hours": 3}}, context={"principal": "p"})
    inner = data.fields["inner"]
    assert isinstance(inner, Inner)
    assert inner is not declared
    assert inner.fields["hours"].parent is inner
    assert inner.fields["hours"].context == {"principal": "p"}
    assert data.is_valid(), data.errors
    assert data.validated_data == {"inner": {"hours": 3}}
