"""Every REST endpoint and method has a row in an access-matrix table (tests/*/api/test_access_matrix.py)."""

from __future__ import annotations

import importlib
import re

from django.urls import URLPattern, URLResolver, get_resolver

MATRIX_MODULES = (
    "tests.workspaces.api.test_access_matrix",
    "tests.timesheets.api.test_access_matrix",
    "tests.billing.api.test_access_matrix",
)
PREFIX = "api/v1/workspaces/<slug:workspace_slug>/"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _shape(path: str) -> str:
    """'tags/<int:pk>/archive' and 'tags/{tag}/archive' → 'tags/{}/archive'."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path).split("?")[0]


def _routes(patterns: list, prefix: str = "") -> list[tuple[str, object]]:
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            found.append((route, pattern.callback))
    return found


def endpoints() -> set[tuple[str, str]]:
    result = set()
    for route, callback in _routes(get_resolver().url_patterns):
        view = getattr(callback, "view_class", None)
        if not route.startswith(PREFIX) or view is None:
            continue
        for method in HTTP_METHODS:
            if hasattr(view, method):
                result.add((method.upper(), _shape(route.removeprefix(PREFIX))))
    return result


def covered() -> set[tuple[str, str]]:
    rows = set()
    for name in MATRIX_MODULES:
        for case in importlib.import_module(name).TABLE:
            rows.add((case.method, _shape(case.path)))
    return rows


def test_every_endpoint_and_method_is_in_a_matrix_table():
    missing = sorted(endpoints() - covered())
    assert missing == [], f"endpoints without an access-matrix row: {missing}"


def test_the_tables_name_no_endpoint_that_does_not_exist():
    assert sorted(covered() - endpoints()) == []
