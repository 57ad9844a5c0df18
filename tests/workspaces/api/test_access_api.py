"""REST: connections (list, revoke), the caller's API keys (create once-shown, revoke) and audit events."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import (
    AuditEventFactory,
    ConnectionFactory,
    MembershipFactory,
    OAuthAccessTokenFactory,
    OAuthRefreshTokenFactory,
    WorkspaceFactory,
)
from workspaces.audit_selectors import CSV_COLUMNS
from workspaces.models import (
    AuditEvent,
    Channel,
    Connection,
    ConnectionKind,
    IdempotencyRecord,
    OAuthAccessToken,
    Outcome,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/workspaces/acme"


# --- connections -----------------------------------------------------------------------------------


def test_admins_see_every_connection_of_the_workspace_and_others_their_own(api_as, admin, member, manager):
    oauth = ConnectionFactory(membership=member, label="", scopes="write read", application__name="Claude")
    ConnectionFactory(membership=manager)
    ConnectionFactory(membership=MembershipFactory(workspace=WorkspaceFactory(slug="globex")))
    ConnectionFactory(membership=member, revoked_at=timezone.now())

    members_view = api_as(member).get(f"{BASE}/connections").json()["results"]
    admins_view = api_as(admin).get(f"{BASE}/connections").json()["results"]

    own = [c for c in members_view if c["kind"] == "oauth"]
    assert own == [
        {
            "id": oauth.pk,
            "kind": "oauth",
            "label": "",
            "user": "member",
            "client_name": "Claude",
            "scopes": ["read", "write"],
            "allow_sensitive": False,
            "created_at": own[0]["created_at"],
            "last_used_at": None,
            "expires_at": None,
            "revoked_at": None,
        }
    ]
    assert {c["user"] for c in members_view} == {"member"}  # and the member's own key
    assert {(c["user"], c["kind"]) for c in admins_view} == {
        ("member", "oauth"),
        ("member", "api_key"),
        ("manager", "oauth"),
        ("admin", "api_key"),
    }
    with_revoked = api_as(admin).get(f"{BASE}/connections", {"include_revoked": "true"}).json()["results"]
    assert len(with_revoked) == len(admins_view) + 2  # the revoked grant, and the admin key made for this call


def test_an_admin_revokes_a_connection_and_every_token_of_it(api_as, admin, member):
    connection = ConnectionFactory(membership=member)
    token = OAuthAccessTokenFactory(connection=connection)
    refresh = OAuthRefreshTokenFactory(access_token=token)

    response = api_as(admin).post(f"{BASE}/connections/{connection.pk}/revoke")

    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    connection.refresh_from_db()
    refresh.refresh_from_db()
    assert connection.revoked_by == admin.user
    assert refresh.revoked is not None
    assert not OAuthAccessToken.objects.filter(pk=token.pk).exists()
    again = api_as(admin).post(f"{BASE}/connections/{connection.pk}/revoke")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_revoking_a_connection_stops_it_on_its_next_request(api_as, admin, member):
    member_api = api_as(member)
    assert member_api.get(f"{BASE}/members").status_code == 200
    key = Connection.objects.get(user=member.user, kind=ConnectionKind.API_KEY)

    assert api_as(admin).post(f"{BASE}/connections/{key.pk}/revoke").status_code == 200

    after = member_api.get(f"{BASE}/members")
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "invalid_token"


def test_people_revoke_their_own_connections_through_a_connection_only_admins_do(
    api_as, session_as, admin, member, manager
):
    own = ConnectionFactory(membership=member)
    read_only = api_as(member, scopes=("read",)).post(f"{BASE}/connections/{own.pk}/revoke")
    assert read_only.status_code == 403
    assert read_only.json()["error"]["code"] == "insufficient_scope"
    by_key = api_as(member, scopes=("read", "write")).post(f"{BASE}/connections/{own.pk}/revoke")
    assert by_key.status_code == 403  # through a connection, revoking is an admin act (admin scope)
    assert by_key.json()["error"]["code"] == "insufficient_scope"
    assert session_as(member).post(f"{BASE}/connections/{own.pk}/revoke").status_code == 200
    own.refresh_from_db()
    assert own.revoked_at is not None

    someone_elses = ConnectionFactory(membership=manager)
    response = api_as(member, scopes=("read", "write")).post(f"{BASE}/connections/{someone_elses.pk}/revoke")
    assert response.status_code == 404  # not visible to a member, so not found
    assert api_as(admin).post(f"{BASE}/connections/{someone_elses.pk}/revoke").status_code == 200

    elsewhere = ConnectionFactory(membership=MembershipFactory(workspace=WorkspaceFactory(slug="globex")))
    response = api_as(admin).post(f"{BASE}/connections/{elsewhere.pk}/revoke")
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "Connection not found.", "fields": {}}
    elsewhere.refresh_from_db()
    assert elsewhere.revoked_at is None


@pytest.mark.parametrize("rows", [1, 50])
def test_the_connection_list_costs_the_same_queries_for_1_and_50_rows(
    api_as, admin, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        ConnectionFactory(membership=MembershipFactory(workspace=admin.workspace))
    api = api_as(admin)
    with django_assert_max_num_queries(8):
        response = api.get(f"{BASE}/connections", {"limit": 200})
    assert len(response.json()["results"]) == rows + 1  # and the admin's own key


# --- API keys --------------------------------------------------------------------------------------


def test_a_signed_in_person_creates_a_key_whose_secret_is_shown_once_and_works(session_as, member, workspace):
    response = session_as(member).post(
        f"{BASE}/api-keys", {"label": "Nightly export", "scopes": ["read", "admin"]}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    key = Connection.objects.get(pk=body["id"])
    assert (key.kind, key.user, key.workspace, key.scopes) == (ConnectionKind.API_KEY, member.user, workspace, "read")
    assert body["secret"].startswith("tt_")
    assert body["key_prefix"] == body["secret"][:10] == key.key_prefix
    assert body["scopes"] == ["read"]  # admin is beyond a member's role: not granted
    assert body["secret"] not in str(key.__dict__)
    assert AuditEvent.objects.filter(action="api_key.create", target_id=str(key.pk)).count() == 1

    with_key = APIClient()
    with_key.credentials(HTTP_AUTHORIZATION=f"Bearer {body['secret']}")
    assert with_key.get(f"{BASE}/members").status_code == 200


def test_an_idempotent_replay_never_stores_or_shows_the_secret_again(session_as, admin):
    api = session_as(admin)
    first = api.post(f"{BASE}/api-keys", {"label": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    again = api.post(f"{BASE}/api-keys", {"label": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["secret"].startswith("tt_")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == {**first.json(), "secret": None}
    record = IdempotencyRecord.objects.get(key="key-1")
    assert record.response_body == {**first.json(), "secret": None}
    assert Connection.objects.filter(user=admin.user, label="ci").count() == 1


def test_keys_are_not_made_by_another_connection_and_input_is_checked(api_as, session_as, member, admin):
    by_key = api_as(admin).post(f"{BASE}/api-keys", {"label": "child"}, format="json")
    assert by_key.status_code == 403
    assert by_key.json()["error"]["code"] == "forbidden"

    api = session_as(member)
    sensitive = api.post(f"{BASE}/api-keys", {"label": "x", "allow_sensitive": True}, format="json")
    assert sensitive.status_code == 403
    past = api.post(
        f"{BASE}/api-keys",
        {"label": "x", "expires_at": (timezone.now() - timedelta(days=1)).isoformat()},
        format="json",
    )
    assert past.status_code == 400
    assert set(past.json()["error"]["fields"]) == {"expires_at"}
    bad = api.post(f"{BASE}/api-keys", {"label": "x", "scopes": ["root"], "key_hash": "x"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"scopes"}
    assert not Connection.objects.filter(label__in=["child", "x"]).exists()


def test_the_key_list_is_the_callers_own_and_revoke_takes_only_those(api_as, session_as, admin, member):
    api_as(member)  # the member's key
    api = session_as(admin)
    mine = api.post(f"{BASE}/api-keys", {"label": "mine"}, format="json").json()
    members_key = Connection.objects.get(user=member.user)

    listed = api.get(f"{BASE}/api-keys").json()["results"]
    assert [k["label"] for k in listed] == ["mine"]
    assert "secret" not in listed[0]

    not_mine = api.post(f"{BASE}/api-keys/{members_key.pk}/revoke")
    assert not_mine.status_code == 404
    assert not_mine.json()["error"]["message"] == "API key not found."
    revoked = api.post(f"{BASE}/api-keys/{mine['id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert api.get(f"{BASE}/api-keys").json()["results"] == []
    assert len(api.get(f"{BASE}/api-keys", {"include_revoked": "1"}).json()["results"]) == 1
    members_key.refresh_from_db()
    assert members_key.revoked_at is None


@pytest.mark.parametrize("rows", [1, 50])
def test_the_key_list_costs_the_same_queries_for_1_and_50_rows(
    api_as, session_as, member, rows, django_assert_max_num_queries
):
    for _ in range(rows - 1):
        api_as(member)
    api = api_as(member)
    with django_assert_max_num_queries(8):
        response = api.get(f"{BASE}/api-keys", {"limit": 200})
    assert len(response.json()["results"]) == rows


# --- audit events ----------------------------------------------------------------------------------


@pytest.fixture
def trail(workspace, member):
    """Three events here, one in another workspace (created in order, oldest first)."""
    now = timezone.now()
    return [
        AuditEventFactory(
            workspace=workspace, actor=member.user, action="time_entry.create", created_at=now - timedelta(days=3)
        ),
        AuditEventFactory(
            workspace=workspace,
            actor=None,
            action="client.update",
            outcome=Outcome.DENIED,
            channel=Channel.MCP,
            created_at=now - timedelta(days=2),
        ),
        AuditEventFactory(
            workspace=workspace,
            actor=member.user,
            action="time_entry.update",
            detail={"fields": ["note"]},
            created_at=now - timedelta(days=1),
        ),
        AuditEventFactory(workspace=WorkspaceFactory(slug="globex"), action="time_entry.create", created_at=now),
    ]


def test_admins_page_through_the_workspaces_events_newest_first(api_as, admin, member, trail):
    api = api_as(admin)  # its key's creation (and each read) is audited today: ``until`` leaves them out
    yesterday = timezone.localtime(trail[2].created_at, admin.workspace.tzinfo).date()
    first = api.get(f"{BASE}/audit-events", {"limit": 2, "until": yesterday.isoformat()})
    assert first.status_code == 200
    page = first.json()
    assert [e["id"] for e in page["results"]] == [str(trail[2].id), str(trail[1].id)]
    assert page["results"][0] == {
        "id": str(trail[2].id),
        "created_at": page["results"][0]["created_at"],
        "channel": "web",
        "action": "time_entry.update",
        "outcome": "ok",
        "actor": "member",
        "connection_id": None,
        "connection": None,
        "target_type": "",
        "target_id": "",
        "target": "",
        "ip": None,
        "user_agent": "",
        "request_id": "",
        "duration_ms": None,
        "detail": {"fields": ["note"]},
    }
    rest = api.get(page["next"]).json()
    assert [e["id"] for e in rest["results"]] == [str(trail[0].id)]
    assert rest["next"] is None
    everything = api.get(f"{BASE}/audit-events", {"limit": 200}).json()["results"]
    assert str(trail[3].id) not in {e["id"] for e in everything}
    assert {e["action"] for e in everything} >= {"api_key.create", "audit_event.read"}


def test_audit_filters_apply_and_never_widen_past_the_workspace(api_as, admin, member, trail):
    api = api_as(admin)

    def ids(**query):
        response = api.get(f"{BASE}/audit-events", query)
        assert response.status_code == 200, response.content
        return [e["id"] for e in response.json()["results"]]

    assert ids(action="time_entry.") == [str(trail[2].id), str(trail[0].id)]
    assert ids(outcome="denied", channel="mcp") == [str(trail[1].id)]
    assert ids(actor=member.user.pk, action="time_entry.c") == [str(trail[0].id)]
    day = timezone.localtime(trail[1].created_at, admin.workspace.tzinfo).date()
    assert ids(since=day.isoformat(), until=day.isoformat()) == [str(trail[1].id)]

    stranger = trail[3]
    foreign = api.get(f"{BASE}/audit-events", {"actor": stranger.actor_id})
    assert foreign.status_code == 400
    assert set(foreign.json()["error"]["fields"]) == {"actor"}
    bad = api.get(f"{BASE}/audit-events", {"outcome": "maybe", "since": "yesterday"})
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"outcome", "since"}
    blank = api.get(f"{BASE}/audit-events", {"action": "", "actor": ""})
    assert blank.status_code == 400
    assert set(blank.json()["error"]["fields"]) == {"action", "actor"}


def test_the_audit_trail_downloads_as_csv_with_the_filters(api_as, admin, member, trail):
    response = api_as(admin).get(f"{BASE}/audit-events", {"format": "csv", "action": "time_entry."})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-acme-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r[0], r[3], r[5]) for r in rows[1:]] == [
        (str(trail[2].id), "time_entry.update", "member"),
        (str(trail[0].id), "time_entry.create", "member"),
    ]
    assert api_as(admin).get(f"{BASE}/audit-events", {"format": "pdf"}).status_code == 400


def test_the_audit_trail_is_read_only(api_as, admin, trail):
    api = api_as(admin)
    for method in ("post", "patch", "put", "delete"):
        response = getattr(api, method)(f"{BASE}/audit-events", {"action": "forged"}, format="json")
        assert response.status_code == 405, method
        assert response.json()["error"]["code"] == "method_not_allowed"
    assert not AuditEvent.objects.filter(action="forged").exists()


@pytest.mark.parametrize("rows", [1, 50])
def test_the_audit_list_costs_the_same_queries_for_1_and_50_rows(
    api_as, admin, workspace, rows, django_assert_max_num_queries
):
    connection = ConnectionFactory(membership=admin)
    AuditEventFactory.create_batch(rows, workspace=workspace, connection=connection, action="bulk.row")
    api = api_as(admin)
    with django_assert_max_num_queries(8):
        response = api.get(f"{BASE}/audit-events", {"limit": 200, "action": "bulk."})
    assert len(response.json()["results"]) == rows
    assert all(e["connection"] for e in response.json()["results"])
