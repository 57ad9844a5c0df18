"""Celery tasks of the workspaces app. They hold no logic: they call a service and retry."""

from celery import shared_task

from workspaces import notifications


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(self: object, *, user_id: int, workspace_id: int) -> None:
    notifications.invitation_email_send(user_id=user_id, workspace_id=workspace_id)
