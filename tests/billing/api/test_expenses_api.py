"""REST expenses: who sees what, If-Match, receipts checked by content, constant queries."""

from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from billing import expense_services
from billing.models import Expense
from tests.conftest import principal_for
from tests.factories import MembershipFactory, ProjectFactory, WorkspaceFactory
from workspaces import connection_services

pytestmark = pytest.mark.django_db
BASE = "/api/v1/workspaces/acme/expenses"
DAY = date(2026, 6, 10)
PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def api_for(membership) -> APIClient:
    key = connection_services.api_key_create(
        actor=principal_for(membership), label="e", scopes=["read", "write"]
    ).secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def spend(membership, project, amount="10.00", **kwargs) -> Expense:
    return expense_services.expense_create(
        actor=principal_for(membership), project=project, date=DAY, amount=amount, category="Travel", **kwargs
    )


def test_members_see_their_own_managers_everyones_and_never_another_workspaces(member, manager, other_member, project):
    mine, theirs = spend(member, project), spend(other_member, project)
    elsewhere = MembershipFactory(workspace=WorkspaceFactory(slug="globex"))
    foreign_project = ProjectFactory(workspace=elsewhere.workspace, team=[elsewhere])
    spend(elsewhere, foreign_project)
    assert [e["id"] for e in api_for(member).get(BASE).json()["results"]] == [mine.pk]
    assert {e["id"] for e in api_for(manager).get(BASE).json()["results"]} == {mine.pk, theirs.pk}
    response = api_for(manager).get(BASE, {"project": foreign_project.pk})
    assert response.status_code == 400
    assert "project" in response.json()["error"]["fields"]


def test_create_patch_with_if_match_and_money_as_a_string(member, project):
    api = api_for(member)
    body = {"project": project.pk, "date": "2026-06-10", "amount": "42.50", "category": "Software"}
    created = api.post(BASE, body, format="json")
    assert created.status_code == 201
    assert (created.json()["amount"], created.json()["currency"]) == ("42.50", "EUR")
    assert api.post(BASE, {**body, "amount": 42.5}, format="json").status_code == 400
    url = f"{BASE}/{created.json()['id']}"
    etag = api.get(url)["ETag"]
    Expense.objects.filter(pk=created.json()["id"]).update(description="changed elsewhere")
    assert api.patch(url, {"description": "mine"}, format="json", HTTP_IF_MATCH=etag).status_code == 412


def test_receipts_are_checked_by_content_and_download(member, project):
    expense = spend(member, project)
    api = api_for(member)
    url = f"{BASE}/{expense.pk}/receipt"
    assert api.get(url).status_code == 404
    fake = api.post(url, {"receipt": SimpleUploadedFile("r.pdf", b"not a pdf")}, format="multipart")
    assert fake.status_code == 400
    assert "receipt" in fake.json()["error"]["fields"]
    assert api.post(url, {"receipt": SimpleUploadedFile("r.pdf", PDF)}, format="multipart").json()["has_receipt"]
    download: Any = api.get(url)
    assert b"".join(download.streaming_content) == PDF


@pytest.mark.parametrize("count", [1, 50])
def test_the_list_runs_a_constant_number_of_queries(manager, member, project, count, django_assert_max_num_queries):
    for _ in range(count):
        spend(member, project)
    api = api_for(manager)
    with django_assert_max_num_queries(8):
        response = api.get(BASE, {"limit": 100})
    assert len(response.json()["results"]) == count
