"""Who may open which time page: exact statuses, as the REST API answers them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory, TimeEntryFactory, TimesheetFactory, WorkspaceFactory
from timesheets.models import TimesheetStatus
from workspaces.models import AuditEvent, Outcome, Role
from workspaces.web import NAVIGATION

pytestmark = pytest.mark.django_db

PAGES = ["dashboard", "week", "entries", "review-queue"]


@pytest.mark.parametrize("name", [*PAGES, "approvals"])
def test_anonymous_is_sent_to_sign_in(client, workspace, name):
    response = client.get(reverse(name, args=[workspace.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", [*PAGES, "approvals"])
def test_another_workspace_is_not_found(member_client, name):
    WorkspaceFactory(slug="globex")
    assert member_client.get(reverse(name, args=["globex"])).status_code == 404


@pytest.mark.parametrize("name", PAGES)
def test_a_member_opens_their_pages(member_client, workspace, name):
    assert member_client.get(reverse(name, args=[workspace.slug])).status_code == 200


def test_a_member_cannot_open_approvals_and_the_refusal_is_audited(member_client, workspace, member):
    assert member_client.get(reverse("approvals", args=[workspace.slug])).status_code == 403
    event = AuditEvent.objects.get(action="web.denied")
    assert (event.actor_id, event.outcome, event.detail["needs"]) == (
        member.user_id,
        Outcome.DENIED,
        "timesheet.decide",
    )


def test_a_member_cannot_decide_a_week(member_client, workspace, other_member):
    sheet = TimesheetFactory(member=other_member, status=TimesheetStatus.SUBMITTED)
    for action in ("timesheet-approve", "timesheet-reject"):
        response = member_client.post(reverse(action, args=[workspace.slug, sheet.pk]), {f"r{sheet.pk}-reason": "x"})
        assert response.status_code == 403
    sheet.refresh_from_db()
    assert sheet.status == TimesheetStatus.SUBMITTED


def test_a_member_cannot_see_another_members_entries(member_client, workspace, other_member, project):
    theirs = TimeEntryFactory(member=other_member, project=project, description="their secret")
    # Their entry by id answers as a missing one does (404), as GET /time-entries/<id> does.
    assert member_client.get(reverse("entry-edit", args=[workspace.slug, theirs.pk])).status_code == 404
    assert member_client.get(reverse("entry-row", args=[workspace.slug, theirs.pk])).status_code == 404
    # Asking the list or the week for them is refused (403), as ?member= is in the API.
    assert member_client.get(reverse("entries", args=[workspace.slug]), {"member": other_member.pk}).status_code == 403
    assert member_client.get(reverse("week", args=[workspace.slug]), {"member": other_member.pk}).status_code == 403
    export = member_client.get(reverse("entries-export", args=[workspace.slug, "csv"]), {"member": other_member.pk})
    assert export.status_code == 403
    # And their entries never appear in the member's own list or export.
    assert b"their secret" not in member_client.get(reverse("entries", args=[workspace.slug])).content
    own_export = member_client.get(reverse("entries-export", args=[workspace.slug, "csv"]))
    assert b"their secret" not in b"".join(own_export.streaming_content)


def test_another_workspaces_entry_is_not_found_even_to_its_owner(client, workspace):
    elsewhere = MembershipFactory(workspace=WorkspaceFactory(slug="globex"), role=Role.OWNER)
    entry = TimeEntryFactory(member=elsewhere)
    client.force_login(MembershipFactory(workspace=workspace, role=Role.OWNER, user=elsewhere.user).user)
    assert client.get(reverse("entry-edit", args=[workspace.slug, entry.pk])).status_code == 404


def test_navigation_shows_what_the_role_may_open(client, workspace, member, manager):
    client.force_login(member.user)
    labels = [item["label"] for item in client.get(reverse("dashboard", args=[workspace.slug])).context["nav"]]
    assert "Approvals" not in labels
    assert "Settings" not in labels
    assert {"Dashboard", "Week", "Entries", "Review queue"} <= set(labels)
    client.force_login(manager.user)
    labels = [item["label"] for item in client.get(reverse("dashboard", args=[workspace.slug])).context["nav"]]
    assert "Approvals" in labels
    assert "Settings" not in labels


def test_every_navigation_link_resolves(workspace):
    for item in NAVIGATION:
        assert reverse(item.url_name, args=[workspace.slug]).startswith(f"/w/{workspace.slug}/")
