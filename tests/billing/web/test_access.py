"""Who may open which billing page: one table of exact statuses per role, other workspaces' ids
answer 404, and anonymous visitors are sent to sign in."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing import expense_services
from billing import invoice_services as invoices
from billing.models import Expense, Invoice
from tests.billing.test_invoices import WEEK, work
from tests.billing.web.conftest import JUNE_QUERY, SLUG, june
from tests.conftest import principal_for
from tests.factories import ClientFactory, MembershipFactory, ProjectFactory, WorkspaceFactory
from workspaces.models import Role

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@dataclass(frozen=True)
class Page:
    method: str
    url_name: str
    args: tuple[str, ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    member: int = 200
    manager: int = 200
    admin: int = 200
    owner: int = 200
    body: tuple[tuple[str, str], ...] = ()

    def expected(self, role: str) -> int:
        return int(getattr(self, role))


PERIOD = tuple(JUNE_QUERY.items())
PAGES = [
    Page("GET", "reports", query=PERIOD),
    Page("GET", "reports", query=PERIOD),
    Page("GET", "report-utilization", query=PERIOD),
    Page("GET", "report-budget"),
    Page("GET", "report-unbilled", member=403),
    Page("GET", "report-profitability", query=PERIOD, member=403, manager=403),
    Page("GET", "report-profitability", query=(*PERIOD, ("format", "csv")), member=403, manager=403),
    Page("GET", "invoices", member=403),
    Page("GET", "invoice-build", member=403, manager=403),
    Page("POST", "invoice-build", member=403, manager=403, admin=400, owner=400),  # an empty form: 400
    Page("GET", "invoice-detail", ("draft",), member=403),
    Page("POST", "invoice-tax", ("draft",), member=403, manager=403, admin=302, owner=302, body=(("tax_rate", "7"),)),
    Page("POST", "invoice-line-add", ("draft",), member=403, manager=403, admin=302, owner=302,
         body=(("description", "Setup"), ("quantity", "1"), ("unit_price", "50"))),
    Page("POST", "invoice-line-remove", ("draft", "line"), member=403, manager=403, admin=302, owner=302),
    Page("POST", "invoice-issue", ("draft",), member=403, manager=403, admin=302, owner=302),
    Page("POST", "invoice-delete", ("draft",), member=403, manager=403, admin=302, owner=302),
    Page("POST", "invoice-paid", ("issued",), member=403, manager=403, admin=302, owner=302),
    Page("POST", "invoice-void", ("issued",), member=403, manager=403, admin=302, owner=302,
         body=(("reason", "Wrong client"),)),
    Page("GET", "invoice-pdf", ("issued",), member=404),  # as this download always answered below manager
    Page("GET", "expenses"),
    Page("GET", "expense-new"),
    Page("GET", "expense-edit", ("own_expense",)),
    Page("GET", "expense-edit", ("others_expense",), member=404),
    Page("POST", "expense-delete", ("own_expense",), member=302, manager=302, admin=302, owner=302),
    Page("GET", "expense-receipt", ("own_expense",)),
    Page("GET", "expense-receipt", ("others_expense",), member=404),
]  # fmt: skip


def page_id(page: Page) -> str:
    return f"{page.method} {page.url_name}{'?' + '&'.join(k for k, _ in page.query) if page.query else ''} {page.args}"


@pytest.fixture
def objects(workspace, member, other_member, project, admin, draft, globex):
    """The ids a page's URL may name: a draft and an issued invoice, a line, two members' expenses."""
    other_client = ClientFactory(workspace=workspace, name="Initech")
    work(member, ProjectFactory(workspace=workspace, client=other_client, team=[member]), WEEK, 3600)
    as_admin = principal_for(admin)
    issued = invoices.invoice_build(actor=as_admin, client=other_client, period_start=june(1), period_end=june(30))
    invoices.invoice_issue(actor=as_admin, invoice=issued)
    invoices.invoice_pdf_store(invoice_id=issued.pk)

    def spend(who) -> Expense:
        return expense_services.expense_create(
            actor=principal_for(who), project=project, date=june(10), amount="30.00", category="Travel",
            receipt=SimpleUploadedFile("r.png", PNG, content_type="image/png"),
        )  # fmt: skip

    return {
        "draft": draft.pk,
        "issued": issued.pk,
        "line": draft.lines.get().pk,
        "own_expense": None,  # the caller's own: made per role below
        "others_expense": spend(other_member).pk,
        "spend": spend,
    }


@pytest.mark.parametrize("role", ["member", "manager", "admin", "owner"])
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_each_role_gets_exactly_this_status(client, objects, role, page, member, manager, admin, owner):
    caller = {"member": member, "manager": manager, "admin": admin, "owner": owner}[role]
    ids = {**objects, "own_expense": objects["spend"](caller).pk}
    url = reverse(page.url_name, args=[SLUG, *(ids[name] for name in page.args)])
    client.force_login(caller.user)

    send = client.get if page.method == "GET" else client.post
    response = send(url, dict(page.query if page.method == "GET" else page.body))

    assert response.status_code == page.expected(role), response.content[:300]


def test_another_workspaces_invoice_and_expense_are_not_found(client, admin, workspace):
    elsewhere = MembershipFactory(workspace=WorkspaceFactory(slug="globex"), role=Role.OWNER)
    foreign_client = ClientFactory(workspace=elsewhere.workspace)
    invoice = Invoice.objects.create(
        workspace=elsewhere.workspace, client=foreign_client, period_start=june(1), period_end=june(30),
        currency="EUR", created_by=elsewhere.user,
    )  # fmt: skip
    expense = expense_services.expense_create(
        actor=principal_for(elsewhere),
        project=ProjectFactory(workspace=elsewhere.workspace, team=[elsewhere]),
        date=june(10),
        amount="5.00",
        category="Travel",
    )
    client.force_login(admin.user)

    for name in ("invoice-detail", "invoice-pdf"):
        assert client.get(reverse(name, args=[SLUG, invoice.pk])).status_code == 404
    for name in ("invoice-issue", "invoice-delete", "invoice-paid", "invoice-void", "invoice-tax"):
        assert client.post(reverse(name, args=[SLUG, invoice.pk]), {"reason": "x", "tax_rate": "1"}).status_code == 404
    for name in ("expense-edit", "expense-receipt"):
        assert client.get(reverse(name, args=[SLUG, expense.pk])).status_code == 404
    assert client.post(reverse("expense-delete", args=[SLUG, expense.pk])).status_code == 404
    assert Invoice.objects.filter(pk=invoice.pk, status="draft").exists()
    assert Expense.objects.filter(pk=expense.pk).exists()


def test_a_workspace_the_user_is_not_in_is_not_found(client, admin):
    WorkspaceFactory(slug="globex")
    client.force_login(admin.user)
    for name in ("reports", "invoices", "expenses"):
        assert client.get(reverse(name, args=["globex"])).status_code == 404


@pytest.mark.parametrize(
    "url_name", ["reports", "report-utilization", "report-budget", "report-unbilled", "report-profitability",
                 "invoices", "invoice-build", "expenses", "expense-new"],
)  # fmt: skip
def test_anonymous_visitors_are_sent_to_sign_in(client, workspace, url_name):
    response = client.get(reverse(url_name, args=[SLUG]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_profitability_is_linked_only_for_those_who_may_open_it(client, manager, admin):
    client.force_login(manager.user)
    page = client.get(reverse("reports", args=[SLUG]))
    assert [tab["label"] for tab in page.context["tabs"]] == ["Hours", "Utilization", "Budget burn", "Unbilled"]
    assert reverse("report-profitability", args=[SLUG]) not in page.content.decode()
    client.force_login(admin.user)
    page = client.get(reverse("reports", args=[SLUG]))
    assert reverse("report-profitability", args=[SLUG]) in page.content.decode()


def test_members_see_neither_the_unbilled_nor_the_profitability_tab(client, member):
    client.force_login(member.user)
    page = client.get(reverse("reports", args=[SLUG]))
    assert [tab["label"] for tab in page.context["tabs"]] == ["Hours", "Utilization", "Budget burn"]
