from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"

    def ready(self) -> None:
        from workspaces import credentials, schema, signin  # noqa: F401 - register the OpenAPI extension and login signals

        credentials.connect_signals()
