"""Access: the Connection every non-browser caller acts through, and the OAuth models.

django-oauth-toolkit's models are swapped for these subclasses (settings
``OAUTH2_PROVIDER_*_MODEL``) so that every grant, access token and refresh token points at
the Connection it was issued for, with a real foreign key. Everything else about them is
DOT's own.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractApplication,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
    ApplicationManager,
)

from workspaces.models.core import AgentBillablePolicy, AgentNonBillablePolicy, Workspace


class ConnectionKind(models.TextChoices):
    OAUTH = "oauth", "OAuth grant"
    API_KEY = "api_key", "API key"


class Connection(models.Model):
    """One principal for a non-browser caller: an OAuth grant or an API key, bound to one workspace."""

    kind = models.CharField(max_length=10, choices=ConnectionKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="connections")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="connections")
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="connections",
    )
    label = models.CharField(max_length=200, blank=True)
    # Space-separated, as OAuth writes scopes: a subset of "read write admin".
    scopes = models.CharField(max_length=100, default="read")
    allow_sensitive = models.BooleanField(
        default=False, help_text="May see cost rates, margins and client contact data (admins only)."
    )
    # A connection may be stricter than its workspace's agent policy, never looser (empty = inherit).
    agent_nonbillable_policy = models.CharField(
        max_length=10, choices=AgentNonBillablePolicy.choices, blank=True, default=""
    )
    agent_billable_policy = models.CharField(max_length=10, choices=AgentBillablePolicy.choices, blank=True, default="")
    # API keys: only a recognisable prefix and a hash of the secret are kept.
    key_prefix = models.CharField(max_length=16, blank=True)
    key_hash = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    # When the person last consented: refresh tokens die a fixed time after it, however used.
    authorized_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="api_key", application__isnull=True, key_hash__gt="")
                | Q(kind="oauth", application__isnull=False, key_hash=""),
                name="connection_kind_matches_credentials",
            ),
            models.UniqueConstraint(fields=["key_hash"], condition=~Q(key_hash=""), name="connection_unique_key_hash"),
            # One live OAuth connection per app, user and workspace: consenting again updates it.
            models.UniqueConstraint(
                fields=["application", "user", "workspace"],
                condition=Q(kind="oauth", revoked_at__isnull=True),
                name="connection_one_live_oauth_grant",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "kind", "revoked_at"], name="connection_ws_kind_idx")]

    def __str__(self) -> str:
        name = self.label or (self.application.name if self.application else self.key_prefix)
        return f"{name} ({self.get_kind_display()}, {self.user}, {self.workspace})"

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class OAuthApplication(AbstractApplication):
    """An OAuth client (registered by an admin, dynamically, or via a metadata document)."""

    objects = ApplicationManager()

    class Meta(AbstractApplication.Meta):
        verbose_name = "OAuth application"

    def natural_key(self) -> tuple[str]:
        return (self.client_id,)


class OAuthGrant(AbstractGrant):
    """An authorization code; it carries the connection the consent created or updated."""

    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta(AbstractGrant.Meta):
        verbose_name = "OAuth grant"


class OAuthAccessToken(AbstractAccessToken):
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="access_tokens"
    )

    class Meta(AbstractAccessToken.Meta):
        verbose_name = "OAuth access token"


class OAuthRefreshToken(AbstractRefreshToken):
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="refresh_tokens"
    )

    class Meta(AbstractRefreshToken.Meta):
        verbose_name = "OAuth refresh token"


class OAuthIDToken(AbstractIDToken):
    class Meta(AbstractIDToken.Meta):
        verbose_name = "OAuth ID token"
