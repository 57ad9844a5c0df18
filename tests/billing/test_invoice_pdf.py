"""Invoice PDFs: rendered by a Celery task once issued, stored, and true to the stored numbers."""

from decimal import Decimal

import pytest

from billing import invoice_services as invoices
from billing.tasks import render_invoice_pdf
from tests.billing.test_invoices import JUNE, WEEK, approve, work
from tests.factories import ClientFactory, ProjectFactory


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def draft(as_admin, workspace, member):
    client = ClientFactory(workspace=workspace, name="Globex GmbH", address="Hauptstr. 1\n10115 Berlin", vat_id="DE123")
    project = ProjectFactory(workspace=workspace, client=client, name="Website", team=[member])
    approve(member)
    work(member, project, WEEK, 5400, rate="100.00")
    return invoices.invoice_build(
        actor=as_admin, client=client, period_start=JUNE[0], period_end=JUNE[1], tax_rate=Decimal("19")
    )


@pytest.mark.usefixtures("celery_eager")
def test_issuing_renders_and_stores_the_pdf(as_admin, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoices.invoice_issue(actor=as_admin, invoice=draft)
    invoice.refresh_from_db()
    assert invoice.pdf.name.endswith("invoice-acme-1.pdf")
    content = invoice.pdf.read()
    assert content.startswith(b"%PDF-")
    for text in (
        b"Invoice 1",
        b"Globex GmbH",
        b"10115 Berlin",
        b"VAT ID DE123",
        b"150.00 EUR",
        b"28.50 EUR",
        b"178.50 EUR",
    ):
        assert text in content, text


def test_rendering_is_idempotent_and_drafts_are_not_rendered(as_admin, draft):
    assert render_invoice_pdf(invoice_id=draft.pk) == ""
    issued = invoices.invoice_issue(actor=as_admin, invoice=draft)
    first = render_invoice_pdf(invoice_id=issued.pk)
    second = render_invoice_pdf(invoice_id=issued.pk)
    assert first.endswith(".pdf")
    assert second.endswith(".pdf")
    issued.refresh_from_db()
    assert issued.pdf.read().startswith(b"%PDF-")


def test_the_pdf_downloads_for_managers_of_the_workspace_only(client, as_admin, draft, manager, member):
    issued = invoices.invoice_issue(actor=as_admin, invoice=draft)
    url = f"/w/acme/invoices/{issued.pk}/pdf"
    client.force_login(manager.user)
    assert client.get(url).status_code == 404  # not rendered yet
    render_invoice_pdf(invoice_id=issued.pk)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="invoice-1.pdf"'
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    client.force_login(member.user)
    assert client.get(url).status_code == 404
    assert client.get(f"/w/elsewhere/invoices/{issued.pk}/pdf").status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
