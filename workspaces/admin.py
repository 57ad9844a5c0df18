"""Django admin for the workspaces app. Admin changes are audited; audit events are read-only."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models, transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, StreamingHttpResponse

from workspaces import audit
from workspaces.audit_selectors import CSV_COLUMNS, audit_csv_rows
from workspaces.connection_services import connection_revoke
from workspaces.errors import DomainError
from workspaces.models import (
    AuditDeadLetter,
    AuditEvent,
    Channel,
    Client,
    Connection,
    Membership,
    Project,
    Tag,
    Task,
    User,
    Workspace,
)
from workspaces.services import workspace_settings_saved
from workspaces.signin import ThrottledAdminAuthenticationForm
from workspaces.tabular import csv_lines


def _workspace_of(obj: models.Model) -> Workspace | None:
    if isinstance(obj, Workspace):
        return obj
    if isinstance(obj, Task):
        return obj.project.workspace
    workspace = getattr(obj, "workspace", None)
    return workspace if isinstance(workspace, Workspace) else None


class AuditedAdmin(admin.ModelAdmin):
    """Every add, change and delete made in the admin leaves an AuditEvent (channel ``admin``)."""

    def _audit(self, request: HttpRequest, obj: models.Model, verb: str, detail: dict[str, Any]) -> None:
        audit.record(
            action=f"{obj._meta.model_name}.admin_{verb}",
            user=request.user if isinstance(request.user, User) else None,
            workspace=_workspace_of(obj),
            channel=Channel.ADMIN,
            target=obj,
            detail=detail,
        )

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            self._audit(request, obj, "change" if change else "add", {"fields": sorted(form.changed_data)})

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: Any, change: bool) -> None:
        """Inline rows (members of a workspace, tasks of a project) are audited like the main object."""
        with transaction.atomic():
            instances = formset.save(commit=False)  # collects new, changed and deleted rows; writes nothing
            for obj in formset.deleted_objects:
                self._audit(request, obj, "delete", {"inline": True})  # before the delete: it still has its id
                obj.delete()
            for obj in instances:
                obj.save()
            formset.save_m2m()
            for obj in formset.new_objects:
                self._audit(request, obj, "add", {"inline": True})
            for obj, changed in formset.changed_objects:
                self._audit(request, obj, "change", {"inline": True, "fields": sorted(changed)})

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            self._audit(request, obj, "delete", {})
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            for obj in queryset:
                self._audit(request, obj, "delete", {})
            super().delete_queryset(request, queryset)


admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "last_login")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "is_active", "weekly_capacity_hours", "billable_rate", "cost_rate")
    autocomplete_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(AuditedAdmin):
    list_display = ("name", "slug", "timezone", "currency", "lock_date", "overlap_policy", "is_active", "created_at")
    list_filter = ("is_active", "currency", "overlap_policy", "agent_billable_policy")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change:
                workspace_settings_saved(workspace=obj, changed=form.changed_data)


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ("user", "workspace", "role", "is_active", "weekly_capacity_hours", "billable_rate", "cost_rate")
    list_filter = ("role", "is_active", "workspace")
    search_fields = ("user__username", "user__email", "workspace__name")
    list_select_related = ("user", "workspace")
    autocomplete_fields = ("user", "workspace")


@admin.register(Client)
class ClientAdmin(AuditedAdmin):
    list_display = ("name", "workspace", "contact_email", "is_archived", "created_at")
    list_filter = ("is_archived", "workspace")
    search_fields = ("name", "contact_email", "vat_id")
    list_select_related = ("workspace",)


class TaskInline(admin.TabularInline):
    model = Task
    extra = 0
    fields = ("name", "billable", "billable_rate", "is_archived")


@admin.register(Project)
class ProjectAdmin(AuditedAdmin):
    list_display = ("name", "code", "client", "workspace", "status", "billable_by_default", "billable_rate")
    list_filter = ("status", "budget_period", "workspace")
    search_fields = ("name", "code", "client__name")
    list_select_related = ("client", "workspace")
    filter_horizontal = ("team",)
    inlines = [TaskInline]


@admin.register(Task)
class TaskAdmin(AuditedAdmin):
    list_display = ("name", "project", "billable", "billable_rate", "is_archived")
    list_filter = ("is_archived", "billable", "project__workspace")
    search_fields = ("name", "project__name")
    list_select_related = ("project",)


@admin.register(Tag)
class TagAdmin(AuditedAdmin):
    list_display = ("name", "workspace", "is_archived")
    list_filter = ("is_archived", "workspace")
    search_fields = ("name",)
    list_select_related = ("workspace",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, never changeable — not even by superusers."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only; filter by channel, outcome, workspace and period, search by action, person,
    connection or request id; the filtered list downloads as CSV."""

    list_display = (
        "created_at",
        "workspace",
        "actor",
        "connection",
        "channel",
        "action",
        "outcome",
        "target_repr",
        "ip",
    )
    list_filter = ("channel", "outcome", "workspace", ("created_at", admin.DateFieldListFilter))
    search_fields = (
        "action",
        "target_repr",
        "target_id",
        "actor__username",
        "connection__label",
        "connection__key_prefix",
        "request_id",
    )
    list_select_related = ("workspace", "actor", "connection")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["download_csv"]

    @admin.action(description="Download selected events as CSV", permissions=["view"])
    def download_csv(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> StreamingHttpResponse:
        audit.publish(
            action="audit.export",
            user=request.user if isinstance(request.user, User) else None,
            channel=Channel.ADMIN,
            detail={"source": "admin"},
        )
        response = StreamingHttpResponse(
            csv_lines(CSV_COLUMNS, audit_csv_rows(queryset.select_related("actor", "connection"))),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
        return response


@admin.register(AuditDeadLetter)
class AuditDeadLetterAdmin(ReadOnlyAdmin):
    """Events the pipeline could not store after its retries; replaying stores them (idempotently)."""

    list_display = ("created_at", "event_id", "__str__", "attempts", "error", "replayed_at", "replayed_by")
    list_filter = (("replayed_at", admin.EmptyFieldListFilter),)
    search_fields = ("event_id", "error")
    actions = ["replay_selected"]

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    @admin.action(description="Replay selected events", permissions=["replay"])
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[AuditDeadLetter]) -> None:
        assert isinstance(request.user, User)  # the admin site requires a signed-in staff user
        stored = failed = 0
        for letter in queryset.filter(replayed_at__isnull=True):
            if audit.dead_letter_replay(letter=letter, user=request.user):
                stored += 1
            else:
                failed += 1
        self.message_user(request, f"Stored {stored} event(s).")
        if failed:
            self.message_user(request, f"{failed} event(s) still fail; see their error.", messages.ERROR)


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Connections are made by consent or key creation, never here; here they are seen and revoked."""

    list_display = (
        "__str__",
        "user",
        "workspace",
        "kind",
        "application",
        "scopes",
        "allow_sensitive",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("kind", "allow_sensitive", ("revoked_at", admin.EmptyFieldListFilter), "workspace")
    search_fields = ("label", "user__username", "user__email", "application__name", "key_prefix")
    list_select_related = ("user", "workspace", "application")
    readonly_fields = [f.name for f in Connection._meta.fields]
    actions = ["revoke_selected"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke selected connections", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        assert isinstance(request.user, User)  # the admin site requires a signed-in staff user
        revoked = 0
        for connection in queryset.filter(revoked_at__isnull=True):
            try:
                connection_revoke(actor=None, user=request.user, connection=connection)
            except DomainError as exc:
                self.message_user(request, f"{connection}: {exc.message}", messages.ERROR)
            else:
                revoked += 1
        self.message_user(request, f"Revoked {revoked} connection(s); their tokens stopped working at once.")
