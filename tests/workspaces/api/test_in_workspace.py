"""A project id in REST input, looked up by the compiled ``project_find`` (``VisibleProject``),
answers exactly as the selector's own ``.get()`` does, for every kind of input."""

from typing import Any

import pytest
from django.db.models import QuerySet
from rest_framework import serializers

from tests.conftest import principal_for
from tests.factories import MembershipFactory, ProjectFactory, WorkspaceFactory
from workspaces.api_catalog import (
    ActiveMember,
    AnyMember,
    InWorkspace,
    VisibleProject,
    active_members,
    any_members,
    visible_projects,
)
from workspaces.errors import Forbidden, InsufficientScope
from workspaces.models import Membership, Project, ProjectStatus, Role

pytestmark = pytest.mark.django_db


class Compiled(serializers.Serializer[Any]):
    project = VisibleProject()


class BySelector(serializers.Serializer[Any]):
    project = InWorkspace(selector=visible_projects, model=Project)


def project_shown(project: Project) -> tuple[Any, ...]:
    return (project.pk, project.name, project.client.name if project.client else None)


def member_shown(member: Membership) -> tuple[Any, ...]:
    return (member.pk, member.user.username, member.is_active)


def outcome(
    serializer: type[serializers.Serializer[Any]], principal: Any, value: Any, *, field: str = "project"
) -> Any:
    """What validating ``{field: value}`` answers: found (and what), refused (the errors) or forbidden."""
    checked = serializer(data={field: value}, context={"principal": principal})
    try:
        if checked.is_valid():
            found = checked.validated_data[field]
            return ("found", *(project_shown(found) if field == "project" else member_shown(found)))
    except (Forbidden, InsufficientScope) as refused:
        return ("forbidden", refused.code)
    return ("refused", checked.errors)


@pytest.mark.parametrize("role", [Role.MEMBER, Role.MANAGER])
def test_each_input_answers_as_the_selector_does(role):
    workspace = WorkspaceFactory()
    caller = MembershipFactory(workspace=workspace, role=role)
    on_team = ProjectFactory(workspace=workspace, team=[caller])
    archived = ProjectFactory(workspace=workspace, team=[caller], status=ProjectStatus.ARCHIVED, client=None)
    not_on_team = ProjectFactory(workspace=workspace)
    elsewhere = ProjectFactory(workspace=MembershipFactory().workspace)
    principal = principal_for(caller)
    inputs = [
        on_team.pk,
        str(on_team.pk),
        archived.pk,
        not_on_team.pk,  # a member sees only the projects of their team
        elsewhere.pk,
        0,
        -1,
        2**63 - 1,
        2**63,  # beyond a bigint: not found, never a database error
        -(2**70),
        True,
        "abc",
        "",
        1.5,
        [on_team.pk],
        {"id": on_team.pk},
    ]
    answers = {repr(value): outcome(Compiled, principal, value) for value in inputs}
    assert answers == {repr(value): outcome(BySelector, principal, value) for value in inputs}
    # and they are the answers expected, not merely the same ones
    assert answers[repr(on_team.pk)][0] == "found"
    assert answers[repr(archived.pk)][:4] == ("found", archived.pk, archived.name, None)
    assert answers[repr(not_on_team.pk)][0] == ("refused" if role == Role.MEMBER else "found")
    assert answers[repr(elsewhere.pk)] == (
        "refused",
        {"project": [f'Invalid pk "{elsewhere.pk}" - object does not exist.']},
    )
    assert answers[repr(2**63)] == ("refused", {"project": [f'Invalid pk "{2**63}" - object does not exist.']})
    assert answers[repr(True)] == ("refused", {"project": ["Incorrect type. Expected pk value, received bool."]})


def test_every_copy_of_the_field_shares_one_empty_queryset_and_still_asks_the_selector():
    """A serializer copies its fields for every request; the queryset DRF wants is made once per
    model, is empty, and is never what an id is looked up in."""
    workspace = WorkspaceFactory()
    caller = MembershipFactory(workspace=workspace, role=Role.MANAGER)
    project = ProjectFactory(workspace=workspace)
    first, second = BySelector().fields["project"], BySelector().fields["project"]
    assert isinstance(first, InWorkspace)
    assert isinstance(second, InWorkspace)
    assert first is not second
    assert first.queryset is second.queryset
    assert isinstance(first.queryset, QuerySet)
    assert first.queryset.model is Project
    assert list(first.queryset) == []
    assert outcome(BySelector, principal_for(caller), project.pk)[:2] == ("found", project.pk)


class CompiledActive(serializers.Serializer[Any]):
    member = ActiveMember()


class ActiveBySelector(serializers.Serializer[Any]):
    member = InWorkspace(selector=active_members, model=Membership)


class CompiledAny(serializers.Serializer[Any]):
    member = AnyMember()


class AnyBySelector(serializers.Serializer[Any]):
    member = InWorkspace(selector=any_members, model=Membership)


@pytest.mark.parametrize("scopes", ["all", "write only"])
@pytest.mark.parametrize(
    ("compiled", "by_selector"), [(CompiledActive, ActiveBySelector), (CompiledAny, AnyBySelector)]
)
def test_each_member_id_answers_as_the_selector_does(compiled, by_selector, scopes):
    workspace = WorkspaceFactory()
    caller = MembershipFactory(workspace=workspace, role=Role.MEMBER)
    colleague = MembershipFactory(workspace=workspace, role=Role.MANAGER)
    gone = MembershipFactory(workspace=workspace, is_active=False)
    elsewhere = MembershipFactory()
    principal = principal_for(caller) if scopes == "all" else principal_for(caller, scopes=frozenset({"write"}))
    inputs = [caller.pk, str(colleague.pk), gone.pk, elsewhere.pk, 0, -1, 2**63, True, "abc", "", 1.5, [caller.pk]]
    answers = {repr(value): outcome(compiled, principal, value, field="member") for value in inputs}
    assert answers == {repr(value): outcome(by_selector, principal, value, field="member") for value in inputs}
    if scopes != "all":  # no read scope: refused before the id is read, whatever it is
        assert "read" not in principal.scopes
        blank = answers.pop(repr(""))  # a blank id is "may not be null" before any lookup
        assert blank == ("refused", {"member": ["This field may not be null."]})
        assert set(answers.values()) == {("forbidden", "insufficient_scope")}
        return
    assert answers[repr(str(colleague.pk))] == ("found", colleague.pk, colleague.user.username, True)
    assert answers[repr(gone.pk)][0] == ("found" if compiled is CompiledAny else "refused")
    assert answers[repr(elsewhere.pk)] == (
        "refused",
        {"member": [f'Invalid pk "{elsewhere.pk}" - object does not exist.']},
    )
    assert answers[repr("abc")] == ("refused", {"member": ["Incorrect type. Expected pk value, received str."]})
