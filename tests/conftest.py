"""Shared fixtures: one workspace with one member of every role, and principals for them."""

from collections.abc import Callable

import pytest

from tests.factories import MembershipFactory, ProjectFactory, TaskFactory, WorkspaceFactory
from workspaces.models import Membership, Project, Role, Task, Workspace
from workspaces.principals import ALL_SCOPES, Principal


def principal_for(membership: Membership, *, scopes: frozenset[str] = ALL_SCOPES, **kwargs) -> Principal:
    return Principal(user=membership.user, membership=membership, scopes=scopes, **kwargs)


@pytest.fixture
def make_principal() -> Callable[..., Principal]:
    return principal_for


@pytest.fixture
def workspace(db) -> Workspace:
    return WorkspaceFactory(name="Acme Studio", slug="acme", timezone="Europe/Berlin")


@pytest.fixture
def owner(workspace) -> Membership:
    return MembershipFactory(workspace=workspace, role=Role.OWNER, user__username="owner")


@pytest.fixture
def admin(workspace) -> Membership:
    return MembershipFactory(workspace=workspace, role=Role.ADMIN, user__username="admin")


@pytest.fixture
def manager(workspace) -> Membership:
    return MembershipFactory(workspace=workspace, role=Role.MANAGER, user__username="manager")


@pytest.fixture
def member(workspace) -> Membership:
    return MembershipFactory(workspace=workspace, role=Role.MEMBER, user__username="member")


@pytest.fixture
def other_member(workspace) -> Membership:
    return MembershipFactory(workspace=workspace, role=Role.MEMBER, user__username="other")


@pytest.fixture
def project(workspace, member, other_member) -> Project:
    return ProjectFactory(workspace=workspace, name="Website", team=[member, other_member])


@pytest.fixture
def task(project) -> Task:
    return TaskFactory(project=project, name="Design")


@pytest.fixture
def as_owner(owner) -> Principal:
    return principal_for(owner)


@pytest.fixture
def as_admin(admin) -> Principal:
    return principal_for(admin)


@pytest.fixture
def as_manager(manager) -> Principal:
    return principal_for(manager)


@pytest.fixture
def as_member(member) -> Principal:
    return principal_for(member)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Tests create many users; the production hasher is deliberately slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _reset_registration_rate_limit():
    # Client registration is rate-limited per address in the shared cache; tests start afresh.
    from django.core.cache import cache

    cache.delete("dcr:127.0.0.1")


@pytest.fixture
def celery_eager():
    """Run Celery tasks in-process for one test.

    Celery reads Django's ``CELERY_*`` names first, so both spellings are set and restored.
    """
    from timetracker.celery import app

    before = {key: app.conf.get(key) for key in ("task_always_eager", "CELERY_TASK_ALWAYS_EAGER")}
    app.conf.update(task_always_eager=True, CELERY_TASK_ALWAYS_EAGER=True)
    yield app
    app.conf.update(before)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (``@pytest.mark.anyio``) run on asyncio, like uvicorn."""
    return "asyncio"
