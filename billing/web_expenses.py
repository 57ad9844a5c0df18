"""Web face of expenses: the list with filters, create and edit with a receipt upload, delete, and
the receipt download. Members see and log their own; managers and up everyone's — as
``expense_list`` and the expense services decide, exactly as for the REST API."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from billing import expense_services
from billing.forms import ExpenseFilterForm, ExpenseForm, workspace_today
from billing.models import Expense
from billing.selectors import expense_get, expense_list
from workspaces import policies
from workspaces.errors import DomainError
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.web import redirect_back, show_error, workspace_view

PAGE_SIZE = 50


def _list_url(principal: Principal) -> str:
    return reverse("expenses", args=[principal.workspace.slug])


@workspace_view(Perm.TIME_VIEW_OWN)
def expenses(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Expenses the caller may see, newest first, filtered by days, project and (managers) member."""
    sees_everyone = policies.can(principal, Perm.TIME_VIEW_ALL)
    form = ExpenseFilterForm(request.GET or None, principal=principal, sees_everyone=sees_everyone)
    if form.is_bound and not form.is_valid():
        rows = expense_list(actor=principal).none()
    else:
        rows = expense_list(actor=principal, **(form.selector_filters() if form.is_bound else {}))
    page = Paginator(rows.order_by("-date", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/expense_list.html",
        {
            "form": form,
            "page": page,
            "filtered": any(request.GET.get(name) for name in form.fields),
            "sees_everyone": sees_everyone,
            "can_log": policies.can(principal, Perm.TIME_LOG_OWN),
        },
        status=400 if form.errors else 200,
    )


def _form_page(
    request: HttpRequest, form: ExpenseForm, *, expense: Expense | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "billing/expense_form.html",
        {"form": form, "expense": expense, "next": redirect_back(request, "")},
        status=status,
    )


@workspace_view(Perm.TIME_LOG_OWN, methods=("GET", "HEAD", "POST"))
def expense_new(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Record money spent on a project (managers may record it for another member)."""
    for_others = policies.can(principal, Perm.TIME_LOG_ANY)
    if request.method != "POST":
        initial = {"date": workspace_today(principal.workspace), "billable": True}
        return _form_page(
            request, ExpenseForm(initial=initial, principal=principal, for_others=for_others, creating=True)
        )
    form = ExpenseForm(request.POST, request.FILES, principal=principal, for_others=for_others, creating=True)
    if form.is_valid():
        try:
            expense = expense_services.expense_create(actor=principal, **form.create_arguments())
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Expense of {expense.amount} {expense.currency} recorded.")
            return redirect(redirect_back(request, _list_url(principal)))
    return _form_page(request, form, status=400)


@workspace_view(Perm.TIME_LOG_OWN, methods=("GET", "HEAD", "POST"))
def expense_edit(request: HttpRequest, principal: Principal, expense_id: int) -> HttpResponse:
    """Change an expense; a new receipt replaces the old one. Invoiced or locked ones refuse."""
    expense = expense_get(actor=principal, expense_id=expense_id)
    arguments: dict[str, Any] = {"principal": principal, "for_others": False, "creating": False}
    if request.method != "POST":
        initial = {name: getattr(expense, name) for name in ExpenseForm.UPDATABLE}
        return _form_page(request, ExpenseForm(initial=initial, **arguments), expense=expense)
    form = ExpenseForm(request.POST, request.FILES, **arguments)
    if form.is_valid():
        try:
            expense = expense_services.expense_update(actor=principal, expense=expense, data=form.update_data())
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Expense of {expense.amount} {expense.currency} saved.")
            return redirect(redirect_back(request, _list_url(principal)))
    return _form_page(request, form, expense=expense, status=400)


@workspace_view(Perm.TIME_LOG_OWN, methods=("POST",))
def expense_delete(request: HttpRequest, principal: Principal, expense_id: int) -> HttpResponse:
    expense = expense_get(actor=principal, expense_id=expense_id)
    try:
        expense_services.expense_delete(actor=principal, expense=expense)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Expense of {expense.amount} {expense.currency} deleted.")
    return redirect(redirect_back(request, _list_url(principal)))


@workspace_view(Perm.TIME_VIEW_OWN)
def expense_receipt(request: HttpRequest, principal: Principal, expense_id: int) -> FileResponse:
    """The receipt of an expense the caller may see (as the REST download)."""
    expense = expense_get(actor=principal, expense_id=expense_id)
    if not expense.receipt:
        raise Http404("This expense has no receipt.")
    return FileResponse(expense.receipt.open("rb"), as_attachment=True, filename=expense.receipt.name.rsplit("/")[-1])
