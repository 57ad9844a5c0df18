"""factory-boy factories for every model."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from timesheets.models import EntrySource, EntryState, TimeEntry, Timesheet, TimesheetStatus
from workspaces.models import (
    AuditEvent,
    Channel,
    Client,
    Connection,
    ConnectionKind,
    Membership,
    OAuthAccessToken,
    OAuthApplication,
    OAuthGrant,
    OAuthIDToken,
    OAuthRefreshToken,
    Project,
    Role,
    Tag,
    Task,
    User,
    Workspace,
)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class WorkspaceFactory(factory.django.DjangoModelFactory[Workspace]):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"ws-{n}")
    timezone = "Europe/Berlin"
    currency = "EUR"


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Role.MEMBER
    weekly_capacity_hours = Decimal("40")


class ClientFactory(factory.django.DjangoModelFactory[Client]):
    class Meta:
        model = Client

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Client {n}")
    contact_email = factory.Sequence(lambda n: f"billing{n}@client.test")


class ProjectFactory(factory.django.DjangoModelFactory[Project]):
    class Meta:
        model = Project
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    client = factory.SubFactory(ClientFactory, workspace=factory.SelfAttribute("..workspace"))
    name = factory.Sequence(lambda n: f"Project {n}")

    @factory.post_generation
    def team(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.team.set(extracted)


class TaskFactory(factory.django.DjangoModelFactory[Task]):
    class Meta:
        model = Task

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Task {n}")


class TagFactory(factory.django.DjangoModelFactory[Tag]):
    class Meta:
        model = Tag

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")


class TimeEntryFactory(factory.django.DjangoModelFactory[TimeEntry]):
    """A finished one-hour entry yesterday (UTC), straight to the database (no service rules)."""

    class Meta:
        model = TimeEntry

    member = factory.SubFactory(MembershipFactory)
    workspace = factory.SelfAttribute("member.workspace")
    project = factory.SubFactory(ProjectFactory, workspace=factory.SelfAttribute("..workspace"))
    started_at = factory.LazyFunction(
        lambda: (timezone.now() - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    )
    ended_at = factory.LazyAttribute(lambda e: e.started_at + timedelta(hours=1))
    duration_seconds = factory.LazyAttribute(
        lambda e: int((e.ended_at - e.started_at).total_seconds()) if e.ended_at else None
    )
    billable = True
    state = EntryState.ACTIVE
    source = EntrySource.WEB
    created_by = factory.SelfAttribute("member.user")


def finished_entry(
    member: Membership, project: Project, started_at: datetime, seconds: int, **kwargs: Any
) -> TimeEntry:
    """A finished entry of ``seconds`` from ``started_at`` (straight to the database, as the factory)."""
    return TimeEntryFactory(
        member=member,
        project=project,
        started_at=started_at,
        ended_at=started_at + timedelta(seconds=seconds),
        duration_seconds=seconds,
        **kwargs,
    )


class TimesheetFactory(factory.django.DjangoModelFactory[Timesheet]):
    class Meta:
        model = Timesheet

    member = factory.SubFactory(MembershipFactory)
    workspace = factory.SelfAttribute("member.workspace")
    week_start = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=timezone.localdate().weekday()))
    status = TimesheetStatus.OPEN


class AuditEventFactory(factory.django.DjangoModelFactory[AuditEvent]):
    class Meta:
        model = AuditEvent

    workspace = factory.SubFactory(WorkspaceFactory)
    actor = factory.SubFactory(UserFactory)
    channel = Channel.WEB
    action = "test.event"


class OAuthApplicationFactory(factory.django.DjangoModelFactory[OAuthApplication]):
    class Meta:
        model = OAuthApplication

    name = factory.Sequence(lambda n: f"Agent {n}")
    client_type = OAuthApplication.CLIENT_PUBLIC
    authorization_grant_type = OAuthApplication.GRANT_AUTHORIZATION_CODE
    redirect_uris = "http://127.0.0.1:33418/callback"


class ConnectionFactory(factory.django.DjangoModelFactory[Connection]):
    """An OAuth connection of an active member (read + write, sensitive off)."""

    class Meta:
        model = Connection

    user = factory.SelfAttribute("membership.user")
    workspace = factory.SelfAttribute("membership.workspace")
    kind = ConnectionKind.OAUTH
    application = factory.SubFactory(OAuthApplicationFactory)
    scopes = "read write"

    class Params:
        membership = factory.SubFactory(MembershipFactory)


class OAuthAccessTokenFactory(factory.django.DjangoModelFactory[OAuthAccessToken]):
    class Meta:
        model = OAuthAccessToken

    connection = factory.SubFactory(ConnectionFactory)
    user = factory.SelfAttribute("connection.user")
    application = factory.SelfAttribute("connection.application")
    token = factory.Sequence(lambda n: f"access-token-{n}")
    expires = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    scope = factory.SelfAttribute("connection.scopes")


class OAuthRefreshTokenFactory(factory.django.DjangoModelFactory[OAuthRefreshToken]):
    class Meta:
        model = OAuthRefreshToken

    access_token = factory.SubFactory(OAuthAccessTokenFactory)
    connection = factory.SelfAttribute("access_token.connection")
    user = factory.SelfAttribute("access_token.user")
    application = factory.SelfAttribute("access_token.application")
    token = factory.Sequence(lambda n: f"refresh-token-{n}")


class OAuthGrantFactory(factory.django.DjangoModelFactory[OAuthGrant]):
    class Meta:
        model = OAuthGrant

    connection = factory.SubFactory(ConnectionFactory)
    user = factory.SelfAttribute("connection.user")
    application = factory.SelfAttribute("connection.application")
    code = factory.Sequence(lambda n: f"code-{n}")
    expires = factory.LazyFunction(lambda: timezone.now() + timedelta(seconds=60))
    redirect_uri = "http://127.0.0.1:33418/callback"
    code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    code_challenge_method = "S256"


class OAuthIDTokenFactory(factory.django.DjangoModelFactory[OAuthIDToken]):
    class Meta:
        model = OAuthIDToken

    user = factory.SubFactory(UserFactory)
    application = factory.SubFactory(OAuthApplicationFactory)
    expires = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
