"""OpenAPI (drf-spectacular) descriptions of our authentication. Imported in WorkspacesConfig.ready."""

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from workspaces.policies import RULES


def _scopes() -> dict[str, str]:
    provider: dict[str, Any] = settings.OAUTH2_PROVIDER
    return {str(name): str(text) for name, text in provider["SCOPES"].items()}


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    """Two ways to send the one bearer credential: an OAuth 2.1 token, or an API key."""

    target_class = "workspaces.authentication.BearerAuthentication"
    name = ["oauth2", "apiKey"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "oauth2",
                "description": "Authorization code with PKCE (S256); the token must be bound to /api/v1.",
                "flows": {
                    "authorizationCode": {
                        "authorizationUrl": "/oauth/authorize/",
                        "tokenUrl": "/oauth/token/",
                        "refreshUrl": "/oauth/token/",
                        "scopes": _scopes(),
                    }
                },
            },
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "tt_… API key",
                "description": "An API key created under Account → Connected apps & API keys.",
            },
        ]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        """Either credential; the OAuth token needs the scope of this operation's rule."""
        perms = getattr(auto_schema.view, "perms", {}) or {}
        perm = perms.get(auto_schema.method)
        scopes = [str(RULES[perm].scope)] if perm in RULES else []
        return [{"oauth2": scopes}, {"apiKey": []}]


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": (
                        "Stable machine-readable code: not_found, invalid, locked, conflict, forbidden, "
                        "forbidden_by_policy, insufficient_scope, not_authenticated, invalid_token, throttled, "
                        "idempotency_mismatch, precondition_failed"
                    ),
                    "example": "not_found",
                },
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}
ERRORS = {
    "400": "Invalid input (`invalid`): `fields` names each problem, unknown fields included.",
    "401": "No valid credential (`not_authenticated`, `invalid_token`).",
    "403": "Role or scope missing (`forbidden`, `insufficient_scope`, `forbidden_by_policy`).",
    "404": "No such object in this workspace, or another workspace (`not_found`).",
    "429": "Too many requests (`throttled`); see Retry-After.",
}
WRITE_ERRORS = {
    "409": "Locked or conflicting (`locked`, `conflict`), or the same Idempotency-Key is still running.",
}
POST_ERRORS = {"422": "The Idempotency-Key was used with another request (`idempotency_mismatch`)."}
UPDATE_ERRORS = {"412": "If-Match does not match the current ETag (`precondition_failed`)."}


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: the one error shape, and each error status an operation can answer."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            errors = dict(ERRORS)
            if method != "get":
                errors |= WRITE_ERRORS
            if method == "post":
                errors |= POST_ERRORS
            if method in {"put", "patch"}:
                errors |= UPDATE_ERRORS
            responses = operation.setdefault("responses", {})
            for status, description in errors.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result
