"""REST: members (list, invite, read, PATCH with If-Match, deactivate) and /api/v1/workspaces."""

from decimal import Decimal

import pytest

from tests.factories import MembershipFactory, TimeEntryFactory, UserFactory, WorkspaceFactory
from workspaces.models import AuditEvent, Membership, Role, User

pytestmark = pytest.mark.django_db

MEMBERS = "/api/v1/workspaces/acme/members"


@pytest.fixture
def priced(workspace) -> Membership:
    return MembershipFactory(
        workspace=workspace,
        user__username="priced",
        user__first_name="Pat",
        user__last_name="Price",
        billable_rate=Decimal("120"),
        cost_rate=Decimal("55.50"),
        weekly_capacity_hours=Decimal("32"),
    )


# --- the list --------------------------------------------------------------------------------------


def test_members_list_everyone_active_with_cost_rates_redacted_for_a_manager(api_as, manager, member, priced):
    MembershipFactory(workspace=priced.workspace, user__username="gone", is_active=False)
    MembershipFactory(user__username="elsewhere")  # another workspace

    body = api_as(manager).get(MEMBERS).json()

    by_name = {row["username"]: row for row in body["results"]}
    assert set(by_name) == {"manager", "member", "priced"}
    assert by_name["priced"] == {
        "id": priced.pk,
        "username": "priced",
        "name": "Pat Price",
        "email": "priced@example.test",
        "role": "member",
        "is_active": True,
        "weekly_capacity_hours": "32.00",
        "billable_rate": "120.00",
        "cost_rate": None,
        "redacted": ["cost_rate"],
    }


def test_a_member_sees_the_list_too(api_as, member, priced):
    body = api_as(member).get(MEMBERS).json()
    assert {row["username"] for row in body["results"]} == {"member", "priced"}
    assert all(row["cost_rate"] is None for row in body["results"])


def test_an_admin_sees_cost_rates_only_over_a_key_that_allows_sensitive_data(api_as, admin, priced):
    shown = api_as(admin).get(f"{MEMBERS}/{priced.pk}").json()
    assert (shown["cost_rate"], shown["redacted"]) == ("55.50", [])

    hidden = api_as(admin, allow_sensitive=False).get(f"{MEMBERS}/{priced.pk}").json()
    assert (hidden["cost_rate"], hidden["redacted"]) == (None, ["cost_rate"])


def test_include_inactive_lists_deactivated_members(api_as, admin):
    MembershipFactory(workspace=admin.workspace, user__username="gone", is_active=False)
    api = api_as(admin)
    assert {r["username"] for r in api.get(MEMBERS).json()["results"]} == {"admin"}
    listed = api.get(MEMBERS, {"include_inactive": "true"}).json()["results"]
    assert {r["username"]: r["is_active"] for r in listed} == {"admin": True, "gone": False}
    bad = api.get(MEMBERS, {"include_inactive": "maybe"})
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"include_inactive": ["Use true or false."]}


@pytest.mark.parametrize("rows", [1, 50])
def test_the_member_list_costs_the_same_queries_for_1_and_50_rows(api_as, admin, rows, django_assert_max_num_queries):
    MembershipFactory.create_batch(rows - 1, workspace=admin.workspace)
    api = api_as(admin)
    # the key, its membership, the page; then the read's audit event and the key's last use (5)
    with django_assert_max_num_queries(8):
        response = api.get(MEMBERS, {"limit": 200})
    assert len(response.json()["results"]) == rows


def test_another_workspaces_member_is_not_found(api_as, admin):
    stranger = MembershipFactory(user__username="stranger")
    response = api_as(admin).get(f"{MEMBERS}/{stranger.pk}")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Member not found.", "fields": {}}}


# --- invite ----------------------------------------------------------------------------------------


def test_an_admin_invites_by_email_and_a_login_is_made(api_as, admin, workspace):
    response = api_as(admin).post(
        f"{MEMBERS}/invite", {"email": " New@Example.TEST ", "role": "manager"}, format="json"
    )

    assert response.status_code == 201
    user = User.objects.get(email="new@example.test")
    membership = Membership.objects.get(user=user, workspace=workspace)
    assert response.json()["id"] == membership.pk
    assert (response.json()["username"], response.json()["role"]) == ("new@example.test", "manager")
    assert not user.has_usable_password()
    assert set(AuditEvent.objects.filter(target_id=str(membership.pk)).values_list("action", flat=True)) == {
        "member.add",
        "member.invite",
    }


