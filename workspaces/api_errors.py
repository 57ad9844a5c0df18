"""One error shape for every REST failure: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from workspaces.errors import DomainError, InsufficientScope

STATUS_FOR_CODE = {
    "not_found": status.HTTP_404_NOT_FOUND,
    "invalid": status.HTTP_400_BAD_REQUEST,
    "locked": status.HTTP_409_CONFLICT,
    "conflict": status.HTTP_409_CONFLICT,
    "forbidden": status.HTTP_403_FORBIDDEN,
    "forbidden_by_policy": status.HTTP_403_FORBIDDEN,
    "insufficient_scope": status.HTTP_403_FORBIDDEN,
}


def _body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        domain = Response(_body(exc.code, exc.message, exc.fields), status=STATUS_FOR_CODE.get(exc.code, 400))
        if isinstance(exc, InsufficientScope):
            domain["WWW-Authenticate"] = f'Bearer error="insufficient_scope", scope="{exc.scope}"'
        return domain
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"__all__": exc.detail}
        response.data = _body("invalid", "The request is invalid.", fields)
    elif isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        detail = str(exc.detail)
        code = "invalid_token" if detail.startswith("invalid_token") else "not_authenticated"
        response.data = _body(code, detail.removeprefix("invalid_token: "))
    elif isinstance(exc, exceptions.Throttled):
        response.data = _body("throttled", str(exc.detail))
    elif isinstance(exc, exceptions.NotFound):
        response.data = _body("not_found", str(exc.detail))
    elif isinstance(exc, exceptions.PermissionDenied):
        response.data = _body("forbidden", str(exc.detail))
    else:
        response.data = _body(getattr(exc, "default_code", "error"), str(getattr(exc, "detail", exc)))
    return response
