"""A cursor page of a REST list read by a query compiled once per shape.

DRF's ``CursorPagination`` (``api_base.Cursor``) builds its page from the list's queryset: the
ordering or its reverse, at most one filter on the first ordering field's position, and the slice
``[offset:offset + page size + 1]``, which it reads whole. Building that queryset and compiling it
to SQL is most of what a page of time entries costs the web process (a REST GET of a member-week
cost 2.2 POSTs; ``bench/README``, twenty-second round). :class:`CompiledPage` stands in for the
queryset and answers those three calls from a query compiled once per shape
(``timetracker.compiled``), every value bound as a :class:`~timetracker.compiled.Param`, as the
MCP list reads the same rows (``mcp_gateway.arguments.compiled_keyset_page``). DRF keeps
everything else: the cursor's format, its offsets, ``next`` and ``previous``.

No library does this: DRF's paginator takes a queryset, and Django compiles a queryset anew each
time it is built.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import QuerySet

from timetracker.compiled import Param, values_rows

POSITION = "cursor_position"  # the Param of the cursor's position


@dataclass(frozen=True)
class CompiledPage:
    """The ``values()`` rows ``build(params)`` selects, as DRF's ``CursorPagination`` reads them.

    ``build(True)`` returns the rows' queryset with :class:`Param` placeholders named after
    ``values``, ``build(False)`` the same with the values themselves; ``key`` names its SQL but
    for the order, the position's lookup and the slice. A page at an offset (rows that share a
    position, after the first page of them) is read by the plain queryset: an offset runs to
    DRF's cutoff of 1 000, and one template per offset would crowd out the rest.
    """

    key: Hashable
    build: Callable[[bool], QuerySet[Any]]
    values: Mapping[str, Any]
    order: Sequence[str] = ()
    position: tuple[str, Any] | None = None  # a lookup on the first ordering field, and its value

    def order_by(self, *fields: str) -> CompiledPage:
        return replace(self, order=fields)

    def filter(self, **lookups: Any) -> CompiledPage:
        if len(lookups) != 1 or self.position is not None:
            raise TypeError(f"CompiledPage takes one position filter, as CursorPagination sends; not {lookups!r}")
        ((lookup, value),) = lookups.items()
        return replace(self, position=(lookup, value))

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        if not isinstance(window, slice) or window.step is not None or window.stop is None:
            raise TypeError(f"CompiledPage reads a slice with an end, as CursorPagination does; not {window!r}")
        offset, stop = window.start or 0, window.stop
        if offset:
            return list(self._queryset(params=False)[offset:stop])
        lookup = self.position[0] if self.position is not None else None
        bound = {**self.values, POSITION: self.position[1]} if self.position is not None else self.values
        return values_rows(
            (self.key, tuple(self.order), lookup, stop), lambda: self._queryset(params=True)[:stop], bound
        )

    def _queryset(self, *, params: bool) -> QuerySet[Any]:
        queryset = self.build(params).order_by(*self.order)
        if self.position is None:
            return queryset
        lookup, value = self.position
        if params:
            value = Param(POSITION, queryset.model._meta.get_field(lookup.split("__")[0]))
        return queryset.filter(**{lookup: value})
