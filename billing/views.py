"""Web views of billing. For now: downloading an invoice's PDF."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from billing.selectors import invoice_get
from workspaces.errors import DomainError, NotFound
from workspaces.models import User
from workspaces.selectors import principal_for_user


@login_required
@require_safe
def invoice_pdf(request: HttpRequest, workspace_slug: str, invoice_id: int) -> FileResponse:
    """The stored PDF of an issued invoice, for managers and up of its workspace."""
    assert isinstance(request.user, User)  # login_required
    try:
        principal = principal_for_user(user=request.user, workspace_slug=workspace_slug)
        invoice = invoice_get(actor=principal, invoice_id=invoice_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    except DomainError as exc:
        raise Http404("Invoice not found.") from exc
    if not invoice.pdf:
        raise Http404("This invoice has no PDF yet: it is a draft, or it is still being rendered.")
    return FileResponse(
        invoice.pdf.open("rb"),
        as_attachment=True,
        filename=f"invoice-{invoice.number}.pdf",
        content_type="application/pdf",
    )
