"""Outgoing messages to people (email now; in-app notifications join later)."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from workspaces.models import User, Workspace


def invitation_email_send(*, user_id: int, workspace_id: int) -> None:
    """Email the invited person a link to set their password and sign in."""
    user = User.objects.get(pk=user_id)
    workspace = Workspace.objects.get(pk=workspace_id)
    if not user.email:
        return
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    base_url = getattr(settings, "PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    send_mail(
        subject=f"You have been invited to {workspace.name} on timetracker",
        message=(
            f"Hello,\n\nYou were added to the workspace “{workspace.name}”.\n"
            f"Set your password and sign in here:\n{base_url}{path}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )
