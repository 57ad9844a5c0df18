"""What every REST endpoint under ``/api/v1/workspaces/<slug>/`` shares.

:class:`WorkspaceAPIView` is the base: the caller's principal in the URL's workspace and the
view's ``perms`` table (``WorkspaceRule``), audit of reads and refusals (``AuditedAPIView``),
throttling per principal and per client application, ``Idempotency-Key`` on every POST, cursor
pages, ETags with ``If-Match``, and ``?format=csv|xlsx`` downloads streamed in constant memory.
Views stay thin: parse, call one selector or service, shape the output.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from timetracker.cache import count_in_window, window_seconds_left
from workspaces.api_audit import AuditedAPIView
from workspaces.compiled_pages import CompiledPage
from workspaces.models import IdempotencyRecord
from workspaces.permissions import WorkspaceRule
from workspaces.principals import Principal
from workspaces.tabular import download_response

logger = logging.getLogger(__name__)
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft suggests
IDEMPOTENCY_KEEP = timedelta(hours=48)  # "at least 24 hours"; purged after this
IDEMPOTENCY_ABANDONED = timedelta(minutes=5)  # a "running" record this old lost its request
INVALID_CURSOR = "This cursor is not valid; use a next or previous link."


# --- errors that are not domain errors --------------------------------------------------------


class PreconditionFailed(APIException):
    status_code = 412
    default_code = "precondition_failed"
    default_detail = "The object changed since you read it (If-Match does not match its ETag); read it again."


class IdempotencyMismatch(APIException):
    status_code = 422
    default_code = "idempotency_mismatch"
    default_detail = "This Idempotency-Key was already used with a different request."


class IdempotencyInProgress(APIException):
    status_code = 409
    default_code = "conflict"
    default_detail = "A request with this Idempotency-Key is still being processed; retry shortly."


class _Replay(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


# --- pagination and throttling ------------------------------------------------------------------


class Cursor(CursorPagination):
    """Opaque ``cursor`` links, ``limit`` up to 200 (default 50); stable while rows are added."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = ("-created_at", "-id")

    def get_page_size(self, request: Any) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or int(raw) < 1:
            raise serializers.ValidationError({"limit": [f"Use a whole number from 1 to {self.max_page_size}."]})
        return min(int(raw), self.max_page_size)

    def decode_cursor(self, request: Any) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise serializers.ValidationError({"cursor": [INVALID_CURSOR]}) from None


def principal_key(principal: Principal) -> str:
    if principal.connection is not None:
        return f"connection:{principal.connection.pk}"
    return f"user:{principal.user.pk}"


RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"1200/min"`` → (1200, 60): requests, and the window in seconds (DRF's notation)."""
    count, period = rate.split("/")
    return int(count), RATE_PERIODS[period[0]]


class _SettingsRate(BaseThrottle):
    """At most N requests a window per key, the rate read from ``settings.API_THROTTLE_RATES`` on
    each request. A window opens at a key's first request and closes ``period`` seconds later.

    Counted in the shared cache in one round trip (:func:`timetracker.cache.count_in_window`), as
    the MCP gateway counts. DRF's ``SimpleRateThrottle`` keeps the time of every request in the
    window in one cached list, read and written whole on each request: up to 1 200 floats at the
    default rate, and thousands under the bench's raised limits (about 0.7 ms a request there).
    Its keys are ``rate:…``: DRF's lists, left under ``throttle:…`` by an earlier release for up
    to a window, are no counters.
    """

    scope = ""

    def __init__(self) -> None:
        self.retry_after: int | None = None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        raise NotImplementedError

    @classmethod
    def window(cls, principal: Principal) -> tuple[str, int] | None:
        """The key and seconds of ``principal``'s window here, if this limit applies to it."""
        rate = settings.API_THROTTLE_RATES.get(cls.scope)
        key = cls.key_of(principal) if rate else None
        return (key, parse_rate(rate)[1]) if rate is not None and key is not None else None

    @classmethod
    def key_of(cls, principal: Principal) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        """Counts live in the shared cache (Redis); if it is down, requests pass rather than fail.
        A bearer's count is usually taken with its credential's check (``WorkspaceAPIView.rate_windows``)."""
        rate = settings.API_THROTTLE_RATES.get(self.scope)
        key = self.get_cache_key(request, view) if rate else None
        if rate is None or key is None:
            return True
        limit, period = parse_rate(rate)
        try:
            count = getattr(request, "rate_counts", {}).get(key)
            if (count if count is not None else count_in_window(key, window=period)) <= limit:
                return True
            self.retry_after = window_seconds_left(key, default=period)
        except Exception:
            logger.warning("rate limiting skipped: the cache is unavailable", exc_info=True)
            return True
        return False

    def wait(self) -> float | None:
        return self.retry_after


class PrincipalRateThrottle(_SettingsRate):
    """Requests per principal (a connection, or a signed-in person); answers 429 with Retry-After."""

    scope = "principal"

    @classmethod
    def key_of(cls, principal: Principal) -> str | None:
        return f"rate:principal:{principal_key(principal)}"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        principal = request.auth if isinstance(request.auth, Principal) else None
        if principal is not None:
            return self.key_of(principal)
        if request.user and request.user.is_authenticated:
            return f"rate:principal:user:{request.user.pk}"
        return f"rate:principal:anon:{self.get_ident(request)}"


class ClientApplicationRateThrottle(_SettingsRate):
    """Requests per OAuth client application, across every person who connected it."""

    scope = "client_application"

    @classmethod
    def key_of(cls, principal: Principal) -> str | None:
        if principal.connection is None or principal.connection.application_id is None:
            return None  # browser sessions and API keys: the principal limit applies
        return f"rate:client:{principal.connection.application_id}"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        principal = request.auth if isinstance(request.auth, Principal) else None
        return self.key_of(principal) if principal is not None else None


# --- ETags ---------------------------------------------------------------------------------------


def etag_of(data: Any) -> str:
    """A strong ETag of a representation (the JSON the client saw)."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


# --- the base view -------------------------------------------------------------------------------


class WorkspaceAPIView(AuditedAPIView):
    """An endpoint in one workspace: declare ``perms`` and ``audit_name``, then call selectors/services."""

    permission_classes = [WorkspaceRule]
    throttle_classes = [PrincipalRateThrottle, ClientApplicationRateThrottle]
    # JSON bodies only; an upload endpoint sets its own parsers (multipart).
    parser_classes: list[type[BaseParser]] = [JSONParser]
    # Tells the OpenAPI schema that list responses come in cursor pages (see page()).
    pagination_class = Cursor
    perms: dict[str, Any] = {}
    idempotent_methods = frozenset({"POST"})

    @property
    def principal(self) -> Principal:
        principal = getattr(self.request, "principal", None)
        assert isinstance(principal, Principal)  # WorkspaceRule set it
        return principal

    def rate_windows(self, principal: Principal) -> list[tuple[str, int]]:
        """The windows this view's rate limits count for ``principal``: the bearer's check counts
        them in its round trip to the shared cache (``credentials.bearer_lookup_counting``)."""
        return [
            window
            for throttle in self.throttle_classes
            if issubclass(throttle, _SettingsRate) and (window := throttle.window(principal)) is not None
        ]

    # Idempotency-Key ------------------------------------------------------------------------

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles
        self._idempotency: IdempotencyRecord | None = None
        key = request.headers.get("Idempotency-Key")
        if key is None or request.method not in self.idempotent_methods:
            return
        if not IDEMPOTENCY_KEY.match(key):
            raise serializers.ValidationError(
                {"Idempotency-Key": ["Use 1 to 255 visible ASCII characters, e.g. a UUID."]}
            )
        self._idempotency = self._claim(key, _fingerprint(request))

    def _claim(self, key: str, fingerprint: str) -> IdempotencyRecord | None:
        owner = principal_key(self.principal)
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(principal_key=owner, key=key, fingerprint=fingerprint)
        except IntegrityError:
            pass
        record = IdempotencyRecord.objects.get(principal_key=owner, key=key)
        if record.fingerprint != fingerprint:
            raise IdempotencyMismatch()
        if record.status == IdempotencyRecord.Status.RUNNING:
            if timezone.now() - record.created_at < IDEMPOTENCY_ABANDONED:
                raise IdempotencyInProgress()
            record.created_at = timezone.now()  # its request died; this one takes over
            record.save(update_fields=["created_at"])
            return record
        replay = Response(record.response_body, status=record.response_status)
        replay["Idempotent-Replayed"] = "true"
        if record.response_location:
            replay["Location"] = record.response_location
        raise _Replay(replay)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        record = getattr(self, "_idempotency", None)
        if record is not None:
            self._idempotency = None
            if response.status_code >= 500 or not isinstance(response, Response):
                record.delete()  # a failure is not remembered: the retry runs again
            else:
                record.status = IdempotencyRecord.Status.DONE
                record.response_status = response.status_code
                record.response_body = _json_safe(response.data)
                record.response_location = response.get("Location", "")[:500]
                record.save(update_fields=["status", "response_status", "response_body", "response_location"])
        return super().finalize_response(request, response, *args, **kwargs)

    # Reading: pages, ETags, downloads ------------------------------------------------------------

    def page(
        self, queryset: QuerySet[Any], serializer: type[serializers.BaseSerializer[Any]], **context: Any
    ) -> Response:
        """One cursor page of ``queryset`` (its order is the view's ``ordering`` or Cursor's)."""
        return self.page_presented(
            queryset, lambda rows: serializer(rows, many=True, context={"principal": self.principal, **context}).data
        )

    def page_presented(self, queryset: QuerySet[Any] | CompiledPage, present: Callable[[list[Any]], Any]) -> Response:
        """One cursor page of ``queryset`` (model instances or ``values()`` rows, or a
        :class:`CompiledPage` of rows) rendered by ``present``."""
        paginator = self.pagination_class()
        paginator.ordering = getattr(self, "ordering", Cursor.ordering)
        try:
            # A CompiledPage answers what CursorPagination asks of a queryset (the stubs want one).
            rows = paginator.paginate_queryset(queryset, self.request, view=self)  # type: ignore[arg-type]
        except DjangoValidationError:  # a cursor made by hand, its position no value of the ordering
            raise serializers.ValidationError({"cursor": [INVALID_CURSOR]}) from None
        return paginator.get_paginated_response(present(list(rows or [])))

    def single(self, data: Any, *, status: int = 200) -> Response:
        """One object with its ETag; answers 304 when the client's If-None-Match still holds."""
        tag = etag_of(data)
        if status == 200 and tag in _header_tags(self.request.headers.get("If-None-Match")):
            return Response(status=304, headers={"ETag": tag})
        return Response(data, status=status, headers={"ETag": tag})

    def check_if_match(self, current: Any) -> None:
        """412 unless If-Match is absent or names the current representation's ETag."""
        header = self.request.headers.get("If-Match")
        if header is None:
            return
        tags = _header_tags(header)
        if "*" not in tags and etag_of(current) not in tags:
            raise PreconditionFailed()

    def download_format(self) -> str | None:
        """``csv`` or ``xlsx`` from ``?format=``, None for JSON; anything else is a 400."""
        wanted = self.request.query_params.get("format")
        if wanted in (None, "json"):
            return None
        if wanted not in ("csv", "xlsx"):
            raise serializers.ValidationError({"format": ["Use csv, xlsx or json."]})
        return wanted

    def download(self, kind: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, name: str) -> HttpResponse:
        """Rows as a streamed CSV or XLSX attachment named ``<name>-<workspace>-<date>``."""
        stamp = timezone.localtime(timezone.now(), self.principal.workspace.tzinfo).strftime("%Y%m%d")
        filename = f"{name}-{self.principal.workspace.slug}-{stamp}.{kind}"
        return download_response(self.request, kind, header, rows, filename=filename, sheet=name)


def _header_tags(header: str | None) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in (header or "").split(",") if tag.strip()}


def _fingerprint(request: Request) -> str:
    """What makes two requests 'the same': method, path, query and body (files by content hash)."""

    def plain(value: Any) -> Any:
        if isinstance(value, UploadedFile):
            digest = hashlib.sha256()
            for chunk in value.chunks():
                digest.update(chunk)
            value.seek(0)
            return {"file": value.name, "size": value.size, "sha256": digest.hexdigest()}
        return value

    data = request.data
    if hasattr(data, "lists"):  # a QueryDict (form or multipart)
        body: Any = {key: [plain(v) for v in values] for key, values in data.lists()}
    else:
        body = data
    blob = json.dumps(
        [request.method, request.path, sorted(request.query_params.lists()), body], sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _json_safe(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str)) if data is not None else None


def idempotency_purge() -> int:
    """Delete records past their keeping time (the beat task calls it)."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_KEEP).delete()
    return deleted
