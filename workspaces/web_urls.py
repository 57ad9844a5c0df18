"""Web pages under /w/<workspace_slug>/: projects, tasks and clients; the workspace's settings."""

from django.urls import path

from workspaces import web_catalog, web_settings

urlpatterns = [
    path("projects/", web_catalog.projects, name="projects"),
    path("projects/new", web_catalog.project_new, name="project-new"),
    path("projects/<int:project_id>/", web_catalog.project_detail, name="project-detail"),
    path("projects/<int:project_id>/edit", web_catalog.project_edit, name="project-edit"),
    path("projects/<int:project_id>/archive", web_catalog.project_archive_view, name="project-archive"),
    path("projects/<int:project_id>/tasks/new", web_catalog.task_new, name="task-new"),
    path("tasks/<int:task_id>/edit", web_catalog.task_edit, name="task-edit"),
    path("tasks/<int:task_id>/archive", web_catalog.task_archive_view, name="task-archive"),
    path("clients/", web_catalog.clients, name="clients"),
    path("clients/new", web_catalog.client_new, name="client-new"),
    path("clients/<int:client_id>/edit", web_catalog.client_edit, name="client-edit"),
    path("clients/<int:client_id>/archive", web_catalog.client_archive_view, name="client-archive"),
    path("settings/", web_settings.settings_workspace, name="settings"),
    path("settings/lock-date", web_settings.settings_lock_date, name="settings-lock-date"),
    path("settings/members/", web_settings.settings_members, name="settings-members"),
    path("settings/members/invite", web_settings.member_invite_view, name="member-invite"),
    path("settings/members/<int:member_id>/", web_settings.member_edit_view, name="member-edit"),
    path("settings/members/<int:member_id>/deactivate", web_settings.member_deactivate_view, name="member-deactivate"),
    path("settings/rates/", web_settings.settings_rates, name="settings-rates"),
    path("settings/rates/members/<int:member_id>", web_settings.member_rates, name="member-rates"),
    path("settings/rates/projects/<int:project_id>", web_settings.project_rate, name="project-rate"),
]
