"""Settings pages: the workspace and its lock date, members and roles (invite, role, capacity,
rates, deactivate), and rates — each saved in the database, each with its form errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import MembershipFactory, ProjectFactory
from tests.workspaces.web.conftest import form_errors
from workspaces.models import AuditEvent, Membership, Role, User, Workspace

pytestmark = pytest.mark.django_db

SETTINGS = reverse("settings", args=["acme"])
LOCK = reverse("settings-lock-date", args=["acme"])
MEMBERS = reverse("settings-members", args=["acme"])
INVITE = reverse("member-invite", args=["acme"])
RATES = reverse("settings-rates", args=["acme"])


def edit_url(member: Membership) -> str:
    return reverse("member-edit", args=["acme", member.pk])


def workspace_data(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "Acme Studio",
        "timezone": "Europe/Berlin",
        "currency": "EUR",
        "week_start": "0",
        "default_billable": "on",
        "overlap_policy": "allow",
        "agent_nonbillable_policy": "direct",
        "agent_billable_policy": "draft",
        "api_enabled": "on",
        "mcp_enabled": "on",
        "audit_retention_days": "400",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def member_data(member: Membership, **changes: Any) -> dict[str, Any]:
    data = {"role": member.role, "weekly_capacity_hours": str(member.weekly_capacity_hours)}
    data.update(changes)
    return data


# --- the workspace -------------------------------------------------------------------------------


def test_the_settings_pages_link_to_each_other_the_audit_log_and_connected_apps(as_admin_browser, workspace, member):
    for address in (SETTINGS, MEMBERS, RATES, edit_url(member)):
        html = as_admin_browser.get(address).content.decode()
        for link in (SETTINGS, MEMBERS, RATES, reverse("audit-log", args=["acme"]), reverse("account-connections")):
            assert f'href="{link}"' in html, (address, link)


def test_the_form_shows_the_current_settings(as_admin_browser, workspace):
    form = as_admin_browser.get(SETTINGS).context["form"]
    assert form.initial["timezone"] == "Europe/Berlin"
    assert form.initial["audit_retention_days"] == 400


def test_an_admin_updates_the_workspace(as_admin_browser, workspace):
    response = as_admin_browser.post(
        SETTINGS,
        workspace_data(
            name="Acme GmbH",
            timezone="America/New_York",
            currency="usd",
            week_start="6",
            default_billable=None,
            overlap_policy="forbid",
            agent_nonbillable_policy="draft",
            agent_billable_policy="forbid",
            api_enabled=None,
            mcp_enabled=None,
            audit_retention_days="90",
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == SETTINGS
    workspace.refresh_from_db()
    assert (workspace.name, workspace.timezone, workspace.currency, workspace.week_start) == (
        "Acme GmbH",
        "America/New_York",
        "USD",
        6,
    )
    assert (workspace.default_billable, workspace.overlap_policy) == (False, "forbid")
    assert (workspace.agent_nonbillable_policy, workspace.agent_billable_policy) == ("draft", "forbid")
    assert (workspace.api_enabled, workspace.mcp_enabled, workspace.audit_retention_days) == (False, False, 90)
    assert AuditEvent.objects.filter(action="workspace.update", workspace=workspace).exists()
    assert "Workspace settings saved." in as_admin_browser.get(SETTINGS).content.decode()


def test_workspace_form_errors_are_shown_next_to_the_fields(as_admin_browser, workspace):
    short_retention = as_admin_browser.post(SETTINGS, workspace_data(audit_retention_days="10"))
    bad_zone = as_admin_browser.post(SETTINGS, workspace_data(timezone="Mars/Olympus"))
    bad_currency = as_admin_browser.post(SETTINGS, workspace_data(currency="E1X", name="Changed"))

    assert short_retention.status_code == bad_zone.status_code == bad_currency.status_code == 400
    assert form_errors(short_retention) == {
        "audit_retention_days": ["Ensure this value is greater than or equal to 30."]
    }
    assert list(form_errors(bad_zone)) == ["timezone"]
    # The model's own check, raised by the service and put back on the field.
    assert form_errors(bad_currency)["currency"] == ["Use a three-letter ISO 4217 code, e.g. 'EUR'."]
    workspace.refresh_from_db()
    assert (workspace.name, workspace.currency, workspace.audit_retention_days) == ("Acme Studio", "EUR", 400)


def test_an_admin_sets_and_lifts_the_lock_date(as_admin_browser, workspace):
    response = as_admin_browser.post(LOCK, {"lock_date": "2026-03-31"})
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.lock_date == date(2026, 3, 31)
    assert "Entries on or before 31 Mar 2026 are now locked." in as_admin_browser.get(SETTINGS).content.decode()

    as_admin_browser.post(LOCK, {"lock_date": ""})
    workspace.refresh_from_db()
    assert workspace.lock_date is None
    assert AuditEvent.objects.filter(action="workspace.lock_date").count() == 2


def test_a_bad_lock_date_is_shown_on_its_form(as_admin_browser, workspace):
    response = as_admin_browser.post(LOCK, {"lock_date": "last tuesday"})
    assert response.status_code == 400
    assert response.context["lock_form"].errors == {"lock_date": ["Enter a valid date."]}
    assert Workspace.objects.get(pk=workspace.pk).lock_date is None


# --- members and roles ---------------------------------------------------------------------------


@pytest.mark.usefixtures("celery_eager")
def test_an_admin_invites_a_new_person(as_admin_browser, workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_admin_browser.post(INVITE, {"email": "New.Person@Example.test", "role": "manager"})

    assert response.status_code == 302
    assert response["Location"] == MEMBERS
    membership = Membership.objects.get(workspace=workspace, user__email="new.person@example.test")
    assert (membership.role, membership.is_active) == (Role.MANAGER, True)
    assert len(mail.outbox) == 1
    page = as_admin_browser.get(MEMBERS).content.decode()
    assert "new.person@example.test is now a manager here." in page
    assert f'id="member-{membership.pk}"' in page


def test_invite_errors_are_shown_on_the_form(as_admin_browser, workspace, member):
    bad_email = as_admin_browser.post(INVITE, {"email": "not-an-email", "role": "member"})
    already = as_admin_browser.post(INVITE, {"email": member.user.email, "role": "member"})
    as_owner_role = as_admin_browser.post(INVITE, {"email": "boss@example.test", "role": "owner"})

    assert bad_email.status_code == already.status_code == as_owner_role.status_code == 400
    assert bad_email.context["invite_form"].errors == {"email": ["Enter a valid email address."]}
    assert "is already a member of this workspace" in " ".join(already.context["invite_form"].non_field_errors())
    assert "Only an owner can grant" in " ".join(as_owner_role.context["invite_form"].non_field_errors())
    assert not User.objects.filter(email="boss@example.test").exists()


def test_the_invite_menu_offers_owner_only_to_owners(as_admin_browser, as_owner_browser, workspace):
    def offered(browser) -> list[str]:
        return [value for value, _label in browser.get(MEMBERS).context["invite_form"].fields["role"].widget.choices]

    assert "owner" not in offered(as_admin_browser)
    assert "owner" in offered(as_owner_browser)


def test_an_admin_changes_a_role_capacity_and_rates(as_admin_browser, member):
    response = as_admin_browser.post(
        edit_url(member),
        member_data(member, role="manager", weekly_capacity_hours="32", billable_rate="95.50", cost_rate="48"),
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.role, member.weekly_capacity_hours) == (Role.MANAGER, Decimal("32.00"))
    assert (member.billable_rate, member.cost_rate) == (Decimal("95.50"), Decimal("48.00"))
    assert AuditEvent.objects.filter(action="member.role_change", target_id=str(member.pk)).exists()
    page = as_admin_browser.get(MEMBERS).content.decode()
    assert "32.00 h" in page
    assert "48.00 EUR" in page  # admins see cost rates


def test_a_non_owner_admin_cannot_make_someone_owner(as_admin_browser, member):
    response = as_admin_browser.post(edit_url(member), member_data(member, role="owner", weekly_capacity_hours="20"))

    assert response.status_code == 400
    assert "Only an owner can grant or change the owner role." in " ".join(response.context["form"].non_field_errors())
    assert "Only an owner can grant" in response.content.decode()
    member.refresh_from_db()
    assert (member.role, member.weekly_capacity_hours) == (Role.MEMBER, Decimal("40.00"))  # all or nothing


def test_an_owner_makes_someone_owner(as_owner_browser, admin):
    assert as_owner_browser.post(edit_url(admin), member_data(admin, role="owner")).status_code == 302
    admin.refresh_from_db()
    assert admin.role == Role.OWNER


def test_an_admin_cannot_change_an_owners_role_but_can_set_their_capacity(as_admin_browser, owner):
    form = as_admin_browser.get(edit_url(owner)).context["form"]
    assert form.fields["role"].disabled

    response = as_admin_browser.post(edit_url(owner), {"role": "member", "weekly_capacity_hours": "30"})

    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.role, owner.weekly_capacity_hours) == (Role.OWNER, Decimal("30.00"))


def test_the_last_owner_cannot_step_down(as_owner_browser, owner):
    response = as_owner_browser.post(edit_url(owner), member_data(owner, role="admin"))
    assert response.status_code == 400
    assert "keeps at least one owner" in " ".join(response.context["form"].non_field_errors())
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_member_form_errors_are_shown_next_to_the_fields(as_admin_browser, member):
    negative = as_admin_browser.post(edit_url(member), member_data(member, weekly_capacity_hours="-1"))
    unknown_role = as_admin_browser.post(edit_url(member), member_data(member, role="emperor"))

    assert negative.status_code == unknown_role.status_code == 400
    assert form_errors(negative) == {"weekly_capacity_hours": ["Ensure this value is greater than or equal to 0."]}
    assert list(form_errors(unknown_role)) == ["role"]
    member.refresh_from_db()
    assert (member.role, member.weekly_capacity_hours) == (Role.MEMBER, Decimal("40.00"))


def test_an_admin_deactivates_a_member(as_admin_browser, member):
    response = as_admin_browser.post(reverse("member-deactivate", args=["acme", member.pk]))

    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.is_active
    listed = as_admin_browser.get(MEMBERS)
    assert member not in listed.context["page"].object_list
    assert member in as_admin_browser.get(MEMBERS, {"inactive": "1"}).context["page"].object_list
    assert "member is deactivated." in listed.content.decode()


def test_an_admin_cannot_deactivate_an_owner(as_admin_browser, owner):
    response = as_admin_browser.post(reverse("member-deactivate", args=["acme", owner.pk]))
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.is_active
    assert "Only an owner can grant or change the owner role." in as_admin_browser.get(MEMBERS).content.decode()


def test_the_deactivate_button_asks_for_confirmation(as_admin_browser, member):
    assert 'data-confirm="Deactivate member?' in as_admin_browser.get(MEMBERS).content.decode()


# --- rates ---------------------------------------------------------------------------------------


def test_an_admin_sets_the_default_rate(as_admin_browser, workspace):
    assert as_admin_browser.post(RATES, {"default_billable_rate": "120"}).status_code == 302
    workspace.refresh_from_db()
    assert workspace.default_billable_rate == Decimal("120.00")

    bad = as_admin_browser.post(RATES, {"default_billable_rate": "-5"})
    assert bad.status_code == 400
    assert bad.context["default_form"].errors == {
        "default_billable_rate": ["Ensure this value is greater than or equal to 0."]
    }
    workspace.refresh_from_db()
    assert workspace.default_billable_rate == Decimal("120.00")


def test_an_admin_sets_a_members_rates_from_the_rates_page(as_admin_browser, member):
    address = reverse("member-rates", args=["acme", member.pk])

    response = as_admin_browser.post(
        f"{address}?members_page=1", {f"m{member.pk}-billable_rate": "80", f"m{member.pk}-cost_rate": "35.5"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"{RATES}?members_page=1"
    member.refresh_from_db()
    assert (member.billable_rate, member.cost_rate) == (Decimal("80.00"), Decimal("35.50"))
    forms = dict(as_admin_browser.get(RATES).context["member_rows"])
    assert forms[member].initial == {"billable_rate": Decimal("80.00"), "cost_rate": Decimal("35.50")}


def test_a_bad_member_rate_is_shown_on_its_row(as_admin_browser, member, other_member):
    response = as_admin_browser.post(
        reverse("member-rates", args=["acme", member.pk]), {f"m{member.pk}-billable_rate": "lots"}
    )

    assert response.status_code == 400
    forms = dict(response.context["member_rows"])
    assert forms[member].errors == {"billable_rate": ["Enter a number."]}
    assert not forms[other_member].is_bound
    member.refresh_from_db()
    assert member.billable_rate is None


def test_an_admin_sets_a_projects_rate(as_admin_browser, project):
    address = reverse("project-rate", args=["acme", project.pk])

    assert as_admin_browser.post(address, {f"p{project.pk}-billable_rate": "150"}).status_code == 302
    project.refresh_from_db()
    assert project.billable_rate == Decimal("150.00")

    bad = as_admin_browser.post(address, {f"p{project.pk}-billable_rate": "-1"})
    assert bad.status_code == 400
    assert dict(bad.context["project_rows"])[project].errors == {
        "billable_rate": ["Ensure this value is greater than or equal to 0."]
    }
    as_admin_browser.post(address, {f"p{project.pk}-billable_rate": ""})
    project.refresh_from_db()
    assert project.billable_rate is None


def test_the_rates_page_lists_active_members_and_projects(as_admin_browser, workspace, member, project):
    ProjectFactory(workspace=workspace, name="Old", status="archived")
    gone = MembershipFactory(workspace=workspace, is_active=False)
    response = as_admin_browser.get(RATES)
    assert [p.name for p, _form in response.context["project_rows"]] == ["Website"]
    assert gone not in dict(response.context["member_rows"])
    assert member in dict(response.context["member_rows"])
    assert 'form="member-rate-' in response.content.decode()
