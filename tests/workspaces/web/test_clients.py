"""Clients pages: the list (search, archived, pages), contact data only for those who may see it,
create, edit, archive and restore, with their form errors."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import ClientFactory
from tests.workspaces.web.conftest import form_errors
from workspaces.models import AuditEvent, Client

pytestmark = pytest.mark.django_db

LIST = reverse("clients", args=["acme"])
NEW = reverse("client-new", args=["acme"])
CONTACT = {
    "contact_email": "ap@initech.test",
    "contact_phone": "+49 30 1234567",
    "vat_id": "DE123456789",
    "address": "Initech Allee 1, Berlin",
}


def names(response) -> list[str]:
    return [c.name for c in response.context["page"].object_list]


@pytest.fixture
def initech(workspace) -> Client:
    return ClientFactory(workspace=workspace, name="Initech", **CONTACT)


@pytest.mark.parametrize("role", ["member", "manager"])
def test_contact_data_is_withheld_below_admin(request, browser_for, initech, role):
    browser = browser_for(request.getfixturevalue(role))

    html = browser.get(LIST).content.decode()

    assert "Initech" in html
    for value in CONTACT.values():
        assert value not in html
    assert "only admins see them" in html


def test_an_admin_sees_contact_data(as_admin_browser, initech):
    html = as_admin_browser.get(LIST).content.decode()
    assert 'href="mailto:ap@initech.test"' in html
    assert "+49 30 1234567" in html
    assert "DE123456789" in html


def test_a_managers_edit_form_neither_shows_nor_takes_contact_data(as_manager_browser, initech):
    edit = reverse("client-edit", args=["acme", initech.pk])
    page = as_manager_browser.get(edit)
    assert set(page.context["form"].fields) == {"name"}
    assert "ap@initech.test" not in page.content.decode()

    response = as_manager_browser.post(edit, {"name": "Initech Ltd", "contact_email": "spoof@evil.test"})

    assert response.status_code == 302
    initech.refresh_from_db()
    assert (initech.name, initech.contact_email) == ("Initech Ltd", "ap@initech.test")


def test_members_see_the_list_without_forms(as_member_browser, initech):
    response = as_member_browser.get(LIST)
    assert names(response) == ["Initech"]
    assert not response.context["can_manage"]
    assert NEW.encode() not in response.content
    assert reverse("client-archive", args=["acme", initech.pk]).encode() not in response.content


def test_search_archived_toggle_and_pages(as_manager_browser, workspace, globex):
    ClientFactory(workspace=workspace, name="Initech")
    ClientFactory(workspace=workspace, name="Umbrella", is_archived=True)
    ClientFactory.create_batch(55, workspace=workspace)

    assert "Globex client" not in names(as_manager_browser.get(LIST, {"q": "globex"}))
    assert names(as_manager_browser.get(LIST, {"q": "INITECH"})) == ["Initech"]
    assert names(as_manager_browser.get(LIST, {"q": "umbrella"})) == []
    assert names(as_manager_browser.get(LIST, {"q": "umbrella", "archived": "on"})) == ["Umbrella"]
    first, second = as_manager_browser.get(LIST), as_manager_browser.get(LIST, {"page": "2"})
    assert (len(names(first)), len(names(second))) == (50, 6)
    assert b"No client matches" in as_manager_browser.get(LIST, {"q": "zzz"}).content


def test_the_empty_list_invites_a_manager_to_add_one(as_manager_browser, as_member_browser, workspace):
    assert b"Add the first one" in as_manager_browser.get(LIST).content
    assert b"A manager adds them" in as_member_browser.get(LIST).content


def test_an_admin_creates_a_client_with_contact_data(as_admin_browser, workspace):
    response = as_admin_browser.post(NEW, {"name": "Initech", **CONTACT})

    assert response.status_code == 302
    assert response["Location"] == LIST
    client = Client.objects.get(workspace=workspace, name="Initech")
    assert {name: getattr(client, name) for name in CONTACT} == CONTACT
    assert AuditEvent.objects.filter(action="client.create", target_id=str(client.pk)).exists()
    assert "Client Initech created." in as_admin_browser.get(LIST).content.decode()


def test_a_manager_creates_a_client_by_name(as_manager_browser, workspace):
    assert as_manager_browser.post(NEW, {"name": "Initech", **CONTACT}).status_code == 302
    client = Client.objects.get(workspace=workspace, name="Initech")
    assert (client.contact_email, client.vat_id) == ("", "")


def test_client_form_errors_are_shown_next_to_the_fields(as_admin_browser, initech):
    blank = as_admin_browser.post(NEW, {"name": ""})
    bad_email = as_admin_browser.post(NEW, {"name": "Umbrella", "contact_email": "not an email"})
    duplicate = as_admin_browser.post(NEW, {"name": "Initech"})

    assert blank.status_code == bad_email.status_code == duplicate.status_code == 400
    assert form_errors(blank) == {"name": ["This field is required."]}
    assert form_errors(bad_email) == {"contact_email": ["Enter a valid email address."]}
    assert "already exists" in " ".join(form_errors(duplicate)["__all__"])
    assert b'id="client-form-errors"' in duplicate.content
    assert Client.objects.count() == 1


def test_an_admin_edits_contact_data(as_admin_browser, initech):
    edit = reverse("client-edit", args=["acme", initech.pk])
    assert as_admin_browser.get(edit).context["form"].initial["vat_id"] == "DE123456789"

    response = as_admin_browser.post(edit, {"name": "Initech", **CONTACT, "vat_id": "DE999"})

    assert response.status_code == 302
    initech.refresh_from_db()
    assert initech.vat_id == "DE999"
    bad = as_admin_browser.post(edit, {"name": "", **CONTACT})
    assert (bad.status_code, form_errors(bad)) == (400, {"name": ["This field is required."]})


def test_a_client_is_archived_and_restored(as_manager_browser, initech):
    archive = reverse("client-archive", args=["acme", initech.pk])

    response = as_manager_browser.post(archive, {"archived": "true", "next": f"{LIST}?q=ini"})
    assert response["Location"] == f"{LIST}?q=ini"
    initech.refresh_from_db()
    assert initech.is_archived
    assert names(as_manager_browser.get(LIST)) == []

    as_manager_browser.post(archive, {"archived": "false"})
    initech.refresh_from_db()
    assert not initech.is_archived
    assert AuditEvent.objects.filter(action="client.restore", target_id=str(initech.pk)).exists()


def test_the_archive_button_asks_for_confirmation(as_manager_browser, initech):
    assert 'data-confirm="Archive Initech?' in as_manager_browser.get(LIST).content.decode()
