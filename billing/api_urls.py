"""REST routes of the billing app under /api/v1/workspaces/<workspace_slug>/ (see timetracker/urls.py)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
