"""REST invoices: build from unbilled work, tax with If-Match, issue, pay, void, PDF; lists stay
in the workspace and run constant queries."""

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing import invoice_services as invoices
from billing.models import Invoice, InvoiceStatus
from tests.billing.test_invoices import JUNE, WEEK, approve, work
from tests.conftest import principal_for
from tests.factories import ClientFactory, MembershipFactory, ProjectFactory, WorkspaceFactory
from workspaces import connection_services
from workspaces.models import Role

pytestmark = pytest.mark.django_db
BASE = "/api/v1/workspaces/acme/invoices"


def api_for(membership) -> APIClient:
    key = connection_services.api_key_create(
        actor=principal_for(membership), label="i", scopes=["read", "write", "admin"]
    ).secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def billable(workspace, member):
    client = ClientFactory(workspace=workspace, name="Globex")
    approve(member)
    work(member, ProjectFactory(workspace=workspace, client=client, name="Website", team=[member]), WEEK, 5400)
    return client


def test_build_issue_pay_from_the_api(admin, billable):
    api = api_for(admin)
    built = api.post(
        f"{BASE}/build",
        {"client": billable.pk, "period_start": "2026-06-01", "period_end": "2026-06-30", "tax_rate": "19.00"},
        format="json",
    )
    assert built.status_code == 201
    draft = built.json()
    assert (draft["status"], draft["number"], draft["subtotal"], draft["tax"], draft["total"]) == (
        "draft", None, "150.00", "28.50", "178.50",
    )  # fmt: skip
    assert [(line["kind"], line["quantity"], line["amount"]) for line in draft["lines"]] == [("time", "1.50", "150.00")]

    issued = api.post(f"{BASE}/{draft['id']}/issue").json()
    assert (issued["status"], issued["number"]) == ("issued", 1)
    assert api.post(f"{BASE}/{draft['id']}/issue").status_code == 409  # not a draft any more
    paid = api.post(f"{BASE}/{draft['id']}/mark-paid").json()
    assert paid["status"] == "paid"
    assert paid["paid_at"] is not None


def test_a_stale_if_match_on_tax_is_412(admin, billable):
    api = api_for(admin)
    draft = invoices.invoice_build(
        actor=principal_for(admin), client=billable, period_start=JUNE[0], period_end=JUNE[1]
    )
    etag = api.get(f"{BASE}/{draft.pk}")["ETag"]
    invoices.invoice_set_tax(actor=principal_for(admin), invoice=draft, tax_rate=Decimal("7"))
    stale = api.patch(f"{BASE}/{draft.pk}", {"tax_rate": "19.00"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert Invoice.objects.get(pk=draft.pk).tax_rate == Decimal("7.00")
    assert api.patch(f"{BASE}/{draft.pk}", {"tax_rate": 19}, format="json").status_code == 400  # money is a string


def test_void_keeps_the_number_and_the_pdf_downloads(admin, billable):
    api = api_for(admin)
    draft = invoices.invoice_build(
        actor=principal_for(admin), client=billable, period_start=JUNE[0], period_end=JUNE[1]
    )
    issued = invoices.invoice_issue(actor=principal_for(admin), invoice=draft)
    assert api.get(f"{BASE}/{issued.pk}/pdf").status_code == 404  # not rendered yet
    invoices.invoice_pdf_store(invoice_id=issued.pk)
    pdf: Any = api.get(f"{BASE}/{issued.pk}/pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")
    voided = api.post(f"{BASE}/{issued.pk}/void", {"reason": "Wrong client"}, format="json").json()
    assert (voided["status"], voided["number"]) == (InvoiceStatus.VOID, 1)


def test_the_list_filters_within_the_workspace_only(admin, billable):
    api = api_for(admin)
    invoices.invoice_build(actor=principal_for(admin), client=billable, period_start=JUNE[0], period_end=JUNE[1])
    elsewhere = MembershipFactory(workspace=WorkspaceFactory(slug="globex"), role=Role.OWNER)
    foreign_client = ClientFactory(workspace=elsewhere.workspace)
    Invoice.objects.create(
        workspace=elsewhere.workspace, client=foreign_client, period_start=JUNE[0], period_end=JUNE[1],
        currency="EUR", created_by=elsewhere.user,
    )  # fmt: skip
    rows = api.get(BASE).json()["results"]
    assert [r["client_name"] for r in rows] == ["Globex"]
    response = api.get(BASE, {"client": foreign_client.pk})
    assert response.status_code == 400
    assert "client" in response.json()["error"]["fields"]
    assert api.get(BASE, {"status": "issued"}).json()["results"] == []


@pytest.mark.parametrize("count", [1, 50])
def test_the_list_runs_a_constant_number_of_queries(admin, workspace, count, django_assert_max_num_queries):
    client = ClientFactory(workspace=workspace)
    Invoice.objects.bulk_create(
        Invoice(workspace=workspace, client=client, period_start=JUNE[0], period_end=JUNE[1], currency="EUR",
                created_by=admin.user)
        for _ in range(count)
    )  # fmt: skip
    api = api_for(admin)
    with django_assert_max_num_queries(8):
        response = api.get(BASE, {"limit": 100})
    assert len(response.json()["results"]) == count
