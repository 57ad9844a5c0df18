"""The invoice pages: build a draft from unbilled work, read it, change its tax and lines, issue,
mark paid, void with a reason, delete a draft, download the PDF; errors on the forms or as
messages; a list with filters and pages; a constant number of queries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from billing import invoice_services as invoices
from billing.models import Invoice, InvoiceLine, InvoiceStatus
from tests.billing.test_invoices import JUNE, WEEK, work
from tests.billing.web.conftest import SLUG
from tests.conftest import principal_for
from tests.factories import ClientFactory, ProjectFactory
from timesheets.models import TimeEntry
from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db


def url(name: str, *args: object) -> str:
    return reverse(name, args=[SLUG, *args])


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_build_issue_and_mark_paid(login, admin, globex, django_capture_on_commit_callbacks):
    page = login(admin)
    form = page.get(url("invoice-build"), {"client": globex.pk, "period_end": "2026-06-30"})
    assert form.context["form"].initial["period_start"].isoformat() == "2026-05-01"  # a month before the end's

    # given the unbilled work of Globex, when an admin builds a draft with 19 % tax
    built = page.post(
        url("invoice-build"),
        {"client": globex.pk, "period_start": "2026-06-01", "period_end": "2026-06-30", "tax_rate": "19"},
        follow=True,
    )

    # then the draft's page shows its line and totals
    invoice = Invoice.objects.get(client=globex)
    assert built.redirect_chain == [(url("invoice-detail", invoice.pk), 302)]
    assert flashed(built) == ["Draft built for Globex: 178.50 EUR."]
    html = built.content.decode()
    assert "Globex site" in html
    assert '<td class="num">1.50 h</td>' in html
    assert '<td class="num">150.00</td>' in html
    assert "Tax (19.00 %)" in html
    assert 'id="invoice-total">178.50 EUR<' in html
    assert "The PDF is rendered once the invoice is issued." in html

    with django_capture_on_commit_callbacks(execute=False):  # the PDF is rendered later, by a worker
        issued = page.post(url("invoice-issue", invoice.pk), follow=True)
    assert flashed(issued) == ["Invoice 1 issued. Its PDF is being rendered."]
    assert "PDF is being rendered" in issued.content.decode()
    assert url("invoice-pdf", invoice.pk) not in issued.content.decode()

    invoices.invoice_pdf_store(invoice_id=invoice.pk)
    ready = page.get(url("invoice-detail", invoice.pk))
    assert url("invoice-pdf", invoice.pk) in ready.content.decode()
    pdf = page.get(url("invoice-pdf", invoice.pk))
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")

    paid = page.post(url("invoice-paid", invoice.pk), follow=True)
    assert flashed(paid) == ["Invoice 1 marked paid."]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == (InvoiceStatus.PAID, 1)
    assert 'id="invoice-status">Paid<' in paid.content.decode()


def test_the_pdf_note_polls_until_the_pdf_is_ready(login, admin, issued):
    page = login(admin)
    part = page.get(url("invoice-detail", issued.pk), {"part": "pdf"}, HTTP_HX_REQUEST="true")
    assert "PDF is being rendered" in part.content.decode()
    assert 'hx-trigger="every 3s"' in part.content.decode()
    invoices.invoice_pdf_store(invoice_id=issued.pk)
    part = page.get(url("invoice-detail", issued.pk), {"part": "pdf"}, HTTP_HX_REQUEST="true")
    assert url("invoice-pdf", issued.pk) in part.content.decode()
    assert "<html" not in part.content.decode()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"period_start": "2026-06-01", "period_end": "2026-06-30", "tax_rate": "0"}, "client", "This field is required."),
        ({"period_start": "2026-06-30", "period_end": "2026-06-01", "tax_rate": "0"}, "period_end", "On or after period_start."),
        ({"period_start": "2026-06-01", "period_end": "2026-06-30", "tax_rate": "150"}, "tax_rate", "E.g. 19 or 7.7."),
        ({"period_start": "2026-07-01", "period_end": "2026-07-31", "tax_rate": "0"}, None, "Nothing to invoice for Globex"),
    ],
)  # fmt: skip
def test_build_errors_are_shown_on_the_form(login, admin, globex, body, field, message):
    response = login(admin).post(url("invoice-build"), {"client": globex.pk, **body} if field != "client" else body)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(message in e for e in errors[field or "__all__"])
    assert message in response.content.decode()
    assert not Invoice.objects.exists()


def test_tax_and_lines_of_a_draft(login, admin, draft):
    page = login(admin)

    taxed = page.post(url("invoice-tax", draft.pk), {"tax_rate": "7.5"}, follow=True)
    assert flashed(taxed) == ["Tax rate set to 7.5 %: total 161.25 EUR."]

    added = page.post(
        url("invoice-line-add", draft.pk),
        {"description": "Discount", "quantity": "1", "unit_price": "-50"},
        follow=True,
    )
    assert flashed(added) == ["Line “Discount” added."]
    draft.refresh_from_db()
    assert (draft.subtotal, draft.tax, draft.total) == (Decimal("100.00"), Decimal("7.50"), Decimal("107.50"))

    time_line = draft.lines.get(kind="time")
    removed = page.post(url("invoice-line-remove", draft.pk, time_line.pk), follow=True)
    assert flashed(removed) == [f"Line “{time_line.description}” removed."]
    draft.refresh_from_db()
    assert draft.total == Decimal("-53.75")
    assert not TimeEntry.objects.filter(invoice_line__isnull=False).exists()  # the time is unbilled again


def test_tax_and_line_errors_are_shown_on_their_forms(login, admin, draft):
    page = login(admin)
    too_high = page.post(url("invoice-tax", draft.pk), {"tax_rate": "101"})
    assert too_high.status_code == 400
    assert too_high.context["tax_form"].errors["tax_rate"] == ["E.g. 19 or 7.7."]
    assert "E.g. 19 or 7.7." in too_high.content.decode()

    no_quantity = page.post(
        url("invoice-line-add", draft.pk), {"description": "Setup", "quantity": "0", "unit_price": "9"}
    )
    assert no_quantity.status_code == 400
    assert no_quantity.context["line_form"].errors["quantity"] == ["Greater than 0."]
    draft.refresh_from_db()
    assert (draft.tax_rate, draft.lines.count()) == (Decimal("19.00"), 1)


def test_a_line_of_another_invoice_is_not_found(login, admin, draft, workspace, member):
    other_client = ClientFactory(workspace=workspace, name="Initech")
    work(member, ProjectFactory(workspace=workspace, client=other_client, team=[member]), WEEK, 3600)
    other = invoices.invoice_build(
        actor=principal_for(admin), client=other_client, period_start=JUNE[0], period_end=JUNE[1]
    )
    response = login(admin).post(url("invoice-line-remove", draft.pk, other.lines.get().pk))
    assert response.status_code == 404
    assert other.lines.count() == 1


def test_void_needs_a_reason_and_keeps_the_number(login, admin, issued):
    page = login(admin)

    no_reason = page.post(url("invoice-void", issued.pk), {"reason": ""})
    assert no_reason.status_code == 400
    assert no_reason.context["void_form"].errors["reason"] == ["This field is required."]
    issued.refresh_from_db()
    assert issued.status == InvoiceStatus.ISSUED

    voided = page.post(url("invoice-void", issued.pk), {"reason": "Wrong client"}, follow=True)
    assert flashed(voided) == ["Invoice 1 voided. Its time and expenses can be invoiced again."]
    issued.refresh_from_db()
    assert (issued.status, issued.number) == (InvoiceStatus.VOID, 1)
    event = AuditEvent.objects.get(action="invoice.void")
    assert event.detail["reason"] == "Wrong client"
    assert not TimeEntry.objects.filter(invoice_line__isnull=False).exists()


def test_a_refused_action_is_a_message(login, admin, issued):
    response = login(admin).post(url("invoice-issue", issued.pk), follow=True)
    assert flashed(response) == ["This invoice is issued; only a draft invoice can be changed this way."]
    assert response.redirect_chain == [(url("invoice-detail", issued.pk), 302)]


def test_deleting_a_draft_releases_its_work(login, admin, draft):
    response = login(admin).post(url("invoice-delete", draft.pk), follow=True)
    assert response.redirect_chain == [(url("invoices"), 302)]
    assert flashed(response) == ["The draft for Globex was deleted."]
    assert not Invoice.objects.exists()
    assert not TimeEntry.objects.filter(invoice_line__isnull=False).exists()


def test_destructive_buttons_ask_first(login, admin, draft):
    html = login(admin).get(url("invoice-detail", draft.pk)).content.decode()
    assert 'id="invoice-delete" data-confirm="Delete this draft?' in html
    assert 'data-confirm="Remove “' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_managers_read_but_see_no_actions(login, manager, draft):
    html = login(manager).get(url("invoice-detail", draft.pk)).content.decode()
    assert "Globex site" in html
    assert url("invoice-issue", draft.pk) not in html
    assert url("invoice-tax", draft.pk) not in html
    assert url("invoice-build") not in login(manager).get(url("invoices")).content.decode()


# --- the list ---------------------------------------------------------------------------------------


def make_invoices(workspace, admin, count: int, **fields) -> None:
    client = ClientFactory(workspace=workspace, name="Bulk Co")
    Invoice.objects.bulk_create(
        Invoice(workspace=workspace, client=client, period_start=JUNE[0], period_end=JUNE[1], currency="EUR",
                created_by=admin.user, **fields)
        for _ in range(count)
    )  # fmt: skip


def test_the_list_shows_invoices_and_filters_by_status(login, admin, issued, workspace):
    make_invoices(workspace, admin, 2)
    page = login(admin)

    everything = page.get(url("invoices"))
    assert [i.client.name for i in everything.context["page"]].count("Bulk Co") == 2
    html = everything.content.decode()
    assert f'href="{url("invoice-detail", issued.pk)}">#1</a>' in html
    assert "178.50 EUR" in html

    only_issued = page.get(url("invoices"), {"status": "issued"})
    assert [i.pk for i in only_issued.context["page"]] == [issued.pk]
    none_paid = page.get(url("invoices"), {"status": "paid"})
    assert list(none_paid.context["page"]) == []
    assert "No invoice matches these filters" in none_paid.content.decode()
    bad = page.get(url("invoices"), {"status": "lost"})
    assert bad.status_code == 400
    assert "status" in bad.context["form"].errors


def test_the_list_pages_by_fifty(login, admin, workspace):
    make_invoices(workspace, admin, 60)
    page = login(admin)
    first = page.get(url("invoices"))
    assert len(first.context["page"]) == 50
    assert "?page=2" in first.content.decode()
    second = page.get(url("invoices"), {"page": 2})
    assert len(second.context["page"]) == 10
    seen = {i.pk for i in first.context["page"]} | {i.pk for i in second.context["page"]}
    assert len(seen) == 60


def test_the_empty_list_says_how_to_start(login, admin):
    html = login(admin).get(url("invoices")).content.decode()
    assert "No invoices yet." in html
    assert url("invoice-build") in html


@pytest.mark.parametrize("rows", [1, 50])
def test_the_list_runs_a_constant_number_of_queries(login, admin, workspace, rows, django_assert_max_num_queries):
    make_invoices(workspace, admin, rows)
    page = login(admin)
    with django_assert_max_num_queries(8):  # the same for 1 and 50 rows
        response = page.get(url("invoices"))
    assert len(response.context["page"]) == rows


@pytest.mark.parametrize("rows", [1, 50])
def test_the_detail_runs_a_constant_number_of_queries(login, admin, draft, rows, django_assert_max_num_queries):
    InvoiceLine.objects.bulk_create(
        InvoiceLine(invoice=draft, kind="manual", position=10 + i, description=f"Extra {i}", quantity=1,
                    unit_price=1, amount=1)
        for i in range(rows - 1)
    )  # fmt: skip
    page = login(admin)
    with django_assert_max_num_queries(7):  # the same for 1 and 50 lines
        response = page.get(url("invoice-detail", draft.pk))
    assert len(response.context["lines"]) == rows
