"""The REST face's audit: every read, and every refused or failed call, leaves one AuditEvent.

Successful writes are audited by their service, inside its transaction; this view base adds
the rest through the pipeline (:func:`workspaces.audit.publish`), so the response never waits
on the insert and audit never turns a response into a 500.
"""

from __future__ import annotations

import time
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workspaces import audit
from workspaces.models import Channel, Outcome
from workspaces.principals import Principal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
VERBS = {"GET": "read", "HEAD": "read", "OPTIONS": "read", "POST": "create", "PUT": "update", "PATCH": "update"}


def outcome_for_status(status: int) -> str:
    if status < 400:
        return Outcome.OK
    if status in (401, 403, 404, 429):
        return Outcome.DENIED
    if status >= 500:
        return Outcome.ERROR
    return Outcome.INVALID


class AuditedAPIView(APIView):
    """An APIView whose reads, denials and failures are audited as ``<audit_name>.<verb>``."""

    audit_name = "api"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self._audit_started = time.monotonic()
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        method = request.method or "GET"
        outcome = outcome_for_status(response.status_code)
        if method in SAFE_METHODS or outcome != Outcome.OK:
            self._publish(request, response, method, outcome)
        return response

    def _publish(self, request: Request, response: Response, method: str, outcome: str) -> None:
        principal = getattr(request, "principal", None)
        if principal is None and isinstance(request.auth, Principal):
            principal = request.auth
        detail: dict[str, Any] = {"method": method, "path": request.path[:300], "status": response.status_code}
        error = response.data.get("error") if isinstance(getattr(response, "data", None), dict) else None
        if isinstance(error, dict):
            detail["code"] = error.get("code")
        started = getattr(self, "_audit_started", None)
        audit.publish(
            action=f"{self.audit_name}.{VERBS.get(method, method.lower())}",
            actor=principal,
            channel=Channel.API,
            target_type=self.audit_name,
            target_id=str(self.kwargs.get("pk", self.kwargs.get("workspace_slug", ""))),
            outcome=outcome,
            detail=detail,
            duration_ms=round((time.monotonic() - started) * 1000) if started is not None else None,
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
