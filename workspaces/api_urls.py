"""REST routes of the workspaces app under /api/v1/workspaces/<workspace_slug>/ (see timetracker/urls.py)."""

from django.urls import path

from workspaces import api_catalog

urlpatterns = [
    path("tags", api_catalog.TagListView.as_view(), name="api-tags"),
    path("tags/<int:pk>", api_catalog.TagDetailView.as_view(), name="api-tag"),
    path("tags/<int:pk>/archive", api_catalog.TagArchiveView.as_view(), name="api-tag-archive"),
]
