"""Connections: API keys, scopes cut to the role, revocation that kills every token, access stops."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import ConnectionFactory, OAuthAccessTokenFactory, OAuthRefreshTokenFactory, UserFactory
from workspaces import connection_selectors as selectors
from workspaces import connection_services as services
from workspaces.errors import Conflict, Forbidden, Invalid, NotFound
from workspaces.models import AuditEvent, Connection, OAuthAccessToken, OAuthRefreshToken, Role

# --- API keys ---------------------------------------------------------------------------------


def test_an_api_key_is_shown_once_and_only_its_hash_is_kept(as_admin):
    new = services.api_key_create(actor=as_admin, label="Nightly export", scopes=["read", "admin"])
    connection = Connection.objects.get()
    assert new.secret.startswith("tt_")
    assert len(new.secret) > 40
    assert connection.key_prefix == new.secret[:10]
    assert connection.key_hash == services.api_key_hash(new.secret)
    assert new.secret not in {f.value_to_string(connection) for f in Connection._meta.fields}
    assert connection.scope_set == {"read", "admin"}
    assert selectors.connection_for_api_key(new.secret) == connection
    assert selectors.connection_for_api_key(new.secret + "x") is None
    assert selectors.connection_for_api_key("not-a-key") is None
    event = AuditEvent.objects.get(action="api_key.create")
    assert new.secret not in str(event.detail)


@pytest.mark.parametrize(
    ("role", "requested", "granted"),
    [
        (Role.MEMBER, {"read", "write", "admin"}, {"read", "write"}),
        (Role.MANAGER, {"read", "admin"}, {"read"}),
        (Role.ADMIN, {"read", "write", "admin"}, {"read", "write", "admin"}),
        (Role.OWNER, {"admin"}, {"admin"}),
    ],
)
def test_scopes_the_role_cannot_use_are_not_granted(role, requested, granted):
    assert services.granted_scopes(role=role, requested=requested) == granted


def test_api_key_validation(as_member, as_admin):
    with pytest.raises(Invalid, match="Unknown scope"):
        services.api_key_create(actor=as_member, label="k", scopes=["root"])
    with pytest.raises(Invalid, match="name"):
        services.api_key_create(actor=as_member, label="  ")
    with pytest.raises(Invalid, match="None of the requested scopes"):
        services.api_key_create(actor=as_member, label="k", scopes=["admin"])
    with pytest.raises(Forbidden, match="sensitive"):
        services.api_key_create(actor=as_member, label="k", allow_sensitive=True)
    with pytest.raises(Invalid, match="future"):
        services.api_key_create(actor=as_admin, label="k", expires_at=timezone.now() - timedelta(minutes=1))
    assert not Connection.objects.exists()


# --- who a connection acts as -----------------------------------------------------------------


def test_a_live_connection_acts_as_its_member_with_scopes_cut_to_the_role(member):
    connection = ConnectionFactory(membership=member, scopes="read write admin")
    principal = selectors.connection_principal(connection)
    assert principal is not None
    assert (principal.user, principal.membership, principal.connection) == (member.user, member, connection)
    assert principal.scopes == {"read", "write"}


def _stop_revoked(connection):
    connection.revoked_at = timezone.now()
    connection.save()


def _stop_membership_deactivated(connection):
    connection.user.memberships.update(is_active=False)


def _stop_membership_removed(connection):
    connection.user.memberships.all().delete()


def _stop_user_disabled(connection):
    connection.user.is_active = False
    connection.user.save()


def _stop_workspace_deactivated(connection):
    connection.workspace.is_active = False
    connection.workspace.save()


def _stop_expired(connection):
    connection.expires_at = timezone.now() - timedelta(seconds=1)
    connection.save()


@pytest.mark.parametrize(
    "stop",
    [
        _stop_revoked,
        _stop_membership_deactivated,
        _stop_membership_removed,
        _stop_user_disabled,
        _stop_workspace_deactivated,
        _stop_expired,
    ],
)
def test_access_stops_on_the_next_lookup(member, stop):
    connection = ConnectionFactory(membership=member)
    assert selectors.connection_principal(connection) is not None
    stop(connection)
    fresh = Connection.objects.select_related("user", "workspace").get(pk=connection.pk)
    assert selectors.connection_principal(fresh) is None


# --- revocation -------------------------------------------------------------------------------


def test_revoking_kills_every_token_of_the_connection_and_only_those(as_member, member):
    connection = ConnectionFactory(membership=member)
    other = ConnectionFactory(membership=member)
    for _ in range(3):
        OAuthRefreshTokenFactory(access_token=OAuthAccessTokenFactory(connection=connection))
    kept = OAuthRefreshTokenFactory(access_token=OAuthAccessTokenFactory(connection=other))

    services.connection_revoke(actor=as_member, connection=connection)

    connection.refresh_from_db()
    assert connection.revoked_at is not None
    assert connection.revoked_by == member.user
    assert not OAuthAccessToken.objects.filter(connection=connection).exists()
    assert OAuthRefreshToken.objects.filter(connection=connection, revoked__isnull=True).count() == 0
    assert OAuthAccessToken.objects.filter(pk=kept.access_token_id).exists()
    event = AuditEvent.objects.get(action="connection.revoke")
    assert event.detail == {"access_tokens_deleted": 3, "refresh_tokens_revoked": 3}
    with pytest.raises(Conflict):
        services.connection_revoke(actor=as_member, connection=connection)


def test_who_may_revoke(as_member, as_manager, as_admin, other_member, make_principal):
    theirs = ConnectionFactory(membership=other_member)
    with pytest.raises(Forbidden):
        services.connection_revoke(actor=as_member, connection=theirs)
    with pytest.raises(Forbidden):
        services.connection_revoke(actor=as_manager, connection=theirs)
    services.connection_revoke(actor=as_admin, connection=theirs)
    stranger = ConnectionFactory()
    with pytest.raises(NotFound):
        services.connection_revoke(actor=as_admin, connection=stranger)


def test_connection_list_shows_own_connections_and_admins_all(as_member, as_admin, member, other_member):
    mine = ConnectionFactory(membership=member)
    theirs = ConnectionFactory(membership=other_member)
    ConnectionFactory()  # another workspace
    assert list(selectors.connection_list(actor=as_member)) == [mine]
    assert set(selectors.connection_list(actor=as_admin)) == {mine, theirs}


def test_the_admin_action_revokes_selected_connections(client, member):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    connection = ConnectionFactory(membership=member)
    token = OAuthAccessTokenFactory(connection=connection)
    response = client.post(
        reverse("admin:workspaces_connection_changelist"),
        {"action": "revoke_selected", "_selected_action": [connection.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Revoked 1 connection" in response.content.decode()
    connection.refresh_from_db()
    assert connection.revoked_by == staff
    assert not OAuthAccessToken.objects.filter(pk=token.pk).exists()
    event = AuditEvent.objects.get(action="connection.revoke")
    assert (event.channel, event.actor, event.workspace) == ("admin", staff, member.workspace)