def test_inviting_a_member_again_is_a_conflict_and_bad_input_is_named(api_as, admin, member):
    api = api_as(admin)
    again = api.post(f"{MEMBERS}/invite", {"email": member.user.email}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"

    bad = api.post(f"{MEMBERS}/invite", {"email": "not-an-email", "role": "boss", "workspace": 1}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"email", "role"}
    unknown = api.post(f"{MEMBERS}/invite", {"email": "x@example.test", "workspace": 1}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"] == {"workspace": ["Unknown or read-only field."]}


def test_only_an_owner_invites_an_owner(api_as, admin, owner):
    body = {"email": "boss@example.test", "role": "owner"}
    refused = api_as(admin).post(f"{MEMBERS}/invite", body, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert not User.objects.filter(email="boss@example.test").exists()
    assert api_as(owner).post(f"{MEMBERS}/invite", body, format="json").status_code == 201


# --- PATCH -----------------------------------------------------------------------------------------


def test_patch_changes_role_capacity_and_rates_with_if_match(api_as, admin, priced):
    api = api_as(admin)
    etag = api.get(f"{MEMBERS}/{priced.pk}")["ETag"]

    response = api.patch(
        f"{MEMBERS}/{priced.pk}",
        {"role": "manager", "weekly_capacity_hours": "20", "cost_rate": "60"},
        format="json",
        HTTP_IF_MATCH=etag,
    )

    assert response.status_code == 200
    assert (response.json()["role"], response.json()["weekly_capacity_hours"], response.json()["cost_rate"]) == (
        "manager",
        "20.00",
        "60.00",
    )
    priced.refresh_from_db()
    assert (priced.role, priced.weekly_capacity_hours, priced.cost_rate) == (
        Role.MANAGER,
        Decimal("20"),
        Decimal("60"),
    )
    assert response["ETag"] != etag


def test_a_stale_if_match_is_412_and_changes_nothing(api_as, admin, priced):
    api = api_as(admin)
    etag = api.get(f"{MEMBERS}/{priced.pk}")["ETag"]
    Membership.objects.filter(pk=priced.pk).update(weekly_capacity_hours=Decimal("10"))

    response = api.patch(f"{MEMBERS}/{priced.pk}", {"role": "manager"}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 412
    assert response.json()["error"]["code"] == "precondition_failed"
    priced.refresh_from_db()
    assert (priced.role, priced.weekly_capacity_hours) == (Role.MEMBER, Decimal("10"))


def test_a_cost_rate_needs_sensitive_access_and_the_whole_patch_is_refused(api_as, admin, priced):
    response = api_as(admin, allow_sensitive=False).patch(
        f"{MEMBERS}/{priced.pk}", {"role": "manager", "cost_rate": "1"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "sensitive" in response.json()["error"]["message"]
    priced.refresh_from_db()
    assert (priced.role, priced.cost_rate) == (Role.MEMBER, Decimal("55.50"))


def test_an_admin_cannot_make_an_owner_and_the_last_owner_stays(api_as, admin, owner, priced):
    refused = api_as(admin).patch(f"{MEMBERS}/{priced.pk}", {"role": "owner"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"

    last = api_as(owner).patch(f"{MEMBERS}/{owner.pk}", {"role": "admin"}, format="json")
    assert last.status_code == 409
    assert last.json()["error"]["code"] == "conflict"
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_patch_names_unknown_and_invalid_fields(api_as, admin, priced):
    api = api_as(admin)
    unknown = api.patch(f"{MEMBERS}/{priced.pk}", {"is_active": False, "user": 1}, format="json")
    assert unknown.status_code == 400
    assert set(unknown.json()["error"]["fields"]) == {"is_active", "user"}
    invalid = api.patch(f"{MEMBERS}/{priced.pk}", {"weekly_capacity_hours": "-1", "role": "boss"}, format="json")
    assert invalid.status_code == 400
    assert set(invalid.json()["error"]["fields"]) == {"weekly_capacity_hours", "role"}
    priced.refresh_from_db()
    assert (priced.is_active, priced.weekly_capacity_hours) == (True, Decimal("32"))


# --- deactivate ------------------------------------------------------------------------------------


def test_deactivating_stops_the_running_timer_and_the_members_access(api_as, admin, priced):
    running = TimeEntryFactory(member=priced, ended_at=None, duration_seconds=None)
    members_api = api_as(priced)

    response = api_as(admin).post(f"{MEMBERS}/{priced.pk}/deactivate")

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    running.refresh_from_db()
    assert running.ended_at is not None
    after = members_api.get(MEMBERS)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "invalid_token"


def test_the_last_owner_cannot_be_deactivated(api_as, owner):
    response = api_as(owner).post(f"{MEMBERS}/{owner.pk}/deactivate")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


# --- /api/v1/workspaces ----------------------------------------------------------------------------


def test_a_session_lists_its_active_memberships(session_as, member):
    other = WorkspaceFactory(name="Beta Works", slug="beta")
    MembershipFactory(user=member.user, workspace=other, role=Role.ADMIN)
    MembershipFactory(user=member.user, workspace=WorkspaceFactory(slug="left"), is_active=False)
    MembershipFactory(user=member.user, workspace=WorkspaceFactory(slug="closed", is_active=False))
    MembershipFactory(workspace=WorkspaceFactory(slug="not-mine"))

    body = session_as(member).get("/api/v1/workspaces").json()

    assert body["next"] is None
    assert body["results"] == [
        {"slug": "acme", "name": "Acme Studio", "role": "member", "timezone": "Europe/Berlin", "currency": "EUR"},
        {"slug": "beta", "name": "Beta Works", "role": "admin", "timezone": "Europe/Berlin", "currency": "EUR"},
    ]


def test_a_connection_lists_only_its_own_workspace(api_as, member):
    MembershipFactory(user=member.user, workspace=WorkspaceFactory(slug="beta"), role=Role.OWNER)
    body = api_as(member).get("/api/v1/workspaces").json()
    assert [row["slug"] for row in body["results"]] == ["acme"]


def test_anonymous_is_401_on_the_workspace_list(client):
    response = client.get("/api/v1/workspaces")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("rows", [1, 50])
def test_the_workspace_list_costs_the_same_queries_for_1_and_50_rows(session_as, rows, django_assert_max_num_queries):
    user = UserFactory(username="many")
    for _ in range(rows):
        MembershipFactory(user=user)
    api = session_as(Membership.objects.filter(user=user).first())
    with django_assert_max_num_queries(7):
        response = api.get("/api/v1/workspaces", {"limit": 200})
    assert len(response.json()["results"]) == rows
