"""Data portability: the whole workspace as JSON Lines per table, zipped by a task, for admins."""

import json
import zipfile

import pytest

from billing.models import ExportStatus, WorkspaceExport
from billing.portability import workspace_export_build, workspace_export_request
from tests.factories import ConnectionFactory, ProjectFactory, TimeEntryFactory
from workspaces import connection_services
from workspaces.errors import Forbidden


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.usefixtures("celery_eager")
def test_an_admin_exports_the_workspace_and_nothing_of_others(
    as_admin, workspace, member, django_capture_on_commit_callbacks
):
    project = ProjectFactory(workspace=workspace, team=[member])
    TimeEntryFactory.create_batch(3, member=member, project=project)
    TimeEntryFactory()  # another workspace
    key = connection_services.api_key_create(actor=as_admin, label="k")
    with django_capture_on_commit_callbacks(execute=True):
        export = workspace_export_request(actor=as_admin)
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE
    assert export.counts["time_entries"] == 3
    with zipfile.ZipFile(export.file.open("rb")) as archive:
        names = set(archive.namelist())
        assert {"manifest.json", "time_entries.jsonl", "members.jsonl", "audit_events.jsonl"} <= names
        entries = [json.loads(line) for line in archive.read("time_entries.jsonl").splitlines()]
        assert {e["workspace_id"] for e in entries} == {workspace.pk}
        assert len(entries) == 3
        connections = archive.read("connections.jsonl").decode()
        assert key.connection.key_prefix in connections
        assert key.connection.key_hash not in connections
        assert json.loads(archive.read("manifest.json"))["counts"]["time_entries"] == 3


def test_building_again_leaves_a_finished_export_alone(as_admin):
    export = WorkspaceExport.objects.create(workspace=as_admin.workspace, requested_by=as_admin.user)
    first = workspace_export_build(export_id=export.pk).file.name
    assert workspace_export_build(export_id=export.pk).file.name == first


def test_only_admins_with_sensitive_access(as_manager, admin, make_principal):
    with pytest.raises(Forbidden):
        workspace_export_request(actor=as_manager)
    no_sensitive = make_principal(admin, connection=ConnectionFactory(membership=admin, allow_sensitive=False))
    with pytest.raises(Forbidden, match="sensitive"):
        workspace_export_request(actor=no_sensitive)
    assert not WorkspaceExport.objects.exists()
