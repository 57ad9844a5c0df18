"""OpenAPI (drf-spectacular) descriptions of our authentication. Imported in WorkspacesConfig.ready."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "workspaces.authentication.BearerAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An OAuth 2.1 access token bound to /api/v1, or an API key (tt_…).",
        }
