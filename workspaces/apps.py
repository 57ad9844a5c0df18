from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"

    def ready(self) -> None:
        from workspaces import schema, signin  # noqa: F401 - register the OpenAPI extension and login signals
