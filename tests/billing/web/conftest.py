"""Fixtures of the billing web pages: a client with approved, billable June work, and helpers
that read what a page rendered (its chart's config, its downloads)."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from billing import invoice_services as invoices
from billing.models import Invoice
from tests.billing.test_invoices import JUNE, WEEK, approve, work
from tests.conftest import principal_for
from tests.factories import ClientFactory, ProjectFactory
from workspaces.models import Client

SLUG = "acme"
JUNE_QUERY = {"date_from": "2026-06-01", "date_to": "2026-06-30"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def login(client):
    """``login(membership)`` signs that person in and returns the test client."""

    def sign_in(membership):
        client.force_login(membership.user)
        return client

    return sign_in


@pytest.fixture
def globex(workspace, member) -> Client:
    """A client with 1.5 approved, billable hours at 100.00 in the first week of June 2026."""
    client = ClientFactory(workspace=workspace, name="Globex")
    approve(member)
    work(member, ProjectFactory(workspace=workspace, client=client, name="Globex site", team=[member]), WEEK, 5400)
    return client


@pytest.fixture
def draft(admin, globex) -> Invoice:
    """Globex's draft: one time line of 150.00, 19 % tax."""
    return invoices.invoice_build(
        actor=principal_for(admin), client=globex, period_start=JUNE[0], period_end=JUNE[1], tax_rate=Decimal("19")
    )


@pytest.fixture
def issued(admin, draft) -> Invoice:
    return invoices.invoice_issue(actor=principal_for(admin), invoice=draft)


def chart_config(response, element_id: str = "report-chart") -> dict[str, Any]:
    """The Chart.js config a page rendered with ``json_script``, and the canvas that draws it."""
    html = response.content.decode()
    assert f'data-chart="{element_id}"' in html, "no canvas draws this chart"
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert found, "no chart config on the page"
    return json.loads(found.group(1))


def csv_text(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


def xlsx_rows(response) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def june(day: int) -> date:
    return date(2026, 6, day)
