"""Celery tasks of billing. They hold no logic: they call a service, retry, and are idempotent."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from workspaces.models import User


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_email(*, user_ids: list[int], subject: str, body: str) -> None:
    emails = [e for e in User.objects.filter(pk__in=user_ids, is_active=True).values_list("email", flat=True) if e]
    if emails:
        send_mail(subject=subject[:150], message=body, from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=emails)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def check_budgets() -> int:
    """Beat: look for newly crossed budget thresholds in every active workspace."""
    from billing.services import budget_alerts_check_all

    return budget_alerts_check_all()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def render_invoice_pdf(*, invoice_id: int) -> str:
    """Render and store an issued invoice's PDF (idempotent: a redelivery renders it again)."""
    from billing.invoice_services import invoice_pdf_store

    invoice = invoice_pdf_store(invoice_id=invoice_id)
    return invoice.pdf.name if invoice is not None else ""


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def export_workspace(*, export_id: int) -> str:
    """Build a workspace's data-portability zip (idempotent: a finished export is left as is)."""
    from billing.portability import workspace_export_build

    return workspace_export_build(export_id=export_id).file.name
