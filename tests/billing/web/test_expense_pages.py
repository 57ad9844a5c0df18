"""The expense pages: members list and log their own, managers everyone's; create and edit with a
receipt checked by content, delete, download the receipt; errors next to their fields; filters,
pages and a constant number of queries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing import expense_services
from billing.models import Expense
from tests.billing.web.conftest import SLUG, june
from tests.conftest import principal_for
from tests.factories import ProjectFactory, TimesheetFactory
from timesheets.models import TimesheetStatus

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def url(name: str, *args: object) -> str:
    return reverse(name, args=[SLUG, *args])


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def spend(who, project, day: date | None = None, amount: str = "30.00", **kwargs) -> Expense:
    return expense_services.expense_create(
        actor=principal_for(who), project=project, date=day or june(10), amount=amount, category="Travel", **kwargs
    )


def form_body(project, **overrides) -> dict[str, object]:
    body: dict[str, object] = {
        "project": project.pk, "date": "2026-06-10", "amount": "42.50", "category": "Taxi", "billable": "on",
        "description": "To the workshop",
    }  # fmt: skip
    return {**body, **overrides}


def test_create_with_a_receipt_edit_and_delete(login, member, project):
    page = login(member)
    assert page.get(url("expense-new")).context["form"]["billable"].value() is True

    # create, with a receipt
    created = page.post(
        url("expense-new"), form_body(project, receipt=SimpleUploadedFile("taxi.png", PNG, "image/png")), follow=True
    )
    assert created.redirect_chain == [(url("expenses"), 302)]
    assert flashed(created) == ["Expense of 42.50 EUR recorded."]
    expense = Expense.objects.get()
    assert (expense.member, expense.amount, expense.category, expense.billable) == (
        member,
        Decimal("42.50"),
        "Taxi",
        True,
    )
    html = created.content.decode()
    assert "42.50 EUR" in html
    assert "To the workshop" in html
    receipt = page.get(url("expense-receipt", expense.pk))
    assert receipt["Content-Disposition"].startswith('attachment; filename="taxi')
    assert b"".join(receipt.streaming_content) == PNG

    # edit: the form starts from the expense; an empty receipt keeps the old one
    form = page.get(url("expense-edit", expense.pk)).context["form"]
    assert (form["amount"].value(), form["category"].value()) == (Decimal("42.50"), "Taxi")
    edited = page.post(url("expense-edit", expense.pk), form_body(project, amount="50.00", billable=""), follow=True)
    assert flashed(edited) == ["Expense of 50.00 EUR saved."]
    expense.refresh_from_db()
    assert (expense.amount, expense.billable) == (Decimal("50.00"), False)
    assert expense.receipt.read() == PNG

    # delete
    deleted = page.post(url("expense-delete", expense.pk), follow=True)
    assert flashed(deleted) == ["Expense of 50.00 EUR deleted."]
    assert not Expense.objects.exists()
    assert "No expenses yet." in deleted.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"receipt": SimpleUploadedFile("fake.pdf", b"MZ not a receipt")}, "receipt", "PDF, PNG or JPEG."),
        ({"amount": "0"}, "amount", "E.g. 42.50"),
        ({"amount": "lots"}, "amount", "Enter a number."),
        ({"category": " "}, "category", "This field is required."),
        ({"date": ""}, "date", "This field is required."),
    ],
)
def test_create_errors_are_shown_next_to_their_fields(login, member, project, overrides, field, message):
    response = login(member).post(url("expense-new"), form_body(project, **overrides))
    assert response.status_code == 400
    assert message in response.context["form"].errors[field]
    assert message in response.content.decode()
    assert not Expense.objects.exists()


def test_a_locked_week_refuses_on_the_form(login, member, project):
    TimesheetFactory(member=member, week_start=june(8), status=TimesheetStatus.SUBMITTED)
    response = login(member).post(url("expense-new"), form_body(project))
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert not Expense.objects.exists()


def test_edit_errors_are_shown_and_nothing_changes(login, member, project):
    expense = spend(member, project)
    response = login(member).post(url("expense-edit", expense.pk), form_body(project, amount="-5"))
    assert response.status_code == 400
    assert response.context["form"].errors["amount"] == ["E.g. 42.50"]
    expense.refresh_from_db()
    assert expense.amount == Decimal("30.00")


def test_managers_record_for_others_and_see_everyones(login, manager, member, other_member, project):
    spend(other_member, project, amount="12.00")
    page = login(manager)
    assert "member" in page.get(url("expense-new")).context["form"].fields

    page.post(url("expense-new"), form_body(project, member=member.pk))

    listed = page.get(url("expenses"))
    assert sorted((e.member.user.username, e.amount) for e in listed.context["page"]) == [
        ("member", Decimal("42.50")), ("other", Decimal("12.00")),
    ]  # fmt: skip
    only_member = page.get(url("expenses"), {"member": member.pk})
    assert [e.member_id for e in only_member.context["page"]] == [member.pk]


def test_members_see_and_filter_their_own_only(login, member, other_member, project, workspace):
    mine = spend(member, project, day=june(3))
    spend(member, project, day=june(20))
    spend(other_member, project)
    page = login(member)

    everything = page.get(url("expenses"))
    assert {e.member_id for e in everything.context["page"]} == {member.pk}
    assert "member" not in everything.context["form"].fields
    early = page.get(url("expenses"), {"date_from": "2026-06-01", "date_to": "2026-06-05"})
    assert [e.pk for e in early.context["page"]] == [mine.pk]
    elsewhere = ProjectFactory(workspace=workspace, name="Not on my team")
    refused = page.get(url("expenses"), {"project": elsewhere.pk})
    assert refused.status_code == 400
    assert "project" in refused.context["form"].errors
    backwards = page.get(url("expenses"), {"date_from": "2026-06-05", "date_to": "2026-06-01"})
    assert backwards.context["form"].errors["date_to"] == ["Must be on or after the first day."]


def test_an_invoiced_expense_cannot_be_changed(login, admin, member, globex, workspace):
    from billing import invoice_services as invoices

    project = globex.projects.get()
    expense = Expense.objects.create(  # in an approved week, which the service refuses to write into
        workspace=workspace, member=member, project=project, date=june(2), amount=Decimal("42.50"), currency="EUR",
        category="Travel", created_by=member.user,
    )  # fmt: skip
    invoices.invoice_build(actor=principal_for(admin), client=globex, period_start=june(1), period_end=june(30))
    page = login(admin)
    html = page.get(url("expenses")).content.decode()
    assert "Invoiced" in html
    assert url("expense-edit", expense.pk) not in html
    refused = page.post(url("expense-edit", expense.pk), form_body(project, date="2026-06-02"))
    assert refused.status_code == 400
    assert "on an invoice" in " ".join(refused.context["form"].non_field_errors())


@pytest.mark.parametrize("rows", [1, 50])
def test_the_list_runs_a_constant_number_of_queries(login, manager, member, project, workspace, rows,
                                                    django_assert_max_num_queries):  # fmt: skip
    Expense.objects.bulk_create(
        Expense(workspace=workspace, member=member, project=project, date=june(1 + i % 28), amount=Decimal("5.00"),
                currency="EUR", category="Travel", created_by=member.user)
        for i in range(rows)
    )  # fmt: skip
    page = login(manager)
    with django_assert_max_num_queries(9):  # the same for 1 and 50 rows
        response = page.get(url("expenses"))
    assert len(response.context["page"]) == rows
