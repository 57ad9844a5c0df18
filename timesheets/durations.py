"""Durations as people type them (``90m``, ``1h30m``, ``1.5h``, ``1:30``, ``1.5``) and as pages show them."""

from __future__ import annotations

import re

from workspaces.errors import Invalid

_HOURS_MINUTES = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*(?:(?P<m>\d+)\s*m(?:in)?)?$")
_CLOCK = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})$")


def duration_seconds(value: str, *, name: str = "duration") -> int:
    """``90m``, ``1h30m``, ``1.5h``, ``1:30`` or a bare number of hours (``1.5``) → seconds (1 min – 24 h)."""
    text = value.strip().lower().replace(" ", "").replace(",", ".")
    seconds: float | None = None
    clock = _CLOCK.match(text)
    match = _HOURS_MINUTES.match(text)
    if clock:
        seconds = int(clock["h"]) * 3600 + int(clock["m"]) * 60
    elif re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text) * 3600
    elif text and match and (match["h"] or match["m"]):
        seconds = float(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60
    if seconds is None or not 60 <= seconds <= 24 * 3600:
        raise Invalid(
            f"Cannot read {value!r} as a duration from 1 minute to 24 hours.",
            fields={name: ["Use e.g. '90m', '1h30m', '1.5h' or '1:30'."]},
        )
    return round(seconds)


def cell_seconds(value: str, *, name: str = "duration") -> int:
    """A week-grid cell: empty or zero clears it, anything else is a :func:`duration_seconds`."""
    text = value.strip()
    if text in ("", "0", "0:00", "0h", "0m"):
        return 0
    return duration_seconds(text, name=name)


def hours_minutes(seconds: int | None) -> str:
    """``5400`` → ``1:30``; None → empty."""
    if seconds is None:
        return ""
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"
