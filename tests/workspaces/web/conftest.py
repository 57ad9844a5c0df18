"""Signed-in browsers for each role of the "acme" workspace, and a stranger's workspace."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client as Browser

from tests.factories import ClientFactory, MembershipFactory, ProjectFactory, TaskFactory, WorkspaceFactory
from workspaces.models import Membership, Role


@pytest.fixture
def browser_for(db) -> Callable[[Membership], Browser]:
    """A fresh browser signed in as this membership's user."""

    def make(membership: Membership) -> Browser:
        browser = Browser()
        browser.force_login(membership.user)
        return browser

    return make


@pytest.fixture
def as_member_browser(browser_for, member) -> Browser:
    return browser_for(member)


@pytest.fixture
def as_manager_browser(browser_for, manager) -> Browser:
    return browser_for(manager)


@pytest.fixture
def as_admin_browser(browser_for, admin) -> Browser:
    return browser_for(admin)


@pytest.fixture
def as_owner_browser(browser_for, owner) -> Browser:
    return browser_for(owner)


@pytest.fixture
def globex(db):
    """Another workspace with a member, a client, a project and a task of its own."""
    workspace = WorkspaceFactory(name="Globex", slug="globex")
    member = MembershipFactory(workspace=workspace, role=Role.OWNER, user__username="globex-owner")
    client = ClientFactory(workspace=workspace, name="Globex client")
    project = ProjectFactory(workspace=workspace, client=client, name="Globex project")
    task = TaskFactory(project=project, name="Globex task")
    return {"workspace": workspace, "member": member, "client": client, "project": project, "task": task}


def form_errors(response) -> dict[str, list[str]]:
    """The errors of the page's ``form`` (as the template shows them)."""
    form = response.context["form"]
    return {name: [str(e) for e in errors] for name, errors in form.errors.items()}
