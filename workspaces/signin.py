"""Signing in: brute-force throttling on the login form and an audit event for every attempt."""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import user_logged_in, user_login_failed
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest

from workspaces import audit
from workspaces.models import Channel, Outcome, User


def _throttle_key(username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{ip}".encode()).hexdigest()[:32]
    return f"login-failures:{digest}"


def _ip(request: HttpRequest | None) -> str:
    return (request.META.get("REMOTE_ADDR") or "") if request is not None else ""


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses further tries for a username from an address after too many failures in a window."""

    def clean(self) -> dict[str, Any]:
        key = _throttle_key(self.data.get("username", ""), _ip(self.request))
        if cache.get(key, 0) >= settings.LOGIN_FAILURE_LIMIT:
            minutes = settings.LOGIN_FAILURE_WINDOW_SECONDS // 60
            raise forms.ValidationError(
                f"Too many failed sign-ins for this account from your address. Try again in {minutes} minutes.",
                code="throttled",
            )
        try:
            return super().clean()
        except forms.ValidationError:
            cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)
            cache.incr(key)
            raise


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """The admin's sign-in form, with the same throttling."""


class SignInView(LoginView):
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True


@receiver(user_logged_in)
def _audit_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    audit.record(
        action="auth.login",
        user=user,
        channel=Channel.ADMIN if request is not None and request.path.startswith("/admin/") else Channel.WEB,
        detail={"ip": _ip(request)},
    )


@receiver(user_login_failed)
def _audit_login_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    audit.publish(
        action="auth.login",
        outcome=Outcome.DENIED,
        channel=Channel.WEB,
        detail={"username": str(credentials.get("username", ""))[:150], "ip": _ip(request)},
    )
