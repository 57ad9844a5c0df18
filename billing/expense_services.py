"""Writes of expenses: the same who-may and lock rules as time, amounts as Decimal, receipts checked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from billing.models import Expense
from timesheets.selectors import entry_lock_reason
from workspaces import audit, policies
from workspaces.errors import Forbidden, Invalid, Locked, NotFound
from workspaces.model_update import reject_unknown_fields
from workspaces.models import Membership, Project, ProjectStatus, Role
from workspaces.principals import Principal

MAX_RECEIPT_BYTES = 10 * 1024 * 1024
# What a receipt may be, told by its first bytes (the name and the browser's type can lie).
RECEIPT_SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
EXPENSE_FIELDS = {"project", "date", "amount", "category", "billable", "description", "receipt"}


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid("The amount is not a number.", fields={"amount": ["E.g. 42.50"]}) from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("10000000000"):
        raise Invalid("The amount must be positive with at most two decimals.", fields={"amount": ["E.g. 42.50"]})
    return amount


def receipt_check(receipt: UploadedFile) -> None:
    """At most 10 MB, and a PDF, PNG or JPEG by its content."""
    if receipt.size is not None and receipt.size > MAX_RECEIPT_BYTES:
        raise Invalid("The receipt is larger than 10 MB.", fields={"receipt": ["At most 10 MB."]})
    receipt.seek(0)
    head = receipt.read(16)
    receipt.seek(0)
    if not any(head.startswith(signature) for signature in RECEIPT_SIGNATURES):
        raise Invalid("A receipt must be a PDF, PNG or JPEG file.", fields={"receipt": ["PDF, PNG or JPEG."]})


def _check(actor: Principal, member: Membership, project: Project, day: date, *, new_project: bool) -> None:
    if project.workspace_id != actor.workspace.pk:
        raise Invalid("Project not found.", fields={"project": ["Project not found."]})
    if new_project and project.status != ProjectStatus.ACTIVE:
        raise Invalid("That project is archived.", fields={"project": ["Archived projects take no new costs."]})
    if new_project and member.role == Role.MEMBER and not project.team.filter(pk=member.pk).exists():
        raise Forbidden(f"{member.user.get_username()} is not on the team of {project.name}.")
    reason = entry_lock_reason(workspace=actor.workspace, member=member, day=day)
    if reason is not None:
        raise Locked(reason)


def _locked_member(actor: Principal, member: Membership | None) -> Membership:
    member_id = member.pk if member is not None else actor.membership.pk
    locked = (
        Membership.objects.select_for_update(of=("self",))  # the member only, as lock_member_for_time
        .select_related("user")
        .filter(pk=member_id, workspace=actor.workspace, is_active=True)
        .first()
    )
    if locked is None:
        raise NotFound("Member not found.")
    policies.ensure_time_write(actor, locked)
    return locked


@transaction.atomic
def expense_create(
    *,
    actor: Principal,
    project: Project,
    date: date,
    amount: Any,
    category: str,
    billable: bool = True,
    description: str = "",
    receipt: UploadedFile | None = None,
    member: Membership | None = None,
    state: str = "active",
) -> Expense:
    """Record money spent on a project, in the workspace currency, for the caller (or, for
    managers and up, another member). Locked days and weeks refuse it, as they refuse time."""
    member = _locked_member(actor, member)
    _check(actor, member, project, date, new_project=True)
    if not category.strip():
        raise Invalid("Give a category.", fields={"category": ["E.g. Travel, Software."]})
    if receipt is not None:
        receipt_check(receipt)
    expense = Expense(
        workspace=actor.workspace,
        member=member,
        project=project,
        date=date,
        amount=_amount(amount),
        currency=actor.workspace.currency,
        category=category.strip()[:60],
        billable=billable,
        description=description.strip()[:300],
        state=state,
        created_by=actor.user,
    )
    if receipt is not None:
        expense.receipt.save(receipt.name or "receipt", receipt, save=False)
    expense.save()
    audit.record(action="expense.create", actor=actor, target=expense, detail={"amount": str(expense.amount)})
    return expense


def _locked_expense(actor: Principal, expense: Expense) -> tuple[Expense, Membership]:
    if expense.workspace_id != actor.workspace.pk:
        raise NotFound("Expense not found.")
    member = _locked_member(actor, expense.member)
    locked = Expense.objects.select_for_update().filter(pk=expense.pk, workspace=actor.workspace).first()
    if locked is None:
        raise NotFound("Expense not found.")
    if locked.invoice_line_id is not None:
        raise Locked("This expense is on an invoice; void the invoice to change it.")
    return locked, member


@transaction.atomic
def expense_update(*, actor: Principal, expense: Expense, data: Mapping[str, Any]) -> Expense:
    """Change the allow-listed fields; neither the old nor the new day may be locked."""
    reject_unknown_fields(data, EXPENSE_FIELDS)
    expense, member = _locked_expense(actor, expense)
    _check(actor, member, expense.project, expense.date, new_project=False)
    project = data.get("project", expense.project)
    day = data.get("date", expense.date)
    _check(actor, member, project, day, new_project=project.pk != expense.project_id)
    changed = sorted(data)
    expense.project, expense.date = project, day
    if "amount" in data:
        expense.amount = _amount(data["amount"])
    if "category" in data:
        if not str(data["category"]).strip():
            raise Invalid("Give a category.", fields={"category": ["E.g. Travel, Software."]})
        expense.category = str(data["category"]).strip()[:60]
    if "billable" in data:
        expense.billable = bool(data["billable"])
    if "description" in data:
        expense.description = str(data["description"]).strip()[:300]
    if data.get("receipt") is not None:
        receipt_check(data["receipt"])
        expense.receipt.save(data["receipt"].name or "receipt", data["receipt"], save=False)
    expense.save()
    audit.record(action="expense.update", actor=actor, target=expense, detail={"fields": changed})
    return expense


@transaction.atomic
def expense_delete(*, actor: Principal, expense: Expense) -> None:
    expense, member = _locked_expense(actor, expense)
    _check(actor, member, expense.project, expense.date, new_project=False)
    audit.record(action="expense.delete", actor=actor, target=expense, detail={"amount": str(expense.amount)})
    expense.delete()
