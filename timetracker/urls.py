from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from oauth2_provider import urls as dot_urls

from timetracker import views
from workspaces import account_views, audit_views
from workspaces.api import MeView, WorkspaceDetailView
from workspaces.api_people import WorkspaceListView
from workspaces.signin import SignInView
from workspaces.views import ClientRegistrationView, ConsentView

# DOT's endpoints under /oauth/, with our consent page as the authorization endpoint; no
# device flow, no application-management pages (admins use Django admin).
oauth_urlpatterns = [
    path("authorize/", ConsentView.as_view(), name="authorize"),
    *[p for p in dot_urls.base_urlpatterns if p.name in {"token", "revoke-token", "introspect"}],
    path("register/", ClientRegistrationView.as_view(), name="dcr-register"),
    *[p for p in dot_urls.dcr_urlpatterns if p.name != "dcr-register"],
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", views.home, name="home"),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("oauth/", include((oauth_urlpatterns, "oauth2_provider"))),
    # RFC 8414 and RFC 9728 documents live at the origin's root.
    path("", include((dot_urls.metadata_urlpatterns, "oauth_metadata"))),
    path("api/v1/me", MeView.as_view(), name="api-me"),
    path("api/v1/workspaces", WorkspaceListView.as_view(), name="api-workspaces"),
    path("api/v1/workspaces/<slug:workspace_slug>", WorkspaceDetailView.as_view(), name="api-workspace"),
    path("api/v1/workspaces/<slug:workspace_slug>/", include("workspaces.api_urls")),
    path("api/v1/workspaces/<slug:workspace_slug>/", include("timesheets.api_urls")),
    path("api/v1/workspaces/<slug:workspace_slug>/", include("billing.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("account/connections/", account_views.connections, name="account-connections"),
    path(
        "account/connections/<int:connection_id>/revoke/",
        account_views.connection_revoke,
        name="account-connection-revoke",
    ),
    path("w/<slug:workspace_slug>/", include("timesheets.web_urls")),
    path("w/<slug:workspace_slug>/", include("workspaces.web_urls")),
    path("w/<slug:workspace_slug>/", include("billing.web_urls")),
    path("w/<slug:workspace_slug>/audit/", audit_views.audit_log, name="audit-log"),
    path("w/<slug:workspace_slug>/audit/export.csv", audit_views.audit_log_csv, name="audit-log-csv"),
    path("admin/", admin.site.urls),
]
