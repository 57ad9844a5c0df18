"""REST routes of the workspaces app under /api/v1/workspaces/<workspace_slug>/ (see timetracker/urls.py)."""

from django.urls import path

from workspaces import api_access, api_catalog, api_people, api_projects

urlpatterns = [
    path("members", api_people.MemberListView.as_view(), name="api-members"),
    path("members/invite", api_people.MemberInviteView.as_view(), name="api-member-invite"),
    path("members/<int:pk>", api_people.MemberDetailView.as_view(), name="api-member"),
    path("members/<int:pk>/deactivate", api_people.MemberDeactivateView.as_view(), name="api-member-deactivate"),
    path("clients", api_catalog.ClientListView.as_view(), name="api-clients"),
    path("clients/<int:pk>", api_catalog.ClientDetailView.as_view(), name="api-client"),
    path("clients/<int:pk>/archive", api_catalog.ClientArchiveView.as_view(), name="api-client-archive"),
    path("projects", api_projects.ProjectListView.as_view(), name="api-projects"),
    path("projects/<int:pk>", api_projects.ProjectDetailView.as_view(), name="api-project"),
    path("projects/<int:pk>/archive", api_projects.ProjectArchiveView.as_view(), name="api-project-archive"),
    path("tasks", api_projects.TaskListView.as_view(), name="api-tasks"),
    path("tasks/<int:pk>", api_projects.TaskDetailView.as_view(), name="api-task"),
    path("tasks/<int:pk>/archive", api_projects.TaskArchiveView.as_view(), name="api-task-archive"),
    path("tags", api_catalog.TagListView.as_view(), name="api-tags"),
    path("tags/<int:pk>", api_catalog.TagDetailView.as_view(), name="api-tag"),
    path("tags/<int:pk>/archive", api_catalog.TagArchiveView.as_view(), name="api-tag-archive"),
    path("connections", api_access.ConnectionListView.as_view(), name="api-connections"),
    path("connections/<int:pk>/revoke", api_access.ConnectionRevokeView.as_view(), name="api-connection-revoke"),
    path("api-keys", api_access.ApiKeyListView.as_view(), name="api-api-keys"),
    path("api-keys/<int:pk>/revoke", api_access.ApiKeyRevokeView.as_view(), name="api-api-key-revoke"),
    path("audit-events", api_access.AuditEventListView.as_view(), name="api-audit-events"),
]
