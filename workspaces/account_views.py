"""Account → Connected apps & API keys: see, create and revoke the connections one may manage."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from workspaces import connection_services
from workspaces.connection_selectors import connection_list_for_user
from workspaces.errors import DomainError, NotFound
from workspaces.models import Connection, User
from workspaces.selectors import get_or_not_found, membership_list_for_user, principal_for_user

SCOPE_CHOICES = [("read", "Read"), ("write", "Write"), ("admin", "Admin")]


class ApiKeyForm(forms.Form):
    workspace = forms.ChoiceField()
    label = forms.CharField(max_length=200, help_text="What the key is for, e.g. 'Nightly export'.")
    scopes = forms.MultipleChoiceField(choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple, initial=["read"])
    allow_sensitive = forms.BooleanField(required=False, label="Allow sensitive financial & contact data")
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        workspace = self.fields["workspace"]
        assert isinstance(workspace, forms.ChoiceField)
        workspace.choices = [(m.workspace.slug, m.workspace.name) for m in membership_list_for_user(user=user)]


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required
    return request.user


@login_required
@require_http_methods(["GET", "POST"])
def connections(request: HttpRequest) -> HttpResponse:
    """List the connections; a POST creates an API key and shows its secret this once."""
    user = _user(request)
    form = ApiKeyForm(request.POST or None, user=user)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            principal = principal_for_user(user=user, workspace_slug=form.cleaned_data["workspace"])
            expires_on = form.cleaned_data["expires_on"]
            expires_at = (
                datetime.combine(expires_on, time.max, tzinfo=principal.workspace.tzinfo) if expires_on else None
            )
            new = connection_services.api_key_create(
                actor=principal,
                label=form.cleaned_data["label"],
                scopes=form.cleaned_data["scopes"],
                allow_sensitive=form.cleaned_data["allow_sensitive"],
                expires_at=expires_at,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            new_secret = new.secret
            form = ApiKeyForm(user=user)
    status = 400 if request.method == "POST" and new_secret is None else 200
    return render(
        request,
        "account/connections.html",
        {
            **_split(connection_list_for_user(user=user)),
            "form": form,
            "new_secret": new_secret,
        },
        status=status,
    )


def _split(connections: Iterable[Connection]) -> dict[str, list[Connection]]:
    """Working connections first; revoked and expired ones are history."""
    now = timezone.now()
    split: dict[str, list[Connection]] = {"active": [], "inactive": []}
    for connection in connections:
        ended = connection.revoked_at is not None or (
            connection.expires_at is not None and connection.expires_at <= now
        )
        split["inactive" if ended else "active"].append(connection)
    return split


@login_required
@require_POST
def connection_revoke(request: HttpRequest, connection_id: int) -> HttpResponse:
    user = _user(request)
    try:
        connection = get_or_not_found(connection_list_for_user(user=user), connection_id, label="Connection")
        principal = principal_for_user(user=user, workspace_slug=connection.workspace.slug)
    except NotFound as exc:
        raise Http404(exc.message) from None
    try:
        connection_services.connection_revoke(actor=principal, connection=connection)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Revoked “{connection}”. Its tokens stopped working at once.")
    return redirect("account-connections")
