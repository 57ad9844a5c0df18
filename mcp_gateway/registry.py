"""The tool catalogue's machinery: declaring a tool, who sees it, and running one call.

A tool is a plain function ``fn(caller: Principal, **arguments) -> Model`` declared with
:func:`tool`. :func:`as_sdk_tool` turns it into what the SDK registers: the same parameters
(which become the input schema) with the caller replaced by the SDK's ``Context``, plus
``dry_run`` and ``idempotency_key`` on every write tool. Each call then runs here, in a worker
thread (Django's ORM is synchronous): visibility, arguments, the transaction, dry-run rollback,
idempotent replay, domain errors as ``isError`` results with a stable ``code``, and its audit.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import time
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, close_old_connections, connection, transaction
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field
from pydantic_core import to_json

from mcp_gateway.audit_detail import argument_digest, redacted_fields
from workspaces import audit
from workspaces.errors import Conflict, DomainError, Invalid
from workspaces.models import IdempotencyRecord, Outcome
from workspaces.policies import RULES, Perm, can_view_sensitive, role_at_least
from workspaces.principals import Principal

SCOPE_PRINCIPAL = "timetracker.principal"  # the ASGI scope key the gateway puts the caller under
SCOPE_AUDIT = "timetracker.audit"  # per-request notes: whether the call audited itself
OUTCOME_FOR_CODE = {
    "invalid": Outcome.INVALID,
    "conflict": Outcome.INVALID,
    "locked": Outcome.DENIED,
    "not_found": Outcome.DENIED,
    "forbidden": Outcome.DENIED,
    "forbidden_by_policy": Outcome.DENIED,
    "insufficient_scope": Outcome.DENIED,
}


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    perm: Perm
    fn: Callable[..., BaseModel]
    write: bool = False
    destructive: bool = False
    idempotent: bool = False
    sensitive_only: bool = False  # listed only when the caller may see sensitive data
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        return str(RULES[self.perm].scope)

    def annotations(self) -> ToolAnnotations:
        return ToolAnnotations(
            title=self.title,
            read_only_hint=not self.write,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent or not self.write,
            open_world_hint=False,
        )


CATALOGUE: dict[str, ToolSpec] = {}


def tool(
    *,
    title: str,
    perm: Perm,
    write: bool = False,
    destructive: bool = False,
    idempotent: bool = False,
    sensitive_only: bool = False,
) -> Callable[[Callable[..., BaseModel]], Callable[..., BaseModel]]:
    """Declare a tool: its function's name is the tool's name, its docstring what the model reads."""

    def declare(fn: Callable[..., BaseModel]) -> Callable[..., BaseModel]:
        CATALOGUE[fn.__name__] = ToolSpec(
            name=fn.__name__,
            title=title,
            perm=perm,
            fn=fn,
            write=write,
            destructive=destructive,
            idempotent=idempotent,
            sensitive_only=sensitive_only,
        )
        return fn

    return declare


@functools.cache
def output_model(fn: Callable[..., BaseModel]) -> type[BaseModel]:
    """The model a tool's function declares it returns: its ``outputSchema`` and its result's only shape."""
    declared: type[BaseModel] = typing.get_type_hints(fn)["return"]
    return declared


# --- who sees what ------------------------------------------------------------------------------


def role_allows(spec: ToolSpec, principal: Principal) -> bool:
    """The member's role (and, for sensitive-only tools, the sensitive grant) allow the tool."""
    if not role_at_least(principal.membership.role, RULES[spec.perm].role):
        return False
    return not spec.sensitive_only or can_view_sensitive(principal)


def visible(spec: ToolSpec, principal: Principal) -> bool:
    """Listed and callable: the connection's scopes *and* the member's role allow it."""
    return spec.scope in principal.scopes and role_allows(spec, principal)


def missing_scope(name: str, principal: Principal) -> str | None:
    """The scope to step up to, for a tool the role allows but the connection's scopes do not."""
    spec = CATALOGUE.get(name)
    if spec is None or not role_allows(spec, principal) or spec.scope in principal.scopes:
        return None
    return spec.scope


# --- results --------------------------------------------------------------------------------------


def error_result(error: DomainError) -> CallToolResult:
    """A domain error as the model sees it: ``isError`` with ``{"error": {code, message, fields}}``."""
    body = error.as_dict()
    text = f"{error.code}: {error.message}"
    if error.fields:
        text += " " + "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items())
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content={"error": body}, is_error=True
    )


def ok_result(data: dict[str, Any], *, summary: str, replayed: bool = False) -> CallToolResult:
    meta = {"timetracker/idempotent_replay": True} if replayed else None
    return CallToolResult(
        content=[TextContent(type="text", text=summary)], structured_content=data, is_error=False, _meta=meta
    )


