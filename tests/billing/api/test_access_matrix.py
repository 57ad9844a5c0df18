"""Access matrix of the billing app's REST endpoints (harness: tests/api_matrix.py)."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing import expense_services
from billing import invoice_services as invoices
from tests.api_matrix import Case, case_id, cases_by_caller, check
from tests.billing.test_invoices import JUNE, WEEK, approve, work
from tests.conftest import principal_for
from tests.factories import ClientFactory, ProjectFactory

pytestmark = pytest.mark.django_db
OPEN_DAY = date(2026, 6, 10)  # a week nobody submitted
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

PERIOD = "date_from=2026-06-01&date_to=2026-06-30"
TABLE = [
    Case("GET", f"reports/hours-summary?{PERIOD}", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", f"reports/utilization?{PERIOD}", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", "reports/budget-health", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", "reports/unbilled", "read", member=403, manager=200, admin=200, owner=200),
    Case("GET", f"reports/profitability?{PERIOD}", "read", member=403, manager=200, admin=200, owner=200),
    Case("GET", "projects/{project}/budget", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", "expenses", "read", member=200, manager=200, admin=200, owner=200),
    Case(
        "POST", "expenses", "write", member=201, manager=201, admin=201, owner=201,
        body={"project": "{project}", "date": "2026-06-10", "amount": "12.50", "category": "Travel"},
    ),
    Case("GET", "expenses/{own_expense}", "read", member=200, manager=200, admin=200, owner=200),
    Case("PATCH", "expenses/{own_expense}", "write", member=200, manager=200, admin=200, owner=200,
         body={"description": "Taxi"}),
    Case("DELETE", "expenses/{own_expense}", "write", member=204, manager=204, admin=204, owner=204),
    Case("GET", "expenses/{others_expense}", "read", member=404, manager=200, admin=200, owner=200),
    Case("GET", "expenses/{own_expense}/receipt", "read", member=200, manager=200, admin=200, owner=200),
    Case("POST", "expenses/{own_expense}/receipt", "write", member=200, manager=200, admin=200, owner=200,
         multipart=True, body={"receipt": PNG}),
    Case("GET", "invoices", "read", member=403, manager=200, admin=200, owner=200),
    Case(
        "POST", "invoices/build", "write", member=403, manager=403, admin=201, owner=201,
        body={"client": "{fresh_client}", "period_start": "2026-06-01", "period_end": "2026-06-30"},
    ),
    Case("GET", "invoices/{draft}", "read", member=403, manager=200, admin=200, owner=200),
    Case("PATCH", "invoices/{draft}", "write", member=403, manager=403, admin=200, owner=200, body={"tax_rate": "7.00"}),
    Case("DELETE", "invoices/{draft}", "write", member=403, manager=403, admin=204, owner=204),
    Case("POST", "invoices/{draft}/issue", "write", member=403, manager=403, admin=200, owner=200),
    Case("POST", "invoices/{issued}/mark-paid", "write", member=403, manager=403, admin=200, owner=200),
    Case("POST", "invoices/{issued}/void", "write", member=403, manager=403, admin=200, owner=200),
    Case("GET", "invoices/{issued}/pdf", "read", member=403, manager=200, admin=200, owner=200),
]  # fmt: skip


@pytest.fixture
def roles(member, manager, admin, owner):
    return {"member": member, "manager": manager, "admin": admin, "owner": owner}


@pytest.fixture
def world(project, workspace, member, other_member, admin, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    approve(member)
    as_admin = principal_for(admin)
    invoiced = []
    for name in ("Draft Co", "Issued Co", "Fresh Co"):
        client = ClientFactory(workspace=workspace, name=name)
        work(member, ProjectFactory(workspace=workspace, client=client, team=[member]), WEEK, 3600)
        invoiced.append(client)
    draft = invoices.invoice_build(actor=as_admin, client=invoiced[0], period_start=JUNE[0], period_end=JUNE[1])
    issued = invoices.invoice_build(actor=as_admin, client=invoiced[1], period_start=JUNE[0], period_end=JUNE[1])
    invoices.invoice_issue(actor=as_admin, invoice=issued)
    invoices.invoice_pdf_store(invoice_id=issued.pk)
    own = expense_services.expense_create(
        actor=principal_for(member),
        project=project,
        date=OPEN_DAY,
        amount="30.00",
        category="Travel",
        receipt=SimpleUploadedFile("r.png", PNG, content_type="image/png"),
    )
    others = expense_services.expense_create(
        actor=principal_for(admin), member=other_member, project=project, date=OPEN_DAY, amount="5.00", category="Food"
    )
    return {
        "project": project.pk, "draft": draft.pk, "issued": issued.pk, "fresh_client": invoiced[2].pk,
        "own_expense": own.pk, "others_expense": others.pk,
    }  # fmt: skip


@pytest.mark.parametrize("pair", cases_by_caller(TABLE), ids=case_id)
def test_access(pair, roles, world):
    case, caller = pair
    check(case, caller, roles, world)
