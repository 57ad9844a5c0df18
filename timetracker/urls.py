from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from oauth2_provider import urls as dot_urls

from timetracker import views
from workspaces.api import MeView, WorkspaceDetailView
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
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("oauth/", include((oauth_urlpatterns, "oauth2_provider"))),
    # RFC 8414 and RFC 9728 documents live at the origin's root.
    path("", include((dot_urls.metadata_urlpatterns, "oauth_metadata"))),
    path("api/v1/me", MeView.as_view(), name="api-me"),
    path("api/v1/workspaces/<slug:workspace_slug>", WorkspaceDetailView.as_view(), name="api-workspace"),
    path("admin/", admin.site.urls),
]