def summary_of(name: str, data: dict[str, Any]) -> str:
    """A short text rendering for clients that read only text content (the JSON follows it).

    The JSON is written by pydantic's encoder (in Rust: a page of entries in a fifth of the time
    ``json.dumps`` takes), compact and in UTF-8; anything it cannot encode is written as text."""
    lead = data.get("summary") if isinstance(data.get("summary"), str) else None
    body = to_json(data, fallback=str).decode()
    return f"{lead}\n{body}" if lead else body


# --- running one call -----------------------------------------------------------------------------


def refresh_connections() -> None:
    """What Django does around a request, for the worker thread a tool runs in: drop a connection
    that is broken or past CONN_MAX_AGE. Never inside a transaction (tests run in one)."""
    if not connection.in_atomic_block:
        close_old_connections()


def publish_event(**event: Any) -> None:
    """``audit.publish`` from a worker thread (it may write inline when the broker is down)."""
    try:
        audit.publish(**event)
    finally:
        refresh_connections()


class _DryRun(Exception):
    def __init__(self, result: BaseModel) -> None:
        self.result = result


@dataclass
class Call:
    spec: ToolSpec
    principal: Principal
    arguments: dict[str, Any]
    notes: dict[str, Any]
    dry_run: bool = False
    idempotency_key: str | None = None
    started: float = field(default_factory=time.monotonic)

    def run(self) -> CallToolResult:
        refresh_connections()
        try:
            if not visible(self.spec, self.principal):  # the gateway hides it first; never run it anyway
                raise Invalid(f"Unknown tool: {self.spec.name}")
            result = self._write() if self.spec.write else self._read()
        except DomainError as error:
            self._audit(outcome=OUTCOME_FOR_CODE.get(error.code, Outcome.DENIED), detail={"code": error.code})
            return error_result(error)
        except DjangoValidationError as error:
            invalid = Invalid("; ".join(error.messages) or "Invalid argument.")
            self._audit(outcome=Outcome.INVALID, detail={"code": invalid.code})
            return error_result(invalid)
        except Exception as error:
            # A fault of ours, not of the arguments: audited as an error here, because the SDK turns
            # the exception into an isError result that the gateway would take for refused arguments.
            self._audit(outcome=Outcome.ERROR, detail={"code": "error", "error": type(error).__name__})
            raise
        finally:
            refresh_connections()
        return result

    def _result(self) -> BaseModel:
        """The tool's result, checked to be the model its ``outputSchema`` comes from: the SDK does
        not validate our dumped result against that model again (see ``build_server``)."""
        result = self.spec.fn(self.principal, **self.arguments)
        declared = output_model(self.spec.fn)
        if type(result) is not declared:
            raise TypeError(f"{self.spec.name} returned {type(result).__name__}, not {declared.__name__}")
        return result

    def _read(self) -> CallToolResult:
        data = self._result().model_dump(mode="json")
        self._audit(outcome=Outcome.OK, detail={"redacted": sorted(redacted_fields(data, output_model(self.spec.fn)))})
        return ok_result(data, summary=summary_of(self.spec.name, data))

    def _write(self) -> CallToolResult:
        if self.dry_run:
            try:
                with transaction.atomic():
                    raise _DryRun(self._result())
            except _DryRun as rolled_back:
                result = rolled_back.result
                summary = "Dry run, nothing was written: " + str(getattr(result, "summary", ""))
                data = result.model_copy(update={"dry_run": True, "summary": summary}).model_dump(mode="json")
            self._audit(outcome=Outcome.OK, detail={"dry_run": True})
            return ok_result(data, summary=summary_of(self.spec.name, data))
        if self.idempotency_key is not None:
            replay = self._replay()
            if replay is not None:
                return replay
        try:
            with transaction.atomic():
                data = self._result().model_dump(mode="json")
                if self.idempotency_key is not None:
                    IdempotencyRecord.objects.create(
                        principal_key=self._owner(),
                        key=self._key(),
                        fingerprint=self._fingerprint(),
                        status=IdempotencyRecord.Status.DONE,
                        response_status=200,
                        response_body=data,
                    )
                # Written in the same transaction as the change (DESIGN §6.5).
                self._audit(outcome=Outcome.OK, detail={}, in_transaction=True)
        except IntegrityError:
            if self.idempotency_key is None:
                raise
            # A concurrent call with this key committed first; ours was rolled back: replay its result.
            replay = self._replay()
            if replay is None:
                raise
            return replay
        return ok_result(data, summary=summary_of(self.spec.name, data))

    # idempotency ------------------------------------------------------------------------------

    def _owner(self) -> str:
        connection = self.principal.connection
        return f"connection:{connection.pk}" if connection is not None else f"user:{self.principal.user.pk}"

    def _key(self) -> str:
        return f"mcp:{self.idempotency_key}"

    def _fingerprint(self) -> str:
        blob = json.dumps([self.spec.name, self.arguments], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _replay(self) -> CallToolResult | None:
        record = IdempotencyRecord.objects.filter(principal_key=self._owner(), key=self._key()).first()
        if record is None:
            return None
        if record.fingerprint != self._fingerprint():
            raise Conflict(
                "This idempotency_key was already used with other arguments; use a new key for a new write.",
                fields={"idempotency_key": ["Already used with other arguments."]},
            )
        data = record.response_body or {}
        self._audit(outcome=Outcome.OK, detail={"idempotent_replay": True})
        return ok_result(data, summary=summary_of(self.spec.name, data), replayed=True)

    # audit ---------------------------------------------------------------------------------------

    def _audit(self, *, outcome: str, detail: dict[str, Any], in_transaction: bool = False) -> None:
        detail = {
            "tool": self.spec.name,
            "arguments": argument_digest(
                {**self.arguments, **({"idempotency_key": self.idempotency_key} if self.idempotency_key else {})}
            ),
            "dry_run": self.dry_run,
            "redacted": [],
            "idempotent_replay": False,
            **detail,
        }
        duration_ms = round((time.monotonic() - self.started) * 1000)
        detail["duration_ms"] = duration_ms
        if in_transaction:
            audit.record(action=f"mcp.tool.{self.spec.name}", actor=self.principal, outcome=outcome, detail=detail)
        else:
            audit.publish(
                action=f"mcp.tool.{self.spec.name}",
                actor=self.principal,
                target_type="mcp.tool",
                target_id=self.spec.name,
                outcome=outcome,
                detail=detail,
                duration_ms=duration_ms,
            )
        self.notes["audited"] = True


# --- the SDK's view of a tool ---------------------------------------------------------------------

DryRun = Annotated[
    bool,
    Field(description="true: check everything and return exactly what would be written, but write nothing"),
]
IdempotencyKey = Annotated[
    str | None,
    Field(
        description="Any unique string (e.g. a UUID). Retrying with the same key returns the first result "
        "instead of writing twice; the same key with other arguments is an error.",
        max_length=255,
        examples=["5f0c6a1e-3c2b-4d7a-9a8e-0f3b2c1d4e5f"],
    ),
]


def caller_of(ctx: Context[Any, Any]) -> tuple[Principal, dict[str, Any]]:
    """The principal the gateway resolved for this HTTP request, and its audit notes."""
    request = ctx.request_context.request
    scope = getattr(request, "scope", None) or {}
    principal = scope.get(SCOPE_PRINCIPAL)
    assert isinstance(principal, Principal), "the /mcp gateway puts the caller in the scope"
    return principal, scope.setdefault(SCOPE_AUDIT, {})


def as_sdk_tool(spec: ToolSpec) -> Callable[..., Any]:
    """``fn(caller, **arguments)`` → ``tool(ctx, **arguments[, dry_run, idempotency_key])`` for the SDK."""
    hints = typing.get_type_hints(spec.fn, include_extras=True)
    params = list(inspect.signature(spec.fn).parameters.values())[1:]  # drop the caller
    params = [p.replace(annotation=hints[p.name]) for p in params]
    if spec.write:
        params += [
            inspect.Parameter("dry_run", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=DryRun),
            inspect.Parameter(
                "idempotency_key", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=IdempotencyKey
            ),
        ]
    ctx_param = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)
    output = output_model(spec.fn)

    def run_tool(ctx: Context[Any, Any], **arguments: Any) -> Any:
        principal, notes = caller_of(ctx)
        dry_run = bool(arguments.pop("dry_run", False))
        key = arguments.pop("idempotency_key", None)
        return Call(spec, principal, arguments, notes, dry_run=dry_run, idempotency_key=key).run()

    run_tool.__name__ = spec.name
    run_tool.__doc__ = inspect.cleandoc(spec.fn.__doc__ or "")
    run_tool.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*_keyword_only(params), ctx_param], return_annotation=output
    )
    run_tool.__annotations__ = {**{p.name: p.annotation for p in params}, "ctx": Context, "return": output}
    return run_tool


def _keyword_only(params: Iterable[inspect.Parameter]) -> list[inspect.Parameter]:
    return [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params]
