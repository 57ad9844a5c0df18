"""Workspace-scoped reads: nothing of another workspace, members see their projects only."""

from collections.abc import Callable

import pytest

from tests.factories import ClientFactory, MembershipFactory, ProjectFactory, TagFactory, TaskFactory, UserFactory
from workspaces import selectors
from workspaces.errors import NotFound
from workspaces.models import ProjectStatus, Role


@pytest.fixture
def foreign(db):
    stranger = MembershipFactory(role=Role.OWNER)
    project = ProjectFactory(workspace=stranger.workspace)
    return {
        "member": stranger,
        "client": project.client,
        "project": project,
        "task": TaskFactory(project=project),
        "tag": TagFactory(workspace=stranger.workspace),
    }


def test_gets_answer_not_found_for_other_workspaces_and_missing_ids(as_owner, foreign):
    getters: dict[str, tuple[Callable[..., object], str]] = {
        "member": (selectors.member_get, "member_id"),
        "client": (selectors.client_get, "client_id"),
        "project": (selectors.project_get, "project_id"),
        "task": (selectors.task_get, "task_id"),
        "tag": (selectors.tag_get, "tag_id"),
    }
    for name, (getter, kwarg) in getters.items():
        for missing in (foreign[name].pk, 987_654, "not-a-number"):
            with pytest.raises(NotFound) as exc:
                getter(actor=as_owner, **{kwarg: missing})
            assert exc.value.code == "not_found"


def test_project_get_finds_visible_projects_and_nothing_else(as_member, as_manager, project, workspace, foreign):
    archived = ProjectFactory(workspace=workspace, team=[as_member.membership], status=ProjectStatus.ARCHIVED)
    hidden = ProjectFactory(workspace=workspace)
    for caller, found, not_found in (
        (as_member, [project, archived], [hidden]),
        (as_manager, [project, archived, hidden], []),
    ):
        for visible in found:
            for given in (visible.pk, str(visible.pk)):
                got = selectors.project_get(actor=caller, project_id=given)
                assert (got.pk, got.name, got.client_id) == (visible.pk, visible.name, visible.client_id)
        for missing in [p.pk for p in not_found] + [foreign["project"].pk, 0, 2**63, -(2**63) - 1, "x", None, True]:
            with pytest.raises(NotFound):  # out of a bigint's range too: never a database error
                selectors.project_get(actor=caller, project_id=missing)


def test_members_see_only_projects_of_their_team(as_member, as_manager, project, workspace):
    hidden = ProjectFactory(workspace=workspace, name="Hidden")
    assert list(selectors.project_list(actor=as_member)) == [project]
    with pytest.raises(NotFound):
        selectors.project_get(actor=as_member, project_id=hidden.pk)
    assert set(selectors.project_list(actor=as_manager)) == {project, hidden}


def test_archived_things_are_left_out_unless_asked(as_manager, workspace, project):
    project.status = ProjectStatus.ARCHIVED
    project.save()
    client = ClientFactory(workspace=workspace, is_archived=True)
    assert project not in selectors.project_list(actor=as_manager)
    assert project in selectors.project_list(actor=as_manager, include_archived=True)
    assert client not in selectors.client_list(actor=as_manager)
    assert client in selectors.client_list(actor=as_manager, include_archived=True)


def test_membership_list_for_user_skips_inactive_memberships_and_workspaces(db):
    user = UserFactory()
    active = MembershipFactory(user=user)
    MembershipFactory(user=user, is_active=False)
    gone = MembershipFactory(user=user)
    gone.workspace.is_active = False
    gone.workspace.save()
    assert list(selectors.membership_list_for_user(user=user)) == [active]


def test_principal_for_user_needs_an_active_membership(member, workspace):
    assert selectors.principal_for_user(user=member.user, workspace_slug="acme").membership == member
    with pytest.raises(NotFound):
        selectors.principal_for_user(user=member.user, workspace_slug="elsewhere")
    member.user.is_active = False
    with pytest.raises(NotFound):
        selectors.principal_for_user(user=member.user, workspace_slug="acme")
