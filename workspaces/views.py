"""Web views of the workspaces app: the OAuth consent page."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.forms import AllowForm
from oauth2_provider.models import get_application_model
from oauth2_provider.views import AuthorizationView
from oauth2_provider.views.dynamic_client_registration import DynamicClientRegistrationView
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error

from workspaces import connection_services, policies
from workspaces.errors import DomainError
from workspaces.models import Membership, User
from workspaces.selectors import membership_list_for_user

SCOPE_WORDS = {
    "read": "See your hours, projects, clients, budgets and reports in the chosen workspace",
    "write": "Log, change and delete time on your behalf (billable time waits for your review)",
    "admin": "Administer the workspace: settings, members and the audit trail",
}


class ConsentForm(AllowForm):
    workspace = forms.ChoiceField(label="Workspace", widget=forms.RadioSelect)
    allow_sensitive = forms.BooleanField(required=False, label="Allow sensitive financial & contact data")


class ConsentView(AuthorizationView):
    """DOT's authorization endpoint with our consent page: one workspace, sensitive data off by default."""

    template_name = "oauth/consent.html"
    form_class = ConsentForm
    connection_id: int | None = None

    def _memberships(self) -> list[Membership]:
        assert isinstance(self.request.user, User)  # DOT's view requires a signed-in user
        return list(membership_list_for_user(user=self.request.user))

    def get_form(self, form_class: Any = None) -> ConsentForm:
        form: ConsentForm = super().get_form(form_class)
        memberships = self._memberships()
        workspace_field = form.fields["workspace"]
        assert isinstance(workspace_field, forms.ChoiceField)
        workspace_field.choices = [(str(m.pk), m.workspace.name) for m in memberships]
        if len(memberships) == 1:
            form.fields["workspace"].initial = str(memberships[0].pk)
        return form

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        memberships = self._memberships()
        requested = list(context.get("scopes") or [])
        redirect_uri = context.get("redirect_uri") or ""
        context.update(
            memberships=memberships,
            redirect_host=urlparse(redirect_uri).netloc,
            scope_rows=[
                {
                    "scope": scope,
                    "words": SCOPE_WORDS.get(scope, scope),
                    "roles": [m.workspace.name for m in memberships if scope in policies.scopes_for_role(m.role)],
                }
                for scope in requested
            ],
            can_allow_sensitive=any(policies.can_allow_sensitive(m.role) for m in memberships),
        )
        return context

    def _pkce_error(self, data: Any, redirect_uri: str, application: Any) -> HttpResponse | None:
        """PKCE with S256 is required; plain or missing is refused before anything is shown or stored."""
        if data.get("code_challenge") and data.get("code_challenge_method") == "S256":
            return None
        if not application.redirect_uri_allowed(redirect_uri):
            return HttpResponseBadRequest("The redirect URI does not match the client's registration.")
        error = OAuthToolkitError(
            error=CustomOAuth2Error(
                error="invalid_request",
                description="PKCE is required with code_challenge_method=S256.",
                state=data.get("state"),
            ),
            redirect_uri=redirect_uri,
        )
        response: HttpResponse = self.error_response(error, application)
        return response

    def get(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            _, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError:
            return super().get(request, *args, **kwargs)  # DOT answers a bad client or redirect
        application = get_application_model().objects.get(client_id=credentials["client_id"])
        refused = self._pkce_error(request.GET, credentials["redirect_uri"], application)
        response: HttpResponse = refused or super().get(request, *args, **kwargs)
        return response

    def form_valid(self, form: ConsentForm) -> HttpResponse:
        assert isinstance(self.request.user, User)
        application = get_application_model().objects.get(client_id=form.cleaned_data["client_id"])
        refused = self._pkce_error(form.cleaned_data, form.cleaned_data["redirect_uri"], application)
        if refused is not None:
            return refused
        membership = next((m for m in self._memberships() if str(m.pk) == form.cleaned_data["workspace"]), None)
        if not form.cleaned_data.get("allow") or membership is None:
            connection_services.oauth_consent_deny(
                user=self.request.user, application=application, membership=membership
            )
            form.cleaned_data["allow"] = False
            return super().form_valid(form)
        try:
            connection = connection_services.oauth_consent_approve(
                user=self.request.user,
                application=application,
                membership=membership,
                requested_scopes=form.cleaned_data["scope"].split(),
                allow_sensitive=form.cleaned_data["allow_sensitive"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        self.connection_id = connection.pk
        form.cleaned_data["scope"] = connection.scopes  # only what was granted
        return super().form_valid(form)

    def create_authorization_response(self, request: Any, scopes: str, credentials: dict[str, Any], allow: bool) -> Any:
        # oauthlib copies credentials onto its request; the validator stores this on the grant.
        credentials = {**credentials, "connection_id": self.connection_id}
        return super().create_authorization_response(request, scopes, credentials, allow)


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def redirect_uri_problem(uri: str) -> str | None:
    """Registration accepts https redirects, and plain http only to this machine (RFC 8252 loopback)."""
    parsed = urlparse(uri)
    if parsed.fragment:
        return f"{uri!r}: a redirect URI must not have a fragment."
    if parsed.scheme == "https" and parsed.hostname:
        return None
    if parsed.scheme == "http" and parsed.hostname in LOOPBACK_HOSTS:
        return None
    return f"{uri!r}: use https, or http only on a loopback address (127.0.0.1, [::1], localhost)."


@method_decorator(csrf_exempt, name="dispatch")
class ClientRegistrationView(DynamicClientRegistrationView):
    """RFC 7591 registration open to public clients, rate-limited per address, redirect rule enforced."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        limit = int(settings.OAUTH_DCR_REGISTRATIONS_PER_HOUR)
        key = f"dcr:{request.META.get('REMOTE_ADDR', '')}"
        cache.add(key, 0, timeout=3600)
        if cache.incr(key) > limit:
            throttled = JsonResponse(
                {"error": "too_many_requests", "error_description": "Too many registrations; try again later."},
                status=429,
            )
            throttled["Retry-After"] = "3600"
            return throttled
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            data = None
        if isinstance(data, dict):
            if data.get("token_endpoint_auth_method", "client_secret_basic") != "none":
                return _registration_error(
                    "invalid_client_metadata", "Only public clients register here: token_endpoint_auth_method=none."
                )
            for uri in data.get("redirect_uris") or []:
                problem = redirect_uri_problem(str(uri))
                if problem:
                    return _registration_error("invalid_redirect_uri", problem)
        response: HttpResponse = super().post(request, *args, **kwargs)
        return response


def _registration_error(error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=400)
